//! Message builders: the shorthands of the scenario language. Each fills every field the real CLI
//! sends for the profile (key sets and order taken from real transcripts of 2.1.81 and 2.1.330),
//! with the session's ids and counters. Scenario `with`/`without` adjust the result afterwards.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::Profile;
use super::ids::{IdGen, epoch_millis, iso_timestamp};

/// The per-process state the real CLI threads through its frames: session id, counters,
/// cumulative cost, the prompt being answered.
#[derive(Debug, Clone)]
pub struct Session {
    pub profile: Profile,
    pub session_id: String,
    pub cwd: String,
    pub model: String,
    pub permission_mode: String,
    /// The tools system/init lists: the profile's, minus those `--disallowedTools` removed.
    pub tools: Vec<String>,
    /// Permission denials of the current turn, reported in its `result` (`permission_denials`).
    pub turn_denials: Vec<Value>,
    pub ids: IdGen,
    msg_counter: u32,
    /// Results written so far (`result_index` on 2.1.330).
    pub result_index: u64,
    /// Model round-trips in the current turn (`num_turns`).
    pub turn_round_trips: u64,
    /// Cumulative cost over the process (`total_cost_usd`, `modelUsage` are cumulative).
    cost_total: f64,
    tokens_in_total: u64,
    tokens_out_total: u64,
    /// The `uuid` of the prompt this turn answers, echoed as `user_message_uuid(s)` by 2.1.330.
    pub prompt_uuid: Option<String>,
    echoed_prompt_uuid: bool,
    pub last_tool_use_id: Option<String>,
    pub last_assistant_text: Option<String>,
    pub turn_started_ms: u64,
    /// `CLAUDE_CODE_SDK_READS_SESSION_STATE=1`: the supervisor asked for session_state frames.
    pub reads_session_state: bool,
    /// Run id per task: 2.1.330 repeats a task's `run_id` on every frame about it (task_started,
    /// background_tasks_changed, task_updated, task_notification, the injected result's origin).
    task_run_ids: BTreeMap<String, String>,
    /// The task notified last: the injected turn that follows names its run in `origin`.
    last_notified_task: Option<String>,
    /// Background Bash launches, tool_use id → task id: the tool result reports the task id.
    bg_task_of_tool_use: BTreeMap<String, String>,
    /// Tool names by tool_use id.
    tool_names: BTreeMap<String, String>,
    /// tool_use ids the supervisor was asked about with `can_use_tool`.
    permission_asked: BTreeSet<String>,
    /// The state of the last `session_state_changed` frame built (`None` before the first).
    session_state: Option<String>,
}

const COST_PER_TURN: f64 = 0.00014;

/// The built-in tools system/init lists.
pub const DEFAULT_TOOLS: &[&str] = &[
    "Task",
    "Bash",
    "Glob",
    "Grep",
    "Read",
    "Edit",
    "Write",
    "WebFetch",
    "TodoWrite",
];

impl Session {
    pub fn new(profile: Profile, seed: u64, cwd: String) -> Self {
        let mut ids = IdGen::new(seed);
        let session_id = ids.uuid();
        Session {
            profile,
            session_id,
            cwd,
            model: profile.model().to_string(),
            permission_mode: "default".into(),
            tools: DEFAULT_TOOLS.iter().map(|t| t.to_string()).collect(),
            turn_denials: Vec::new(),
            ids,
            msg_counter: 0,
            result_index: 0,
            turn_round_trips: 0,
            cost_total: 0.0,
            tokens_in_total: 0,
            tokens_out_total: 0,
            prompt_uuid: None,
            echoed_prompt_uuid: false,
            last_tool_use_id: None,
            last_assistant_text: None,
            turn_started_ms: epoch_millis(),
            reads_session_state: false,
            task_run_ids: BTreeMap::new(),
            last_notified_task: None,
            bg_task_of_tool_use: BTreeMap::new(),
            tool_names: BTreeMap::new(),
            permission_asked: BTreeSet::new(),
            session_state: None,
        }
    }

    /// A new turn starts: reset per-turn counters; remember the prompt's uuid (if any).
    pub fn begin_turn(&mut self, prompt_uuid: Option<String>) {
        self.prompt_uuid = prompt_uuid;
        self.echoed_prompt_uuid = false;
        self.turn_round_trips = 0;
        self.turn_denials.clear();
        self.last_assistant_text = None;
        self.turn_started_ms = epoch_millis();
    }

    pub fn uuid(&mut self) -> String {
        self.ids.uuid()
    }

    fn next_msg_id(&mut self) -> String {
        self.msg_counter += 1;
        format!("msg_{:03}", self.msg_counter)
    }

    pub fn new_tool_use_id(&mut self) -> String {
        format!("toolu_msg_{:03}", self.msg_counter + 1)
    }

    fn new_profile(&self) -> bool {
        self.profile.is_new()
    }

    /// Adds `user_message_uuid(s)` to the first reply frame of a turn whose prompt had a uuid.
    fn echo_prompt_uuid(&mut self, m: &mut Map<String, Value>) {
        if !self.new_profile() || self.echoed_prompt_uuid {
            return;
        }
        if let Some(u) = self.prompt_uuid.clone() {
            m.insert("user_message_uuid".into(), json!(u));
            m.insert("user_message_uuids".into(), json!([u]));
            self.echoed_prompt_uuid = true;
        }
    }

