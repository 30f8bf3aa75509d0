//! The user's callbacks, as a real application would register them with its SDK: the hooks
//! sent in `initialize` and the permission callback (`can_use_tool`), with the behaviour the
//! drive plan gives them (an answer, a delay, a throw — docs/adapters.md §2).
//!
//! A slow callback must not stall the session: its answer is scheduled, and every other
//! request and message keeps being served meanwhile (FM-30). A throwing callback becomes an
//! error response, never silence.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::plan::{Behaviour, HookPlan, Plan};

/// Callback ids are assigned in registration order, as the SDKs do.
fn callback_id(n: usize) -> String {
    format!("hook_{n}")
}

pub struct Callbacks {
    hooks: Vec<HookPlan>,
    can_use_tool: Behaviour,
}

impl Callbacks {
    pub fn new(plan: &Plan) -> Callbacks {
        Callbacks {
            hooks: plan.hooks.clone(),
            can_use_tool: plan.can_use_tool.clone(),
        }
    }

    /// Whether the session registers any hook (then it relies on the CLI applying them).
    pub fn any_hooks(&self) -> bool {
        !self.hooks.is_empty()
    }

    /// `initialize`'s `hooks` field: `{event: [{matcher, hookCallbackIds}]}`, or `null` when
    /// there are none.
    pub fn registration(&self) -> Value {
        if self.hooks.is_empty() {
            return Value::Null;
        }
        let mut by_event: Map<String, Value> = Map::new();
        for (n, hook) in self.hooks.iter().enumerate() {
            let entry = json!({"matcher": hook.matcher, "hookCallbackIds": [callback_id(n)]});
            match by_event.get_mut(&hook.event) {
                Some(Value::Array(matchers)) => matchers.push(entry),
                _ => {
                    by_event.insert(hook.event.clone(), json!([entry]));
                }
            }
        }
        Value::Object(by_event)
    }

    /// The hook registered under `callback_id`, if this session registered it.
    pub fn hook(&self, callback_id: &str) -> Option<&HookPlan> {
        let n: usize = callback_id.strip_prefix("hook_")?.parse().ok()?;
        self.hooks.get(n)
    }

    pub fn can_use_tool(&self) -> &Behaviour {
        &self.can_use_tool
    }
}

/// A control response a slow callback owes, due at `due`.
pub struct Delayed {
    pub due: Instant,
    pub request_id: String,
    /// The subtype of the request it answers.
    pub subtype: String,
    pub line: Value,
}

/// Answers owed by slow callbacks, kept sorted by due time.
#[derive(Default)]
pub struct Owed {
    answers: Vec<Delayed>,
}

impl Owed {
    pub fn schedule(&mut self, delay: Duration, request_id: &str, subtype: &str, line: Value) {
        let due = Instant::now() + delay;
        let at = self.answers.partition_point(|d| d.due <= due);
        self.answers.insert(
            at,
            Delayed {
                due,
                request_id: request_id.to_string(),
                subtype: subtype.to_string(),
                line,
            },
        );
    }

    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    pub fn next_due(&self) -> Option<Instant> {
        self.answers.first().map(|d| d.due)
    }

    /// Answers due by `now`, oldest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<Delayed> {
        let n = self.answers.partition_point(|d| d.due <= now);
        self.answers.drain(..n).collect()
    }

    /// Withdraws the answer owed for `request_id` (the CLI cancelled the request). Returns
    /// whether there was one.
    pub fn withdraw(&mut self, request_id: &str) -> bool {
        let before = self.answers.len();
        self.answers.retain(|d| d.request_id != request_id);
        self.answers.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> Plan {
        Plan::parse(json).expect("valid plan")
    }

    #[test]
    fn hooks_are_registered_by_event_with_ids_in_order() {
        let p = plan(
            r#"{"version":1,"turns":[{"prompt":"a"}],"hooks":[
                {"event":"PreToolUse","matcher":"Bash","answer":{"decision":"block"}},
                {"event":"UserPromptSubmit"},
                {"event":"PreToolUse","delay_ms":50,"fail":"boom"}]}"#,
        );
        let c = Callbacks::new(&p);
        assert!(c.any_hooks());
        assert_eq!(
            c.registration(),
            json!({"PreToolUse": [{"matcher": "Bash", "hookCallbackIds": ["hook_0"]},
                                  {"matcher": null, "hookCallbackIds": ["hook_2"]}],
                   "UserPromptSubmit": [{"matcher": null, "hookCallbackIds": ["hook_1"]}]})
        );
        assert_eq!(c.hook("hook_1").map(|h| h.answer.clone()), Some(json!({})));
        let slow = c.hook("hook_2").expect("registered");
        assert_eq!(slow.behaviour.delay, Duration::from_millis(50));
        assert_eq!(slow.behaviour.fail.as_deref(), Some("boom"));
        assert!(c.hook("hook_3").is_none() && c.hook("hook_x").is_none());
    }

    #[test]
    fn no_hooks_register_as_null() {
        let c = Callbacks::new(&plan(r#"{"version":1,"turns":[{"prompt":"a"}]}"#));
        assert_eq!(c.registration(), Value::Null);
        assert_eq!(c.can_use_tool(), &Behaviour::default());
    }

    #[test]
    fn owed_answers_come_due_in_order_and_can_be_withdrawn() {
        let mut owed = Owed::default();
        owed.schedule(Duration::from_secs(60), "late", "can_use_tool", json!(1));
        owed.schedule(Duration::ZERO, "now", "hook_callback", json!(2));
        owed.schedule(Duration::from_secs(30), "mid", "hook_callback", json!(3));
        let due: Vec<String> = owed
            .take_due(Instant::now())
            .into_iter()
            .map(|d| d.request_id)
            .collect();
        assert_eq!(due, ["now"]);
        assert!(owed.withdraw("mid"));
        assert!(!owed.withdraw("mid"));
        let rest: Vec<String> = owed
            .take_due(Instant::now() + Duration::from_secs(61))
            .into_iter()
            .map(|d| d.request_id)
            .collect();
        assert_eq!(rest, ["late"]);
        assert_eq!(owed.next_due(), None);
    }
}
