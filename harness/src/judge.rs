//! The judge: scenario expectations plus the built-in invariants → one [`Verdict`].
//!
//! Order is deterministic: expectation violations first (turns in order, stdin patterns, failed
//! script steps), then each invariant's in the order of [`invariants::ALL`] (each in transcript
//! order), then problems with the scenario's `expect.waive`. A waived invariant is not checked;
//! it is listed in [`Verdict::waived`] with its reason.

use fake_claude::scenario::Loaded;

use crate::artifacts::RunArtifacts;
use crate::expect;
use crate::invariants;
use crate::verdict::{Verdict, Violation};

/// Judge one run. Every violation is reported, not just the first.
pub fn judge(run: &RunArtifacts, scenario: &Loaded) -> Verdict {
    let mut violations = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        expect::check(run, scenario)
    })) {
        Ok(v) => v,
        Err(_) => vec![Violation {
            id: "expect".into(),
            message: "internal error: checking the scenario's expectations panicked".into(),
            records: vec![],
        }],
    };
    let (waived, waive_problems) = waivers(scenario);
    for inv in invariants::ALL {
        if waived.iter().any(|(id, _)| id == inv.id) {
            continue;
        }
        violations.extend(invariants::run_check(inv, run, scenario));
    }
    violations.extend(waive_problems);
    Verdict {
        violations: crate::verdict::collapse(violations),
        waived,
    }
}

