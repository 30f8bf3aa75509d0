//! What the supervisor allows its CLI to do with background tasks.
//!
//! * **foreground-only** (default): every turn must finish its work before its `result`. A
//!   `can_use_tool` request asking for `run_in_background: true` is allowed with the flag rewritten
//!   to `false`; if a tool result nonetheless shows an async launch, the turn fails.
//! * **background-aware**: background tasks are fine. The supervisor tracks them and keeps the CLI
//!   (and its stdin) open until they finish and their injected notification turns are delivered,
//!   and never mistakes an injected turn's `result` for a prompt's answer (see `turns.rs`).

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    ForegroundOnly,
    BackgroundAware,
}

impl Policy {
    pub fn from_name(name: &str) -> Option<Policy> {
        match name {
            "foreground-only" => Some(Policy::ForegroundOnly),
            "background-aware" => Some(Policy::BackgroundAware),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Policy::ForegroundOnly => "foreground-only",
            Policy::BackgroundAware => "background-aware",
        }
    }

    /// Whether `can_use_tool` answers rewrite `run_in_background: true` to `false`.
    pub fn keeps_tools_in_foreground(self) -> bool {
        self == Policy::ForegroundOnly
    }
}

/// The `updatedInput` to allow a tool call with. With `force_foreground` a
/// `run_in_background: true` is rewritten to `false` (the second element says whether it rewrote
/// something); everything else passes through unchanged, key order included.
pub fn rewrite_tool_input(force_foreground: bool, input: &Value) -> (Value, bool) {
    let mut input = input.clone();
    if force_foreground
        && let Some(flag) = input.get_mut("run_in_background")
        && *flag == Value::Bool(true)
    {
        *flag = Value::Bool(false);
        return (input, true);
    }
    (input, false)
}

/// Evidence that a tool call started a background task instead of finishing.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncLaunch {
    pub tool_use_id: Option<String>,
    /// The background task's id when the tool result names it (`backgroundTaskId`, `agentId`).
    pub task_id: Option<String>,
    /// Which field showed it, for the error text.
    pub evidence: String,
}

impl AsyncLaunch {
    /// The turn error under foreground-only.
    pub fn policy_error(&self) -> String {
        let mut text =
            String::from("a background task was launched under the foreground-only policy");
        if let Some(task) = &self.task_id {
            text += &format!(" (task {task})");
        }
        if let Some(tool_use) = &self.tool_use_id {
            text += &format!(" by tool call {tool_use}");
        }
        text + &format!("; evidence: {}", self.evidence)
    }
}

