//! Scenario expectations: what the author wrote under `expect` (per-turn status, output, error;
//! patterns on what the supervisor wrote to stdin), with `by_policy[<the supervisor's policy>]`
//! merged over the general ones — and, where the author wrote nothing, the outcome derived from
//! the script: *the result emitted in answer to prompt N defines turn N; injected turns answer no
//! prompt* (see [`facts::Answers`] for how the transcript is read).
//!
//! Derivation, per drive turn N without an author-written outcome (and without a `by_policy`
//! entry for the supervisor's policy):
//! * the CLI answered prompt N with a success result → `completed`, with that result's text as
//!   the output; with an error result → `failed` (or `aborted` if the drive interrupts the turn);
//! * the CLI took prompt N but never answered → not `completed` (`failed`/`aborted`, and
//!   `timeout` too unless the CLI ended by itself); a supervisor that still reports it completed is
//!   `turn-attribution`'s to report;
//! * the CLI never got prompt N (the supervisor stalled or never started it) → what the script
//!   says, when its `turn` steps can be read without running it ([`facts::StaticTurn`]).

use fake_claude::matcher;
use fake_claude::scenario::Loaded;
use fake_claude::scenario::model::{
    Anchor, Count, EndExpect, EndStatus, Expectations, PolicyExpectations, StdinExpect, Timing,
    TurnExpect, TurnStatus,
};
use fake_claude::transcript::Event;
use serde_json::Value;

use crate::artifacts::RunArtifacts;
use crate::invariants::facts::{self, Answers, Ending, TurnAnswer};
use crate::invariants::{recs, show};
use crate::verdict::Violation;

/// Where an expected value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// `expect.turns[i]`.
    Author,
    /// `expect.by_policy.<policy>.turns[i]`.
    Policy(String),
    /// Derived from the transcript or the script: the explanation, and the records involved.
    Derived(String, Vec<usize>),
    /// Derived from the supervisor's policy and what the CLI did in its run (a background launch
    /// under foreground-only): the explanation, and the records involved.
    PolicyDerived(String, Vec<usize>),
}

impl Origin {
    fn note(&self) -> String {
        match self {
            Origin::Author => String::new(),
            Origin::Policy(p) => format!(" (by_policy {p})"),
            Origin::Derived(why, _) | Origin::PolicyDerived(why, _) => format!(" ({why})"),
        }
    }

    fn records(&self) -> Vec<usize> {
        match self {
            Origin::Derived(_, r) | Origin::PolicyDerived(_, r) => r.clone(),
            _ => vec![],
        }
    }
}

/// One expected field.
#[derive(Debug, Clone, PartialEq)]
pub struct Exp<T> {
    pub value: T,
    pub origin: Origin,
}

/// The expected outcome of one turn; `None` fields are not checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TurnExpectation {
    /// Statuses that are accepted.
    pub status: Option<Exp<Vec<&'static str>>>,
    /// Author outputs are patterns (`[..]` globs); derived ones are exact.
    pub output: Option<Exp<String>>,
    /// Each must be in the error text (case-insensitive).
    pub error_contains: Option<Exp<Vec<String>>>,
    /// None may be in the error text (case-insensitive).
    pub error_excludes: Option<Exp<Vec<String>>>,
    /// Author-written only: the flag is the supervisor's judgement, nothing to derive it from.
    pub needs_input: Option<Exp<bool>>,
    /// Author-written patterns on the turn's surfaced messages (`expect.turns[i].messages`).
    pub messages: Vec<Exp<StdinExpect>>,
    /// Author-written: when the turn line must arrive.
    pub reported: Option<Exp<Timing>>,
}

fn status_name(s: TurnStatus) -> &'static str {
    match s {
        TurnStatus::Completed => "completed",
        TurnStatus::Failed => "failed",
        TurnStatus::Aborted => "aborted",
        TurnStatus::Timeout => "timeout",
        TurnStatus::Blocked => "blocked",
    }
}

/// The expectations for every drive turn (and any further turns the author wrote).
pub fn turn_expectations(run: &RunArtifacts, scenario: &Loaded) -> Vec<TurnExpectation> {
    let answers = Answers::of(run, scenario);
    turn_expectations_with(run, scenario, &answers)
}

fn turn_expectations_with(
    run: &RunArtifacts,
    scenario: &Loaded,
    answers: &Answers,
) -> Vec<TurnExpectation> {
    let s = &scenario.scenario;
    let policy = run
        .policy
        .as_deref()
        .and_then(|p| s.expect.by_policy.get_key_value(p));
    let n = s
        .drive
        .turns
        .len()
        .max(s.expect.turns.len())
        .max(policy.map_or(0, |(_, pe)| pe.turns.len()));
    let invs = facts::invocations(run);
    (0..n)
        .map(|i| {
            let general = s.expect.turns.get(i);
            let by_policy = policy.and_then(|(name, pe)| pe.turns.get(i).map(|t| (name, t)));
            let mut e = TurnExpectation::default();
            let mut take = |t: &TurnExpect, origin: Origin| {
                // A policy that expects another outcome drops the general output and error:
                // they describe the outcome it replaces.
                let statuses: Option<Vec<&'static str>> = t
                    .status
                    .as_ref()
                    .map(|st| st.to_vec().into_iter().map(|s| status_name(*s)).collect());
                if let Some(st) = &statuses
                    && e.status.as_ref().is_some_and(|g| g.value != *st)
                {
                    e.output = None;
                    e.error_contains = None;
                    e.error_excludes = None;
                }
                if let Some(st) = statuses {
                    e.status = Some(Exp {
                        value: st,
                        origin: origin.clone(),
                    });
                }
                if let Some(o) = &t.output {
                    e.output = Some(Exp {
                        value: o.clone(),
                        origin: origin.clone(),
                    });
                }
                if let Some(c) = &t.error_contains {
                    e.error_contains = Some(Exp {
                        value: c.to_vec().into_iter().cloned().collect(),
                        origin: origin.clone(),
                    });
                }
                if let Some(c) = &t.error_excludes {
                    e.error_excludes = Some(Exp {
                        value: c.to_vec().into_iter().cloned().collect(),
                        origin: origin.clone(),
                    });
                }
                if let Some(b) = t.needs_input {
                    e.needs_input = Some(Exp {
                        value: b,
                        origin: origin.clone(),
                    });
                }
                if let Some(r) = t.reported {
                    e.reported = Some(Exp {
                        value: r,
                        origin: origin.clone(),
                    });
                }
                if !t.messages.is_empty() {
                    e.messages = t
                        .messages
                        .iter()
                        .map(|m| Exp {
                            value: m.clone(),
                            origin: origin.clone(),
                        })
                        .collect();
                }
            };
            if let Some(t) = general {
                take(t, Origin::Author);
            }
            if let Some((name, t)) = by_policy {
                take(t, Origin::Policy(name.clone()));
            }
            if by_policy.is_none() && i < s.drive.turns.len() {
                let authored = general.is_some_and(|t| t.status.is_some());
                if !authored {
                    launched_under_foreground_only(&mut e, i, run, answers);
                }
                derive(&mut e, i, scenario, answers, &invs);
            }
            e
        })
        .collect()
}

