//! Facts about one run that expectations and several invariants share: the results the fake
//! wrote, which of them were injected turns' (answering no prompt), which result answered which
//! prompt, how each fake invocation ended. Everything here is read-only analysis of
//! [`RunArtifacts`]; nothing panics on odd transcripts (missing records, garbage values).

use std::collections::{BTreeMap, BTreeSet};

use fake_claude::scenario::Loaded;
use fake_claude::scenario::model::{Emit, Step, TurnStep};
use fake_claude::transcript::{Event, Record};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::artifacts::{RunArtifacts, TurnReport};

/// A scenario position `(line, column)`.
pub type Pos = (u64, u64);

/// `(line, column)` of a location `path:line:col` as the fake writes it in `by` and `at` (the
/// path may itself contain `:`; only the last two fields count).
pub fn line_col(at: &str) -> Option<Pos> {
    let mut it = at.rsplitn(3, ':');
    let col = it.next()?.parse().ok()?;
    let line = it.next()?.parse().ok()?;
    it.next()?;
    Some((line, col))
}

fn pos<T>(s: &Spanned<T>) -> Pos {
    (s.referenced.line(), s.referenced.column())
}

/// What the script says about where turns are, found by walking its steps.
#[derive(Debug, Default)]
pub struct ScriptMap {
    /// Locations of `turn` steps (their results answer prompts).
    pub turns: BTreeSet<Pos>,
    /// Locations of `injected_turn` steps, every step inside one, and `emit`/`write` steps that
    /// write a result marked `injected` (or are marked `injected` themselves).
    pub injected: BTreeSet<Pos>,
    /// The top-level `turn` steps in order, when the mapping "N-th turn step answers prompt N"
    /// is certain from the text alone (no turn inside an `if`/`repeat`, no step that ends or
    /// hangs the fake on purpose). Empty otherwise.
    pub static_turns: Vec<StaticTurn>,
}

/// A turn's outcome as the script states it, without running it.
#[derive(Debug, Clone)]
pub struct StaticTurn {
    pub at: Pos,
    pub completed: bool,
    /// The result text, when the script spells it out literally.
    pub output: Option<String>,
}

impl ScriptMap {
    pub fn of(scenario: &Loaded) -> ScriptMap {
        let mut map = ScriptMap::default();
        let mut uncertain = false;
        walk(
            &scenario.scenario.script,
            false,
            false,
            &mut map,
            &mut uncertain,
        );
        if uncertain {
            map.static_turns.clear();
        } else {
            map.static_turns = scenario
                .scenario
                .script
                .iter()
                .filter_map(|s| match &s.value {
                    Step::Turn(t) => Some(static_turn(pos(s), t)),
                    _ => None,
                })
                .collect();
        }
        map
    }

    pub fn is_injected_location(&self, by: Option<&str>) -> bool {
        by.and_then(line_col)
            .is_some_and(|p| self.injected.contains(&p))
    }
}

fn emit_is_injected(e: &Emit) -> bool {
    e.injected || e.result.as_ref().is_some_and(|r| r.injected)
}

fn walk(
    steps: &[Spanned<Step>],
    in_injected: bool,
    in_branch: bool,
    map: &mut ScriptMap,
    uncertain: &mut bool,
) {
    for s in steps {
        let p = pos(s);
        if in_injected {
            map.injected.insert(p);
        }
        match &s.value {
            Step::Emit(e) if emit_is_injected(e) => {
                map.injected.insert(p);
            }
            Step::Write(w) if w.messages.iter().any(emit_is_injected) => {
                map.injected.insert(p);
            }
            Step::Exit(_) | Step::Kill(_) | Step::Hang(_) | Step::CloseStdin(_) => {
                *uncertain = true
            }
            Step::If(i) => {
                walk(&i.then, in_injected, true, map, uncertain);
                walk(&i.otherwise, in_injected, true, map, uncertain);
            }
            Step::Repeat(r) => walk(&r.steps, in_injected, true, map, uncertain),
            Step::Tool(t) => {
                for branch in [&t.ran, &t.launched, &t.denied] {
                    walk(branch, in_injected, true, map, uncertain);
                }
            }
            Step::Turn(t) => {
                map.turns.insert(p);
                if in_branch || in_injected {
                    *uncertain = true;
                }
                if let Some(inner) = &t.steps {
                    walk(inner, in_injected, in_branch, map, uncertain);
                }
            }
            Step::InjectedTurn(t) => {
                map.injected.insert(p);
                if let Some(inner) = &t.steps {
                    walk(inner, true, in_branch, map, uncertain);
                }
            }
            _ => {}
        }
    }
}

