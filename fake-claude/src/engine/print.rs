//! Print mode, as the real CLI 2.1.332 frames it: the prompt comes from argv or from plain text
//! on stdin, and the answer is printed as text or JSON instead of the stream-json conversation.
//! The script plays unchanged — its messages are made, recorded as `held`, and only what the
//! output format prints reaches stdout — so every scenario works in every framing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::input::Got;
use super::{Engine, Stop};
use crate::mode::{NO_PROMPT, OutputFormat};
use crate::transcript::Event;

/// How long 2.1.3xx waits for the first stdin data when the prompt is on argv and stdin is a pipe.
const STDIN_GRACE: Duration = Duration::from_secs(3);
const STDIN_GRACE_WARNING: &str = "Warning: no stdin data received in 3s, proceeding without it. If piping from a slow command, redirect stdin explicitly: < /dev/null to skip, or wait longer.\n";

/// What print mode has kept back for the end of the run.
#[derive(Debug, Default)]
pub struct Held {
    /// `--output-format json --verbose`: every message so far, printed as one array.
    pub all: Vec<Value>,
    /// `--output-format json`: the last result, printed once at the end.
    pub last_result: Option<Value>,
    /// Who wrote the last result (the step location the harness ties a turn's answer to).
    pub result_by: Option<String>,
    /// `--output-format text`: results printed so far (later ones are set off by a blank line).
    pub texts: usize,
}

impl Engine {
    /// Take the print-mode prompt: the positional argument, plain text on stdin read to EOF, or
    /// both joined by a newline (the real CLI appends stdin to the argument). With a prompt on
    /// argv, stdin gets three seconds to start (2.1.81 and 2.1.332 alike; older CLIs waited for
    /// EOF for ever, claude-code#7497).
    /// The prompt goes to the inbox as the user message the CLI makes of it, so `turn` steps
    /// take it like a stream-json prompt. Without any prompt: the real error, exit 1.
    pub(super) fn take_print_prompt(&mut self) -> Result<(), Stop> {
        let argv = self.framing.prompt.clone();
        let grace = argv.is_some().then(|| Instant::now() + STDIN_GRACE);
        let text = self.read_stdin_text(grace)?;
        let (prompt, from) = match (argv, text) {
            (Some(a), Some(t)) if !t.is_empty() => (format!("{a}\n{t}"), "argv+stdin"),
            (Some(a), _) => (a, "argv"),
            (None, Some(t)) if !t.trim().is_empty() => (t, "stdin"),
            (None, _) => {
                crate::cli::say_err(NO_PROMPT);
                self.tr.record(Event::Stderr {
                    len: NO_PROMPT.len() as u64,
                    text: Some(NO_PROMPT.to_string()),
                    flood: false,
                    blocked_us: 0,
                });
                return Err(Stop::Exit(1));
            }
        };
        let msg = json!({"type": "user", "message": {"role": "user", "content": prompt}});
        self.tr.record(Event::Stdin {
            raw: Some(prompt),
            b64: None,
            msg: Some(msg.clone()),
            error: None,
            unterminated: false,
            from: Some(from.to_string()),
        });
        self.inbox.push_back(msg);
        // The CLI reads nothing more: later stdin is neither read nor answered.
        self.input.eof = true;
        Ok(())
    }

    /// All of stdin as text, or `None` when nothing arrived before `grace` (then the CLI warns
    /// and goes on without it). Invalid UTF-8 is replaced, as a JavaScript decoder does.
    fn read_stdin_text(&mut self, grace: Option<Instant>) -> Result<Option<String>, Stop> {
        let mut bytes = Vec::new();
        let mut started = false;
        loop {
            let deadline = if started { None } else { grace };
            match self.input.wait(deadline) {
                Got::Lines(lines) => {
                    started = true;
                    for l in lines {
                        bytes.extend_from_slice(&l.bytes);
                        if l.terminated {
                            bytes.push(b'\n');
                        }
                    }
                }
                Got::Eof => {
                    self.note_eof();
                    return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
                }
                Got::Timeout => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        // A supervisor that closed our stderr only misses the warning.
                        let _ = self.err.write(STDIN_GRACE_WARNING.as_bytes());
                        self.tr.record(Event::Stderr {
                            len: STDIN_GRACE_WARNING.len() as u64,
                            text: Some(STDIN_GRACE_WARNING.to_string()),
                            flood: false,
                            blocked_us: 0,
                        });
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Write messages as the output format prints them: text prints each result's text, json
    /// keeps the last result (verbose: every message) for the end of the run. What is not
    /// printed is recorded as `held`: the supervisor never sees it.
    pub(super) fn write_printed(
        &mut self,
        msgs: Vec<Value>,
        by: Option<String>,
    ) -> Result<(), Stop> {
        for m in &msgs {
            self.observe(m);
        }
        let mut held = Vec::new();
        for mut m in msgs {
            let is_result = m.get("type").and_then(Value::as_str) == Some("result");
            // The json formats print the result without this stream-json-only field (2.1.332).
            if is_result && let Some(o) = m.as_object_mut() {
                o.remove("model_usage_since_last_result");
            }
            match self.framing.output {
                OutputFormat::Text if is_result => {
                    let text = m.get("result").and_then(Value::as_str).unwrap_or_default();
                    let sep = if self.held.texts > 0 { "\n" } else { "" };
                    let bytes = format!("{sep}{text}\n").into_bytes();
                    self.held.texts += 1;
                    let blocked_us = self.out.write(&bytes)?;
                    self.tr.record(Event::Stdout {
                        len: bytes.len() as u64,
                        msgs: Some(vec![m]),
                        text: Some(String::from_utf8_lossy(&bytes).into_owned()),
                        b64: None,
                        part: None,
                        burst: None,
                        blocked_us,
                        by: by.clone(),
                    });
                }
                OutputFormat::Json if self.framing.verbose => {
                    if is_result {
                        self.held.result_by = by.clone();
                    }
                    self.held.all.push(m.clone());
                    held.push(m);
                }
                OutputFormat::Json if is_result => {
                    self.held.result_by = by.clone();
                    self.held.last_result = Some(m.clone());
                    held.push(m);
                }
                _ => held.push(m),
            }
        }
        if !held.is_empty() {
            self.tr.record(Event::Held { msgs: held, by });
        }
        Ok(())
    }

    /// At the end of a print-mode run: `json` prints what it kept — the last result, or with
    /// `--verbose` every message as one array.
    pub(super) fn print_held(&mut self) -> Result<(), Stop> {
        if self.framing.output != OutputFormat::Json {
            return Ok(());
        }
        let (value, msgs) = if self.framing.verbose {
            let all = std::mem::take(&mut self.held.all);
            if all.is_empty() {
                return Ok(());
            }
            (Value::Array(all.clone()), all)
        } else {
            match self.held.last_result.take() {
                Some(r) => (r.clone(), vec![r]),
                None => return Ok(()),
            }
        };
        let mut bytes = serde_json::to_vec(&value).map_err(|e| Stop::Failed(e.to_string()))?;
        bytes.push(b'\n');
        let blocked_us = self.out.write(&bytes)?;
        self.tr.record(Event::Stdout {
            len: bytes.len() as u64,
            msgs: Some(msgs),
            text: None,
            b64: None,
            part: None,
            burst: None,
            blocked_us,
            // The last result's writer: the harness ties a turn's answer to its step.
            by: self
                .held
                .result_by
                .take()
                .or_else(|| Some("print:json".into())),
        });
        Ok(())
    }
}
