//! Scripts that load but will not do what they seem to: waits without a timeout, results with
//! no `system/init` before them, steps that can never run (after an `exit`, inside an `if` that
//! never holds, after a turn waiting for a prompt the drive never sends), captures nothing uses.

use std::collections::BTreeSet;

use fake_claude::profile::Profile;
use fake_claude::scenario::Loaded;
use fake_claude::scenario::model::{Emit, OnMiss, Step};
use fake_claude::template;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::Diagnostic;

type Steps = [Spanned<Step>];

fn pos<T>(s: &Spanned<T>) -> (u64, u64) {
    (s.referenced.line(), s.referenced.column())
}

pub fn check(loaded: &Loaded) -> Vec<Diagnostic> {
    let script = &loaded.scenario.script;
    let mut out = Vec::new();
    timeouts(script, &mut out);
    let mut open = false;
    inits(script, &mut open, &mut out);
    reachability(script, &mut out);
    prompts(loaded, &mut out);
    captures(loaded, &mut out);
    out
}

/// Every step, nested ones included, in file order.
fn each(steps: &Steps, f: &mut dyn FnMut(&Spanned<Step>)) {
    for s in steps {
        f(s);
        for inner in children(&s.value) {
            each(inner, f);
        }
    }
}

/// The step sequences nested in a step.
fn children(s: &Step) -> Vec<&Steps> {
    match s {
        Step::If(i) => vec![&i.then, &i.otherwise],
        Step::Repeat(r) => vec![&r.steps],
        Step::Turn(t) => t.steps.as_deref().into_iter().collect(),
        Step::InjectedTurn(t) => t.steps.as_deref().into_iter().collect(),
        Step::Tool(t) => vec![&t.ran, &t.launched, &t.denied],
        _ => vec![],
    }
}

fn timeouts(script: &Steps, out: &mut Vec<Diagnostic>) {
    each(script, &mut |s| {
        let what = match &s.value {
            Step::Expect(e) if e.timeout.is_none() => "expect",
            Step::Request(r) if r.timeout.is_none() => "request",
            _ => return,
        };
        out.push(Diagnostic::warning(
            "expect-without-timeout",
            pos(s),
            format!(
                "this `{what}` has no `timeout`: if the supervisor never sends what it waits for, it \
                 waits until stdin closes or the watchdog fires, and the run ends as a timeout \
                 instead of naming this step; give it a `timeout:` (with `on_timeout: continue` \
                 if the message may fail to come)"
            ),
        ));
    });
}

/// Which message kinds an `emit` writes: (init, result).
fn emit_kinds(e: &Emit) -> (bool, bool) {
    let json_type = e.json.as_ref().map(|j| {
        (
            j.get("type").and_then(Value::as_str),
            j.get("subtype").and_then(Value::as_str),
        )
    });
    let init = e.init.is_some() || json_type == Some((Some("system"), Some("init")));
    let result = e.result.is_some() || json_type.is_some_and(|(t, _)| t == Some("result"));
    (init, result)
}

/// `open`: on some path an init was written and no result since. A result written where no path
/// has an open turn is flagged.
fn inits(steps: &Steps, open: &mut bool, out: &mut Vec<Diagnostic>) {
    for s in steps {
        let mut write = |e: &Emit, open: &mut bool| {
            let (init, result) = emit_kinds(e);
            if init {
                *open = true;
            }
            if result {
                if !*open {
                    out.push(Diagnostic::warning(
                        "result-without-init",
                        pos(s),
                        "this `result` has no `system/init` before it in its turn: real CLIs start \
                         every turn with init, and supervisors that key turns on it see a result for \
                         a turn that never began (use a `turn` step, or emit `init: {}` first)"
                            .into(),
                    ));
                }
                *open = false;
            }
        };
        match &s.value {
            Step::Emit(e) => write(e, open),
            Step::Write(w) => w.messages.iter().for_each(|e| write(e, open)),
            Step::Turn(t) => {
                let mut inner = true;
                if let Some(steps) = &t.steps {
                    inits(steps, &mut inner, out);
                }
                *open = false;
            }
            Step::InjectedTurn(t) => {
                let mut inner = true;
                if let Some(steps) = &t.steps {
                    inits(steps, &mut inner, out);
                }
                *open = false;
            }
            Step::If(i) => {
                let (mut a, mut b) = (*open, *open);
                inits(&i.then, &mut a, out);
                inits(&i.otherwise, &mut b, out);
                *open = a || b;
            }
            Step::Tool(t) => {
                let mut any = false;
                for branch in [&t.ran, &t.launched, &t.denied] {
                    let mut o = *open;
                    inits(branch, &mut o, out);
                    any |= o;
                }
                *open = any;
            }
            Step::Repeat(r) => {
                // Twice: the second pass starts where the first left off (the loop back).
                let before = out.len();
                inits(&r.steps, open, out);
                inits(&r.steps, open, out);
                dedup_from(out, before);
            }
            _ => {}
        }
    }
}

