//! Every way of invoking the CLI, against the real CLI 2.1.332's recordings
//! (fixtures/transcripts/cli2.1.332_*.jsonl, NOTES-2.1.332.md): print mode with the prompt on argv
//! or stdin and each output format, the argv refusals, the probes, a non-JSON stream-json line,
//! and sessions resumed across processes. Shapes are compared by what a parser relies on: exact
//! texts where the real CLI's are fixed, key sets and message order where they carry ids.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use fake_claude::transcript::Event;
use serde_json::Value;

/// The records of a real recording: (`dir`, `msg`).
fn real(name: &str) -> Vec<(String, Value)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transcripts")
        .join(format!("cli2.1.332_{name}.jsonl"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["dir"].as_str().unwrap().to_string(), v["msg"].clone())
        })
        .collect()
}

fn real_exit(name: &str) -> i64 {
    real(name)
        .iter()
        .rev()
        .find(|(d, _)| d == "exit")
        .and_then(|(_, m)| m.as_i64())
        .unwrap()
}

fn real_stderr(name: &str) -> String {
    real(name)
        .iter()
        .filter(|(d, _)| d == "stderr")
        .map(|(_, m)| format!("{}\n", m.as_str().unwrap()))
        .collect()
}

fn real_stdout_raw(name: &str) -> String {
    real(name)
        .iter()
        .find(|(d, m)| d == "out" && m.get("__raw__").is_some())
        .map(|(_, m)| m["__raw__"].as_str().unwrap().to_string())
        .unwrap()
}

fn real_out(name: &str) -> Vec<Value> {
    real(name)
        .into_iter()
        .filter(|(d, m)| d == "out" && m.get("__raw__").is_none())
        .map(|(_, m)| m)
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Keys a real object has that the fake's lacks, and the other way round, ignoring what only
/// a real model run produces.
fn key_diff(real: &Value, fake: &Value) -> (Vec<String>, Vec<String>) {
    let (r, f) = (keys(real), keys(fake));
    (
        r.difference(&f).cloned().collect(),
        f.difference(&r).cloned().collect(),
    )
}

fn default_fake(framing: &[&str]) -> Fake {
    Fake::embedded_default().framing(framing)
}

#[test]
fn print_json_with_the_prompt_on_argv_is_one_result_line() {
    let f = default_fake(&["-p", "--output-format", "json", "hello"]);
    let r = f.run("");
    assert_eq!(r.code, Some(real_exit("print_argv_json") as i32));
    let lines: Vec<&str> = r.stdout_str().lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stdout_str());
    let fake: Value = serde_json::from_str(lines[0]).unwrap();
    let want = &real_out("print_argv_json")[0];
    assert_eq!(key_diff(want, &fake), (vec![], vec![]));
    assert_eq!(fake["type"], "result");
    assert_eq!(fake["result"], "Reply to prompt 1.");
    // The prompt is recorded as the CLI took it.
    let recs = f.transcript();
    assert!(recs.iter().any(|r| matches!(&r.event,
        Event::Stdin { from: Some(from), raw: Some(p), .. } if from == "argv" && p == "hello")));
}

#[test]
fn print_json_verbose_is_one_array_of_every_message() {
    let f = default_fake(&["-p", "--output-format", "json", "--verbose", "hello"]);
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    let lines: Vec<&str> = r.stdout_str().lines().collect();
    assert_eq!(lines.len(), 1);
    let fake: Value = serde_json::from_str(lines[0]).unwrap();
    let want = &real_out("print_argv_json_verbose")[0];
    let kinds = |v: &Value| -> Vec<(Value, Value)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| (m["type"].clone(), m["subtype"].clone()))
            .collect()
    };
    assert_eq!(kinds(&fake), kinds(want));
    let (fr, wr) = (fake.as_array().unwrap(), want.as_array().unwrap());
    assert_eq!(
        key_diff(&wr[wr.len() - 1], &fr[fr.len() - 1]),
        (vec![], vec![])
    );
}

#[test]
fn print_text_from_stdin_reads_to_eof_and_prints_the_result_text() {
    let f = default_fake(&["-p", "--output-format", "text"]);
    let r = f.run("hello\n");
    assert_eq!(r.code, Some(real_exit("print_stdin_text") as i32));
    assert_eq!(r.stdout_str(), "Reply to prompt 1.\n");
    // The real stdout is the result text and one newline, nothing else.
    assert_eq!(
        real_stdout_raw("print_stdin_text"),
        "Hello from fake model\n"
    );
    let recs = f.transcript();
    // Verbatim, trailing newline kept (the model got "hello\n" from the real CLI too).
    assert!(recs.iter().any(|r| matches!(&r.event,
        Event::Stdin { from: Some(from), raw: Some(p), .. } if from == "stdin" && p == "hello\n")));
    // Without --output-format the answer is text too.
    let r = default_fake(&["-p", "hello"]).run("");
    assert_eq!(r.stdout_str(), "Reply to prompt 1.\n");
}