/// A foreground-only supervisor cannot wait for background work: a turn in which the CLI
/// launched a background task (the transcript says so, whatever the script meant) must fail,
/// naming the background. Whether the launch happens depends on how the fake decided the tool
/// call for this supervisor's invocation, so the scenario cannot state it once for all.
fn launched_under_foreground_only(
    e: &mut TurnExpectation,
    i: usize,
    run: &RunArtifacts,
    answers: &Answers,
) {
    if run.policy.as_deref() != Some("foreground-only") {
        return;
    }
    let Some(rec) = answers
        .turns
        .get(i)
        .and_then(|a| facts::launch_in_turn(run, a))
    else {
        return;
    };
    let why = format!(
        "the CLI launched a background task in turn {} (transcript record #{rec}) and the policy is foreground-only",
        i + 1
    );
    e.status = Some(Exp {
        value: vec!["failed"],
        origin: Origin::PolicyDerived(why.clone(), vec![rec]),
    });
    e.error_contains = Some(Exp {
        value: vec!["background".into()],
        origin: Origin::PolicyDerived(why, vec![rec]),
    });
    e.output = None;
}

/// Fill in what the author left out, from the transcript (or the script).
fn derive(
    e: &mut TurnExpectation,
    i: usize,
    scenario: &Loaded,
    answers: &Answers,
    invs: &[facts::Invocation],
) {
    let n = i + 1;
    let interrupted = scenario.scenario.drive.turns[i]
        .actions
        .iter()
        .any(|a| a.kind == "interrupt");
    let derive_status = e.status.is_none() && e.error_contains.is_none();
    let a: &TurnAnswer = &answers.turns[i];
    let (status, output): (Option<Exp<Vec<&'static str>>>, Option<Exp<String>>) = match (
        a.result, a.prompt,
    ) {
        (Some(r), _) if r.is_success() => {
            let why = format!(
                "the result that answered prompt {n}, transcript record #{}",
                r.record
            );
            (
                Some(Exp {
                    value: vec!["completed"],
                    origin: Origin::Derived(why.clone(), vec![r.record]),
                }),
                r.text().map(|t| Exp {
                    value: t.to_string(),
                    origin: Origin::Derived(why, vec![r.record]),
                }),
            )
        }
        (Some(r), _) => {
            let aborted = interrupted
                || r.msg
                    .get("terminal_reason")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.starts_with("aborted"));
            let mut value = vec!["failed"];
            if aborted {
                value.push("aborted");
            }
            (
                Some(Exp {
                    value,
                    origin: Origin::Derived(
                        format!(
                            "prompt {n} was answered by an error result ({}), transcript record #{}",
                            r.subtype(),
                            r.record
                        ),
                        vec![r.record],
                    ),
                }),
                None,
            )
        }
        (None, Some(p)) => {
            let ended_itself = invs.iter().find(|v| v.inv == p.inv).is_some_and(|v| {
                matches!(
                    v.ending,
                    Ending::Exit {
                        signalled: false,
                        ..
                    } | Ending::SelfKill(_)
                )
            });
            let mut value = vec!["failed", "aborted"];
            if !ended_itself {
                value.push("timeout");
            }
            let rec = p.step_record.or(p.stdin_record).unwrap_or_default();
            (
                Some(Exp {
                    value,
                    origin: Origin::Derived(
                        format!(
                            "the CLI took prompt {n} at transcript record #{rec} and never answered it{}",
                            if ended_itself { ": it ended first" } else { "" }
                        ),
                        vec![rec],
                    ),
                }),
                None,
            )
        }
        (None, None) => match answers.map.static_turns.get(i) {
            // Only if the CLI was never cut short by its own script (a failed `expect`, an
            // exit): then the supervisor alone kept prompt N from it.
            Some(st)
                if !invs
                    .iter()
                    .any(|v| !v.version_probe && v.ended_on_its_own()) =>
            {
                let why = format!(
                    "the script's turn step at line {}; the CLI never received prompt {n}",
                    st.at.0
                );
                (
                    Some(Exp {
                        value: vec![if st.completed { "completed" } else { "failed" }],
                        origin: Origin::Derived(why.clone(), vec![]),
                    }),
                    st.output.clone().map(|o| Exp {
                        value: o,
                        origin: Origin::Derived(why, vec![]),
                    }),
                )
            }
            _ => (None, None),
        },
    };
    if derive_status {
        e.status = status;
    }
    let completed_only = e.status.as_ref().is_some_and(|s| s.value == ["completed"]);
    if e.output.is_none() && completed_only {
        e.output = output;
    }
}

/// Every violated expectation of this run, turns first, then stdin patterns.
pub fn check(run: &RunArtifacts, scenario: &Loaded) -> Vec<Violation> {
    let answers = Answers::of(run, scenario);
    let mut out = Vec::new();
    for (i, e) in turn_expectations_with(run, scenario, &answers)
        .iter()
        .enumerate()
    {
        check_turn(run, &answers, i, e, &mut out);
    }
    check_stdin(run, scenario, &mut out);
    check_events(run, scenario, &mut out);
    check_end(run, scenario, &mut out);
    check_invocations(run, scenario, &mut out);
    check_script(run, &mut out);
    out
}

/// `expect.events` (then the policy's): patterns over the report's event lines.
fn check_events(run: &RunArtifacts, scenario: &Loaded, out: &mut Vec<Violation>) {
    let all = patterns(run, scenario, "events", |e| &e.events, |p| &p.events);
    let events = &run.report.events;
    for (id, s) in all {
        let hits: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matcher::matches(&s.pattern, e).is_ok())
            .map(|(k, _)| k)
            .collect();
        let (ok, want) = count_wanted(s.count, hits.len(), "report event");
        if ok {
            continue;
        }
        let because = because(s);
        let found = if hits.is_empty() {
            let names: Vec<&str> = events
                .iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str))
                .collect();
            if names.is_empty() {
                "the report has no events".to_string()
            } else {
                format!("found none among its events ({})", names.join(", "))
            }
        } else {
            let first: Vec<String> = hits
                .iter()
                .take(3)
                .map(|&k| pattern_text(&events[k]))
                .collect();
            format!("found {}: {}", hits.len(), first.join("; "))
        };
        out.push(Violation {
            id,
            message: format!(
                "expected {want} matching {}{because}: {found}",
                pattern_text(&s.pattern)
            ),
            records: vec![],
        });
    }
}

