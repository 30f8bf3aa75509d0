//! The `tool` step: the model's tool call, and what the CLI makes of it under the invocation's
//! permission settings ([`crate::permissions`]). The scenario says what the model does; this
//! writes what the real CLI would: the assistant tool_use, then a silent run, a `can_use_tool`
//! question, a refusal or the "No such tool" error — and for `run_in_background: true` the
//! launch frames of §4.3 — so one scenario holds for every way a supervisor starts the CLI.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{Ctl, Engine, Flow, Pumped, Stop};
use crate::matcher;
use crate::permissions::{self, Decision, Mode};
use crate::scenario::model::{OnMiss, ToolStep};
use crate::template;
use crate::transcript::Event;

/// What happened to the call, as the `outcome` variable says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ran,
    Launched,
    Denied,
    Unavailable,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Ran => "ran",
            Outcome::Launched => "launched",
            Outcome::Denied => "denied",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// How the supervisor's answer to `can_use_tool` came out.
enum Answer {
    Response(Value),
    Eof,
    Timeout,
}

/// The error text of a permission request that failed without an answer (protocol.md §3.4).
const ABORTED: &str = "Tool permission request failed: AbortError: Tool permission stream closed before response received";
/// The same when stdin was closed before the request (recorded: 2.1.332 print mode with
/// `--permission-prompt-tool stdio`).
const ABORTED_CLOSED: &str = "Tool permission request failed: AbortError: Stream closed";

