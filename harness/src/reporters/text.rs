//! `--format text` (default): per supervisor, one line per scenario with its outcome, the
//! violations of failed cells with their messages, kept run directories, and a summary line.

use std::fmt::Write;

use crate::suite::{Cell, Outcome, SuiteResult};

pub fn render(result: &SuiteResult) -> String {
    let mut out = String::new();
    let width = result
        .scenarios
        .iter()
        .map(|s| s.len())
        .max()
        .unwrap_or(8)
        .max(8);
    for sup in &result.supervisors {
        let policy = sup
            .policy
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let _ = writeln!(out, "{}{policy}", sup.name);
        for cell in result.cells.iter().filter(|c| c.supervisor == sup.name) {
            cell_lines(&mut out, cell, width);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(result));
    out
}

fn cell_lines(out: &mut String, c: &Cell, width: usize) {
    let time = if c.outcome == Outcome::Skipped {
        String::new()
    } else {
        format!("{:>7.2}s", c.duration_ms as f64 / 1000.0)
    };
    let line = format!("  {:<15} {:<width$} {time}", c.outcome.label(), c.scenario);
    let _ = writeln!(out, "{}", line.trim_end());
    let pad = " ".repeat(18);
    match c.outcome {
        Outcome::Skipped => {
            if let Some(r) = &c.skip_reason {
                let _ = writeln!(out, "{pad}{r}");
            }
        }
        Outcome::KnownFailure | Outcome::UnexpectedPass => {
            if let Some(k) = &c.known {
                let issue = k.issue_suffix();
                let what = if c.outcome == Outcome::KnownFailure {
                    format!(
                        "known failure: {}{issue}; violated {}",
                        k.reason,
                        c.violated_ids().join(", ")
                    )
                } else {
                    format!(
                        "listed as a known failure ({}{issue}) but passed: remove the entry",
                        k.reason
                    )
                };
                let _ = writeln!(out, "{pad}{what}");
            }
        }
        _ => {}
    }
    if c.outcome == Outcome::Fail {
        for v in &c.violations {
            let recs = if v.records.is_empty() {
                String::new()
            } else {
                let r: Vec<String> = v.records.iter().map(|r| format!("#{r}")).collect();
                format!(" [transcript {}]", r.join(" "))
            };
            let _ = writeln!(out, "{pad}- {}: {}{recs}", v.id, indent(&v.message, &pad));
        }
    }
    if let Some(d) = &c.dir {
        let _ = writeln!(out, "{pad}run kept: {}", d.display());
        let _ = writeln!(
            out,
            "{pad}sequence diagram: {}",
            d.join(crate::show::HTML_FILE).display()
        );
    }
}

fn indent(msg: &str, pad: &str) -> String {
    msg.trim_end().replace('\n', &format!("\n{pad}  "))
}

/// `12 cells: 10 passed, 1 failed, 0 known failures, 0 unexpected passes, 1 skipped`.
pub fn summary_line(r: &SuiteResult) -> String {
    let s = &r.summary;
    format!(
        "{} cells: {} passed, {} failed, {} known failure(s), {} unexpected pass(es), {} skipped",
        r.cells.len(),
        s.passed,
        s.failed,
        s.known_failures,
        s.unexpected_passes,
        s.skipped
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_every_outcome_and_the_failure_details() {
        let text = super::render(&super::super::sample::result());
        insta::assert_snapshot!("text_report", text);
    }
}
