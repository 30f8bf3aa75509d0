//! The drive plan: which prompts to send, in which mode, and what to do during each turn.
//!
//! ```json
//! {"version":1,"scenario":"seed/cross-turn-notification","mode":"multi_turn",
//!  "turns":[{"prompt":"start a background task","actions":[]},
//!           {"prompt":"second question","actions":[{"kind":"interrupt","after_ms":200}]}],
//!  "turn_timeout_ms":10000}
//! ```
//! Unknown fields are ignored (forward compatibility). Unknown action *kinds* are kept as
//! [`ActionKind::Unsupported`] so the run can report them and carry on; a known kind with a
//! missing parameter is a bad plan.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Used when the plan does not say how long to wait for a turn.
pub const DEFAULT_TURN_TIMEOUT_MS: u64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One long-lived CLI process; prompts written in sequence, each turn awaited before the next.
    MultiTurn,
    /// A single prompt; stdin is closed once the run is over.
    OneShot,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub scenario: Option<String>,
    pub mode: Mode,
    pub turns: Vec<TurnPlan>,
    pub turn_timeout: Duration,
    /// Plan version 2: give a turn up as stalled after this long without any CLI output
    /// (paused while the CLI waits on us). `None`: no idle watchdog.
    pub idle_timeout: Option<Duration>,
    /// Hooks to register in `initialize`, in order; the n-th gets callback id `hook_<n>`.
    pub hooks: Vec<HookPlan>,
    /// How the permission callback behaves (answers stay the policy's).
    pub can_use_tool: Behaviour,
}

/// A hook the user of the supervisor registered, and what its callback does.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HookPlan {
    pub event: String,
    #[serde(default)]
    pub matcher: Option<String>,
    /// The hook output the callback returns.
    #[serde(default = "empty_object")]
    pub answer: Value,
    #[serde(flatten)]
    pub behaviour: Behaviour,
}

/// How a user callback behaves: it may take time, or throw.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Behaviour {
    #[serde(default, rename = "delay_ms", with = "millis")]
    pub delay: Duration,
    /// The callback throws with this message.
    #[serde(default)]
    pub fail: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

