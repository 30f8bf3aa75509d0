//! A recorded [`Session`] → a replayable scenario (YAML text).
//!
//! The script replays the CLI's side in the recorded order, and waits for the supervisor's side
//! where it came: every line the supervisor wrote becomes an `expect` (so a replay checks that the
//! supervisor still sends it, and the CLI never answers before it was asked), every stdout line an
//! `emit: {json}` (or `raw` when it was not JSON), stderr a `stderr` step, the end an `exit`,
//! `kill`, or a `hang` that the supervisor's signal ends.
//!
//! Ids the supervisor made up (request ids, prompt uuids — random in every run) are wildcards in
//! the patterns; those the CLI echoes later are captured there and templated where they come
//! back (`request_id: "{{ initialize_request_id }}"`). Control requests the supervisor sent get
//! `handlers: {<subtype>: {script: true}}` so the recorded answers, not the profile's defaults,
//! answer them. `drive` comes from the prompts (text, overlap, mid-turn actions, a turn timeout
//! that fits), `expect.stdin` from the answers the supervisor gave to the CLI's own requests; turn
//! outcomes are left to the harness, which derives them from the results the script writes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::session::{Ended, Event, Session};
use crate::engine::process::signal_name;
use crate::profile::Profile;

/// How to write the scenario.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `name:` of the scenario.
    pub name: String,
    /// Where the session came from, for the description (`recorded from ...`).
    pub origin: String,
    pub sources: Vec<String>,
    /// Insert `sleep` steps where the CLI took a while (at least [`MIN_PAUSE_MS`]).
    pub pauses: bool,
    /// The schema modeline's path, if any.
    pub schema: Option<String>,
}

/// Gaps shorter than this are not worth a `sleep` step.
pub const MIN_PAUSE_MS: u64 = 10;
/// An `expect` waits at least this long for the supervisor's line.
const MIN_EXPECT_TIMEOUT_MS: u64 = 10_000;
/// Larger stderr text is replayed as a flood of filler plus its last part.
const MAX_STDERR_TEXT: usize = 64 << 10;
/// Runs of this many identical stdout lines become a `repeat`.
const MIN_REPEAT: usize = 3;

/// Control-request subtypes a harness plan can ask a supervisor to send mid-turn.
const ACTION_KINDS: &[&str] = &["interrupt", "set_permission_mode", "set_model", "stop_task"];

/// The scenario for `session`, as YAML text that loads with [`crate::scenario::load_str`].
pub fn scenario_yaml(session: &Session, opts: &Options) -> String {
    let d = Derivation::new(session);
    let mut out = String::new();
    if let Some(s) = &opts.schema {
        let _ = writeln!(out, "# yaml-language-server: $schema={s}");
    }
    let _ = writeln!(out, "name: {}", quote(&opts.name));
    let what = format!(
        "{}. {} line(s) from the supervisor, {} from the CLI{}.",
        opts.origin,
        d.inputs,
        d.outputs,
        match session.ended() {
            Some(Ended::Code(c)) => format!(", exit {c}"),
            Some(Ended::Signal(s)) => format!(", killed by {}", signal_name(s)),
            None => String::new(),
        }
    );
    let _ = writeln!(out, "description: {}", quote(&what));
    if !opts.sources.is_empty() {
        let s: Vec<String> = opts.sources.iter().map(|s| quote(s)).collect();
        let _ = writeln!(out, "sources: [{}]", s.join(", "));
    }
    if let Some(p) = d.profile {
        let _ = writeln!(out, "profile: \"{}\"", p.version());
    }
    let _ = writeln!(out, "tags: [recorded]");
    if !d.requires.is_empty() {
        let _ = writeln!(
            out,
            "# What a supervisor needs to replay the session as recorded."
        );
        let _ = writeln!(out, "requires: [{}]", d.requires.join(", "));
    }
    if let Some(w) = d.watchdog_s {
        let _ = writeln!(out, "watchdog: {w}s");
    }
    if let Some(p) = d.on_sigterm {
        let _ = writeln!(out, "on_sigterm: {p}");
    }
    if !d.script_subtypes.is_empty() {
        let _ = writeln!(
            out,
            "# The recorded answers to the supervisor's own control requests are in the script."
        );
        let _ = writeln!(out, "handlers:");
        for s in &d.script_subtypes {
            let _ = writeln!(out, "  {}: {{script: true}}", quote_key(s));
        }
    }
    write_drive(&mut out, &d);
    write_expect(&mut out, &d);
    let _ = writeln!(out, "script:");
    let steps = d.steps(session, opts.pauses);
    if steps.is_empty() {
        let _ = writeln!(out, "  []");
    }
    for s in &steps {
        s.write(&mut out, "  ");
    }
    out
}

