//! The step engine: runs a scenario's script deterministically on one thread. Input arrives from
//! the stdin thread (see [`input`]); control requests from the supervisor are answered by handlers
//! whenever the engine waits; every write goes through [`output`] and into the transcript.

pub mod build;
pub mod input;
pub mod output;
mod print;
pub mod process;
mod resume;
mod tool;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Map, Value, json};
use serde_saphyr::Spanned;

use crate::invocation::Invocation;
use crate::matcher;
use crate::mode::{Framing, InputFormat, OutputFormat};
use crate::profile::control;
use crate::profile::messages::Session;
use crate::scenario::load::{Loaded, decode_hex};
use crate::scenario::model::*;
use crate::template;
use crate::transcript::{Event, Transcript};
use input::{Got, Input, Line};
use output::{Closed, Fd, cut_points};
use process::EXIT_EXPECT_FAILED;

/// Why the run stops before the script ends.
#[derive(Debug)]
pub enum Stop {
    Exit(i32),
    /// Kill ourselves with this signal number.
    Signal(i32, String),
    /// The supervisor closed our stdout (the failing write was blocked this many µs).
    Closed(u64),
    /// An expectation failed; the message says which and why.
    Failed(String),
}

impl From<Closed> for Stop {
    fn from(c: Closed) -> Self {
        Stop::Closed(c.blocked_us)
    }
}

/// What a step asks of the enclosing sequence.
enum Ctl {
    Next,
    Break,
}

type Flow = Result<Ctl, Stop>;

enum Pumped {
    Input,
    Eof,
    Timeout,
}

/// A control response the engine owes later (a handler with `delay`).
struct Timer {
    due: Instant,
    frames: Vec<Value>,
    by: String,
}

pub struct Engine {
    loaded: Arc<Loaded>,
    inv: Invocation,
    pub session: Session,
    out: Fd,
    err: Fd,
    /// The supervisor closed our stderr (recorded once; later writes are dropped).
    stderr_closed: bool,
    tr: Arc<Transcript>,
    input: Input,
    /// stdin messages no step has consumed yet, oldest first.
    inbox: VecDeque<Value>,
    handlers: BTreeMap<String, Handler>,
    timers: Vec<Timer>,
    vars: Map<String, Value>,
    initialized: bool,
    /// Request ids of `request` steps waiting for the supervisor's answer.
    awaiting: HashMap<String, Option<Value>>,
    eof_recorded: bool,
    last_result_is_error: bool,
    turns_begun: u64,
    /// Position in the scenario's `chunking.sizes` cycle.
    chunk_next: usize,
    /// Where prompts come from and how the answer is printed (stream-json, or print mode).
    framing: Framing,
    /// What print mode keeps back for the end of the run.
    held: print::Held,
    /// Where the session is kept for later invocations (`--resume`, `--continue`).
    store: Option<crate::sessions::Store>,
    /// Results earlier invocations of a resumed session wrote, and this one's.
    results_before: u64,
    results_written: u64,
    /// How the CLI decides tool calls (`tool` steps), from the invocation.
    permissions: crate::permissions::Settings,
}

impl Engine {
    pub fn new(
        loaded: Arc<Loaded>,
        inv: Invocation,
        framing: Framing,
        tr: Arc<Transcript>,
        cwd: String,
    ) -> Self {
        let seed = inv.seed.or(loaded.scenario.seed).unwrap_or(0);
        let profile = inv
            .profile
            .as_deref()
            .and_then(crate::profile::Profile::parse)
            .unwrap_or_else(|| loaded.profile());
        let mut session = Session::new(profile, seed, cwd.clone());
        session.reads_session_state = inv.reads_session_state();
        let permissions = crate::permissions::Settings::of(&inv);
        permissions.apply_to(&mut session, &inv);
        let mut vars = Map::new();
        vars.insert("flags".into(), inv.flags_json());
        vars.insert("env".into(), inv.env_json());
        vars.insert("cwd".into(), json!(cwd));
        vars.insert("profile".into(), json!(profile.version()));
        vars.insert("version".into(), json!(profile.version()));
        // Filled in when `initialize` arrives (see `registered_hooks`).
        vars.insert("hooks".into(), json!({}));
        // Which invocation of the run this is (1, 2, …): scripts branch on it to play each
        // process of a resumed session (`when: {var: invocation, equals: 2}`).
        vars.insert("invocation".into(), json!(tr.invocation()));
        let watch = output::StallWatch::start(Arc::clone(&tr));
        Engine {
            handlers: loaded.scenario.handlers.clone(),
            loaded,
            inv,
            session,
            out: Fd::stdout().watched(&watch),
            err: Fd::stderr().watched(&watch),
            stderr_closed: false,
            tr,
            input: Input::new(),
            inbox: VecDeque::new(),
            timers: Vec::new(),
            vars,
            initialized: false,
            awaiting: HashMap::new(),
            eof_recorded: false,
            last_result_is_error: false,
            turns_begun: 0,
            chunk_next: 0,
            framing,
            held: print::Held::default(),
            store: None,
            results_before: 0,
            results_written: 0,
            permissions,
        }
    }

