//! The `tool` step against the real binary: one scenario, and what the CLI does with the call
//! under each way of starting it (permission mode, allow/deny lists, prompt tool), including the
//! background launch frames and the outcome variable later steps branch on.

mod common;

use common::*;
use fake_claude::transcript::Event;
use serde_json::{Value, json};

/// One turn whose body is a background-capable Bash call; the reply names the outcome.
const BG_BASH: &str = r#"
script:
  - turn:
      steps:
        - tool:
            name: Bash
            id: toolu_bg_1
            input: {command: "cargo test", description: "run tests", run_in_background: true}
            output: "test result: ok"
            background: {task_id: bk3n9x2qa}
            request_id: perm-bg-1
            as: bg
            ran: [{emit: {assistant: {text: "ran"}}}]
            launched: [{emit: {assistant: {text: "launched {{ bg.task_id }}"}}}]
            denied: [{emit: {assistant: {text: "denied by {{ bg.decided_by }}: {{ bg.reason }}"}}}]
"#;

fn run_with_args(f: &Fake, args: &[&str], sandbox: bool) -> Run {
    let mut cmd = f.cmd();
    cmd.args(args);
    if sandbox {
        cmd.env("IS_SANDBOX", "1");
    } else {
        cmd.env_remove("IS_SANDBOX");
    }
    f.run_with(cmd, lines(&[user("go")]).as_bytes())
}

fn of_type<'a>(msgs: &'a [Value], t: &str, sub: Option<&str>) -> Vec<&'a Value> {
    msgs.iter()
        .filter(|m| m["type"] == t && sub.is_none_or(|s| m["subtype"] == s))
        .collect()
}