fn dedup_from(out: &mut Vec<Diagnostic>, from: usize) {
    let mut seen = BTreeSet::new();
    let mut i = from;
    while i < out.len() {
        if seen.insert((out[i].line, out[i].column, out[i].id)) {
            i += 1;
        } else {
            out.remove(i);
        }
    }
}

/// Whether a step's misses ever say `break`.
fn breaks(o: &Option<OnMiss>) -> bool {
    o.as_ref() == Some(&OnMiss::Break)
}

/// Whether a sequence can `break` out of its innermost repeat.
fn can_break(steps: &Steps) -> bool {
    steps.iter().any(|s| match &s.value {
        Step::Expect(e) => breaks(&e.on_timeout) || breaks(&e.on_eof),
        Step::Request(r) => breaks(&r.on_timeout) || breaks(&r.on_eof),
        Step::WaitEof(w) => breaks(&w.on_timeout),
        Step::Turn(t) => {
            breaks(&t.on_eof) || breaks(&t.on_timeout) || t.steps.as_deref().is_some_and(can_break)
        }
        Step::InjectedTurn(t) => t.steps.as_deref().is_some_and(can_break),
        Step::Tool(t) => {
            breaks(&t.on_timeout)
                || breaks(&t.on_eof)
                || [&t.ran, &t.launched, &t.denied]
                    .into_iter()
                    .any(|b| can_break(b))
        }
        Step::If(i) => can_break(&i.then) || can_break(&i.otherwise),
        // A nested repeat's breaks leave that repeat only.
        _ => false,
    })
}

/// Whether running this step always ends the fake (nothing after it runs).
fn ends(s: &Step) -> bool {
    match s {
        Step::Exit(_) | Step::Kill(_) | Step::Fail(_) => true,
        Step::Hang(h) => h.for_.is_none(),
        Step::If(i) => seq_ends(&i.then) && seq_ends(&i.otherwise),
        Step::Repeat(r) => match r.times {
            None => !can_break(&r.steps),
            Some(0) => false,
            Some(_) => seq_ends(&r.steps),
        },
        _ => false,
    }
}

fn seq_ends(steps: &Steps) -> bool {
    steps.iter().any(|s| ends(&s.value))
}

fn what_ends(s: &Step) -> &'static str {
    match s {
        Step::Exit(_) => "`exit`",
        Step::Kill(_) => "`kill`",
        Step::Fail(_) => "`fail`",
        Step::Hang(_) => "`hang` without `for`",
        Step::If(_) => "`if` whose branches both end the fake",
        _ => "`repeat` that never ends (nothing in it says `break`)",
    }
}

/// A profile condition no CLI version satisfies.
fn never_holds(s: &Step) -> Option<String> {
    let Step::If(i) = s else { return None };
    let p = i.when.profile.as_deref()?;
    let any_known = p
        .split(|c: char| c == ',' || c.is_whitespace())
        .any(|v| Profile::parse(v).is_some());
    (!any_known && !i.when.not).then(|| p.to_string())
}

