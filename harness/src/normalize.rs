//! The normalized run: one readable text per (supervisor, scenario) run that stays the same from
//! run to run, for snapshots and for humans.
//!
//! Sections, each in an order that does not depend on timing:
//! 1. **fake**: per CLI invocation, what the script did — stdout messages summarized one per line
//!    (split writes reassembled, bursts counted), stderr, step outcomes, signals, exit;
//! 2. **handlers**: the fake's answers to the supervisor's own control requests (these interleave
//!    with the script by timing, so they are a sequence of their own);
//! 3. **stdin**: every line the supervisor wrote, as normalized JSON, then `<eof>` (`keep_alive`
//!    lines are left out: how many there are depends on timing);
//! 4. **report**: the adapter's turns, events, end line, exit, leftovers, teardown;
//! 5. **verdict**: violations (id + message) and waivers.
//!
//! Redaction keeps "these two were equal": every UUID becomes `[uuid-N]`, random-looking request
//! ids `[request-N]`, other `*uuid*` values `[uuid-N]`, pids `[pid-N]` — numbered by first
//! appearance across the whole text. Times, durations and `blocked_us` become `[time]`, ISO
//! timestamps `[timestamp]`, the run directory `[dir]`, tempfile names `.tmp[rand]`; in
//! free text (violation messages, errors, stderr) transcript record numbers become `#[n]` and
//! durations like `1.50 s` become `[duration]`. Long strings (padded prompts, huge outputs) are cut
//! to their start plus length and a hash of the whole.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use fake_claude::transcript::Event;
use serde_json::{Map, Value};

use crate::artifacts::{AdapterExit, RunArtifacts};
use crate::invariants::facts::{line_col, msg_type};
use crate::verdict::Verdict;

/// Strings longer than this are cut in the normalized form.
const MAX_STR: usize = 200;

