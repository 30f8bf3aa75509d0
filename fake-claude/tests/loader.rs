//! A bad scenario never starts a run: exit 2, `file:line:column` and a clear message on stderr,
//! nothing on stdout, never a panic.

mod common;

use common::*;
use fake_claude::transcript::Event;
use serde_json::json;

/// Runs a bad scenario (with a prompt on stdin that a running fake would answer) and checks the
/// common contract; returns stderr.
fn rejected(yaml: &str, location: &str, needles: &[&str]) -> String {
    let f = Fake::new(yaml);
    let stdin = lines(&[initialize("i1"), user("hello")]);
    let r = f.run(&stdin);
    assert_eq!(
        r.code,
        Some(2),
        "stdout {:?}, stderr:\n{}",
        r.stdout_str(),
        r.stderr
    );
    assert!(
        r.stdout.is_empty(),
        "a bad scenario must not start a run; stdout: {}",
        r.stdout_str()
    );
    r.assert_no_panic();
    let head = format!("{}:{location}: ", f.scenario.display());
    assert!(r.stderr.contains(&head), "want `{head}` in:\n{}", r.stderr);
    for n in needles {
        assert!(r.stderr.contains(n), "want `{n}` in:\n{}", r.stderr);
    }
    // The snippet shows the offending line.
    assert!(r.stderr.contains(" --> "), "{}", r.stderr);
    // The transcript says what happened, under its own invocation.
    let recs = f.transcript();
    assert!(matches!(recs[0].event, Event::Start { .. }));
    assert!(
        find(
            &recs,
            |e| matches!(e, Event::Note { text } if text.starts_with("bad scenario"))
        )
        .is_some()
    );
    assert_eq!(exit_code(&recs), Some(2));
    assert!(stdout_records(&recs).is_empty());
    r.stderr
}

#[test]
fn yaml_syntax_error() {
    rejected(
        "name: t\nscript:\n  - emit: {json: {a: 1}\n  - exit: 0\n",
        "4:3",
        &["only valid inside a block"],
    );
}

#[test]
fn unknown_step_with_did_you_mean() {
    rejected(
        "name: t\nscript:\n  - emit: {json: {a: 1}}\n  - emitt: {json: {a: 1}}\n",
        "4:5",
        &["unknown variant `emitt`", "did you mean `emit`?"],
    );
}

#[test]
fn unknown_field_with_did_you_mean() {
    rejected(
        "name: t\nscript:\n  - expect:\n      match: {type: user}\n      capure: {x: uuid}\n",
        "5:7",
        &["unknown field `capure`", "did you mean `capture`?"],
    );
}

#[test]
fn unknown_top_level_field() {
    rejected(
        "name: t\nwatchdgo: 1s\nscript: []\n",
        "2:1",
        &["unknown field `watchdgo`", "did you mean `watchdog`?"],
    );
}

#[test]
fn missing_required_field() {
    rejected(
        "name: t\nscript:\n  - emit: {json: {a: 1}}\n  - expect:\n      timeout: 1s\n",
        "5:7",
        &["missing field `match`"],
    );
    rejected("name: t\n", "1:1", &["missing field `script`"]);
}

#[test]
fn bad_pattern() {
    rejected(
        "name: t\nscript:\n  - emit: {json: {a: 1}}\n  - expect:\n      match: {a: [\"...\", 1]}\n",
        "4:5",
        &[
            "expect pattern at `a.0`",
            "only allowed as the last element",
        ],
    );
}

#[test]
fn undefined_template_variable() {
    rejected(
        "name: t\nscript:\n  - emit: {json: {a: 1}}\n  - emit: {json: {a: \"{{ nope }}\"}}\n",
        "4:5",
        &["undefined template variable `nope`"],
    );
    // Defined only by a later step: still undefined here.
    rejected(
        "name: t\nscript:\n  - emit: {control_response: {request_id: \"{{ rid }}\"}}\n  - expect: {match: {type: control_request}, capture: {rid: request_id}}\n",
        "3:5",
        &[
            "undefined template variable `rid`",
            "no earlier step defines `rid`",
        ],
    );
}

#[test]
fn bad_template_syntax() {
    rejected(
        "name: t\nscript:\n  - emit: {json: {a: \"{{ x\"}}\n",
        "3:5",
        &["bad template", "unclosed"],
    );
}

#[test]
fn bad_profile_points_at_the_profile_line() {
    rejected(
        "name: t\n# the CLI version\nprofile: \"9.9.9\"\nscript:\n  - emit: {json: {a: 1}}\n",
        "3:10",
        &["unknown profile `9.9.9`", "2.1.81, 2.1.330"],
    );
}

