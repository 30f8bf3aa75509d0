//! Loading a scenario: YAML → [`Scenario`] (serde-saphyr, which renders syntax and type errors
//! with a snippet), then our own checks, which need the whole scenario: one message kind per
//! `emit`, well-formed patterns, known signals, templates that only use variables defined by an
//! earlier step. Every problem is reported as `file:line:column` plus what was expected; a bad
//! scenario never starts a run.

use std::collections::BTreeSet;
use std::path::Path;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::model::*;
use crate::profile::Profile;
use crate::{matcher, template};

/// A scenario with where it came from, so later errors can point into the file.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    /// The path as given (or `<embedded default>`).
    pub source: String,
}

impl Loaded {
    pub fn location<T>(&self, s: &Spanned<T>) -> String {
        format!(
            "{}:{}:{}",
            self.source,
            s.referenced.line(),
            s.referenced.column()
        )
    }

    pub fn profile(&self) -> Profile {
        self.scenario
            .profile
            .as_deref()
            .and_then(Profile::parse)
            .unwrap_or(Profile::DEFAULT)
    }
}

/// A scenario that cannot run, with a rendered, human-readable explanation.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        message: format!("error: cannot read scenario {}: {e}", path.display()),
    })?;
    load_str(&text, &path.display().to_string())
}

pub fn load_str(text: &str, source: &str) -> Result<Loaded, LoadError> {
    let scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| LoadError {
        message: render_yaml_error(&e, text, source),
    })?;
    let loaded = Loaded {
        scenario,
        source: source.to_string(),
    };
    let problems: Vec<Problem> = check(&loaded)
        .into_iter()
        .map(|p| locate_top_level(p, text))
        .collect();
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(LoadError {
            message: problems
                .iter()
                .map(|p| render_problem(p, text, source))
                .collect::<Vec<_>>()
                .join("\n"),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// rendering

fn render_yaml_error(e: &serde_saphyr::Error, text: &str, source: &str) -> String {
    let raw = e.to_string();
    let hint = did_you_mean(&raw);
    let (line, col) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let first = raw.lines().next().unwrap_or("invalid scenario").to_string();
    let message = first
        .trim_start_matches("error: ")
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(first);
    let p = Problem {
        line,
        column: col,
        message: format!("{message}{hint}"),
    };
    render_problem(&p, text, source)
}

/// One problem found by our checks.
#[derive(Debug, Clone)]
pub struct Problem {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

fn render_problem(p: &Problem, text: &str, source: &str) -> String {
    render_diagnostic(false, p, text, source)
}

/// `error: file:line:col: message` (or `warning: ...`) with the line of `text` it points at.
pub fn render_diagnostic(warning: bool, p: &Problem, text: &str, source: &str) -> String {
    let head = format!("{source}:{}:{}: {}", p.line, p.column, p.message);
    let level = if warning {
        Level::WARNING
    } else {
        Level::ERROR
    };
    let Some(offset) = byte_offset(text, p.line, p.column) else {
        let word = if warning { "warning" } else { "error" };
        return format!("{word}: {head}\n");
    };
    let end = text[offset..]
        .find('\n')
        .map(|n| offset + n.max(1))
        .unwrap_or(text.len())
        .max(offset);
    let report = &[level.primary_title(&head).element(
        Snippet::source(text)
            .path(source)
            .line_start(1)
            .annotation(AnnotationKind::Primary.span(offset..end.min(text.len()))),
    )];
    Renderer::plain().render(report).to_string() + "\n"
}

/// Whole-scenario checks (profile, handlers, expect.stdin) have no span and report 1:1; point
/// them at their top-level key's value instead.
fn locate_top_level(mut p: Problem, text: &str) -> Problem {
    if (p.line, p.column) != (1, 1) {
        return p;
    }
    let key = if p.message.starts_with("unknown profile") {
        "profile:"
    } else if p.message.starts_with("handlers.") {
        "handlers:"
    } else if p.message.starts_with("expect.") {
        "expect:"
    } else if p.message.starts_with("chunking.") {
        "chunking:"
    } else {
        return p;
    };
    if let Some((i, line)) = text.lines().enumerate().find(|(_, l)| l.starts_with(key)) {
        let rest = &line[key.len()..];
        let value_col = rest
            .char_indices()
            .find(|(_, c)| !c.is_whitespace())
            .filter(|(_, c)| *c != '#')
            .map(|(b, _)| line[..key.len() + b].chars().count() as u64 + 1);
        p.line = i as u64 + 1;
        p.column = value_col.unwrap_or(1);
    }
    p
}

fn byte_offset(text: &str, line: u64, column: u64) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut off = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            // Past the end of the line: its last character (a char boundary, unlike
            // `len - 1` when the file ends in a multi-byte character).
            let col = l
                .char_indices()
                .nth(column.saturating_sub(1) as usize)
                .or_else(|| l.char_indices().last())
                .map_or(0, |(b, _)| b);
            return Some(off + col);
        }
        off += l.len();
    }
    None
}