/// The normalized text of a run and its verdict.
pub fn normalized_run(run: &RunArtifacts, verdict: &Verdict) -> String {
    let mut r = Redactor::new(run);
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {}", run.scenario_id);
    let _ = writeln!(out, "supervisor: {}", run.supervisor);
    if let Some(p) = &run.policy {
        let _ = writeln!(out, "policy: {p}");
    }
    fake_section(run, &mut r, &mut out);
    handler_section(run, &mut r, &mut out);
    stdin_section(run, &mut r, &mut out);
    report_section(run, &mut r, &mut out);
    verdict_section(verdict, &mut r, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// redaction

/// Replaces run-specific values by placeholders, numbered per category by first appearance.
pub struct Redactor {
    numbers: HashMap<(&'static str, String), usize>,
    next: BTreeMap<&'static str, usize>,
    /// Literal strings to replace (run dir and its forms), longest first.
    dirs: Vec<String>,
}

impl Redactor {
    pub fn new(run: &RunArtifacts) -> Redactor {
        let mut dirs = vec![run.dir.clone()];
        if let Ok(c) = run.dir.canonicalize() {
            dirs.push(c);
        }
        for rec in &run.transcript {
            if let Event::Start { cwd, .. } = &rec.event {
                dirs.push(std::path::PathBuf::from(cwd));
            }
        }
        Redactor::with_dirs(&dirs)
    }

    /// A redactor that also replaces these directories (and their CLI project-dir encodings).
    pub fn with_dirs(paths: &[std::path::PathBuf]) -> Redactor {
        let mut dirs = Vec::new();
        for p in paths {
            let s = p.display().to_string();
            if s.len() > 1 {
                // The CLI's project-dir encoding of a cwd (`/tmp/x.y` → `-tmp-x-y`).
                dirs.push(s.replace(['/', '.'], "-"));
                dirs.push(s);
            }
        }
        dirs.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        dirs.dedup();
        Redactor {
            numbers: HashMap::new(),
            next: BTreeMap::new(),
            dirs,
        }
    }

    /// `[cat-N]` for this value, the same N for the same value.
    pub fn placeholder(&mut self, cat: &'static str, value: &str) -> String {
        let key = (cat, value.to_string());
        let n = match self.numbers.get(&key) {
            Some(n) => *n,
            None => {
                let n = self.next.entry(cat).or_insert(0);
                *n += 1;
                let n = *n;
                self.numbers.insert(key, n);
                n
            }
        };
        format!("[{cat}-{n}]")
    }

    /// A string from the wire or a report: directories, UUIDs, timestamps, pids, tempfile names.
    pub fn text(&mut self, s: &str) -> String {
        let mut s = s.to_string();
        for d in &self.dirs {
            if s.contains(d.as_str()) {
                s = s.replace(d.as_str(), "[dir]");
            }
        }
        let s = self.uuids(&s);
        let s = timestamps(&s);
        let s = self.pids(&s);
        tmp_names(&s)
    }

    /// Free text the harness or the adapter wrote (messages, errors, stderr): also record numbers
    /// and durations.
    pub fn prose(&mut self, s: &str) -> String {
        durations(&record_refs(&self.text(s)))
    }

    fn uuids(&mut self, s: &str) -> String {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let mut last = 0;
        while i + 36 <= b.len() {
            if is_uuid(&b[i..i + 36])
                && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
                && b.get(i + 36).is_none_or(|c| !c.is_ascii_alphanumeric())
            {
                out.push_str(&s[last..i]);
                let p = self.placeholder("uuid", &s[i..i + 36].to_ascii_lowercase());
                out.push_str(&p);
                i += 36;
                last = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&s[last..]);
        out
    }

    /// `pid 1234`, `pid=1234`, `pid: 1234` → `pid [pid-N]`.
    fn pids(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(k) = rest.find("pid") {
            let (head, tail) = rest.split_at(k + 3);
            out.push_str(head);
            let sep_len = tail.len() - tail.trim_start_matches([' ', '=', ':']).len();
            let digits = tail[sep_len..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let word_start = k == 0 || !rest.as_bytes()[k - 1].is_ascii_alphanumeric();
            if digits > 0 && sep_len <= 2 && word_start {
                out.push_str(&tail[..sep_len]);
                let p = self.placeholder("pid", &tail[sep_len..sep_len + digits]);
                out.push_str(&p);
                rest = &tail[sep_len + digits..];
            } else {
                rest = tail;
            }
        }
        out.push_str(rest);
        out
    }

    /// A JSON value from the wire or a report, redacted (see the module docs).
    pub fn value(&mut self, v: &Value) -> Value {
        self.value_at(None, v)
    }

    fn value_at(&mut self, key: Option<&str>, v: &Value) -> Value {
        if let Some(k) = key {
            if is_time_key(k) && !v.is_null() && !v.is_object() && !v.is_array() {
                return Value::String("[time]".into());
            }
            if k == "pid"
                && let Some(n) = v.as_u64()
            {
                return Value::String(self.placeholder("pid", &n.to_string()));
            }
            if let Some(s) = v.as_str() {
                let lower = k.to_ascii_lowercase();
                // SDK request ids are random (`req_1_ab12cd34`, TS base36 of any length); ids a
                // scenario names (`perm-bg-1`) have dashes and stay readable (UUIDs are caught
                // by `text`).
                if k == "request_id" && !s.contains('-') && !s.is_empty() {
                    return Value::String(self.placeholder("request", s));
                }
                if lower.ends_with("uuid") && !s.is_empty() && !s.starts_with('[') {
                    let t = self.text(s);
                    if t == s {
                        return Value::String(self.placeholder("uuid", s));
                    }
                    return Value::String(t);
                }
            }
        }
        match v {
            Value::String(s) => Value::String(cut(&self.text(s))),
            Value::Array(a) => {
                let items: Vec<Value> = a.iter().map(|x| self.value_at(key, x)).collect();
                Value::Array(collapse_runs(items))
            }
            Value::Object(o) => {
                let mut m = Map::new();
                for (k, x) in o {
                    m.insert(k.clone(), self.value_at(Some(k), x));
                }
                Value::Object(m)
            }
            other => other.clone(),
        }
    }

    /// An id-like field for summaries: redacted as under `key`, unquoted when a string.
    fn id(&mut self, key: &str, v: &Value) -> String {
        match self.value_at(Some(key), v) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// A quoted, redacted, cut string for summaries.
    fn quote(&mut self, s: &str) -> String {
        format!("{:?}", cut(&self.text(s)))
    }
}

/// Runs of 3 or more equal array elements (a burst surfaced as messages) become the element
/// and a `"[×N]"` marker.
fn collapse_runs(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    let mut run = 0usize;
    for v in items {
        if out.last() == Some(&v) {
            run += 1;
            continue;
        }
        if run >= 2 {
            out.push(Value::String(format!("[×{}]", run + 1)));
        } else {
            for _ in 0..run {
                let last = out.last().cloned().unwrap_or(Value::Null);
                out.push(last);
            }
        }
        run = 0;
        out.push(v);
    }
    if run >= 2 {
        out.push(Value::String(format!("[×{}]", run + 1)));
    } else {
        for _ in 0..run {
            let last = out.last().cloned().unwrap_or(Value::Null);
            out.push(last);
        }
    }
    out
}

/// Long strings: the first 80 characters, the length and a hash of the whole.
pub fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_STR {
        return s.to_string();
    }
    let head: String = s.chars().take(80).collect();
    format!("{head}…[{} bytes, fnv {:016x}]", s.len(), fnv(s.as_bytes()))
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// In raw bytes that carry JSON (a result written with `newline: false` or cut short), time
/// fields (`"duration_ms":1234`) as `"duration_ms":[time]`, so the text is the same every run.
fn raw_time_fields(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut j = start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        if j + 1 < b.len() && b[j] == b'"' && b[j + 1] == b':' && is_time_key(&s[start..j]) {
            let num = j + 2;
            let mut k = num;
            while k < b.len() && (b[k].is_ascii_digit() || b[k] == b'.' || b[k] == b'-') {
                k += 1;
            }
            if k > num {
                out.push_str(&s[copied..num]);
                out.push_str("[time]");
                copied = k;
            }
            i = k.max(j + 1);
            continue;
        }
        i = j.max(i + 1);
    }
    out.push_str(&s[copied..]);
    out
}

fn is_time_key(k: &str) -> bool {
    matches!(
        k,
        "t" | "timestamp" | "duration" | "elapsed" | "ttft" | "time" | "date"
    ) || k.ends_with("_ms")
        || k.ends_with("_us")
        || k.ends_with("Ms")
        || k.ends_with("_time")
        || k.ends_with("_at")
        || k.ends_with("At")
}

fn is_uuid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// ISO-8601 date-times (`2026-11-22T03:24:56.050Z`) → `[timestamp]`.
fn timestamps(s: &str) -> String {
    let b = s.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    let mut out = String::with_capacity(s.len());
    let (mut i, mut last) = (0, 0);
    while i + shape.len() <= b.len() {
        let hit = shape.iter().zip(&b[i..]).all(|(p, c)| match p {
            b'd' => c.is_ascii_digit(),
            _ => p == c,
        });
        if hit {
            out.push_str(&s[last..i]);
            out.push_str("[timestamp]");
            i += shape.len();
            if b.get(i) == Some(&b'.') {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            if matches!(b.get(i), Some(b'Z')) {
                i += 1;
            } else if matches!(b.get(i), Some(b'+' | b'-'))
                && b.get(i + 1..i + 6)
                    .is_some_and(|z| z[0].is_ascii_digit() && z[1].is_ascii_digit() && z[2] == b':')
            {
                i += 6;
            }
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// tempfile's random names (`.tmpAbC123`) → `.tmp[rand]`.
fn tmp_names(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find(".tmp") {
        let (head, tail) = rest.split_at(k + 4);
        out.push_str(head);
        let n = tail.bytes().take_while(u8::is_ascii_alphanumeric).count();
        if n == 6 {
            out.push_str("[rand]");
            rest = &tail[n..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// `#123` → `#[n]` (transcript record numbers shift with timing).
fn record_refs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find('#') {
        let (head, tail) = rest.split_at(k + 1);
        out.push_str(head);
        let n = tail.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 {
            out.push_str("[n]");
        }
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// `1.50 s`, `30s`, `250 ms`, `12µs` → `[duration]`.
fn durations(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut i, mut last) = (0, 0);
    while i < b.len() {
        let starts = b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
            j += 1;
        }
        let mut k = j;
        if b.get(k) == Some(&b' ') {
            k += 1;
        }
        let unit = ["ms", "µs", "us", "s", "m", "h"].into_iter().find(|u| {
            s[k..].starts_with(u) && !s[k + u.len()..].starts_with(|c: char| c.is_alphanumeric())
        });
        match unit {
            Some(u) if !(u == "m" || u == "h") || k == j => {
                out.push_str(&s[last..i]);
                out.push_str("[duration]");
                i = k + u.len();
                last = i;
            }
            _ => i = j,
        }
    }
    out.push_str(&s[last..]);
    out
}

// ---------------------------------------------------------------------------------------------
// sections

fn at_of(by: Option<&str>) -> String {
    match by {
        Some(b) if b.starts_with("handler:") => b.to_string(),
        Some(b) => match line_col(b) {
            Some((l, c)) => format!("@{l}:{c}"),
            None => b.to_string(),
        },
        None => "@?".into(),
    }
}

fn fake_section(run: &RunArtifacts, r: &mut Redactor, out: &mut String) {
    let _ = writeln!(out, "\n## fake (what the CLI did, per invocation)");
    if run.transcript.is_empty() {
        let _ = writeln!(out, "(no transcript: the CLI was never started)");
        return;
    }
    let mut current = None;
    // Raw split writes, reassembled.
    let mut pending_raw: Vec<u8> = Vec::new();
    for rec in &run.transcript {
        if current != Some(rec.inv) {
            current = Some(rec.inv);
            let _ = writeln!(out, "invocation {}:", rec.inv);
        }
        let line = match &rec.event {
            Event::Start {
                argv,
                env,
                profile,
                version_probe,
                ..
            } => {
                let argv: Vec<String> = argv.iter().map(|a| r.text(a)).collect();
                let env: Vec<String> = env
                    .iter()
                    .map(|(k, v)| format!("{k}={}", r.text(v)))
                    .collect();
                let mut s = format!("start profile {profile} argv {argv:?}");
                if !env.is_empty() {
                    let _ = write!(s, " env {env:?}");
                }
                if *version_probe {
                    s.push_str(" (version probe)");
                }
                s
            }
            Event::Held { msgs, by } => {
                let at = at_of(by.as_deref());
                let kinds: Vec<String> = msgs.iter().map(|m| summarize(m, r)).collect();
                format!("{at} held by print mode: {}", kinds.join(", "))
            }
            Event::Stdout { by: Some(b), .. } if b.starts_with("handler:") => continue,
            Event::Stdout {
                len,
                msgs,
                text,
                b64,
                part,
                burst,
                by,
                ..
            } => {
                let at = at_of(by.as_deref());
                if let Some(n) = burst {
                    format!("{at} burst of {n} messages, {len} bytes")
                } else if let Some(msgs) = msgs.as_ref().filter(|_| text.is_none() && b64.is_none())
                {
                    // Raw bytes show as written, whatever messages the judge found in them.
                    let split = match part {
                        Some([_, n]) if *n > 1 => format!(" (split into {n} writes)"),
                        _ => String::new(),
                    };
                    if msgs.len() == 1 {
                        format!("{at} {}{split}", summarize(&msgs[0], r))
                    } else {
                        let mut s = format!("{at} {} messages in one write{split}:", msgs.len());
                        for m in msgs {
                            let _ = write!(s, "\n      {}", summarize(m, r));
                        }
                        s
                    }
                } else {
                    pending_raw.extend(fake_claude::transcript::raw_bytes(
                        text.as_deref(),
                        b64.as_deref(),
                    ));
                    if let Some([i, n]) = part
                        && i < n
                    {
                        continue;
                    }
                    let all = std::mem::take(&mut pending_raw);
                    let split = match part {
                        Some([_, n]) if *n > 1 => format!(" (split into {n} writes)"),
                        _ => String::new(),
                    };
                    match String::from_utf8(all) {
                        Ok(t) => format!("{at} raw {}{split}", r.quote(&raw_time_fields(&t))),
                        Err(e) => format!(
                            "{at} raw {} bytes, not UTF-8: {}{split}",
                            e.as_bytes().len(),
                            r.quote(&String::from_utf8_lossy(e.as_bytes()))
                        ),
                    }
                }
            }
            Event::Stderr {
                len, text, flood, ..
            } => match (flood, text) {
                (true, _) | (_, None) => format!("stderr flood of {len} bytes"),
                (false, Some(t)) => format!("stderr {}", r.quote(t.trim_end_matches('\n'))),
            },
            Event::Step {
                at,
                step,
                outcome,
                detail,
                captures,
                ..
            } => {
                let mut s = format!("{} step {step}: {outcome}", at_of(Some(at)));
                if let Some(c) = captures {
                    let c = r.value(&Value::Object(c.clone()));
                    let _ = write!(s, " captures {c}");
                }
                if let Some(d) = detail {
                    let _ = write!(s, " ({})", r.prose(d));
                }
                s
            }
            Event::Note { text } => format!("note {}", r.quote(text)),
            Event::Spawned { pid } => format!("spawned {}", r.placeholder("pid", &pid.to_string())),
            Event::Signal { signal, action, .. } => format!("signal {signal}: {action}"),
            Event::Kill { signal } => format!("kill itself with {signal}"),
            Event::Watchdog { after_ms } => format!("watchdog ended the run after {after_ms} ms"),
            Event::StdoutClosed { .. } => "stdout closed by the reader".into(),
            Event::StderrClosed { .. } => "stderr closed by the reader".into(),
            Event::Exit { code } => format!("exit {code}"),
            // In their own sections: their timing relative to the script varies. A stalled
            // write is a matter of timing too (and the verdict's).
            Event::Stdin { .. }
            | Event::StdinEof
            | Event::Control { .. }
            | Event::WriteStalled { .. } => continue,
        };
        let _ = writeln!(out, "  {line}");
    }
}

fn handler_section(run: &RunArtifacts, r: &mut Redactor, out: &mut String) {
    let mut lines = Vec::new();
    for rec in &run.transcript {
        match &rec.event {
            Event::Stdout {
                msgs: Some(msgs),
                by: Some(b),
                ..
            } if b.starts_with("handler:") => {
                for m in msgs {
                    lines.push(format!("  inv {} {b}: {}", rec.inv, summarize(m, r)));
                }
            }
            Event::Control {
                request_id,
                subtype,
                action,
            } => {
                let id = r.id("request_id", &Value::String(request_id.clone()));
                lines.push(format!(
                    "  inv {} control {subtype} {id}: {action}",
                    rec.inv
                ));
            }
            _ => {}
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(
            out,
            "\n## handlers (the CLI's answers to the supervisor's control requests)"
        );
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
}

fn stdin_section(run: &RunArtifacts, r: &mut Redactor, out: &mut String) {
    let _ = writeln!(out, "\n## stdin (what the supervisor wrote)");
    let mut current = None;
    let mut any = false;
    let mut keep_alives = false;
    for rec in &run.transcript {
        let line = match &rec.event {
            // Their number depends on timing.
            Event::Stdin {
                msg: Some(m),
                unterminated: false,
                ..
            } if msg_type(m) == Some("keep_alive") => {
                keep_alives = true;
                continue;
            }
            Event::Stdin {
                raw,
                b64,
                msg,
                error,
                unterminated,
                from,
            } => {
                let cut_note = match (from, *unterminated) {
                    (Some(from), _) => format!(" (print-mode prompt from {from})"),
                    (None, true) => " (no newline: cut)".to_string(),
                    (None, false) => String::new(),
                };
                match (msg, raw) {
                    (Some(m), _) => format!("{}{cut_note}", r.value(m)),
                    (None, Some(t)) if t.trim().is_empty() => format!("(blank line){cut_note}"),
                    (None, Some(t)) => format!(
                        "!! not JSON ({}): {}{cut_note}",
                        r.prose(error.as_deref().unwrap_or("?")),
                        r.quote(t)
                    ),
                    (None, None) => format!(
                        "!! not UTF-8: {} base64 chars{cut_note}",
                        b64.as_deref().map_or(0, str::len)
                    ),
                }
            }
            Event::StdinEof => "<eof>".into(),
            _ => continue,
        };
        if current != Some(rec.inv) {
            current = Some(rec.inv);
            let _ = writeln!(out, "invocation {}:", rec.inv);
        }
        any = true;
        let _ = writeln!(out, "  {line}");
    }
    if !any {
        let _ = writeln!(out, "(nothing)");
    }
    if keep_alives {
        let _ = writeln!(
            out,
            "(keep_alive lines not listed: their number depends on timing)"
        );
    }
}

fn report_section(run: &RunArtifacts, r: &mut Redactor, out: &mut String) {
    let _ = writeln!(out, "\n## report");
    let rep = &run.report;
    if rep.turns.is_empty() {
        let _ = writeln!(out, "turns: none");
    }
    for t in &rep.turns {
        let _ = writeln!(out, "turn {}: {}", t.index, t.status);
        if let Some(o) = &t.output {
            let _ = writeln!(out, "  output: {}", r.quote(o));
        }
        if let Some(e) = &t.error {
            let _ = writeln!(out, "  error: {:?}", cut(&r.prose(e)));
        }
        for m in &t.messages {
            let _ = writeln!(out, "  message: {}", r.value(m));
        }
    }
    for e in &rep.events {
        let _ = writeln!(out, "event: {}", r.value(e));
    }
    match &rep.end {
        Some(end) => {
            let mut s = format!("end: {}", end.status);
            if let Some(c) = end.cli_exit_code {
                let _ = write!(s, ", cli exit code {c}");
            }
            if let Some(sig) = end.cli_signal {
                let _ = write!(s, ", cli signal {sig}");
            }
            if let Some(e) = &end.error {
                let _ = write!(s, ", error {:?}", cut(&r.prose(e)));
            }
            let _ = writeln!(out, "{s}");
        }
        None => {
            let _ = writeln!(out, "end: none");
        }
    }
    for p in &rep.problems {
        let _ = writeln!(out, "problem: {:?}", cut(&r.prose(p)));
    }
    let exit = match &run.adapter_exit {
        AdapterExit::Code(c) => format!("exit code {c}"),
        AdapterExit::Signal(s) => format!("killed by signal {s}"),
        AdapterExit::Deadline => "killed at the run deadline".into(),
        AdapterExit::SpawnFailed(e) => format!("could not be started: {}", r.prose(e)),
    };
    let _ = writeln!(out, "adapter: {exit}");
    for l in &run.leftovers {
        let _ = writeln!(
            out,
            "leftover: {} {:?}{}",
            r.placeholder("pid", &l.pid.to_string()),
            r.text(&l.command),
            if l.from_fake { " (a CLI process)" } else { "" }
        );
    }
    let _ = writeln!(
        out,
        "teardown: {}",
        if run.teardown <= run.teardown_bound {
            "within the bound"
        } else {
            "over the bound"
        }
    );
}

fn verdict_section(verdict: &Verdict, r: &mut Redactor, out: &mut String) {
    let _ = writeln!(
        out,
        "\n## verdict: {}",
        if verdict.passed() { "pass" } else { "fail" }
    );
    for v in &verdict.violations {
        let _ = writeln!(out, "- {}: {}", v.id, r.prose(&v.message));
    }
    for (id, reason) in &verdict.waived {
        let _ = writeln!(out, "waived {id}: {reason}");
    }
}

// ---------------------------------------------------------------------------------------------
// one-line summaries of the CLI's messages

/// One line for a message: its type and the fields that tell it apart (ids redacted by `r`).
pub fn summarize(m: &Value, r: &mut Redactor) -> String {
    let ty = msg_type(m).unwrap_or("?");
    let sub = m.get("subtype").and_then(Value::as_str);
    let mut s = match sub {
        Some(st) => format!("{ty}/{st}"),
        None => ty.to_string(),
    };
    match ty {
        "assistant" | "user" => {
            if let Some(p) = m.get("parent_tool_use_id").and_then(Value::as_str) {
                let _ = write!(s, " (sub-agent of {})", r.text(p));
            }
            match m.pointer("/message/content") {
                Some(Value::String(t)) => {
                    let _ = write!(s, " text {}", r.quote(t));
                }
                Some(Value::Array(blocks)) => {
                    for b in blocks {
                        s.push_str(&block(b, r));
                    }
                }
                _ => {}
            }
            match m.get("tool_use_result") {
                Some(Value::Object(o)) => {
                    let keys: Vec<String> = ["status", "backgroundTaskId", "isAsync"]
                        .iter()
                        .filter_map(|k| o.get(*k).map(|v| format!("{k}={}", r.value(v))))
                        .collect();
                    if !keys.is_empty() {
                        let _ = write!(s, " tool_use_result {{{}}}", keys.join(", "));
                    }
                }
                Some(Value::String(t)) => {
                    let _ = write!(s, " tool_use_result {}", r.quote(t));
                }
                _ => {}
            }
        }
        "result" => {
            let is_error = m.get("is_error").and_then(Value::as_bool);
            if let Some(e) = is_error {
                let _ = write!(s, " is_error={e}");
            }
            if let Some(t) = m.get("result").and_then(Value::as_str) {
                let _ = write!(s, " {}", r.quote(t));
            }
            if let Some(e) = m.get("errors") {
                let _ = write!(s, " errors {}", r.value(e));
            }
            if let Some(o) = m.get("origin").and_then(|o| o.get("kind")) {
                let _ = write!(s, " origin={}", r.value(o));
            }
            if let Some(u) = m.get("user_message_uuid") {
                let _ = write!(s, " answers {}", r.id("user_message_uuid", u));
            }
            if let Some(u) = m.get("uuid") {
                let _ = write!(s, " uuid {}", r.id("uuid", u));
            }
        }
        "control_request" => {
            if let Some(id) = m.get("request_id") {
                let _ = write!(s, " {}", r.id("request_id", id));
            }
            if let Some(req) = m.get("request") {
                if let Some(st) = req.get("subtype").and_then(Value::as_str) {
                    let _ = write!(s, " {st}");
                }
                for k in ["tool_name", "callback_id", "server_name"] {
                    if let Some(v) = req.get(k).and_then(Value::as_str) {
                        let _ = write!(s, " {k}={}", r.quote(v));
                    }
                }
                if let Some(i) = req.get("input") {
                    let _ = write!(s, " input {}", cut(&r.value(i).to_string()));
                }
                if let Some(method) = req.pointer("/message/method") {
                    let _ = write!(s, " method={method}");
                }
            }
        }
        "control_response" => {
            if let Some(resp) = m.get("response") {
                if let Some(id) = resp.get("request_id") {
                    let _ = write!(s, " {}", r.id("request_id", id));
                }
                if let Some(st) = resp.get("subtype").and_then(Value::as_str) {
                    let _ = write!(s, " {st}");
                }
                if let Some(e) = resp.get("error").and_then(Value::as_str) {
                    let _ = write!(s, " error {}", r.quote(e));
                }
            }
        }
        "control_cancel_request" => {
            if let Some(id) = m.get("request_id") {
                let _ = write!(s, " {}", r.id("request_id", id));
            }
        }
        "stream_event" => {
            if let Some(t) = m.pointer("/event/type").and_then(Value::as_str) {
                let _ = write!(s, " {t}");
            }
        }
        _ => {
            for k in [
                "task_id",
                "status",
                "state",
                "permissionMode",
                "summary",
                "tool_use_id",
            ] {
                if let Some(v) = m
                    .get(k)
                    .filter(|v| v.is_string() || v.is_number() || v.is_boolean())
                {
                    let _ = write!(s, " {k}={}", r.value(v));
                }
            }
            if let Some(Value::Array(tasks)) = m.get("tasks") {
                let ids: Vec<String> = tasks
                    .iter()
                    .filter_map(|t| t.get("task_id").and_then(Value::as_str))
                    .map(|t| r.text(t))
                    .collect();
                let _ = write!(s, " tasks {ids:?}");
            }
        }
    }
    s
}

fn block(b: &Value, r: &mut Redactor) -> String {
    match b.get("type").and_then(Value::as_str) {
        Some("text") => format!(
            " text {}",
            r.quote(b.get("text").and_then(Value::as_str).unwrap_or(""))
        ),
        Some("thinking") => " thinking".into(),
        Some("tool_use") => format!(
            " tool_use {} {} {}",
            b.get("name").and_then(Value::as_str).unwrap_or("?"),
            r.text(b.get("id").and_then(Value::as_str).unwrap_or("?")),
            cut(&r.value(b.get("input").unwrap_or(&Value::Null)).to_string())
        ),
        Some("tool_result") => {
            let content = match b.get("content") {
                Some(Value::String(t)) => r.quote(t),
                Some(Value::Array(items)) => {
                    let t: String = items
                        .iter()
                        .filter_map(|i| i.get("text").and_then(Value::as_str))
                        .collect();
                    r.quote(&t)
                }
                _ => "\"\"".into(),
            };
            format!(
                " tool_result {}{} {content}",
                r.text(b.get("tool_use_id").and_then(Value::as_str).unwrap_or("?")),
                if b.get("is_error").and_then(Value::as_bool) == Some(true) {
                    " (error)"
                } else {
                    ""
                }
            )
        }
        Some(other) => format!(" {other}"),
        None => " ?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::testkit::*;
    use crate::verdict::Violation;
    use serde_json::json;

    fn verdict() -> Verdict {
        Verdict {
            violations: vec![Violation {
                id: "stdout-drained".into(),
                message:
                    "the CLI was blocked 1.52 s writing a 30-byte write to stdout (record #12)"
                        .into(),
                records: vec![12],
            }],
            waived: vec![],
        }
    }

    /// One run; `n` varies every id, time, pid and path, but not the structure.
    fn sample(n: u32) -> RunArtifacts {
        let uuid = |k: u32| format!("{:08x}-1111-4222-8333-{:012x}", k * 7 + n, n * 1000 + k);
        let dir = format!("/tmp/harness-ref-x-{n:06}");
        let mut t = Tr::new();
        if let Event::Start { pid, cwd, env, .. } = &mut t.recs[0].event {
            *pid = 1000 + n;
            *cwd = dir.clone();
            env.insert("PWD".into(), dir.clone());
        }
        t.stdin(json!({"type": "control_request", "request_id": format!("req_1_{:08x}", n * 31), "request": {"subtype": "initialize"}}));
        t.push(Event::Control {
            request_id: format!("req_1_{:08x}", n * 31),
            subtype: "initialize".into(),
            action: "answered".into(),
        });
        t.out(
            vec![json!({"type": "control_response", "response": {"subtype": "success", "request_id": format!("req_1_{:08x}", n * 31), "response": {"pid": 1000 + n}}})],
            "handler:initialize",
        );
        t.stdin(json!({"type": "user", "uuid": uuid(1), "session_id": "", "message": {"role": "user", "content": "hi ".repeat(1000)}}));
        let at = format!("{dir}/scenario.yaml:30:5");
        t.prompt_step(&at);
        t.out(
            vec![json!({"type": "system", "subtype": "init", "session_id": uuid(2), "cwd": dir})],
            &at,
        );
        t.out(vec![json!({"type": "result", "subtype": "success", "is_error": false, "result": "Paris.",
            "session_id": uuid(2), "uuid": uuid(3), "user_message_uuid": uuid(1), "duration_ms": 100 + n,
            "timestamp": format!("2026-11-2{n}T03:24:56.0{n}Z")})], &at);
        t.out(vec![json!({"type": "system", "subtype": "task_notification", "task_id": "b48lfacha",
            "output_file": format!("/tmp/claude-1000/{}/{}/tasks/b48lfacha.output", dir.replace(['/', '.'], "-"), uuid(2)),
            "status": "completed"})], &at);
        t.recs.iter_mut().for_each(|r| r.t *= f64::from(n));
        let mut r = run(
            t.done(),
            vec![TurnReportExt::with_messages(
                turn(0, "completed", Some("Paris.")),
                vec![json!({"type": "result", "uuid": uuid(3), "text": "Paris."})],
            )],
        );
        r.dir = dir.into();
        r.report.events = vec![
            json!({"type": "event", "name": "init", "data": {"session_id": uuid(2), "elapsed_ms": n}}),
        ];
        r.duration = std::time::Duration::from_millis(u64::from(n) * 100);
        r
    }

    trait TurnReportExt {
        fn with_messages(self, m: Vec<Value>) -> Self;
    }
    impl TurnReportExt for crate::artifacts::TurnReport {
        fn with_messages(mut self, m: Vec<Value>) -> Self {
            self.messages = m;
            self
        }
    }

    #[test]
    fn runs_differing_only_in_ids_and_times_normalize_identically() {
        let a = normalized_run(&sample(1), &verdict());
        let b = normalized_run(&sample(7), &verdict());
        assert_eq!(a, b);
        for leaked in ["harness-ref", "req_1_", "2026-", "1111-4222"] {
            assert!(!a.contains(leaked), "{leaked} leaked into:\n{a}");
        }
        // Equal values share a placeholder: the prompt uuid and the result's answer to it.
        assert!(a.contains("\"uuid\":\"[uuid-1]\""), "{a}");
        assert!(a.contains("answers [uuid-1]"), "{a}");
        assert!(a.contains("[request-1]"));
        assert!(
            a.contains("@30:5 result/success is_error=false \"Paris.\""),
            "{a}"
        );
        assert!(a.contains("#[n]") && a.contains("[duration]"), "{a}");
        assert!(a.contains("fnv "), "long prompts are cut: {a}");
    }

    #[test]
    fn different_structure_normalizes_differently() {
        let base = normalized_run(&sample(1), &verdict());
        let mut other = sample(1);
        other.report.turns[0].output = Some("Lyon.".into());
        assert_ne!(base, normalized_run(&other, &verdict()));
        let mut other = sample(1);
        other.transcript.pop();
        assert_ne!(base, normalized_run(&other, &verdict()));
        assert_ne!(
            base,
            normalized_run(
                &sample(1),
                &Verdict {
                    violations: vec![],
                    waived: vec![]
                }
            )
        );
        // Two different uuids stay different.
        let mut other = sample(1);
        other.report.turns[0].messages =
            vec![json!({"uuid": "99999999-1111-4222-8333-000000000000"})];
        let text = normalized_run(&other, &verdict());
        assert!(text.contains("[uuid-4]"), "{text}");
    }

    #[test]
    fn time_fields_in_raw_json_are_redacted() {
        assert_eq!(
            raw_time_fields(
                r#"{"duration_api_ms":5,"x":"duration_ms","total_cost_usd":0.1,"duration_ms":12.5}"#
            ),
            r#"{"duration_api_ms":[time],"x":"duration_ms","total_cost_usd":0.1,"duration_ms":[time]}"#
        );
        assert_eq!(raw_time_fields("not json \"t\":"), "not json \"t\":");
    }

    #[test]
    fn text_redactions() {
        let mut r = Redactor::new(&run(vec![], vec![]));
        assert_eq!(
            r.prose("pid 4242 at /tmp/.tmpAbC123/x, see #12, took 1.5 s and 250ms, exit code 1"),
            "pid [pid-1] at [dir]/x, see #[n], took [duration] and [duration], exit code 1"
        );
        assert_eq!(
            r.prose("2 stdin messages, 128 bytes, 3 m"),
            "2 stdin messages, 128 bytes, 3 m"
        );
        assert_eq!(r.text("/var/.tmpXyZ789/a"), "/var/.tmp[rand]/a");
        assert_eq!(
            r.text("at 2026-01-02T03:04:05.123+01:00 and 2026-01-02T03:04:05Z."),
            "at [timestamp] and [timestamp]."
        );
        assert_eq!(
            r.text("A0000000-0000-4000-8000-000000000000 and a0000000-0000-4000-8000-000000000000"),
            "[uuid-1] and [uuid-1]"
        );
        assert_eq!(
            r.value(&json!({"request_id": "perm-bg-1"})),
            json!({"request_id": "perm-bg-1"})
        );
        assert_eq!(
            r.value(&json!({"blocked_us": 5, "t": 0.1, "after_ms": null, "x": {"end_time": 9}})),
            json!({"blocked_us": "[time]", "t": "[time]", "after_ms": null, "x": {"end_time": "[time]"}})
        );
        assert!(cut(&"é".repeat(300)).chars().count() < 120);
    }

    #[test]
    fn equal_runs_collapse() {
        let v = |xs: &[i64]| xs.iter().map(|x| json!(x)).collect::<Vec<Value>>();
        assert_eq!(
            collapse_runs(v(&[1, 1, 2, 3, 3, 3, 3, 1])),
            vec![
                json!(1),
                json!(1),
                json!(2),
                json!(3),
                json!("[×4]"),
                json!(1)
            ]
        );
        assert_eq!(collapse_runs(v(&[5, 5, 5])), vec![json!(5), json!("[×3]")]);
        assert_eq!(collapse_runs(v(&[])), Vec::<Value>::new());
    }

    #[test]
    fn splits_bursts_and_raw_writes_are_readable() {
        let mut t = Tr::new();
        let at = "/x/scenario.yaml:3:3";
        for (i, text) in [(1u32, "{\"type\":"), (2, "\"keep_alive\"}\n")] {
            t.push(Event::Stdout {
                len: text.len() as u64,
                msgs: None,
                text: Some(text.into()),
                b64: None,
                part: Some([i, 2]),
                burst: None,
                blocked_us: 1,
                by: Some(at.into()),
            });
        }
        t.push(Event::Stdout {
            len: 10,
            msgs: None,
            text: None,
            b64: None,
            part: Some([1, 2]),
            burst: None,
            blocked_us: 1,
            by: Some(at.into()),
        });
        t.push(Event::Stdout {
            len: 10,
            msgs: Some(vec![json!({"type": "assistant", "message": {"content": [{"type": "text", "text": "hi"}, {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]}})]),
            text: None,
            b64: None,
            part: Some([2, 2]),
            burst: None,
            blocked_us: 1,
            by: Some(at.into()),
        });
        t.push(Event::Stdout {
            len: 262144,
            msgs: None,
            text: None,
            b64: None,
            part: None,
            burst: Some(64),
            blocked_us: 1,
            by: Some(at.into()),
        });
        let text = normalized_run(&run(t.done(), vec![]), &verdict());
        assert!(
            text.contains(
                "@3:3 raw \"{\\\"type\\\":\\\"keep_alive\\\"}\\n\" (split into 2 writes)"
            ),
            "{text}"
        );
        assert!(text.contains("@3:3 assistant text \"hi\" tool_use Bash toolu_1 {\"command\":\"ls\"} (split into 2 writes)"), "{text}");
        assert!(
            text.contains("@3:3 burst of 64 messages, 262144 bytes"),
            "{text}"
        );
    }
}