    // -----------------------------------------------------------------------------------------
    // system frames

    pub fn init(&mut self) -> Value {
        let uuid = self.uuid();
        let new = self.new_profile();
        let mut m = Map::new();
        m.insert("type".into(), json!("system"));
        m.insert("subtype".into(), json!("init"));
        m.insert("cwd".into(), json!(self.cwd));
        m.insert("session_id".into(), json!(self.session_id));
        m.insert("tools".into(), json!(self.tools));
        m.insert("mcp_servers".into(), json!([]));
        m.insert("model".into(), json!(self.model));
        m.insert("permissionMode".into(), json!(self.permission_mode));
        m.insert(
            "slash_commands".into(),
            json!(["compact", "context", "cost", "init", "review"]),
        );
        if new {
            m.insert("terminal_slash_commands".into(), json!(["doctor", "color"]));
        }
        m.insert("apiKeySource".into(), json!("ANTHROPIC_API_KEY"));
        m.insert("claude_code_version".into(), json!(self.profile.version()));
        m.insert("output_style".into(), json!("default"));
        m.insert("agents".into(), json!(["general-purpose", "Explore"]));
        m.insert("skills".into(), json!([]));
        m.insert("plugins".into(), json!([]));
        if new {
            m.insert(
                "capabilities".into(),
                json!([
                    "interrupt_receipt_v1",
                    "interrupt_cancel_queued_v1",
                    "msg_lifecycle_v1"
                ]),
            );
            m.insert("analytics_disabled".into(), json!(true));
            m.insert("product_feedback_disabled".into(), json!(true));
            m.insert("served_by_anthropic".into(), json!(false));
        }
        m.insert("uuid".into(), json!(uuid));
        if new {
            m.insert(
                "memory_paths".into(),
                json!({"auto": format!("{}/.claude/projects/memory/", self.cwd)}),
            );
            m.insert("original_cwd".into(), json!(self.cwd));
            m.insert("additional_directories".into(), json!([]));
            m.insert(
                "messaging_socket_path".into(),
                json!("/tmp/cc-socks/fake.sock"),
            );
        }
        m.insert("fast_mode_state".into(), json!("off"));
        if new {
            m.insert(
                "fast_mode_disabled_reason".into(),
                json!("sdk_opt_in_required"),
            );
            m.insert("per_turn_effort_active".into(), json!(true));
            m.insert("ultrathink_available".into(), json!(false));
            m.insert("ultrathink_typed_raises".into(), json!(false));
            m.insert("view_mode".into(), json!("default"));
            if let Some(u) = &self.prompt_uuid {
                m.insert("user_message_uuids".into(), json!([u]));
            }
        }
        Value::Object(m)
    }

