//! Names the loader takes as free text but the harness knows: each unknown one is flagged with
//! the closest known name as a did-you-mean.

use fake_claude::scenario::Loaded;
use fake_claude::scenario::load::suggest;

use super::Diagnostic;
use super::locate::Index;
use crate::invariants;

/// Control-request subtypes a supervisor sends (the profiles answer each), plus `*`.
pub const HANDLER_SUBTYPES: &[&str] = &[
    "initialize",
    "interrupt",
    "set_permission_mode",
    "set_model",
    "mcp_status",
    "stop_task",
    "get_context_usage",
    "set_max_thinking_tokens",
    "rewind_files",
    "mcp_reconnect",
    "mcp_toggle",
    "*",
];
/// The adapter contract's action kinds (docs/adapters.md).
pub const ACTION_KINDS: &[&str] = &["interrupt", "set_permission_mode", "set_model", "stop_task"];
pub const POLICIES: &[&str] = &["foreground-only", "background-aware"];

fn hint(bad: &str, known: &[&str]) -> String {
    match suggest(bad, known.iter().copied()) {
        Some(s) => format!("; did you mean `{s}`?"),
        None => format!(" (known: {})", known.join(", ")),
    }
}

pub fn check(loaded: &Loaded, index: &Index) -> Vec<Diagnostic> {
    let s = &loaded.scenario;
    let mut out = Vec::new();
    let at_key = |path: &str| index.key(path).unwrap_or((1, 1));
    let at_value = |path: &str| index.value(path).unwrap_or((1, 1));

    let invariant_ids: Vec<&str> = invariants::ALL.iter().map(|i| i.id).collect();
    for id in s.expect.waive.keys() {
        if !invariant_ids.contains(&id.as_str()) {
            out.push(Diagnostic::error(
                "unknown-waiver",
                at_key(&format!("expect.waive.{id}")),
                format!(
                    "`{id}` is not a built-in invariant{}",
                    hint(id, &invariant_ids)
                ),
            ));
        }
    }
    let switches = reference_supervisor::bugs::Bug::names();
    for (i, name) in s.caught_by.iter().enumerate() {
        if !switches.contains(&name.as_str()) {
            out.push(Diagnostic::error(
                "unknown-bug-switch",
                at_value(&format!("caught_by.{i}")),
                format!(
                    "`{name}` is not a bug switch of the reference supervisor{}",
                    hint(name, &switches)
                ),
            ));
        }
    }
    for (t, turn) in s.drive.turns.iter().enumerate() {
        for (a, action) in turn.actions.iter().enumerate() {
            if !ACTION_KINDS.contains(&action.kind.as_str()) {
                out.push(Diagnostic::error(
                    "unknown-action",
                    at_value(&format!("drive.turns.{t}.actions.{a}.kind")),
                    format!(
                        "unknown action kind `{}`{}",
                        action.kind,
                        hint(&action.kind, ACTION_KINDS)
                    ),
                ));
            }
        }
    }
    for sub in s.handlers.keys() {
        if !HANDLER_SUBTYPES.contains(&sub.as_str()) {
            out.push(Diagnostic::warning(
                "unknown-handler",
                at_key(&format!("handlers.{sub}")),
                format!(
                    "no CLI receives a control request `{sub}` from a supervisor{}",
                    hint(sub, HANDLER_SUBTYPES)
                ),
            ));
        }
    }
    for p in s.expect.by_policy.keys() {
        if !POLICIES.contains(&p.as_str()) {
            out.push(Diagnostic::warning(
                "unknown-policy",
                at_key(&format!("expect.by_policy.{p}")),
                format!("unknown policy `{p}`{}", hint(p, POLICIES)),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::check_str;

    #[test]
    fn misspelled_names_get_a_suggestion_at_their_place() {
        let text = "name: x\ncaught_by: [last-result-win]\nhandlers:\n  initialise: {delay: 10}\ndrive:\n  turns:\n    - prompt: hi\n      actions: [{kind: interupt}]\nexpect:\n  waive: {stdout-drain: \"why\"}\n  by_policy: {foreground_only: {}}\nscript: []\n";
        let d = check_str(text, "x.yaml").unwrap();
        let got: Vec<String> = d
            .iter()
            .map(|d| format!("{}:{} {} {}", d.line, d.column, d.id, d.message))
            .collect();
        let want = [
            "2:13 unknown-bug-switch `last-result-win` is not a bug switch of the reference supervisor; did you mean `last-result-wins`?",
            "4:3 unknown-handler no CLI receives a control request `initialise` from a supervisor; did you mean `initialize`?",
            "8:24 unknown-action unknown action kind `interupt`; did you mean `interrupt`?",
            "10:11 unknown-waiver `stdout-drain` is not a built-in invariant; did you mean `stdout-drained`?",
            "11:15 unknown-policy unknown policy `foreground_only`; did you mean `foreground-only`?",
        ];
        assert_eq!(got, want);
    }
}