impl Engine {
    pub(super) fn tool(&mut self, t: &ToolStep, at: &str) -> Flow {
        let vars = self.vars_json();
        let render =
            |v: &Value| template::render(v, &vars).map_err(|e| Stop::Failed(format!("{at}: {e}")));
        let input = match render(&t.input)? {
            Value::Null => json!({}),
            v => v,
        };
        let output = t.output.as_ref().map(render).transpose()?;
        let tool_use_result = t.tool_use_result.as_ref().map(render).transpose()?;
        let block = self
            .session
            .tool_use_block(t.id.as_deref(), &t.name, input.clone());
        let id = block["id"].as_str().unwrap_or_default().to_string();
        let msg = self.session.assistant(block, None);
        self.write_msgs(vec![msg], Some(at.to_string()))?;

        // A `set_permission_mode` since start-up counts: the session holds the current mode.
        let mut settings = self.permissions.clone();
        settings.mode = Mode::parse(&self.session.permission_mode);
        let decision = permissions::decide(&settings, &t.name, &input, &self.session.cwd);
        let mut decided_by = "cli";
        let mut reason = decision.reason().to_string();
        let mut response = None;
        let mut effective = input.clone();
        let (outcome, task_id) = match &decision {
            Decision::Allow(_) => {
                let run = Run {
                    name: &t.name,
                    id: &id,
                    input: &input,
                    output: output.clone(),
                    tool_use_result: tool_use_result.clone(),
                };
                self.run_tool(t, run, Some(&decision), at)?
            }
            Decision::Ask => {
                decided_by = "supervisor";
                // Nobody can answer a request made after stdin closed (print mode, or a
                // supervisor that closed early): 2.1.332 fails it at once and counts a denial.
                let closed_before = self.input.eof;
                match self.ask(t, &id, &input, at)? {
                    Answer::Response(resp) => {
                        let body = resp.pointer("/response/response").cloned();
                        let error = matcher::get_path(&resp, "response.error")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        let behavior = body
                            .as_ref()
                            .and_then(|b| b.get("behavior"))
                            .and_then(Value::as_str);
                        response = Some(resp.clone());
                        match (error, behavior) {
                            (None, Some("allow")) => {
                                reason = "allowed".into();
                                if let Some(updated) = body
                                    .as_ref()
                                    .and_then(|b| b.get("updatedInput"))
                                    .filter(|u| u.is_object())
                                {
                                    effective = updated.clone();
                                }
                                let run = Run {
                                    name: &t.name,
                                    id: &id,
                                    input: &effective,
                                    output: output.clone(),
                                    tool_use_result: tool_use_result.clone(),
                                };
                                self.run_tool(t, run, None, at)?
                            }
                            (None, _) => {
                                reason = "denied".into();
                                let message = body
                                    .as_ref()
                                    .and_then(|b| b.get("message"))
                                    .and_then(Value::as_str)
                                    .filter(|m| !m.is_empty())
                                    .unwrap_or("Permission denied.")
                                    .to_string();
                                self.refused(&t.name, &id, &input, &message, None, true, at)?;
                                (Outcome::Denied, None)
                            }
                            (Some(err), _) => {
                                // An error answer fails the request; the call does not run.
                                reason = "error".into();
                                let message =
                                    format!("Tool permission request failed: Error: {err}");
                                self.refused(&t.name, &id, &input, &message, None, false, at)?;
                                (Outcome::Denied, None)
                            }
                        }
                    }
                    Answer::Eof => {
                        self.step_record(at, "tool", "eof", Some(format!("tool_use_id {id}")));
                        let action = t.on_eof.clone().unwrap_or(OnMiss::Continue);
                        if action != OnMiss::Continue {
                            return self.on_miss(
                                Some(&action),
                                at,
                                format!("stdin closed before the permission for {id} was answered"),
                            );
                        }
                        decided_by = "cli";
                        reason = "eof".into();
                        if closed_before {
                            self.refused(&t.name, &id, &input, ABORTED_CLOSED, None, true, at)?;
                        } else {
                            self.refused(&t.name, &id, &input, ABORTED, None, false, at)?;
                        }
                        (Outcome::Denied, None)
                    }
                    Answer::Timeout => {
                        self.step_record(
                            at,
                            "tool",
                            "timed_out",
                            Some(format!("tool_use_id {id}")),
                        );
                        let action = t.on_timeout.clone().unwrap_or(OnMiss::Fail);
                        if action != OnMiss::Continue {
                            return self.on_miss(
                                Some(&action),
                                at,
                                format!("the permission for {id} was not answered in time"),
                            );
                        }
                        decided_by = "cli";
                        reason = "timeout".into();
                        self.refused(&t.name, &id, &input, ABORTED, None, false, at)?;
                        (Outcome::Denied, None)
                    }
                }
            }
            Decision::Deny { message, .. } => {
                let frame = self.denied_frame(&t.name, &id, &decision, message);
                self.write_msgs(vec![frame], Some(at.to_string()))?;
                self.refused(&t.name, &id, &input, message, Some(&decision), true, at)?;
                (Outcome::Denied, None)
            }
            Decision::Unavailable { message } => {
                let content = json!(format!("<tool_use_error>{message}</tool_use_error>"));
                let mut frame =
                    self.session
                        .tool_result(Some(&id), content, true, Some(json!(message)));
                if let Value::Object(m) = &mut frame {
                    m.remove("tool_result_meta");
                }
                self.write_msgs(vec![frame], Some(at.to_string()))?;
                (Outcome::Unavailable, None)
            }
        };

        let mut var = Map::new();
        var.insert("outcome".into(), json!(outcome.name()));
        var.insert("decision".into(), json!(decision.name()));
        var.insert("decided_by".into(), json!(decided_by));
        var.insert("reason".into(), json!(reason));
        var.insert("input".into(), effective);
        var.insert("task_id".into(), json!(task_id));
        var.insert("tool_use_id".into(), json!(id));
        let name = t.as_.clone().unwrap_or_else(|| "tool".into());
        self.vars.insert(name, Value::Object(var.clone()));
        self.tr.record(Event::Step {
            at: at.to_string(),
            step: "tool".into(),
            outcome: outcome.name().into(),
            detail: Some(format!(
                "{} {id}: {} by the {decided_by} ({reason})",
                t.name,
                decision.name()
            )),
            captures: Some(var),
            response,
        });
        let branch = match outcome {
            Outcome::Ran => &t.ran,
            Outcome::Launched => &t.launched,
            Outcome::Denied | Outcome::Unavailable => &t.denied,
        };
        match self.steps(branch)? {
            Ctl::Break => Ok(Ctl::Break),
            Ctl::Next => Ok(Ctl::Next),
        }
    }

