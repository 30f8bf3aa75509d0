//! `--format markdown`: a conformance matrix (scenario rows × supervisor columns) with one
//! symbol per cell and the violated ids, a legend, then the details of non-passing cells.

use std::fmt::Write;

use crate::show::{HTML_FILE, MERMAID_FILE};
use crate::suite::{Cell, Outcome, SuiteResult};

pub fn symbol(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "✅",
        Outcome::Fail => "❌",
        Outcome::KnownFailure => "⚠️",
        Outcome::UnexpectedPass => "⭐",
        Outcome::Skipped => "➖",
    }
}

pub fn render(r: &SuiteResult) -> String {
    let mut out = String::from("# Conformance matrix\n\n| scenario |");
    for s in &r.supervisors {
        let _ = write!(out, " {} |", cell_text(&s.name));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(r.supervisors.len()));
    out.push('\n');
    for scen in &r.scenarios {
        let _ = write!(out, "| `{scen}` |");
        for s in &r.supervisors {
            let text = r.cell(&s.name, scen).map(summary).unwrap_or_default();
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\nLegend: {}", super::LEGEND);
    let _ = writeln!(out, "\n{}", super::text::summary_line(r));
    let details = super::details(r);
    if !details.is_empty() {
        out.push_str("\n## Details\n");
        for c in details {
            let _ = writeln!(
                out,
                "\n### {} {} × `{}`\n",
                symbol(c.outcome),
                c.supervisor,
                c.scenario
            );
            if let Some(r) = &c.skip_reason {
                let _ = writeln!(out, "- skipped: {}", cell_text(r));
            }
            if let Some(k) = &c.known {
                let issue = k.issue_suffix();
                let what = if c.outcome == Outcome::UnexpectedPass {
                    "listed as a known failure but passed (remove the entry)"
                } else {
                    "known failure"
                };
                let _ = writeln!(out, "- {what}: {}{issue}", cell_text(&k.reason));
            }
            for v in &c.violations {
                let _ = writeln!(out, "- `{}`: {}", v.id, cell_text(&v.message));
            }
            if let Some(d) = &c.dir {
                let _ = writeln!(out, "- run kept: `{}` — {}", d.display(), view_links(d));
            }
        }
    }
    out
}

fn summary(c: &Cell) -> String {
    let ids = c.violated_ids();
    let mut s = if ids.is_empty() || !matches!(c.outcome, Outcome::Fail | Outcome::KnownFailure) {
        symbol(c.outcome).to_string()
    } else {
        let ids: Vec<String> = ids.iter().map(|i| format!("`{i}`")).collect();
        format!("{} {}", symbol(c.outcome), ids.join(" "))
    };
    if let Some(d) = &c.dir {
        let _ = write!(s, " [diagram](<{}>)", d.join(HTML_FILE).display());
    }
    s
}

/// Links to a kept run's sequence-diagram views (`harness show` writes them there).
fn view_links(dir: &std::path::Path) -> String {
    format!(
        "[sequence diagram](<{}>) · [Mermaid](<{}>)",
        dir.join(HTML_FILE).display(),
        dir.join(MERMAID_FILE).display()
    )
}

/// Text safe inside a table cell: one line, no bare `|`, no HTML.
pub fn cell_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn matrix_legend_and_details() {
        let text = super::render(&super::super::sample::result());
        insta::assert_snapshot!("markdown_report", text);
    }
}
