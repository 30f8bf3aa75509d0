//! Runs the `reference-supervisor` binary against `fake_cli.py` (a tiny Python stand-in for the
//! CLI, copied into a fresh directory as `claude`) and checks the report it prints.
//!
//! Every child runs under a deadline: `Run::finish` polls `try_wait` and kills on expiry, so no
//! test can hang.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const FAKE_CLI: &str = include_str!("fake_cli.py");
const DEADLINE: Duration = Duration::from_secs(30);

/// A fresh directory holding `claude` (the fake) and `plan.json`; the supervisor's cwd.
fn workdir(plan: &Value) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "e2e-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cli = dir.join("claude");
    std::fs::write(&cli, FAKE_CLI).unwrap();
    std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("plan.json"), serde_json::to_vec(plan).unwrap()).unwrap();
    dir
}

struct Report {
    dir: PathBuf,
    code: Option<i32>,
    lines: Vec<Value>,
    stderr: String,
}

impl Report {
    fn turns(&self) -> Vec<&Value> {
        self.lines.iter().filter(|l| l["type"] == "turn").collect()
    }

    fn events(&self, name: &str) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|l| l["type"] == "event" && l["name"] == name)
            .map(|l| &l["data"])
            .collect()
    }

    fn end(&self) -> &Value {
        let end = self.lines.last().expect("a report");
        assert_eq!(
            end["type"], "end",
            "the last line is `end`; stderr:\n{}",
            self.stderr
        );
        end
    }

    /// What the fake read on its stdin.
    fn stdin_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("stdin.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("the supervisor writes only JSON lines"))
            .collect()
    }

    fn fake_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("events.log")).unwrap_or_default()
    }
}