#[test]
fn argv_and_stdin_prompts_are_joined_by_a_newline() {
    let f = default_fake(&["-p", "--output-format", "json", "fromargv"]);
    let r = f.run("fromstdin\n");
    assert_eq!(r.code, Some(0));
    let recs = f.transcript();
    assert!(recs.iter().any(|r| matches!(&r.event,
        Event::Stdin { from: Some(from), raw: Some(p), .. }
            if from == "argv+stdin" && p == "fromargv\nfromstdin\n")));
}

#[test]
fn an_error_result_in_text_mode_is_printed_and_exits_1() {
    let f = Fake::new(
        "script:\n  - turn: {result: {is_error: true, text: \"API Error: 400 fake error 400\"}}\n",
    )
    .framing(&["-p", "--output-format", "text", "ERR400"]);
    let r = f.run("");
    assert_eq!(r.code, Some(real_exit("print_text_error_result") as i32));
    assert_eq!(r.stdout_str(), real_stdout_raw("print_text_error_result"));
    assert_eq!(r.stderr, "");
}

#[test]
fn argv_refusals_have_the_real_texts_and_exit_codes() {
    for (name, framing) in [
        (
            "print_stream_json_no_verbose",
            &["-p", "--output-format", "stream-json", "hello"][..],
        ),
        ("print_empty_stdin", &["-p", "--output-format", "json"][..]),
        (
            "session_id_invalid",
            &[
                "-p",
                "--output-format",
                "json",
                "--session-id",
                "not-a-uuid",
                "hello",
            ][..],
        ),
    ] {
        let r = default_fake(framing).run("");
        assert_eq!(r.code, Some(real_exit(name) as i32), "{name}");
        assert_eq!(r.stderr, real_stderr(name), "{name}");
        assert_eq!(r.stdout_str(), "", "{name}");
    }
}

#[test]
fn a_plain_text_line_on_stream_json_stdin_exits_1() {
    let f = default_fake(STREAM_JSON);
    let r = f.run("hello\n");
    assert_eq!(
        r.code,
        Some(real_exit("stream_json_plain_text_line") as i32)
    );
    assert_eq!(r.stderr, real_stderr("stream_json_plain_text_line"));
    assert_eq!(r.stdout_str(), "");
}

#[test]
fn probes_answer_as_the_real_cli_without_playing_the_scenario() {
    // A scenario that would fail loudly if it played.
    let scenario = "script:\n  - fail: the probe played the scenario\n";
    let f = Fake::new(scenario).framing(&["mcp", "list"]);
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    assert_eq!(r.stdout_str(), real_stdout_raw("probe_mcp_list"));

    let f = Fake::new(scenario).framing(&["--help"]);
    let r = f.run("");
    assert_eq!(r.stdout_str(), real_stdout_raw("probe_help"));

    for name in ["probe_auth_status_json", "probe_auth_status"] {
        let args: Vec<String> = real(name)[0].1.as_array().unwrap()[1..]
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let f = Fake::new(scenario).framing(&args);
        let r = f.run("");
        assert_eq!(r.code, Some(real_exit(name) as i32));
        let fake: Value = serde_json::from_str(r.stdout_str()).unwrap();
        let want: Value = serde_json::from_str(&real_stdout_raw(name)).unwrap();
        let order = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(order(&fake), order(&want), "{name}");
        for k in ["loggedIn", "authMethod", "apiProvider", "apiKeySource"] {
            assert_eq!(fake[k], want[k], "{name}: {k}");
        }
        // Pretty-printed with two spaces, as the real one.
        assert!(r.stdout_str().starts_with("{\n  \"loggedIn\": true,\n"));
    }

    let f = Fake::new("auth: logged_out\nscript: []\n").framing(&["auth", "status", "--json"]);
    let r = f.run("");
    assert_eq!(r.code, Some(real_exit("probe_auth_status_no_key") as i32));
    let fake: Value = serde_json::from_str(r.stdout_str()).unwrap();
    let want: Value = serde_json::from_str(&real_stdout_raw("probe_auth_status_no_key")).unwrap();
    assert_eq!(keys(&fake), keys(&want));
    assert_eq!(fake["authMethod"], want["authMethod"]);
}