/// serde says "unknown variant `emitt`, expected one of emit, expect, ..." (candidates with or
/// without backticks); we add the likely fix.
fn did_you_mean(message: &str) -> String {
    let Some(start) = message.find("unknown ") else {
        return String::new();
    };
    let rest = &message[start..];
    let Some(bad) = rest.split('`').nth(1) else {
        return String::new();
    };
    let Some((_, cands)) = rest.split_once("expected ") else {
        return String::new();
    };
    let cands = cands.lines().next().unwrap_or_default();
    let cands = cands.strip_prefix("one of ").unwrap_or(cands);
    let cands: Vec<&str> = cands
        .split(", ")
        .map(|c| c.trim().trim_matches('`'))
        .collect();
    match suggest(bad, cands) {
        Some(cand) => format!("; did you mean `{cand}`?"),
        None => String::new(),
    }
}

/// The candidate closest to a misspelled `bad`, if one is close enough to be what was meant
/// (Damerau-Levenshtein: a swapped pair of letters is one edit).
pub fn suggest<'a>(bad: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| !c.is_empty() && *c != bad)
        .map(|c| (strsim::damerau_levenshtein(bad, c), c))
        .filter(|(d, c)| *d <= (c.len().max(bad.len()) / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

// ---------------------------------------------------------------------------------------------
// semantic checks

/// Variables every template can use.
pub const BUILTIN_VARS: &[&str] = &[
    "session_id",
    "cwd",
    "profile",
    "version",
    "flags",
    "env",
    "last_tool_use_id",
    "result_index",
    "hooks",
    "invocation",
    "resumed",
    "resumed_results",
];

struct Checker {
    defined: BTreeSet<String>,
    problems: Vec<Problem>,
}

pub fn check(loaded: &Loaded) -> Vec<Problem> {
    let mut c = Checker {
        defined: BUILTIN_VARS.iter().map(|s| s.to_string()).collect(),
        problems: Vec::new(),
    };
    let s = &loaded.scenario;
    if let Some(p) = &s.profile
        && Profile::parse(p).is_none()
    {
        c.problems.push(Problem {
            line: 1,
            column: 1,
            message: format!(
                "unknown profile `{p}`: expected one of {}",
                Profile::known()
            ),
        });
    }
    if let Some(ch) = &s.chunking
        && ch.sizes.iter().all(|n| *n == 0)
    {
        c.problems.push(Problem {
            line: 1,
            column: 1,
            message: "chunking.sizes: give at least one piece size above 0".into(),
        });
    }
    for (sub, h) in &s.handlers {
        if let Some(m) = handler_problem(h) {
            c.problems.push(Problem {
                line: 1,
                column: 1,
                message: format!("handlers.{sub}: {m}"),
            });
        }
    }
    for e in s
        .expect
        .stdin
        .iter()
        .chain(s.expect.by_policy.values().flat_map(|p| p.stdin.iter()))
    {
        if let Err((path, m)) = matcher::validate_pattern(&e.pattern) {
            c.problems.push(Problem {
                line: 1,
                column: 1,
                message: format!("expect.stdin pattern at `{path}`: {m}"),
            });
        }
    }
    c.steps(&s.script);
    c.problems
}

/// How many of the given "is this set" flags hold (for "give exactly one of ...").
fn count_set(flags: &[bool]) -> usize {
    flags.iter().filter(|b| **b).count()
}

fn handler_problem(h: &Handler) -> Option<String> {
    let n = count_set(&[
        h.respond.is_some(),
        h.with.is_some(),
        h.error.is_some(),
        h.never,
        h.script,
    ]);
    (n > 1).then(|| "give at most one of respond, with, error, never, script".to_string())
}

impl Checker {
    fn problem<T>(&mut self, at: &Spanned<T>, message: String) {
        self.problems.push(Problem {
            line: at.referenced.line(),
            column: at.referenced.column(),
            message,
        });
    }

    fn steps(&mut self, steps: &[Spanned<Step>]) {
        for s in steps {
            self.step(s);
        }
    }

    /// Template variables used in `v` must be defined by now.
    fn uses<T>(&mut self, at: &Spanned<T>, v: &Value) {
        for var in template::variables(v) {
            let root = var.split('.').next().unwrap_or(&var).to_string();
            if !self.defined.contains(&root) {
                let known: Vec<&str> = self.defined.iter().map(String::as_str).collect();
                self.problem(
                    at,
                    format!(
                        "undefined template variable `{var}`: no earlier step defines `{root}` (defined here: {})",
                        known.join(", ")
                    ),
                );
            }
        }
        if let Err(e) = template::validate_syntax(v) {
            self.problem(at, format!("bad template: {e}"));
        }
    }

    fn pattern<T>(&mut self, at: &Spanned<T>, what: &str, p: &Value) {
        if let Err((path, m)) = matcher::validate_pattern(p) {
            self.problem(at, format!("{what} pattern at `{path}`: {m}"));
        }
        self.uses(at, p);
    }

    fn step(&mut self, s: &Spanned<Step>) {
        match &s.value {
            Step::Emit(e) => {
                self.emit(s, e, true);
            }
            Step::Write(w) => {
                if w.messages.is_empty() {
                    self.problem(s, "write: `messages` must not be empty".into());
                }
                for e in &w.messages {
                    self.emit(s, e, false);
                }
            }
            Step::Raw(r) => {
                if usize::from(r.text.is_some()) + usize::from(r.hex.is_some()) != 1 {
                    self.problem(s, "raw: give exactly one of `text` or `hex`".into());
                }
                if let Some(h) = &r.hex
                    && let Err(m) = decode_hex(h)
                {
                    self.problem(s, format!("raw.hex: {m}"));
                }
                self.uses(s, &serde_json::to_value(r).unwrap_or_default());
            }
            Step::Stderr(e) => {
                if e.text.is_none() && e.flood_bytes.is_none() {
                    self.problem(s, "stderr: give `text` or `flood_bytes`".into());
                }
                self.uses(s, &serde_json::to_value(e).unwrap_or_default());
            }
            Step::Burst(b) => {
                if b.count.is_none() && b.bytes.is_none() {
                    self.problem(s, "burst: give `count` or `bytes`".into());
                }
                if let Some(m) = &b.message {
                    self.emit(s, m, false);
                }
            }
            Step::Expect(e) => {
                self.pattern(s, "expect", &e.pattern);
                self.define(e.capture.keys());
            }
            Step::Request(r) => {
                self.control_request(s, &r.spec());
                if let Some(p) = &r.expect_response {
                    self.pattern(s, "request.expect", p);
                }
                self.define(r.capture.keys());
                self.define(["response"].iter());
            }
            Step::Kill(sig) => {
                if crate::engine::process::signal_number(sig).is_none() {
                    self.problem(
                        s,
                        format!(
                            "unknown signal `{sig}`: expected e.g. SIGTERM, SIGKILL, SIGINT, SIGHUP, SIGSEGV, SIGABRT"
                        ),
                    );
                }
            }
            Step::If(i) => {
                self.uses(s, &serde_json::to_value(&i.when).unwrap_or_default());
                self.steps(&i.then);
                self.steps(&i.otherwise);
            }
            Step::Repeat(r) => self.steps(&r.steps),
            Step::Turn(t) => {
                if let Some(p) = &t.prompt {
                    self.pattern(s, "turn.prompt", p);
                }
                self.define(["prompt", "prompt_text", "prompt_uuid"].iter());
                if let Some(r) = &t.reply {
                    self.uses(s, &Value::String(r.clone()));
                }
                if let Some(steps) = &t.steps {
                    self.steps(steps);
                }
                if let Some(w) = &t.result_with {
                    self.uses(s, w);
                }
                for e in &t.after {
                    self.emit(s, e, false);
                }
            }
            Step::InjectedTurn(t) => {
                if let Some(steps) = &t.steps {
                    self.steps(steps);
                }
            }
            Step::Tool(t) => {
                if t.name.trim().is_empty() {
                    self.problem(s, "tool: `name` must not be empty".into());
                }
                self.uses(s, &t.input);
                if let Some(o) = &t.output {
                    self.uses(s, o);
                }
                if let Some(r) = &t.tool_use_result {
                    self.uses(s, r);
                }
                // The outcome variable is set before any branch runs.
                let var = t.as_.clone().unwrap_or_else(|| "tool".into());
                self.define([var].iter());
                self.steps(&t.ran);
                self.steps(&t.launched);
                self.steps(&t.denied);
            }
            Step::Handlers(h) => {
                for (sub, h) in h {
                    if let Some(m) = handler_problem(h) {
                        self.problem(s, format!("handlers.{sub}: {m}"));
                    }
                }
            }
            Step::Set(vars) => {
                for v in vars.values() {
                    self.uses(s, v);
                }
                self.define(vars.keys());
            }
            Step::Sleep(_)
            | Step::WaitEof(_)
            | Step::Hang(_)
            | Step::CloseStdin(_)
            | Step::Exit(_)
            | Step::Spawn(_)
            | Step::Note(_)
            | Step::Fail(_) => {}
        }
    }

    fn define<'b>(&mut self, names: impl Iterator<Item = impl AsRef<str> + 'b>) {
        for n in names {
            self.defined.insert(n.as_ref().to_string());
        }
    }

    fn emit(&mut self, at: &Spanned<Step>, e: &Emit, top_level: bool) {
        let kinds = emit_kinds(e);
        if kinds.len() != 1 {
            let list = if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            };
            self.problem(
                at,
                format!(
                    "emit: give exactly one message kind (json, init, assistant, tool_result, user_text, result, task_started, task_progress, task_updated, task_notification, background_tasks_changed, session_state, status, permission_denied, control_request, control_response, control_cancel_request, stream_event, rate_limit_event, keep_alive, api_retry, compact_boundary); found {list}"
                ),
            );
        }
        if !top_level && (e.split.is_some() || e.split_at.is_some() || e.pause.is_some()) {
            self.problem(
                at,
                "split/split_at/pause only apply to a top-level `emit` step".into(),
            );
        }
        if let Some(a) = &e.assistant {
            let n = count_set(&[
                a.text.is_some(),
                a.text_bytes.is_some(),
                a.thinking.is_some(),
                a.tool_use.is_some(),
            ]);
            if n != 1 {
                self.problem(
                    at,
                    "assistant: give exactly one of text, text_bytes, thinking, tool_use".into(),
                );
            }
        }
        if let Some(r) = &e.control_request {
            self.control_request(at, r);
        }
        self.uses(at, &serde_json::to_value(e).unwrap_or_default());
    }

    fn control_request(&mut self, at: &Spanned<Step>, r: &ControlRequestSpec) {
        let n = count_set(&[
            r.can_use_tool.is_some(),
            r.hook_callback.is_some(),
            r.mcp_message.is_some(),
            r.other.is_some(),
        ]);
        if n != 1 {
            self.problem(
                at,
                "control request: give exactly one of can_use_tool, hook_callback, mcp_message, other".into(),
            );
        }
        if let Some(o) = &r.other
            && o.get("subtype").and_then(Value::as_str).is_none()
        {
            self.problem(
                at,
                "control request `other` needs a string `subtype`".into(),
            );
        }
    }
}