fn literal(s: &str) -> Option<String> {
    (!s.contains("{{")).then(|| s.to_string())
}

fn static_turn(at: Pos, t: &TurnStep) -> StaticTurn {
    let with = t.result_with.as_ref();
    let subtype = with
        .and_then(|w| w.get("subtype"))
        .and_then(Value::as_str)
        .or_else(|| t.result.as_ref().and_then(|r| r.subtype.as_deref()))
        .unwrap_or("success");
    let is_error = with
        .and_then(|w| w.get("is_error"))
        .and_then(Value::as_bool)
        .or_else(|| t.result.as_ref().and_then(|r| r.is_error))
        .unwrap_or(subtype != "success");
    let completed = subtype == "success" && !is_error;
    let output = if !completed {
        None
    } else if let Some(text) = with.and_then(|w| w.get("result")) {
        text.as_str().and_then(literal)
    } else if let Some(r) = &t.result
        && (r.text.is_some() || r.text_bytes.is_some())
    {
        r.text.as_deref().and_then(literal)
    } else {
        match &t.steps {
            None => t.reply.as_deref().and_then(literal),
            Some(steps) => {
                // The result defaults to the last assistant text; only certain when the body
                // is straight-line.
                if steps
                    .iter()
                    .any(|s| matches!(s.value, Step::If(_) | Step::Repeat(_) | Step::Tool(_)))
                {
                    None
                } else {
                    steps
                        .iter()
                        .rev()
                        .find_map(|s| match &s.value {
                            Step::Emit(e) => e.assistant.as_ref().and_then(|a| a.text.as_deref()),
                            _ => None,
                        })
                        .and_then(literal)
                }
            }
        }
    };
    StaticTurn {
        at,
        completed,
        output,
    }
}

// ---------------------------------------------------------------------------------------------
// results

/// One `result` message the fake wrote.
#[derive(Debug, Clone, Copy)]
pub struct ResultRef<'a> {
    /// Index of the `stdout` record that carries it.
    pub record: usize,
    pub inv: u32,
    pub t: f64,
    pub msg: &'a Value,
    pub by: Option<&'a str>,
    /// Written by an injected turn (answers no prompt).
    pub injected: bool,
}

impl<'a> ResultRef<'a> {
    /// The `result` text, if any.
    pub fn text(&self) -> Option<&'a str> {
        self.msg.get("result").and_then(Value::as_str)
    }

    pub fn subtype(&self) -> &'a str {
        self.msg
            .get("subtype")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn is_error(&self) -> bool {
        self.msg.get("is_error").and_then(Value::as_bool) == Some(true)
    }

    /// A successful answer: subtype `success` and `is_error` not true.
    pub fn is_success(&self) -> bool {
        self.subtype() == "success" && !self.is_error()
    }

    /// The `errors` strings of an error result.
    pub fn errors(&self) -> Vec<&'a str> {
        self.msg
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// A result marks itself as an injected turn's by an `origin` other than a human one (2.1.330:
/// `origin.kind = task-notification`).
pub fn origin_is_injected(msg: &Value) -> bool {
    msg.get("origin")
        .and_then(|o| o.get("kind"))
        .and_then(Value::as_str)
        .is_some_and(|k| k != "human" && k != "user")
}

pub fn msg_type(msg: &Value) -> Option<&str> {
    msg.get("type").and_then(Value::as_str)
}