    /// Send `can_use_tool` for the call and wait for the supervisor's answer, serving other
    /// input meanwhile (the real CLI waits for ever; `timeout` bounds the fake's wait).
    fn ask(&mut self, t: &ToolStep, id: &str, input: &Value, at: &str) -> Result<Answer, Stop> {
        let mut body = self
            .session
            .can_use_tool_request(&t.name, input.clone(), Some(id), None);
        self.reshape_request(&t.name, input, &mut body);
        let msg = self.session.control_request(t.request_id.as_deref(), body);
        let rid = self.send_request(msg, at)?;
        let deadline = t.timeout.map(|d| Instant::now() + d.duration());
        loop {
            if let Some(Some(resp)) = self.awaiting.get(&rid) {
                let resp = resp.clone();
                self.awaiting.remove(&rid);
                return Ok(Answer::Response(resp));
            }
            if self.input.eof {
                self.note_eof();
                self.awaiting.remove(&rid);
                return Ok(Answer::Eof);
            }
            if let Pumped::Timeout = self.pump(deadline)? {
                self.awaiting.remove(&rid);
                return Ok(Answer::Timeout);
            }
        }
    }

    /// A Bash command the CLI cannot classify is asked about with a decision reason and a rule
    /// for the whole command, not a blocked path (2.1.332 `perm_default_prompt_tool_no_initialize`).
    fn reshape_request(&self, tool: &str, input: &Value, body: &mut Value) {
        if tool != "Bash" || permissions::kind(tool, input) != permissions::Kind::Exec {
            return;
        }
        let command = input.get("command").and_then(Value::as_str).unwrap_or("");
        let Value::Object(old) = std::mem::take(body) else {
            return;
        };
        let mut m = Map::new();
        for (k, v) in old {
            match k.as_str() {
                "blocked_path" => {}
                "permission_suggestions" => {
                    m.insert(
                        k,
                        json!([{"type": "addRules",
                                "rules": [{"toolName": tool, "ruleContent": command}],
                                "behavior": "allow", "destination": "localSettings"}]),
                    );
                    m.insert(
                        "decision_reason".into(),
                        json!("This command requires approval"),
                    );
                    m.insert("decision_reason_type".into(), json!("other"));
                }
                _ => {
                    m.insert(k, v);
                }
            }
        }
        *body = Value::Object(m);
    }

    /// `system/permission_denied` with the reason fields 2.1.332 writes for this kind of denial.
    fn denied_frame(&mut self, tool: &str, id: &str, decision: &Decision, message: &str) -> Value {
        let mut frame = self
            .session
            .permission_denied(tool, Some(id), Some(message));
        if let (Decision::Deny { reason, .. }, Value::Object(old)) = (decision, &mut frame) {
            let mut m = Map::new();
            for (k, v) in std::mem::take(old) {
                if k == "message" {
                    for (name, value) in permissions::denied_fields(*reason, message) {
                        m.insert(name.into(), value);
                    }
                }
                m.insert(k, v);
            }
            *old = m;
        }
        frame
    }

    /// The error tool_result of a call that did not run; `denial` records it in the turn's
    /// `permission_denials`. `cli` is the CLI's own decision, whose meta replaces the default.
    #[allow(clippy::too_many_arguments)]
    fn refused(
        &mut self,
        tool: &str,
        id: &str,
        input: &Value,
        message: &str,
        cli: Option<&Decision>,
        denial: bool,
        at: &str,
    ) -> Result<(), Stop> {
        let mut frame = self.session.tool_result(
            Some(id),
            json!(message),
            true,
            Some(json!(format!("Error: {message}"))),
        );
        if let Some(meta) = cli.and_then(|d| permissions::cli_meta(d, id)) {
            set_meta(&mut frame, meta);
        }
        self.write_msgs(vec![frame], Some(at.to_string()))?;
        if denial {
            self.session
                .turn_denials
                .push(json!({"tool_name": tool, "tool_use_id": id, "tool_input": input}));
        }
        Ok(())
    }

