//! `harness import`: a transcript of a real CLI session in the capture format of the project's
//! reference material (one JSON object per line: `{"t": seconds, "dir": "argv"|"in"|"out"|
//! "stderr"|"exit", "msg": ...}`, written by a Python driver) → the recorder's
//! [`Session`], which fake-claude's [`derive`](fake_claude::record::derive) turns into a scenario.
//!
//! `in` lines are the driver's writes: a message object, raw text (`"not json\n"`), `"<EOF>"`
//! (stdin closed) or `"<signal N>"`; `out` lines are the CLI's messages (`{"__raw__": text}` when
//! a line was not JSON); `exit` is the return code (negative: killed by that signal). The driver
//! closes stdin when it is done without writing a line for it: a session that ends in an `exit`
//! with neither `"<EOF>"` nor a signal before it gets the close just before the exit.

use fake_claude::record::derive;
use fake_claude::record::session::{Ended, Event, Session, Timed};
use serde_json::Value;

/// Parse a reference transcript; errors name the line.
pub fn parse(text: &str, source: &str) -> Result<Session, String> {
    let mut s = Session::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{source}:{}", n + 1);
        let rec: Value =
            serde_json::from_str(line).map_err(|e| format!("{}: not JSON: {e}", at()))?;
        let t = rec.get("t").and_then(Value::as_f64).unwrap_or(0.0);
        let msg = rec.get("msg").cloned().unwrap_or(Value::Null);
        match rec.get("dir").and_then(Value::as_str) {
            Some("argv") => {
                let argv: Vec<String> = msg
                    .as_array()
                    .ok_or_else(|| format!("{}: `argv` needs a list", at()))?
                    .iter()
                    .map(|a| a.as_str().unwrap_or_default().to_string())
                    .collect();
                s.argv = argv.into_iter().skip(1).collect();
            }
            Some("in") => match &msg {
                Value::String(x) if x == "<EOF>" => s.push(t, Event::InEof),
                Value::String(x) if x.starts_with("<signal ") => {
                    let n = x
                        .trim_start_matches("<signal ")
                        .trim_end_matches('>')
                        .parse()
                        .map_err(|_| format!("{}: bad signal record {x:?}", at()))?;
                    s.push(t, Event::Signal { signal: n });
                }
                Value::String(raw) => {
                    let mut rest = raw.as_str();
                    while let Some((l, more)) = rest.split_once('\n') {
                        s.push(t, input(l.as_bytes(), true));
                        rest = more;
                    }
                    if !rest.is_empty() {
                        s.push(t, input(rest.as_bytes(), false));
                    }
                }
                other => s.push(t, input(other.to_string().as_bytes(), true)),
            },
            Some("out") => {
                let bytes = match msg.get("__raw__").and_then(Value::as_str) {
                    Some(raw) => raw.as_bytes().to_vec(),
                    None => msg.to_string().into_bytes(),
                };
                s.push(
                    t,
                    Event::Out {
                        bytes,
                        terminated: true,
                    },
                );
            }
            Some("stderr") => {
                let text = msg.as_str().unwrap_or_default();
                s.push(
                    t,
                    Event::Err {
                        text: format!("{text}\n"),
                    },
                );
            }
            Some("exit") => {
                let code = msg
                    .as_i64()
                    .ok_or_else(|| format!("{}: `exit` needs a number", at()))?;
                let ended = if code < 0 {
                    Ended::Signal(-code as i32)
                } else {
                    Ended::Code(code as i32)
                };
                s.push(t, Event::Exit(ended));
            }
            other => return Err(format!("{}: unknown `dir` {other:?}", at())),
        }
    }
    let closed = s
        .events
        .iter()
        .any(|e| matches!(e.event, Event::InEof | Event::Signal { .. }));
    if !closed
        && let Some(i) = s
            .events
            .iter()
            .position(|e| matches!(e.event, Event::Exit(_)))
    {
        let t = s.events[i].t;
        s.events.insert(
            i,
            Timed {
                t,
                event: Event::InEof,
            },
        );
    }
    Ok(s)
}

fn input(bytes: &[u8], terminated: bool) -> Event {
    Event::In {
        bytes: bytes.to_vec(),
        terminated,
    }
}

/// The scenario for a reference transcript, as YAML text.
pub fn scenario(text: &str, source: &str, opts: &derive::Options) -> Result<String, String> {
    Ok(derive::scenario_yaml(&parse(text, source)?, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_line() {
        let text = r#"{"t": 0.0, "dir": "argv", "msg": ["claude", "--verbose"]}
{"t": 0.1, "dir": "in", "msg": {"type": "user"}}
{"t": 0.2, "dir": "in", "msg": "junk\n{\"a\":1}\n"}
{"t": 0.3, "dir": "out", "msg": {"__raw__": "[debug] hi"}}
{"t": 0.4, "dir": "stderr", "msg": "oops"}
{"t": 0.5, "dir": "in", "msg": "<signal 15>"}
{"t": 0.6, "dir": "in", "msg": "<EOF>"}
{"t": 0.7, "dir": "exit", "msg": -9}
"#;
        let s = parse(text, "x.jsonl").unwrap();
        assert_eq!(s.argv, ["--verbose"]);
        let kinds: Vec<String> = s
            .events
            .iter()
            .map(|e| match &e.event {
                Event::In { bytes, .. } => format!("in {}", String::from_utf8_lossy(bytes)),
                Event::Out { bytes, .. } => format!("out {}", String::from_utf8_lossy(bytes)),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "in {\"type\":\"user\"}",
                "in junk",
                "in {\"a\":1}",
                "out [debug] hi",
                "Err { text: \"oops\\n\" }",
                "Signal { signal: 15 }",
                "InEof",
                "Exit(Signal(9))"
            ]
        );
        assert!(
            parse("{\"dir\": \"sideways\"}", "y")
                .unwrap_err()
                .contains("y:1")
        );
    }
}