fn write_drive(out: &mut String, d: &Derivation) {
    if d.prompts.is_empty() {
        return;
    }
    let _ = writeln!(out, "drive:");
    if d.prompts.len() > 1 {
        let _ = writeln!(out, "  mode: multi_turn");
    }
    if let Some(ms) = d.turn_timeout_ms {
        let _ = writeln!(out, "  turn_timeout: {}", millis(ms));
    }
    let _ = writeln!(out, "  turns:");
    for p in &d.prompts {
        let _ = writeln!(
            out,
            "    - prompt: {}",
            flow(&Value::String(p.text.clone()))
        );
        if p.overlap {
            let _ = writeln!(out, "      overlap: true");
        }
        if !p.actions.is_empty() {
            let _ = writeln!(out, "      actions:");
            for a in &p.actions {
                let _ = writeln!(out, "        - {}", flow(a));
            }
        }
    }
}

fn write_expect(out: &mut String, d: &Derivation) {
    let _ = writeln!(
        out,
        "# Turn outcomes are derived by the harness from the results the script writes."
    );
    if d.answers.is_empty() {
        return;
    }
    let _ = writeln!(out, "expect:");
    let _ = writeln!(out, "  stdin:");
    for (pattern, because) in &d.answers {
        let _ = writeln!(out, "    - match: {}", flow(pattern));
        let _ = writeln!(out, "      count: 1");
        let _ = writeln!(out, "      because: {}", quote(because));
    }
}

/// A prompt the supervisor sent, as the drive plan asks for it.
struct Prompt {
    text: String,
    overlap: bool,
    actions: Vec<Value>,
}

/// What the whole session says, before the script is written.
struct Derivation {
    profile: Option<Profile>,
    prompts: Vec<Prompt>,
    turn_timeout_ms: Option<u64>,
    watchdog_s: Option<u64>,
    on_sigterm: Option<&'static str>,
    /// Subtypes of the supervisor's control requests, answered by the script.
    script_subtypes: Vec<String>,
    /// The supervisor's answers to the CLI's requests: pattern, why.
    answers: Vec<(Value, String)>,
    /// For each string value: the last event index of an Out line holding it.
    last_out: HashMap<String, usize>,
    /// For each string value: the first event index of an Out line holding it.
    first_out: HashMap<String, usize>,
    /// The event index of the supervisor's first signal, when the replay ends there.
    stop_at_signal: Option<usize>,
    /// Prompts sent while the previous one was still unanswered (event index) → the event
    /// index of the result that answered the previous one: their `expect` goes after it, so a
    /// supervisor that holds such a prompt until the previous turn ends replays too.
    deferred: BTreeMap<usize, usize>,
    /// Event indexes of results no prompt was waiting for (injected turns, CLI 2.1.81 style).
    unsolicited: HashSet<usize>,
    /// Capabilities a supervisor needs to replay the session as recorded.
    requires: Vec<&'static str>,
    inputs: usize,
    outputs: usize,
}

