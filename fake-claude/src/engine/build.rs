//! From an `emit` spec to the message it stands for: the profile's builder for the shorthand,
//! then templates, then the author's `with` (deep merge) and `without` (removals).

use serde_json::{Map, Value, json};

use crate::matcher;
use crate::profile::messages::{ResultArgs, Session};
use crate::scenario::model::*;
use crate::template;

/// Deterministic filler of exactly `n` bytes (ASCII), for huge lines that are never stored in the
/// scenario file.
pub fn filler(n: u64) -> String {
    const WORDS: &str =
        "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";
    let n = n as usize;
    let mut s = String::with_capacity(n);
    while s.len() < n {
        let take = (n - s.len()).min(WORDS.len());
        s.push_str(&WORDS[..take]);
    }
    s
}

/// Build the message an `emit` describes (without templates/overrides).
pub fn shorthand(session: &mut Session, e: &Emit) -> Value {
    if let Some(v) = &e.json {
        return v.clone();
    }
    if e.init.is_some() {
        return session.init();
    }
    if let Some(a) = &e.assistant {
        let block = if let Some(t) = &a.text {
            Session::text_block(t)
        } else if let Some(n) = a.text_bytes {
            Session::text_block(&filler(n))
        } else if let Some(t) = &a.thinking {
            session.thinking_block(t)
        } else if let Some(tu) = &a.tool_use {
            session.tool_use_block(tu.id.as_deref(), &tu.name, tu.input.clone())
        } else {
            Session::text_block("")
        };
        return session.assistant(block, a.parent_tool_use_id.as_deref());
    }
    if let Some(t) = &e.tool_result {
        return session.tool_result(
            t.tool_use_id.as_deref(),
            t.content.clone(),
            t.is_error,
            t.tool_use_result.clone(),
        );
    }
    if let Some(t) = &e.user_text {
        return session.user_text(t);
    }
    if let Some(r) = &e.result {
        return session.result(result_args(r));
    }
    if let Some(t) = &e.task_started {
        return session.task_started(
            &t.task_id,
            t.description.as_deref().unwrap_or("background task"),
            t.task_type.as_deref().unwrap_or("local_bash"),
            t.tool_use_id.as_deref(),
            t.prompt.as_deref(),
        );
    }
    if let Some(t) = &e.task_progress {
        return session.task_progress(
            &t.task_id,
            t.description.as_deref().unwrap_or("background task"),
            t.tool_use_id.as_deref(),
            t.last_tool_name.as_deref(),
        );
    }
    if let Some(t) = &e.task_updated {
        return session.task_updated(&t.task_id, t.status.as_deref().unwrap_or("completed"));
    }
    if let Some(t) = &e.task_notification {
        let status = t.status.as_deref().unwrap_or("completed");
        let summary = t.summary.clone().unwrap_or_else(|| {
            format!("Background command \"background task\" {status} (exit code 0)")
        });
        return session.task_notification(
            &t.task_id,
            status,
            &summary,
            t.output_file.as_deref(),
            t.tool_use_id.as_deref(),
        );
    }
    if let Some(tasks) = &e.background_tasks_changed {
        let tasks = tasks
            .iter()
            .map(|t| {
                json!({"task_id": t.task_id,
                       "task_type": t.task_type.as_deref().unwrap_or("local_bash"),
                       "description": t.description.as_deref().unwrap_or("background task")})
            })
            .collect();
        return session.background_tasks_changed(tasks);
    }
    if let Some(s) = &e.session_state {
        return session.session_state(s);
    }
    if let Some(s) = &e.status {
        return session.status(s.status.as_deref(), s.permission_mode.as_deref());
    }
    if let Some(p) = &e.permission_denied {
        return session.permission_denied(
            &p.tool_name,
            p.tool_use_id.as_deref(),
            p.message.as_deref(),
        );
    }
    if let Some(r) = &e.control_request {
        return control_request(session, r);
    }
    if let Some(r) = &e.control_response {
        return match &r.error {
            Some(err) => session.control_error(&r.request_id, err, None),
            None => Session::control_success(&r.request_id, r.response.clone()),
        };
    }
    if let Some(c) = &e.control_cancel_request {
        return Session::control_cancel_request(&c.request_id);
    }
    if let Some(ev) = &e.stream_event {
        return session.stream_event(ev.clone());
    }
    if let Some(r) = &e.rate_limit_event {
        return session.rate_limit_event(
            r.status.as_deref().unwrap_or("allowed_warning"),
            r.rate_limit_type.as_deref().unwrap_or("five_hour"),
            r.utilization.unwrap_or(0.8),
            r.resets_at.unwrap_or(1_760_000_000),
        );
    }
    if e.keep_alive.is_some() {
        return Session::keep_alive();
    }
    if let Some(r) = &e.api_retry {
        return session.api_retry(
            r.attempt.unwrap_or(1),
            r.max_retries.unwrap_or(10),
            r.error_status.unwrap_or(529),
            r.retry_delay_ms.unwrap_or(561),
            r.error.as_deref().unwrap_or("overloaded"),
        );
    }
    if let Some(c) = &e.compact_boundary {
        return session.compact_boundary(
            c.trigger.as_deref().unwrap_or("auto"),
            c.pre_tokens.unwrap_or(123_456),
        );
    }
    Value::Null
}

