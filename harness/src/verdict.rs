//! The judgement of one run: every violated expectation or invariant, each pointing at the
//! transcript records or report lines involved.

use serde::{Deserialize, Serialize};

/// One thing that went wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Invariant id (`control-accounting`, ...) or expectation id (`expect.turns[1].output`).
    pub id: String,
    pub message: String,
    /// Indexes into `RunArtifacts::transcript` of the records involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub violations: Vec<Violation>,
    /// Invariants the scenario waived, with the reason.
    pub waived: Vec<(String, String)>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Most records a merged violation points at.
const MERGED_RECORDS: usize = 5;
/// A mistake seen more often than this is merged; a few distinct turns' failures stay apart.
const MERGE_OVER: usize = 3;

/// One mistake repeated on every line (a supervisor that writes thousands of bad stdin lines)
/// is one violation: more than [`MERGE_OVER`] violations whose ids and messages differ only in
/// numbers and quoted excerpts (`expect.turns[26].output`, `expect.turns[27].output`, …) are
/// merged into the first, with a count and the first records. Order is kept.
pub fn collapse(violations: Vec<Violation>) -> Vec<Violation> {
    let keys: Vec<(String, String)> = violations
        .iter()
        .map(|v| (shape(&v.id), shape(&v.message)))
        .collect();
    let mut counts: std::collections::HashMap<&(String, String), usize> = Default::default();
    for k in &keys {
        *counts.entry(k).or_default() += 1;
    }
    let count = |key: &(String, String)| counts[key];
    let mut out: Vec<Violation> = Vec::new();
    // Index in `out` of each merged group's violation.
    let mut merged: Vec<(&(String, String), usize)> = Vec::new();
    for (v, key) in violations.into_iter().zip(&keys) {
        let n = count(key);
        if n <= MERGE_OVER {
            out.push(v);
            continue;
        }
        match merged.iter().find(|(k, _)| *k == key) {
            Some(&(_, at)) => {
                let first = &mut out[at];
                for r in v.records {
                    if first.records.len() < MERGED_RECORDS && !first.records.contains(&r) {
                        first.records.push(r);
                    }
                }
            }
            None => {
                merged.push((key, out.len()));
                out.push(v);
            }
        }
    }
    for (key, at) in merged {
        let n = count(key);
        let v = &mut out[at];
        v.message = format!(
            "{} — and {} more like it ({n} times in all; first at {})",
            v.message,
            n - 1,
            crate::invariants::recs(&v.records)
        );
    }
    out
}

/// A message with its numbers and quoted excerpts blanked out: what makes two violations "the
/// same mistake".
fn shape(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('#');
        } else if c == '"' {
            // Skip to the closing quote, over escapes.
            while let Some(q) = chars.next() {
                match q {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            out.push_str("\"…\"");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: &str, message: &str, records: Vec<usize>) -> Violation {
        Violation {
            id: id.into(),
            message: message.into(),
            records,
        }
    }

    #[test]
    fn a_mistake_on_every_line_is_one_violation_with_a_count() {
        let mut all = vec![v("report-valid", "first", vec![])];
        for i in 0..5000usize {
            all.push(v(
                "stdin-well-formed",
                &format!("stdin line at record #{i}: the line is not JSON (expected value at line 1 column {i}): \"junk {i} \\\" x\""),
                vec![i],
            ));
        }
        all.push(v(
            "stdin-well-formed",
            "stdin line at record #9: unknown message type \"x\"",
            vec![9],
        ));
        all.push(v("no-write-after-close", "stdin line at record #7: the line is not JSON (expected value at line 1 column 1): \"y\"", vec![7]));
        let got = collapse(all);
        assert_eq!(got.len(), 4, "{got:#?}");
        assert_eq!(got[0].message, "first");
        assert_eq!(got[1].records, vec![0, 1, 2, 3, 4]);
        assert!(
            got[1].message.starts_with("stdin line at record #0: the line is not JSON")
                && got[1].message.ends_with(
                    "— and 4999 more like it (5000 times in all; first at records #0, #1, #2, #3, #4)"
                ),
            "{}",
            got[1].message
        );
        // A different mistake, or another invariant's, stays apart.
        assert!(got[2].message.contains("unknown message type"));
        assert_eq!(got[3].id, "no-write-after-close");
    }

    #[test]
    fn the_same_expectation_failing_turn_after_turn_is_one_violation() {
        let all: Vec<Violation> = (25..50)
            .map(|i| {
                v(
                    &format!("expect.turns[{i}].output"),
                    &format!(
                        "turn {}: expected output \"Q{}\" but got \"Q{i}\"",
                        i + 1,
                        i + 1
                    ),
                    vec![i],
                )
            })
            .collect();
        let got = collapse(all);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "expect.turns[25].output");
        assert!(
            got[0]
                .message
                .contains("and 24 more like it (25 times in all")
        );
    }

    #[test]
    fn distinct_violations_are_untouched() {
        let all = vec![
            v("a", "turn 1 failed without an error text", vec![1]),
            v("a", "turn 2 failed without an error text", vec![2]),
            v("a", "turn 3 failed without an error text", vec![3]),
            v("a", "turn 2 reported as its output x", vec![2]),
        ];
        assert_eq!(collapse(all.clone()), all);
    }
}