mod millis {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[derive(Debug, Clone)]
pub struct TurnPlan {
    pub prompt: String,
    pub actions: Vec<Action>,
    /// Plan version 2: this prompt goes to a new CLI process that resumes the session
    /// (`--resume <the session id the CLI reported>`), after the current one ended.
    pub resume: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Measured from writing the turn's prompt.
    pub after: Duration,
    pub kind: ActionKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    Interrupt,
    SetPermissionMode(String),
    /// `None` resets to the default model (the CLI accepts `null`).
    SetModel(Option<String>),
    StopTask(String),
    /// A kind this supervisor does not know: reported as an `unsupported_action` event.
    Unsupported {
        kind: String,
    },
}

impl ActionKind {
    pub fn name(&self) -> &str {
        match self {
            ActionKind::Interrupt => "interrupt",
            ActionKind::SetPermissionMode(_) => "set_permission_mode",
            ActionKind::SetModel(_) => "set_model",
            ActionKind::StopTask(_) => "stop_task",
            ActionKind::Unsupported { kind } => kind,
        }
    }
}

// The wire shapes, as serde reads them; converted to the types above by `Plan::parse`.

#[derive(Deserialize)]
struct RawPlan {
    version: u64,
    #[serde(default)]
    scenario: Option<String>,
    #[serde(default)]
    mode: Option<Mode>,
    turns: Vec<RawTurn>,
    #[serde(default)]
    turn_timeout_ms: Option<u64>,
    #[serde(default)]
    idle_timeout_ms: Option<u64>,
    #[serde(default)]
    hooks: Vec<HookPlan>,
    #[serde(default)]
    can_use_tool: Behaviour,
}

#[derive(Deserialize)]
struct RawTurn {
    prompt: String,
    #[serde(default)]
    actions: Vec<RawAction>,
    #[serde(default)]
    resume: bool,
}

#[derive(Deserialize)]
struct RawAction {
    kind: String,
    #[serde(default)]
    after_ms: u64,
    #[serde(flatten)]
    params: Map<String, Value>,
}

impl Plan {
    pub fn load(path: &Path) -> Result<Plan, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read plan {}: {e}", path.display()))?;
        Plan::parse(&text).map_err(|e| format!("bad plan {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Plan, String> {
        let raw: RawPlan = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if !(1..=2).contains(&raw.version) {
            return Err(format!(
                "unsupported plan version {} (this supervisor reads versions 1 and 2)",
                raw.version
            ));
        }
        if raw.version == 1 && raw.idle_timeout_ms.is_some() {
            return Err("idle_timeout_ms needs plan version 2".into());
        }
        if raw.version == 1 && raw.turns.iter().any(|t| t.resume) {
            return Err("turns[].resume needs plan version 2".into());
        }
        if raw.turns.first().is_some_and(|t| t.resume) {
            return Err("turns[0] cannot resume: there is no session yet".into());
        }
        // Same default as the scenario model: one turn is a one-shot run, several are multi-turn.
        let mode = raw.mode.unwrap_or(if raw.turns.len() == 1 {
            Mode::OneShot
        } else {
            Mode::MultiTurn
        });
        if raw.turns.is_empty() {
            return Err("the plan has no turns".into());
        }
        if mode == Mode::OneShot && raw.turns.len() != 1 {
            return Err(format!(
                "one_shot mode takes exactly one turn, the plan has {}",
                raw.turns.len()
            ));
        }
        let turns = raw
            .turns
            .into_iter()
            .enumerate()
            .map(|(index, turn)| {
                let actions = turn
                    .actions
                    .into_iter()
                    .map(|action| {
                        action
                            .into_action()
                            .map_err(|e| format!("turns[{index}]: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(TurnPlan {
                    prompt: turn.prompt,
                    actions,
                    resume: turn.resume,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Plan {
            scenario: raw.scenario,
            mode,
            turns,
            turn_timeout: Duration::from_millis(
                raw.turn_timeout_ms.unwrap_or(DEFAULT_TURN_TIMEOUT_MS),
            ),
            idle_timeout: raw.idle_timeout_ms.map(Duration::from_millis),
            hooks: raw.hooks,
            can_use_tool: raw.can_use_tool,
        })
    }
}

impl RawAction {
    fn into_action(self) -> Result<Action, String> {
        let string_param = |name: &str| match self.params.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(format!("action `{}` needs a string `{name}`", self.kind)),
        };
        let kind = match self.kind.as_str() {
            "interrupt" => ActionKind::Interrupt,
            "set_permission_mode" => ActionKind::SetPermissionMode(string_param("mode")?),
            "set_model" => match self.params.get("model") {
                Some(Value::String(model)) => ActionKind::SetModel(Some(model.clone())),
                Some(Value::Null) | None => ActionKind::SetModel(None),
                Some(_) => {
                    return Err("action `set_model`: `model` must be a string or null".into());
                }
            },
            "stop_task" => ActionKind::StopTask(string_param("task_id")?),
            other => ActionKind::Unsupported {
                kind: other.to_string(),
            },
        };
        Ok(Action {
            after: Duration::from_millis(self.after_ms),
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_example() {
        let plan = Plan::parse(
            r#"{"version":1,"scenario":"seed/cross-turn-notification","mode":"multi_turn",
                "turns":[{"prompt":"start a background task","actions":[]},
                         {"prompt":"second question","actions":[{"kind":"interrupt","after_ms":200}]}],
                "turn_timeout_ms":10000}"#,
        )
        .unwrap();
        assert_eq!(plan.mode, Mode::MultiTurn);
        assert_eq!(plan.turn_timeout, Duration::from_secs(10));
        assert_eq!(plan.turns[1].prompt, "second question");
        assert_eq!(
            plan.turns[1].actions,
            [Action {
                after: Duration::from_millis(200),
                kind: ActionKind::Interrupt
            }]
        );
    }

    #[test]
    fn action_kinds_and_parameters() {
        let plan = Plan::parse(
            r#"{"version":1,"mode":"one_shot","turns":[{"prompt":"p","actions":[
                {"kind":"set_permission_mode","mode":"plan","after_ms":1},
                {"kind":"set_model","model":null},
                {"kind":"stop_task","task_id":"b1"},
                {"kind":"rewind_files","after_ms":5}]}]}"#,
        )
        .unwrap();
        let kinds: Vec<_> = plan.turns[0]
            .actions
            .iter()
            .map(|a| a.kind.clone())
            .collect();
        assert_eq!(
            kinds,
            [
                ActionKind::SetPermissionMode("plan".into()),
                ActionKind::SetModel(None),
                ActionKind::StopTask("b1".into()),
                ActionKind::Unsupported {
                    kind: "rewind_files".into()
                },
            ]
        );
        assert_eq!(
            plan.turn_timeout,
            Duration::from_millis(DEFAULT_TURN_TIMEOUT_MS)
        );
    }

    #[test]
    fn rejects_bad_plans() {
        let bad = |text: &str| Plan::parse(text).unwrap_err();
        assert!(
            bad(r#"{"version":3,"mode":"one_shot","turns":[{"prompt":"p"}]}"#)
                .contains("version 3")
        );
        assert!(bad(r#"{"version":1,"mode":"one_shot","turns":[]}"#).contains("no turns"));
        assert!(
            bad(r#"{"version":1,"mode":"one_shot","turns":[{"prompt":"a"},{"prompt":"b"}]}"#)
                .contains("exactly one turn")
        );
        assert!(
            bad(r#"{"version":1,"turns":[{"prompt":"p","actions":[{"kind":"stop_task"}]}]}"#)
                .contains("task_id")
        );
        assert!(
            bad(r#"{"version":1,"mode":"sideways","turns":[{"prompt":"p"}]}"#).contains("sideways")
        );
    }

    #[test]
    fn version_2_adds_the_idle_timeout_and_version_1_still_reads() {
        let v2 = Plan::parse(r#"{"version":2,"turns":[{"prompt":"p"}],"idle_timeout_ms":1500}"#)
            .unwrap();
        assert_eq!(v2.idle_timeout, Some(Duration::from_millis(1500)));
        let v1 = Plan::parse(r#"{"version":1,"turns":[{"prompt":"p"}]}"#).unwrap();
        assert_eq!(v1.idle_timeout, None);
        assert!(
            Plan::parse(r#"{"version":1,"turns":[{"prompt":"p"}],"idle_timeout_ms":5}"#)
                .unwrap_err()
                .contains("version 2")
        );
    }

    #[test]
    fn mode_defaults_by_turn_count() {
        assert_eq!(
            Plan::parse(r#"{"version":1,"turns":[{"prompt":"p"}]}"#)
                .unwrap()
                .mode,
            Mode::OneShot
        );
        assert_eq!(
            Plan::parse(r#"{"version":1,"turns":[{"prompt":"p"},{"prompt":"q"}]}"#)
                .unwrap()
                .mode,
            Mode::MultiTurn
        );
    }
}