fn dead_steps(steps: &Steps, why: &str, out: &mut Vec<Diagnostic>) {
    let mut injected = Vec::new();
    each(steps, &mut |s| {
        if matches!(s.value, Step::InjectedTurn(_)) {
            injected.push(pos(s));
        }
    });
    for at in injected {
        out.push(Diagnostic::warning(
            "injected-turn-never-fires",
            at,
            format!("this injected turn can never fire: {why}"),
        ));
    }
}

fn reachability(steps: &Steps, out: &mut Vec<Diagnostic>) {
    for (i, s) in steps.iter().enumerate() {
        if let Some(p) = never_holds(&s.value) {
            let why = format!(
                "its `if` tests profile `{p}`, which is not a CLI version (known: {})",
                Profile::known()
            );
            out.push(Diagnostic::warning(
                "condition-never-holds",
                pos(s),
                format!("this condition never holds: {why}; its `then` steps never run"),
            ));
            if let Step::If(branch) = &s.value {
                dead_steps(&branch.then, &why, out);
            }
        }
        if let Step::Repeat(r) = &s.value
            && r.times == Some(0)
        {
            dead_steps(&r.steps, "it is inside `repeat: {times: 0}`", out);
        }
        for inner in children(&s.value) {
            reachability(inner, out);
        }
        if ends(&s.value) && i + 1 < steps.len() {
            let rest = &steps[i + 1..];
            let (l, c) = pos(s);
            out.push(Diagnostic::warning(
                "unreachable-step",
                pos(&rest[0]),
                format!(
                    "{} step(s) from here on never run: the {} at line {l}:{c} ends the fake first",
                    rest.len(),
                    what_ends(&s.value)
                ),
            ));
            dead_steps(
                rest,
                &format!("it comes after the {} at line {l}:{c}", what_ends(&s.value)),
                out,
            );
            return;
        }
    }
}

/// Whether a top-level step takes a prompt from stdin, and whether running out of input there
/// ends the fake (the default for `turn` and `expect`).
fn takes_prompt(s: &Step) -> Option<bool> {
    match s {
        Step::Turn(t) => Some(!matches!(
            (&t.on_eof, &t.on_timeout),
            (Some(OnMiss::Continue), _) | (_, Some(OnMiss::Continue))
        )),
        Step::Expect(e)
            if !e.keep && e.pattern.get("type").and_then(Value::as_str) == Some("user") =>
        {
            Some(!matches!(
                (&e.on_eof, &e.on_timeout),
                (Some(OnMiss::Continue), _) | (_, Some(OnMiss::Continue))
            ))
        }
        _ => None,
    }
}

/// Injected turns after a top-level step that waits for a prompt the drive never sends.
fn prompts(loaded: &Loaded, out: &mut Vec<Diagnostic>) {
    let s = &loaded.scenario;
    let planned = s.drive.turns.len();
    if planned == 0 {
        return;
    }
    let mut taken = 0;
    for (i, step) in s.script.iter().enumerate() {
        if matches!(step.value, Step::If(_) | Step::Repeat(_))
            && children(&step.value)
                .iter()
                .any(|c| c.iter().any(|x| takes_prompt(&x.value).is_some()))
        {
            return; // how many prompts those take depends on the run
        }
        let Some(stops) = takes_prompt(&step.value) else {
            continue;
        };
        taken += 1;
        if taken > planned && stops {
            let (l, c) = pos(step);
            dead_steps(
                &s.script[i + 1..],
                &format!(
                    "the step at line {l}:{c} waits for prompt {taken}, but `drive` sends {planned}, \
                     so stdin closes there and the fake exits"
                ),
                out,
            );
            return;
        }
    }
}

/// Template variables read anywhere, by their first name.
fn used_variables(loaded: &Loaded) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut add = |v: &Value| {
        for var in template::variables(v) {
            used.insert(var.split('.').next().unwrap_or(&var).to_string());
        }
    };
    each(&loaded.scenario.script, &mut |s| {
        if let Ok(v) = serde_json::to_value(&s.value) {
            add(&v);
        }
        if let Step::If(i) = &s.value
            && let Some(var) = &i.when.var
        {
            add(&Value::String(format!("{{{{ {var} }}}}")));
        }
    });
    for h in loaded.scenario.handlers.values() {
        if let Some(r) = &h.respond {
            add(r);
        }
    }
    each(&loaded.scenario.script, &mut |s| {
        if let Step::Handlers(hs) = &s.value {
            for h in hs.values() {
                if let Some(r) = &h.respond {
                    add(r);
                }
            }
        }
    });
    used
}