/// Every result the fake wrote, in transcript order, classified injected or not.
pub fn results<'a>(run: &'a RunArtifacts, map: &ScriptMap) -> Vec<ResultRef<'a>> {
    let mut out = Vec::new();
    // Print mode writes results it held back in one record whose `by` is the last writer's; the
    // `held` record of each one says which step really wrote it.
    let mut held: Vec<(u32, &'a Value, Option<&'a str>)> = Vec::new();
    for (i, rec) in run.transcript.iter().enumerate() {
        match &rec.event {
            Event::Held { msgs, by } => {
                for m in msgs.iter().filter(|m| msg_type(m) == Some("result")) {
                    held.push((rec.inv, m, by.as_deref()));
                }
            }
            Event::Stdout {
                msgs: Some(msgs),
                by,
                ..
            } => {
                for m in msgs.iter().filter(|m| msg_type(m) == Some("result")) {
                    let by = held
                        .iter()
                        .find(|(inv, h, _)| *inv == rec.inv && *h == m)
                        .map_or(by.as_deref(), |h| h.2);
                    out.push(ResultRef {
                        record: i,
                        inv: rec.inv,
                        t: rec.t,
                        msg: m,
                        by,
                        injected: origin_is_injected(m) || map.is_injected_location(by),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// The text of a `user` prompt: string content, or its text blocks joined.
pub fn prompt_text(msg: &Value) -> Option<String> {
    match msg.get("message")?.get("content")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => Some(
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect(),
        ),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// which result answered which prompt

/// How the fake took a prompt.
#[derive(Debug, Clone, Copy)]
pub struct PromptRef {
    /// The `step` record (`turn` … `prompt`), when a turn step took it.
    pub step_record: Option<usize>,
    /// The `stdin` record of the prompt message, when known.
    pub stdin_record: Option<usize>,
    pub inv: u32,
    pub t: f64,
}

/// What the transcript says about one drive turn.
#[derive(Debug, Clone, Default)]
pub struct TurnAnswer<'a> {
    /// The fake took this turn's prompt (absent: it never got it).
    pub prompt: Option<PromptRef>,
    /// The result that answered it (absent: none was written).
    pub result: Option<ResultRef<'a>>,
}

#[derive(Debug)]
pub struct Answers<'a> {
    /// One per drive turn.
    pub turns: Vec<TurnAnswer<'a>>,
    /// Every result, in order.
    pub results: Vec<ResultRef<'a>>,
    pub map: ScriptMap,
}

impl<'a> Answers<'a> {
    pub fn of(run: &'a RunArtifacts, scenario: &Loaded) -> Answers<'a> {
        let map = ScriptMap::of(scenario);
        let results = results(run, &map);
        let drive: Vec<&str> = scenario
            .scenario
            .drive
            .turns
            .iter()
            .map(|t| t.prompt.as_str())
            .collect();
        let mut turns = vec![TurnAnswer::default(); drive.len()];
        if map.turns.is_empty() {
            positional(run, &results, &mut turns);
        } else {
            by_turn_steps(run, &drive, &results, &mut turns);
        }
        Answers {
            turns,
            results,
            map,
        }
    }

    /// Results that answer no prompt.
    pub fn injected(&self) -> impl Iterator<Item = &ResultRef<'a>> {
        self.results.iter().filter(|r| r.injected)
    }

    /// Where a reported output came from, when it is another result's text: the injected
    /// turn's or another prompt's answer. `own` is the drive turn whose output it claims to be.
    pub fn provenance(&self, own: usize, output: &str) -> Option<Provenance<'a>> {
        let own_result = self.turns.get(own).and_then(|a| a.result);
        if own_result.and_then(|r| r.text()) == Some(output) {
            return None;
        }
        for (j, a) in self.turns.iter().enumerate() {
            if j != own
                && let Some(r) = a.result
                && r.text() == Some(output)
            {
                return Some(Provenance::OtherTurn(j, r));
            }
        }
        self.results
            .iter()
            .find(|r| r.injected && r.text() == Some(output))
            .map(|r| Provenance::Injected(*r))
    }
}

/// A reported output that is some other result's text.
#[derive(Debug, Clone, Copy)]
pub enum Provenance<'a> {
    /// The reply of an injected turn (result at this record).
    Injected(ResultRef<'a>),
    /// The answer to another drive turn (0-based).
    OtherTurn(usize, ResultRef<'a>),
}

impl Provenance<'_> {
    pub fn describe(&self) -> String {
        match self {
            Provenance::Injected(r) => format!(
                "the injected turn's reply (result at transcript record #{})",
                r.record
            ),
            Provenance::OtherTurn(j, r) => format!(
                "the answer to prompt {} (result at transcript record #{})",
                j + 1,
                r.record
            ),
        }
    }

    pub fn record(&self) -> usize {
        match self {
            Provenance::Injected(r) | Provenance::OtherTurn(_, r) => r.record,
        }
    }
}

/// Scripts without `turn` steps: the non-injected results, in order, answer prompts 1..N.
fn positional<'a>(run: &RunArtifacts, results: &[ResultRef<'a>], turns: &mut [TurnAnswer<'a>]) {
    let prompts: Vec<(usize, &Record)> = run
        .transcript
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(&r.event, Event::Stdin { msg: Some(m), .. } if msg_type(m) == Some("user")))
        .collect();
    for (slot, (i, rec)) in turns.iter_mut().zip(prompts) {
        slot.prompt = Some(PromptRef {
            step_record: None,
            stdin_record: Some(i),
            inv: rec.inv,
            t: rec.t,
        });
    }
    for (slot, r) in turns.iter_mut().zip(results.iter().filter(|r| !r.injected)) {
        slot.result = Some(*r);
    }
}

/// Scripts with `turn` steps: each `step … turn … prompt` record is one prompt taken; its
/// answer is the next non-injected result written by the same step in the same invocation.
/// Which drive turn a prompt belongs to is decided by its text (a supervisor that respawns the
/// CLI per turn replays the script from the top), else by order.
fn by_turn_steps<'a>(
    run: &'a RunArtifacts,
    drive: &[&str],
    results: &[ResultRef<'a>],
    turns: &mut [TurnAnswer<'a>],
) {
    // Per invocation: the stdin `user` messages in order, and how many turn steps took one.
    let mut queues: BTreeMap<u32, (Vec<usize>, usize)> = BTreeMap::new();
    let mut used = vec![false; drive.len()];
    let mut ordinal = 0usize;
    let recs = &run.transcript;
    for (i, rec) in recs.iter().enumerate() {
        match &rec.event {
            Event::Stdin { msg: Some(m), .. } if msg_type(m) == Some("user") => {
                queues.entry(rec.inv).or_default().0.push(i);
            }
            Event::Step {
                at, step, outcome, ..
            } if step == "turn" && outcome == "prompt" => {
                let q = queues.entry(rec.inv).or_default();
                let stdin_record = q.0.get(q.1).copied();
                q.1 += 1;
                let text = stdin_record
                    .and_then(|s| match &recs[s].event {
                        Event::Stdin { msg: Some(m), .. } => prompt_text(m),
                        _ => None,
                    })
                    .unwrap_or_default();
                ordinal += 1;
                let Some(j) = assign(drive, &used, &text, stdin_record.is_some(), ordinal) else {
                    continue;
                };
                used[j] = true;
                let at_pos = line_col(at);
                let next_prompt = recs[i + 1..]
                    .iter()
                    .position(|r| {
                        r.inv == rec.inv
                            && matches!(&r.event, Event::Step { step, outcome, .. } if step == "turn" && outcome == "prompt")
                    })
                    .map_or(recs.len(), |k| i + 1 + k);
                let result = results
                    .iter()
                    .find(|r| {
                        r.record > i
                            && r.record < next_prompt
                            && r.inv == rec.inv
                            && !r.injected
                            && at_pos.is_some()
                            && r.by.and_then(line_col) == at_pos
                    })
                    .copied();
                turns[j] = TurnAnswer {
                    prompt: Some(PromptRef {
                        step_record: Some(i),
                        stdin_record,
                        inv: rec.inv,
                        t: rec.t,
                    }),
                    result,
                };
            }
            _ => {}
        }
    }
}

/// The drive turn a prompt with this text belongs to: the first unused one with exactly this
/// prompt, else the first unused one whose prompt it contains (padded prompts), else — unless it
/// repeats an already answered prompt — the first unused one.
fn assign(
    drive: &[&str],
    used: &[bool],
    text: &str,
    have_text: bool,
    ordinal: usize,
) -> Option<usize> {
    let unused = |j: &usize| !used[*j];
    if have_text {
        if let Some(j) = (0..drive.len()).filter(unused).find(|&j| drive[j] == text) {
            return Some(j);
        }
        if let Some(j) = (0..drive.len())
            .filter(unused)
            .find(|&j| !drive[j].is_empty() && text.contains(drive[j]))
        {
            return Some(j);
        }
        if (0..drive.len()).any(|j| used[j] && (drive[j] == text)) {
            return None;
        }
        return (0..drive.len()).find(unused);
    }
    // No text to go by: order.
    (ordinal <= drive.len() && !used[ordinal - 1])
        .then_some(ordinal - 1)
        .or_else(|| (0..drive.len()).find(unused))
}

/// Whether a stdout message is the CLI's report of a background launch: a tool result whose
/// top-level `tool_use_result` has a `backgroundTaskId` (Bash) or `status: async_launched`
/// (Agent). JSON that only appears inside a text string is not one.
pub fn is_launch(msg: &Value) -> bool {
    let Some(r) = msg.get("tool_use_result").filter(|r| r.is_object()) else {
        return false;
    };
    msg_type(msg) == Some("user")
        && (r.get("backgroundTaskId").is_some_and(|id| !id.is_null())
            || r.get("status").and_then(Value::as_str) == Some("async_launched"))
}

/// The transcript record of the first background launch the CLI wrote while answering this
/// turn: after it took the prompt, up to its result (or, unanswered, to the invocation's end).
pub fn launch_in_turn(run: &RunArtifacts, a: &TurnAnswer) -> Option<usize> {
    let p = a.prompt?;
    let from = p.step_record.or(p.stdin_record)?;
    let to = a.result.map_or(run.transcript.len(), |r| r.record + 1);
    (from..to.min(run.transcript.len())).find(|&i| {
        let rec = &run.transcript[i];
        rec.inv == p.inv
            && matches!(&rec.event, Event::Stdout { msgs: Some(m), .. } if m.iter().any(is_launch))
    })
}

/// The first report line for drive turn `i` (0-based `index`).
pub fn report_turn(run: &RunArtifacts, i: usize) -> Option<&TurnReport> {
    run.report.turns.iter().find(|t| t.index == i)
}

// ---------------------------------------------------------------------------------------------
// invocations

/// How one fake invocation ended, as far as its transcript shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// `exit` record: the code. `signalled` when a `signal` record came first (the supervisor
    /// stopped it, e.g. SIGTERM → 143).
    Exit { code: i32, signalled: bool },
    /// The fake killed itself (`kill` step).
    SelfKill(String),
    /// A signal arrived and nothing followed (died by it).
    Signalled(String),
    /// The watchdog ended it.
    Watchdog(u64),
    /// No record says how it ended (SIGKILL, or still running when the transcript was read).
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Invocation {
    pub inv: u32,
    pub start: Option<usize>,
    pub pid: Option<u32>,
    pub version_probe: bool,
    /// Record indexes of this invocation, in order.
    pub records: Vec<usize>,
    pub eof: Option<usize>,
    pub ending: Ending,
    /// The record that says how it ended.
    pub end_record: Option<usize>,
    /// A script step's expectation failed (fake-claude's `expectation failed` note).
    pub script_failed: bool,
}

/// fake-claude's exit code when a script step's expectation failed.
pub const EXIT_EXPECT_FAILED: i32 = 97;

impl Invocation {
    /// The CLI ended without the supervisor's doing: a scripted exit or crash, a failed script
    /// expectation, its watchdog — not after stdin EOF, not by the supervisor's signal.
    pub fn ended_on_its_own(&self) -> bool {
        match &self.ending {
            Ending::Exit {
                code,
                signalled: false,
            } => {
                *code == EXIT_EXPECT_FAILED
                    || self
                        .eof
                        .is_none_or(|eof| self.end_record.is_some_and(|end| end < eof))
            }
            Ending::SelfKill(_) | Ending::Watchdog(_) => true,
            _ => false,
        }
    }
}

pub fn invocations(run: &RunArtifacts) -> Vec<Invocation> {
    let mut by_inv: BTreeMap<u32, Invocation> = BTreeMap::new();
    for (i, rec) in run.transcript.iter().enumerate() {
        let inv = by_inv.entry(rec.inv).or_insert_with(|| Invocation {
            inv: rec.inv,
            start: None,
            pid: None,
            version_probe: false,
            records: Vec::new(),
            eof: None,
            ending: Ending::Unknown,
            end_record: None,
            script_failed: false,
        });
        inv.records.push(i);
        match &rec.event {
            Event::Start {
                pid, version_probe, ..
            } => {
                inv.start.get_or_insert(i);
                inv.pid.get_or_insert(*pid);
                inv.version_probe |= *version_probe;
            }
            Event::StdinEof => {
                inv.eof.get_or_insert(i);
            }
            Event::Note { text } if text.starts_with("expectation failed") => {
                inv.script_failed = true;
            }
            // Only the first ending counts; a signal after the exit changes nothing.
            Event::Signal { signal, .. } if matches!(inv.ending, Ending::Unknown) => {
                inv.ending = Ending::Signalled(signal.clone());
                inv.end_record = Some(i);
            }
            Event::Watchdog { after_ms }
                if !matches!(inv.ending, Ending::Exit { .. } | Ending::SelfKill(_)) =>
            {
                inv.ending = Ending::Watchdog(*after_ms);
                inv.end_record = Some(i);
            }
            Event::Kill { signal } if matches!(inv.ending, Ending::Unknown) => {
                inv.ending = Ending::SelfKill(signal.clone());
                inv.end_record = Some(i);
            }
            Event::Exit { code }
                if matches!(inv.ending, Ending::Unknown | Ending::Signalled(_)) =>
            {
                let signalled = matches!(inv.ending, Ending::Signalled(_));
                inv.ending = Ending::Exit {
                    code: *code,
                    signalled,
                };
                inv.end_record = Some(i);
            }
            _ => {}
        }
    }
    by_inv.into_values().collect()
}

/// Seconds as a short human string (`1.25 s`).
pub fn secs(s: f64) -> String {
    format!("{s:.2} s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_takes_the_last_two_fields() {
        assert_eq!(line_col("a/b.yaml:30:5"), Some((30, 5)));
        assert_eq!(line_col("C:/x.yaml:3:1"), Some((3, 1)));
        assert_eq!(line_col("handler:initialize"), None);
        assert_eq!(line_col("3:1"), None);
        assert_eq!(line_col(""), None);
    }

    #[test]
    fn assignment_prefers_text_then_order() {
        let drive = ["a", "b", "a"];
        assert_eq!(assign(&drive, &[false; 3], "b", true, 1), Some(1));
        assert_eq!(assign(&drive, &[true, false, false], "a", true, 2), Some(2));
        assert_eq!(assign(&drive, &[true, true, true], "a", true, 4), None);
        assert_eq!(assign(&drive, &[false; 3], "zzz", true, 1), Some(0));
        assert_eq!(assign(&drive, &[false; 3], "xx a yy", true, 1), Some(0));
        // A repeat of an answered prompt is not a new turn.
        assert_eq!(assign(&["a", "b"], &[true, false], "a", true, 2), None);
        assert_eq!(assign(&drive, &[false; 3], "", false, 2), Some(1));
        assert_eq!(assign(&[], &[], "", false, 1), None);
    }
}
