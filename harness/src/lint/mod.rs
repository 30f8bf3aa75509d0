//! `harness validate`'s lints: what loads but is wrong or suspicious in a scenario file.
//!
//! Loading ([`fake_claude::scenario::load_str`]) already rejects what cannot run — YAML and type
//! errors, misspelled step and field names (with a did-you-mean), undefined template variables —
//! as errors with `file:line:column`. The lints here need the harness's knowledge or the whole
//! script: names the harness checks (invariant ids in `expect.waive`, bug switches in
//! `caught_by`, action kinds, handler subtypes, policies; [`names`]) and scripts
//! that will not do what they seem to ([`script`]).
//!
//! A lint is an error when the run would fail because of it regardless of the supervisor, a
//! warning when it is suspicious. A warning is silenced by a comment naming it on the flagged
//! line or the line above: `# lint-allow: result-without-init` (several ids: separated by spaces
//! or commas).

pub mod locate;
pub mod names;
pub mod script;

use fake_claude::scenario::load::{Problem, render_diagnostic};
use fake_claude::scenario::{LoadError, Loaded};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One finding, at a 1-based line and column of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable id, for `# lint-allow:` and the docs (`expect-without-timeout`, ...).
    pub id: &'static str,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl Diagnostic {
    pub fn warning(id: &'static str, at: (u64, u64), message: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            id,
            line: at.0,
            column: at.1,
            message,
        }
    }

    pub fn error(id: &'static str, at: (u64, u64), message: String) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            ..Diagnostic::warning(id, at, message)
        }
    }

    /// `error: file:line:col: message [id]` with the line it points at.
    pub fn render(&self, text: &str, source: &str) -> String {
        let p = Problem {
            line: self.line,
            column: self.column,
            message: format!("{} [{}]", self.message, self.id),
        };
        render_diagnostic(self.severity == Severity::Warning, &p, text, source)
    }
}

/// Every lint id, its severity and what it flags (docs/harness.md lists them; a test checks).
pub const LINTS: &[(&str, Severity, &str)] = &[
    (
        "unknown-waiver",
        Severity::Error,
        "`expect.waive` names no built-in invariant",
    ),
    (
        "unknown-bug-switch",
        Severity::Error,
        "`caught_by` names no bug switch of the reference supervisor",
    ),
    (
        "unknown-action",
        Severity::Error,
        "a drive action kind the adapter contract does not have",
    ),
    (
        "unknown-handler",
        Severity::Warning,
        "a handler for a control-request subtype no CLI sends",
    ),
    (
        "unknown-policy",
        Severity::Warning,
        "`expect.by_policy` names an unknown policy",
    ),
    (
        "expect-without-timeout",
        Severity::Warning,
        "an `expect` or `request` that waits for ever (until stdin closes or the watchdog)",
    ),
    (
        "result-without-init",
        Severity::Warning,
        "a `result` written with no `system/init` before it in its turn",
    ),
    (
        "unreachable-step",
        Severity::Warning,
        "steps after one that always ends the fake (exit, kill, fail, hang)",
    ),
    (
        "injected-turn-never-fires",
        Severity::Warning,
        "an `injected_turn` that cannot run: unreachable, or after a turn waiting for a prompt the drive never sends",
    ),
    (
        "condition-never-holds",
        Severity::Warning,
        "an `if` on a profile that does not exist",
    ),
    (
        "unused-capture",
        Severity::Warning,
        "a captured or `set` variable no template uses",
    ),
];

/// Lints of a scenario that loaded, sorted by position; allowed ones are dropped.
pub fn lint(loaded: &Loaded, text: &str) -> Vec<Diagnostic> {
    let index = locate::Index::of(text);
    let mut all = names::check(loaded, &index);
    all.extend(script::check(loaded));
    let allowed = allow_comments(text);
    all.retain(|d| {
        let here = |line: u64| {
            allowed
                .iter()
                .any(|(l, ids)| *l == line && ids.iter().any(|i| i == d.id))
        };
        d.severity == Severity::Error || !(here(d.line) || here(d.line.saturating_sub(1)))
    });
    all.sort_by(|a, b| (a.line, a.column, a.id).cmp(&(b.line, b.column, b.id)));
    all.dedup();
    all
}

/// Load and lint a scenario's text: the load error, or the lints.
pub fn check_str(text: &str, source: &str) -> Result<Vec<Diagnostic>, LoadError> {
    let loaded = fake_claude::scenario::load_str(text, source)?;
    Ok(lint(&loaded, text))
}

/// `# lint-allow: a, b — why` comments: (line, the lint ids named; other words are the reason).
fn allow_comments(text: &str) -> Vec<(u64, Vec<String>)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (_, rest) = l.split_once("# lint-allow:")?;
            let ids = rest
                .split([',', ' '])
                .filter(|w| LINTS.iter().any(|(id, ..)| id == w))
                .map(str::to_string)
                .collect();
            Some((i as u64 + 1, ids))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_comments_silence_warnings_on_their_line_or_the_next() {
        let text = "name: x\nscript:\n  # lint-allow: expect-without-timeout\n  - expect: {match: {type: user}}\n  - expect: {match: {type: user}}  # lint-allow: unused-capture, expect-without-timeout (why)\n  - note: x\n  - expect: {match: {type: user}}\n";
        let d = check_str(text, "x.yaml").unwrap();
        let at: Vec<(u64, &str)> = d.iter().map(|d| (d.line, d.id)).collect();
        assert_eq!(at, [(7, "expect-without-timeout")]);
        assert!(
            d[0].render(text, "x.yaml")
                .starts_with("warning: x.yaml:7:5: ")
        );
    }

    #[test]
    fn every_lint_is_listed_once() {
        let mut ids: Vec<&str> = LINTS.iter().map(|l| l.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), LINTS.len());
    }
}