    /// A `system/<subtype>` frame with the profile's trailing ids.
    fn system(&mut self, subtype: &str, fields: Value) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!("system"));
        m.insert("subtype".into(), json!(subtype));
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        m.insert("uuid".into(), json!(self.uuid()));
        m.insert("session_id".into(), json!(self.session_id));
        Value::Object(m)
    }

    /// Whether the last `session_state_changed` said `running`: an injected turn that starts
    /// while the session is idle announces `running` first, one that follows a turn still
    /// running does not.
    pub fn is_running(&self) -> bool {
        self.session_state.as_deref() == Some("running")
    }

    pub fn session_state(&mut self, state: &str) -> Value {
        self.session_state = Some(state.to_string());
        self.system(
            "session_state_changed",
            json!({"state": state, "sdk_host_only": true}),
        )
    }

    pub fn status(&mut self, status: Option<&str>, permission_mode: Option<&str>) -> Value {
        let mode = permission_mode.unwrap_or(&self.permission_mode).to_string();
        self.system("status", json!({"status": status, "permissionMode": mode}))
    }

    fn run_id(&mut self) -> String {
        format!(
            "0mw{:06x}-{:08x}",
            self.ids.next_u64() & 0xFF_FFFF,
            self.ids.next_u64() as u32
        )
    }

    /// The task's run id, the same on every frame about the task.
    fn task_run_id(&mut self, task_id: &str) -> String {
        if let Some(r) = self.task_run_ids.get(task_id) {
            return r.clone();
        }
        let r = self.run_id();
        self.task_run_ids.insert(task_id.to_string(), r.clone());
        r
    }

    pub fn task_started(
        &mut self,
        task_id: &str,
        description: &str,
        task_type: &str,
        tool_use_id: Option<&str>,
        prompt: Option<&str>,
    ) -> Value {
        let tool_use_id = self.tool_use_id_or_last(tool_use_id);
        if task_type == "local_bash" {
            self.bg_task_of_tool_use
                .insert(tool_use_id.clone(), task_id.to_string());
        }
        let mut f = Map::new();
        f.insert("task_id".into(), json!(task_id));
        if self.new_profile() {
            let run_id = self.task_run_id(task_id);
            f.insert("run_id".into(), json!(run_id));
        }
        f.insert("tool_use_id".into(), json!(tool_use_id));
        f.insert("description".into(), json!(description));
        if self.new_profile() {
            if task_type == "local_agent" {
                f.insert("subagent_type".into(), json!("general-purpose"));
            }
            f.insert("is_backgrounded".into(), json!(true));
            if task_type == "local_agent" {
                f.insert("spawn_depth".into(), json!(1));
            }
        }
        f.insert("task_type".into(), json!(task_type));
        if let Some(p) = prompt {
            f.insert("prompt".into(), json!(p));
        }
        self.system("task_started", Value::Object(f))
    }

    pub fn task_progress(
        &mut self,
        task_id: &str,
        description: &str,
        tool_use_id: Option<&str>,
        last_tool_name: Option<&str>,
    ) -> Value {
        let tool_use_id = self.tool_use_id_or_last(tool_use_id);
        let mut f = Map::new();
        f.insert("task_id".into(), json!(task_id));
        f.insert("tool_use_id".into(), json!(tool_use_id));
        f.insert("description".into(), json!(description));
        f.insert(
            "usage".into(),
            json!({"total_tokens": 11, "tool_uses": 0, "duration_ms": 22}),
        );
        if let Some(t) = last_tool_name {
            f.insert("last_tool_name".into(), json!(t));
        }
        self.system("task_progress", Value::Object(f))
    }

    pub fn task_updated(&mut self, task_id: &str, status: &str) -> Value {
        let run_id = self.task_run_id(task_id);
        self.system(
            "task_updated",
            json!({"task_id": task_id, "run_id": run_id,
                   "patch": {"status": status, "end_time": epoch_millis()}}),
        )
    }

    pub fn task_notification(
        &mut self,
        task_id: &str,
        status: &str,
        summary: &str,
        output_file: Option<&str>,
        tool_use_id: Option<&str>,
    ) -> Value {
        let tool_use_id = self.tool_use_id_or_last(tool_use_id);
        let output_file = output_file
            .map(str::to_string)
            .unwrap_or_else(|| self.task_output_file(task_id));
        let mut m = Map::new();
        m.insert("type".into(), json!("system"));
        m.insert("subtype".into(), json!("task_notification"));
        m.insert("task_id".into(), json!(task_id));
        if self.new_profile() {
            let run_id = self.task_run_id(task_id);
            m.insert("run_id".into(), json!(run_id));
        }
        self.last_notified_task = Some(task_id.to_string());
        m.insert("tool_use_id".into(), json!(tool_use_id));
        m.insert("status".into(), json!(status));
        m.insert("output_file".into(), json!(output_file));
        m.insert("summary".into(), json!(summary));
        // 2.1.81 puts session_id before uuid on this frame; 2.1.330 the other way round.
        if self.new_profile() {
            m.insert("uuid".into(), json!(self.uuid()));
            m.insert("session_id".into(), json!(self.session_id));
        } else {
            m.insert("session_id".into(), json!(self.session_id));
            m.insert("uuid".into(), json!(self.uuid()));
        }
        Value::Object(m)
    }

    pub fn task_output_file(&self, task_id: &str) -> String {
        format!(
            "/tmp/claude-1000/{}/{}/tasks/{task_id}.output",
            self.cwd.replace('/', "-"),
            self.session_id
        )
    }

    pub fn background_tasks_changed(&mut self, tasks: Vec<Value>) -> Value {
        let tasks: Vec<Value> = tasks
            .into_iter()
            .map(|mut t| {
                if let Value::Object(o) = &mut t
                    && !o.contains_key("run_id")
                {
                    let task_id = o
                        .get("task_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let run_id = self.task_run_id(&task_id);
                    let mut n = Map::new();
                    n.insert("task_id".into(), o.remove("task_id").unwrap_or(Value::Null));
                    n.insert("run_id".into(), json!(run_id));
                    n.extend(std::mem::take(o));
                    return Value::Object(n);
                }
                t
            })
            .collect();
        self.system("background_tasks_changed", json!({"tasks": tasks}))
    }

    pub fn permission_denied(
        &mut self,
        tool_name: &str,
        tool_use_id: Option<&str>,
        message: Option<&str>,
    ) -> Value {
        let tool_use_id = self.tool_use_id_or_last(tool_use_id);
        let message = message.map(str::to_string).unwrap_or_else(|| {
            format!(
                "{tool_name} needs approval. Claude Code asks before running it in this session."
            )
        });
        self.system(
            "permission_denied",
            json!({"tool_name": tool_name, "tool_use_id": tool_use_id, "message": message}),
        )
    }

    pub fn api_retry(
        &mut self,
        attempt: u32,
        max_retries: u32,
        error_status: u32,
        retry_delay_ms: u64,
        error: &str,
    ) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!("system"));
        m.insert("subtype".into(), json!("api_retry"));
        m.insert("attempt".into(), json!(attempt));
        m.insert("max_retries".into(), json!(max_retries));
        m.insert("retry_delay_ms".into(), json!(retry_delay_ms));
        m.insert("error_status".into(), json!(error_status));
        m.insert("error".into(), json!(error));
        m.insert("session_id".into(), json!(self.session_id));
        m.insert("uuid".into(), json!(self.uuid()));
        Value::Object(m)
    }

    pub fn compact_boundary(&mut self, trigger: &str, pre_tokens: u64) -> Value {
        self.system(
            "compact_boundary",
            json!({"compact_metadata": {"trigger": trigger, "pre_tokens": pre_tokens}}),
        )
    }

    // -----------------------------------------------------------------------------------------
    // conversation frames

    /// An `assistant` frame with one content block.
    pub fn assistant(&mut self, block: Value, parent_tool_use_id: Option<&str>) -> Value {
        if let Some(t) = block.get("text").and_then(Value::as_str)
            && parent_tool_use_id.is_none()
        {
            self.last_assistant_text = Some(t.to_string());
        }
        if block.get("type").and_then(Value::as_str) == Some("tool_use") {
            if let Some(id) = block.get("id").and_then(Value::as_str) {
                self.last_tool_use_id = Some(id.to_string());
            }
            self.turn_round_trips += 1;
        }
        let id = self.next_msg_id();
        let mut m = Map::new();
        m.insert("type".into(), json!("assistant"));
        m.insert(
            "message".into(),
            json!({"id": id, "type": "message", "role": "assistant", "model": self.model,
                   "content": [block], "stop_reason": null, "stop_sequence": null,
                   "usage": {"input_tokens": 10, "output_tokens": 1,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
                   "context_management": null}),
        );
        m.insert("parent_tool_use_id".into(), json!(parent_tool_use_id));
        if parent_tool_use_id.is_some() && self.new_profile() {
            m.insert("agent_id".into(), json!("a566fe0ace6f98741"));
        }
        m.insert("session_id".into(), json!(self.session_id));
        m.insert("uuid".into(), json!(self.uuid()));
        if self.new_profile() {
            m.insert("timestamp".into(), json!(iso_timestamp()));
            if parent_tool_use_id.is_none() {
                self.echo_prompt_uuid(&mut m);
            } else {
                m.insert("subagent_type".into(), json!("general-purpose"));
                m.insert("task_description".into(), json!("background agent"));
            }
        }
        Value::Object(m)
    }

    pub fn text_block(text: &str) -> Value {
        json!({"type": "text", "text": text})
    }

    pub fn thinking_block(&mut self, thinking: &str) -> Value {
        let sig = format!("sig_{:016x}", self.ids.next_u64());
        json!({"type": "thinking", "thinking": thinking, "signature": sig})
    }

    pub fn tool_use_block(&mut self, id: Option<&str>, name: &str, input: Value) -> Value {
        let id = id
            .map(str::to_string)
            .unwrap_or_else(|| self.new_tool_use_id());
        let input = if input.is_null() { json!({}) } else { input };
        self.tool_names.insert(id.clone(), name.to_string());
        json!({"type": "tool_use", "id": id, "name": name, "input": input})
    }

    /// A `user` frame carrying a tool_result block and the top-level structured `tool_use_result`.
    pub fn tool_result(
        &mut self,
        tool_use_id: Option<&str>,
        content: Value,
        is_error: bool,
        tool_use_result: Option<Value>,
    ) -> Value {
        let tool_use_id = self.tool_use_id_or_last(tool_use_id);
        let content = if content.is_null() {
            json!("")
        } else {
            content
        };
        let bg_task = self.bg_task_of_tool_use.get(&tool_use_id).cloned();
        let default_tur = || {
            let text = content.as_str().unwrap_or_default().to_string();
            if is_error {
                return json!(format!("Error: {text}"));
            }
            let mut t = json!({"stdout": text, "stderr": "", "interrupted": false,
                               "isImage": false, "noOutputExpected": false});
            // A background Bash launch: empty stdout, the task id.
            if let Some(task) = &bg_task {
                t["stdout"] = json!("");
                t["backgroundTaskId"] = json!(task);
            }
            t
        };
        let tur = tool_use_result.unwrap_or_else(default_tur);
        let mut m = Map::new();
        m.insert("type".into(), json!("user"));
        m.insert(
            "message".into(),
            json!({"role": "user", "content": [{"tool_use_id": tool_use_id, "type": "tool_result",
                                                 "content": content, "is_error": is_error}]}),
        );
        m.insert("parent_tool_use_id".into(), Value::Null);
        m.insert("session_id".into(), json!(self.session_id));
        m.insert("uuid".into(), json!(self.uuid()));
        m.insert("timestamp".into(), json!(iso_timestamp()));
        m.insert("tool_use_result".into(), tur);
        if self.new_profile() {
            let meta = self.tool_result_meta(&tool_use_id, is_error);
            m.insert("tool_result_meta".into(), json!([meta]));
        }
        Value::Object(m)
    }

    /// `tool_result_meta[0]` (2.1.330): how the permission for the call was decided.
    fn tool_result_meta(&self, tool_use_id: &str, is_error: bool) -> Value {
        let asked = self.permission_asked.contains(tool_use_id);
        let bash = self.tool_names.get(tool_use_id).map(String::as_str) == Some("Bash");
        match (asked, is_error) {
            // The supervisor allowed it for this call.
            (true, false) => json!({"id": tool_use_id,
                "permission_decision": {"decision": "accept", "source": "user_temporary"}}),
            // The supervisor denied it.
            (true, true) => json!({"id": tool_use_id, "non_execution_kind": "permission-rule",
                "permission_decision": {"decision": "reject", "source": "user_reject"}}),
            // Auto-approved: a read-only Bash command is approved by its subcommands.
            (false, false) if bash => json!({"id": tool_use_id, "permission_decision":
                {"decision": "accept", "source": "config", "reason_type": "subcommandResults"}}),
            (false, is_error) => json!({"id": tool_use_id, "permission_decision":
                {"decision": if is_error {"reject"} else {"accept"}, "source": "config"}}),
        }
    }

    /// A `user` frame with a text block (interrupt markers, replays).
    pub fn user_text(&mut self, text: &str) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!("user"));
        m.insert(
            "message".into(),
            json!({"role": "user", "content": [{"type": "text", "text": text}]}),
        );
        m.insert("parent_tool_use_id".into(), Value::Null);
        m.insert("session_id".into(), json!(self.session_id));
        m.insert("uuid".into(), json!(self.uuid()));
        m.insert("timestamp".into(), json!(iso_timestamp()));
        Value::Object(m)
    }

    fn tool_use_id_or_last(&mut self, id: Option<&str>) -> String {
        id.map(str::to_string)
            .or_else(|| self.last_tool_use_id.clone())
            .unwrap_or_else(|| self.new_tool_use_id())
    }

    // -----------------------------------------------------------------------------------------
    // result

    /// The turn's `result`. `text` is the final text (success); `errors` for error subtypes.
    pub fn result(&mut self, mut r: ResultArgs) -> Value {
        let new = self.new_profile();
        // The turn's denials, unless the author listed them.
        if r.permission_denials.is_empty() {
            r.permission_denials = std::mem::take(&mut self.turn_denials);
        }
        let is_error = r.is_error.unwrap_or(r.subtype != "success");
        let duration_ms = epoch_millis().saturating_sub(self.turn_started_ms);
        let num_turns = self.turn_round_trips + 1;
        let interrupted = r.subtype == "error_during_execution";
        // 2.1.81 interrupted results: zero cost, empty modelUsage.
        let (turn_cost, turn_in, turn_out) = if interrupted && !new {
            (0.0, 0, 0)
        } else {
            (
                COST_PER_TURN * num_turns as f64,
                10 * num_turns,
                5 * num_turns,
            )
        };
        self.cost_total += turn_cost;
        self.tokens_in_total += turn_in;
        self.tokens_out_total += turn_out;
        let stop_reason = if r.subtype == "success" {
            json!("end_turn")
        } else {
            Value::Null
        };
        let mut usage = json!({"input_tokens": turn_in, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": turn_out});
        if let Value::Object(u) = &mut usage {
            if new {
                u.insert(
                    "output_tokens_details".into(),
                    json!({"thinking_tokens": 0}),
                );
            }
            u.insert(
                "server_tool_use".into(),
                json!({"web_search_requests": 0, "web_fetch_requests": 0}),
            );
            u.insert("service_tier".into(), json!("standard"));
            u.insert(
                "cache_creation".into(),
                json!({"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0}),
            );
            u.insert("inference_geo".into(), json!(""));
            u.insert("iterations".into(), json!([]));
            u.insert("speed".into(), json!("standard"));
            if new {
                u.insert("fallback_credit".into(), Value::Null);
            }
        }
        let model_usage = if self.cost_total == 0.0 {
            json!({})
        } else {
            let mut mu = json!({"inputTokens": self.tokens_in_total,
                "outputTokens": self.tokens_out_total, "cacheReadInputTokens": 0,
                "cacheCreationInputTokens": 0, "webSearchRequests": 0,
                "costUSD": self.cost_total,
                "contextWindow": if new {1_000_000} else {200_000},
                "maxOutputTokens": if new {128_000} else {32_000}});
            if new && let Value::Object(o) = &mut mu {
                o.insert("thinkingTokens".into(), json!(0));
                o.insert("cacheCreationEphemeral5mInputTokens".into(), json!(0));
                o.insert("cacheCreationEphemeral1hInputTokens".into(), json!(0));
                o.insert("canonicalModel".into(), json!(self.model));
                o.insert("provider".into(), json!("firstParty"));
                o.insert("costBasis".into(), json!("list"));
            }
            let mut m = Map::new();
            m.insert(self.model.clone(), mu);
            Value::Object(m)
        };
        let result_text = r
            .text
            .or_else(|| self.last_assistant_text.clone())
            .unwrap_or_default();
        let uuid = self.uuid();
        let mut m = Map::new();
        if new {
            m.insert(
                "duration_api_ms".into(),
                json!(duration_ms.saturating_sub(2)),
            );
            m.insert("stop_reason".into(), stop_reason);
            m.insert("session_id".into(), json!(self.session_id));
            m.insert("total_cost_usd".into(), json!(self.cost_total));
            m.insert("usage".into(), usage);
            m.insert("modelUsage".into(), model_usage.clone());
            m.insert("permission_denials".into(), json!(r.permission_denials));
            let terminal = r.terminal_reason.unwrap_or_else(|| {
                if interrupted {
                    "aborted_streaming"
                } else {
                    "completed"
                }
                .into()
            });
            let api_error = terminal == "api_error";
            m.insert("terminal_reason".into(), json!(terminal));
            m.insert("fast_mode_state".into(), json!("off"));
            m.insert(
                "fast_mode_disabled_reason".into(),
                json!("sdk_opt_in_required"),
            );
            if r.injected {
                let run_id = match self.last_notified_task.clone() {
                    Some(t) => self.task_run_id(&t),
                    None => self.run_id(),
                };
                m.insert(
                    "origin".into(),
                    json!({"kind": "task-notification", "producer": "session-task", "runId": run_id}),
                );
            }
            m.insert(
                "subagent_stats".into(),
                json!({"spawned": 0, "requested": {"background": 0, "foreground": 0, "unset": 0},
                       "started_in_background": 0, "max_depth": 0, "spawned_by_subagents": 0,
                       "completed": 0, "failed": 0, "killed": {"parent": 0, "user": 0, "system": 0},
                       "refused": {"depth_limit": 0, "concurrency_limit": 0, "budget": 0},
                       "by_type": {}}),
            );
            m.insert("safety_stops".into(), json!(0));
            m.insert("is_error".into(), json!(is_error));
            m.insert("num_turns".into(), json!(num_turns));
            m.insert("subtype".into(), json!(r.subtype));
            let success = r.subtype == "success";
            // Streaming timings: on every success that got a model reply.
            let timed = success && !api_error;
            let prompt_uuid = self.prompt_uuid.clone().filter(|_| !r.injected);
            if success {
                m.insert("api_error_status".into(), Value::Null);
                m.insert("result".into(), json!(result_text));
                if timed {
                    m.insert("ttft_ms".into(), json!(duration_ms / 2));
                }
            } else {
                m.insert(
                    "errors".into(),
                    json!(r.errors.unwrap_or_else(default_errors)),
                );
                // Error results name the prompt before `type`, successes after the timings.
                if let Some(u) = &prompt_uuid {
                    m.insert("user_message_uuid".into(), json!(u));
                }
            }
            m.insert("type".into(), json!("result"));
            m.insert("duration_ms".into(), json!(duration_ms));
            m.insert("uuid".into(), json!(uuid));
            if timed {
                let ttft = duration_ms / 2;
                m.insert("ttft_stream_ms".into(), json!(ttft));
                m.insert("time_to_request_ms".into(), json!(ttft.saturating_sub(1)));
                m.insert("first_content_frame_ms".into(), json!(ttft));
            }
            if let Some(u) = &prompt_uuid {
                if success {
                    m.insert("user_message_uuid".into(), json!(u));
                }
                m.insert("user_message_uuids".into(), json!([u]));
            }
            m.insert("queued_turn_count".into(), json!(0));
            m.insert("result_index".into(), json!(self.result_index));
            m.insert("model_usage_since_last_result".into(), model_usage);
        } else {
            m.insert("type".into(), json!("result"));
            m.insert("subtype".into(), json!(r.subtype));
            if r.subtype == "success" {
                m.insert("is_error".into(), json!(is_error));
                m.insert("duration_ms".into(), json!(duration_ms));
                m.insert(
                    "duration_api_ms".into(),
                    json!(duration_ms.saturating_sub(2)),
                );
                m.insert("num_turns".into(), json!(num_turns));
                m.insert("result".into(), json!(result_text));
            } else {
                m.insert("duration_ms".into(), json!(duration_ms));
                m.insert("duration_api_ms".into(), json!(0));
                // 2.1.81 marks interrupted turns is_error:false.
                m.insert("is_error".into(), json!(r.is_error.unwrap_or(false)));
                m.insert("num_turns".into(), json!(num_turns));
            }
            m.insert("stop_reason".into(), stop_reason);
            m.insert("session_id".into(), json!(self.session_id));
            m.insert("total_cost_usd".into(), json!(self.cost_total));
            m.insert("usage".into(), usage);
            m.insert("modelUsage".into(), model_usage);
            m.insert("permission_denials".into(), json!(r.permission_denials));
            m.insert("fast_mode_state".into(), json!("off"));
            m.insert("uuid".into(), json!(uuid));
            if r.subtype != "success" {
                m.insert(
                    "errors".into(),
                    json!(r.errors.unwrap_or_else(default_errors)),
                );
            }
        }
        self.result_index += 1;
        Value::Object(m)
    }

    // -----------------------------------------------------------------------------------------
    // control frames and the rest

    pub fn control_request(&mut self, request_id: Option<&str>, request: Value) -> Value {
        let id = request_id
            .map(str::to_string)
            .unwrap_or_else(|| self.uuid());
        json!({"type": "control_request", "request_id": id, "request": request})
    }

    /// A `can_use_tool` request body. Bash requests carry what every captured one does: rule,
    /// directory and mode suggestions and the `blocked_path` the command touches.
    pub fn can_use_tool_request(
        &mut self,
        tool_name: &str,
        input: Value,
        tool_use_id: Option<&str>,
        description: Option<&str>,
    ) -> Value {
        let tool_use_id = self.tool_use_id_or_last(tool_use_id);
        self.permission_asked.insert(tool_use_id.clone());
        let input = if input.is_null() { json!({}) } else { input };
        let description = description
            .map(str::to_string)
            .or_else(|| {
                input
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| tool_name.to_string());
        let set_mode = json!({"type": "setMode", "mode": "acceptEdits", "destination": "session"});
        let (suggestions, blocked_path) = if tool_name == "Bash" {
            let command = input
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or_default();
            // `touch f && echo x` → rule `touch f *`, blocked path `<cwd>/f`.
            let first = command
                .split(['&', ';', '|', '\n'])
                .next()
                .unwrap_or_default()
                .trim();
            let blocked = first
                .split_whitespace()
                .skip(1)
                .find(|w| !w.starts_with('-'))
                .map(|p| {
                    if p.starts_with('/') {
                        p.to_string()
                    } else {
                        format!("{}/{p}", self.cwd)
                    }
                })
                .unwrap_or_else(|| self.cwd.clone());
            let suggestions = json!([
                {"type": "addRules", "rules": [{"toolName": tool_name, "ruleContent": format!("{first} *")}],
                 "behavior": "allow", "destination": "localSettings"},
                {"type": "addDirectories", "directories": [self.cwd], "destination": "session"},
                set_mode]);
            (suggestions, Some(blocked))
        } else {
            (json!([set_mode]), None)
        };
        let mut m = Map::new();
        m.insert("subtype".into(), json!("can_use_tool"));
        m.insert("tool_name".into(), json!(tool_name));
        m.insert("display_name".into(), json!(tool_name));
        m.insert("input".into(), input);
        m.insert("description".into(), json!(description));
        m.insert("permission_suggestions".into(), suggestions);
        if let Some(b) = blocked_path {
            m.insert("blocked_path".into(), json!(b));
        }
        m.insert("tool_use_id".into(), json!(tool_use_id));
        Value::Object(m)
    }

    pub fn hook_callback_request(
        &mut self,
        callback_id: &str,
        hook_event_name: &str,
        tool_name: Option<&str>,
        tool_input: Option<Value>,
        tool_use_id: Option<&str>,
        prompt: Option<&str>,
    ) -> Value {
        let mut input = json!({"session_id": self.session_id,
            "transcript_path": format!("/home/dev/.claude/projects/p/{}.jsonl", self.session_id),
            "cwd": self.cwd, "permission_mode": self.permission_mode,
            "hook_event_name": hook_event_name});
        // Prompt-level events (UserPromptSubmit, Stop, ...) concern no tool call.
        let tool_event = tool_name.is_some()
            || tool_use_id.is_some()
            || matches!(
                hook_event_name,
                "PreToolUse" | "PostToolUse" | "PostToolUseFailure" | "PermissionRequest"
            );
        let tool_use_id = tool_event.then(|| self.tool_use_id_or_last(tool_use_id));
        if let Value::Object(o) = &mut input {
            if let Some(t) = tool_name {
                o.insert("tool_name".into(), json!(t));
                o.insert("tool_input".into(), tool_input.unwrap_or_else(|| json!({})));
            }
            if let Some(id) = &tool_use_id {
                o.insert("tool_use_id".into(), json!(id));
            }
            if let Some(p) = prompt {
                o.insert("prompt".into(), json!(p));
            }
        }
        let mut request =
            json!({"subtype": "hook_callback", "callback_id": callback_id, "input": input});
        if let (Some(id), Value::Object(o)) = (tool_use_id, &mut request) {
            o.insert("tool_use_id".into(), json!(id));
        }
        request
    }

    pub fn mcp_message_request(server_name: &str, message: Value) -> Value {
        json!({"subtype": "mcp_message", "server_name": server_name, "message": message})
    }

    pub fn control_cancel_request(request_id: &str) -> Value {
        json!({"type": "control_cancel_request", "request_id": request_id})
    }

    pub fn control_success(request_id: &str, response: Option<Value>) -> Value {
        let mut r = Map::new();
        r.insert("subtype".into(), json!("success"));
        r.insert("request_id".into(), json!(request_id));
        if let Some(body) = response {
            r.insert("response".into(), body);
        }
        json!({"type": "control_response", "response": r})
    }

    pub fn control_error(&self, request_id: &str, error: &str, code: Option<&str>) -> Value {
        let mut r = Map::new();
        r.insert("subtype".into(), json!("error"));
        r.insert("request_id".into(), json!(request_id));
        r.insert("error".into(), json!(error));
        if self.new_profile()
            && let Some(c) = code
        {
            r.insert("error_code".into(), json!(c));
        }
        json!({"type": "control_response", "response": r})
    }

    pub fn stream_event(&mut self, event: Value) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!("stream_event"));
        m.insert("event".into(), event);
        m.insert("session_id".into(), json!(self.session_id));
        m.insert("parent_tool_use_id".into(), Value::Null);
        m.insert("uuid".into(), json!(self.uuid()));
        if self.new_profile() {
            m.insert(
                "api_message_id".into(),
                json!(format!("msg_{:03}", self.msg_counter + 1)),
            );
        }
        Value::Object(m)
    }

    pub fn rate_limit_event(
        &mut self,
        status: &str,
        rate_limit_type: &str,
        utilization: f64,
        resets_at: u64,
    ) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!("rate_limit_event"));
        m.insert(
            "rate_limit_info".into(),
            json!({"status": status, "resetsAt": resets_at, "rateLimitType": rate_limit_type,
                   "utilization": utilization}),
        );
        m.insert("uuid".into(), json!(self.uuid()));
        m.insert("session_id".into(), json!(self.session_id));
        Value::Object(m)
    }

    pub fn keep_alive() -> Value {
        json!({"type": "keep_alive"})
    }

    pub fn command_lifecycle(&mut self, command_uuid: &str, state: &str) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!("command_lifecycle"));
        m.insert("command_uuid".into(), json!(command_uuid));
        m.insert("state".into(), json!(state));
        m.insert("uuid".into(), json!(self.uuid()));
        m.insert("session_id".into(), json!(self.session_id));
        Value::Object(m)
    }
}

