//! Built-in invariants: properties every supervisor must have in every scenario, checked on the
//! transcript and the report of each run. Each has a stable id (used in verdicts, known-failures
//! files and `expect.waive`), a one-line description, the failure modes it catches, and a check
//! that returns *every* violation, each pointing at the transcript records involved.
//!
//! One file per family: [`control`] (control-request accounting), [`stdin`] (what the supervisor
//! wrote), [`pipes`] (draining), [`turns`] (attribution, byte-exactness, timeouts), [`errors`]
//! (surfacing), [`teardown`], [`report`] (the adapter contract). [`facts`] holds the transcript
//! analysis they share with `expect`. The table in `docs/invariants.md` mirrors [`ALL`].

pub mod control;
pub mod errors;
pub mod facts;
pub mod pipes;
pub mod report;
pub mod stdin;
pub mod teardown;
pub mod turns;

#[cfg(test)]
pub(crate) mod testkit;

use fake_claude::scenario::Loaded;

use crate::artifacts::RunArtifacts;
use crate::verdict::Violation;

/// The signature of a check: every violation of the invariant in this run.
pub type Check = fn(&RunArtifacts, &Loaded) -> Vec<Violation>;

/// One built-in invariant.
#[derive(Clone, Copy)]
pub struct Invariant {
    pub id: &'static str,
    /// One line, present tense, what a correct supervisor does.
    pub description: &'static str,
    /// Failure-mode catalogue ids this catches (`FM-25`, ...).
    pub catches: &'static [&'static str],
    pub check: Check,
}

impl std::fmt::Debug for Invariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invariant").field("id", &self.id).finish()
    }
}

/// Every built-in invariant, in the order verdicts list their violations.
pub static ALL: &[Invariant] = &[
    Invariant {
        id: "report-valid",
        description: "the adapter ran, printed a valid report ending in an `end` line, and was not killed by a signal",
        catches: &[],
        check: report::report_valid,
    },
    Invariant {
        id: "no-timeout",
        description: "the run finishes before the harness deadline, and no turn is reported as timed out although the CLI answered it in time",
        catches: &["FM-08", "FM-11", "FM-12", "FM-25"],
        check: turns::no_timeout,
    },
    Invariant {
        id: "turn-attribution",
        description: "every prompt is resolved exactly once, by its own result, never by an injected turn's or another prompt's",
        catches: &["FM-13", "FM-36", "FM-37", "FM-41"],
        check: turns::turn_attribution,
    },
    Invariant {
        id: "byte-exact",
        description: "a completed turn's output is byte-identical to the `result` text that answered it",
        catches: &["FM-01", "FM-02", "FM-03", "FM-06"],
        check: turns::byte_exact,
    },
    Invariant {
        id: "control-accounting",
        description: "every control_request of the CLI is answered exactly once, with its request_id and a response shape valid for its subtype; nothing unasked is answered",
        catches: &[
            "FM-25", "FM-26", "FM-27", "FM-29", "FM-30", "FM-31", "FM-33",
        ],
        check: control::control_accounting,
    },
    Invariant {
        id: "stdin-well-formed",
        description: "every line written to the CLI's stdin is UTF-8 JSON object with a known stream-json envelope",
        catches: &["FM-06", "FM-27", "FM-34"],
        check: stdin::stdin_well_formed,
    },
    Invariant {
        id: "no-write-after-close",
        description: "stdin is closed only between whole lines, and nothing arrives after it was closed",
        catches: &["FM-19", "FM-31"],
        check: stdin::no_write_after_close,
    },
    Invariant {
        id: "stdout-drained",
        description: "the CLI never spends more than 1 s blocked writing stdout or stderr while the supervisor is alive, no write is left blocked until it is killed, and its stderr is not closed under it",
        catches: &["FM-08", "FM-09", "FM-30"],
        check: pipes::stdout_drained,
    },
    Invariant {
        id: "errors-surfaced",
        description: "a failed turn or run carries a diagnosis: the CLI's exit code or signal, the error result's text, or a line of its stderr",
        catches: &["FM-13", "FM-14", "FM-15", "FM-22", "FM-23"],
        check: errors::errors_surfaced,
    },
    Invariant {
        id: "bounded-teardown",
        description: "after the run every CLI process is gone (exited, or killed by the supervisor), no descendant survives, within the declared bound",
        catches: &["FM-11", "FM-12", "FM-17", "FM-18"],
        check: teardown::bounded_teardown,
    },
];

/// The invariant with this id.
pub fn find(id: &str) -> Option<&'static Invariant> {
    ALL.iter().find(|i| i.id == id)
}

/// Run one check, turning a panic (a harness bug on some odd artifact) into a violation of that
/// invariant instead of a crashed suite.
pub fn run_check(inv: &Invariant, run: &RunArtifacts, scenario: &Loaded) -> Vec<Violation> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (inv.check)(run, scenario))) {
        Ok(v) => v,
        Err(e) => {
            let why = e
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            vec![Violation {
                id: inv.id.to_string(),
                message: format!("internal error: the {} check panicked: {why}", inv.id),
                records: vec![],
            }]
        }
    }
}

/// A table of the invariants, for `--list-invariants` style output.
pub fn table() -> String {
    let w = ALL.iter().map(|i| i.id.len()).max().unwrap_or(0);
    ALL.iter()
        .map(|i| format!("{:w$}  {}\n", i.id, i.description))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// message helpers shared by the checks

/// A text for a message: quoted and escaped, cut after 120 characters with its length.
pub fn show(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut:?}… ({} bytes)", text.len())
    }
}

pub(crate) fn violation(id: &str, message: String, records: Vec<usize>) -> Violation {
    Violation {
        id: id.to_string(),
        message,
        records,
    }
}

/// `record #3` / `records #3, #7`.
pub fn recs(records: &[usize]) -> String {
    let list: Vec<String> = records.iter().map(|r| format!("#{r}")).collect();
    match list.len() {
        0 => "no record".into(),
        1 => format!("record {}", list[0]),
        _ => format!("records {}", list.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut ids: Vec<&str> = ALL.iter().map(|i| i.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for id in ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
            assert!(find(id).is_some());
        }
        assert!(find("nope").is_none());
        assert!(table().contains("control-accounting"));
    }

    #[test]
    fn docs_list_every_invariant() {
        let docs = include_str!("../../../docs/invariants.md");
        for i in ALL {
            assert!(
                docs.contains(&format!("`{}`", i.id)),
                "docs/invariants.md lacks {}",
                i.id
            );
        }
    }

    #[test]
    fn show_cuts_long_text() {
        assert_eq!(show("a\"b"), r#""a\"b""#);
        let long = "x".repeat(500);
        assert!(show(&long).ends_with("… (500 bytes)"));
        assert_eq!(recs(&[1, 2]), "records #1, #2");
        assert_eq!(recs(&[4]), "record #4");
    }
}
