//! Turn-level invariants, over the report's turns and the results the fake wrote (see
//! [`facts::Answers`] for how results are attributed to prompts).
//!
//! * `turn-attribution`: one report turn per drive turn; a completed turn was answered by its own
//!   result — not an injected turn's reply, not another prompt's answer, not nothing.
//! * `byte-exact`: a completed turn's output is byte-identical to its result's `result` text.
//! * `no-timeout`: the run beat the harness deadline; a turn reported `timeout` was really not
//!   answered within the turn timeout the plan gave the adapter.

use fake_claude::scenario::Loaded;

use super::facts::{self, Answers};
use super::{show, violation};
use crate::artifacts::{AdapterExit, RunArtifacts};
use crate::verdict::Violation;

pub fn turn_attribution(run: &RunArtifacts, scenario: &Loaded) -> Vec<Violation> {
    const ID: &str = "turn-attribution";
    let answers = Answers::of(run, scenario);
    let drive = scenario.scenario.drive.turns.len();
    let mut out = Vec::new();

    // Exactly one report line per prompt.
    let mut seen = vec![0usize; drive];
    for t in &run.report.turns {
        match seen.get_mut(t.index) {
            Some(n) => *n += 1,
            None => out.push(violation(
                ID,
                format!(
                    "the report has a turn with index {} but the scenario drives {drive} turn{} (indexes from 0)",
                    t.index,
                    if drive == 1 { "" } else { "s" }
                ),
                vec![],
            )),
        }
    }
    for (i, n) in seen.iter().enumerate() {
        match n {
            0 => out.push(violation(
                ID,
                format!(
                    "prompt {} was never resolved: the report has no turn {i}",
                    i + 1
                ),
                answers.turns[i]
                    .prompt
                    .map(|p| p.step_record.or(p.stdin_record))
                    .into_iter()
                    .flatten()
                    .collect(),
            )),
            1 => {}
            n => out.push(violation(
                ID,
                format!(
                    "prompt {} was resolved {n} times: the report has {n} lines for turn {i}",
                    i + 1
                ),
                vec![],
            )),
        }
    }

    // A completed turn is answered by its own result.
    for (i, a) in answers.turns.iter().enumerate() {
        let Some(t) = facts::report_turn(run, i) else {
            continue;
        };
        if t.status != "completed" {
            // A turn that did not complete must not carry another turn's result either.
            if let Some((p, m)) = foreign_result(&answers, i, &t.messages) {
                out.push(violation(
                    ID,
                    format!(
                        "turn {} is reported {} with a result among its messages ({}) that is {}",
                        i + 1,
                        t.status,
                        show(m.get("text").and_then(|v| v.as_str()).unwrap_or("")),
                        p.describe()
                    ),
                    vec![p.record()],
                ));
            }
            continue;
        }
        let output = t.output.as_deref().unwrap_or("");
        if let Some(p) = answers.provenance(i, output)
            && !output.is_empty()
        {
            let mut records = vec![p.record()];
            records.extend(a.result.map(|r| r.record));
            out.push(violation(
                ID,
                format!(
                    "turn {} reported as its output {}{}",
                    i + 1,
                    p.describe(),
                    match a.result {
                        Some(r) =>
                            format!("; prompt {}'s own result is at record #{}", i + 1, r.record),
                        None => format!("; the CLI wrote no result for prompt {}", i + 1),
                    }
                ),
                records,
            ));
        } else if a.result.is_none() {
            let records: Vec<usize> = a
                .prompt
                .and_then(|p| p.step_record.or(p.stdin_record))
                .into_iter()
                .collect();
            out.push(violation(
                ID,
                format!(
                    "turn {} is reported completed, but the CLI wrote no result for prompt {}{}",
                    i + 1,
                    i + 1,
                    match a.prompt {
                        Some(p) => format!(
                            " (it took the prompt at record #{})",
                            p.step_record.or(p.stdin_record).unwrap_or_default()
                        ),
                        None => " (it never received the prompt)".into(),
                    }
                ),
                records,
            ));
        }
    }
    out
}

