//! `stdout-drained`: the CLI never spends more than 1 s blocked in one write to stdout (or
//! stderr) while the supervisor is alive. A supervisor that writes its whole prompt before it
//! reads, handles control requests on its reader thread, or never drains stderr shows up here as
//! `blocked_us` on the fake's write records.
//!
//! Limits: `t` counts from the invocation's start, the adapter's lifetime from its spawn; the
//! check takes them as one clock, so a write blocked across the adapter's exit counts as blocked
//! while it lived (the CLI starts after the adapter, so this errs on the strict side only by the
//! start-up delay). Bursts and floods record the total over many writes: their bound is 1 s plus
//! 100 ms per MiB. A write that ended in EPIPE counts through `stdout_closed`'s `blocked_us`. A
//! write that never completed (the run was killed mid-deadlock) shows as the fake's
//! `write_stalled` record, written while it was blocked. A supervisor that closes the CLI's
//! stderr before teardown (`stderr_closed`) loses the CLI's diagnostics: that counts too.

use fake_claude::scenario::Loaded;
use fake_claude::transcript::Event;

use super::violation;
use crate::artifacts::RunArtifacts;
use crate::verdict::Violation;

const ID: &str = "stdout-drained";
const BOUND_US: u64 = 1_000_000;

/// Allowed blocked time for a record: 1 s per write; summarized bursts and floods get 100 ms per
/// MiB on top, since their `blocked_us` is a sum over many writes.
fn bound_us(len: u64, summarized: bool) -> u64 {
    if summarized {
        BOUND_US + len / (1 << 20) * 100_000
    } else {
        BOUND_US
    }
}

pub fn stdout_drained(run: &RunArtifacts, _scenario: &Loaded) -> Vec<Violation> {
    let alive_until = run.duration.as_secs_f64();
    let mut out = Vec::new();
    for (i, rec) in run.transcript.iter().enumerate() {
        let (stream, len, blocked, summarized, what) = match &rec.event {
            Event::Stdout {
                len,
                blocked_us,
                burst,
                part,
                ..
            } => (
                "stdout",
                *len,
                *blocked_us,
                burst.is_some(),
                match (burst, part) {
                    (Some(n), _) => format!("a burst of {n} messages ({len} bytes)"),
                    (None, Some([k, n])) => format!("part {k}/{n} of a split message"),
                    _ => format!("a {len}-byte write"),
                },
            ),
            Event::Stderr {
                len,
                blocked_us,
                flood,
                ..
            } => (
                "stderr",
                *len,
                *blocked_us,
                *flood,
                if *flood {
                    format!("a {len}-byte stderr flood")
                } else {
                    format!("a {len}-byte write")
                },
            ),
            Event::StdoutClosed { blocked_us } => (
                "stdout",
                0,
                *blocked_us,
                false,
                "a write that ended when the supervisor closed the pipe".to_string(),
            ),
            Event::StderrClosed { .. } => {
                if rec.t < alive_until && !signalled_before(run, i) {
                    out.push(violation(
                        ID,
                        format!(
                            "the supervisor closed the CLI's stderr while the CLI was still writing to it (record #{i}): what the CLI says about its failures is lost, and a real CLI can die of EPIPE"
                        ),
                        vec![i],
                    ));
                }
                continue;
            }
            Event::WriteStalled { stream, after_ms } => {
                let started = rec.t - *after_ms as f64 / 1000.0;
                if started < alive_until && !completed_later(run, i, stream) {
                    out.push(violation(
                        ID,
                        format!(
                            "the CLI was blocked writing to {stream} (for over {after_ms} ms at record #{i}) and the write never completed: the supervisor was not reading it"
                        ),
                        vec![i],
                    ));
                }
                continue;
            }
            _ => continue,
        };
        // Blocked time that overlaps the supervisor's life (see the module docs).
        let end = rec.t;
        let start = end - blocked as f64 / 1e6;
        let while_alive_us = ((end.min(alive_until) - start).max(0.0) * 1e6) as u64;
        if while_alive_us > bound_us(len, summarized) {
            out.push(violation(
                ID,
                format!(
                    "the CLI was blocked {:.2} s writing {what} to {stream} (record #{i}): the supervisor was not reading it",
                    blocked as f64 / 1e6
                ),
                vec![i],
            ));
        }
    }
    out
}

