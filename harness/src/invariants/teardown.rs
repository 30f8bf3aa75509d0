//! `bounded-teardown`: when the run is over every CLI process is gone — it exited, or the
//! supervisor killed it (a signal death is fine) — rather than being ended by its own watchdog;
//! the supervisor closed its stdin before signalling it (the CLI finishes and flushes on EOF;
//! a SIGTERM first loses that, FM-18); no process the run started survives teardown; and all
//! that happened within the supervisor's declared bound.

use fake_claude::scenario::Loaded;
use fake_claude::transcript::Event;

use super::facts::{self, Ending};
use super::violation;
use crate::artifacts::RunArtifacts;
use crate::verdict::Violation;

const ID: &str = "bounded-teardown";

pub fn bounded_teardown(run: &RunArtifacts, _scenario: &Loaded) -> Vec<Violation> {
    let mut out = Vec::new();
    for inv in facts::invocations(run) {
        if let Ending::Watchdog(ms) = inv.ending {
            out.push(violation(
                ID,
                format!(
                    "CLI invocation {} was never stopped by the supervisor: its own watchdog ended it after {ms} ms (record #{})",
                    inv.inv,
                    inv.end_record.unwrap_or_default()
                ),
                inv.end_record.into_iter().collect(),
            ));
        }
    }
    for (i, r) in run.transcript.iter().enumerate() {
        if let Event::Signal {
            signal,
            stdin: Some(stdin),
            ..
        } = &r.event
            && stdin == "open"
        {
            out.push(violation(
                ID,
                format!(
                    "CLI invocation {} got {signal} while its stdin was still open (record #{i}): \
                     close stdin first and give the CLI a grace period to finish and flush",
                    r.inv
                ),
                vec![i],
            ));
        }
    }
    for l in &run.leftovers {
        let mut what = if l.from_fake {
            "a process descended from the CLI"
        } else {
            "a process of the run (not from the CLI)"
        };
        let mut records = Vec::new();
        for (i, r) in run.transcript.iter().enumerate() {
            match &r.event {
                Event::Start { pid, .. } if *pid == l.pid => {
                    what = "a CLI process";
                    records.push(i);
                }
                Event::Spawned { pid } if *pid == l.pid => {
                    what = "a process the CLI started";
                    records.push(i);
                }
                _ => {}
            }
        }
        out.push(violation(
            ID,
            format!(
                "{what} (pid {}, `{}`) was still alive after teardown{}",
                l.pid,
                l.command,
                match records.first() {
                    Some(r) => format!(" (started at record #{r})"),
                    None => String::new(),
                }
            ),
            records,
        ));
    }
    if run.teardown > run.teardown_bound {
        out.push(violation(
            ID,
            format!(
                "teardown took {:.3} s, more than the supervisor's declared bound of {:.3} s",
                run.teardown.as_secs_f64(),
                run.teardown_bound.as_secs_f64()
            ),
            vec![],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::Leftover;
    use crate::invariants::testkit::*;
    use std::time::Duration;

    fn scen() -> Loaded {
        scenario("name: t\nscript: []\n")
    }

    #[test]
    fn clean_exits_and_kills_pass() {
        let mut t = Tr::new();
        t.eof();
        t.exit(0);
        t.next_inv();
        t.push(Event::Signal {
            signal: "SIGTERM".into(),
            action: "exit".into(),
            stdin: None,
        });
        t.exit(143);
        t.next_inv(); // SIGKILLed: no record at all
        assert_eq!(bounded_teardown(&run(t.recs, vec![]), &scen()), vec![]);
    }

    #[test]
    fn a_signal_while_stdin_is_open_is_a_violation() {
        let mut t = Tr::new();
        let early = t.push(Event::Signal {
            signal: "SIGTERM".into(),
            action: "exit".into(),
            stdin: Some("open".into()),
        });
        t.exit(143);
        t.next_inv();
        t.eof();
        t.push(Event::Signal {
            signal: "SIGTERM".into(),
            action: "exit".into(),
            stdin: Some("closed".into()),
        });
        t.exit(143);
        let v = bounded_teardown(&run(t.recs, vec![]), &scen());
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].records, vec![early]);
        assert!(
            v[0].message.contains("stdin was still open"),
            "{}",
            v[0].message
        );
    }

    #[test]
    fn watchdog_leftovers_and_slow_teardown() {
        let mut t = Tr::new();
        let sp = t.push(Event::Spawned { pid: 777 });
        let w = t.push(Event::Watchdog { after_ms: 60_000 });
        let mut r = run(t.recs, vec![]);
        r.leftovers = vec![Leftover {
            pid: 777,
            command: "sleep 300".into(),
            from_fake: false,
        }];
        r.teardown = Duration::from_secs(9);
        let v = bounded_teardown(&r, &scen());
        assert_eq!(v.len(), 3, "{v:#?}");
        assert_eq!(v[0].records, vec![w]);
        assert_eq!(v[1].records, vec![sp]);
        assert!(v[1].message.contains("process the CLI started"));
        assert!(v[2].message.contains("9.000 s"));
    }
}
