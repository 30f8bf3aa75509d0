//! Default answers to control requests a supervisor sends (initialize, interrupt, set_model, ...),
//! per profile, as observed on the real CLIs (protocol.md §3.2). A scenario's `handlers` can
//! replace any of them.

use serde_json::{Map, Value, json};

use super::messages::Session;

/// What the CLI writes in answer to one control request, in order (the response plus any
/// side frames the real CLI writes with it).
pub fn default_answer(
    session: &mut Session,
    request: &Value,
    initialized: &mut bool,
) -> Vec<Value> {
    let rid = request
        .get("request_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let body = request.get("request").cloned().unwrap_or(Value::Null);
    let subtype = body
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let new = session.profile.is_new();
    match subtype {
        "initialize" => {
            if *initialized && !new {
                let mut e = session.control_error(&rid, "Already initialized", None);
                if let Some(r) = e.get_mut("response").and_then(Value::as_object_mut) {
                    r.insert("pending_permission_requests".into(), json!([]));
                }
                return vec![e];
            }
            let again = *initialized;
            *initialized = true;
            let mut out = vec![initialize_response(session, &rid, &body)];
            if again {
                out.push(session.background_tasks_changed(Vec::new()));
            }
            out
        }
        "interrupt" => {
            let body = new.then(|| json!({"still_queued": []}));
            vec![Session::control_success(&rid, body)]
        }
        "set_permission_mode" => {
            let mode = body
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            session.permission_mode = mode.clone();
            vec![
                session.status(None, Some(&mode)),
                Session::control_success(&rid, Some(json!({"mode": mode}))),
            ]
        }
        "set_model" => {
            let model = match body.get("model").and_then(Value::as_str) {
                None | Some("default") => session.profile.model().to_string(),
                Some(m) => m.to_string(),
            };
            session.model = model.clone();
            if new {
                vec![Session::control_success(
                    &rid,
                    Some(json!({"model": model})),
                )]
            } else {
                let mut replay = session.user_text("");
                replay["message"] = json!({"role": "user",
                    "content": format!("<local-command-stdout>Set model to {model}</local-command-stdout>")});
                if let Some(o) = replay.as_object_mut() {
                    o.insert("isReplay".into(), json!(true));
                }
                vec![replay, Session::control_success(&rid, None)]
            }
        }
        "mcp_status" => vec![Session::control_success(
            &rid,
            Some(json!({"mcpServers": []})),
        )],
        "stop_task" => {
            if new {
                vec![Session::control_success(&rid, Some(json!({})))]
            } else {
                let id = body
                    .get("task_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                vec![session.control_error(&rid, &format!("No task found with ID: {id}"), None)]
            }
        }
        "get_context_usage" => vec![Session::control_success(
            &rid,
            Some(json!({"categories": [], "totalTokens": 0,
                        "maxTokens": if new {1_000_000} else {200_000},
                        "percentage": 0, "model": session.model})),
        )],
        "set_max_thinking_tokens" => vec![Session::control_success(&rid, Some(json!({})))],
        "rewind_files" => vec![session.control_error(&rid, "File rewinding is not enabled.", None)],
        "mcp_reconnect" | "mcp_toggle" => {
            let name = body
                .get("serverName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            vec![session.control_error(&rid, &format!("Server not found: {name}"), None)]
        }
        other => vec![session.control_error(
            &rid,
            &format!("Unsupported control request subtype: {other}"),
            Some("unsupported_request"),
        )],
    }
}

fn initialize_response(session: &Session, rid: &str, body: &Value) -> Value {
    let new = session.profile.is_new();
    let mut r = Map::new();
    let mut commands = json!([{"name": "compact", "description": "Clear conversation history but keep a summary in context", "argumentHint": "<optional custom summarization instructions>"},
                              {"name": "review", "description": "Review a pull request", "argumentHint": ""}]);
    if new && let Some(list) = commands.as_array_mut() {
        for c in list {
            c["builtin"] = json!(true);
        }
    }
    r.insert("commands".into(), commands);
    r.insert(
        "agents".into(),
        json!([{"name": "general-purpose", "description": "General-purpose agent for researching complex questions and executing multi-step tasks."},
               {"name": "Explore", "description": "Fast read-only search agent for locating code.", "model": "inherit"}]),
    );
    r.insert("output_style".into(), json!("default"));
    r.insert(
        "available_output_styles".into(),
        json!(["default", "Explanatory", "Learning"]),
    );
    if new {
        r.insert(
            "user_output_styles_dir".into(),
            json!("/home/dev/.claude/output-styles"),
        );
    }
    let model = session.profile.model();
    let default_model = if new {
        json!({"value": "default", "resolvedModel": model, "displayName": "Default (recommended)",
               "description": format!("Use the default model ({model})"),
               "supportsEffort": true,
               "supportedEffortLevels": ["low", "medium", "high", "xhigh", "max"],
               "supportsAdaptiveThinking": true, "supportsFastMode": true, "supportsAutoMode": true,
               "supportsThinkingOff": false})
    } else {
        json!({"value": "default", "displayName": "Default (recommended)",
               "description": format!("Use the default model ({model})"),
               "supportsEffort": true, "supportedEffortLevels": ["low", "medium", "high"],
               "supportsAdaptiveThinking": true, "supportsAutoMode": true})
    };
    r.insert("models".into(), json!([default_model]));
    r.insert(
        "account".into(),
        json!({"tokenSource": "none", "apiKeySource": "ANTHROPIC_API_KEY", "apiProvider": "firstParty"}),
    );
    r.insert("pid".into(), json!(std::process::id()));
    if new {
        r.insert(
            "claude_code_version".into(),
            json!(session.profile.version()),
        );
        r.insert(
            "current_permission_mode".into(),
            json!(session.permission_mode),
        );
        if body.get("hooks").is_some_and(|h| !h.is_null()) {
            r.insert("hooks_applied".into(), json!(true));
        }
        r.insert("hook_on_failure_supported".into(), json!(true));
        r.insert("hooks_when_unanswered_kept".into(), json!(0));
        r.insert("other_hook_ask_outranks_host".into(), json!(true));
        r.insert("feedback_mode".into(), json!({"kind": "disabled"}));
        r.insert("analytics_disabled".into(), json!(true));
        for k in [
            "remote_control_auto_enable",
            "remote_control_auto_connect_default",
            "remote_control_available",
            "remote_control_auto_on_by_default",
            "ide_rc_auto_enable_gate",
        ] {
            r.insert(k.into(), json!(false));
        }
        r.insert("fast_mode_state".into(), json!("off"));
        r.insert(
            "fast_mode_disabled_reason".into(),
            json!("sdk_opt_in_required"),
        );
        r.insert("session_state".into(), json!("idle"));
        r.insert(
            "capabilities".into(),
            json!(["ui_surface_v1", "mcp_call_result_not_for_model_v1"]),
        );
    }
    let mut env = Map::new();
    env.insert("subtype".into(), json!("success"));
    env.insert("request_id".into(), json!(rid));
    env.insert("response".into(), Value::Object(r));
    if new {
        env.insert("pending_permission_requests".into(), json!([]));
        env.insert("pending_user_dialog_requests".into(), json!([]));
    }
    json!({"type": "control_response", "response": env})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn req(rid: &str, body: Value) -> Value {
        json!({"type": "control_request", "request_id": rid, "request": body})
    }

    #[test]
    fn unknown_subtype_error_text_per_profile() {
        for p in Profile::ALL {
            let mut s = Session::new(p, 1, "/w".into());
            let mut init = false;
            let out = default_answer(&mut s, &req("r1", json!({"subtype": "bogus"})), &mut init);
            assert_eq!(
                out[0]["response"]["error"],
                "Unsupported control request subtype: bogus"
            );
            assert_eq!(out[0]["response"].get("error_code").is_some(), p.is_new());
        }
    }

    #[test]
    fn repeated_initialize() {
        let mut s = Session::new(Profile::V2_1_81, 1, "/w".into());
        let mut init = false;
        let r = req("a", json!({"subtype": "initialize", "hooks": null}));
        assert_eq!(
            default_answer(&mut s, &r, &mut init)[0]["response"]["subtype"],
            "success"
        );
        assert_eq!(
            default_answer(&mut s, &r, &mut init)[0]["response"]["error"],
            "Already initialized"
        );
        let mut s = Session::new(Profile::V2_1_330, 1, "/w".into());
        let mut init = false;
        default_answer(&mut s, &r, &mut init);
        let again = default_answer(&mut s, &r, &mut init);
        assert_eq!(again.len(), 2);
        assert_eq!(again[1]["subtype"], "background_tasks_changed");
    }
}