#[test]
fn a_later_invocation_resumes_the_session_an_earlier_one_wrote() {
    const ID: &str = "11111111-2222-4333-8444-555555555555";
    let f = Fake::embedded_default().framing(&[]);
    let run = |args: &[&str]| {
        let mut cmd = f.cmd();
        cmd.args(args);
        f.run_with(cmd, b"")
    };
    let sid = |r: &Run| -> String {
        let v: Value = serde_json::from_str(r.stdout_str().trim()).unwrap();
        v["session_id"].as_str().unwrap().to_string()
    };
    // Print mode, as in the real resume_flow / fork_flow / session_id_in_use recordings.
    let p = ["-p", "--output-format", "json"];
    let first = run(&[&p[..], &["--session-id", ID, "first"]].concat());
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert_eq!(sid(&first), ID);
    let again = run(&[&p[..], &["--session-id", ID, "second"]].concat());
    assert_eq!(again.code, Some(1));
    assert_eq!(again.stderr, real_stderr("session_id_in_use"));
    let resumed = run(&[&p[..], &["--resume", ID, "second"]].concat());
    assert_eq!(sid(&resumed), ID);
    let continued = run(&[&p[..], &["--continue", "third"]].concat());
    assert_eq!(sid(&continued), ID);
    let forked = run(&[&p[..], &["--resume", ID, "--fork-session", "x"]].concat());
    assert_ne!(sid(&forked), ID);
    // The fork is a session of its own now, and --continue takes the newest.
    assert_eq!(
        sid(&run(&[&p[..], &["--continue", "y"]].concat())),
        sid(&forked)
    );

    // An unknown id: stderr only in print mode; stream-json adds the early error result.
    let unknown = "99999999-9999-4999-8999-999999999999";
    let r = run(&[&p[..], &["--resume", unknown, "hello"]].concat());
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout_str(), "");
    let want_err = format!("No conversation found with session ID: {unknown}\n");
    assert_eq!(r.stderr, want_err);
    let real_rec = real("resume_unknown");
    assert!(
        real_rec
            .iter()
            .any(|(d, m)| d == "stderr" && format!("{}\n", m.as_str().unwrap()) == want_err)
    );
    let mut cmd = f.cmd();
    cmd.args([STREAM_JSON, &["--resume", unknown]].concat());
    let r = f.run_with(cmd, lines(&[user("hi")]).as_bytes());
    assert_eq!(r.code, Some(1));
    let msgs = r.msgs();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let want = real_out("resume_unknown")
        .into_iter()
        .find(|m| m["type"] == "result")
        .unwrap();
    assert_eq!(key_diff(&want, &msgs[0]), (vec![], vec![]));
    assert_eq!(msgs[0]["errors"], want["errors"]);
    assert_eq!(msgs[0]["subtype"], "error_during_execution");
}

#[test]
fn a_permission_request_after_stdin_closed_fails_at_once_and_counts_as_a_denial() {
    // Print mode with a prompt tool: nobody can answer on a closed stdin (recorded by hand:
    // `claude -p --output-format json --permission-prompt-tool stdio FGBASH < /dev/null`).
    let f = Fake::new(
        "script:\n  - turn:\n      steps:\n        - tool: {name: Bash, input: {command: \"touch fgfile && echo fgdone\", description: touch}, output: fgdone}\n        - emit: {assistant: {text: done}}\n",
    )
    .framing(&["-p", "--output-format", "json", "--permission-prompt-tool", "stdio", "FGBASH"]);
    let r = f.run("");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let fake: Value = serde_json::from_str(r.stdout_str().trim()).unwrap();
    let want = &real_out("print_prompt_tool_stdin_closed")[0];
    let denial_keys = |v: &Value| keys(&v["permission_denials"][0]);
    assert_eq!(denial_keys(&fake), denial_keys(want));
    assert_eq!(
        fake["permission_denials"][0]["tool_input"],
        want["permission_denials"][0]["tool_input"]
    );
    let held: Vec<Value> = f
        .transcript()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Held { msgs, .. } => Some(msgs),
            _ => None,
        })
        .flatten()
        .collect();
    let tool_result = held
        .iter()
        .find(|m| m["type"] == "user")
        .expect("the tool result");
    // The real model saw exactly this text (the stub echoes it into its reply).
    assert!(
        want["result"]
            .as_str()
            .unwrap()
            .contains("Tool permission request failed: AbortError: Stream closed")
    );
    assert_eq!(
        tool_result["message"]["content"][0]["content"],
        "Tool permission request failed: AbortError: Stream closed"
    );
}

#[test]
fn a_scenario_scripts_each_invocation_of_a_resumed_session() {
    let f = Fake::new(
        r#"script:
  - if:
      when: {var: resumed, equals: true}
      then: [{turn: {reply: "resumed in invocation {{ invocation }} after {{ resumed_results }} result(s)"}}]
      else: [{turn: {reply: "fresh in invocation {{ invocation }}"}}]
"#,
    )
    .framing(&[]);
    let run = |args: &[&str]| {
        let mut cmd = f.cmd();
        cmd.args(args);
        let r = f.run_with(cmd, b"");
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.stdout_str().to_string()
    };
    assert_eq!(run(&["-p", "first"]), "fresh in invocation 1\n");
    assert_eq!(
        run(&["-p", "--continue", "second"]),
        "resumed in invocation 2 after 1 result(s)\n"
    );
}