/// `expect.invocations`: how many CLI processes ran (probes not counted), and their argv.
fn check_invocations(run: &RunArtifacts, scenario: &Loaded, out: &mut Vec<Violation>) {
    let Some(exp) = &scenario.scenario.expect.invocations else {
        return;
    };
    let ran: Vec<(usize, &Vec<String>)> = run
        .transcript
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.event {
            Event::Start {
                argv,
                version_probe: false,
                ..
            } => Some((i, argv)),
            _ => None,
        })
        .collect();
    let records: Vec<usize> = ran.iter().map(|(i, _)| *i).collect();
    let (ok, want) = count_wanted(exp.count, ran.len(), "CLI process");
    if !ok {
        out.push(Violation {
            id: "expect.invocations.count".into(),
            message: format!(
                "expected {want} (version probes not counted): {} ran ({})",
                ran.len(),
                recs(&records)
            ),
            records: records.clone(),
        });
    }
    for (j, a) in exp.argv.iter().enumerate() {
        let id = format!("expect.invocations.argv[{j}]");
        let Some((rec, argv)) = (a.invocation as usize)
            .checked_sub(1)
            .and_then(|k| ran.get(k))
        else {
            out.push(Violation {
                id,
                message: format!(
                    "expected CLI process {} to check its argv, but {} ran",
                    a.invocation,
                    ran.len()
                ),
                records: records.clone(),
            });
            continue;
        };
        let has = |want: &String| argv.iter().any(|arg| arg_is(arg, want));
        let missing: Vec<&String> = a.contains.iter().filter(|c| !has(c)).collect();
        let present: Vec<&String> = a.excludes.iter().filter(|c| has(c)).collect();
        if !missing.is_empty() || !present.is_empty() {
            let mut why = Vec::new();
            if !missing.is_empty() {
                why.push(format!("it lacks {missing:?}"));
            }
            if !present.is_empty() {
                why.push(format!("it has {present:?}"));
            }
            out.push(Violation {
                id,
                message: format!(
                    "CLI process {} (record #{rec}) was started with {argv:?}: {}",
                    a.invocation,
                    why.join(" and ")
                ),
                records: vec![*rec],
            });
        }
    }
}

/// An argument is `want` — or, for a flag (`--resume`), its `--flag=value` form too: both are
/// how the CLI takes it.
fn arg_is(arg: &str, want: &str) -> bool {
    arg == want
        || (want.starts_with('-')
            && !want.contains('=')
            && arg
                .strip_prefix(want)
                .is_some_and(|rest| rest.starts_with('=')))
}

/// `expect.end`, with the policy's fields over it.
fn check_end(run: &RunArtifacts, scenario: &Loaded, out: &mut Vec<Violation>) {
    let exp = &scenario.scenario.expect;
    let policy = run
        .policy
        .as_deref()
        .and_then(|p| exp.by_policy.get_key_value(p))
        .and_then(|(name, pe)| pe.end.as_ref().map(|e| (name, e)));
    let (prefix, general) = match (policy, &exp.end) {
        (Some((name, e)), _) => (format!("expect.by_policy.{name}.end"), e),
        (None, Some(e)) => ("expect.end".to_string(), e),
        (None, None) => return,
    };
    // Fields the policy leaves out come from the general expectation.
    let pick = |f: fn(&EndExpect) -> bool| -> &EndExpect {
        match (policy, &exp.end) {
            (Some((_, p)), Some(g)) if !f(p) => g,
            _ => general,
        }
    };
    let status = pick(|e| e.status.is_some());
    let contains = pick(|e| e.error_contains.is_some());
    let excludes = pick(|e| e.error_excludes.is_some());
    let code = pick(|e| e.cli_exit_code.is_some());
    let signal = pick(|e| e.cli_signal.is_some());
    let id = |field: &str| format!("{prefix}.{field}");
    let Some(end) = &run.report.end else {
        out.push(Violation {
            id: id("status"),
            message: "expected an end line but the report has none".into(),
            records: vec![],
        });
        return;
    };
    let error = || {
        end.error
            .as_deref()
            .map_or("no error".to_string(), |e| format!("error {}", show(e)))
    };
    if let Some(st) = &status.status {
        let want: Vec<&str> = st
            .to_vec()
            .into_iter()
            .map(|s| match s {
                EndStatus::Ok => "ok",
                EndStatus::Error => "error",
            })
            .collect();
        if !want.contains(&end.status.as_str()) {
            out.push(Violation {
                id: id("status"),
                message: format!(
                    "expected the run to end {} but the end line says {} ({})",
                    want.join(" or "),
                    end.status,
                    error()
                ),
                records: vec![],
            });
        }
    }
    if let Some(c) = &contains.error_contains {
        let wanted: Vec<String> = c.to_vec().into_iter().cloned().collect();
        let missing = missing_texts(end.error.as_deref(), &wanted);
        if !missing.is_empty() {
            out.push(Violation {
                id: id("error_contains"),
                message: format!(
                    "expected the end line's error to contain {} but it has {}",
                    shows(&missing),
                    error()
                ),
                records: vec![],
            });
        }
    }
    if let Some(c) = &excludes.error_excludes
        && let Some(err) = &end.error
    {
        let unwanted: Vec<String> = c.to_vec().into_iter().cloned().collect();
        let found = present_texts(err, &unwanted);
        if !found.is_empty() {
            out.push(Violation {
                id: id("error_excludes"),
                message: format!(
                    "the end line's error must not mention {} but it does: {}",
                    shows(&found),
                    show(err)
                ),
                records: vec![],
            });
        }
    }
    let timing = pick(|e| e.reported.is_some());
    if let Some(r) = &timing.reported {
        let answers = Answers::of(run, scenario);
        if let Some(v) = check_timing(
            run,
            &answers,
            None,
            r,
            end.at_ms,
            &id("reported"),
            "the end line",
        ) {
            out.push(v);
        }
    }
    for (field, want, got) in [
        ("cli_exit_code", code.cli_exit_code, end.cli_exit_code),
        ("cli_signal", signal.cli_signal, end.cli_signal),
    ] {
        if let Some(want) = want
            && want != got
        {
            let text = |v: Option<i32>| v.map_or("null".to_string(), |v| v.to_string());
            out.push(Violation {
                id: id(field),
                message: format!(
                    "expected the end line's {field} to be {} but it is {}",
                    text(want),
                    text(got)
                ),
                records: vec![],
            });
        }
    }
}

/// The fake's own checks: a script step whose expectation failed ended the CLI with exit 97
/// (an `expect` that timed out, saw EOF or a mismatch; a `request` whose answer did not match).
fn check_script(run: &RunArtifacts, out: &mut Vec<Violation>) {
    for inv in facts::invocations(run) {
        let Ending::Exit { code, .. } = inv.ending else {
            continue;
        };
        let Some(end) = inv.end_record else { continue };
        if code != facts::EXIT_EXPECT_FAILED {
            continue;
        }
        let failed = inv.records.iter().rev().copied().find(|&i| {
            i < end
                && matches!(&run.transcript[i].event, Event::Step { outcome, .. }
                    if matches!(outcome.as_str(), "timed_out" | "eof" | "mismatched" | "failed"))
        });
        let message = match failed.map(|i| (i, &run.transcript[i].event)) {
            Some((
                i,
                Event::Step {
                    at,
                    step,
                    outcome,
                    detail,
                    ..
                },
            )) => format!(
                "the CLI's script failed at line {}: its `{step}` step {} (record #{i}){}, and the CLI exited {code}",
                facts::line_col(at).map_or("?".to_string(), |p| p.0.to_string()),
                match outcome.as_str() {
                    "timed_out" => "timed out waiting for the supervisor",
                    "eof" => "saw stdin closed before the supervisor did what it waits for",
                    "failed" => "caught the supervisor",
                    _ => "got a message from the supervisor that does not match",
                },
                detail
                    .as_deref()
                    .map(|d| format!(": {}", show(d)))
                    .unwrap_or_default()
            ),
            _ => format!(
                "CLI invocation {} exited {code}: its script failed (see the fake's stderr)",
                inv.inv
            ),
        };
        let mut records: Vec<usize> = failed.into_iter().collect();
        records.push(end);
        out.push(Violation {
            id: "expect.script".into(),
            message,
            records,
        });
    }
}

