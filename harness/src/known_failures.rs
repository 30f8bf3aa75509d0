//! Known failures, like web-platform-tests expectations: a supervisor lists the scenarios it is
//! known to fail, with the reason and an issue link. A listed failure keeps the suite green and
//! is reported as known; a listed scenario that passes is an *unexpected pass*, which fails the
//! suite so the entry gets removed.
//!
//! ```yaml
//! - scenario: seed/cross-turn-notification
//!   reason: ends a turn at the first result after its prompt
//!   issue: https://github.com/example/supervisor/issues/12
//! ```

use serde::{Deserialize, Serialize};

use crate::supervisor::yaml_error;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// Scenario id (`seed/startup-burst`).
    pub scenario: String,
    /// Why it fails, for the reader of the report.
    pub reason: String,
    /// Where the fix is tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

impl KnownFailure {
    /// ` (issue link)`, or nothing: what reports append to the reason.
    pub fn issue_suffix(&self) -> String {
        self.issue
            .as_deref()
            .map(|i| format!(" ({i})"))
            .unwrap_or_default()
    }
}

/// Parse a known-failures file. An empty file (or one holding only comments) lists nothing.
pub fn parse(text: &str, source: &str) -> Result<Vec<KnownFailure>, String> {
    let list: Option<Vec<KnownFailure>> =
        serde_saphyr::from_str(text).map_err(|e| yaml_error(&e, source))?;
    let list = list.unwrap_or_default();
    for (i, k) in list.iter().enumerate() {
        if k.scenario.trim().is_empty() {
            return Err(format!("{source}: entry {}: `scenario` is empty", i + 1));
        }
        if k.reason.trim().is_empty() {
            return Err(format!(
                "{source}: entry {} ({}): say why in `reason`",
                i + 1,
                k.scenario
            ));
        }
        if list[..i].iter().any(|o| o.scenario == k.scenario) {
            return Err(format!("{source}: `{}` is listed twice", k.scenario));
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_comment_only_and_entries() {
        assert_eq!(parse("", "k.yaml").unwrap(), vec![]);
        assert_eq!(parse("# nothing yet\n", "k.yaml").unwrap(), vec![]);
        assert_eq!(parse("[]\n", "k.yaml").unwrap(), vec![]);
        let l = parse("- scenario: a/b\n  reason: r\n  issue: u\n", "k.yaml").unwrap();
        assert_eq!(l[0].scenario, "a/b");
        assert_eq!(l[0].issue.as_deref(), Some("u"));
    }

    #[test]
    fn bad_entries_are_reported_with_location() {
        let e = parse("- scenario: a\n  reson: r\n", "k.yaml").unwrap_err();
        assert!(e.starts_with("k.yaml:2:"), "{e}");
        let e = parse("- scenario: a\n  reason: ''\n", "k.yaml").unwrap_err();
        assert!(e.contains("reason"), "{e}");
        let e = parse(
            "- {scenario: a, reason: r}\n- {scenario: a, reason: s}\n",
            "k.yaml",
        )
        .unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
