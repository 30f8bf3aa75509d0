//! Stdout as the supervisor could read it, line by line. The fake records a message write with
//! its messages, but raw bytes (`raw`, `emit` with `newline: false` or `truncate_at`) only as
//! bytes. This pass splits each stream-json invocation's stdout into lines as a reader would —
//! raw bytes joined across writes, a final line without a newline counted at EOF — and puts every
//! line that parses as a JSON object into the `msgs` of the record that completed it, so the
//! judge sees a result written raw like any other. A message a pending partial line runs into is
//! one garbled line: the message is dropped from its record, since no reader could see it.

use fake_claude::transcript::{Event, Record, raw_bytes};
use serde_json::Value;

/// Derive the messages of raw stdout writes in place (see the module docs).
pub fn derive(transcript: &mut [Record]) {
    let invocations: std::collections::BTreeSet<u32> = transcript.iter().map(|r| r.inv).collect();
    for inv in invocations {
        derive_invocation(transcript, inv);
    }
}

fn derive_invocation(transcript: &mut [Record], inv: u32) {
    let mut stream_json = false;
    let mut pending: Vec<u8> = Vec::new();
    // The last raw record that added to `pending`: where a final unterminated line lands.
    let mut last_raw: Option<usize> = None;
    for (i, rec) in transcript.iter_mut().enumerate() {
        if rec.inv != inv {
            continue;
        }
        match &mut rec.event {
            Event::Start { argv, .. } => stream_json = is_stream_json(argv),
            Event::Stdout { burst: Some(_), .. } => pending.clear(),
            Event::Stdout {
                msgs: Some(msgs),
                text: None,
                b64: None,
                ..
            } if stream_json => {
                if !pending.is_empty() && !msgs.is_empty() {
                    // The partial line and the first message are one line on the pipe.
                    let mut line = std::mem::take(&mut pending);
                    line.extend(serde_json::to_vec(&msgs[0]).unwrap_or_default());
                    match object(&line) {
                        Some(m) => msgs[0] = m,
                        None => {
                            msgs.remove(0);
                        }
                    }
                }
                pending.clear();
                last_raw = None;
            }
            Event::Stdout {
                msgs, text, b64, ..
            } if stream_json && msgs.is_none() && (text.is_some() || b64.is_some()) => {
                pending.extend(raw_bytes(text.as_deref(), b64.as_deref()));
                let mut found = Vec::new();
                while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=nl).collect();
                    if let Some(m) = object(&line[..line.len() - 1]) {
                        found.push(m);
                    }
                }
                if !found.is_empty() {
                    *msgs = Some(found);
                }
                last_raw = (!pending.is_empty()).then_some(i);
            }
            _ => {}
        }
    }
    // EOF: a final line without its newline is still a line.
    if let Some(i) = last_raw
        && let Some(m) = object(&pending)
        && let Event::Stdout { msgs, .. } = &mut transcript[i].event
    {
        msgs.get_or_insert_with(Vec::new).push(m);
    }
}

/// `--output-format stream-json` (or `=stream-json`) on the argv.
fn is_stream_json(argv: &[String]) -> bool {
    argv.iter().enumerate().any(|(k, a)| {
        a == "--output-format=stream-json"
            || (a == "--output-format" && argv.get(k + 1).is_some_and(|v| v == "stream-json"))
    })
}

/// A line (without its newline, `\r` tolerated) that is a JSON object.
fn object(line: &[u8]) -> Option<Value> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match serde_json::from_slice::<Value>(line) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn rec(event: Event) -> Record {
        Record {
            inv: 1,
            t: 0.0,
            event,
        }
    }

    fn start(format: &str) -> Record {
        rec(Event::Start {
            argv: vec!["--output-format".into(), format.into(), "--verbose".into()],
            env: BTreeMap::new(),
            cwd: "/w".into(),
            pid: 1,
            profile: "2.1.330".into(),
            scenario: "s".into(),
            version_probe: false,
            unix_ms: None,
        })
    }

    fn raw(text: &str) -> Record {
        rec(Event::Stdout {
            len: text.len() as u64,
            msgs: None,
            text: Some(text.into()),
            b64: None,
            part: None,
            burst: None,
            blocked_us: 0,
            by: Some("s.yaml:3:5".into()),
        })
    }

    fn message(m: Value) -> Record {
        rec(Event::Stdout {
            len: 10,
            msgs: Some(vec![m]),
            text: None,
            b64: None,
            part: None,
            burst: None,
            blocked_us: 0,
            by: Some("s.yaml:4:5".into()),
        })
    }

    fn msgs(r: &Record) -> Option<&Vec<Value>> {
        match &r.event {
            Event::Stdout { msgs, .. } => msgs.as_ref(),
            _ => None,
        }
    }

    const RESULT: &str = r#"{"type":"result","subtype":"success","is_error":false,"result":"hi"}"#;

    #[test]
    fn raw_lines_across_writes_and_a_final_line_without_newline_are_messages() {
        let (a, b) = RESULT.split_at(20);
        let mut t = vec![
            start("stream-json"),
            raw("[SandboxDebug] not json\n"),
            raw(a),
            raw(&format!("{b}\n{{\"type\":\"keep_alive\"}}")),
        ];
        derive(&mut t);
        assert_eq!(msgs(&t[1]), None);
        assert_eq!(msgs(&t[2]), None);
        let got = msgs(&t[3]).expect("derived");
        assert_eq!(got[0]["result"], "hi");
        // The unterminated last line counts at EOF, on the record that wrote it.
        assert_eq!(got[1], json!({"type": "keep_alive"}));
    }

    #[test]
    fn a_message_run_into_by_a_partial_line_is_lost() {
        let mut t = vec![
            start("stream-json"),
            raw(r#"{"type":"system","subtype":"status""#),
            message(json!({"type": "result", "result": "lost"})),
            message(json!({"type": "result", "result": "seen"})),
        ];
        derive(&mut t);
        assert_eq!(msgs(&t[2]), Some(&vec![]));
        assert_eq!(msgs(&t[3]).unwrap()[0]["result"], "seen");
    }

    #[test]
    fn only_stream_json_invocations_are_read_as_lines() {
        let mut t = vec![start("text"), raw(&format!("{RESULT}\n"))];
        derive(&mut t);
        assert_eq!(msgs(&t[1]), None);
    }
}