    /// Run the script, then behave like an idle CLI until stdin closes. Returns the exit code
    /// (or dies by a signal).
    pub fn run(mut self) -> i32 {
        let loaded = Arc::clone(&self.loaded);
        let outcome = self
            .begin_session()
            .and_then(|_| {
                if self.framing.input == InputFormat::Text {
                    self.take_print_prompt()
                } else {
                    Ok(())
                }
            })
            .and_then(|_| self.steps(&loaded.scenario.script))
            .and_then(|_| self.idle());
        // Print mode's json answer comes at the end of a run that ended by itself.
        let outcome = match outcome {
            Ok(_) | Err(Stop::Exit(_)) => match self.print_held() {
                Ok(()) => outcome,
                Err(e) => Err(e),
            },
            other => other,
        };
        let code = match outcome {
            Ok(_) => {
                if self.last_result_is_error {
                    1
                } else {
                    0
                }
            }
            Err(Stop::Exit(c)) => c,
            Err(Stop::Closed(blocked_us)) => {
                self.tr.record(Event::StdoutClosed { blocked_us });
                0
            }
            Err(Stop::Failed(why)) => {
                self.tr.record(Event::Note {
                    text: format!("expectation failed: {why}"),
                });
                crate::cli::say_err(&format!("fake-claude: {why}\n"));
                EXIT_EXPECT_FAILED
            }
            Err(Stop::Signal(n, name)) => {
                self.tr.record(Event::Kill { signal: name });
                process::die_by_signal(n);
            }
        };
        self.tr.record(Event::Exit { code });
        code
    }

    /// After the script: answer control requests until stdin closes.
    fn idle(&mut self) -> Flow {
        // The script is over: print mode's json answer is due now, not when stdin closes.
        self.print_held()?;
        while !matches!(self.pump(None)?, Pumped::Eof) {}
        self.owed_answers()?;
        Ok(Ctl::Next)
    }

