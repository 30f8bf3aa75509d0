//! The drive plan handed to the adapter (docs/adapters.md), built from a scenario's `drive`:
//!
//! ```json
//! {"version":1,"scenario":"seed/startup-burst","mode":"one_shot",
//!  "turns":[{"prompt":"...","actions":[{"kind":"interrupt","after_ms":200}]}],
//!  "turn_timeout_ms":10000}
//! ```
//! Prompts with `pad_to_bytes` are padded here with deterministic filler, so every adapter
//! writes exactly the same bytes and snapshots stay stable.

use fake_claude::scenario::model::{Drive, DriveHook, DriveMode, DriveTurn};
use serde_json::{Map, Value, json};

/// Plan format version: 1, or 2 when the plan uses what version 2 added (`idle_timeout_ms`,
/// `turns[].resume`), so
/// adapters that read only version 1 keep working on every plan that does not need it.
pub const VERSION: u64 = 1;
pub const VERSION_2: u64 = 2;
/// How long an adapter waits for a turn's result when the scenario does not say.
pub const DEFAULT_TURN_TIMEOUT_MS: u64 = 10_000;

/// The mode the plan uses: as written, else one_shot for a single turn, multi_turn otherwise.
pub fn mode(drive: &Drive) -> DriveMode {
    drive.mode.unwrap_or(if drive.turns.len() <= 1 {
        DriveMode::OneShot
    } else {
        DriveMode::MultiTurn
    })
}

pub fn turn_timeout_ms(drive: &Drive) -> u64 {
    drive.turn_timeout.map_or(DEFAULT_TURN_TIMEOUT_MS, |m| m.0)
}

/// The plan JSON for `scenario_id`'s drive.
pub fn build(scenario_id: &str, drive: &Drive) -> Value {
    let mode = match mode(drive) {
        DriveMode::OneShot => "one_shot",
        DriveMode::MultiTurn => "multi_turn",
    };
    let turns: Vec<Value> = drive.turns.iter().map(turn).collect();
    let version = if drive.idle_timeout.is_some() || drive.turns.iter().any(|t| t.resume) {
        VERSION_2
    } else {
        VERSION
    };
    let mut plan = json!({
        "version": version,
        "scenario": scenario_id,
        "mode": mode,
        "turns": turns,
        "turn_timeout_ms": turn_timeout_ms(drive),
    });
    if let Some(idle) = drive.idle_timeout {
        plan["idle_timeout_ms"] = json!(idle.0);
    }
    if !drive.hooks.is_empty() {
        plan["hooks"] = drive.hooks.iter().map(hook).collect();
    }
    if let Some(c) = &drive.can_use_tool {
        plan["can_use_tool"] = callback(c.delay.map(|d| d.0), c.fail.as_deref());
    }
    plan
}

/// `{"event": …, "matcher": …, "answer": {…}, "delay_ms"?: N, "fail"?: "…"}`.
fn hook(h: &DriveHook) -> Value {
    let mut m = Map::new();
    m.insert("event".into(), json!(h.event));
    m.insert("matcher".into(), json!(h.matcher));
    m.insert(
        "answer".into(),
        h.answer.clone().unwrap_or_else(|| json!({})),
    );
    callback_into(&mut m, h.delay.map(|d| d.0), h.fail.as_deref());
    Value::Object(m)
}

/// `{"delay_ms"?: N, "fail"?: "…"}`.
fn callback(delay_ms: Option<u64>, fail: Option<&str>) -> Value {
    let mut m = Map::new();
    callback_into(&mut m, delay_ms, fail);
    Value::Object(m)
}

fn callback_into(m: &mut Map<String, Value>, delay_ms: Option<u64>, fail: Option<&str>) {
    if let Some(d) = delay_ms {
        m.insert("delay_ms".into(), json!(d));
    }
    if let Some(f) = fail {
        m.insert("fail".into(), json!(f));
    }
}

fn turn(t: &DriveTurn) -> Value {
    let actions: Vec<Value> = t
        .actions
        .iter()
        .map(|a| {
            let mut m = Map::new();
            m.insert("kind".into(), json!(a.kind));
            m.insert("after_ms".into(), json!(a.after.0));
            for (k, v) in [
                ("mode", &a.mode),
                ("model", &a.model),
                ("task_id", &a.task_id),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), json!(v));
                }
            }
            Value::Object(m)
        })
        .collect();
    let mut out = json!({"prompt": padded_prompt(t), "actions": actions});
    if t.overlap {
        out["overlap"] = json!(true);
    }
    if t.resume {
        out["resume"] = json!(true);
    }
    out
}