fn captures(loaded: &Loaded, out: &mut Vec<Diagnostic>) {
    let used = used_variables(loaded);
    each(&loaded.scenario.script, &mut |s| {
        let (names, how): (Vec<&String>, &str) = match &s.value {
            Step::Expect(e) => (e.capture.keys().collect(), "captured"),
            Step::Request(r) => (r.capture.keys().collect(), "captured"),
            Step::Set(v) => (v.keys().collect(), "set"),
            _ => return,
        };
        for n in names {
            if !used.contains(n.as_str()) {
                out.push(Diagnostic::warning(
                    "unused-capture",
                    pos(s),
                    format!("`{n}` is {how} here but no template uses `{{{{ {n} }}}}`"),
                ));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::check_str;

    fn lints(script: &str) -> Vec<String> {
        let text = format!("name: x\ndrive: {{turns: [{{prompt: one}}]}}\nscript:\n{script}");
        check_str(&text, "x.yaml")
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|d| format!("{}:{} {}", d.line, d.column, d.id))
            .collect()
    }

    #[test]
    fn waits_without_timeouts() {
        assert_eq!(
            lints(
                "  - expect: {match: {type: user}, capture: {u: uuid}}\n  - emit: {json: {u: \"{{ u }}\"}}\n  - request: {other: {subtype: s1}, timeout: 1s}\n  - request: {other: {subtype: s2}}\n"
            ),
            ["4:5 expect-without-timeout", "7:5 expect-without-timeout"]
        );
    }

    #[test]
    fn results_without_init() {
        assert_eq!(
            lints(
                "  - emit: {result: {}}\n  - emit: {init: {}}\n  - emit: {result: {}}\n  - emit: {json: {type: result}}\n  - turn: {}\n  - if:\n      when: {flag: --x}\n      then: [{emit: {init: {}}}]\n  - emit: {result: {}}\n  - repeat: {times: 2, steps: [{emit: {result: {}}}]}\n"
            ),
            [
                "4:5 result-without-init",
                "7:5 result-without-init",
                "13:32 result-without-init"
            ]
        );
    }

    #[test]
    fn unreachable_and_never_firing_injected_turns() {
        assert_eq!(
            lints("  - turn: {}\n  - exit: 0\n  - injected_turn: {}\n  - note: x\n"),
            ["6:5 injected-turn-never-fires", "6:5 unreachable-step"]
        );
        // The drive sends one prompt: the second turn ends the fake at EOF.
        assert_eq!(
            lints("  - turn: {}\n  - turn: {}\n  - injected_turn: {}\n"),
            ["6:5 injected-turn-never-fires"]
        );
        assert_eq!(
            lints("  - turn: {}\n  - turn: {on_eof: continue}\n  - injected_turn: {}\n"),
            Vec::<String>::new()
        );
        assert_eq!(
            lints(
                "  - if:\n      when: {profile: \"2.1.999\"}\n      then: [{injected_turn: {}}]\n  - repeat: {steps: [{turn: {}}]}\n  - note: never\n"
            ),
            [
                "4:5 condition-never-holds",
                "6:14 injected-turn-never-fires",
                "8:5 unreachable-step"
            ]
        );
        assert_eq!(
            lints(
                "  - repeat: {steps: [{expect: {match: {type: user}, timeout: 1s, on_timeout: break}}]}\n  - note: reached\n"
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn unused_captures() {
        assert_eq!(
            lints(
                "  - expect: {match: {type: user}, capture: {a: uuid, b: uuid}, timeout: 1s}\n  - set: {c: 1, d: \"{{ a }}\"}\n  - if:\n      when: {var: c, equals: 1}\n      then: []\n"
            ),
            ["4:5 unused-capture", "5:5 unused-capture"]
        );
    }
}