fn check_turn(
    run: &RunArtifacts,
    answers: &Answers,
    i: usize,
    e: &TurnExpectation,
    out: &mut Vec<Violation>,
) {
    let n = i + 1;
    let id = |field: &str| format!("expect.turns[{i}].{field}");
    let Some(t) = facts::report_turn(run, i) else {
        // One violation for a missing turn: on the first field expected.
        let (field, what, origin) = if let Some(s) = &e.status {
            (
                "status",
                format!("status {}", s.value.join(" or ")),
                &s.origin,
            )
        } else if let Some(o) = &e.output {
            ("output", format!("output {}", show(&o.value)), &o.origin)
        } else if let Some(c) = &e.error_contains {
            (
                "error_contains",
                format!("an error containing {}", shows(&c.value)),
                &c.origin,
            )
        } else {
            return;
        };
        out.push(Violation {
            id: id(field),
            message: format!(
                "turn {n}: expected {what}{} but the supervisor reported no turn {n} (index {i})",
                origin.note()
            ),
            records: origin.records(),
        });
        return;
    };

    let mut status_failed = false;
    if let Some(s) = &e.status
        && !s.value.contains(&t.status.as_str())
    {
        status_failed = true;
        let derived_unanswered = matches!(&s.origin, Origin::Derived(..))
            && !s.value.contains(&"completed")
            && t.status == "completed";
        // A completion nobody answered is turn-attribution's (with the records to show it).
        if !derived_unanswered {
            out.push(Violation {
                id: id("status"),
                message: format!(
                    "turn {n}: expected status {}{} but the supervisor reported {}{}",
                    s.value.join(" or "),
                    s.origin.note(),
                    t.status,
                    t.error
                        .as_deref()
                        .map(|e| format!(" (error: {})", show(e)))
                        .unwrap_or_default()
                ),
                records: s.origin.records(),
            });
        }
    }

    // A turn that did not complete and reported no output already failed on its status.
    if let Some(o) = &e.output
        && !(status_failed && t.output.is_none())
    {
        let matched = match (&t.output, &o.origin) {
            (None, _) => false,
            (Some(got), Origin::Derived(..)) => *got == o.value,
            (Some(got), _) => {
                matcher::matches(&Value::String(o.value.clone()), &Value::String(got.clone()))
                    .is_ok()
            }
        };
        if !matched {
            let mut records = o.origin.records();
            let (got, prov) = match &t.output {
                None => ("no output".to_string(), None),
                Some(got) => (show(got), answers.provenance(i, got)),
            };
            if let Some(p) = &prov {
                records.push(p.record());
            }
            out.push(Violation {
                id: id("output"),
                message: format!(
                    "turn {n}: expected output {}{} but the supervisor reported {got}{}",
                    show(&o.value),
                    o.origin.note(),
                    prov.map(|p| format!(" — {}", p.describe()))
                        .unwrap_or_default()
                ),
                records,
            });
        }
    }

    if let Some(c) = &e.error_contains {
        let missing = missing_texts(t.error.as_deref(), &c.value);
        if !missing.is_empty() {
            out.push(Violation {
                id: id("error_contains"),
                message: format!(
                    "turn {n}: expected an error containing {}{} but the supervisor reported {}{}",
                    shows(&missing),
                    c.origin.note(),
                    t.status,
                    match &t.error {
                        Some(err) => format!(" with error {}", show(err)),
                        None => " with no error".into(),
                    }
                ),
                records: c.origin.records(),
            });
        }
    }
    if let Some(c) = &e.error_excludes
        && let Some(err) = &t.error
    {
        let found = present_texts(err, &c.value);
        if !found.is_empty() {
            out.push(Violation {
                id: id("error_excludes"),
                message: format!(
                    "turn {n}: the error must not mention {}{} but it does: {}",
                    shows(&found),
                    c.origin.note(),
                    show(err)
                ),
                records: c.origin.records(),
            });
        }
    }

    if let Some(want) = &e.needs_input {
        let got = t.needs_input.unwrap_or(false);
        if got != want.value {
            out.push(Violation {
                id: id("needs_input"),
                message: format!(
                    "turn {n}: expected the supervisor to {} the turn as needing input{} but it {}",
                    if want.value { "flag" } else { "not flag" },
                    want.origin.note(),
                    if got {
                        "did".to_string()
                    } else {
                        format!("reported it {} without the flag", t.status)
                    }
                ),
                records: want.origin.records(),
            });
        }
    }

    if let Some(r) = &e.reported
        && let Some(v) = check_timing(
            run,
            answers,
            Some(i),
            &r.value,
            t.at_ms,
            &id("reported"),
            &format!("turn {n}'s report line"),
        )
    {
        out.push(v);
    }

    for (j, m) in e.messages.iter().enumerate() {
        let hits = t
            .messages
            .iter()
            .filter(|msg| matcher::matches(&m.value.pattern, msg).is_ok())
            .count();
        let (ok, want) = count_wanted(m.value.count, hits, "surfaced message");
        if !ok {
            out.push(Violation {
                id: format!("expect.turns[{i}].messages[{j}]"),
                message: format!(
                    "turn {n}: expected {want} matching {}{}{}: found {hits} among its {} message(s)",
                    pattern_text(&m.value.pattern),
                    m.value
                        .because
                        .as_deref()
                        .map(|b| format!(" ({b})"))
                        .unwrap_or_default(),
                    m.origin.note(),
                    t.messages.len()
                ),
                records: m.origin.records(),
            });
        }
    }
}

/// Where invocation `inv`'s `t = 0` is on the adapter's clock (ms since its spawn).
fn invocation_offset_ms(run: &RunArtifacts, inv: u32) -> Option<f64> {
    let spawned = run.spawned_unix_ms?;
    run.transcript.iter().find_map(|r| match &r.event {
        Event::Start {
            unix_ms: Some(u), ..
        } if r.inv == inv => Some(u - spawned),
        _ => None,
    })
}

/// A transcript record's time on the adapter's clock.
fn record_ms(run: &RunArtifacts, i: usize) -> Option<f64> {
    let r = run.transcript.get(i)?;
    Some(invocation_offset_ms(run, r.inv)? + r.t * 1000.0)
}

/// The record an anchor names, for turn `turn` (`None`: the run, for the end line), given when
/// the line arrived.
fn anchor_record(
    run: &RunArtifacts,
    answers: &Answers,
    turn: Option<usize>,
    anchor: Anchor,
    line_ms: f64,
) -> Option<usize> {
    let prompt = match turn {
        Some(i) => answers.turns.get(i).and_then(|a| a.prompt),
        None => answers.turns.iter().rev().find_map(|a| a.prompt),
    };
    match anchor {
        Anchor::Prompt => prompt.and_then(|p| p.step_record.or(p.stdin_record)),
        Anchor::Result => match turn {
            Some(i) => answers
                .turns
                .get(i)
                .and_then(|a| a.result)
                .map(|r| r.record),
            None => answers.results.last().map(|r| r.record),
        },
        Anchor::CliExit => {
            let invs = facts::invocations(run);
            let inv = match prompt {
                Some(p) => invs.iter().find(|v| v.inv == p.inv),
                None => invs.iter().rev().find(|v| !v.version_probe),
            };
            inv.and_then(|v| v.end_record)
        }
        Anchor::LastOutput => run
            .transcript
            .iter()
            .enumerate()
            .rev()
            .find(|(i, r)| {
                matches!(r.event, Event::Stdout { .. })
                    && record_ms(run, *i).is_some_and(|t| t <= line_ms)
            })
            .map(|(i, _)| i),
    }
}