pub fn result_args(r: &ResultSpec) -> ResultArgs {
    ResultArgs {
        subtype: r.subtype.clone().unwrap_or_else(|| "success".into()),
        text: r.text.clone().or_else(|| r.text_bytes.map(filler)),
        is_error: r.is_error,
        errors: r.errors.clone(),
        injected: r.injected,
        terminal_reason: r.terminal_reason.clone(),
        permission_denials: Vec::new(),
    }
}

pub fn control_request(session: &mut Session, r: &ControlRequestSpec) -> Value {
    let body = if let Some(c) = &r.can_use_tool {
        session.can_use_tool_request(
            &c.tool_name,
            c.input.clone(),
            c.tool_use_id.as_deref(),
            c.description.as_deref(),
        )
    } else if let Some(h) = &r.hook_callback {
        session.hook_callback_request(
            &h.callback_id,
            h.hook_event_name.as_deref().unwrap_or("PreToolUse"),
            h.tool_name.as_deref(),
            h.tool_input.clone(),
            h.tool_use_id.as_deref(),
            h.prompt.as_deref(),
        )
    } else if let Some(m) = &r.mcp_message {
        Session::mcp_message_request(&m.server_name, m.message.clone())
    } else {
        r.other.clone().unwrap_or(Value::Null)
    };
    session.control_request(r.request_id.as_deref(), body)
}

/// Templates, then `with`, then `without`.
pub fn finish(
    msg: Value,
    with: Option<&Value>,
    without: &[String],
    vars: &Value,
) -> Result<Value, template::TemplateError> {
    let mut msg = template::render(&msg, vars)?;
    if let Some(w) = with {
        merge(&mut msg, template::render(w, vars)?);
    }
    for path in without {
        remove_path(&mut msg, path);
    }
    Ok(msg)
}

/// Objects merge key by key; anything else replaces.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn remove_path(v: &mut Value, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((p, l)) => (p, l),
        None => ("", path),
    };
    let target = if parent.is_empty() {
        Some(v)
    } else {
        get_path_mut(v, parent)
    };
    match target {
        Some(Value::Object(m)) => {
            m.shift_remove(last);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
}

fn get_path_mut<'a>(v: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get_mut(seg)?,
            Value::Array(a) => a.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The text of a prompt message: string content, or its text blocks joined.
pub fn prompt_text(msg: &Value) -> String {
    match matcher::get_path(msg, "message.content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// A padded frame SDKs accept and ignore, for bursts (`system/status`).
pub fn burst_filler(session: &mut Session, approx_bytes: usize) -> Value {
    let mut m = match session.status(None, None) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.insert("padding".into(), json!(filler(approx_bytes as u64)));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_is_exact() {
        assert_eq!(filler(0).len(), 0);
        assert_eq!(filler(5), "lorem");
        assert_eq!(filler(1_000_003).len(), 1_000_003);
    }

    #[test]
    fn with_and_without() {
        let m = json!({"a": {"b": 1, "c": 2}, "d": [1, 2, 3]});
        let out = finish(
            m,
            Some(&json!({"a": {"b": "{{ x }}"}, "e": true})),
            &["a.c".into(), "d.1".into()],
            &json!({"x": 5}),
        )
        .unwrap();
        assert_eq!(out, json!({"a": {"b": 5}, "d": [1, 3], "e": true}));
    }
}