/// The message kinds set on an `emit`.
pub fn emit_kinds(e: &Emit) -> Vec<&'static str> {
    let mut k = Vec::new();
    let mut add = |set: bool, name: &'static str| {
        if set {
            k.push(name)
        }
    };
    add(e.json.is_some(), "json");
    add(e.init.is_some(), "init");
    add(e.assistant.is_some(), "assistant");
    add(e.tool_result.is_some(), "tool_result");
    add(e.user_text.is_some(), "user_text");
    add(e.result.is_some(), "result");
    add(e.task_started.is_some(), "task_started");
    add(e.task_progress.is_some(), "task_progress");
    add(e.task_updated.is_some(), "task_updated");
    add(e.task_notification.is_some(), "task_notification");
    add(
        e.background_tasks_changed.is_some(),
        "background_tasks_changed",
    );
    add(e.session_state.is_some(), "session_state");
    add(e.status.is_some(), "status");
    add(e.permission_denied.is_some(), "permission_denied");
    add(e.control_request.is_some(), "control_request");
    add(e.control_response.is_some(), "control_response");
    add(e.control_cancel_request.is_some(), "control_cancel_request");
    add(e.stream_event.is_some(), "stream_event");
    add(e.rate_limit_event.is_some(), "rate_limit_event");
    add(e.keep_alive.is_some(), "keep_alive");
    add(e.api_retry.is_some(), "api_retry");
    add(e.compact_boundary.is_some(), "compact_boundary");
    k
}

