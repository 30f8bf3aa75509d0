//! `control-accounting`: every control_request the CLI writes is answered exactly once, with the
//! same request_id and a response shape valid for its subtype; nothing is answered that was never
//! asked. Requests the CLI cancelled (`control_cancel_request`) may go unanswered.
//!
//! An unanswered request is blamed on the supervisor only when an answer was really due: the
//! fake's `request` step timed out, the supervisor closed stdin or signalled the CLI at least 1 s
//! after the request, or the watchdog had to end the fake. If the CLI ended by itself (a scripted
//! exit or crash) before answering was possible, the request is not counted.

use std::collections::BTreeMap;

use fake_claude::matcher::get_path;
use fake_claude::scenario::Loaded;
use fake_claude::transcript::Event;
use serde_json::Value;

use super::facts::msg_type;
use super::{recs, violation};
use crate::artifacts::RunArtifacts;
use crate::verdict::Violation;

const ID: &str = "control-accounting";
/// How long a supervisor has to answer before a kill or EOF counts as leaving it unanswered.
const GRACE_S: f64 = 1.0;

struct Request<'a> {
    record: usize,
    inv: u32,
    t: f64,
    id: String,
    subtype: String,
    body: &'a Value,
    answers: Vec<(usize, &'a Value)>,
    /// The `control_cancel_request`'s record and time.
    cancelled: Option<(usize, f64)>,
}

pub fn control_accounting(run: &RunArtifacts, _scenario: &Loaded) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut requests: Vec<Request> = Vec::new();
    // (inv, id) → indexes into `requests`, in order.
    let mut index: BTreeMap<(u32, String), Vec<usize>> = BTreeMap::new();
    for (i, rec) in run.transcript.iter().enumerate() {
        match &rec.event {
            Event::Stdout {
                msgs: Some(msgs), ..
            } => {
                for m in msgs {
                    let Some(id) = m.get("request_id").and_then(Value::as_str) else {
                        continue;
                    };
                    match msg_type(m) {
                        Some("control_request") => {
                            let subtype = get_path(m, "request.subtype")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string();
                            index
                                .entry((rec.inv, id.to_string()))
                                .or_default()
                                .push(requests.len());
                            requests.push(Request {
                                record: i,
                                inv: rec.inv,
                                t: rec.t,
                                id: id.to_string(),
                                subtype,
                                body: m,
                                answers: vec![],
                                cancelled: None,
                            });
                        }
                        Some("control_cancel_request") => {
                            if let Some(&k) =
                                index.get(&(rec.inv, id.to_string())).and_then(|v| v.last())
                            {
                                requests[k].cancelled.get_or_insert((i, rec.t));
                            }
                        }
                        _ => {}
                    }
                }
            }
            Event::Stdin { msg: Some(m), .. } if msg_type(m) == Some("control_response") => {
                let id = get_path(m, "response.request_id").and_then(Value::as_str);
                let asked = id.and_then(|id| index.get(&(rec.inv, id.to_string())));
                match asked.and_then(|v| v.last()) {
                    // The latest request with this id issued before the answer.
                    Some(&k) => requests[k].answers.push((i, m)),
                    None => out.push(violation(
                        ID,
                        format!(
                            "the supervisor answered control request {} (record #{i}), which the CLI never sent{}",
                            id.map_or("<no request_id>".to_string(), |s| format!("{s:?}")),
                            if id.is_some_and(|id| requests.iter().any(|r| r.inv == rec.inv && r.id == id)) {
                                " before that point"
                            } else {
                                ""
                            }
                        ),
                        vec![i],
                    )),
                }
            }
            _ => {}
        }
    }

    for r in &requests {
        let what = format!(
            "control request {:?} ({}) at record #{}",
            r.id,
            if r.subtype.is_empty() {
                "no subtype"
            } else {
                &r.subtype
            },
            r.record
        );
        match r.answers.len() {
            0 if r.cancelled.is_some() => {}
            0 => {
                if let Some((why, at)) = unanswered_blame(run, r) {
                    let mut records = vec![r.record];
                    records.extend(at);
                    out.push(violation(
                        ID,
                        format!("{what} was never answered: {why}"),
                        records,
                    ));
                }
            }
            1 => {}
            n => {
                let mut records = vec![r.record];
                records.extend(r.answers.iter().map(|a| a.0));
                out.push(violation(
                    ID,
                    format!("{what} was answered {n} times ({})", recs(&records[1..])),
                    records,
                ));
            }
        }
        if let Some((c, ct)) = r.cancelled {
            // An answer already on its way when the cancel was written is a race, not a bug.
            for (i, _) in &r.answers {
                let late = run.transcript[*i].t - ct;
                if *i > c && late >= GRACE_S {
                    out.push(violation(
                        ID,
                        format!(
                            "{what} was answered (record #{i}) {late:.1} s after the CLI cancelled it (record #{c}): a cancelled request must not be answered"
                        ),
                        vec![r.record, c, *i],
                    ));
                }
            }
        }
        for (i, answer) in &r.answers {
            if let Err(why) = shape(&r.subtype, r.body, answer) {
                out.push(violation(
                    ID,
                    format!("the answer to {what} (record #{i}) is malformed: {why}"),
                    vec![r.record, *i],
                ));
            }
        }
    }
    out
}