    /// stdin is closed: write the answers delayed handlers still owe (the real CLI finishes
    /// what it has in flight before it exits) instead of dropping them.
    fn owed_answers(&mut self) -> Result<(), Stop> {
        if !self.timers.is_empty() {
            // With stdin at EOF, pump sleeps until each timer is due and fires it.
            self.pump(None)?;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // input

    /// Wait for input until `deadline`, serving control requests and due timers meanwhile.
    fn pump(&mut self, deadline: Option<Instant>) -> Result<Pumped, Stop> {
        loop {
            self.fire_timers()?;
            let next_timer = self.timers.iter().map(|t| t.due).min();
            let wait_until = match (deadline, next_timer) {
                (Some(d), Some(t)) => Some(d.min(t)),
                (d, t) => d.or(t),
            };
            if self.input.eof {
                self.note_eof();
                match wait_until {
                    None => return Ok(Pumped::Eof),
                    Some(until) => {
                        std::thread::sleep(until.saturating_duration_since(Instant::now()));
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            self.fire_timers()?;
                            return Ok(Pumped::Eof);
                        }
                        continue;
                    }
                }
            }
            match self.input.wait(wait_until) {
                Got::Lines(lines) => {
                    for l in lines {
                        self.take_line(l)?;
                    }
                    return Ok(Pumped::Input);
                }
                Got::Eof => {
                    self.note_eof();
                    return Ok(Pumped::Eof);
                }
                Got::Timeout => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        self.fire_timers()?;
                        return Ok(Pumped::Timeout);
                    }
                }
            }
        }
    }

    fn note_eof(&mut self) {
        if !self.eof_recorded {
            self.eof_recorded = true;
            self.tr.record(Event::StdinEof);
        }
    }

    fn fire_timers(&mut self) -> Result<(), Stop> {
        let now = Instant::now();
        let (due, later): (Vec<Timer>, Vec<Timer>) = std::mem::take(&mut self.timers)
            .into_iter()
            .partition(|t| t.due <= now);
        self.timers = later;
        for t in due {
            for f in t.frames {
                self.write_msgs(vec![f], Some(t.by.clone()))?;
            }
        }
        Ok(())
    }

    /// One stdin line: record it, then route it — handler, awaited response, or the inbox.
    fn take_line(&mut self, line: Line) -> Result<(), Stop> {
        let input::Decoded {
            raw,
            b64,
            msg: parsed,
        } = input::decode(line.bytes);
        let (msg, error) = match &parsed {
            Ok(v) => (Some(v.clone()), None),
            Err(e) => (None, e.clone()),
        };
        let text = raw.clone();
        self.tr.record(Event::Stdin {
            raw,
            b64,
            msg,
            error,
            unterminated: !line.terminated,
            from: None,
        });
        let msg = match parsed {
            Ok(m) => m,
            // A blank line is skipped.
            Err(None) => return Ok(()),
            Err(Some(_)) => return self.non_json_line(text),
        };
        match msg.get("type").and_then(Value::as_str) {
            Some("control_request") => self.control_request(msg),
            Some("control_response") => {
                let rid = matcher::get_path(&msg, "response.request_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                match self.awaiting.get_mut(&rid) {
                    Some(slot @ None) => *slot = Some(msg),
                    _ => self.inbox.push_back(msg),
                }
                Ok(())
            }
            _ => {
                self.inbox.push_back(msg);
                Ok(())
            }
        }
    }

    /// A stdin line that is not JSON: the real CLI prints why on stderr and exits 1 (2.1.81 and
    /// 2.1.330 alike, with different texts), unless the scenario says to read on.
    fn non_json_line(&mut self, text: Option<String>) -> Result<(), Stop> {
        if self.loaded.scenario.non_json_stdin == Some(NonJsonStdin::Ignore) {
            return Ok(());
        }
        let text = text.unwrap_or_default();
        let why = if self.session.profile == crate::profile::Profile::V2_1_81 {
            let word: String = text.chars().take_while(|c| c.is_alphanumeric()).collect();
            let detail = if word.is_empty() {
                "Unexpected token".to_string()
            } else {
                format!("Unexpected identifier \"{word}\"")
            };
            format!(
                "Error parsing streaming input line: {text}: SyntaxError: JSON Parse error: {detail}\n"
            )
        } else {
            format!(
                "Error parsing streaming input line (type=unknown, {} chars): SyntaxError\n",
                text.chars().count()
            )
        };
        let _ = self.err.write(why.as_bytes());
        self.tr.record(Event::Stderr {
            len: why.len() as u64,
            text: Some(why),
            flood: false,
            blocked_us: 0,
        });
        Err(Stop::Exit(1))
    }

    fn control_request(&mut self, msg: Value) -> Result<(), Stop> {
        let rid = msg
            .get("request_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let subtype = matcher::get_path(&msg, "request.subtype")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let handler = self
            .handlers
            .get(&subtype)
            .or_else(|| self.handlers.get("*"))
            .cloned()
            .unwrap_or_default();
        if subtype == "initialize" {
            self.vars.insert("hooks".into(), registered_hooks(&msg));
        }
        let record = |tr: &Transcript, action: &str| {
            tr.record(Event::Control {
                request_id: rid.clone(),
                subtype: subtype.clone(),
                action: action.into(),
            })
        };
        if handler.script {
            record(&self.tr, "to_script");
            self.inbox.push_back(msg);
            return Ok(());
        }
        if handler.never {
            record(&self.tr, "never");
            return Ok(());
        }
        let frames = if let Some(err) = &handler.error {
            vec![self.session.control_error(&rid, err, None)]
        } else if let Some(body) = &handler.respond {
            let mut vars = self.vars_json();
            if let Value::Object(m) = &mut vars {
                m.insert("request".into(), msg.clone());
            }
            let body = template::render(body, &vars)
                .map_err(|e| Stop::Failed(format!("handlers.{subtype}.respond: {e}")))?;
            vec![Session::control_success(&rid, Some(body))]
        } else {
            let mut frames =
                control::default_answer(&mut self.session, &msg, &mut self.initialized);
            if let Some(with) = &handler.with {
                let mut vars = self.vars_json();
                if let Value::Object(m) = &mut vars {
                    m.insert("request".into(), msg.clone());
                }
                let with = template::render(with, &vars)
                    .map_err(|e| Stop::Failed(format!("handlers.{subtype}.with: {e}")))?;
                // The control_response among the frames (side frames stay as they are).
                if let Some(body) = frames
                    .iter_mut()
                    .find(|f| f["type"] == "control_response")
                    .and_then(|f| f.pointer_mut("/response/response"))
                {
                    build::merge(body, with);
                }
            }
            frames
        };
        let by = format!("handler:{subtype}");
        match handler.delay {
            Some(d) if d.0 > 0 => {
                record(&self.tr, "delayed");
                self.timers.push(Timer {
                    due: Instant::now() + d.duration(),
                    frames,
                    by,
                });
                Ok(())
            }
            _ => {
                record(
                    &self.tr,
                    if handler.error.is_some() {
                        "error"
                    } else {
                        "answered"
                    },
                );
                for f in frames {
                    self.write_msgs(vec![f], Some(by.clone()))?;
                }
                Ok(())
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // output

    fn write_msgs(&mut self, msgs: Vec<Value>, by: Option<String>) -> Result<(), Stop> {
        if self.framing.output != OutputFormat::StreamJson {
            return self.write_printed(msgs, by);
        }
        let mut bytes = Vec::new();
        for m in &msgs {
            serde_json::to_writer(&mut bytes, m).map_err(|e| Stop::Failed(e.to_string()))?;
            bytes.push(b'\n');
        }
        let cuts = self.chunk_cuts(bytes.len());
        if !cuts.is_empty() {
            let pause = self.loaded.scenario.chunking.as_ref().and_then(|c| c.pause);
            let by = by.unwrap_or_default();
            return self.write_split(&bytes, &cuts, pause, msgs, &by);
        }
        for m in &msgs {
            self.observe(m);
        }
        let blocked_us = self.out.write(&bytes)?;
        self.tr.record(Event::Stdout {
            len: bytes.len() as u64,
            msgs: Some(msgs),
            text: None,
            b64: None,
            part: None,
            burst: None,
            blocked_us,
            by,
        });
        Ok(())
    }

    /// Track what the CLI said: the exit code after EOF follows the last result's is_error.
    fn observe(&mut self, m: &Value) {
        if m.get("type").and_then(Value::as_str) == Some("result") {
            self.save_session();
            self.last_result_is_error = m.get("is_error").and_then(Value::as_bool) == Some(true);
        }
        if let Some(id) = m
            .get("result_index")
            .and_then(Value::as_u64)
            .filter(|_| m.get("type").and_then(Value::as_str) == Some("result"))
        {
            self.vars.insert("result_index".into(), json!(id));
        }
    }

    /// Where the scenario's `chunking` cuts a write of `len` bytes, continuing its size cycle.
    fn chunk_cuts(&mut self, len: usize) -> Vec<usize> {
        let Some(c) = &self.loaded.scenario.chunking else {
            return Vec::new();
        };
        let sizes: Vec<usize> = c.sizes.iter().copied().filter(|n| *n > 0).collect();
        let mut cuts = Vec::new();
        if sizes.is_empty() {
            return cuts;
        }
        let mut at = 0;
        loop {
            at += sizes[self.chunk_next % sizes.len()];
            self.chunk_next += 1;
            if at >= len {
                return cuts;
            }
            cuts.push(at);
        }
    }

    /// Write bytes as one write, or split at `cuts` with `pause` between parts. `msgs` are the
    /// messages the bytes carry (none for raw bytes), recorded with the last part.
    fn write_split(
        &mut self,
        bytes: &[u8],
        cuts: &[usize],
        pause: Option<Millis>,
        msgs: Vec<Value>,
        by: &str,
    ) -> Result<(), Stop> {
        for m in &msgs {
            self.observe(m);
        }
        let mut msgs = (!msgs.is_empty()).then_some(msgs);
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(bytes.len());
        let n = bounds.len() - 1;
        for i in 0..n {
            if i > 0
                && let Some(p) = pause
            {
                std::thread::sleep(p.duration());
            }
            let part = &bytes[bounds[i]..bounds[i + 1]];
            let blocked_us = self.out.write(part)?;
            let last = i + 1 == n;
            let (text, b64) = if msgs.is_some() {
                (None, None)
            } else {
                match std::str::from_utf8(part) {
                    Ok(s) => (Some(s.to_string()), None),
                    Err(_) => (
                        None,
                        Some(base64::engine::general_purpose::STANDARD.encode(part)),
                    ),
                }
            };
            self.tr.record(Event::Stdout {
                len: part.len() as u64,
                msgs: if last { msgs.take() } else { None },
                text,
                b64,
                part: (n > 1).then_some([i as u32 + 1, n as u32]),
                burst: None,
                blocked_us,
                by: Some(by.to_string()),
            });
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // variables

    fn vars_json(&self) -> Value {
        let mut m = self.vars.clone();
        m.insert("session_id".into(), json!(self.session.session_id));
        m.insert(
            "last_tool_use_id".into(),
            json!(self.session.last_tool_use_id),
        );
        m.entry("result_index").or_insert(json!(0));
        Value::Object(m)
    }

    fn build(&mut self, e: &Emit, at: &str) -> Result<Value, Stop> {
        let msg = build::shorthand(&mut self.session, e);
        let vars = self.vars_json();
        build::finish(msg, e.with.as_ref(), &e.without, &vars)
            .map_err(|err| Stop::Failed(format!("{at}: {err}")))
    }

    /// Bind captures from `msg`. A path that is not there binds `null` (scripts branch on
    /// optional fields such as `updatedInput.run_in_background`); the step record lists it.
    fn capture(&mut self, msg: &Value, caps: &BTreeMap<String, String>) -> Map<String, Value> {
        let mut got = Map::new();
        for (name, path) in caps {
            let v = matcher::get_path(msg, path).cloned().unwrap_or(Value::Null);
            got.insert(name.clone(), v.clone());
            self.vars.insert(name.clone(), v);
        }
        got
    }

    fn step_record(&self, at: &str, step: &str, outcome: &str, detail: Option<String>) {
        self.tr.record(Event::Step {
            at: at.to_string(),
            step: step.to_string(),
            outcome: outcome.to_string(),
            detail,
            captures: None,
            response: None,
        });
    }

    fn on_miss(&self, action: Option<&OnMiss>, at: &str, what: String) -> Flow {
        match action.unwrap_or(&OnMiss::Fail) {
            OnMiss::Fail => Err(Stop::Failed(format!("{at}: {what}"))),
            OnMiss::Continue => Ok(Ctl::Next),
            OnMiss::Break => Ok(Ctl::Break),
            OnMiss::Exit(c) => Err(Stop::Exit(*c)),
        }
    }

    // -----------------------------------------------------------------------------------------
    // steps

    fn steps(&mut self, steps: &[Spanned<Step>]) -> Flow {
        for s in steps {
            if let Ctl::Break = self.step(s)? {
                return Ok(Ctl::Break);
            }
        }
        Ok(Ctl::Next)
    }

    fn step(&mut self, s: &Spanned<Step>) -> Flow {
        let at = self.loaded.location(s);
        match &s.value {
            Step::Emit(e) => self.emit(e, &at).map(|_| Ctl::Next),
            Step::Write(w) => {
                let mut msgs = Vec::with_capacity(w.messages.len());
                for e in &w.messages {
                    msgs.push(self.build(e, &at)?);
                }
                self.write_msgs(msgs, Some(at)).map(|_| Ctl::Next)
            }
            Step::Raw(r) => self.raw(r, &at).map(|_| Ctl::Next),
            Step::Stderr(e) => self.stderr(e, &at).map(|_| Ctl::Next),
            Step::Burst(b) => self.burst(b, &at).map(|_| Ctl::Next),
            Step::Expect(e) => self.expect(e, &at),
            Step::Request(r) => self.request(r, &at),
            Step::Sleep(d) => {
                let until = Instant::now() + d.duration();
                while Instant::now() < until {
                    if let Pumped::Timeout | Pumped::Eof = self.pump(Some(until))?
                        && self.input.eof
                    {
                        // stdin is gone: keep sleeping, still firing timers.
                        self.pump(Some(until))?;
                    }
                }
                Ok(Ctl::Next)
            }
            Step::WaitEof(w) => {
                let deadline = w.timeout.map(|t| Instant::now() + t.duration());
                loop {
                    // Closed already: done at once (pump would first wait out the timeout).
                    if self.input.eof {
                        self.note_eof();
                        self.step_record(&at, "wait_eof", "eof", None);
                        return Ok(Ctl::Next);
                    }
                    match self.pump(deadline)? {
                        Pumped::Eof => {
                            self.step_record(&at, "wait_eof", "eof", None);
                            return Ok(Ctl::Next);
                        }
                        Pumped::Timeout => {
                            self.step_record(&at, "wait_eof", "timed_out", None);
                            return self.on_miss(
                                w.on_timeout.as_ref(),
                                &at,
                                "stdin was not closed in time".into(),
                            );
                        }
                        Pumped::Input => {}
                    }
                }
            }
            Step::Hang(h) => {
                let until = h.for_.map(|d| Instant::now() + d.duration());
                self.step_record(&at, "hang", "started", None);
                // A CLI that hangs after its last turn has printed its json answer already.
                self.print_held()?;
                if h.read_stdin.unwrap_or(true) {
                    loop {
                        if let Pumped::Timeout = self.pump(until)? {
                            break;
                        }
                        if until.is_none() && self.input.eof {
                            // Nothing more to read: just stay alive until killed.
                            loop {
                                std::thread::sleep(Duration::from_secs(3600));
                            }
                        }
                        if until.is_some_and(|u| Instant::now() >= u) {
                            break;
                        }
                    }
                } else {
                    match until {
                        Some(u) => std::thread::sleep(u.saturating_duration_since(Instant::now())),
                        None => loop {
                            std::thread::sleep(Duration::from_secs(3600));
                        },
                    }
                }
                Ok(Ctl::Next)
            }
            Step::CloseStdin(c) => {
                if let Some(over) = c.mid_line_over {
                    // Read on until a line is longer than `over` and still unfinished (or stdin
                    // ends: then there is nothing left to cut).
                    while self.input.unfinished_len() as u64 <= over {
                        if let Pumped::Eof = self.pump(None)? {
                            break;
                        }
                    }
                }
                let closed = self
                    .input
                    .close()
                    .map_err(|e| Stop::Failed(format!("{at}: cannot close stdin: {e}")))?;
                let mut lines = closed.lines;
                // The line cut off in the middle never reached the CLI as a message.
                // How much of it had come depends on how the pipe was read: not recorded, so
                // the transcript is the same every run.
                let dropped = match (lines.last(), c.mid_line_over) {
                    (Some(last), Some(over)) if !last.terminated => {
                        lines.pop();
                        Some(over)
                    }
                    _ => None,
                };
                // Lines the reader had already taken from the pipe were read: record them.
                for line in lines {
                    self.take_line(line)?;
                }
                // Not the supervisor's EOF: no `stdin_eof` record from here on.
                self.eof_recorded = true;
                let detail = dropped
                    .map(|over| format!("mid-line: an unfinished line over {over} bytes dropped"));
                self.step_record(&at, "close_stdin", "closed", detail);
                Ok(Ctl::Next)
            }
            Step::Exit(c) => Err(Stop::Exit(*c)),
            Step::Kill(sig) => {
                let n = process::signal_number(sig).unwrap_or(15);
                Err(Stop::Signal(n, sig.clone()))
            }
            Step::Spawn(sp) => {
                match process::spawn_grandchild(sp) {
                    Ok(pid) => self.tr.record(Event::Spawned { pid }),
                    Err(e) => return Err(Stop::Failed(format!("{at}: cannot spawn: {e}"))),
                }
                Ok(Ctl::Next)
            }
            Step::If(i) => {
                let holds = self.holds(&i.when);
                self.step_record(&at, "if", if holds { "then" } else { "else" }, None);
                if holds {
                    self.steps(&i.then)
                } else {
                    self.steps(&i.otherwise)
                }
            }
            Step::Repeat(r) => {
                let mut n = 0u64;
                while r.times.is_none_or(|t| n < t) {
                    n += 1;
                    if let Ctl::Break = self.steps(&r.steps)? {
                        break;
                    }
                }
                Ok(Ctl::Next)
            }
            Step::Turn(t) => self.turn(t, &at),
            Step::InjectedTurn(t) => self.injected_turn(t, &at),
            Step::Tool(t) => self.tool(t, &at),
            Step::Handlers(h) => {
                self.handlers.extend(h.clone());
                Ok(Ctl::Next)
            }
            Step::Set(vars) => {
                let ctx = self.vars_json();
                for (k, v) in vars {
                    let v = template::render(v, &ctx)
                        .map_err(|e| Stop::Failed(format!("{at}: {e}")))?;
                    self.vars.insert(k.clone(), v);
                }
                Ok(Ctl::Next)
            }
            Step::Note(text) => {
                self.tr.record(Event::Note { text: text.clone() });
                Ok(Ctl::Next)
            }
            Step::Fail(why) => {
                let why = match template::render_str(why, &self.vars_json()) {
                    Ok(Value::String(text)) => text,
                    Ok(other) => other.to_string(),
                    Err(e) => return Err(Stop::Failed(format!("{at}: {e}"))),
                };
                self.step_record(&at, "fail", "failed", Some(why.clone()));
                Err(Stop::Failed(format!("{at}: {why}")))
            }
        }
    }

    fn emit(&mut self, e: &Emit, at: &str) -> Result<(), Stop> {
        let msg = self.build(e, at)?;
        let mut bytes = serde_json::to_vec(&msg).map_err(|err| Stop::Failed(err.to_string()))?;
        if (e.truncate_at.is_some() || e.newline == Some(false))
            && self.framing.output == OutputFormat::StreamJson
        {
            // A line cut short or left open is raw bytes on the pipe: recorded as such, and
            // read by the judge as the supervisor could read it.
            match e.truncate_at {
                Some(n) => bytes.truncate(n),
                None => self.observe(&msg),
            }
            let cuts = cut_points(bytes.len(), e.split, e.split_at.as_deref());
            return self.write_split(&bytes, &cuts, e.pause, Vec::new(), at);
        }
        bytes.push(b'\n');
        let cuts = cut_points(bytes.len(), e.split, e.split_at.as_deref());
        if cuts.is_empty() || self.framing.output != OutputFormat::StreamJson {
            self.write_msgs(vec![msg], Some(at.to_string()))
        } else {
            self.write_split(&bytes, &cuts, e.pause, vec![msg], at)
        }
    }

    fn raw(&mut self, r: &Raw, at: &str) -> Result<(), Stop> {
        let one = match (&r.text, &r.hex) {
            (Some(t), _) => {
                let vars = self.vars_json();
                match template::render_str(t, &vars)
                    .map_err(|e| Stop::Failed(format!("{at}: {e}")))?
                {
                    Value::String(s) => s.into_bytes(),
                    other => other.to_string().into_bytes(),
                }
            }
            (None, Some(h)) => decode_hex(h).map_err(|e| Stop::Failed(format!("{at}: {e}")))?,
            (None, None) => Vec::new(),
        };
        let bytes = one.repeat(r.repeat.unwrap_or(1) as usize);
        if self.framing.output != OutputFormat::StreamJson {
            // Raw bytes are stream-json framing: print mode makes its own. The messages they
            // carry are what it prints from (lossily decoded, as the real CLI's JSON reader).
            let msgs: Vec<Value> = String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            return self.write_printed(msgs, Some(at.to_string()));
        }
        let cuts = cut_points(bytes.len(), r.split, r.split_at.as_deref());
        self.write_split(&bytes, &cuts, r.pause, Vec::new(), at)
    }

    fn stderr(&mut self, e: &StderrStep, at: &str) -> Result<(), Stop> {
        if let Some(t) = &e.text {
            let vars = self.vars_json();
            let mut text = match template::render_str(t, &vars)
                .map_err(|err| Stop::Failed(format!("{at}: {err}")))?
            {
                Value::String(s) => s,
                other => other.to_string(),
            };
            if !text.ends_with('\n') {
                text.push('\n');
            }
            // A closed stderr does not stop the script; it is recorded once, as the supervisor's
            // doing (its diagnostics are lost).
            match self.write_stderr(text.as_bytes()) {
                Some(blocked_us) => self.tr.record(Event::Stderr {
                    len: text.len() as u64,
                    text: Some(text),
                    flood: false,
                    blocked_us,
                }),
                None => return Ok(()),
            }
        }
        if let Some(total) = e.flood_bytes {
            let chunk = e.chunk.unwrap_or(8192).max(64) as usize;
            let line = "[DEBUG] mcp server foo: connection state unchanged; retrying handshake with backoff\n";
            let block: Vec<u8> = line.bytes().cycle().take(chunk).collect();
            let mut written = 0u64;
            let mut blocked = 0u64;
            while written < total {
                let n = (total - written).min(chunk as u64) as usize;
                match self.write_stderr(&block[..n]) {
                    Some(us) => blocked += us,
                    None => break,
                }
                written += n as u64;
            }
            self.tr.record(Event::Stderr {
                len: written,
                text: None,
                flood: true,
                blocked_us: blocked,
            });
        }
        Ok(())
    }

    /// One stderr write: its blocked time, or `None` when the supervisor has closed stderr
    /// (recorded as `stderr_closed` the first time).
    fn write_stderr(&mut self, bytes: &[u8]) -> Option<u64> {
        if self.stderr_closed {
            return None;
        }
        match self.err.write(bytes) {
            Ok(us) => Some(us),
            Err(closed) => {
                self.stderr_closed = true;
                self.tr.record(Event::StderrClosed {
                    blocked_us: closed.blocked_us,
                });
                None
            }
        }
    }

    fn burst(&mut self, b: &Burst, at: &str) -> Result<(), Stop> {
        let msg = match &b.message {
            Some(e) => self.build(e, at)?,
            None => build::burst_filler(&mut self.session, 4000),
        };
        let mut line = serde_json::to_vec(&msg).map_err(|e| Stop::Failed(e.to_string()))?;
        line.push(b'\n');
        let per_write = b.per_write.unwrap_or(1).max(1) as usize;
        let count = match (b.count, b.bytes) {
            (Some(c), _) => c,
            (None, Some(bytes)) => bytes.div_ceil(line.len() as u64),
            (None, None) => 0,
        };
        if self.framing.output != OutputFormat::StreamJson {
            // Print mode writes no conversation to stdout, so there is no burst to write.
            self.tr.record(Event::Note {
                text: format!(
                    "{at}: burst of {count} messages not written: print mode prints only results"
                ),
            });
            return Ok(());
        }
        let block = line.repeat(per_write);
        let mut sent = 0u64;
        let mut blocked = 0u64;
        let mut bytes = 0u64;
        while sent < count {
            let k = ((count - sent) as usize).min(per_write);
            let part = &block[..k * line.len()];
            blocked += self.out.write(part)?;
            sent += k as u64;
            bytes += part.len() as u64;
        }
        self.tr.record(Event::Stdout {
            len: bytes,
            msgs: None,
            text: None,
            b64: None,
            part: None,
            burst: Some(sent),
            blocked_us: blocked,
            by: Some(at.to_string()),
        });
        Ok(())
    }

    /// Take the first inbox message matching `pattern` (with `keep`, only look: it stays queued
    /// for a later step); with `strict`, the first message must match.
    fn take_match(
        &mut self,
        pattern: &Value,
        strict: bool,
        keep: bool,
    ) -> Result<Option<Value>, String> {
        for i in 0..self.inbox.len() {
            match matcher::matches(pattern, &self.inbox[i]) {
                Ok(()) if keep => return Ok(Some(self.inbox[i].clone())),
                Ok(()) => return Ok(self.inbox.remove(i)),
                Err(m) if strict => return Err(m.to_string()),
                Err(_) => {}
            }
        }
        Ok(None)
    }

    fn expect(&mut self, e: &Expect, at: &str) -> Flow {
        let vars = self.vars_json();
        let pattern = template::render(&e.pattern, &vars)
            .map_err(|err| Stop::Failed(format!("{at}: {err}")))?;
        let deadline = e.timeout.map(|t| Instant::now() + t.duration());
        match self.wait_for(&pattern, e.strict, e.keep, deadline)? {
            Waited::Got(msg) => {
                let caps = self.capture(&msg, &e.capture);
                self.tr.record(Event::Step {
                    at: at.to_string(),
                    step: "expect".into(),
                    outcome: "matched".into(),
                    detail: None,
                    captures: (!caps.is_empty()).then_some(caps),
                    response: None,
                });
                Ok(Ctl::Next)
            }
            Waited::Mismatch(why) => {
                self.step_record(at, "expect", "mismatched", Some(why.clone()));
                Err(Stop::Failed(format!(
                    "{at}: unexpected stdin message: {why}"
                )))
            }
            Waited::Eof => {
                self.step_record(at, "expect", "eof", None);
                self.on_miss(
                    e.on_eof.as_ref(),
                    at,
                    "stdin closed before a matching message arrived".into(),
                )
            }
            Waited::Timeout => {
                self.step_record(at, "expect", "timed_out", None);
                self.on_miss(
                    e.on_timeout.as_ref(),
                    at,
                    "no matching stdin message before the timeout".into(),
                )
            }
        }
    }

    fn wait_for(
        &mut self,
        pattern: &Value,
        strict: bool,
        keep: bool,
        deadline: Option<Instant>,
    ) -> Result<Waited, Stop> {
        loop {
            match self.take_match(pattern, strict, keep) {
                Ok(Some(m)) => return Ok(Waited::Got(m)),
                Err(why) => return Ok(Waited::Mismatch(why)),
                Ok(None) => {}
            }
            if self.input.eof {
                self.note_eof();
                return Ok(Waited::Eof);
            }
            match self.pump(deadline)? {
                Pumped::Timeout => return Ok(Waited::Timeout),
                Pumped::Eof | Pumped::Input => {}
            }
        }
    }

    /// Write a control request the script waits on and return its id. An answer already read
    /// (a supervisor that pre-answers, or a pre-fed stdin) counts too.
    fn send_request(&mut self, msg: Value, at: &str) -> Result<String, Stop> {
        let rid = msg
            .get("request_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.awaiting.insert(rid.clone(), None);
        self.write_msgs(vec![msg], Some(at.to_string()))?;
        if let Some(i) = self.inbox.iter().position(|m| {
            m.get("type").and_then(Value::as_str) == Some("control_response")
                && matcher::get_path(m, "response.request_id").and_then(Value::as_str)
                    == Some(rid.as_str())
        }) {
            let early = self.inbox.remove(i);
            self.awaiting.insert(rid.clone(), early);
        }
        Ok(rid)
    }

    fn request(&mut self, r: &Request, at: &str) -> Flow {
        let mut msg = build::control_request(&mut self.session, &r.spec());
        let vars = self.vars_json();
        msg = template::render(&msg, &vars).map_err(|e| Stop::Failed(format!("{at}: {e}")))?;
        let rid = self.send_request(msg, at)?;
        let deadline = r.timeout.map(|t| Instant::now() + t.duration());
        loop {
            if let Some(Some(resp)) = self.awaiting.get(&rid) {
                let resp = resp.clone();
                self.awaiting.remove(&rid);
                if let Some(p) = &r.expect_response {
                    let p = template::render(p, &self.vars_json())
                        .map_err(|e| Stop::Failed(format!("{at}: {e}")))?;
                    if let Err(m) = matcher::matches(&p, &resp) {
                        self.step_record(at, "request", "mismatched", Some(m.to_string()));
                        return Err(Stop::Failed(format!(
                            "{at}: the response to control request {rid} did not match: {m}"
                        )));
                    }
                }
                let caps = self.capture(&resp, &r.capture);
                self.vars.insert("response".into(), resp.clone());
                self.tr.record(Event::Step {
                    at: at.to_string(),
                    step: "request".into(),
                    outcome: "answered".into(),
                    detail: None,
                    captures: (!caps.is_empty()).then_some(caps),
                    response: Some(resp),
                });
                return Ok(Ctl::Next);
            }
            if self.input.eof {
                self.note_eof();
                self.awaiting.remove(&rid);
                self.step_record(at, "request", "eof", Some(format!("request_id {rid}")));
                return self.on_miss(
                    r.on_eof.as_ref(),
                    at,
                    format!("stdin closed before control request {rid} was answered"),
                );
            }
            if let Pumped::Timeout = self.pump(deadline)? {
                self.awaiting.remove(&rid);
                self.step_record(
                    at,
                    "request",
                    "timed_out",
                    Some(format!("request_id {rid}")),
                );
                return self.on_miss(
                    r.on_timeout.as_ref(),
                    at,
                    format!("control request {rid} was not answered in time"),
                );
            }
        }
    }

    fn holds(&self, c: &Condition) -> bool {
        let mut ok = true;
        if let Some(f) = &c.flag {
            ok &= match self.inv.flag(f) {
                None => false,
                Some(v) => c.value.as_ref().is_none_or(|want| *want == v),
            };
        }
        for (k, want) in &c.env {
            ok &= self
                .inv
                .env
                .get(k)
                .is_some_and(|v| want == "{...}" || v == want);
        }
        if let Some(p) = &c.profile {
            ok &= p
                .split(|ch: char| ch == ',' || ch.is_whitespace())
                .any(|v| v == self.session.profile.version());
        }
        if let Some(limit) = c.command_line_over {
            ok &= self.inv.command_line_len() as u64 > limit;
        }
        if let Some(limit) = c.argument_over {
            ok &= self.inv.argv.iter().any(|a| a.len() as u64 > limit);
        }
        if let Some(var) = &c.var {
            let vars = self.vars_json();
            let got = matcher::get_path(&vars, var);
            ok &= match &c.equals {
                None => got.is_some_and(|v| !v.is_null()),
                Some(want) => got.is_some_and(|g| matcher::matches(want, g).is_ok()),
            };
        }
        ok != c.not
    }

    fn turn(&mut self, t: &TurnStep, at: &str) -> Flow {
        let pattern = match &t.prompt {
            Some(p) => template::render(p, &self.vars_json())
                .map_err(|e| Stop::Failed(format!("{at}: {e}")))?,
            None => json!({"type": "user"}),
        };
        let deadline = t.timeout.map(|d| Instant::now() + d.duration());
        let prompt = match self.wait_for(&pattern, false, false, deadline)? {
            Waited::Got(m) => m,
            Waited::Mismatch(why) => return Err(Stop::Failed(format!("{at}: {why}"))),
            Waited::Eof => {
                self.step_record(at, "turn", "eof", None);
                self.owed_answers()?;
                let default = OnMiss::Exit(if self.last_result_is_error { 1 } else { 0 });
                return self.on_miss(
                    Some(t.on_eof.as_ref().unwrap_or(&default)),
                    at,
                    "stdin closed".into(),
                );
            }
            Waited::Timeout => {
                self.step_record(at, "turn", "timed_out", None);
                return self.on_miss(
                    t.on_timeout.as_ref(),
                    at,
                    "no prompt before the timeout".into(),
                );
            }
        };
        self.turns_begun += 1;
        let uuid = prompt
            .get("uuid")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.vars
            .insert("prompt_text".into(), json!(build::prompt_text(&prompt)));
        self.vars.insert("prompt_uuid".into(), json!(uuid));
        self.vars.insert("prompt".into(), prompt);
        self.vars.insert("turn".into(), json!(self.turns_begun));
        self.session.begin_turn(uuid.clone());
        self.step_record(at, "turn", "prompt", None);
        let new = self.session.profile.is_new();
        let mut pre = Vec::new();
        if self.session.reads_session_state {
            pre.push(self.session.session_state("running"));
        }
        if new && let Some(u) = &uuid {
            pre.push(self.session.command_lifecycle(u, "queued"));
            pre.push(self.session.command_lifecycle(u, "started"));
        }
        for m in pre {
            self.write_msgs(vec![m], Some(at.to_string()))?;
        }
        let init = self.session.init();
        self.write_msgs(vec![init], Some(at.to_string()))?;
        let reply = self.reply_text(t.reply.as_deref(), at)?;
        self.body(t.steps.as_deref(), &reply, at)?;
        let result = self.result_for(
            t.result.as_ref(),
            t.result_with.as_ref(),
            &t.result_without,
            at,
        )?;
        let mut post = Vec::new();
        if new && let Some(u) = &uuid {
            post.push(self.session.command_lifecycle(u, "completed"));
        }
        if self.session.reads_session_state && t.idle.unwrap_or(true) {
            post.push(self.session.session_state("idle"));
        }
        if t.after.is_empty() {
            for m in std::iter::once(result).chain(post) {
                self.write_msgs(vec![m], Some(at.to_string()))?;
            }
        } else {
            // One write: the result, its trailing frames and what follows it.
            let mut all = vec![result];
            all.extend(post);
            for e in &t.after {
                all.push(self.build(e, at)?);
            }
            self.write_msgs(all, Some(at.to_string()))?;
        }
        Ok(Ctl::Next)
    }

    fn injected_turn(&mut self, t: &InjectedTurn, at: &str) -> Flow {
        self.session.begin_turn(None);
        // The real CLI (2.1.330) announces `running` before an injected turn's init when the
        // session had gone idle; after a turn left running it does not.
        if self.session.reads_session_state && !self.session.is_running() {
            let running = self.session.session_state("running");
            self.write_msgs(vec![running], Some(at.to_string()))?;
        }
        let init = self.session.init();
        self.write_msgs(vec![init], Some(at.to_string()))?;
        let reply = match &t.reply {
            Some(r) => self.reply_text(Some(r), at)?,
            None => "The background task finished.".to_string(),
        };
        self.body(t.steps.as_deref(), &reply, at)?;
        let result = self.session.result(crate::profile::messages::ResultArgs {
            injected: true,
            ..Default::default()
        });
        self.write_msgs(vec![result], Some(at.to_string()))?;
        if self.session.reads_session_state && t.idle.unwrap_or(true) {
            let idle = self.session.session_state("idle");
            self.write_msgs(vec![idle], Some(at.to_string()))?;
        }
        Ok(Ctl::Next)
    }

    fn reply_text(&mut self, reply: Option<&str>, at: &str) -> Result<String, Stop> {
        match reply {
            None => Ok(format!("Reply to prompt {}.", self.turns_begun)),
            Some(r) => match template::render_str(r, &self.vars_json())
                .map_err(|e| Stop::Failed(format!("{at}: {e}")))?
            {
                Value::String(s) => Ok(s),
                other => Ok(other.to_string()),
            },
        }
    }

    /// A turn's body: the author's steps, or one assistant text block with the reply.
    fn body(&mut self, steps: Option<&[Spanned<Step>]>, reply: &str, at: &str) -> Result<(), Stop> {
        match steps {
            Some(steps) => {
                self.steps(steps)?;
            }
            None => {
                let m = self
                    .session
                    .assistant(crate::profile::messages::Session::text_block(reply), None);
                self.write_msgs(vec![m], Some(at.to_string()))?;
            }
        }
        Ok(())
    }

    /// The turn's result, with the author's overrides.
    fn result_for(
        &mut self,
        spec: Option<&ResultSpec>,
        with: Option<&Value>,
        without: &[String],
        at: &str,
    ) -> Result<Value, Stop> {
        let args = spec.map(build::result_args).unwrap_or_default();
        let msg = self.session.result(args);
        let vars = self.vars_json();
        build::finish(msg, with, without, &vars).map_err(|e| Stop::Failed(format!("{at}: {e}")))
    }
}

enum Waited {
    Got(Value),
    Mismatch(String),
    Eof,
    Timeout,
}

/// The hook callback ids an `initialize` request registers, by event:
/// `{"PreToolUse": ["hook_0", "hook_1"], "UserPromptSubmit": ["hook_2"]}` (matchers flattened, in
/// order). Scripts address them as `{{ hooks.PreToolUse.0 }}`.
fn registered_hooks(msg: &Value) -> Value {
    let mut by_event = Map::new();
    if let Some(hooks) = msg.pointer("/request/hooks").and_then(Value::as_object) {
        for (event, matchers) in hooks {
            let ids: Vec<Value> = matchers
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("hookCallbackIds").and_then(Value::as_array))
                .flatten()
                .filter(|id| id.is_string())
                .cloned()
                .collect();
            by_event.insert(event.clone(), Value::Array(ids));
        }
    }
    Value::Object(by_event)
}