/// `"7b 22 ff 0a"` → bytes.
pub fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("`{}` is not a hex byte", String::from_utf8_lossy(p)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("unknown variant `emitt`, expected one of `emit`, `expect`, `exit`"),
            "; did you mean `emit`?"
        );
        assert_eq!(
            did_you_mean("unknown field `capure`, expected one of match, capture, timeout"),
            "; did you mean `capture`?"
        );
        assert_eq!(
            did_you_mean("unknown variant `zzzzzz`, expected `emit`"),
            ""
        );
    }

    #[test]
    fn capabilities_are_a_closed_list() {
        let loaded = load_str(
            "name: x\nrequires: [multi-turn, control-protocol]\nscript: []\n",
            "x.yaml",
        )
        .unwrap();
        use super::super::model::Capability;
        assert_eq!(
            loaded.scenario.requires,
            [Capability::MultiTurn, Capability::ControlProtocol]
        );
        let error = load_str("name: x\nrequires: [multi-turns]\nscript: []\n", "x.yaml")
            .unwrap_err()
            .message;
        assert!(
            error.contains("x.yaml:2:") && error.contains("did you mean `multi-turn`?"),
            "{error}"
        );
        for cap in Capability::ALL {
            assert_eq!(
                serde_json::to_value(cap).unwrap(),
                serde_json::json!(cap.name())
            );
        }
    }

    #[test]
    fn hex() {
        assert_eq!(decode_hex("7b ff 0a"), Ok(vec![0x7b, 0xff, 0x0a]));
        assert!(decode_hex("7").is_err());
        assert!(decode_hex("zz").is_err());
    }
}