/// Why an unanswered request is the supervisor's fault, with the record that shows it; `None`
/// when the CLI ended before an answer was due.
fn unanswered_blame(run: &RunArtifacts, r: &Request) -> Option<(String, Option<usize>)> {
    let rid_in = |detail: &Option<String>| detail.as_deref().is_some_and(|d| d.contains(&r.id));
    // Stdin already closed when the CLI asked: it could never be answered (FM-31).
    if let Some(eof) = run.transcript[..r.record]
        .iter()
        .rposition(|rec| rec.inv == r.inv && matches!(rec.event, Event::StdinEof))
    {
        return Some((
            format!("the supervisor had already closed stdin (record #{eof}) when the CLI asked"),
            Some(eof),
        ));
    }
    let mut last_t = r.t;
    for (i, rec) in run.transcript.iter().enumerate().skip(r.record + 1) {
        if rec.inv != r.inv {
            continue;
        }
        last_t = rec.t;
        let waited = rec.t - r.t;
        match &rec.event {
            Event::Step {
                step,
                outcome,
                detail,
                ..
            } if step == "request" && outcome == "timed_out" && rid_in(detail) => {
                return Some((
                    format!("the CLI gave up waiting after {waited:.1} s (record #{i})"),
                    Some(i),
                ));
            }
            Event::StdinEof => {
                return Some((
                    format!(
                        "the supervisor closed stdin {waited:.1} s later with it pending (record #{i}){}",
                        owed_by_plan(&run.plan, r)
                    ),
                    Some(i),
                ));
            }
            Event::Signal { signal, .. } => {
                return (waited >= GRACE_S).then(|| {
                    (
                        format!(
                            "the supervisor sent {signal} {waited:.1} s later instead (record #{i})"
                        ),
                        Some(i),
                    )
                });
            }
            Event::StdoutClosed { .. } => {
                return (waited >= GRACE_S).then(|| {
                    (
                        format!("the supervisor closed the CLI's stdout {waited:.1} s later instead (record #{i})"),
                        Some(i),
                    )
                });
            }
            Event::Watchdog { after_ms } => {
                return Some((
                    format!(
                        "the CLI waited until its watchdog ended it after {} ms (record #{i})",
                        after_ms
                    ),
                    Some(i),
                ));
            }
            // The CLI ended by itself: no answer was due.
            Event::Exit { .. } | Event::Kill { .. } => return None,
            _ => {}
        }
    }
    // The transcript just stops (SIGKILL): blame only if the CLI was seen alive a while after.
    let waited = last_t - r.t;
    (waited >= GRACE_S).then(|| {
        (
            format!("the CLI was still running {waited:.1} s later when it was killed"),
            None,
        )
    })
}

