//! Hand-built run artifacts for unit tests: a transcript builder and report helpers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use fake_claude::scenario::{Loaded, load_str};
use fake_claude::transcript::{Event, Record};
use serde_json::{Value, json};

use crate::artifacts::{AdapterExit, EndReport, Report, RunArtifacts, TurnReport};

pub fn scenario(yaml: &str) -> Loaded {
    match load_str(yaml, "/repo/scenarios/test.yaml") {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

/// The ids of a verdict's violations, in order.
pub fn violation_ids(v: &[crate::verdict::Violation]) -> Vec<&str> {
    v.iter().map(|v| v.id.as_str()).collect()
}

/// A clean run with no transcript and an `ok` end line.
pub fn run(transcript: Vec<Record>, turns: Vec<TurnReport>) -> RunArtifacts {
    RunArtifacts {
        scenario_id: "test/x".into(),
        supervisor: "test".into(),
        policy: None,
        dir: PathBuf::from("/tmp/.tmpAbC123"),
        plan: Value::Null,
        report: Report {
            turns,
            events: vec![],
            event_at_ms: vec![],
            end: Some(EndReport {
                status: "ok".into(),
                error: None,
                cli_exit_code: Some(0),
                cli_signal: None,
                at_ms: None,
            }),
            problems: vec![],
        },
        transcript,
        adapter_exit: AdapterExit::Code(0),
        stderr_tail: String::new(),
        duration: Duration::from_secs(5),
        spawned_unix_ms: None,
        teardown: Duration::from_millis(10),
        teardown_bound: Duration::from_secs(5),
        leftovers: vec![],
    }
}

pub fn turn(index: usize, status: &str, output: Option<&str>) -> TurnReport {
    TurnReport {
        index,
        status: status.into(),
        output: output.map(str::to_string),
        error: None,
        messages: vec![],
        needs_input: None,
        session_id: None,
        at_ms: None,
    }
}

pub fn failed(index: usize, error: &str) -> TurnReport {
    TurnReport {
        index,
        status: "failed".into(),
        output: None,
        error: Some(error.into()),
        messages: vec![],
        needs_input: None,
        session_id: None,
        at_ms: None,
    }
}

pub fn result(text: &str) -> Value {
    json!({"type": "result", "subtype": "success", "is_error": false, "result": text,
           "session_id": "6e789e6a-a1b9-45f4-86c4-5d188009454f", "duration_ms": 12,
           "uuid": "f88bb8a8-724c-41ec-9b39-896a51a8749b"})
}

pub fn injected_result(text: &str) -> Value {
    let mut r = result(text);
    r["origin"] = json!({"kind": "task-notification"});
    r
}

pub fn user(text: &str) -> Value {
    json!({"type": "user", "message": {"role": "user", "content": text}, "parent_tool_use_id": null, "session_id": ""})
}

/// Builds a transcript record by record; `t` advances 10 ms per record.
pub struct Tr {
    pub recs: Vec<Record>,
    pub inv: u32,
    pub t: f64,
}

impl Tr {
    pub fn new() -> Tr {
        let mut tr = Tr {
            recs: vec![],
            inv: 1,
            t: 0.0,
        };
        tr.start();
        tr
    }

    pub fn push(&mut self, event: Event) -> usize {
        self.t += 0.01;
        self.recs.push(Record {
            inv: self.inv,
            t: self.t,
            event,
        });
        self.recs.len() - 1
    }

    /// A new invocation (the first is started by `new`).
    pub fn next_inv(&mut self) {
        self.inv += 1;
        self.t = 0.0;
        self.start();
    }

    fn start(&mut self) -> usize {
        self.push(Event::Start {
            argv: vec!["--output-format".into(), "stream-json".into()],
            env: BTreeMap::new(),
            cwd: "/tmp/.tmpAbC123".into(),
            pid: 4242 + self.inv,
            profile: "2.1.330".into(),
            scenario: "/repo/scenarios/test.yaml".into(),
            version_probe: false,
            unix_ms: None,
        })
    }

    pub fn out(&mut self, msgs: Vec<Value>, by: &str) -> usize {
        let len = msgs.iter().map(|m| m.to_string().len() as u64 + 1).sum();
        self.push(Event::Stdout {
            len,
            msgs: Some(msgs),
            text: None,
            b64: None,
            part: None,
            burst: None,
            blocked_us: 5,
            by: Some(by.into()),
        })
    }

    pub fn out_blocked(&mut self, msg: Value, blocked_us: u64) -> usize {
        let i = self.out(vec![msg], "/repo/scenarios/test.yaml:9:3");
        if let Event::Stdout { blocked_us: b, .. } = &mut self.recs[i].event {
            *b = blocked_us;
        }
        i
    }

    pub fn stdin(&mut self, msg: Value) -> usize {
        self.push(Event::Stdin {
            raw: Some(msg.to_string()),
            b64: None,
            msg: Some(msg),
            error: None,
            unterminated: false,
            from: None,
        })
    }

    /// A line as written, parsed the way the fake parses it.
    pub fn stdin_raw(&mut self, raw: &str) -> usize {
        let (msg, error) = if raw.trim().is_empty() {
            (None, None)
        } else {
            match serde_json::from_str::<Value>(raw) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(e.to_string())),
            }
        };
        self.push(Event::Stdin {
            raw: Some(raw.into()),
            b64: None,
            msg,
            error,
            unterminated: false,
            from: None,
        })
    }

    pub fn prompt_step(&mut self, at: &str) -> usize {
        self.step(at, "turn", "prompt")
    }

    pub fn step(&mut self, at: &str, step: &str, outcome: &str) -> usize {
        self.push(Event::Step {
            at: at.into(),
            step: step.into(),
            outcome: outcome.into(),
            detail: None,
            captures: None,
            response: None,
        })
    }

    /// A prompt, the step that takes it, and the result the step writes.
    pub fn turn(&mut self, prompt: &str, at: &str, reply: &str) -> usize {
        self.stdin(user(prompt));
        self.prompt_step(at);
        self.out(vec![json!({"type": "system", "subtype": "init"})], at);
        self.out(vec![result(reply)], at)
    }

    pub fn eof(&mut self) -> usize {
        self.push(Event::StdinEof)
    }

    pub fn exit(&mut self, code: i32) -> usize {
        self.push(Event::Exit { code })
    }

    pub fn done(mut self) -> Vec<Record> {
        if !self
            .recs
            .iter()
            .any(|r| r.inv == self.inv && matches!(r.event, Event::Exit { .. }))
        {
            self.eof();
            self.exit(0);
        }
        self.recs
    }
}
