//! Process-level behaviour of the binary: the embedded default, `-v`, exit codes, signals, the
//! watchdog, a reader that closes stdout, and the transcript's records of all of it.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use fake_claude::transcript::Event;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// the embedded default

/// Drives the embedded default like an SDK: initialize, two prompts, close.
fn default_session(args: &[&str]) {
    let f = Fake::embedded_default().framing(&[]);
    let mut cmd = f.std_cmd();
    cmd.args(args);
    // Bypassing argvs (Multica's) run in sandboxes: as root the CLI refuses them otherwise
    // (tool_step.rs `root_may_not_bypass_outside_a_sandbox`).
    cmd.env("IS_SANDBOX", "1");
    let mut live = Live::spawn(cmd);
    live.send(&initialize("req_1_abc"));
    let init = live.next();
    assert_eq!(init["type"], "control_response");
    assert_eq!(init["response"]["subtype"], "success");
    assert_eq!(init["response"]["request_id"], "req_1_abc");
    assert_eq!(
        init["response"]["response"]["claude_code_version"],
        "2.1.330"
    );
    let mut session = None;
    for n in 1..=2 {
        live.send(&user(&format!("prompt number {n}")));
        let sys = live.next();
        assert_eq!(
            (&sys["type"], &sys["subtype"]),
            (&json!("system"), &json!("init"))
        );
        let a = live.next();
        assert_eq!(a["type"], "assistant");
        let want = format!("Reply to prompt {n}.");
        assert_eq!(a["message"]["content"][0]["text"], want.as_str());
        let r = live.next();
        assert_eq!(r["type"], "result");
        assert_eq!(r["subtype"], "success");
        assert_eq!(r["is_error"], false);
        assert_eq!(r["result"], want.as_str());
        assert_eq!(r["result_index"], n - 1);
        // One session id for the process.
        let sid = r["session_id"].clone();
        assert_eq!(*session.get_or_insert(sid.clone()), sid);
        assert_eq!(sys["session_id"], sid);
    }
    let (status, stderr) = live.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    live.expect_eof(LINE_WAIT);
    let recs = f.transcript();
    match &recs[0].event {
        Event::Start { argv, scenario, .. } => {
            assert_eq!(
                argv,
                &args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            );
            assert_eq!(scenario, "<embedded default>");
        }
        e => panic!("first record: {e:?}"),
    }
    assert_eq!(exit_code(&recs), Some(0));
}

#[test]
fn embedded_default_with_multica_argv() {
    default_session(&[
        "-p",
        "--output-format",
        "stream-json",
        "--input-format",
        "stream-json",
        "--verbose",
        "--permission-mode",
        "bypassPermissions",
        "--disallowedTools",
        "AskUserQuestion",
    ]);
}

#[test]
fn embedded_default_with_ts_sdk_argv() {
    default_session(&[
        "--output-format",
        "stream-json",
        "--verbose",
        "--input-format",
        "stream-json",
        "--permission-prompt-tool=stdio",
        "--model=x",
        "--thinking=adaptive",
        "--setting-sources=",
        "--some-flag-nobody-models",
    ]);
}