/// When the plan made the user's callback for this request slow, say so: the supervisor closed
/// stdin while it still owed that callback's answer.
fn owed_by_plan(plan: &Value, r: &Request) -> String {
    let delay = match r.subtype.as_str() {
        "can_use_tool" => get_path(plan, "can_use_tool.delay_ms"),
        "hook_callback" => get_path(r.body, "request.callback_id")
            .and_then(Value::as_str)
            .and_then(|id| id.strip_prefix("hook_"))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| plan.get("hooks")?.get(n)?.get("delay_ms")),
        _ => None,
    };
    match delay.and_then(Value::as_u64) {
        Some(ms) if ms > 0 => format!(
            ", while its {} callback (delay_ms {ms} in the plan) still owed the answer: owed answers must be written before stdin is closed",
            r.subtype
        ),
        _ => String::new(),
    }
}

/// Is `answer` a well-formed control_response to a request of this subtype?
fn shape(subtype: &str, request: &Value, answer: &Value) -> Result<(), String> {
    let resp = answer
        .get("response")
        .filter(|r| r.is_object())
        .ok_or("no `response` object")?;
    match resp.get("subtype").and_then(Value::as_str) {
        Some("error") => match resp.get("error") {
            Some(Value::String(s)) if !s.is_empty() => Ok(()),
            Some(Value::String(_)) => Err("error response with an empty `error`".into()),
            _ => Err("error response without an `error` string".into()),
        },
        Some("success") => {
            let body = resp.get("response");
            match subtype {
                "can_use_tool" => can_use_tool(body),
                "hook_callback" => match body {
                    Some(Value::Object(_)) => Ok(()),
                    _ => Err(
                        "hook_callback success needs a `response` object (the hook output)".into(),
                    ),
                },
                "mcp_message" => mcp(request, body),
                _ => match body {
                    None | Some(Value::Object(_)) => Ok(()),
                    Some(_) => Err("`response.response` is not an object".into()),
                },
            }
        }
        Some(other) => Err(format!(
            "`response.subtype` is {other:?}, not \"success\" or \"error\""
        )),
        None => Err("`response.subtype` is missing".into()),
    }
}

fn can_use_tool(body: Option<&Value>) -> Result<(), String> {
    let Some(Value::Object(b)) = body else {
        return Err("can_use_tool success needs a `response` object with `behavior`".into());
    };
    match b.get("behavior").and_then(Value::as_str) {
        Some("allow") => match b.get("updatedInput") {
            Some(Value::Object(_)) => Ok(()),
            Some(_) => Err("allow: `updatedInput` is not an object".into()),
            None => Err("allow without `updatedInput` (the CLI needs the tool input back)".into()),
        },
        Some("deny") => match b.get("message") {
            Some(Value::String(_)) => Ok(()),
            _ => Err("deny without a `message` string".into()),
        },
        Some(other) => Err(format!(
            "`behavior` is {other:?}, not \"allow\" or \"deny\""
        )),
        None => Err("no `behavior`".into()),
    }
}