/// The supervisor signalled this record's invocation before it (teardown under way).
fn signalled_before(run: &RunArtifacts, i: usize) -> bool {
    let inv = run.transcript[i].inv;
    run.transcript[..i]
        .iter()
        .any(|r| r.inv == inv && matches!(r.event, Event::Signal { .. }))
}

/// The stalled write at record `i` completed (or failed) later: a write record of the same
/// stream follows in its invocation, and its `blocked_us` is judged instead.
fn completed_later(run: &RunArtifacts, i: usize, stream: &str) -> bool {
    let inv = run.transcript[i].inv;
    run.transcript[i + 1..].iter().any(|r| {
        r.inv == inv
            && matches!(
                (&r.event, stream),
                (Event::Stdout { .. } | Event::StdoutClosed { .. }, "stdout")
                    | (Event::Stderr { .. } | Event::StderrClosed { .. }, "stderr")
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::testkit::*;
    use serde_json::json;
    use std::time::Duration;

    fn scen() -> Loaded {
        scenario("name: t\nscript: []\n")
    }

    #[test]
    fn a_closed_stderr_and_a_write_that_never_completed_are_reported() {
        // The supervisor closed stderr mid-flood.
        let mut t = Tr::new();
        let closed = t.push(Event::StderrClosed { blocked_us: 0 });
        t.exit(0);
        let mut r = run(t.done(), vec![]);
        r.duration = Duration::from_secs(5);
        let v = stdout_drained(&r, &scen());
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].records, vec![closed]);
        assert!(
            v[0].message.contains("closed the CLI's stderr"),
            "{}",
            v[0].message
        );

        // ... but not during teardown, after the supervisor signalled the CLI.
        let mut t = Tr::new();
        t.push(Event::Signal {
            signal: "SIGTERM".into(),
            action: "ignored".into(),
            stdin: None,
        });
        t.push(Event::StderrClosed { blocked_us: 0 });
        let mut r = run(t.done(), vec![]);
        r.duration = Duration::from_secs(5);
        assert_eq!(stdout_drained(&r, &scen()), vec![]);

        // A stderr write stalled and never completed (the run was killed mid-write).
        let mut t = Tr::new();
        let stalled = t.push(Event::WriteStalled {
            stream: "stderr".into(),
            after_ms: 1000,
        });
        let mut r = run(t.recs.clone(), vec![]);
        r.duration = Duration::from_secs(5);
        let v = stdout_drained(&r, &scen());
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].records, vec![stalled]);
        assert!(v[0].message.contains("never completed"), "{}", v[0].message);

        // It completed later: the write's own record is judged (once), not the stall.
        t.push(Event::Stderr {
            len: 8192,
            text: None,
            flood: true,
            blocked_us: 1_300_000,
        });
        let mut r = run(t.recs, vec![]);
        r.duration = Duration::from_secs(5);
        let v = stdout_drained(&r, &scen());
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_ne!(v[0].records, vec![stalled]);
    }

    #[test]
    fn long_blocks_while_alive_are_reported() {
        let mut t = Tr::new();
        t.out_blocked(json!({"type": "system"}), 900_000);
        let bad = t.out_blocked(json!({"type": "system"}), 1_500_000);
        t.recs[bad].t = 2.0;
        let mut r = run(t.done(), vec![]);
        let v = stdout_drained(&r, &scen());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].records, vec![bad]);
        assert!(v[0].message.contains("1.50 s"), "{}", v[0].message);
        // The supervisor had exited 0.2 s into that write: only 0.2 s count.
        r.duration = Duration::from_millis(700);
        assert_eq!(stdout_drained(&r, &scen()), vec![]);
    }

    #[test]
    fn bursts_get_a_size_allowance() {
        let mut t = Tr::new();
        let i = t.push(Event::Stdout {
            len: 50 << 20,
            msgs: None,
            text: None,
            b64: None,
            part: None,
            burst: Some(10_000),
            blocked_us: 3_000_000,
            by: None,
        });
        t.recs[i].t = 4.0;
        let r = run(t.done(), vec![]);
        assert_eq!(stdout_drained(&r, &scen()), vec![]);
    }

    #[test]
    fn stderr_floods_count() {
        let mut t = Tr::new();
        let i = t.push(Event::Stderr {
            len: 1 << 16,
            text: None,
            flood: true,
            blocked_us: 4_000_000,
        });
        t.recs[i].t = 4.5;
        let v = stdout_drained(&run(t.done(), vec![]), &scen());
        assert_eq!(v.len(), 1);
        assert!(v[0].message.contains("stderr"));
    }
}
