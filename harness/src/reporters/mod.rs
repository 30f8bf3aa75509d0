//! The suite's output formats. Each takes the whole [`SuiteResult`] and returns text, so they
//! are trivially testable and the caller decides where it goes (stdout).

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod text;

use crate::suite::{Cell, Outcome, SuiteResult};

/// What the matrix symbols mean (markdown and HTML).
pub const LEGEND: &str = "✅ pass · ❌ fail · ⚠️ known failure · ⭐ unexpected pass (remove it from \
                          known failures) · ➖ skipped (capability not claimed)";

/// The cells a report details: everything that did not simply pass.
pub fn details(r: &SuiteResult) -> Vec<&Cell> {
    r.cells
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Junit,
    Markdown,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "junit" => Some(Format::Junit),
            "markdown" | "md" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
}

/// XML and HTML text/attribute escaping; control characters XML 1.0 cannot carry become U+FFFD.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' | '\t' | '\r' => o.push(ch),
            c if (c as u32) < 0x20 => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

pub fn render(format: Format, result: &SuiteResult) -> String {
    match format {
        Format::Text => text::render(result),
        Format::Json => json::render(result),
        Format::Junit => junit::render(result),
        Format::Markdown => markdown::render(result),
        Format::Html => html::render(result),
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A small suite result with every outcome, shared by the reporters' tests.
    use crate::known_failures::KnownFailure;
    use crate::suite::{Cell, Outcome, SuiteResult, Summary, SupervisorInfo};
    use crate::verdict::Violation;

    fn cell(sup: &str, scen: &str, outcome: Outcome) -> Cell {
        Cell {
            supervisor: sup.into(),
            scenario: scen.into(),
            outcome,
            violations: vec![],
            waived: vec![],
            known: None,
            skip_reason: None,
            dir: None,
            adapter_exit: None,
            duration_ms: 12,
            internal_error: None,
            run_digest: None,
        }
    }

    pub fn result() -> SuiteResult {
        let mut fail = cell("a", "s/one", Outcome::Fail);
        fail.violations.push(Violation {
            id: "control-accounting".into(),
            message: "request <r1> & \"x\" never answered".into(),
            records: vec![3],
        });
        fail.dir = Some("/tmp/run-1".into());
        let mut known = cell("b", "s/one", Outcome::KnownFailure);
        known.violations.push(Violation {
            id: "turn-attribution".into(),
            message: "turn 2 took the injected result".into(),
            records: vec![],
        });
        known.known = Some(KnownFailure {
            scenario: "s/one".into(),
            reason: "off by one".into(),
            issue: Some("https://example.com/1".into()),
        });
        let mut unexpected = cell("b", "s/two", Outcome::UnexpectedPass);
        unexpected.known = Some(KnownFailure {
            scenario: "s/two".into(),
            reason: "was broken".into(),
            issue: None,
        });
        let mut skipped = cell("a", "s/two", Outcome::Skipped);
        skipped.skip_reason = Some("needs multi-turn".into());
        let info = |n: &str| SupervisorInfo {
            name: n.into(),
            description: String::new(),
            policy: Some("foreground-only".into()),
            capabilities: vec![],
            source: "x".into(),
        };
        SuiteResult {
            supervisors: vec![info("a"), info("b")],
            scenarios: vec!["s/one".into(), "s/two".into(), "s/three".into()],
            cells: vec![
                fail,
                cell("a", "s/three", Outcome::Pass),
                skipped,
                known,
                cell("b", "s/three", Outcome::Pass),
                unexpected,
            ],
            summary: Summary {
                passed: 2,
                failed: 1,
                known_failures: 1,
                unexpected_passes: 1,
                skipped: 1,
            },
        }
    }
}