fn mcp(request: &Value, body: Option<&Value>) -> Result<(), String> {
    let Some(m) = body.and_then(|b| b.get("mcp_response")) else {
        return Err("mcp_message success needs `response.mcp_response`".into());
    };
    if !m.is_object() {
        return Err("`mcp_response` is not an object".into());
    }
    if m.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err("`mcp_response.jsonrpc` is not \"2.0\"".into());
    }
    // A JSON-RPC request (with an id) needs the same id back; notifications have none.
    if let Some(id) = get_path(request, "request.message.id")
        && m.get("id") != Some(id)
    {
        return Err(format!(
            "`mcp_response.id` is {}, expected {id}",
            m.get("id").map_or("missing".to_string(), Value::to_string)
        ));
    }
    if m.get("result").is_none() && m.get("error").is_none() {
        return Err("`mcp_response` has neither `result` nor `error`".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::testkit::*;
    use serde_json::json;

    const AT: &str = "/repo/scenarios/test.yaml:9:3";

    fn scen() -> Loaded {
        scenario("name: t\nscript: []\n")
    }

    fn req(id: &str, request: Value) -> Value {
        json!({"type": "control_request", "request_id": id, "request": request})
    }

    fn ok(id: &str, body: Value) -> Value {
        json!({"type": "control_response", "response": {"subtype": "success", "request_id": id, "response": body}})
    }

    fn cut() -> Value {
        json!({"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "ls"}})
    }

    #[test]
    fn answered_once_with_good_shapes_passes() {
        let mut t = Tr::new();
        t.out(vec![req("r1", cut())], AT);
        t.stdin(ok(
            "r1",
            json!({"behavior": "allow", "updatedInput": {"command": "ls"}}),
        ));
        t.out(vec![req("r2", cut())], AT);
        t.stdin(ok("r2", json!({"behavior": "deny", "message": "no"})));
        t.out(
            vec![req(
                "r3",
                json!({"subtype": "hook_callback", "callback_id": "hook_0"}),
            )],
            AT,
        );
        t.stdin(ok("r3", json!({})));
        t.out(
            vec![req(
                "r4",
                json!({"subtype": "mcp_message", "server_name": "s", "message": {"jsonrpc": "2.0", "id": 0, "method": "initialize"}}),
            )],
            AT,
        );
        t.stdin(ok(
            "r4",
            json!({"mcp_response": {"jsonrpc": "2.0", "id": 0, "result": {}}}),
        ));
        t.out(vec![req("r5", cut())], AT);
        t.stdin(json!({"type": "control_response", "response": {"subtype": "error", "request_id": "r5", "error": "boom"}}));
        // Cancelled by the CLI: no answer needed.
        t.out(vec![req("r6", cut())], AT);
        t.out(
            vec![json!({"type": "control_cancel_request", "request_id": "r6"})],
            AT,
        );
        let r = run(t.done(), vec![]);
        assert_eq!(control_accounting(&r, &scen()), vec![]);
    }

    #[test]
    fn every_kind_of_mistake_is_reported() {
        let mut t = Tr::new();
        let r1 = t.out(vec![req("r1", cut())], AT);
        t.stdin(ok("r1", json!({"behavior": "allow"})));
        let r2 = t.out(vec![req("r2", cut())], AT);
        t.stdin(ok("r2", json!({"behavior": "deny", "message": "x"})));
        t.stdin(ok("r2", json!({"behavior": "deny", "message": "x"})));
        t.stdin(ok("nobody", json!({})));
        t.out(
            vec![req(
                "r3",
                json!({"subtype": "mcp_message", "message": {"id": 3}}),
            )],
            AT,
        );
        t.stdin(ok(
            "r3",
            json!({"mcp_response": {"jsonrpc": "2.0", "id": 4, "result": {}}}),
        ));
        t.out(vec![req("r4", cut())], AT);
        t.stdin(json!({"type": "control_response", "response": {"subtype": "error", "request_id": "r4"}}));
        let r = run(t.done(), vec![]);
        let v = control_accounting(&r, &scen());
        let msgs: Vec<&str> = v.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(v.len(), 5, "{msgs:#?}");
        assert!(msgs[0].contains("\"nobody\"") && msgs[0].contains("never sent"));
        assert!(msgs[1].contains("without `updatedInput`"));
        assert_eq!(v[1].records[0], r1);
        assert!(msgs[2].contains("answered 2 times"));
        assert_eq!(v[2].records[0], r2);
        assert!(msgs[3].contains("`mcp_response.id` is 4, expected 3"));
        assert!(msgs[4].contains("without an `error` string"));
    }

    #[test]
    fn unanswered_is_blamed_only_when_an_answer_was_due() {
        // Stdin closed with the request pending.
        let mut t = Tr::new();
        let q = t.out(vec![req("r1", cut())], AT);
        let eof = t.eof();
        t.exit(0);
        let v = control_accounting(&run(t.done(), vec![]), &scen());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].records, vec![q, eof]);
        assert!(v[0].message.contains("closed stdin"), "{}", v[0].message);

        // The CLI crashed right after asking: not the supervisor's fault.
        let mut t = Tr::new();
        t.out(vec![req("r1", cut())], AT);
        t.push(Event::Kill {
            signal: "SIGSEGV".into(),
        });
        assert_eq!(control_accounting(&run(t.recs, vec![]), &scen()), vec![]);

        // Killed at once (turn over): lenient; killed after waiting 2 s: blamed.
        let mut t = Tr::new();
        t.out(vec![req("r1", cut())], AT);
        t.push(Event::Signal {
            signal: "SIGTERM".into(),
            action: "exit".into(),
            stdin: None,
        });
        assert_eq!(
            control_accounting(&run(t.recs.clone(), vec![]), &scen()),
            vec![]
        );
        t.recs.last_mut().unwrap().t += 2.0;
        assert_eq!(control_accounting(&run(t.recs, vec![]), &scen()).len(), 1);
    }

    #[test]
    fn closing_stdin_with_a_slow_callback_owing_its_answer_says_so() {
        let mut t = Tr::new();
        let q = t.out(
            vec![req(
                "h1",
                json!({"subtype": "hook_callback", "callback_id": "hook_1"}),
            )],
            AT,
        );
        let eof = t.eof();
        t.exit(0);
        let mut r = run(t.done(), vec![]);
        r.plan = json!({"version": 1, "hooks": [{"event": "Stop"}, {"event": "PreToolUse", "delay_ms": 1500}]});
        let v = control_accounting(&r, &scen());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].records, vec![q, eof]);
        assert!(
            v[0].message.contains(
                "hook_callback callback (delay_ms 1500 in the plan) still owed the answer"
            ),
            "{}",
            v[0].message
        );
        // No slow callback in the plan: the plain message.
        r.plan = json!({"version": 1});
        let v = control_accounting(&r, &scen());
        assert!(!v[0].message.contains("owed"), "{}", v[0].message);
    }

    #[test]
    fn asked_after_stdin_was_closed() {
        let mut t = Tr::new();
        let eof = t.eof();
        let q = t.out(vec![req("r1", cut())], AT);
        t.step(AT, "request", "eof");
        t.exit(0);
        let v = control_accounting(&run(t.recs, vec![]), &scen());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].records, vec![q, eof]);
        assert!(
            v[0].message.contains("already closed stdin"),
            "{}",
            v[0].message
        );
    }

    #[test]
    fn an_answer_written_after_the_cancel_is_a_violation() {
        let mut t = Tr::new();
        let q = t.out(vec![req("r1", cut())], AT);
        let c = t.out(
            vec![json!({"type": "control_cancel_request", "request_id": "r1"})],
            AT,
        );
        // In flight when the cancel was written: a race, not a bug.
        t.stdin(ok("r1", json!({"behavior": "deny", "message": "no"})));
        assert_eq!(
            control_accounting(&run(t.recs.clone(), vec![]), &scen()),
            vec![]
        );
        // Written by a slow callback two seconds after the cancel: forbidden.
        t.recs.last_mut().unwrap().t += 2.0;
        let a = t.recs.len() - 1;
        let v = control_accounting(&run(t.recs, vec![]), &scen());
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].records, vec![q, c, a]);
        assert!(
            v[0].message.contains("after the CLI cancelled it"),
            "{}",
            v[0].message
        );
    }

    #[test]
    fn same_id_reused_pairs_with_the_latest_request() {
        let mut t = Tr::new();
        t.out(vec![req("r", cut())], AT);
        t.stdin(ok("r", json!({"behavior": "deny", "message": "a"})));
        t.out(vec![req("r", cut())], AT);
        t.stdin(ok("r", json!({"behavior": "deny", "message": "b"})));
        assert_eq!(control_accounting(&run(t.done(), vec![]), &scen()), vec![]);
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut t = Tr::new();
        t.out(
            vec![json!({"type": "control_request"}), json!(7), json!(null)],
            AT,
        );
        t.stdin(json!({"type": "control_response"}));
        t.stdin(json!({"type": "control_response", "response": 5}));
        t.out(vec![req("x", json!(null))], AT);
        t.stdin(json!({"type": "control_response", "response": {"request_id": "x"}}));
        let v = control_accounting(&run(t.recs, vec![]), &scen());
        assert_eq!(v.len(), 3, "{v:#?}");
    }
}