fn anchor_name(a: Anchor) -> &'static str {
    match a {
        Anchor::Prompt => "the CLI read the prompt",
        Anchor::Result => "the CLI wrote the result",
        Anchor::CliExit => "the CLI ended",
        Anchor::LastOutput => "the CLI's last output",
    }
}

/// A `reported` timing: the line (read at `at_ms`) must come within / at least so long after
/// its anchor.
fn check_timing(
    run: &RunArtifacts,
    answers: &Answers,
    turn: Option<usize>,
    timing: &Timing,
    at_ms: Option<f64>,
    id: &str,
    what: &str,
) -> Option<Violation> {
    let fail = |message: String, records: Vec<usize>| {
        Some(Violation {
            id: id.to_string(),
            message,
            records,
        })
    };
    let Some(line) = at_ms else {
        return fail(format!("{what} has no arrival time to judge"), vec![]);
    };
    let Some(rec) = anchor_record(run, answers, turn, timing.after, line) else {
        return fail(
            format!(
                "{what} is timed from when {}, which the transcript does not show",
                anchor_name(timing.after)
            ),
            vec![],
        );
    };
    let Some(anchor) = record_ms(run, rec) else {
        return fail(
            format!("{what}: the transcript has no wall-clock start to time record #{rec} by"),
            vec![rec],
        );
    };
    let after = line - anchor;
    let secs = |ms: f64| format!("{:.2} s", ms / 1000.0);
    if let Some(w) = timing.within.map(|m| m.0 as f64)
        && after > w
    {
        return fail(
            format!(
                "{what} arrived {} after {} (record #{rec}); expected within {}",
                secs(after),
                anchor_name(timing.after),
                secs(w)
            ),
            vec![rec],
        );
    }
    if let Some(l) = timing.at_least.map(|m| m.0 as f64)
        && after < l
    {
        return fail(
            format!(
                "{what} arrived {} after {} (record #{rec}); expected at least {}",
                secs(after.max(0.0)),
                anchor_name(timing.after),
                secs(l)
            ),
            vec![rec],
        );
    }
    None
}

/// Whether `hits` satisfies an expected `count` (absent: at least one), and the wording of it.
pub fn count_wanted(count: Option<Count>, hits: usize, what: &str) -> (bool, String) {
    let many = if what.ends_with('s') {
        format!("{what}es")
    } else {
        format!("{what}s")
    };
    let plural = |k: u32| {
        if k == 1 {
            what.to_string()
        } else {
            many.clone()
        }
    };
    match count {
        None => (hits > 0, format!("at least one {what}")),
        Some(Count::Exactly(0)) => (hits == 0, format!("no {what}")),
        Some(Count::Exactly(1)) => (hits == 1, format!("exactly one {what}")),
        Some(Count::Exactly(k)) => (hits == k as usize, format!("exactly {k} {many}")),
        Some(Count::Range(r)) => {
            let lo = r.at_least.unwrap_or(0);
            let ok = hits >= lo as usize && r.at_most.is_none_or(|hi| hits <= hi as usize);
            let want = match (r.at_least, r.at_most) {
                (Some(lo), Some(hi)) => format!("between {lo} and {hi} {}", plural(hi)),
                (Some(lo), None) => format!("at least {lo} {}", plural(lo)),
                (None, Some(hi)) => format!("at most {hi} {}", plural(hi)),
                (None, None) => format!("any number of {many}"),
            };
            (ok, want)
        }
    }
}

/// The `wanted` texts not in `text` (case-insensitive); all of them when there is no text.
pub fn missing_texts(text: Option<&str>, wanted: &[String]) -> Vec<String> {
    let lower = text.map(str::to_lowercase);
    wanted
        .iter()
        .filter(|w| {
            lower
                .as_deref()
                .is_none_or(|l| !l.contains(&w.to_lowercase()))
        })
        .cloned()
        .collect()
}

/// The `unwanted` texts that are in `text` (case-insensitive).
pub fn present_texts(text: &str, unwanted: &[String]) -> Vec<String> {
    let lower = text.to_lowercase();
    unwanted
        .iter()
        .filter(|u| lower.contains(&u.to_lowercase()))
        .cloned()
        .collect()
}

/// `"a"`, or `"a" and "b"`.
fn shows(texts: &[String]) -> String {
    let all: Vec<String> = texts.iter().map(|t| show(t)).collect();
    match all.len() {
        0 | 1 => all.concat(),
        _ => format!(
            "{} and {}",
            all[..all.len() - 1].join(", "),
            all[all.len() - 1]
        ),
    }
}

/// The stdin messages the supervisor wrote (all invocations), with their record indexes.
pub fn stdin_messages(run: &RunArtifacts) -> Vec<(usize, &Value)> {
    run.transcript
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.event {
            Event::Stdin { msg: Some(m), .. } => Some((i, m)),
            _ => None,
        })
        .collect()
}

/// A pattern section's entries with their ids: the general ones (`expect.<section>[j]`), then
/// those of the supervisor's policy (`expect.by_policy.<policy>.<section>[j]`).
fn patterns<'s>(
    run: &RunArtifacts,
    scenario: &'s Loaded,
    section: &str,
    general: fn(&Expectations) -> &Vec<StdinExpect>,
    of_policy: fn(&PolicyExpectations) -> &Vec<StdinExpect>,
) -> Vec<(String, &'s StdinExpect)> {
    let exp = &scenario.scenario.expect;
    let mut all: Vec<(String, &StdinExpect)> = general(exp)
        .iter()
        .enumerate()
        .map(|(j, s)| (format!("expect.{section}[{j}]"), s))
        .collect();
    if let Some((name, pe)) = run
        .policy
        .as_deref()
        .and_then(|p| exp.by_policy.get_key_value(p))
    {
        all.extend(
            of_policy(pe)
                .iter()
                .enumerate()
                .map(|(j, s)| (format!("expect.by_policy.{name}.{section}[{j}]"), s)),
        );
    }
    all
}

fn check_stdin(run: &RunArtifacts, scenario: &Loaded, out: &mut Vec<Violation>) {
    let msgs = stdin_messages(run);
    let all = patterns(run, scenario, "stdin", |e| &e.stdin, |p| &p.stdin);
    for (id, s) in all {
        let hits: Vec<usize> = msgs
            .iter()
            .filter(|(_, m)| matcher::matches(&s.pattern, m).is_ok())
            .map(|(i, _)| *i)
            .collect();
        let (ok, want) = count_wanted(s.count, hits.len(), "stdin message");
        if ok {
            continue;
        }
        let because = because(s);
        let mut records = hits.clone();
        let found = if hits.is_empty() {
            match closest(&s.pattern, &msgs) {
                Some((i, why)) => {
                    records.push(i);
                    format!("found none; the closest, record #{i}, differs {why}")
                }
                None => "found none".to_string(),
            }
        } else {
            format!("found {} ({})", hits.len(), recs(&hits))
        };
        out.push(Violation {
            id,
            message: format!(
                "expected {want} matching {}{because}: {found}",
                pattern_text(&s.pattern)
            ),
            records,
        });
    }
}