/// Does this `user` message (a tool result) show an async launch?
///
/// Only the real CLI's shape is evidence: the top-level structured `tool_use_result` with
/// `"status":"async_launched"`, `"isAsync":true` (Agent) or a `backgroundTaskId` (Bash). Text in
/// the `tool_result` content is the model's to read, not a launch — not even when it parses as
/// JSON with that status (a tool that prints it, a model that quotes it).
pub fn detect_async_launch(user_message: &Value) -> Option<AsyncLaunch> {
    let blocks = user_message
        .pointer("/message/content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let first_tool_use_id = blocks
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .and_then(|b| b.get("tool_use_id"))
        .and_then(Value::as_str)
        .map(str::to_string);

    if let Some(result) = user_message
        .get("tool_use_result")
        .filter(|r| r.is_object())
    {
        let evidence = if result.get("status").and_then(Value::as_str) == Some("async_launched") {
            Some("tool_use_result.status is \"async_launched\"")
        } else if result.get("isAsync") == Some(&Value::Bool(true)) {
            Some("tool_use_result.isAsync is true")
        } else if result
            .get("backgroundTaskId")
            .is_some_and(|id| !id.is_null())
        {
            Some("tool_use_result.backgroundTaskId is set")
        } else {
            None
        };
        if let Some(evidence) = evidence {
            return Some(AsyncLaunch {
                tool_use_id: first_tool_use_id,
                task_id: task_id_of(result),
                evidence: evidence.to_string(),
            });
        }
    }

    None
}

fn task_id_of(result: &Value) -> Option<String> {
    ["backgroundTaskId", "agentId", "task_id", "taskId"]
        .iter()
        .find_map(|key| result.get(*key).and_then(Value::as_str))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool_result(content: Value, tool_use_result: Value) -> Value {
        json!({"type":"user","message":{"role":"user","content":[
            {"tool_use_id":"toolu_1","type":"tool_result","content":content}]},
            "parent_tool_use_id":null,"tool_use_result":tool_use_result})
    }

    #[test]
    fn foreground_only_rewrites_run_in_background() {
        let input = json!({"command":"sleep 3","description":"bg","run_in_background":true});
        let (updated, changed) = rewrite_tool_input(true, &input);
        assert!(changed);
        assert_eq!(
            updated,
            json!({"command":"sleep 3","description":"bg","run_in_background":false})
        );
        // Key order is kept, so the CLI sees its own input back with one value changed.
        assert_eq!(
            updated.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["command", "description", "run_in_background"]
        );
    }

    #[test]
    fn other_inputs_pass_through() {
        for input in [
            json!({"command":"ls"}),
            json!({"run_in_background":false}),
            json!({"run_in_background":"true"}),
        ] {
            assert_eq!(rewrite_tool_input(true, &input), (input.clone(), false));
        }
        let bg = json!({"command":"sleep 3","run_in_background":true});
        assert_eq!(rewrite_tool_input(false, &bg), (bg.clone(), false));
    }

    #[test]
    fn detects_bash_background_launch() {
        let msg = tool_result(
            json!(
                "Command running in background with ID: bko732oxw. Output is being written to: /tmp/x"
            ),
            json!({"stdout":"","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false,"backgroundTaskId":"bko732oxw"}),
        );
        let launch = detect_async_launch(&msg).unwrap();
        assert_eq!(launch.task_id.as_deref(), Some("bko732oxw"));
        assert_eq!(launch.tool_use_id.as_deref(), Some("toolu_1"));
        assert!(launch.policy_error().contains("foreground-only"));
    }

    #[test]
    fn detects_agent_async_launch() {
        let msg = tool_result(
            json!([{"type":"text","text":"Async agent launched successfully.\nagentId: a274544a4eea08cab"}]),
            json!({"isAsync":true,"status":"async_launched","agentId":"a274544a4eea08cab","description":"bg agent"}),
        );
        assert_eq!(
            detect_async_launch(&msg).unwrap().task_id.as_deref(),
            Some("a274544a4eea08cab")
        );
        let only_is_async = tool_result(json!("x"), json!({"isAsync":true}));
        assert!(detect_async_launch(&only_is_async).is_some());
    }

    #[test]
    fn json_status_in_tool_result_content_is_not_a_launch() {
        // The real CLI never reports a launch there: text is the model's to read.
        let as_string = tool_result(
            json!(r#"{"status":"async_launched","agentId":"a7"}"#),
            Value::Null,
        );
        assert_eq!(detect_async_launch(&as_string), None);
        let as_block = tool_result(
            json!([{"type":"text","text":" {\"status\": \"async_launched\"} "}]),
            json!("Async agent launched successfully."),
        );
        assert_eq!(detect_async_launch(&as_block), None);
    }

    #[test]
    fn prose_mentioning_async_launched_is_a_decoy() {
        let decoy = tool_result(
            json!(
                "The docs say a tool may return status \"async_launched\" when run_in_background is set."
            ),
            json!({"stdout":"status: async_launched","stderr":"","interrupted":false}),
        );
        assert_eq!(detect_async_launch(&decoy), None);
        let decoy_blocks = tool_result(
            json!([{"type":"text","text":"{\"note\":\"async_launched\"} is not a status"}]),
            Value::Null,
        );
        assert_eq!(detect_async_launch(&decoy_blocks), None);
        let assistant_text =
            json!({"type":"user","message":{"role":"user","content":"status: async_launched"}});
        assert_eq!(detect_async_launch(&assistant_text), None);
    }

    #[test]
    fn ordinary_tool_results_are_not_launches() {
        let fg = tool_result(
            json!("fgdone"),
            json!({"stdout":"fgdone","stderr":"","backgroundTaskId":null}),
        );
        assert_eq!(detect_async_launch(&fg), None);
    }
}