/// The prompt as the adapter must send it: padded with filler lines up to `pad_to_bytes` bytes
/// (UTF-8), unchanged when it is already that long.
pub fn padded_prompt(t: &DriveTurn) -> String {
    let mut p = t.prompt.clone();
    let Some(target) = t.pad_to_bytes.and_then(|n| usize::try_from(n).ok()) else {
        return p;
    };
    if p.len() >= target {
        return p;
    }
    p.push('\n');
    let mut line = 0u64;
    while p.len() < target {
        line += 1;
        let filler = format!("[filler {line:06}] The quick brown fox jumps over the lazy dog.\n");
        let room = target - p.len();
        // The filler is ASCII, so cutting it anywhere keeps valid UTF-8.
        p.push_str(&filler[..filler.len().min(room)]);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake_claude::scenario::duration::Millis;
    use fake_claude::scenario::model::DriveAction;

    fn turn_of(prompt: &str, pad: Option<u64>) -> DriveTurn {
        DriveTurn {
            prompt: prompt.into(),
            pad_to_bytes: pad,
            actions: vec![],
            overlap: false,
            resume: false,
        }
    }

    #[test]
    fn mode_defaults_by_turn_count_and_timeout_default() {
        let one = Drive {
            turns: vec![turn_of("a", None)],
            ..Drive::default()
        };
        let plan = build("x/one", &one);
        assert_eq!(plan["mode"], "one_shot");
        assert_eq!(plan["turn_timeout_ms"], 10_000);
        assert_eq!(plan["version"], 1);
        let two = Drive {
            turns: vec![turn_of("a", None), turn_of("b", None)],
            turn_timeout: Some(Millis(2500)),
            ..Drive::default()
        };
        let plan = build("x/two", &two);
        assert_eq!(plan["mode"], "multi_turn");
        assert_eq!(plan["turn_timeout_ms"], 2500);
        assert!(plan.get("idle_timeout_ms").is_none());
    }

    #[test]
    fn an_idle_timeout_makes_a_version_2_plan() {
        let drive = Drive {
            turns: vec![turn_of("a", None)],
            idle_timeout: Some(Millis(1500)),
            ..Drive::default()
        };
        let plan = build("x/idle", &drive);
        assert_eq!(plan["version"], 2);
        assert_eq!(plan["idle_timeout_ms"], 1500);
        assert_eq!(plan["turn_timeout_ms"], 10_000);
    }

    #[test]
    fn hooks_and_callback_behaviour_go_into_the_plan_only_when_given() {
        use fake_claude::scenario::model::{DriveCallback, DriveHook};
        let mut drive = Drive {
            turns: vec![turn_of("a", None)],
            ..Drive::default()
        };
        let plan = build("x", &drive);
        assert!(plan.get("hooks").is_none() && plan.get("can_use_tool").is_none());
        drive.hooks = vec![
            DriveHook {
                event: "UserPromptSubmit".into(),
                answer: Some(json!({"decision": "block", "reason": "policy"})),
                ..DriveHook::default()
            },
            DriveHook {
                event: "PreToolUse".into(),
                matcher: Some("Bash".into()),
                delay: Some(Millis(20)),
                fail: Some("boom".into()),
                ..DriveHook::default()
            },
        ];
        drive.can_use_tool = Some(DriveCallback {
            delay: Some(Millis(10_000)),
            fail: None,
        });
        let plan = build("x", &drive);
        assert_eq!(
            plan["hooks"],
            json!([
                {"event": "UserPromptSubmit", "matcher": null,
                 "answer": {"decision": "block", "reason": "policy"}},
                {"event": "PreToolUse", "matcher": "Bash", "answer": {}, "delay_ms": 20, "fail": "boom"}
            ])
        );
        assert_eq!(plan["can_use_tool"], json!({"delay_ms": 10_000}));
    }

    #[test]
    fn actions_carry_after_ms_and_only_given_parameters() {
        let mut t = turn_of("p", None);
        t.actions.push(DriveAction {
            kind: "set_model".into(),
            after: Millis(200),
            mode: None,
            model: Some("opus".into()),
            task_id: None,
        });
        let plan = build(
            "x",
            &Drive {
                turns: vec![t],
                ..Drive::default()
            },
        );
        assert_eq!(
            plan["turns"][0]["actions"],
            json!([{"kind": "set_model", "after_ms": 200, "model": "opus"}])
        );
    }

    #[test]
    fn padding_is_exact_deterministic_and_never_shrinks() {
        let p = padded_prompt(&turn_of("Summarize.", Some(131_072)));
        assert_eq!(p.len(), 131_072);
        assert!(p.starts_with("Summarize.\n[filler 000001]"));
        assert_eq!(p, padded_prompt(&turn_of("Summarize.", Some(131_072))));
        assert_eq!(padded_prompt(&turn_of("héllo", Some(3))), "héllo");
        for n in 6..200 {
            assert_eq!(
                padded_prompt(&turn_of("héllo", Some(n))).len() as u64,
                n.max(6)
            );
        }
    }
}
