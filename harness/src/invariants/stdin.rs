//! What the supervisor wrote to the CLI's stdin.
//!
//! * `stdin-well-formed`: every line is strict UTF-8, strict JSON, an object, with one of the
//!   envelopes the CLI reads (protocol §2.2, §3.1). Blank lines are tolerated (the CLI skips them).
//! * `no-write-after-close`: what the transcript can show of "nothing written after closing":
//!   a final line cut off without its newline (a write racing the close, or a half-written
//!   message), and stdin lines recorded after the CLI saw EOF. Writes a supervisor attempts after
//!   closing its end of the pipe fail in the supervisor (EBADF/EPIPE) and never reach the CLI, so
//!   they are not observable here; see docs/invariants.md.

use fake_claude::matcher::kind;
use fake_claude::scenario::Loaded;
use fake_claude::transcript::Event;
use serde_json::Value;

use super::{show, violation};
use crate::artifacts::RunArtifacts;
use crate::verdict::Violation;

pub fn stdin_well_formed(run: &RunArtifacts, _scenario: &Loaded) -> Vec<Violation> {
    const ID: &str = "stdin-well-formed";
    let mut out = Vec::new();
    for (i, rec) in run.transcript.iter().enumerate() {
        let Event::Stdin {
            raw, msg, error, ..
        } = &rec.event
        else {
            continue;
        };
        let problem = match (raw, msg) {
            (None, _) => Some("the line is not valid UTF-8".to_string()),
            (Some(r), _) if r.trim().is_empty() => None,
            (Some(r), None) => Some(format!(
                "the line is not JSON ({}): {}",
                error.as_deref().unwrap_or("does not parse"),
                show(r)
            )),
            (Some(_), Some(m)) => envelope(m).err(),
        };
        if let Some(p) = problem {
            out.push(violation(
                ID,
                format!("stdin line at record #{i}: {p}"),
                vec![i],
            ));
        }
    }
    out
}

/// Is this a message the CLI reads on stdin?
pub fn envelope(m: &Value) -> Result<(), String> {
    let Value::Object(o) = m else {
        return Err(format!("not a JSON object but {}", kind(m)));
    };
    let str_at = |v: Option<&Value>| v.and_then(Value::as_str).is_some();
    match o.get("type").and_then(Value::as_str) {
        Some("user") => {
            let Some(Value::Object(msg)) = o.get("message") else {
                return Err("`user` message without a `message` object".into());
            };
            if msg.get("role").and_then(Value::as_str) != Some("user") {
                return Err("`user` message whose `message.role` is not \"user\"".into());
            }
            match msg.get("content") {
                Some(Value::String(_)) => Ok(()),
                Some(Value::Array(blocks)) => {
                    match blocks.iter().position(|b| !str_at(b.get("type"))) {
                        Some(k) => Err(format!(
                            "`user` content block {k} is not an object with a `type`"
                        )),
                        None => Ok(()),
                    }
                }
                _ => Err("`user` message without string or block-list `content`".into()),
            }
        }
        Some("control_request") => {
            if !str_at(o.get("request_id")) {
                Err("`control_request` without a string `request_id`".into())
            } else if !str_at(o.get("request").and_then(|r| r.get("subtype"))) {
                Err("`control_request` without `request.subtype`".into())
            } else {
                Ok(())
            }
        }
        Some("control_response") => {
            let Some(Value::Object(r)) = o.get("response") else {
                return Err("`control_response` without a `response` object".into());
            };
            match r.get("subtype").and_then(Value::as_str) {
                Some("success" | "error") => {}
                _ => {
                    return Err(
                        "`control_response` whose `response.subtype` is not success or error"
                            .into(),
                    );
                }
            }
            if !str_at(r.get("request_id")) {
                return Err(if str_at(o.get("request_id")) {
                    "`control_response` with `request_id` at the top level instead of inside `response`".into()
                } else {
                    "`control_response` without `response.request_id`".into()
                });
            }
            Ok(())
        }
        Some("control_cancel_request") => {
            if str_at(o.get("request_id")) {
                Ok(())
            } else {
                Err("`control_cancel_request` without a string `request_id`".into())
            }
        }
        Some("keep_alive") => Ok(()),
        Some(other) => Err(format!("unknown message type {other:?}")),
        None => Err("no string `type`".into()),
    }
}