    /// Run the call with this input: in the foreground (its `output`), or as a background launch
    /// when the input says `run_in_background: true` for a tool that can launch one.
    fn run_tool(
        &mut self,
        t: &ToolStep,
        mut run: Run,
        cli: Option<&Decision>,
        at: &str,
    ) -> Result<(Outcome, Option<String>), Stop> {
        let background = run.input.get("run_in_background") == Some(&Value::Bool(true));
        let agent = matches!(run.name, "Agent" | "Task");
        let launches = background && (run.name == "Bash" || agent);
        let meta = cli.and_then(|d| permissions::cli_meta(d, run.id));
        if !launches {
            let content = run.output.take().unwrap_or_else(|| json!(""));
            let mut frame =
                self.session
                    .tool_result(Some(run.id), content, false, run.tool_use_result.take());
            if let Some(m) = meta {
                set_meta(&mut frame, m);
            }
            self.write_msgs(vec![frame], Some(at.to_string()))?;
            return Ok((Outcome::Ran, None));
        }
        let bg = t.background.clone().unwrap_or_default();
        let task_id = match bg.task_id {
            Some(id) => id,
            None if agent => format!("a{:016x}", self.session.ids.next_u64()),
            None => self.session.ids.bash_task_id(),
        };
        let description = bg
            .description
            .or_else(|| {
                run.input
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| run.name.to_string());
        let output_file = self.session.task_output_file(&task_id);
        let mut frames = Vec::new();
        let (task_type, prompt) = if agent {
            let prompt = run
                .input
                .get("prompt")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            ("local_agent", Some(prompt))
        } else {
            ("local_bash", None)
        };
        if self.session.profile.is_new() {
            let mut task = Map::new();
            task.insert("task_id".into(), json!(task_id));
            task.insert("task_type".into(), json!(task_type));
            if agent {
                task.insert("subagent_type".into(), json!("general-purpose"));
            }
            task.insert("description".into(), json!(description));
            frames.push(
                self.session
                    .background_tasks_changed(vec![Value::Object(task)]),
            );
        }
        frames.push(self.session.task_started(
            &task_id,
            &description,
            task_type,
            Some(run.id),
            prompt.as_deref(),
        ));
        let mut result = if agent {
            let text = format!(
                "Async agent launched successfully.\nagentId: {task_id}\noutput_file: {output_file}"
            );
            let model = self.session.model.clone();
            self.session.tool_result(
                Some(run.id),
                json!([{"type": "text", "text": text}]),
                false,
                Some(
                    json!({"isAsync": true, "status": "async_launched", "agentId": task_id,
                            "description": description, "prompt": prompt,
                            "outputFile": output_file, "canReadOutputFile": true,
                            "resolvedModel": model, "canContinueAgent": true}),
                ),
            )
        } else {
            let text = format!(
                "Command running in background with ID: {task_id}. Output is being written to: {output_file}. You will be notified when it completes. To check interim output, use Read on that file path."
            );
            // The session knows the task (task_started): the result carries backgroundTaskId.
            self.session
                .tool_result(Some(run.id), json!(text), false, None)
        };
        if let Some(m) = meta {
            set_meta(&mut result, m);
        }
        frames.push(result);
        for f in frames {
            self.write_msgs(vec![f], Some(at.to_string()))?;
        }
        Ok((Outcome::Launched, Some(task_id)))
    }
}

/// The call being run: its effective input and what a foreground run answers.
struct Run<'a> {
    name: &'a str,
    id: &'a str,
    input: &'a Value,
    output: Option<Value>,
    tool_use_result: Option<Value>,
}

/// Replace `tool_result_meta[0]` on profiles that write it (2.1.330+).
fn set_meta(frame: &mut Value, meta: Value) {
    if let Some(slot) = frame.get_mut("tool_result_meta") {
        *slot = json!([meta]);
    }
}