fn default_errors() -> Vec<String> {
    vec!["[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null".into()]
}

/// Arguments of [`Session::result`].
#[derive(Debug, Clone)]
pub struct ResultArgs {
    pub subtype: String,
    pub text: Option<String>,
    pub is_error: Option<bool>,
    pub errors: Option<Vec<String>>,
    pub injected: bool,
    pub terminal_reason: Option<String>,
    pub permission_denials: Vec<Value>,
}

impl Default for ResultArgs {
    fn default() -> Self {
        ResultArgs {
            subtype: "success".into(),
            text: None,
            is_error: None,
            errors: None,
            injected: false,
            terminal_reason: None,
            permission_denials: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_shapes_differ_by_profile() {
        let mut old = Session::new(Profile::V2_1_81, 1, "/w".into());
        let r = old.result(ResultArgs::default());
        assert_eq!(r["type"], "result");
        assert!(r.get("result_index").is_none());
        let mut new = Session::new(Profile::V2_1_330, 1, "/w".into());
        let r = new.result(ResultArgs {
            injected: true,
            ..Default::default()
        });
        assert_eq!(r["result_index"], 0);
        assert_eq!(r["origin"]["kind"], "task-notification");
        assert_eq!(new.result_index, 1);
    }

    #[test]
    fn prompt_uuid_echoed_once() {
        let mut s = Session::new(Profile::V2_1_330, 1, "/w".into());
        s.begin_turn(Some("u-1".into()));
        let a = s.assistant(Session::text_block("hi"), None);
        assert_eq!(a["user_message_uuid"], "u-1");
        let b = s.assistant(Session::text_block("again"), None);
        assert!(b.get("user_message_uuid").is_none());
    }

    #[test]
    fn background_bash_frames_share_ids() {
        let mut s = Session::new(Profile::V2_1_330, 1, "/w".into());
        let tu = s.tool_use_block(None, "Bash", json!({"command": "sleep 3"}));
        s.assistant(tu, None);
        let started = s.task_started("b1", "sleep", "local_bash", None, None);
        let launch = s.tool_result(None, json!("running"), false, None);
        assert_eq!(launch["tool_use_result"]["backgroundTaskId"], "b1");
        assert_eq!(
            launch["tool_result_meta"][0]["permission_decision"]["reason_type"],
            "subcommandResults"
        );
        let updated = s.task_updated("b1", "completed");
        let note = s.task_notification("b1", "completed", "done", None, None);
        let injected = s.result(ResultArgs {
            injected: true,
            ..Default::default()
        });
        let run = &started["run_id"];
        assert_eq!(&updated["run_id"], run);
        assert_eq!(&note["run_id"], run);
        assert_eq!(&injected["origin"]["runId"], run);
        assert!(injected.get("ttft_stream_ms").is_some());
    }

    #[test]
    fn bash_permission_request_and_answered_result() {
        let mut s = Session::new(Profile::V2_1_330, 1, "/w".into());
        let input = json!({"command": "touch f && echo x", "description": "touch"});
        let tu = s.tool_use_block(None, "Bash", input.clone());
        s.assistant(tu, None);
        let r = s.can_use_tool_request("Bash", input, None, None);
        assert_eq!(r["blocked_path"], "/w/f");
        assert_eq!(
            r["permission_suggestions"][0]["rules"][0]["ruleContent"],
            "touch f *"
        );
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "subtype",
                "tool_name",
                "display_name",
                "input",
                "description",
                "permission_suggestions",
                "blocked_path",
                "tool_use_id"
            ]
        );
        let allowed = s.tool_result(None, json!("x"), false, None);
        assert_eq!(
            allowed["tool_result_meta"][0]["permission_decision"]["source"],
            "user_temporary"
        );
    }

    #[test]
    fn session_state_tracked() {
        let mut s = Session::new(Profile::V2_1_330, 1, "/w".into());
        assert!(!s.is_running());
        s.session_state("running");
        assert!(s.is_running());
        s.session_state("idle");
        assert!(!s.is_running());
    }
}