pub fn no_write_after_close(run: &RunArtifacts, _scenario: &Loaded) -> Vec<Violation> {
    const ID: &str = "no-write-after-close";
    let mut out = Vec::new();
    // (inv, eof record) seen so far.
    let mut closed: Vec<(u32, usize)> = Vec::new();
    for (i, rec) in run.transcript.iter().enumerate() {
        match &rec.event {
            Event::StdinEof => closed.push((rec.inv, i)),
            // A print-mode prompt (argv, or stdin read to EOF) is not a line written after EOF.
            Event::Stdin { from: Some(_), .. } => {}
            Event::Stdin {
                unterminated, raw, ..
            } => {
                if let Some(&(_, eof)) = closed.iter().find(|(inv, _)| *inv == rec.inv) {
                    out.push(violation(
                        ID,
                        format!(
                            "stdin line at record #{i} arrived after stdin was closed (record #{eof})"
                        ),
                        vec![eof, i],
                    ));
                } else if *unterminated {
                    out.push(violation(
                        ID,
                        format!(
                            "stdin was closed in the middle of a line: the last line (record #{i}) has no newline{}",
                            raw.as_deref().map(|r| format!(": {}", show(r))).unwrap_or_default()
                        ),
                        vec![i],
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::testkit::*;
    use serde_json::json;

    fn scen() -> Loaded {
        scenario("name: t\nscript: []\n")
    }

    #[test]
    fn real_envelopes_pass() {
        for m in [
            user("hi"),
            json!({"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": "hi"}]}}),
            json!({"type": "control_request", "request_id": "req_1_ab", "request": {"subtype": "initialize", "hooks": null}}),
            json!({"type": "control_response", "response": {"subtype": "success", "request_id": "x"}}),
            json!({"type": "control_response", "response": {"subtype": "error", "request_id": "x", "error": "e"}}),
            json!({"type": "control_cancel_request", "request_id": "x"}),
            json!({"type": "keep_alive"}),
        ] {
            assert_eq!(envelope(&m), Ok(()), "{m}");
        }
    }

    #[test]
    fn bad_lines_are_reported_each() {
        let mut t = Tr::new();
        t.stdin_raw("");
        let a = t.stdin_raw("{\"type\":\"user\"");
        let b = t.stdin_raw("[1,2]");
        let c = t.stdin(json!({"type": "user", "message": {"content": "x"}}));
        let d = t.stdin(json!({"type": "control_response", "request_id": "x", "response": {"subtype": "success"}}));
        let e = t.stdin(json!({"type": "interrupt"}));
        let f = t.push(Event::Stdin {
            raw: None,
            b64: Some("/w==".into()),
            msg: None,
            error: Some("not valid UTF-8".into()),
            unterminated: false,
            from: None,
        });
        let v = stdin_well_formed(&run(t.done(), vec![]), &scen());
        let got: Vec<usize> = v.iter().map(|v| v.records[0]).collect();
        assert_eq!(got, vec![a, b, c, d, e, f], "{v:#?}");
        assert!(v[0].message.contains("not JSON"));
        assert!(v[1].message.contains("not a JSON object but an array"));
        assert!(v[3].message.contains("top level"));
        assert!(v[4].message.contains("unknown message type \"interrupt\""));
        assert!(v[5].message.contains("UTF-8"));
    }

    #[test]
    fn cut_lines_and_late_lines() {
        let mut t = Tr::new();
        t.stdin(user("hi"));
        let i = t.push(Event::Stdin {
            raw: Some("{\"type\":\"us".into()),
            b64: None,
            msg: None,
            error: Some("EOF while parsing".into()),
            unterminated: true,
            from: None,
        });
        let eof = t.eof();
        let late = t.stdin(user("late"));
        let v = no_write_after_close(&run(t.done(), vec![]), &scen());
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].records, vec![i]);
        assert!(v[0].message.contains("middle of a line"));
        assert_eq!(v[1].records, vec![eof, late]);
    }

    #[test]
    fn a_new_invocation_has_its_own_stdin() {
        let mut t = Tr::new();
        t.eof();
        t.exit(0);
        t.next_inv();
        t.stdin(user("again"));
        assert_eq!(
            no_write_after_close(&run(t.done(), vec![]), &scen()),
            vec![]
        );
    }
}
