//! The report: JSONL on stdout, one object per line, nothing else on stdout.
//!
//! ```text
//! {"type":"turn","index":0,"status":"completed","output":"…","error":null,"messages":[…]}
//! {"type":"event","name":"injected_turn","data":{…}}
//! {"type":"end","status":"ok","error":null,"cli_exit_code":0,"cli_signal":null}
//! ```
//! Every line is flushed as soon as it is known, so the harness can timestamp it.

use std::io::Write;

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStatus {
    /// The turn's own result arrived with `is_error: false` and subtype `success`.
    Completed,
    /// Error result, CLI died before the result, or the policy refused what the turn did.
    Failed,
    /// The turn ended by an interrupt the supervisor sent.
    Aborted,
    /// No result within `turn_timeout_ms`.
    Timeout,
    /// The CLI did not run the prompt: a hook blocked it (`system/informational` with
    /// `prevent_continuation`, then an empty success result — FM-29).
    Blocked,
}

impl TurnStatus {
    fn as_str(self) -> &'static str {
        match self {
            TurnStatus::Completed => "completed",
            TurnStatus::Failed => "failed",
            TurnStatus::Aborted => "aborted",
            TurnStatus::Timeout => "timeout",
            TurnStatus::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TurnReport {
    pub index: usize,
    pub status: TurnStatus,
    /// The `result` field of the turn's result message, byte-exact, when the turn completed.
    pub output: Option<String>,
    /// The diagnosis when the turn did not complete.
    pub error: Option<String>,
    /// Summaries of the messages surfaced for this turn (see [`summarize`]).
    pub messages: Vec<Value>,
    /// The model asked the user a question nobody answered (FM-51): the turn waits for a human.
    pub needs_input: bool,
}

/// The last line.
#[derive(Debug, Clone, PartialEq)]
pub struct End {
    pub error: Option<String>,
    pub cli_exit_code: Option<i32>,
    pub cli_signal: Option<i32>,
}

impl End {
    /// For failures of the supervisor itself (bad plan): no CLI was run.
    pub fn adapter_error(error: String) -> End {
        End {
            error: Some(error),
            cli_exit_code: None,
            cli_signal: None,
        }
    }
}

pub struct Reporter {
    out: Box<dyn Write>,
}

impl Reporter {
    pub fn stdout() -> Reporter {
        Reporter {
            out: Box::new(std::io::stdout()),
        }
    }

    #[cfg(test)]
    pub fn to_writer(out: Box<dyn Write>) -> Reporter {
        Reporter { out }
    }

    /// A turn line; `session_id`: the session the CLI reported when the turn resolved.
    pub fn turn(&mut self, turn: &TurnReport, session_id: Option<&str>) {
        let mut line = json!({
            "type": "turn",
            "index": turn.index,
            "status": turn.status.as_str(),
            "output": turn.output,
            "error": turn.error,
            "messages": turn.messages,
        });
        if turn.needs_input {
            line["needs_input"] = json!(true);
        }
        if let Some(id) = session_id {
            line["session_id"] = json!(id);
        }
        self.line(line);
    }

    pub fn event(&mut self, name: &str, data: Value) {
        self.line(json!({"type": "event", "name": name, "data": data}));
    }

    pub fn end(&mut self, end: &End) {
        self.line(json!({
            "type": "end",
            "status": if end.error.is_none() { "ok" } else { "error" },
            "error": end.error,
            "cli_exit_code": end.cli_exit_code,
            "cli_signal": end.cli_signal,
        }));
    }

    fn line(&mut self, value: Value) {
        // A failed write to our own stdout (the harness went away) cannot be reported anywhere
        // but stderr; the run carries on so the CLI is still torn down properly.
        let mut bytes = serde_json::to_vec(&value).expect("a serde_json::Value always serializes");
        bytes.push(b'\n');
        if let Err(e) = self.out.write_all(&bytes).and_then(|()| self.out.flush()) {
            eprintln!("reference-supervisor: cannot write the report: {e}");
        }
    }
}

/// The summary of one CLI message as it appears in a turn's `messages` (and in events):
/// `type`, plus `subtype` when present, `text` when it has text content, `uuid` and `origin`
/// when present on the wire, and `is_error` on results.
pub fn summarize(message: &Value) -> Value {
    let mut summary = Map::new();
    for key in ["type", "subtype"] {
        if let Some(value) = message.get(key).filter(|v| !v.is_null()) {
            summary.insert(key.to_string(), value.clone());
        }
    }
    if let Some(text) = text_of(message) {
        summary.insert("text".to_string(), Value::String(text));
    }
    for key in ["uuid", "origin", "is_error"] {
        if let Some(value) = message.get(key).filter(|v| !v.is_null()) {
            summary.insert(key.to_string(), value.clone());
        }
    }
    Value::Object(summary)
}

/// The text content of a message: a result's `result`; for `assistant`/`user`, a string content
/// or its text blocks joined (tool_use, tool_result and thinking blocks are not text).
pub fn text_of(message: &Value) -> Option<String> {
    if message.get("type").and_then(Value::as_str) == Some("result") {
        return message
            .get("result")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    match message.pointer("/message/content")? {
        Value::String(text) => Some(text.clone()),
        Value::Array(blocks) => {
            let texts: Vec<&str> = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.concat())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_have_the_contract_shape() {
        let buffer = Shared::default();
        let mut reporter = Reporter::to_writer(Box::new(buffer.clone()));
        reporter.turn(
            &TurnReport {
                index: 0,
                status: TurnStatus::Completed,
                output: Some("hi".into()),
                error: None,
                messages: vec![json!({"type":"result","subtype":"success"})],
                needs_input: false,
            },
            Some("s-1"),
        );
        reporter.event("stdout_non_json", json!({"line":"[SandboxDebug] x"}));
        reporter.end(&End {
            error: None,
            cli_exit_code: Some(0),
            cli_signal: None,
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"type":"turn","index":0,"status":"completed","output":"hi","error":null,"messages":[{"type":"result","subtype":"success"}],"session_id":"s-1"}"#,
                r#"{"type":"event","name":"stdout_non_json","data":{"line":"[SandboxDebug] x"}}"#,
                r#"{"type":"end","status":"ok","error":null,"cli_exit_code":0,"cli_signal":null}"#,
            ]
        );
    }

    #[test]
    fn summaries_keep_type_subtype_text_uuid_origin() {
        let assistant = json!({"type":"assistant","uuid":"u1","message":{"content":[
            {"type":"text","text":"Hello "},{"type":"tool_use","id":"t","name":"Bash","input":{}},{"type":"text","text":"world"}]}});
        assert_eq!(
            summarize(&assistant),
            json!({"type":"assistant","text":"Hello world","uuid":"u1"})
        );

        let result = json!({"type":"result","subtype":"success","is_error":false,"result":"done",
            "origin":{"kind":"task-notification"},"uuid":"u2","session_id":"s"});
        assert_eq!(
            summarize(&result),
            json!({"type":"result","subtype":"success","text":"done","uuid":"u2","origin":{"kind":"task-notification"},"is_error":false})
        );

        let init = json!({"type":"system","subtype":"init","session_id":"s","tools":[]});
        assert_eq!(summarize(&init), json!({"type":"system","subtype":"init"}));

        let tool_result = json!({"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t","content":"x"}]}});
        assert_eq!(summarize(&tool_result), json!({"type":"user"}));
    }
}