fn parse(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

fn kind(v: &Value) -> (&str, &str) {
    let t = v.get("type").and_then(Value::as_str).unwrap_or("");
    let sub = if t == "control_request" {
        v.pointer("/request/subtype").and_then(Value::as_str)
    } else if t == "control_response" {
        v.pointer("/response/subtype").and_then(Value::as_str)
    } else {
        v.get("subtype").and_then(Value::as_str)
    };
    (t, sub.unwrap_or(""))
}

fn is_injected_result(v: &Value) -> bool {
    v.pointer("/origin/kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k != "human")
}

/// The text of a prompt: string content, or its text blocks joined.
pub fn prompt_text(v: &Value) -> String {
    match v.pointer("/message/content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Every string leaf of `v`.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Keys whose values are ids: made up per run by whoever sent them.
fn is_id_key(k: &str) -> bool {
    k == "id"
        || k.ends_with("_id")
        || k.ends_with("Id")
        || k.ends_with("ID")
        || k.to_ascii_lowercase().ends_with("uuid")
}

/// Whether an id-keyed value is a made-up id rather than a word: the SDKs send
/// `"session_id": "default"`, and templating every `"default"` the CLI writes later
/// (`permissionMode`, `output_style`, …) would turn them into the supervisor's session id.
fn looks_like_id(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit()) || s.len() >= 20
}

impl Derivation {
    fn new(session: &Session) -> Derivation {
        let mut last_out = HashMap::new();
        let mut first_out = HashMap::new();
        let mut profile = None;
        let (mut inputs, mut outputs) = (0, 0);
        for (i, e) in session.events.iter().enumerate() {
            match &e.event {
                Event::Out { bytes, .. } => {
                    outputs += 1;
                    let Some(v) = parse(bytes) else { continue };
                    if profile.is_none() && kind(&v) == ("system", "init") {
                        profile = v
                            .get("claude_code_version")
                            .and_then(Value::as_str)
                            .and_then(Profile::parse);
                    }
                    let mut s = Vec::new();
                    strings(&v, &mut s);
                    for s in s {
                        last_out.insert(s.to_string(), i);
                        first_out.entry(s.to_string()).or_insert(i);
                    }
                }
                Event::In { .. } => inputs += 1,
                _ => {}
            }
        }
        let mut d = Derivation {
            profile,
            prompts: Vec::new(),
            turn_timeout_ms: None,
            watchdog_s: None,
            on_sigterm: None,
            script_subtypes: Vec::new(),
            answers: Vec::new(),
            last_out,
            first_out,
            stop_at_signal: None,
            deferred: BTreeMap::new(),
            unsolicited: HashSet::new(),
            requires: Vec::new(),
            inputs,
            outputs,
        };
        d.read_supervisor(session);
        d.read_ending(session);
        d
    }

    /// Prompts, their overlap and actions, the turn timeout, script-answered subtypes, answers.
    fn read_supervisor(&mut self, session: &Session) {
        let mut sent_at: Vec<f64> = Vec::new();
        let mut pending: std::collections::VecDeque<usize> = Default::default();
        // Event index of each prompt, and of the result that answered it.
        let mut prompt_event: Vec<usize> = Vec::new();
        let mut answered_at: HashMap<usize, usize> = HashMap::new();
        let mut longest_ms = 0u64;
        let mut cli_requests: HashSet<String> = HashSet::new();
        let mut needs: std::collections::BTreeSet<&'static str> = Default::default();
        let mut subtypes: Vec<String> = Vec::new();
        for (i, e) in session.events.iter().enumerate() {
            match &e.event {
                Event::In { bytes, .. } => {
                    let Some(v) = parse(bytes) else { continue };
                    match kind(&v) {
                        ("user", _) => {
                            let overlap = !pending.is_empty();
                            pending.push_back(self.prompts.len());
                            sent_at.push(e.t);
                            prompt_event.push(i);
                            self.prompts.push(Prompt {
                                text: prompt_text(&v),
                                overlap,
                                actions: Vec::new(),
                            });
                        }
                        ("control_request", sub) => {
                            if !subtypes.iter().any(|s| s == sub) {
                                subtypes.push(sub.to_string());
                            }
                            if ACTION_KINDS.contains(&sub)
                                && let (Some(last), Some(at)) =
                                    (self.prompts.last_mut(), sent_at.last())
                            {
                                let mut a = Map::new();
                                a.insert("kind".into(), Value::String(sub.into()));
                                a.insert("after".into(), Value::String(millis(ms(e.t - at))));
                                for k in ["mode", "model", "task_id"] {
                                    if let Some(x) = v.pointer(&format!("/request/{k}")) {
                                        a.insert(k.into(), x.clone());
                                    }
                                }
                                last.actions.push(Value::Object(a));
                            }
                        }
                        ("control_response", _) => {
                            let rid = v
                                .pointer("/response/request_id")
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            if cli_requests.remove(rid) {
                                let pattern = self.pattern(&v, i, &mut Vec::new());
                                let because = format!(
                                    "the CLI's control request {rid} was answered once, as recorded"
                                );
                                self.answers.push((pattern, because));
                            }
                        }
                        _ => {}
                    }
                }
                Event::Out { bytes, .. } => {
                    let Some(v) = parse(bytes) else { continue };
                    match kind(&v) {
                        ("result", _) if !is_injected_result(&v) => {
                            if let Some(p) = pending.pop_front() {
                                longest_ms = longest_ms.max(ms(e.t - sent_at[p]));
                                answered_at.insert(p, i);
                            } else {
                                self.unsolicited.insert(i);
                            }
                        }
                        ("control_request", sub) => {
                            if let Some(r) = v.get("request_id").and_then(Value::as_str) {
                                cli_requests.insert(r.to_string());
                            }
                            if sub == "can_use_tool" {
                                needs.insert("permission-prompts");
                            }
                        }
                        ("system", "task_started") => {
                            needs.insert("background-aware");
                        }
                        _ => {}
                    }
                }
                Event::InEof | Event::Signal { .. } => {
                    // A prompt still waiting when the supervisor gave up: the plan's turn
                    // timeout makes a replaying supervisor give up at the same point.
                    if let Some(&p) = pending.front() {
                        let waited = ms(e.t - sent_at[p]).div_ceil(100) * 100;
                        self.turn_timeout_ms =
                            Some(self.turn_timeout_ms.unwrap_or(0).max(waited.max(500)));
                        pending.clear();
                    }
                }
                _ => {}
            }
        }
        if longest_ms * 2 > self.turn_timeout_ms.unwrap_or(10_000) {
            self.turn_timeout_ms = Some((longest_ms * 2).div_ceil(1000) * 1000);
        }
        for (k, p) in self.prompts.iter().enumerate().skip(1) {
            if p.overlap
                && let Some(&r) = answered_at.get(&(k - 1))
            {
                self.deferred.insert(prompt_event[k], r);
            }
        }
        self.script_subtypes = subtypes.into_iter().filter(|s| !s.is_empty()).collect();
        if self.prompts.len() > 1 {
            needs.insert("multi-turn");
        }
        self.requires = needs.into_iter().collect();
        let duration = session.events.last().map_or(0.0, |e| e.t);
        if duration > 45.0 {
            self.watchdog_s = Some((duration * 2.0).ceil() as u64);
        }
    }

    /// Whether the replay ends at the supervisor's signal, and what SIGTERM does then.
    fn read_ending(&mut self, session: &Session) {
        let Some((i, sig)) = session
            .events
            .iter()
            .enumerate()
            .find_map(|(i, e)| match e.event {
                Event::Signal { signal } => Some((i, signal)),
                _ => None,
            })
        else {
            return;
        };
        let term = sig == signal_hook::consts::SIGTERM;
        match (session.ended(), term) {
            // The fake's SIGTERM answer by default: exit 143.
            (Some(Ended::Code(143)), true) => self.stop_at_signal = Some(i),
            (Some(Ended::Signal(s)), true) if s == sig => {
                self.on_sigterm = Some("default");
                self.stop_at_signal = Some(i);
            }
            // Went on after SIGTERM: the fake ignores it too and the script goes on.
            (_, true) => self.on_sigterm = Some("ignore"),
            // Other signals kill the fake by their default action.
            (Some(Ended::Signal(s)), false) if s == sig => self.stop_at_signal = Some(i),
            _ => {}
        }
    }

    /// A pattern for the supervisor's message `v` (event `i`): ids it made up become `"{...}"`,
    /// and those the CLI echoes later are captured (pushed to `captures` as name, path).
    fn pattern(&self, v: &Value, i: usize, captures: &mut Vec<(String, String, String)>) -> Value {
        self.pattern_at(v, i, "", None, captures)
    }

    fn pattern_at(
        &self,
        v: &Value,
        i: usize,
        path: &str,
        key: Option<&str>,
        captures: &mut Vec<(String, String, String)>,
    ) -> Value {
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        match v {
            Value::Object(o) => {
                let mut m = Map::new();
                for (k, x) in o {
                    // Keys are matched literally; ones the matcher would misread are left out.
                    if k.contains("[..]") || k == "{...}" || k == "{absent}" || k.contains('.') {
                        continue;
                    }
                    m.insert(
                        k.clone(),
                        self.pattern_at(x, i, &join(k), Some(k), captures),
                    );
                }
                Value::Object(m)
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(n, x)| self.pattern_at(x, i, &join(&n.to_string()), key, captures))
                    .collect(),
            ),
            Value::String(s) => {
                let made_up_here = key.is_some_and(is_id_key)
                    && !s.is_empty()
                    && self.first_out.get(s).is_none_or(|&first| first > i);
                if made_up_here {
                    if looks_like_id(s) && self.last_out.get(s).is_some_and(|&last| last > i) {
                        captures.push((s.clone(), path.to_string(), key.unwrap_or("id").into()));
                    }
                    return Value::String("{...}".into());
                }
                // Literal text the matcher or the templates would misread.
                if s.contains("{{") || s == "..." || s == "{absent}" {
                    return Value::String("{...}".into());
                }
                Value::String(s.clone())
            }
            other => other.clone(),
        }
    }

    fn steps(&self, session: &Session, pauses: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        let mut st = Captures::default();
        let mut prev_t = 0.0;
        let events = &session.events;
        let end = self.stop_at_signal.unwrap_or(events.len());
        let mut i = 0;
        while i < end {
            let e = &events[i];
            let gap = ms(e.t - prev_t);
            prev_t = e.t;
            match &e.event {
                Event::In { .. } if self.deferred.contains_key(&i) => {}
                Event::In { .. } => self.expect_step(session, i, &mut st, &mut steps),
                Event::InEof => {
                    steps.push(Step::Comment(format!(
                        "{}: the supervisor closed stdin",
                        secs(e.t)
                    )));
                    let wait = ms(e.t - events[..i].last().map_or(0.0, |p| p.t));
                    steps.push(Step::WaitEof {
                        timeout_ms: (wait * 3).max(MIN_EXPECT_TIMEOUT_MS),
                    });
                }
                Event::Out { bytes, terminated } => {
                    if pauses && gap >= MIN_PAUSE_MS {
                        steps.push(Step::Sleep(gap));
                    }
                    // Identical lines in a row (a burst): one step, repeated.
                    let mut n = 1;
                    while i + n < end
                        && events[i + n].event == e.event
                        && (!pauses || ms(events[i + n].t - events[i + n - 1].t) < MIN_PAUSE_MS)
                    {
                        n += 1;
                    }
                    let mut step = self.out_step(bytes, *terminated, &st.vars);
                    if self.unsolicited.contains(&i)
                        && let Step::Emit(v, injected) = &mut step
                        && !is_injected_result(v)
                    {
                        *injected = true;
                    }
                    steps.push(Step::Comment(format!(
                        "{}: CLI → supervisor: {}",
                        secs(e.t),
                        step.summary()
                    )));
                    let n = if n >= MIN_REPEAT { n } else { 1 };
                    steps.push(if n > 1 {
                        Step::Repeat(n, Box::new(step))
                    } else {
                        step
                    });
                    for (&prompt, _) in self.deferred.iter().filter(|(_, r)| (i..i + n).contains(r))
                    {
                        self.expect_step(session, prompt, &mut st, &mut steps);
                    }
                    i += n;
                    prev_t = events[i - 1].t;
                    continue;
                }
                Event::Err { .. } => {
                    if pauses && gap >= MIN_PAUSE_MS {
                        steps.push(Step::Sleep(gap));
                    }
                    let mut text = String::new();
                    while i < end {
                        match &events[i].event {
                            Event::Err { text: t } => text.push_str(t),
                            _ => break,
                        }
                        i += 1;
                    }
                    prev_t = events[i - 1].t;
                    steps.push(Step::Comment(format!("{}: CLI → stderr", secs(e.t))));
                    if text.len() > MAX_STDERR_TEXT {
                        let mut cut = text.len() - 4096;
                        while !text.is_char_boundary(cut) {
                            cut += 1;
                        }
                        steps.push(Step::StderrFlood(cut as u64));
                        text = text[cut..].to_string();
                    }
                    steps.push(Step::Stderr(text.replace("{{", "{ {")));
                    continue;
                }
                Event::Signal { signal } => steps.push(Step::Comment(format!(
                    "{}: the supervisor sent {} (the CLI went on)",
                    secs(e.t),
                    signal_name(*signal)
                ))),
                Event::Exit(_) => {}
            }
            i += 1;
        }
        if let Some(s) = self.stop_at_signal {
            let e = &events[s];
            let dropped = events[s..]
                .iter()
                .filter(|e| matches!(e.event, Event::Out { .. }))
                .count();
            let sig = match e.event {
                Event::Signal { signal } => signal_name(signal),
                _ => "?".into(),
            };
            steps.push(Step::Comment(format!(
                "{}: the supervisor sent {sig}; the CLI {}{}",
                secs(e.t),
                match session.ended() {
                    Some(Ended::Code(c)) => format!("exited {c}"),
                    Some(Ended::Signal(s)) => format!("died by {}", signal_name(s)),
                    None => "ended".into(),
                },
                if dropped > 0 {
                    format!(" ({dropped} more stdout line(s) after the signal are not replayed)")
                } else {
                    String::new()
                }
            )));
            steps.push(Step::Hang);
            return steps;
        }
        match session.ended() {
            Some(Ended::Code(c)) => steps.push(Step::Exit(c)),
            Some(Ended::Signal(s)) => steps.push(Step::Kill(signal_name(s))),
            None => {}
        }
        steps
    }

    /// The `expect` for the supervisor's line at event `i` (or a comment when it is not one
    /// to wait for), capturing the ids the CLI echoes later.
    fn expect_step(&self, session: &Session, i: usize, st: &mut Captures, steps: &mut Vec<Step>) {
        let events = &session.events;
        let e = &events[i];
        let Event::In { bytes, .. } = &e.event else {
            return;
        };
        let Some(v) = parse(bytes).filter(|v| kind(v).0 != "keep_alive") else {
            // Not JSON, or a keep_alive (how many depends on timing): not expected.
            steps.push(Step::Comment(format!(
                "{}: the supervisor wrote (not expected): {}",
                secs(e.t),
                clip(&String::from_utf8_lossy(bytes), 60)
            )));
            return;
        };
        let mut caps = Vec::new();
        let pattern = self.pattern(&v, i, &mut caps);
        let (t, sub) = kind(&v);
        let what = match t {
            "user" => {
                st.prompt_no += 1;
                format!("prompt {}", st.prompt_no)
            }
            _ if sub.is_empty() => t.to_string(),
            _ => format!("{t} {sub}"),
        };
        let mut capture = Vec::new();
        for (value, path, key) in caps {
            if st.vars.contains_key(&value) {
                continue;
            }
            let base = match (t, key.as_str()) {
                ("user", "uuid") => format!("prompt{}_uuid", st.prompt_no),
                ("control_request", "request_id") => format!("{sub}_request_id"),
                _ => key.clone(),
            };
            let name = unique(&var_name(&base), &mut st.names);
            st.vars.insert(value, name.clone());
            capture.push((name, path));
        }
        let wait = events[..i]
            .iter()
            .rev()
            .find(|p| matches!(p.event, Event::Out { .. }))
            .map_or(0, |p| ms(e.t - p.t));
        let late = if self.deferred.contains_key(&i) {
            " (sent while the previous turn ran; a supervisor may also hold it until now)"
        } else {
            ""
        };
        steps.push(Step::Comment(format!(
            "{}: supervisor → CLI: {what}{late}",
            secs(e.t)
        )));
        steps.push(Step::Expect {
            pattern,
            capture,
            timeout_ms: (wait * 3).max(MIN_EXPECT_TIMEOUT_MS),
        });
    }

    fn out_step(&self, bytes: &[u8], terminated: bool, vars: &BTreeMap<String, String>) -> Step {
        if terminated && let Some(v) = parse(bytes) {
            let mut literal_braces = false;
            let v = template_ids(&v, vars, &mut literal_braces);
            if !literal_braces {
                return Step::Emit(v, false);
            }
        }
        let mut b = bytes.to_vec();
        if terminated {
            b.push(b'\n');
        }
        match String::from_utf8(b) {
            Ok(s) if !s.contains("{{") => Step::RawText(s),
            Ok(s) => Step::RawHex(s.into_bytes()),
            Err(e) => Step::RawHex(e.into_bytes()),
        }
    }
}

/// Ids captured so far (value → variable name), the names taken, prompts seen.
#[derive(Default)]
struct Captures {
    vars: BTreeMap<String, String>,
    names: HashSet<String>,
    prompt_no: usize,
}

/// Strings equal to a captured value become its placeholder; `braces` is set when some other
/// string holds a literal `{{` (which a template would misread).
fn template_ids(v: &Value, vars: &BTreeMap<String, String>, braces: &mut bool) -> Value {
    match v {
        Value::String(s) => match vars.get(s) {
            Some(name) => Value::String(format!("{{{{ {name} }}}}")),
            None => {
                *braces |= s.contains("{{");
                v.clone()
            }
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| template_ids(x, vars, braces)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), template_ids(x, vars, braces)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn var_name(s: &str) -> String {
    let mut n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() || n.starts_with(|c: char| c.is_ascii_digit()) {
        n.insert(0, 'v');
    }
    n
}

fn unique(base: &str, names: &mut HashSet<String>) -> String {
    let mut name = base.to_string();
    let mut k = 1;
    while crate::scenario::load::BUILTIN_VARS.contains(&name.as_str()) || names.contains(&name) {
        k += 1;
        name = format!("{base}_{k}");
    }
    names.insert(name.clone());
    name
}

fn ms(secs: f64) -> u64 {
    (secs.max(0.0) * 1000.0).round() as u64
}

fn millis(ms: u64) -> String {
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn secs(t: f64) -> String {
    format!("{t:.3}s")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// A script step to write.
enum Step {
    Comment(String),
    Expect {
        pattern: Value,
        capture: Vec<(String, String)>,
        timeout_ms: u64,
    },
    /// The message, and whether it is an injected turn's result the harness cannot tell by
    /// its `origin`.
    Emit(Value, bool),
    RawText(String),
    RawHex(Vec<u8>),
    Stderr(String),
    StderrFlood(u64),
    Sleep(u64),
    WaitEof {
        timeout_ms: u64,
    },
    Repeat(usize, Box<Step>),
    Hang,
    Exit(i32),
    Kill(String),
}

impl Step {
    fn summary(&self) -> String {
        match self {
            Step::Emit(v, _) => {
                let (t, sub) = kind(v);
                if sub.is_empty() {
                    t.to_string()
                } else {
                    format!("{t} {sub}")
                }
            }
            Step::RawText(_) | Step::RawHex(_) => "raw bytes (not a JSON line)".into(),
            _ => String::new(),
        }
    }

    fn write(&self, out: &mut String, indent: &str) {
        let _ = match self {
            Step::Comment(c) => writeln!(out, "{indent}# {}", c.replace('\n', " ")),
            Step::Expect {
                pattern,
                capture,
                timeout_ms,
            } => {
                let mut s = format!("{{match: {}", flow(pattern));
                if !capture.is_empty() {
                    let c: Vec<String> = capture
                        .iter()
                        .map(|(n, p)| format!("{n}: {}", quote(p)))
                        .collect();
                    let _ = write!(s, ", capture: {{{}}}", c.join(", "));
                }
                let _ = write!(s, ", timeout: {}}}", millis(*timeout_ms));
                writeln!(out, "{indent}- expect: {s}")
            }
            Step::Emit(v, false) => writeln!(out, "{indent}- emit: {{json: {}}}", flow(v)),
            Step::Emit(v, true) => {
                writeln!(out, "{indent}- emit: {{injected: true, json: {}}}", flow(v))
            }
            Step::RawText(s) => writeln!(
                out,
                "{indent}- raw: {{text: {}}}",
                flow(&Value::String(s.clone()))
            ),
            Step::RawHex(b) => {
                let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
                writeln!(out, "{indent}- raw: {{hex: \"{}\"}}", hex.join(" "))
            }
            Step::Stderr(t) => writeln!(
                out,
                "{indent}- stderr: {{text: {}}}",
                flow(&Value::String(t.clone()))
            ),
            Step::StderrFlood(n) => writeln!(out, "{indent}- stderr: {{flood_bytes: {n}}}"),
            Step::Sleep(ms) => writeln!(out, "{indent}- sleep: {}", millis(*ms)),
            Step::WaitEof { timeout_ms } => {
                writeln!(
                    out,
                    "{indent}- wait_eof: {{timeout: {}}}",
                    millis(*timeout_ms)
                )
            }
            Step::Repeat(n, step) => {
                let _ = writeln!(out, "{indent}- repeat:");
                let _ = writeln!(out, "{indent}    times: {n}");
                let _ = writeln!(out, "{indent}    steps:");
                step.write(out, &format!("{indent}      "));
                Ok(())
            }
            Step::Hang => writeln!(out, "{indent}- hang: {{}}"),
            Step::Exit(c) => writeln!(out, "{indent}- exit: {c}"),
            Step::Kill(s) => writeln!(out, "{indent}- kill: {s}"),
        };
    }
}

/// A YAML double-quoted scalar (JSON string syntax, which YAML reads the same).
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn quote_key(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        s.to_string()
    } else {
        quote(s)
    }
}

/// A JSON value as a one-line YAML flow node: JSON with a space after `:` and `,`, which every
/// YAML 1.2 reader takes as the same value.
pub fn flow(v: &Value) -> String {
    let mut s = String::new();
    flow_into(v, &mut s);
    s
}

fn flow_into(v: &Value, s: &mut String) {
    match v {
        Value::Object(o) => {
            s.push('{');
            for (n, (k, x)) in o.iter().enumerate() {
                if n > 0 {
                    s.push_str(", ");
                }
                s.push_str(&quote(k));
                s.push_str(": ");
                flow_into(x, s);
            }
            s.push('}');
        }
        Value::Array(a) => {
            s.push('[');
            for (n, x) in a.iter().enumerate() {
                if n > 0 {
                    s.push_str(", ");
                }
                flow_into(x, s);
            }
            s.push(']');
        }
        Value::String(x) => s.push_str(&quote(x)),
        other => s.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Step as S;
    use serde_json::json;

    fn line(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn session() -> Session {
        let mut s = Session::default();
        let out = |v: Value| Event::Out {
            bytes: line(v),
            terminated: true,
        };
        let inp = |v: Value| Event::In {
            bytes: line(v),
            terminated: true,
        };
        s.push(
            0.001,
            inp(json!({"type": "control_request", "request_id": "req_1_abc",
                                 "request": {"subtype": "initialize", "hooks": null}})),
        );
        s.push(
            0.2,
            out(
                json!({"type": "control_response", "response": {"subtype": "success",
                               "request_id": "req_1_abc", "response": {"commands": []}}}),
            ),
        );
        s.push(
            0.3,
            inp(json!({"type": "user", "uuid": "u-1",
                               "message": {"role": "user", "content": "hi {{ not a template }}"}})),
        );
        s.push(
            0.301,
            out(json!({"type": "system", "subtype": "init",
                                 "claude_code_version": "2.1.81", "session_id": "s-1",
                                 "uuid": "u-1"})),
        );
        s.push(
            0.302,
            out(json!({"type": "control_request", "request_id": "perm-1",
                                 "request": {"subtype": "can_use_tool", "tool_name": "Bash"}})),
        );
        s.push(
            0.303,
            inp(
                json!({"type": "control_response", "response": {"subtype": "success",
                                 "request_id": "perm-1", "response": {"behavior": "allow"}}}),
            ),
        );
        for k in 0..4 {
            s.push(
                0.304 + f64::from(k) / 10_000.0,
                out(json!({"type": "keep_alive"})),
            );
        }
        s.push(
            0.5,
            out(
                json!({"type": "result", "subtype": "success", "is_error": false,
                               "result": "literal {{ x }}"}),
            ),
        );
        s.push(
            0.6,
            Event::Err {
                text: "warn\n".into(),
            },
        );
        s.push(
            0.601,
            Event::Out {
                bytes: b"not json".to_vec(),
                terminated: true,
            },
        );
        s.push(0.7, Event::InEof);
        s.push(0.8, Event::Exit(Ended::Code(0)));
        s.argv = vec!["--output-format".into(), "stream-json".into()];
        s
    }

    #[test]
    fn a_session_becomes_a_scenario_that_loads() {
        let opts = Options {
            name: "rec".into(),
            origin: "recorded".into(),
            pauses: true,
            ..Options::default()
        };
        let yaml = scenario_yaml(&session(), &opts);
        let loaded =
            crate::scenario::load_str(&yaml, "rec.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        let s = &loaded.scenario;
        assert_eq!(s.profile.as_deref(), Some("2.1.81"));
        assert!(
            s.handlers.get("initialize").is_some_and(|h| h.script),
            "{yaml}"
        );
        assert_eq!(s.drive.turns.len(), 1);
        assert_eq!(s.drive.turns[0].prompt, "hi {{ not a template }}");
        assert_eq!(s.expect.stdin.len(), 1, "{yaml}");
        // The initialize id is captured and templated back; the prompt uuid too.
        assert!(
            yaml.contains("capture: {initialize_request_id: \"request_id\"}"),
            "{yaml}"
        );
        assert!(
            yaml.contains("\"request_id\": \"{{ initialize_request_id }}\""),
            "{yaml}"
        );
        assert!(yaml.contains("capture: {prompt1_uuid: \"uuid\"}"), "{yaml}");
        // The CLI's own request id stays literal in the supervisor's answer.
        assert!(yaml.contains("\"request_id\": \"perm-1\""), "{yaml}");
        let kinds: Vec<&str> = s
            .script
            .iter()
            .map(|st| match &st.value {
                S::Expect(_) => "expect",
                S::Emit(_) => "emit",
                S::Raw(_) => "raw",
                S::Repeat(_) => "repeat",
                S::Stderr(_) => "stderr",
                S::Sleep(_) => "sleep",
                S::WaitEof(_) => "wait_eof",
                S::Exit(_) => "exit",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "expect", "sleep", "emit", "expect", "emit", "emit", "expect", "repeat", "sleep",
                "raw", "sleep", "stderr", "raw", "wait_eof", "exit"
            ],
            "{yaml}"
        );
        assert!(yaml.contains("\"uuid\": \"{{ prompt1_uuid }}\""), "{yaml}");
    }

    #[test]
    fn flow_is_the_same_value_in_yaml() {
        let v = json!({"a: b": "x, y", "n": [1, 2.5, -3e-7, null, true], "s": "tab\t\"q\" \u{1b} é #c",
                       "o": {}, "e": [], "k": "{...}"});
        let back: Value = serde_saphyr::from_str(&flow(&v)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn sigterm_ends_the_replay_in_a_hang() {
        let mut s = Session::default();
        s.push(
            0.1,
            Event::In {
                bytes: line(json!({"type": "user", "message": {"content": "slow"}})),
                terminated: true,
            },
        );
        s.push(
            0.2,
            Event::Out {
                bytes: line(json!({"type": "system", "subtype": "init"})),
                terminated: true,
            },
        );
        s.push(2.2, Event::Signal { signal: 15 });
        s.push(
            2.3,
            Event::Out {
                bytes: line(json!({"type": "keep_alive"})),
                terminated: true,
            },
        );
        s.push(2.5, Event::Exit(Ended::Code(143)));
        let yaml = scenario_yaml(
            &s,
            &Options {
                name: "t".into(),
                ..Options::default()
            },
        );
        let loaded =
            crate::scenario::load_str(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        assert!(
            matches!(loaded.scenario.script.last().unwrap().value, S::Hang(_)),
            "{yaml}"
        );
        assert_eq!(
            loaded.scenario.drive.turn_timeout.map(|m| m.0),
            Some(2100),
            "{yaml}"
        );
        assert!(
            yaml.contains("1 more stdout line(s) after the signal"),
            "{yaml}"
        );
    }

    #[test]
    fn a_word_in_an_id_field_is_not_a_made_up_id() {
        // Found recording the real CLI 2.1.332: SDKs send `"session_id": "default"`, and the CLI
        // writes `"permissionMode": "default"` later; only real ids are captured and templated.
        let mut s = Session::default();
        s.push(
            0.1,
            Event::In {
                bytes: line(json!({"type": "user", "session_id": "default",
                                   "message": {"role": "user", "content": "hi"}})),
                terminated: true,
            },
        );
        s.push(
            0.2,
            Event::Out {
                bytes: line(json!({"type": "system", "subtype": "init",
                                   "permissionMode": "default", "output_style": "default"})),
                terminated: true,
            },
        );
        s.push(0.3, Event::InEof);
        s.push(0.4, Event::Exit(Ended::Code(0)));
        let yaml = scenario_yaml(
            &s,
            &Options {
                name: "t".into(),
                ..Options::default()
            },
        );
        crate::scenario::load_str(&yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        assert!(!yaml.contains("capture"), "{yaml}");
        assert!(yaml.contains(r#""permissionMode": "default""#), "{yaml}");
        // The supervisor's value is still not matched literally.
        assert!(yaml.contains(r#""session_id": "{...}""#), "{yaml}");
    }
}