#[test]
fn embedded_default_prints_nothing_without_input() {
    let f = Fake::embedded_default();
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------------
// exit codes

#[test]
fn exit_code_after_eof_follows_the_last_result() {
    let cases = [
        // (profile, script, code)
        (
            "2.1.330",
            "- emit: {result: {subtype: error_during_execution}}",
            1,
        ),
        // 2.1.81 interrupted results are is_error:false.
        (
            "2.1.81",
            "- emit: {result: {subtype: error_during_execution}}",
            0,
        ),
        (
            "2.1.330",
            "- emit: {result: {is_error: true, text: \"API Error\"}}",
            1,
        ),
        // A later success result resets it.
        (
            "2.1.330",
            "- emit: {result: {is_error: true}}\n  - emit: {result: {}}",
            0,
        ),
        ("2.1.330", "- emit: {result: {}}", 0),
    ];
    for (profile, script, code) in cases {
        let f = Fake::new(&format!("profile: \"{profile}\"\nscript:\n  {script}\n"));
        let r = f.run("");
        assert_eq!(r.code, Some(code), "{profile} {script}: {}", r.stderr);
        let last = r.msgs().pop().unwrap();
        assert_eq!(last["is_error"], code == 1, "{profile} {script}");
    }
}

// ---------------------------------------------------------------------------------------------
// -v / --version

#[test]
fn version_probe_is_fast_and_recorded() {
    let f = Fake::embedded_default().framing(&[]);
    let t0 = Instant::now();
    let mut cmd = f.cmd();
    cmd.arg("-v");
    let r = f.run_with(cmd, b"");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(r.code, Some(0));
    assert_eq!(r.stdout_str(), "2.1.330 (Claude Code)\n");
    let recs = f.transcript();
    assert_eq!(recs.len(), 2);
    assert!(
        matches!(&recs[0].event, Event::Start { version_probe: true, argv, .. } if argv == &["-v"])
    );
    assert_eq!(exit_code(&recs), Some(0));
}

#[test]
fn version_follows_the_scenario_profile() {
    // The scenario would hang: `-v` must answer without running it.
    let f = Fake::new(
        "name: old\nprofile: \"2.1.81\"   # the CLI bundled with SDK 0.1.50\nscript:\n  - hang: {}\n",
    );
    let mut cmd = f.cmd();
    cmd.arg("--version");
    let r = f.run_with(cmd, b"");
    assert_eq!(
        (r.code, r.stdout_str()),
        (Some(0), "2.1.81 (Claude Code)\n")
    );

    // Scenario from the environment.
    let mut cmd = assert_cmd::Command::new(bin());
    cmd.env("FAKE_CLAUDE_SCENARIO", &f.scenario)
        .env("FAKE_CLAUDE_TRANSCRIPT", &f.transcript)
        .env_remove("FAKE_CLAUDE_PROFILE")
        .arg("-v")
        .timeout(RUN_DEADLINE);
    let r = f.run_with(cmd, b"");
    assert_eq!(
        (r.code, r.stdout_str()),
        (Some(0), "2.1.81 (Claude Code)\n")
    );

    // An explicit profile wins over the scenario's.
    let mut cmd = f.cmd();
    cmd.args(["-v", "--fake-profile", "2.1.330"]);
    let r = f.run_with(cmd, b"");
    assert_eq!(r.stdout_str(), "2.1.330 (Claude Code)\n");

    let recs = f.transcript();
    let invs: Vec<u32> = recs
        .iter()
        .filter(|r| matches!(r.event, Event::Start { .. }))
        .map(|r| r.inv)
        .collect();
    assert_eq!(invs, [1, 2, 3]);
}

#[test]
fn version_probe_with_stdout_closed_does_not_panic() {
    let f = Fake::embedded_default();
    let mut cmd = f.std_cmd();
    cmd.arg("-v");
    let (mut child, _stdin, stdout) = Live::spawn_raw(cmd);
    // The probe's reader is gone before it answers.
    drop(stdout);
    let status = wait_child(&mut child, RUN_DEADLINE).expect("exits");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// signals

#[test]
fn sigterm_exits_143_like_the_real_cli() {
    let f = Fake::new("script:\n  - emit: {json: {type: ready}}\n  - hang: {}\n");
    let mut live = f.live();
    assert_eq!(live.next(), json!({"type": "ready"}));
    signal(live.pid(), Signal::TERM);
    let status = live.wait(RUN_DEADLINE);
    assert_eq!(status.code(), Some(143));
    let recs = f.transcript();
    assert!(find(&recs, |e| matches!(e, Event::Signal { signal, action, .. } if signal == "SIGTERM" && action == "exit")).is_some());
    assert_eq!(exit_code(&recs), Some(143));
}

#[test]
fn sigterm_exits_143_while_blocked_on_an_undrained_stdout() {
    let f = Fake::new("script:\n  - burst: {bytes: 8388608}\n");
    let (mut child, _stdin, mut stdout) = Live::spawn_raw(f.std_cmd());
    let _guard = KillOnDrop(child.id());
    let mut buf = vec![0u8; 1000];
    stdout.read_exact(&mut buf).expect("the burst started");
    // Stop reading: the fake blocks in write(2) (8 MiB cannot fit in the pipe).
    signal(child.id(), Signal::TERM);
    let status = wait_child(&mut child, RUN_DEADLINE).expect("SIGTERM ended the run");
    assert_eq!(status.code(), Some(143));
    assert_eq!(exit_code(&f.transcript()), Some(143));
}

#[test]
fn sigterm_ignored_when_the_scenario_says_so() {
    let f = Fake::new(
        "on_sigterm: ignore\nscript:\n  - emit: {json: {type: ready}}\n  - wait_eof: {}\n",
    );
    let mut live = f.live();
    assert_eq!(live.next(), json!({"type": "ready"}));
    signal(live.pid(), Signal::TERM);
    // Wait (bounded) for the fake to have seen the signal.
    let deadline = Instant::now() + LINE_WAIT;
    while !fake_claude::transcript::read(&f.transcript)
        .unwrap_or_default()
        .iter()
        .any(|r| matches!(&r.event, Event::Signal { action, .. } if action == "ignored"))
    {
        assert!(Instant::now() < deadline, "no `signal` record");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Still alive and serving.
    live.send(&control("c1", json!({"subtype": "interrupt"})));
    assert_eq!(live.next()["response"]["request_id"], "c1");
    let (status, _) = live.finish();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigterm_default_policy_dies_by_the_signal() {
    use std::os::unix::process::ExitStatusExt;
    let f =
        Fake::new("on_sigterm: default\nscript:\n  - emit: {json: {type: ready}}\n  - hang: {}\n");
    let mut live = f.live();
    assert_eq!(live.next(), json!({"type": "ready"}));
    signal(live.pid(), Signal::TERM);
    let status = live.wait(RUN_DEADLINE);
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

// ---------------------------------------------------------------------------------------------
// watchdog

#[test]
fn watchdog_ends_a_hang_with_98() {
    let f = Fake::new("watchdog: 300ms\nscript:\n  - hang: {}\n");
    let mut live = f.live();
    let t0 = Instant::now();
    let status = live.wait(RUN_DEADLINE);
    let took = t0.elapsed();
    assert_eq!(status.code(), Some(98));
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    live.close_stdin();
    let stderr = live.stderr_text();
    assert!(stderr.contains("watchdog fired after 300 ms"), "{stderr}");
    let recs = f.transcript();
    assert!(find(&recs, |e| matches!(e, Event::Watchdog { after_ms: 300 })).is_some());
    assert_eq!(exit_code(&recs), Some(98));
}

#[test]
fn watchdog_fires_while_blocked_writing_to_an_undrained_stdout() {
    let f = Fake::new("watchdog: 400ms\nscript:\n  - burst: {bytes: 4194304}\n");
    let (mut child, _stdin, _stdout) = Live::spawn_raw(f.std_cmd());
    let _guard = KillOnDrop(child.id());
    // Nobody reads stdout: the burst blocks; the watchdog still ends the run.
    let status = wait_child(&mut child, RUN_DEADLINE).expect("watchdog ended the run");
    assert_eq!(status.code(), Some(98));
    let recs = f.transcript();
    assert!(find(&recs, |e| matches!(e, Event::Watchdog { .. })).is_some());
    // The burst never completed, so it has no summary record.
    assert!(stdout_records(&recs).is_empty());
}

// ---------------------------------------------------------------------------------------------
// EPIPE

fn assert_clean_close(f: &Fake, child: &mut std::process::Child) {
    let status = wait_child(child, RUN_DEADLINE).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("fake-claude did not exit after its stdout was closed")
    });
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let recs = f.transcript();
    assert!(find(&recs, |e| matches!(e, Event::StdoutClosed { .. })).is_some());
    assert_eq!(exit_code(&recs), Some(0));
}

#[test]
fn reader_closing_stdout_mid_burst_ends_the_run_cleanly() {
    let f =
        Fake::new("script:\n  - burst: {bytes: 8388608}\n  - emit: {json: {type: unreachable}}\n");
    let (mut child, _stdin, mut stdout) = Live::spawn_raw(f.std_cmd());
    let _guard = KillOnDrop(child.id());
    let mut buf = vec![0u8; 100_000];
    stdout.read_exact(&mut buf).expect("some of the burst");
    assert!(buf.starts_with(b"{\"type\":\"system\",\"subtype\":\"status\""));
    drop(stdout);
    assert_clean_close(&f, &mut child);
}

#[test]
fn reader_gone_before_the_first_write() {
    let f = Fake::new("script:\n  - turn: {}\n");
    let (mut child, mut stdin, stdout) = Live::spawn_raw(f.std_cmd());
    let _guard = KillOnDrop(child.id());
    drop(stdout);
    stdin.write_all(lines(&[user("hi")]).as_bytes()).unwrap();
    drop(stdin);
    assert_clean_close(&f, &mut child);
}

// ---------------------------------------------------------------------------------------------
// transcript

fn canonical(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap().display().to_string()
}

#[test]
fn start_record_has_argv_env_cwd_pid_profile() {
    let f = Fake::new("profile: \"2.1.81\"\nscript: []\n").framing(&[]);
    let mut cmd = f.std_cmd();
    cmd.args([
        "--verbose",
        "--fake-seed",
        "7",
        "--model=x",
        "-p",
        "--fake-unknown=1",
        "hi",
    ])
    .env("CLAUDE_CODE_ENTRYPOINT", "sdk-py")
    .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    .env("UNRELATED_VARIABLE_FOR_TEST", "1");
    let mut live = Live::spawn(cmd);
    let pid = live.pid();
    let (status, _) = live.finish();
    assert_eq!(status.code(), Some(0));
    let recs = f.transcript();
    let Event::Start {
        argv,
        env,
        cwd,
        pid: rec_pid,
        profile,
        scenario,
        version_probe,
        unix_ms,
    } = &recs[0].event
    else {
        panic!("first record is not start: {:?}", recs[0]);
    };
    assert_eq!(argv, &["--verbose", "--model=x", "-p", "hi"]);
    // Its start on the wall clock: within the last minute.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0;
    assert!(
        unix_ms.is_some_and(|u| u <= now_ms && now_ms - u < 60_000.0),
        "{unix_ms:?}"
    );
    assert_eq!(
        env.get("CLAUDE_CODE_ENTRYPOINT").map(String::as_str),
        Some("sdk-py")
    );
    assert_eq!(
        env.get("ANTHROPIC_BASE_URL").map(String::as_str),
        Some("http://127.0.0.1:9")
    );
    assert!(!env.contains_key("UNRELATED_VARIABLE_FOR_TEST"));
    assert_eq!(canonical(Path::new(cwd)), canonical(f.dir.path()));
    assert_eq!(*rec_pid, pid);
    assert_eq!(profile, "2.1.81");
    assert_eq!(scenario, &f.scenario.display().to_string());
    assert!(!version_probe);
    assert_eq!(recs[0].inv, 1);
}

#[test]
fn stdin_records_good_bad_and_binary_lines_and_the_run_goes_on() {
    // `ignore`: read on past lines the real CLI would exit on (see the next test).
    let f = Fake::new("non_json_stdin: ignore\nscript:\n  - turn: {}\n");
    let mut stdin = Vec::new();
    stdin.extend_from_slice(b"{\"type\":\"keep_alive\"}\n");
    stdin.extend_from_slice(b"this is not json\n");
    stdin.extend_from_slice(b"\n");
    stdin.extend_from_slice(&[0xff, 0xfe, b'x', b'\n']);
    stdin.extend_from_slice(lines(&[user("still answered")]).as_bytes());
    stdin.extend_from_slice(b"{\"type\":\"keep_alive\"}");
    let r = f.run_with(f.cmd(), &stdin);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        of_type(&r.msgs(), "result", None)[0]["result"],
        "Reply to prompt 1."
    );
    let recs = f.transcript();
    let ins: Vec<_> = recs
        .iter()
        .filter_map(|r| match &r.event {
            Event::Stdin {
                raw,
                b64,
                msg,
                error,
                unterminated,
                ..
            } => Some((
                raw.clone(),
                b64.clone(),
                msg.clone(),
                error.clone(),
                *unterminated,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(ins.len(), 6, "{ins:#?}");
    assert_eq!(ins[0].2, Some(json!({"type": "keep_alive"})));
    assert!(ins[0].3.is_none());
    assert_eq!(ins[1].0.as_deref(), Some("this is not json"));
    assert!(ins[1].2.is_none());
    assert!(ins[1].3.is_some(), "non-JSON line has an error");
    // A blank line: recorded, neither a message nor an error.
    assert_eq!(ins[2].0.as_deref(), Some(""));
    assert!(ins[2].2.is_none() && ins[2].3.is_none());
    assert!(ins[3].0.is_none());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(ins[3].1.as_deref().unwrap())
        .unwrap();
    assert_eq!(bytes, [0xff, 0xfe, b'x']);
    assert!(ins[3].3.as_deref().unwrap().contains("UTF-8"));
    assert_eq!(
        ins[4].2.as_ref().unwrap()["message"]["content"],
        "still answered"
    );
    assert!(ins[5].4, "last line came without a newline");
    assert!(!ins[4].4);
    let kinds: Vec<&str> = recs
        .iter()
        .rev()
        .take(2)
        .map(|r| match r.event {
            Event::StdinEof => "stdin_eof",
            Event::Exit { .. } => "exit",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["exit", "stdin_eof"]);
}

#[test]
fn probe_then_run_append_to_one_transcript() {
    let f = Fake::new("script:\n  - turn: {}\n");
    let mut probe = f.cmd();
    probe.arg("-v");
    assert_eq!(f.run_with(probe, b"").code, Some(0));
    let r = f.run(&lines(&[user("hi")]));
    assert_eq!(r.code, Some(0));
    let recs = f.transcript();
    let inv1: Vec<_> = recs.iter().filter(|r| r.inv == 1).collect();
    let inv2: Vec<_> = recs.iter().filter(|r| r.inv == 2).collect();
    assert_eq!(inv1.len() + inv2.len(), recs.len());
    assert!(matches!(
        inv1[0].event,
        Event::Start {
            version_probe: true,
            ..
        }
    ));
    assert!(matches!(
        inv1.last().unwrap().event,
        Event::Exit { code: 0 }
    ));
    assert!(matches!(
        inv2[0].event,
        Event::Start {
            version_probe: false,
            ..
        }
    ));
    assert!(matches!(
        inv2.last().unwrap().event,
        Event::Exit { code: 0 }
    ));
    assert!(inv2.iter().any(|r| matches!(r.event, Event::Stdout { .. })));
    // Times restart with each invocation.
    assert!(inv2[0].t < 1.0);
}

#[test]
fn bad_scenario_then_run_keep_invocation_numbers_apart() {
    let f = Fake::new("script:\n  - emitt: {}\n");
    assert_eq!(f.run("").code, Some(2));
    std::fs::write(&f.scenario, "name: ok\nscript: []\n").unwrap();
    assert_eq!(f.run("").code, Some(0));
    let recs = f.transcript();
    let codes: Vec<(u32, i32)> = recs
        .iter()
        .filter_map(|r| match r.event {
            Event::Exit { code } => Some((r.inv, code)),
            _ => None,
        })
        .collect();
    assert_eq!(codes, [(1, 2), (2, 0)]);
}

fn blocked_us_of_burst(f: &Fake) -> u64 {
    stdout_records(&f.transcript())
        .into_iter()
        .find_map(|r| match r.event {
            Event::Stdout {
                burst: Some(_),
                blocked_us,
                ..
            } => Some(blocked_us),
            _ => None,
        })
        .expect("a burst record")
}

#[test]
fn blocked_us_is_large_when_the_reader_stalls() {
    let f = Fake::new("script:\n  - emit: {json: {type: first}}\n  - burst: {bytes: 1048576}\n");
    let (mut child, stdin, mut stdout) = Live::spawn_raw(f.std_cmd());
    let _guard = KillOnDrop(child.id());
    // EOF up front: the fake exits as soon as the burst is out.
    drop(stdin);
    let (first_tx, first_rx) = channel();
    let (go_tx, go_rx) = channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let mut first = Vec::new();
        while !first.ends_with(b"\n") {
            if stdout.read(&mut byte).unwrap_or(0) == 0 {
                break;
            }
            first.push(byte[0]);
        }
        let _ = first_tx.send(first);
        // Deliberately stop reading until told to go on.
        let _ = go_rx.recv_timeout(Duration::from_secs(30));
        let mut rest = Vec::new();
        let _ = stdout.read_to_end(&mut rest);
        rest.len()
    });
    let first = first_rx.recv_timeout(LINE_WAIT).expect("first line");
    assert_eq!(first, b"{\"type\":\"first\"}\n");
    std::thread::sleep(Duration::from_millis(800));
    go_tx.send(()).unwrap();
    let status = wait_child(&mut child, RUN_DEADLINE).expect("exits once drained");
    assert_eq!(status.code(), Some(0));
    assert!(reader.join().unwrap() >= 1 << 20);
    let blocked = blocked_us_of_burst(&f);
    assert!(blocked >= 400_000, "blocked_us {blocked}");
}

#[test]
fn blocked_us_is_small_when_the_reader_drains() {
    let f = Fake::new("script:\n  - emit: {json: {type: one}}\n  - burst: {count: 3}\n");
    let r = f.run("");
    assert_eq!(r.code, Some(0));
    let recs = f.transcript();
    let blocked: Vec<u64> = stdout_records(&recs)
        .iter()
        .map(|r| match r.event {
            Event::Stdout { blocked_us, .. } => blocked_us,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(blocked.len(), 2);
    assert!(blocked.iter().all(|b| *b < 250_000), "{blocked:?}");
}

#[test]
fn control_records_for_default_answers() {
    let f = Fake::new("script: []\n");
    let r = f.run(&lines(&[
        initialize("i"),
        control("x", json!({"subtype": "nope"})),
    ]));
    assert_eq!(r.code, Some(0));
    let recs = f.transcript();
    let ctl: Vec<(String, String, String)> = recs
        .iter()
        .filter_map(|r| match &r.event {
            Event::Control {
                request_id,
                subtype,
                action,
            } => Some((request_id.clone(), subtype.clone(), action.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        ctl,
        [
            ("i".into(), "initialize".into(), "answered".into()),
            ("x".into(), "nope".into(), "answered".into())
        ]
    );
    // Each answer's stdout record says which handler wrote it.
    let by: Vec<Option<String>> = stdout_records(&recs)
        .iter()
        .map(|r| match &r.event {
            Event::Stdout { by, .. } => by.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(
        by,
        [
            Some("handler:initialize".to_string()),
            Some("handler:nope".to_string())
        ]
    );
    let _: Vec<Value> = r.msgs();
}

// ---------------------------------------------------------------------------------------------
// fake-claude's own flags

#[test]
fn bad_fake_flags_exit_2_instead_of_being_ignored() {
    let f = Fake::new("script:\n  - emit: {json: {type: ran}}\n");
    for (args, env, needle) in [
        (
            &["--fake-profile", "2.1.18"][..],
            None,
            "unknown profile `2.1.18`",
        ),
        (
            &[][..],
            Some(("FAKE_CLAUDE_PROFILE", "latest")),
            "unknown profile `latest`",
        ),
        (&["--fake-seed=abc"][..], None, "seed `abc`"),
        (&[][..], Some(("FAKE_CLAUDE_SEED", "-1")), "seed `-1`"),
        (
            &["--fake-profile"][..],
            None,
            "--fake-profile needs a value",
        ),
        (&["-v", "--fake-profile=x"][..], None, "unknown profile `x`"),
    ] {
        let mut cmd = f.cmd();
        cmd.args(args);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let r = f.run_with(cmd, lines(&[user("hi")]).as_bytes());
        assert_eq!(r.code, Some(2), "{args:?} {env:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout_str());
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        r.assert_no_panic();
    }
}

#[test]
fn seed_makes_ids_repeatable() {
    let ids = |seed: &str| {
        // A fresh directory each time: a session store already holding the id would make the
        // new session take another (see `a_new_session_never_takes_a_stored_id`).
        let f = Fake::new("script:\n  - turn: {}\n");
        let mut cmd = f.cmd();
        cmd.args(["--fake-seed", seed]);
        let r = f.run_with(cmd, lines(&[user("hi")]).as_bytes());
        assert_eq!(r.code, Some(0));
        let m = r.msgs();
        (m[0]["session_id"].clone(), m[0]["uuid"].clone())
    };
    assert_eq!(ids("42"), ids("42"));
    assert_ne!(ids("42"), ids("43"));
}

#[test]
fn unwritable_transcript_path_exits_2() {
    let f = Fake::new("script: []\n");
    let mut cmd = f.cmd();
    cmd.arg("--fake-transcript=/nonexistent/dir/t.jsonl");
    let r = f.run_with(cmd, b"");
    assert_eq!(r.code, Some(2));
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .contains("cannot open transcript /nonexistent/dir/t.jsonl"),
        "{}",
        r.stderr
    );
}

#[test]
fn record_help_prints_the_usage() {
    let out = std::process::Command::new(bin())
        .args(["record", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: fake-claude record"));
}