/// The first `result` summary in a turn's messages that is some other result: another prompt's
/// answer or an injected turn's reply. Matched by `uuid` when both carry one, else by text.
fn foreign_result<'a, 'm>(
    answers: &Answers<'a>,
    own: usize,
    messages: &'m [serde_json::Value],
) -> Option<(facts::Provenance<'a>, &'m serde_json::Value)> {
    let own_uuid = answers.turns[own]
        .result
        .and_then(|r| r.msg.get("uuid"))
        .and_then(|v| v.as_str());
    for m in messages
        .iter()
        .filter(|m| m.get("type").and_then(|v| v.as_str()) == Some("result"))
    {
        if let Some(uuid) = m.get("uuid").and_then(|v| v.as_str()) {
            if Some(uuid) == own_uuid {
                continue;
            }
            let by_uuid =
                |r: &facts::ResultRef| r.msg.get("uuid").and_then(|v| v.as_str()) == Some(uuid);
            for (j, a) in answers.turns.iter().enumerate() {
                if j != own
                    && let Some(r) = a.result
                    && by_uuid(&r)
                {
                    return Some((facts::Provenance::OtherTurn(j, r), m));
                }
            }
            if let Some(r) = answers.results.iter().find(|r| r.injected && by_uuid(r)) {
                return Some((facts::Provenance::Injected(*r), m));
            }
            continue;
        }
        let text = m.get("text").and_then(|v| v.as_str()).unwrap_or("");
        if !text.is_empty()
            && let Some(p) = answers.provenance(own, text)
        {
            return Some((p, m));
        }
    }
    None
}

pub fn byte_exact(run: &RunArtifacts, scenario: &Loaded) -> Vec<Violation> {
    const ID: &str = "byte-exact";
    let answers = Answers::of(run, scenario);
    let mut out = Vec::new();
    for (i, a) in answers.turns.iter().enumerate() {
        let (Some(t), Some(r)) = (facts::report_turn(run, i), a.result) else {
            continue;
        };
        if t.status != "completed" || !r.is_success() {
            continue;
        }
        let want = r.text().unwrap_or("");
        let got = t.output.as_deref().unwrap_or("");
        if got == want {
            continue;
        }
        // Another result's text is misattribution, reported by turn-attribution.
        if answers.provenance(i, got).is_some() {
            continue;
        }
        let message = match &t.output {
            None => format!(
                "turn {} is completed without an output; its result (record #{}) says {}",
                i + 1,
                r.record,
                show(want)
            ),
            Some(_) => format!(
                "turn {}'s output differs from its result (record #{}): {}",
                i + 1,
                r.record,
                diff(want, got)
            ),
        };
        out.push(violation(ID, message, vec![r.record]));
    }
    out
}