/// The scenario's valid waivers (known id, written reason), and a violation for each invalid one.
pub fn waivers(scenario: &Loaded) -> (Vec<(String, String)>, Vec<Violation>) {
    let mut waived = Vec::new();
    let mut problems = Vec::new();
    for (id, reason) in &scenario.scenario.expect.waive {
        if invariants::find(id).is_none() {
            let known: Vec<&str> = invariants::ALL.iter().map(|i| i.id).collect();
            problems.push(Violation {
                id: "waive-unknown".into(),
                message: format!(
                    "expect.waive names {id:?}, which is not a built-in invariant (known: {})",
                    known.join(", ")
                ),
                records: vec![],
            });
        } else if reason.trim().is_empty() {
            problems.push(Violation {
                id: "waive-no-reason".into(),
                message: format!(
                    "expect.waive.{id} has no reason: an invariant may only be waived with a written reason"
                ),
                records: vec![],
            });
        } else {
            waived.push((id.clone(), reason.clone()));
        }
    }
    (waived, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::AdapterExit;
    use crate::invariants::testkit::*;

    const S: &str = r#"
name: j
drive:
  turns:
    - prompt: "one"
expect:
  waive:
    stdout-drained: "the scenario blocks on purpose"
    no-such-thing: "typo"
    byte-exact: " "
script:
  - turn: {reply: "hi"}
"#;

    #[test]
    fn clean_run_passes_and_waivers_are_listed() {
        let s = scenario(S);
        let mut t = Tr::new();
        t.turn("one", "/repo/scenarios/test.yaml:12:5", "hi");
        let r = run(t.done(), vec![turn(0, "completed", Some("hi"))]);
        let v = judge(&r, &s);
        let ids: Vec<&str> = v.violations.iter().map(|v| v.id.as_str()).collect();
        // BTreeMap order: byte-exact, no-such-thing.
        assert_eq!(ids, ["waive-no-reason", "waive-unknown"]);
        assert_eq!(
            v.waived,
            vec![(
                "stdout-drained".to_string(),
                "the scenario blocks on purpose".to_string()
            )]
        );
    }

    #[test]
    fn all_violations_in_a_fixed_order() {
        let s =
            scenario("name: j\ndrive: {turns: [{prompt: one}]}\nscript:\n  - turn: {reply: hi}\n");
        let mut t = Tr::new();
        t.turn("one", "/repo/scenarios/test.yaml:4:5", "hi");
        t.stdin_raw("not json");
        let mut r = run(t.done(), vec![turn(0, "completed", Some("hey"))]);
        r.adapter_exit = AdapterExit::Deadline;
        let a = judge(&r, &s);
        let b = judge(&r, &s);
        assert_eq!(a, b);
        let ids: Vec<&str> = a.violations.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "expect.turns[0].output",
                "no-timeout",
                "byte-exact",
                "stdin-well-formed"
            ]
        );
        assert!(!a.passed());
    }

    mod fuzz {
        use super::*;
        use fake_claude::transcript::{Event, Record};
        use proptest::prelude::*;
        use serde_json::{Value, json};

        fn value() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(json!(null)),
                Just(json!(7)),
                Just(json!("x")),
                Just(
                    json!({"type": "result", "subtype": "success", "is_error": false, "result": "A"})
                ),
                Just(
                    json!({"type": "result", "subtype": "error", "is_error": true, "errors": [1, "e"]})
                ),
                Just(
                    json!({"type": "result", "origin": {"kind": "task-notification"}, "result": "I"})
                ),
                Just(json!({"type": "result", "result": 5, "origin": 3})),
                Just(
                    json!({"type": "control_request", "request_id": "r", "request": {"subtype": "can_use_tool"}})
                ),
                Just(json!({"type": "control_request", "request_id": 1, "request": 2})),
                Just(json!({"type": "control_cancel_request", "request_id": "r"})),
                Just(
                    json!({"type": "control_response", "response": {"subtype": "success", "request_id": "r", "response": {"behavior": "allow"}}})
                ),
                Just(json!({"type": "control_response", "response": []})),
                Just(json!({"type": "user", "message": {"role": "user", "content": "one"}})),
                Just(json!({"type": "user", "message": {"content": [1, {"type": 2}]}})),
                Just(json!({"type": "user", "message": 3})),
                Just(json!([{"type": "x"}])),
            ]
        }

        fn at() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("/repo/scenarios/test.yaml:12:5".to_string()),
                Just("handler:initialize".to_string()),
                Just("::".to_string()),
                Just("a:99999999999999999999:1".to_string()),
                Just(String::new()),
            ]
        }

        fn event() -> impl Strategy<Value = Event> {
            prop_oneof![
                (
                    proptest::collection::vec(value(), 0..3),
                    at(),
                    any::<u64>(),
                    proptest::option::of(any::<[u32; 2]>())
                )
                    .prop_map(|(msgs, by, blocked_us, part)| Event::Stdout {
                        len: 3,
                        msgs: Some(msgs),
                        text: None,
                        b64: None,
                        part,
                        burst: None,
                        blocked_us,
                        by: Some(by),
                    }),
                (any::<u64>(), any::<u64>()).prop_map(|(len, b)| Event::Stdout {
                    len,
                    msgs: None,
                    text: Some("{\"x".into()),
                    b64: Some("!!".into()),
                    part: Some([1, 2]),
                    burst: Some(b),
                    blocked_us: b,
                    by: None,
                }),
                proptest::option::of(value()).prop_map(|msg| Event::Stdin {
                    raw: msg.as_ref().map(|m| m.to_string()),
                    b64: None,
                    error: None,
                    unterminated: msg.is_none(),
                    from: None,
                    msg,
                }),
                Just(Event::StdinEof),
                at().prop_map(|at| Event::Step {
                    at,
                    step: "turn".into(),
                    outcome: "prompt".into(),
                    detail: None,
                    captures: None,
                    response: None
                }),
                Just(Event::Step {
                    at: "x:1:1".into(),
                    step: "request".into(),
                    outcome: "timed_out".into(),
                    detail: Some("request_id r".into()),
                    captures: None,
                    response: None
                }),
                prop_oneof![Just(None), Just(Some("open")), Just(Some("closed"))].prop_map(
                    |stdin| Event::Signal {
                        signal: "SIGTERM".into(),
                        action: "exit".into(),
                        stdin: stdin.map(str::to_string),
                    }
                ),
                Just(Event::Kill {
                    signal: "SIGWHAT".into()
                }),
                any::<u64>().prop_map(|after_ms| Event::Watchdog { after_ms }),
                any::<i32>().prop_map(|code| Event::Exit { code }),
                any::<u32>().prop_map(|pid| Event::Spawned { pid }),
                Just(Event::Stderr {
                    len: 4,
                    text: Some("boom\n".into()),
                    flood: false,
                    blocked_us: 0
                }),
                Just(Event::StdoutClosed { blocked_us: 0 }),
            ]
        }

        fn record() -> impl Strategy<Value = Record> {
            (1u32..4, -1.0e3f64..1.0e6, event()).prop_map(|(inv, t, event)| Record {
                inv,
                t,
                event,
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn never_panics(
                recs in proptest::collection::vec(record(), 0..40),
                turns in proptest::collection::vec((0usize..4, prop_oneof![Just("completed"), Just("failed"), Just("timeout"), Just("?")], proptest::option::of(prop_oneof![Just("A"), Just("I"), Just("")])), 0..5),
            ) {
                let s = scenario("name: f\ndrive: {turns: [{prompt: one}, {prompt: two}]}\nscript:\n  - turn: {reply: A}\n  - injected_turn: {}\n  - turn: {}\n");
                let turns = turns.into_iter().map(|(i, st, out)| turn(i, st, out)).collect();
                let r = run(recs, turns);
                let v = judge(&r, &s);
                for x in &v.violations {
                    prop_assert!(!x.message.contains("internal error"), "{}", x.message);
                }
                let _ = crate::normalize::normalized_run(&r, &v);
            }
        }
    }

    #[test]
    fn garbage_artifacts_do_not_panic() {
        let s = scenario(S);
        let mut r = run(vec![], vec![turn(usize::MAX, "", None)]);
        r.report.end = None;
        r.duration = std::time::Duration::ZERO;
        let v = judge(&r, &s);
        assert!(!v.passed());
    }
}