fn result_text(msgs: &[Value]) -> String {
    of_type(msgs, "result", None)[0]["result"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn tool_record(f: &Fake) -> (String, Value) {
    let recs = f.transcript();
    let rec = find(
        &recs,
        |e| matches!(e, Event::Step { step, .. } if step == "tool"),
    )
    .expect("a tool step record");
    match &rec.event {
        Event::Step {
            outcome, captures, ..
        } => (outcome.clone(), json!(captures)),
        _ => unreachable!(),
    }
}

#[test]
fn bypass_launches_without_asking_and_init_echoes_the_invocation() {
    let f = Fake::new(BG_BASH);
    let r = run_with_args(
        &f,
        &[
            "--permission-mode",
            "bypassPermissions",
            "--disallowedTools",
            "Write",
            "--model=claude-test-1",
            "--permission-prompt-tool",
            "stdio",
        ],
        true,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let msgs = r.msgs();
    let init = of_type(&msgs, "system", Some("init"))[0];
    assert_eq!(init["permissionMode"], "bypassPermissions");
    assert_eq!(init["model"], "claude-test-1");
    let tools: Vec<&str> = init["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tools.contains(&"Bash") && !tools.contains(&"Write"),
        "{tools:?}"
    );
    assert!(of_type(&msgs, "control_request", None).is_empty());
    // The real CLI's launch: background_tasks_changed, task_started, the tool_result.
    let kinds: Vec<String> = msgs
        .iter()
        .map(|m| format!("{}/{}", m["type"], m["subtype"].as_str().unwrap_or("")))
        .collect();
    let at = kinds
        .iter()
        .position(|k| k == "\"system\"/background_tasks_changed")
        .expect("background_tasks_changed");
    assert_eq!(kinds[at + 1], "\"system\"/task_started");
    assert_eq!(kinds[at + 2], "\"user\"/");
    assert_eq!(
        msgs[at + 2]["tool_use_result"]["backgroundTaskId"],
        "bk3n9x2qa"
    );
    assert_eq!(
        msgs[at + 2]["tool_result_meta"][0]["permission_decision"]["reason_type"],
        "mode"
    );
    assert_eq!(result_text(&msgs), "launched bk3n9x2qa");
    let (outcome, var) = tool_record(&f);
    assert_eq!(outcome, "launched");
    assert_eq!(var["decided_by"], "cli");
    assert_eq!(var["task_id"], "bk3n9x2qa");
}

#[test]
fn default_mode_without_a_prompt_tool_denies() {
    let f = Fake::new(BG_BASH);
    let r = run_with_args(&f, &[], false);
    let msgs = r.msgs();
    let denied = of_type(&msgs, "system", Some("permission_denied"));
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["tool_use_id"], "toolu_bg_1");
    assert_eq!(denied[0]["decision_reason_type"], "other");
    let tr = of_type(&msgs, "user", None)[0];
    assert_eq!(tr["message"]["content"][0]["is_error"], true);
    assert_eq!(
        tr["tool_use_result"],
        "Error: This command requires approval"
    );
    let result = of_type(&msgs, "result", None)[0];
    assert_eq!(
        result["permission_denials"],
        json!([{"tool_name": "Bash", "tool_use_id": "toolu_bg_1",
                "tool_input": {"command": "cargo test", "description": "run tests", "run_in_background": true}}])
    );
    assert_eq!(result_text(&msgs), "denied by cli: no prompt tool");
}

#[test]
fn allowed_tools_run_it_silently() {
    let f = Fake::new(BG_BASH);
    let r = run_with_args(&f, &["--allowedTools", "Read,Bash(cargo test)"], false);
    let msgs = r.msgs();
    assert!(of_type(&msgs, "control_request", None).is_empty());
    assert!(of_type(&msgs, "system", Some("permission_denied")).is_empty());
    assert_eq!(result_text(&msgs), "launched bk3n9x2qa");
}

#[test]
fn disallowed_tool_is_unavailable_and_gone_from_init() {
    let f = Fake::new(BG_BASH);
    let r = run_with_args(&f, &["--disallowed-tools", "Bash"], false);
    let msgs = r.msgs();
    let init = of_type(&msgs, "system", Some("init"))[0];
    assert!(!init["tools"].as_array().unwrap().contains(&json!("Bash")));
    let tr = of_type(&msgs, "user", None)[0];
    assert_eq!(
        tr["message"]["content"][0]["content"],
        "<tool_use_error>Error: No such tool available: Bash. Bash is disabled for this session, in subagents as well as here.</tool_use_error>"
    );
    assert!(tr.get("tool_result_meta").is_none());
    assert_eq!(
        of_type(&msgs, "result", None)[0]["permission_denials"],
        json!([])
    );
    assert_eq!(tool_record(&f).0, "unavailable");
}

/// Answer the can_use_tool the fake sends, and return the frames up to the result.
fn ask_and_answer(f: &Fake, answer: impl Fn(&Value) -> Value) -> Vec<Value> {
    let mut cmd = f.std_cmd();
    cmd.args(["--permission-prompt-tool", "stdio"]);
    let mut live = Live::spawn(cmd);
    live.send(&user("go"));
    let mut seen = Vec::new();
    loop {
        let m = live.next();
        if m["type"] == "control_request" {
            assert_eq!(m["request_id"], "perm-bg-1");
            assert_eq!(m["request"]["subtype"], "can_use_tool");
            assert_eq!(m["request"]["tool_use_id"], "toolu_bg_1");
            assert_eq!(m["request"]["input"]["run_in_background"], true);
            // `cargo test` is no read-only command: asked with a reason, as 2.1.332 asks.
            assert_eq!(m["request"]["decision_reason_type"], "other");
            live.send(&answer(&m));
        }
        let done = m["type"] == "result";
        seen.push(m);
        if done {
            break;
        }
    }
    let (status, stderr) = live.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    seen
}

#[test]
fn supervisor_that_rewrites_run_in_background_gets_a_foreground_run() {
    let f = Fake::new(BG_BASH);
    let msgs = ask_and_answer(&f, |m| {
        let mut input = m["request"]["input"].clone();
        input["run_in_background"] = json!(false);
        json!({"type": "control_response", "response": {"subtype": "success",
            "request_id": m["request_id"], "response": {"behavior": "allow", "updatedInput": input}}})
    });
    assert!(of_type(&msgs, "system", Some("task_started")).is_empty());
    let tr = of_type(&msgs, "user", None)[0];
    assert_eq!(tr["message"]["content"][0]["content"], "test result: ok");
    assert!(tr["tool_use_result"].get("backgroundTaskId").is_none());
    assert_eq!(result_text(&msgs), "ran");
    let (outcome, var) = tool_record(&f);
    assert_eq!(outcome, "ran");
    assert_eq!(var["decided_by"], "supervisor");
    assert_eq!(var["input"]["run_in_background"], false);
}

#[test]
fn supervisor_that_allows_as_is_gets_the_launch() {
    let f = Fake::new(BG_BASH);
    let msgs = ask_and_answer(&f, |m| {
        json!({"type": "control_response", "response": {"subtype": "success",
            "request_id": m["request_id"], "response": {"behavior": "allow",
            "updatedInput": m["request"]["input"]}}})
    });
    assert_eq!(of_type(&msgs, "system", Some("task_started")).len(), 1);
    assert_eq!(result_text(&msgs), "launched bk3n9x2qa");
}

#[test]
fn supervisor_deny_is_an_error_result_and_a_denial() {
    let f = Fake::new(BG_BASH);
    let msgs = ask_and_answer(&f, |m| {
        json!({"type": "control_response", "response": {"subtype": "success",
            "request_id": m["request_id"], "response": {"behavior": "deny", "message": "denied by test"}}})
    });
    // The supervisor refused: no permission_denied frame (that is the CLI's own refusal).
    assert!(of_type(&msgs, "system", Some("permission_denied")).is_empty());
    let tr = of_type(&msgs, "user", None)[0];
    assert_eq!(tr["message"]["content"][0]["content"], "denied by test");
    assert_eq!(tr["tool_use_result"], "Error: denied by test");
    assert_eq!(
        of_type(&msgs, "result", None)[0]["permission_denials"][0]["tool_use_id"],
        "toolu_bg_1"
    );
    assert_eq!(result_text(&msgs), "denied by supervisor: denied");
}

#[test]
fn stdin_closed_with_the_question_pending_fails_the_call_and_finishes_the_turn() {
    let f = Fake::new(BG_BASH);
    let mut cmd = f.std_cmd();
    cmd.args(["--permission-prompt-tool", "stdio"]);
    let mut live = Live::spawn(cmd);
    live.send(&user("go"));
    loop {
        if live.next()["type"] == "control_request" {
            break;
        }
    }
    live.close_stdin();
    let mut msgs = Vec::new();
    while let Some(Out::Line(l)) = live.next_within(LINE_WAIT) {
        msgs.push(serde_json::from_slice::<Value>(&l).unwrap());
    }
    assert_eq!(live.wait(RUN_DEADLINE).code(), Some(0));
    let tr = of_type(&msgs, "user", None)[0];
    assert_eq!(
        tr["message"]["content"][0]["content"],
        "Tool permission request failed: AbortError: Tool permission stream closed before response received"
    );
    assert_eq!(result_text(&msgs), "denied by cli: eof");
}

#[test]
fn a_background_agent_reports_async_launched() {
    let f = Fake::new(
        r#"
script:
  - turn:
      steps:
        - tool:
            name: Agent
            input: {description: "bg agent", prompt: "research", subagent_type: general-purpose, run_in_background: true}
            launched: [{emit: {assistant: {text: "agent {{ tool.task_id }}"}}}]
"#,
    );
    let r = run_with_args(&f, &[], false);
    let msgs = r.msgs();
    let started = of_type(&msgs, "system", Some("task_started"))[0];
    assert_eq!(started["task_type"], "local_agent");
    let tr = of_type(&msgs, "user", None)[0];
    assert_eq!(tr["tool_use_result"]["status"], "async_launched");
    let task = tr["tool_use_result"]["agentId"].as_str().unwrap();
    assert_eq!(task.len(), 17);
    assert_eq!(result_text(&msgs), format!("agent {task}"));
}

#[test]
fn root_may_not_bypass_outside_a_sandbox() {
    let f = Fake::new(BG_BASH);
    let r = run_with_args(&f, &["--dangerously-skip-permissions"], false);
    if fake_claude::permissions::running_as_root() {
        assert_eq!(r.code, Some(1));
        assert!(r.stdout.is_empty());
        assert_eq!(
            r.stderr,
            "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n"
        );
        let recs = f.transcript();
        assert!(matches!(recs[0].event, Event::Start { .. }));
        assert!(matches!(
            recs.last().unwrap().event,
            Event::Exit { code: 1 }
        ));
    } else {
        assert_eq!(r.code, Some(0));
        assert_eq!(result_text(&r.msgs()), "launched bk3n9x2qa");
    }
}