/// Where two texts first differ, with a short excerpt of each around that point.
pub fn diff(want: &str, got: &str) -> String {
    let at = want
        .bytes()
        .zip(got.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let excerpt = |s: &str| {
        let mut from = at.saturating_sub(20);
        while !s.is_char_boundary(from.min(s.len())) {
            from -= 1;
        }
        let mut to = (at + 20).min(s.len());
        while !s.is_char_boundary(to) {
            to += 1;
        }
        let from = from.min(s.len());
        format!(
            "{}{:?}{}",
            if from > 0 { "…" } else { "" },
            &s[from..to],
            if to < s.len() { "…" } else { "" }
        )
    };
    let lengths = if want.len() == got.len() {
        format!("both {} bytes", want.len())
    } else {
        format!("expected {} bytes, got {}", want.len(), got.len())
    };
    format!(
        "{lengths}; first difference at byte {at}: expected {} but got {}",
        excerpt(want),
        excerpt(got)
    )
}

pub fn no_timeout(run: &RunArtifacts, scenario: &Loaded) -> Vec<Violation> {
    const ID: &str = "no-timeout";
    let mut out = Vec::new();
    if run.adapter_exit == AdapterExit::Deadline {
        let last = run.transcript.len().checked_sub(1);
        out.push(violation(
            ID,
            format!(
                "the run hit the harness deadline after {:.1} s: the supervisor was killed{}",
                run.duration.as_secs_f64(),
                last.map(|l| format!(" (the CLI's last record is #{l})"))
                    .unwrap_or_default()
            ),
            last.into_iter().collect(),
        ));
    }
    let answers = Answers::of(run, scenario);
    // The timeout the plan hands the adapter (the drive's, or the plan's default).
    let limit = crate::plan::turn_timeout_ms(&scenario.scenario.drive) as f64 / 1000.0;
    let idle = scenario
        .scenario
        .drive
        .idle_timeout
        .map(|m| m.0 as f64 / 1000.0);
    for (i, a) in answers.turns.iter().enumerate() {
        let (Some(t), Some(r)) = (facts::report_turn(run, i), a.result) else {
            continue;
        };
        if t.status != "timeout" {
            continue;
        }
        let took = a.prompt.filter(|p| p.inv == r.inv).map(|p| r.t - p.t);
        if took.is_some_and(|took| took > limit) {
            continue;
        }
        // An idle watchdog may give up a turn the CLI answered in time, if the CLI went silent
        // for that long first (while not waiting on the supervisor).
        let silence = a
            .prompt
            .filter(|p| p.inv == r.inv)
            .map(|p| longest_silence(run, r.inv, p.t, r.t));
        if let (Some(idle), Some(silence)) = (idle, silence)
            && silence >= idle * IDLE_SLACK
        {
            continue;
        }
        out.push(violation(
            ID,
            format!(
                "turn {} is reported as a timeout, but the CLI answered prompt {}{} (result at record #{}){}",
                i + 1,
                i + 1,
                took.map(|s| format!(" {s:.2} s after taking it")).unwrap_or_default(),
                r.record,
                match (idle, silence) {
                    (Some(idle), Some(s)) => format!(
                        " and never went silent for the idle timeout ({idle:.2} s): its longest silence was {s:.2} s"
                    ),
                    _ => String::new(),
                }
            ),
            vec![r.record],
        ));
    }
    out
}

/// A silence counts as the idle timeout's when it is at least this share of it: the supervisor
/// reads a little after the CLI writes, so its clock and the transcript's differ slightly.
const IDLE_SLACK: f64 = 0.9;

/// The longest stretch in `[from, to]` of invocation `inv` with no CLI output, leaving out the
/// time the CLI waited on the supervisor (a control request of its own not yet answered).
pub fn longest_silence(run: &RunArtifacts, inv: u32, from: f64, to: f64) -> f64 {
    use fake_claude::transcript::Event;
    use std::collections::BTreeSet;
    let mut pending: BTreeSet<String> = BTreeSet::new();
    let mut last = from;
    let mut longest: f64 = 0.0;
    for rec in run.transcript.iter().filter(|r| r.inv == inv) {
        if rec.t < from || rec.t > to {
            continue;
        }
        match &rec.event {
            Event::Stdout { msgs, .. } => {
                if pending.is_empty() {
                    longest = longest.max(rec.t - last);
                }
                last = rec.t;
                for m in msgs.iter().flatten() {
                    if facts::msg_type(m) == Some("control_request")
                        && let Some(id) = m.get("request_id").and_then(|v| v.as_str())
                    {
                        pending.insert(id.to_string());
                    }
                    if facts::msg_type(m) == Some("control_cancel_request")
                        && let Some(id) = m.get("request_id").and_then(|v| v.as_str())
                    {
                        pending.remove(id);
                    }
                }
            }
            Event::Stdin { msg: Some(m), .. } if facts::msg_type(m) == Some("control_response") => {
                if let Some(id) = m
                    .get("response")
                    .and_then(|r| r.get("request_id"))
                    .and_then(|v| v.as_str())
                    && pending.remove(id)
                    && pending.is_empty()
                {
                    // The CLI resumes once answered: the silence starts over.
                    last = rec.t;
                }
            }
            _ => {}
        }
    }
    if pending.is_empty() {
        longest = longest.max(to - last);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::testkit::*;
    use serde_json::json;

    const TWO: &str = r#"
name: t
drive:
  turns:
    - prompt: "one"
    - prompt: "two"
script:
  - turn: {reply: "A1"}
  - injected_turn: {reply: "INJ"}
  - turn: {reply: "A2"}
"#;
    const T1: &str = "/repo/scenarios/test.yaml:8:5";
    const INJ: &str = "/repo/scenarios/test.yaml:9:5";
    const T2: &str = "/repo/scenarios/test.yaml:10:5";

    fn transcript() -> (Vec<fake_claude::transcript::Record>, usize, usize, usize) {
        let mut t = Tr::new();
        let r1 = t.turn("one", T1, "A1");
        let inj = t.out(vec![injected_result("INJ")], INJ);
        let r2 = t.turn("two", T2, "A2");
        (t.done(), r1, inj, r2)
    }

    #[test]
    fn correct_attribution_passes() {
        let s = scenario(TWO);
        let (recs, ..) = transcript();
        let r = run(
            recs,
            vec![
                turn(0, "completed", Some("A1")),
                turn(1, "completed", Some("A2")),
            ],
        );
        assert_eq!(turn_attribution(&r, &s), vec![]);
        assert_eq!(byte_exact(&r, &s), vec![]);
        assert_eq!(no_timeout(&r, &s), vec![]);
    }

    #[test]
    fn injected_reply_and_off_by_one_are_caught() {
        let s = scenario(TWO);
        let (recs, r1, inj, r2) = transcript();
        let r = run(
            recs,
            vec![
                turn(0, "completed", Some("A1")),
                turn(1, "completed", Some("INJ")),
            ],
        );
        let v = turn_attribution(&r, &s);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].records, vec![inj, r2]);
        assert!(
            v[0].message.contains("injected turn's reply"),
            "{}",
            v[0].message
        );
        // Not also a byte-exact failure.
        assert_eq!(byte_exact(&r, &s), vec![]);

        let r = run(
            r.transcript.clone(),
            vec![
                turn(0, "completed", Some("A2")),
                turn(1, "completed", Some("A1")),
            ],
        );
        let v = turn_attribution(&r, &s);
        assert_eq!(v.len(), 2);
        assert!(v[0].message.contains("answer to prompt 2"));
        assert_eq!(v[1].records, vec![r1, r2]);
    }

    #[test]
    fn a_failed_turn_carrying_another_turns_result_is_caught() {
        let s = scenario(TWO);
        let (recs, _, inj, _) = transcript();
        let with = |text: &str| {
            let mut t = failed(1, "the turn failed");
            t.messages = vec![json!({"type": "result", "subtype": "success", "text": text})];
            t
        };
        let r = run(
            recs.clone(),
            vec![turn(0, "completed", Some("A1")), with("INJ")],
        );
        let v = turn_attribution(&r, &s);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].records, vec![inj]);
        assert!(
            v[0].message.contains("turn 2 is reported failed")
                && v[0].message.contains("injected turn's reply"),
            "{}",
            v[0].message
        );
        let r = run(
            recs.clone(),
            vec![turn(0, "completed", Some("A1")), with("A1")],
        );
        assert!(
            turn_attribution(&r, &s)[0]
                .message
                .contains("answer to prompt 1")
        );
        // Its own result among its messages is fine; so is a uuid naming its own result.
        let r = run(
            recs.clone(),
            vec![turn(0, "completed", Some("A1")), with("A2")],
        );
        assert_eq!(turn_attribution(&r, &s), vec![]);
        let mut own = with("INJ");
        own.messages[0]["uuid"] = json!("f88bb8a8-724c-41ec-9b39-896a51a8749b");
        let r = run(recs, vec![turn(0, "completed", Some("A1")), own]);
        assert_eq!(turn_attribution(&r, &s), vec![]);
    }

    #[test]
    fn an_idle_timeout_needs_a_silence_that_long() {
        const IDLE: &str = r#"
name: t
drive:
  idle_timeout: 1s
  turns:
    - prompt: "one"
script:
  - turn: {reply: "A1"}
"#;
        let s = scenario(IDLE);
        let build = |gaps: &[f64]| {
            let mut t = Tr::new();
            t.stdin(user("one"));
            t.prompt_step(T1);
            for g in gaps {
                t.t += g;
                t.out(vec![json!({"type": "keep_alive"})], T1);
            }
            t.t += 0.2;
            let r = t.out(vec![result("A1")], T1);
            (t.done(), r)
        };
        // Silent for 2.5 s: the watchdog was right to fire, though the answer came in time.
        let (recs, _) = build(&[0.1, 2.5]);
        let r = run(recs, vec![turn(0, "timeout", None)]);
        assert_eq!(no_timeout(&r, &s), vec![]);
        // Output every 0.3 s: never idle.
        let (recs, res) = build(&[0.3; 8]);
        let r = run(recs, vec![turn(0, "timeout", None)]);
        let v = no_timeout(&r, &s);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].records, vec![res]);
        assert!(
            v[0].message.contains("its longest silence was 0.3"),
            "{}",
            v[0].message
        );
        // A long wait on the supervisor's own answer is no silence of the CLI's.
        let mut t = Tr::new();
        t.stdin(user("one"));
        t.prompt_step(T1);
        t.out(
            vec![json!({"type": "control_request", "request_id": "p1", "request": {"subtype": "can_use_tool"}})],
            T1,
        );
        t.t += 2.5;
        t.stdin(json!({"type": "control_response", "response": {"subtype": "success", "request_id": "p1", "response": {}}}));
        t.t += 0.2;
        t.out(vec![result("A1")], T1);
        let r = run(t.done(), vec![turn(0, "timeout", None)]);
        assert_eq!(no_timeout(&r, &s).len(), 1);
    }

    #[test]
    fn counts_and_unanswered_completions() {
        let s = scenario(TWO);
        let mut t = Tr::new();
        t.turn("one", T1, "A1");
        let p2 = t.stdin(user("two"));
        let step = t.prompt_step(T2);
        t.push(fake_claude::transcript::Event::Kill {
            signal: "SIGSEGV".into(),
        });
        let r = run(
            t.recs,
            vec![
                turn(0, "completed", Some("A1")),
                turn(0, "completed", Some("A1")),
                turn(1, "completed", Some("")),
                turn(7, "failed", None),
            ],
        );
        let v = turn_attribution(&r, &s);
        let msgs: Vec<&str> = v.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(v.len(), 3, "{msgs:#?}");
        assert!(msgs[0].contains("index 7"));
        assert!(msgs[1].contains("resolved 2 times"));
        assert!(msgs[2].contains("no result for prompt 2"));
        assert_eq!(v[2].records, vec![step]);
        let _ = p2;
    }

    #[test]
    fn byte_exact_shows_the_difference() {
        let s = scenario(TWO);
        let (recs, r1, ..) = transcript();
        let r = run(
            recs,
            vec![
                turn(0, "completed", Some("A1 ")),
                turn(1, "completed", None),
            ],
        );
        let v = byte_exact(&r, &s);
        assert_eq!(v.len(), 2, "{v:#?}");
        assert_eq!(v[0].records, vec![r1]);
        assert!(
            v[0].message.contains("expected 2 bytes, got 3"),
            "{}",
            v[0].message
        );
        assert!(v[1].message.contains("without an output"));
        assert_eq!(
            diff("héllo wörld", "héllo wórld"),
            "both 13 bytes; first difference at byte 9: expected \"héllo wörld\" but got \"héllo wórld\""
        );
        let long_a = "x".repeat(100) + "A" + &"y".repeat(100);
        let long_b = "x".repeat(100) + "B" + &"y".repeat(100);
        let d = diff(&long_a, &long_b);
        assert!(d.contains("at byte 100") && d.contains('…'), "{d}");
    }

    #[test]
    fn timeouts() {
        let s = scenario(TWO);
        let (recs, r1, ..) = transcript();
        let mut r = run(
            recs,
            vec![turn(0, "timeout", None), turn(1, "completed", Some("A2"))],
        );
        let v = no_timeout(&r, &s);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].records, vec![r1]);
        r.adapter_exit = AdapterExit::Deadline;
        assert_eq!(no_timeout(&r, &s).len(), 2);

        // A result later than the drive's turn timeout: the timeout was right.
        let s = scenario(&TWO.replace("drive:\n", "drive:\n  turn_timeout: 1s\n"));
        let (mut recs, r1, ..) = transcript();
        recs[r1].t += 5.0;
        let r = run(
            recs,
            vec![turn(0, "timeout", None), turn(1, "completed", Some("A2"))],
        );
        assert_eq!(no_timeout(&r, &s), vec![]);
    }

    #[test]
    fn positional_attribution_without_turn_steps() {
        let s = scenario(
            "name: t\ndrive: {turns: [{prompt: a}, {prompt: b}]}\nscript:\n  - expect: {match: {type: user}}\n  - emit: {result: {text: R1}}\n",
        );
        let mut t = Tr::new();
        t.stdin(user("a"));
        t.out(vec![result("R1")], "/repo/scenarios/test.yaml:5:5");
        t.out(vec![injected_result("I")], "/repo/scenarios/test.yaml:5:5");
        t.stdin(user("b"));
        let r2 = t.out(vec![result("R2")], "/repo/scenarios/test.yaml:5:5");
        let r = run(
            t.done(),
            vec![
                turn(0, "completed", Some("R1")),
                turn(1, "completed", Some("I")),
            ],
        );
        let v = turn_attribution(&r, &s);
        assert_eq!(v.len(), 1);
        assert!(v[0].records.contains(&r2));
        let _ = json!(null);
    }
}
