//! `--format junit`: JUnit XML for CI dashboards. One `<testsuite>` per supervisor, one
//! `<testcase>` per scenario; failures and unexpected passes are `<failure>`, skipped cells
//! `<skipped>`, known failures pass with the reason in `<system-out>`.

use std::fmt::Write;

use super::esc;
use crate::suite::{Outcome, SuiteResult};

pub fn render(r: &SuiteResult) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total_fail = r.summary.failed + r.summary.unexpected_passes;
    let _ = writeln!(
        out,
        "<testsuites name=\"harness\" tests=\"{}\" failures=\"{total_fail}\" skipped=\"{}\">",
        r.cells.len(),
        r.summary.skipped
    );
    for s in &r.supervisors {
        let cells: Vec<_> = r.cells.iter().filter(|c| c.supervisor == s.name).collect();
        let failures = cells.iter().filter(|c| !c.outcome.ok()).count();
        let skipped = cells
            .iter()
            .filter(|c| c.outcome == Outcome::Skipped)
            .count();
        let time: u64 = cells.iter().map(|c| c.duration_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            esc(&s.name),
            cells.len(),
            time as f64 / 1000.0
        );
        for c in cells {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                esc(&c.supervisor),
                esc(&c.scenario),
                c.duration_ms as f64 / 1000.0
            );
            let mut body = String::new();
            match c.outcome {
                Outcome::Pass => {}
                Outcome::Skipped => {
                    let reason = c.skip_reason.as_deref().unwrap_or("skipped");
                    let _ = writeln!(body, "      <skipped message=\"{}\"/>", esc(reason));
                }
                Outcome::Fail => {
                    let ids = c.violated_ids().join(", ");
                    let details: Vec<String> = c
                        .violations
                        .iter()
                        .map(|v| format!("{}: {}", v.id, v.message))
                        .collect();
                    let mut text = details.join("\n");
                    if let Some(d) = &c.dir {
                        text.push_str(&format!(
                            "\nrun kept: {}\nsequence diagram: {}",
                            d.display(),
                            d.join(crate::show::HTML_FILE).display()
                        ));
                    }
                    let _ = writeln!(
                        body,
                        "      <failure message=\"violated: {}\">{}</failure>",
                        esc(&ids),
                        esc(&text)
                    );
                }
                Outcome::UnexpectedPass => {
                    let reason = c.known.as_ref().map(|k| k.reason.as_str()).unwrap_or("");
                    let _ = writeln!(
                        body,
                        "      <failure message=\"unexpected pass: listed as a known failure ({})\"/>",
                        esc(reason)
                    );
                }
                Outcome::KnownFailure => {
                    let reason = c.known.as_ref().map(|k| k.reason.as_str()).unwrap_or("");
                    let _ = writeln!(
                        body,
                        "      <system-out>known failure: {}; violated {}</system-out>",
                        esc(reason),
                        esc(&c.violated_ids().join(", "))
                    );
                }
            }
            if body.is_empty() {
                out.push_str("/>\n");
            } else {
                let _ = write!(out, ">\n{body}    </testcase>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_and_counts() {
        let text = super::render(&super::super::sample::result());
        insta::assert_snapshot!("junit_report", text);
        assert!(text.contains("&lt;r1&gt; &amp; &quot;x&quot;"));
        assert_eq!(super::esc("a\u{1}b"), "a\u{FFFD}b");
    }
}