impl Drop for Report {
    /// Keeps the directory of a failed test for inspection; removes it otherwise.
    fn drop(&mut self) {
        if !thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn pipe_to_string(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Waits for `child` until `DEADLINE`, killing it on expiry.
fn wait_with_deadline(child: &mut Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the supervisor did not finish within {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn run_supervisor(plan: Value, args: &[&str]) -> Report {
    let dir = workdir(&plan);
    let mut child = Command::new(env!("CARGO_BIN_EXE_reference-supervisor"))
        .args(args)
        .current_dir(&dir)
        .env("HARNESS_CLI", dir.join("claude"))
        .env("HARNESS_PLAN", dir.join("plan.json"))
        // The headless style sets it for its CLI; the tests check it did, so none is inherited.
        .env_remove("IS_SANDBOX")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = pipe_to_string(child.stdout.take().unwrap());
    let stderr = pipe_to_string(child.stderr.take().unwrap());
    let code = wait_with_deadline(&mut child);
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let lines = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"))
        })
        .collect();
    Report {
        dir,
        code,
        lines,
        stderr,
    }
}

fn plan(mode: &str, turns: Value) -> Value {
    json!({"version": 1, "scenario": "test", "mode": mode, "turns": turns, "turn_timeout_ms": 10000})
}

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts[2].starts_with('4')
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn two_turns_echo_in_order() {
    let report = run_supervisor(
        plan(
            "multi_turn",
            json!([
            {"prompt": "hello", "actions": [{"kind": "rewind_files", "after_ms": 0}]},
            {"prompt": "NOISY"}]),
        ),
        &[],
    );
    assert_eq!(report.code, Some(0), "stderr:\n{}", report.stderr);

    let turns = report.turns();
    assert_eq!(turns.len(), 2);
    for (index, (turn, output)) in turns.iter().zip(["echo: hello", "echo: NOISY"]).enumerate() {
        assert_eq!(turn["index"], index);
        assert_eq!(turn["status"], "completed", "{turn}");
        assert_eq!(turn["output"], output);
        assert_eq!(turn["error"], Value::Null);
        assert_eq!(
            turn["messages"],
            json!([
                {"type": "system", "subtype": "init", "uuid": "init-uuid"},
                {"type": "assistant", "text": output, "uuid": "assistant-uuid"},
                {"type": "result", "subtype": "success", "text": output, "is_error": false},
            ])
        );
    }
    assert_eq!(
        report.events("unsupported_action"),
        [&json!({"turn": 0, "kind": "rewind_files"})]
    );
    assert_eq!(
        report.events("stdout_non_json"),
        [&json!({"line": "[SandboxDebug] not json"})]
    );
    assert_eq!(
        report.end(),
        &json!({"type": "end", "status": "ok", "error": null, "cli_exit_code": 0, "cli_signal": null})
    );

    // What the CLI saw: SDK argv, initialize first, then one user message per prompt.
    let argv: Value =
        serde_json::from_str(&std::fs::read_to_string(report.dir.join("argv.json")).unwrap())
            .unwrap();
    assert_eq!(
        argv,
        json!([
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-prompt-tool",
            "stdio",
            "--input-format",
            "stream-json"
        ])
    );
    let stdin = report.stdin_lines();
    assert_eq!(stdin.len(), 3, "{stdin:?}");
    let request_id = stdin[0]["request_id"].as_str().unwrap();
    assert!(
        request_id.starts_with("req_1_") && request_id.len() == 14,
        "{request_id}"
    );
    assert_eq!(
        stdin[0],
        json!({"type": "control_request", "request_id": request_id, "request": {"subtype": "initialize", "hooks": null}})
    );
    for (line, prompt) in stdin[1..].iter().zip(["hello", "NOISY"]) {
        let uuid = line["uuid"].as_str().unwrap();
        assert!(is_uuid_v4(uuid), "{uuid}");
        assert_eq!(
            line,
            &json!({"type": "user", "message": {"role": "user", "content": prompt},
                    "parent_tool_use_id": null, "session_id": "default", "uuid": uuid})
        );
    }
    assert_ne!(stdin[1]["uuid"], stdin[2]["uuid"]);
}

#[test]
fn control_requests_are_answered_once_in_the_right_shape() {
    let report = run_supervisor(plan("one_shot", json!([{"prompt": "TOOL"}])), &[]);
    let turns = report.turns();
    assert_eq!(turns[0]["status"], "completed", "{}", report.stderr);
    // The fake reports every answer it got, per request id.
    let answers: Value = serde_json::from_str(turns[0]["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        answers,
        json!({
            "cr-1": [{"subtype": "success", "request_id": "cr-1", "response": {"behavior": "allow",
                      "updatedInput": {"command": "sleep 1", "run_in_background": false}}}],
            "cr-2": [{"subtype": "error", "request_id": "cr-2", "error": "No hook callback found for ID: hook_0"}],
            "cr-3": [{"subtype": "success", "request_id": "cr-3", "response": {"mcp_response":
                      {"jsonrpc": "2.0", "id": 5, "error": {"code": -32601, "message": "Server 'mysdk' not found"}}}}],
            "cr-4": [{"subtype": "error", "request_id": "cr-4", "error": "Unsupported control request subtype: bogus_subtype"}],
        }),
        "cr-0 was cancelled in the same write and must get no answer"
    );
    assert_eq!(
        report.events("control_request_cancelled"),
        [&json!({"request_id": "cr-0", "answered": false})]
    );
    assert_eq!(report.events("tool_input_rewritten").len(), 1);
    assert_eq!(report.end()["status"], "ok");
}

#[test]
fn answers_slow_callbacks_still_owe_are_written_before_stdin_closes() {
    let mut p = plan("one_shot", json!([{"prompt": "HOOK"}]));
    p["hooks"] = json!([{"event": "PreToolUse", "delay_ms": 400, "answer": {"continue": true}}]);
    let report = run_supervisor(p, &[]);
    assert_eq!(
        report.turns()[0]["status"],
        "completed",
        "{}",
        report.stderr
    );
    // The turn's result came first; the hook's answer was still owed at teardown.
    let answered: Vec<Value> = report
        .stdin_lines()
        .into_iter()
        .filter(|l| l["type"] == "control_response")
        .collect();
    assert_eq!(
        answered,
        [
            json!({"type": "control_response", "response": {"subtype": "success",
                "request_id": "cr-late", "response": {"continue": true}}})
        ]
    );
    assert_eq!(report.end()["status"], "ok");
}

#[test]
fn background_aware_keeps_stdin_open_and_reports_the_injected_turn() {
    let report = run_supervisor(
        plan("one_shot", json!([{"prompt": "BG"}])),
        &["--policy", "background-aware"],
    );
    let turns = report.turns();
    assert_eq!(
        (&turns[0]["status"], &turns[0]["output"]),
        (&json!("completed"), &json!("started"))
    );
    let injected = report.events("injected_turn");
    assert_eq!(injected.len(), 1, "{:?}", report.lines);
    assert_eq!(injected[0]["result"], "NOTIFIED");
    assert_eq!(injected[0]["reason"], "after_task_notification");
    assert_eq!(
        report.events("task_notification"),
        [&json!({"task_id": "b1", "status": "completed", "summary": "done"})]
    );
    assert_eq!(report.fake_log(), "stdin open until the task finished\n");
    assert_eq!(report.end()["status"], "ok");
}

#[test]
fn injected_turn_before_the_next_prompt_is_not_its_answer() {
    // The fake writes the notification turn while our second prompt is already waiting.
    let turns = json!([{"prompt": "BG"}, {"prompt": "after"}]);
    let report = run_supervisor(
        plan("multi_turn", turns.clone()),
        &["--policy", "background-aware"],
    );
    let outputs: Vec<&Value> = report.turns().iter().map(|t| &t["output"]).collect();
    assert_eq!(outputs, [&json!("started"), &json!("echo: after")]);
    assert_eq!(report.events("injected_turn")[0]["result"], "NOTIFIED");
    assert!(
        report.turns()[1]["messages"]
            .to_string()
            .find("NOTIFIED")
            .is_none()
    );

    // The #788 bug switch takes the injected result as the second prompt's answer.
    let buggy = run_supervisor(
        plan("multi_turn", turns),
        &["--policy", "background-aware", "--bug", "last-result-wins"],
    );
    assert_eq!(buggy.turns()[1]["output"], "NOTIFIED");
}

#[test]
fn foreground_only_fails_a_turn_that_launched_a_background_task() {
    let report = run_supervisor(plan("one_shot", json!([{"prompt": "BG"}])), &[]);
    let turn = report.turns()[0];
    assert_eq!(turn["status"], "failed");
    assert_eq!(turn["output"], Value::Null);
    assert!(
        turn["error"]
            .as_str()
            .unwrap()
            .contains("background task was launched under the foreground-only policy")
    );
    assert_eq!(report.events("async_launch")[0]["task_id"], "b1");
    // Foreground-only does not wait for the task before closing stdin.
    assert_eq!(report.fake_log(), "stdin closed while the task ran\n");

    let buggy = run_supervisor(
        plan("one_shot", json!([{"prompt": "BG"}])),
        &["--bug", "ignore-async-launch"],
    );
    assert_eq!(buggy.turns()[0]["status"], "completed");
}

#[test]
fn a_cli_that_dies_mid_turn_fails_the_turn_with_its_exit_code_and_stderr() {
    let report = run_supervisor(
        plan(
            "multi_turn",
            json!([{"prompt": "hello"}, {"prompt": "DIE"}, {"prompt": "never"}]),
        ),
        &[],
    );
    let turns = report.turns();
    assert_eq!(turns[0]["status"], "completed");
    assert_eq!(turns[1]["status"], "failed");
    let error = turns[1]["error"].as_str().unwrap();
    assert!(
        error.contains("exited with code 3") && error.contains("ECONNRESET"),
        "{error}"
    );
    assert_eq!(turns[2]["status"], "failed");
    assert!(
        turns[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("prompt not sent")
    );
    let end = report.end();
    assert_eq!(
        (&end["status"], &end["cli_exit_code"]),
        (&json!("error"), &json!(3))
    );
    assert_eq!(
        report.events("stderr_tail"),
        [&json!({"tail": "fatal: read ECONNRESET"})]
    );
    assert_eq!(
        report.code,
        Some(0),
        "a complete report is a successful run of the supervisor"
    );
}

#[test]
fn an_interrupt_action_aborts_the_turn() {
    let report = run_supervisor(
        plan(
            "multi_turn",
            json!([
            {"prompt": "SLOW", "actions": [
                {"kind": "set_model", "model": "claude-x", "after_ms": 0},
                {"kind": "interrupt", "after_ms": 50}]},
            {"prompt": "next"}]),
        ),
        &[],
    );
    let turns = report.turns();
    assert_eq!(turns[0]["status"], "aborted", "{}", report.stderr);
    assert!(
        turns[0]["error"]
            .as_str()
            .unwrap()
            .contains("ede_diagnostic")
    );
    assert_eq!(turns[1]["output"], "echo: next");
    let kinds: Vec<&Value> = report
        .events("action_sent")
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert_eq!(kinds, [&json!("set_model"), &json!("interrupt")]);

    // Supervisor-initiated requests use the envelope and numbered ids after initialize's.
    let requests: Vec<Value> = report
        .stdin_lines()
        .into_iter()
        .filter(|l| l["type"] == "control_request")
        .collect();
    let bodies: Vec<&Value> = requests.iter().map(|r| &r["request"]).collect();
    assert_eq!(
        bodies,
        [
            &json!({"subtype": "initialize", "hooks": null}),
            &json!({"subtype": "set_model", "model": "claude-x"}),
            &json!({"subtype": "interrupt"})
        ]
    );
    for (n, request) in requests.iter().enumerate() {
        assert!(
            request["request_id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("req_{}_", n + 1))
        );
    }
}

#[test]
fn usage_and_plan_errors() {
    let report = run_supervisor(
        plan("one_shot", json!([{"prompt": "x"}])),
        &["--bug", "nope"],
    );
    assert_eq!(report.code, Some(2));
    assert!(report.lines.is_empty());
    assert!(
        report.stderr.contains("unknown bug switch `nope`"),
        "{}",
        report.stderr
    );

    let report = run_supervisor(json!({"version": 1, "mode": "one_shot", "turns": []}), &[]);
    assert_eq!(report.code, Some(1));
    assert_eq!(report.end()["status"], "error");
    assert!(report.end()["error"].as_str().unwrap().contains("no turns"));
}

fn json_file(report: &Report, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(report.dir.join(name)).unwrap()).unwrap()
}

#[test]
fn headless_writes_one_content_block_prompt_and_no_control_frames() {
    let report = run_supervisor(
        plan("one_shot", json!([{"prompt": "hello"}])),
        &["--style", "headless"],
    );
    let turn = report.turns()[0];
    assert_eq!(
        (&turn["status"], &turn["output"]),
        (&json!("completed"), &json!("echo: hello")),
        "{}",
        report.stderr
    );
    assert_eq!(
        json_file(&report, "argv.json"),
        json!([
            "-p",
            "--output-format",
            "stream-json",
            "--input-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "bypassPermissions",
            "--disallowedTools",
            "AskUserQuestion"
        ])
    );
    assert_eq!(json_file(&report, "env.json"), json!({"IS_SANDBOX": "1"}));
    assert_eq!(
        report.stdin_lines(),
        [json!({"type": "user", "message": {"role": "user",
                "content": [{"type": "text", "text": "hello"}]}})],
        "no initialize, one prompt"
    );
    assert_eq!(report.end()["status"], "ok");
}

#[test]
fn headless_leaves_control_requests_unanswered_and_reports_them() {
    let report = run_supervisor(
        plan("one_shot", json!([{"prompt": "TOOL"}])),
        &["--style", "headless"],
    );
    assert!(
        report
            .stdin_lines()
            .iter()
            .all(|line| line["type"] == "user"),
        "{:?}",
        report.stdin_lines()
    );
    let ignored: Vec<&Value> = report
        .events("control_request_ignored")
        .iter()
        .map(|e| &e["request_id"])
        .collect();
    assert_eq!(ignored, ["cr-0", "cr-1", "cr-2", "cr-3", "cr-4"]);
}

#[test]
fn headless_fails_a_background_launch_and_takes_the_first_result() {
    let args = ["--style", "headless"];
    let report = run_supervisor(plan("one_shot", json!([{"prompt": "BG"}])), &args);
    let turn = report.turns()[0];
    assert_eq!(turn["status"], "failed");
    assert!(
        turn["error"]
            .as_str()
            .unwrap()
            .contains("background task was launched under the foreground-only policy"),
        "{turn}"
    );
    // stdin closed at the turn's result, before the task finished.
    assert_eq!(report.fake_log(), "stdin closed while the task ran\n");
    assert_eq!(report.events("injected_turn")[0]["result"], "NOTIFIED");

    // Reading to EOF and keeping the last result reports the injected turn's reply instead.
    let buggy = run_supervisor(
        plan("one_shot", json!([{"prompt": "BG"}])),
        &["--style", "headless", "--bug", "keep-last-result"],
    );
    let turn = buggy.turns()[0];
    assert_eq!(
        (&turn["status"], &turn["output"]),
        (&json!("completed"), &json!("NOTIFIED"))
    );
    assert!(buggy.events("injected_turn").is_empty());
}

#[test]
fn one_shot_styles_refuse_multi_turn_plans() {
    let report = run_supervisor(
        plan("multi_turn", json!([{"prompt": "a"}, {"prompt": "b"}])),
        &["--style", "headless"],
    );
    assert_eq!(report.code, Some(1));
    assert!(
        report.end()["error"]
            .as_str()
            .unwrap()
            .contains("the headless style is one-shot")
    );
}

#[test]
fn print_passes_the_prompt_on_argv_and_parses_one_json_result() {
    let report = run_supervisor(
        plan("one_shot", json!([{"prompt": "hello"}])),
        &["--style", "print"],
    );
    let turn = report.turns()[0];
    assert_eq!(
        (&turn["status"], &turn["output"]),
        (&json!("completed"), &json!("echo: hello")),
        "{}",
        report.stderr
    );
    assert_eq!(
        json_file(&report, "argv.json"),
        json!(["-p", "--output-format", "json", "--verbose", "hello"])
    );
    assert_eq!(json_file(&report, "env.json"), json!({"IS_SANDBOX": null}));
    assert!(report.stdin_lines().is_empty());
    assert_eq!(report.end()["cli_exit_code"], 0);
}

#[test]
fn print_failures_carry_the_result_exit_code_and_stderr() {
    let run = |prompt: &str, extra: &[&str]| {
        let mut args = vec!["--style", "print"];
        args.extend(extra);
        run_supervisor(plan("one_shot", json!([{"prompt": prompt}])), &args)
    };
    let failed = run("FAIL", &[]);
    let error = failed.turns()[0]["error"].as_str().unwrap().to_string();
    assert!(error.contains("529 overloaded"), "{error}");

    let died = run("DIE", &[]);
    let error = died.turns()[0]["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("exited with code 3") && error.contains("ECONNRESET"),
        "{error}"
    );

    let prose = run("PROSE", &[]);
    let turn = prose.turns()[0];
    assert_eq!(turn["status"], "failed");
    let error = turn["error"].as_str().unwrap();
    assert!(
        error.contains("stdout is not a JSON result") && error.contains("exited with code 0"),
        "{error}"
    );

    // The bug: exit 0 is success, and stdout's text is the answer.
    let buggy = run("PROSE", &["--bug", "stdout-text-is-answer"]);
    let turn = buggy.turns()[0];
    assert_eq!(
        (&turn["status"], &turn["output"]),
        (&json!("completed"), &json!("echo: PROSE"))
    );
}