#[test]
fn conflicting_handler_points_at_handlers() {
    rejected(
        "name: t\nhandlers:\n  interrupt: {error: x, never: true}\nscript: []\n",
        "2:1",
        &[
            "handlers.interrupt",
            "at most one of respond, with, error, never, script",
        ],
    );
}

#[test]
fn other_semantic_errors() {
    rejected(
        "name: t\nscript:\n  - kill: SIGNOPE\n",
        "3:5",
        &["unknown signal `SIGNOPE`"],
    );
    rejected(
        "name: t\nscript:\n  - emit: {json: {a: 1}, init: {}}\n",
        "3:5",
        &["exactly one message kind", "found json, init"],
    );
    rejected(
        "name: t\nscript:\n  - emit: {json: {a: 1}}\n  - sleep: soon\n",
        "4:12",
        &["invalid duration `soon`"],
    );
    rejected(
        "name: t\nscript:\n  - raw: {hex: \"7g\"}\n",
        "3:5",
        &["raw.hex", "not a hex byte"],
    );
}

#[test]
fn nested_step_errors_point_into_the_nesting() {
    rejected(
        "name: t\nscript:\n  - repeat:\n      steps:\n        - turn:\n            steps:\n              - emit: {json: {a: \"{{ later }}\"}}\n",
        "7:17",
        &["undefined template variable `later`"],
    );
}

#[test]
fn every_problem_is_reported() {
    let err = rejected(
        "name: t\nscript:\n  - emit: {json: {a: \"{{ x }}\"}}\n  - kill: SIGFOO\n",
        "3:5",
        &["undefined template variable `x`"],
    );
    assert!(
        err.contains("scenario.yaml:4:5: unknown signal `SIGFOO`"),
        "{err}"
    );
}

#[test]
fn missing_scenario_file() {
    let f = Fake::new("script: []\n");
    let mut cmd = f.cmd();
    cmd.arg("--fake-scenario=/nonexistent/dir/x.yaml");
    let r = f.run_with(cmd, b"");
    assert_eq!(r.code, Some(2));
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .contains("cannot read scenario /nonexistent/dir/x.yaml"),
        "{}",
        r.stderr
    );
    r.assert_no_panic();
}

#[test]
fn bad_scenario_from_the_environment() {
    let f = Fake::new("name: t\nscript:\n  - emitt: {}\n");
    let mut cmd = assert_cmd::Command::new(bin());
    cmd.env("FAKE_CLAUDE_SCENARIO", &f.scenario)
        .env_remove("FAKE_CLAUDE_TRANSCRIPT")
        .timeout(RUN_DEADLINE);
    let r = f.run_with(cmd, lines(&[user("hi")]).as_bytes());
    assert_eq!(r.code, Some(2));
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .contains("scenario.yaml:3:5: unknown variant `emitt`"),
        "{}",
        r.stderr
    );
}

#[test]
fn check_mode() {
    let good = Fake::new("script:\n  - emit: {json: {a: 1}}\n");
    let mut cmd = good.cmd();
    cmd.arg("--fake-check");
    let r = good.run_with(cmd, b"");
    assert_eq!(r.code, Some(0));
    assert_eq!(r.stdout_str(), format!("{}: ok\n", good.scenario.display()));

    let bad = Fake::new("script:\n  - emit: {json: {a: \"{{ y }}\"}}\n");
    let mut cmd = bad.cmd();
    cmd.arg("--fake-check");
    let r = bad.run_with(cmd, b"");
    assert_eq!(r.code, Some(2));
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("undefined template variable `y`"));
}

#[test]
fn bad_scenario_with_stderr_reader_gone_still_exits_2() {
    let f = Fake::new("name: t\nscript:\n  - emitt: {}\n");
    let mut cmd = f.std_cmd();
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Nobody reads stderr: writing the diagnostic fails with EPIPE.
    drop(child.stderr.take());
    let status = wait_child(&mut child, RUN_DEADLINE).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("did not exit")
    });
    assert_eq!(status.code(), Some(2), "not a panic (101)");
}

#[test]
fn a_valid_scenario_runs() {
    // The counterpart of all of the above: the same harness sees a run when the file is fine.
    let f = Fake::new("script:\n  - emit: {json: {a: 1}}\n");
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    assert_eq!(r.msgs(), vec![json!({"a": 1})]);
}