/// ` (why it matters)`, or nothing.
fn because(s: &StdinExpect) -> String {
    s.because
        .as_deref()
        .map(|b| format!(" ({b})"))
        .unwrap_or_default()
}

/// The first message of the pattern's `type` (any message if the pattern has none), with why it
/// does not match.
fn closest(pattern: &Value, msgs: &[(usize, &Value)]) -> Option<(usize, String)> {
    let ty = pattern.get("type");
    msgs.iter()
        .filter(|(_, m)| ty.is_none_or(|t| m.get("type") == Some(t)))
        .find_map(|(i, m)| {
            matcher::matches(pattern, m)
                .err()
                .map(|e| (*i, e.to_string()))
        })
}

fn pattern_text(p: &Value) -> String {
    let s = p.to_string();
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::testkit::*;
    use serde_json::json;

    const CROSS: &str = r#"
name: cross
drive:
  turns:
    - prompt: "one"
    - prompt: "two"
script:
  - turn: {reply: "A1"}
  - injected_turn: {reply: "NOTIFIED"}
  - turn: {reply: "Paris."}
"#;
    const T1: &str = "/repo/scenarios/test.yaml:8:5";
    const INJ: &str = "/repo/scenarios/test.yaml:9:5";
    const T2: &str = "/repo/scenarios/test.yaml:10:5";

    fn cross_transcript() -> (Vec<fake_claude::transcript::Record>, usize, usize) {
        let mut t = Tr::new();
        t.turn("one", T1, "A1");
        // 2.1.81: the injected result carries no origin; its location tells.
        let inj = t.out(vec![result("NOTIFIED")], INJ);
        let r2 = t.turn("two", T2, "Paris.");
        (t.done(), inj, r2)
    }

    #[test]
    fn derived_outcomes_name_the_injected_reply() {
        let s = scenario(CROSS);
        let (recs, inj, r2) = cross_transcript();
        let good = run(
            recs.clone(),
            vec![
                turn(0, "completed", Some("A1")),
                turn(1, "completed", Some("Paris.")),
            ],
        );
        assert_eq!(check(&good, &s), vec![]);

        let bad = run(
            recs,
            vec![
                turn(0, "completed", Some("A1")),
                turn(1, "completed", Some("NOTIFIED")),
            ],
        );
        let v = check(&bad, &s);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].id, "expect.turns[1].output");
        assert_eq!(
            v[0].message,
            format!(
                "turn 2: expected output \"Paris.\" (the result that answered prompt 2, transcript record #{r2}) but the supervisor reported \"NOTIFIED\" — the injected turn's reply (result at transcript record #{inj})"
            )
        );
        assert_eq!(v[0].records, vec![r2, inj]);
    }

    #[test]
    fn a_launch_fails_the_turn_under_foreground_only() {
        let yaml = r#"
name: p
drive:
  turns:
    - prompt: "one"
script:
  - turn: {reply: "started"}
"#;
        let s = scenario(yaml);
        let at = "/repo/scenarios/test.yaml:7:5";
        let transcript = |tool_use_result: Value| {
            let mut t = Tr::new();
            t.stdin(user("one"));
            t.prompt_step(at);
            t.out(vec![json!({"type": "system", "subtype": "init"})], at);
            let launch = t.out(
                vec![
                    json!({"type": "user", "message": {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1",
                     "content": "{\"status\": \"async_launched\", \"backgroundTaskId\": \"b1\"}"}]},
                    "tool_use_result": tool_use_result}),
                ],
                at,
            );
            t.out(vec![result("started")], at);
            (t.done(), launch)
        };
        // The launch is in the top-level tool_use_result: foreground-only must fail the turn.
        let (recs, launch) = transcript(json!({"stdout": "", "backgroundTaskId": "b1"}));
        let mut r = run(recs.clone(), vec![turn(0, "completed", Some("started"))]);
        r.policy = Some("foreground-only".into());
        let v = check(&r, &s);
        let ids = violation_ids(&v);
        assert_eq!(
            ids,
            ["expect.turns[0].status", "expect.turns[0].error_contains"]
        );
        assert!(
            v[0].message.contains("launched a background task"),
            "{}",
            v[0].message
        );
        assert_eq!(v[0].records, vec![launch]);
        let mut r = run(
            recs.clone(),
            vec![failed(0, "a background task was launched")],
        );
        r.policy = Some("foreground-only".into());
        assert_eq!(check(&r, &s), vec![]);
        // Another policy completes it; so does foreground-only when the author wrote the turn.
        let mut r = run(recs.clone(), vec![turn(0, "completed", Some("started"))]);
        r.policy = Some("background-aware".into());
        assert_eq!(check(&r, &s), vec![]);
        let authored =
            scenario(&yaml.replace("script:", "expect: {turns: [{status: completed}]}\nscript:"));
        let mut r = run(recs, vec![turn(0, "completed", Some("started"))]);
        r.policy = Some("foreground-only".into());
        assert_eq!(check(&r, &authored), vec![]);
        // JSON inside the text content, with a foreground tool_use_result, is no launch.
        let (recs, _) =
            transcript(json!({"stdout": "status: async_launched", "backgroundTaskId": null}));
        let mut r = run(recs, vec![turn(0, "completed", Some("started"))]);
        r.policy = Some("foreground-only".into());
        assert_eq!(check(&r, &s), vec![]);
    }

    #[test]
    fn author_and_policy_expectations_merge() {
        let yaml = r#"
name: p
drive:
  turns:
    - prompt: "one"
expect:
  turns:
    - status: completed
  by_policy:
    foreground-only:
      turns:
        - status: failed
          error_contains: background
      stdin:
        - match: {type: control_response, response: {response: {updatedInput: {run_in_background: false}}}}
          count: 1
          because: must rewrite
script:
  - turn: {reply: "done"}
"#;
        let s = scenario(yaml);
        let mut t = Tr::new();
        t.stdin(
            json!({"type": "control_response", "response": {"subtype": "success", "request_id": "p",
            "response": {"behavior": "allow", "updatedInput": {"run_in_background": true}}}}),
        );
        t.turn("one", "/repo/scenarios/test.yaml:20:5", "done");
        let recs = t.done();

        // No policy: the general status, plus the derived output.
        let r = run(recs.clone(), vec![turn(0, "completed", Some("done"))]);
        assert_eq!(check(&r, &s), vec![]);
        let r = run(recs.clone(), vec![turn(0, "completed", Some("other"))]);
        assert_eq!(check(&r, &s)[0].id, "expect.turns[0].output");

        // foreground-only: the policy's turn replaces derivation, its stdin pattern applies.
        let mut r = run(recs.clone(), vec![turn(0, "completed", Some("done"))]);
        r.policy = Some("foreground-only".into());
        let v = check(&r, &s);
        let ids = violation_ids(&v);
        assert_eq!(
            ids,
            [
                "expect.turns[0].status",
                "expect.turns[0].error_contains",
                "expect.by_policy.foreground-only.stdin[0]"
            ]
        );
        assert!(v[0].message.contains("(by_policy foreground-only)"));
        assert!(v[2].message.contains("must rewrite"));
        assert!(
            v[2].message.contains("run_in_background"),
            "{}",
            v[2].message
        );
        assert_eq!(v[2].records, vec![1]);

        let mut r = run(recs, vec![failed(0, "refused a Background launch")]);
        r.policy = Some("foreground-only".into());
        let v = check(&r, &s);
        assert_eq!(v.len(), 1, "{v:#?}");
    }

    #[test]
    fn a_policy_with_another_status_drops_the_general_output() {
        let yaml = r#"
name: p
drive: {turns: [{prompt: one}]}
expect:
  turns:
    - {status: completed, output: "done"}
  by_policy:
    foreground-only:
      turns:
        - {status: failed, error_contains: background}
    strict:
      turns:
        - {status: completed, error_contains: never}
script:
  - turn: {reply: "done"}
"#;
        let s = scenario(yaml);
        let mut t = Tr::new();
        t.turn("one", "/repo/scenarios/test.yaml:15:5", "done");
        let recs = t.done();
        let mut r = run(recs.clone(), vec![failed(0, "Background launch refused")]);
        r.policy = Some("foreground-only".into());
        assert_eq!(check(&r, &s), vec![]);
        // Same status: fields merge.
        let e = {
            let mut r = run(recs, vec![]);
            r.policy = Some("strict".into());
            turn_expectations(&r, &s)
        };
        assert_eq!(e[0].output.as_ref().map(|o| o.value.as_str()), Some("done"));
        assert_eq!(
            e[0].error_contains.as_ref().map(|o| o.value.clone()),
            Some(vec!["never".to_string()])
        );
    }

    #[test]
    fn stdin_counts() {
        let yaml = r#"
name: c
expect:
  stdin:
    - match: {type: keep_alive}
      count: 0
    - match: {type: user}
      count: 2
    - match: {type: user, message: {content: "a[..]"}}
script: []
"#;
        let s = scenario(yaml);
        let mut t = Tr::new();
        t.stdin(user("a1"));
        t.stdin(json!({"type": "keep_alive"}));
        let r = run(t.done(), vec![]);
        let v = check(&r, &s);
        let ids = violation_ids(&v);
        assert_eq!(ids, ["expect.stdin[0]", "expect.stdin[1]"]);
        assert!(
            v[0].message.contains("found 1 (record #2)"),
            "{}",
            v[0].message
        );
        assert!(v[1].message.contains("exactly 2"));
    }

    #[test]
    fn ranges_any_of_statuses_and_several_or_excluded_substrings() {
        let yaml = r#"
name: v2
drive: {turns: [{prompt: one}]}
expect:
  turns:
    - status: [failed, timeout]
      error_contains: ["exit code 1", "stderr"]
      error_excludes: [undefined, "[object Object]"]
  stdin:
    - match: {type: user}
      count: {at_least: 1, at_most: 1}
    - match: {type: keep_alive}
      count: {at_most: 2}
script:
  - turn: {result: {subtype: error_during_execution, is_error: true}}
"#;
        let s = scenario(yaml);
        let mut t = Tr::new();
        t.stdin(user("one"));
        for _ in 0..3 {
            t.stdin(json!({"type": "keep_alive"}));
        }
        let recs = t.done();
        let good = run(
            recs.clone(),
            vec![failed(0, "CLI: exit code 1; stderr: boom")],
        );
        let v = check(&good, &s);
        let ids = violation_ids(&v);
        assert_eq!(ids, ["expect.stdin[1]"], "{v:#?}");
        assert!(
            v[0].message.contains("at most 2 stdin messages"),
            "{}",
            v[0].message
        );
        let bad = run(
            recs,
            vec![crate::artifacts::TurnReport {
                status: "aborted".into(),
                ..failed(0, "exit code 1: TypeError: undefined")
            }],
        );
        let v = check(&bad, &s);
        let ids = violation_ids(&v);
        assert_eq!(
            ids,
            [
                "expect.turns[0].status",
                "expect.turns[0].error_contains",
                "expect.turns[0].error_excludes",
                "expect.stdin[1]"
            ],
            "{v:#?}"
        );
        assert!(v[0].message.contains("expected status failed or timeout"));
        assert!(v[1].message.contains("\"stderr\""), "{}", v[1].message);
        assert!(!v[1].message.contains("exit code 1\""), "{}", v[1].message);
        assert!(v[2].message.contains("must not mention \"undefined\""));
    }

    #[test]
    fn events_and_the_end_line() {
        use crate::artifacts::EndReport;
        let yaml = r#"
name: ev
drive: {turns: [{prompt: one}]}
expect:
  events:
    - match: {name: action_skipped}
      count: 0
      because: every action came due in time
    - match: {name: stdin_write_failed, data: {what: prompt}}
  end:
    status: error
    error_contains: "stdin"
    error_excludes: "panicked"
    cli_exit_code: 1
    cli_signal: null
  by_policy:
    background-aware:
      end: {status: [ok, error], cli_exit_code: null}
script:
  - turn: {reply: x}
"#;
        let s = scenario(yaml);
        let mut r = run(Tr::new().done(), vec![turn(0, "completed", Some("x"))]);
        r.report.events = vec![
            json!({"type": "event", "name": "action_skipped", "data": {"turn": 0}}),
            json!({"type": "event", "name": "stdin_write_failed", "data": {"what": "prompt", "error": "EPIPE"}}),
        ];
        r.report.end = Some(EndReport {
            status: "ok".into(),
            error: None,
            cli_exit_code: Some(0),
            cli_signal: None,
            at_ms: None,
        });
        let v: Vec<Violation> = check(&r, &s)
            .into_iter()
            .filter(|v| !v.id.starts_with("expect.turns"))
            .collect();
        let ids = violation_ids(&v);
        assert_eq!(
            ids,
            [
                "expect.events[0]",
                "expect.end.status",
                "expect.end.error_contains",
                "expect.end.cli_exit_code"
            ],
            "{v:#?}"
        );
        assert!(
            v[0].message.contains("expected no report event")
                && v[0].message.contains("every action came due in time"),
            "{}",
            v[0].message
        );
        // The policy's end fields replace the general ones; the rest still apply.
        r.policy = Some("background-aware".into());
        r.report.end.as_mut().unwrap().cli_exit_code = None;
        let ids: Vec<String> = check(&r, &s)
            .into_iter()
            .map(|v| v.id)
            .filter(|id| !id.starts_with("expect.turns"))
            .collect();
        assert_eq!(
            ids,
            [
                "expect.events[0]",
                "expect.by_policy.background-aware.end.error_contains"
            ]
        );
        // No end line at all.
        r.report.end = None;
        assert!(
            check(&r, &s)
                .iter()
                .any(|v| v.message == "expected an end line but the report has none")
        );
    }

    #[test]
    fn timings_put_report_lines_and_records_on_one_clock() {
        let yaml = r#"
name: timed
drive: {turns: [{prompt: one}]}
expect:
  turns:
    - status: failed
      reported: {after: cli_exit, within: 2s}
  end:
    reported: {after: last_output, at_least: 1s}
script:
  - turn: {reply: x}
"#;
        let s = scenario(yaml);
        let mut t = Tr::new();
        t.stdin(user("one"));
        t.prompt_step("/repo/scenarios/test.yaml:10:5");
        t.out(vec![json!({"type": "system", "subtype": "init"})], "x");
        let exit = t.exit(1);
        let mut recs = t.done();
        // The invocation started 500 ms after the adapter's spawn.
        if let Event::Start { unix_ms, .. } = &mut recs[0].event {
            *unix_ms = Some(1_000_500.0);
        }
        let exit_ms = 500.0 + recs[exit].t * 1000.0;
        let mut r = run(recs, vec![failed(0, "exit code 1")]);
        r.spawned_unix_ms = Some(1_000_000.0);
        // Reported 0.3 s after the exit; the end line 1.5 s after the last output.
        r.report.turns[0].at_ms = Some(exit_ms + 300.0);
        r.report.end.as_mut().unwrap().at_ms = Some(exit_ms + 1500.0);
        assert_eq!(check(&r, &s), vec![]);
        // Reported at the turn timeout instead; the end line too soon.
        r.report.turns[0].at_ms = Some(exit_ms + 9_000.0);
        r.report.end.as_mut().unwrap().at_ms = Some(exit_ms + 200.0);
        let v = check(&r, &s);
        let ids = violation_ids(&v);
        assert_eq!(
            ids,
            ["expect.turns[0].reported", "expect.end.reported"],
            "{v:#?}"
        );
        assert!(
            v[0].message.contains("arrived 9.00 s after the CLI ended")
                && v[0].message.contains("expected within 2.00 s"),
            "{}",
            v[0].message
        );
        assert_eq!(v[0].records, vec![exit]);
        assert!(
            v[1].message.contains("expected at least 1.00 s"),
            "{}",
            v[1].message
        );
        // Without a wall-clock start the timing cannot be judged: it says so.
        r.spawned_unix_ms = None;
        assert!(check(&r, &s)[0].message.contains("no wall-clock start"));
    }

    #[test]
    fn invocations_are_counted_without_probes_and_their_argv_checked() {
        let yaml = r#"
name: inv
expect:
  invocations:
    count: 2
    argv:
      - {invocation: 1, excludes: ["--resume"]}
      - {invocation: 2, contains: ["--resume", "--verbose"]}
      - {invocation: 3, contains: ["x"]}
script: []
"#;
        let s = scenario(yaml);
        let start = |argv: &[&str], probe: bool| Event::Start {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            env: Default::default(),
            cwd: "/w".into(),
            pid: 1,
            profile: "2.1.330".into(),
            scenario: "s".into(),
            version_probe: probe,
            unix_ms: None,
        };
        let rec = |inv: u32, event: Event| fake_claude::transcript::Record { inv, t: 0.0, event };
        let recs = vec![
            rec(1, start(&["--verbose"], false)),
            rec(2, start(&["-v"], true)),
            rec(3, start(&["--verbose", "--resume=abc"], false)),
        ];
        let r = run(recs, vec![]);
        let v = check(&r, &s);
        let ids = violation_ids(&v);
        // The probe does not count: three invocations, two processes that ran.
        assert_eq!(ids, ["expect.invocations.argv[2]"], "{v:#?}");
        assert!(
            v[0].message.contains("expected CLI process 3"),
            "{}",
            v[0].message
        );
        let bad = scenario(
            "name: inv
expect:
  invocations:
    count: {at_least: 3}
    argv:
      - {invocation: 1, contains: [\"--resume\"]}
script: []
",
        );
        let v = check(&run(Tr::new().done(), vec![]), &bad);
        let ids = violation_ids(&v);
        assert_eq!(
            ids,
            ["expect.invocations.count", "expect.invocations.argv[0]"]
        );
        assert!(
            v[0].message.contains("at least 3 CLI processes"),
            "{}",
            v[0].message
        );
        assert!(
            v[1].message.contains("it lacks [\"--resume\"]"),
            "{}",
            v[1].message
        );
    }

    #[test]
    fn missing_turns_and_unanswered_prompts() {
        let s = scenario(CROSS);
        let mut t = Tr::new();
        t.turn("one", T1, "A1");
        t.stdin(user("two"));
        let step = t.prompt_step(T2);
        t.exit(1);
        // Prompt 2 taken, never answered, the CLI exited: timeout is the wrong diagnosis.
        let r = run(
            t.recs.clone(),
            vec![turn(0, "completed", Some("A1")), turn(1, "timeout", None)],
        );
        let v = check(&r, &s);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].id, "expect.turns[1].status");
        assert!(
            v[0].message.contains("expected status failed or aborted"),
            "{}",
            v[0].message
        );
        assert_eq!(v[0].records, vec![step]);
        // Reported completed: left to turn-attribution.
        let r = run(
            t.recs.clone(),
            vec![
                turn(0, "completed", Some("A1")),
                turn(1, "completed", Some("A1")),
            ],
        );
        assert_eq!(check(&r, &s), vec![]);
        // No turn 2 at all.
        let r = run(t.recs, vec![turn(0, "completed", Some("A1"))]);
        let v = check(&r, &s);
        assert_eq!(v[0].id, "expect.turns[1].status");
        assert!(v[0].message.contains("reported no turn 2"));
    }

    #[test]
    fn static_derivation_when_the_cli_never_got_the_prompt() {
        let s = scenario(CROSS);
        // The supervisor never even started the CLI.
        let r = run(
            vec![],
            vec![turn(0, "timeout", None), turn(1, "timeout", None)],
        );
        let v = check(&r, &s);
        let msgs: Vec<&str> = v.iter().map(|v| v.message.as_str()).collect();
        assert_eq!(v.len(), 2, "{msgs:#?}");
        assert!(msgs[0].contains("expected status completed (the script's turn step at line 8; the CLI never received prompt 1)"), "{}", msgs[0]);
        // A script that may end itself is not read statically.
        let s = scenario(
            "name: x\ndrive: {turns: [{prompt: a}]}\nscript:\n  - turn: {}\n  - exit: 3\n",
        );
        let r = run(vec![], vec![turn(0, "timeout", None)]);
        assert_eq!(check(&r, &s), vec![]);
    }

    #[test]
    fn failed_script_steps_are_violations_and_stop_static_derivation() {
        let s = scenario(CROSS);
        let mut t = Tr::new();
        t.stdin(user("one"));
        t.prompt_step(T1);
        let step = t.push(Event::Step {
            at: T1.into(),
            step: "expect".into(),
            outcome: "timed_out".into(),
            detail: None,
            captures: None,
            response: None,
        });
        let end = t.exit(97);
        let r = run(t.recs, vec![failed(0, "exit 97"), failed(1, "never sent")]);
        let v = check(&r, &s);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].id, "expect.script");
        assert_eq!(v[0].records, vec![step, end]);
        assert!(
            v[0].message.contains("line 8: its `expect` step timed out"),
            "{}",
            v[0].message
        );
    }

    #[test]
    fn globs_and_derived_outputs() {
        let yaml = "name: g\ndrive: {turns: [{prompt: a}]}\nexpect:\n  turns:\n    - output: \"The [..] is fine.\"\nscript:\n  - turn: {reply: \"The log is fine.\"}\n";
        let s = scenario(yaml);
        let mut t = Tr::new();
        t.turn("a", "/repo/scenarios/test.yaml:7:5", "The log is fine.");
        let recs = t.done();
        let r = run(
            recs.clone(),
            vec![turn(0, "completed", Some("The disk is fine."))],
        );
        assert_eq!(check(&r, &s), vec![]);
        let r = run(recs, vec![turn(0, "failed", Some("The disk is fine."))]);
        let v = check(&r, &s);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].id, "expect.turns[0].status");
    }
}
