//! `fake-claude record` end to end: a supervisor (the reference) drives a stand-in CLI
//! (fake-claude playing a library scenario) through the recorder; the recorded scenario is then
//! replayed under the same supervisor and plan, and both sessions must be the same after
//! redaction — every message each side wrote, in order, the stderr text and the exit code.
//! Also: the proxy passes bytes, exit codes and signals through unchanged; `harness import`ed
//! real-CLI sessions replay against the reference supervisor and pass.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fake_claude::transcript::{self, Event};
use harness::normalize::Redactor;
use harness::procs;
use serde_json::Value;

mod common;
use common::{HARNESS, not_passed, root};

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn q(p: &Path) -> String {
    format!("'{}'", p.display())
}

/// The reference supervisor on `cli` with `plan`; its report (stdout).
fn drive(cli: &Path, plan: &Path, policy: &str, cwd: &Path) -> String {
    let mut cmd = Command::new(HARNESS);
    cmd.args(["reference-supervisor", "--policy", policy, "--cli"])
        .arg(cli)
        .arg("--plan")
        .arg(plan)
        .current_dir(cwd);
    let f = procs::run_bounded(cmd, Duration::from_secs(60)).unwrap();
    assert!(
        f.status.is_some(),
        "the supervisor hit the test deadline: {}",
        String::from_utf8_lossy(&f.stderr)
    );
    String::from_utf8_lossy(&f.stdout).into_owned()
}

/// What each side said in a fake-claude transcript, redacted: the supervisor's messages (no
/// keep_alives), the CLI's messages, its stderr, and how it exited. One redactor takes the
/// supervisor's side first, then the CLI's, so an id the CLI echoes gets the placeholder of the
/// supervisor's message it came from (whatever order the two sides interleaved in).
fn conversation(path: &Path, dirs: &[PathBuf]) -> (Vec<Value>, Vec<Value>, String, Vec<i32>) {
    let recs = transcript::read(path).unwrap();
    let (mut sup, mut cli, mut err, mut exits) = (vec![], vec![], String::new(), vec![]);
    for rec in &recs {
        match &rec.event {
            Event::Stdin { msg: Some(m), .. } if m["type"] != "keep_alive" => sup.push(m.clone()),
            Event::Stdout {
                msgs: Some(msgs), ..
            } => cli.extend(msgs.iter().cloned()),
            Event::Stderr { text: Some(t), .. } => err.push_str(t),
            Event::Exit { code } => exits.push(*code),
            _ => {}
        }
    }
    let mut r = Redactor::with_dirs(dirs);
    let sup = sup.iter().map(|m| r.value(m)).collect();
    let cli = cli.iter().map(|m| r.value(m)).collect();
    (sup, cli, err, exits)
}

fn redacted_report(report: &str, dirs: &[PathBuf]) -> Vec<Value> {
    let mut r = Redactor::with_dirs(dirs);
    report
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| r.value(&v))
        .collect()
}

/// Record `scenario` under the reference with `policy`, replay the recording, compare.
fn round_trip(scenario: &str, policy: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let source = root().join("scenarios").join(format!("{scenario}.yaml"));
    let loaded = fake_claude::scenario::load_file(&source).unwrap();
    let plan = d.join("plan.json");
    let p = harness::plan::build(scenario, &loaded.scenario.drive);
    std::fs::write(&plan, serde_json::to_vec(&p).unwrap()).unwrap();

    let (original, recorded, replayed) = (
        d.join("original.jsonl"),
        d.join("recorded.yaml"),
        d.join("replayed.jsonl"),
    );
    let standin = d.join("standin");
    script(
        &standin,
        &format!(
            "exec {} fake-claude --fake-scenario {} --fake-transcript {} \"$@\"",
            q(Path::new(HARNESS)),
            q(&source),
            q(&original)
        ),
    );
    let recorder = d.join("recorder");
    script(
        &recorder,
        &format!(
            "exec {} fake-claude record --out {} -- {} \"$@\"",
            q(Path::new(HARNESS)),
            q(&recorded),
            q(&standin)
        ),
    );
    let replay = d.join("replay");
    script(
        &replay,
        &format!(
            "exec {} fake-claude --fake-scenario {} --fake-transcript {} \"$@\"",
            q(Path::new(HARNESS)),
            q(&recorded),
            q(&replayed)
        ),
    );
    let report1 = drive(&recorder, &plan, policy, d);
    let yaml = std::fs::read_to_string(&recorded).expect("the recorder wrote a scenario");
    fake_claude::scenario::load_str(&yaml, "recorded.yaml")
        .unwrap_or_else(|e| panic!("the recorded scenario does not load: {e}\n{yaml}"));
    let report2 = drive(&replay, &plan, policy, d);

    let dirs = [d.to_path_buf()];
    let a = conversation(&original, &dirs);
    let b = conversation(&replayed, &dirs);
    assert!(!a.1.is_empty(), "the stand-in wrote nothing");
    assert_eq!(a.0, b.0, "the supervisor's messages differ\n{yaml}");
    assert_eq!(a.1, b.1, "the CLI's messages differ\n{yaml}");
    assert_eq!(a.2, b.2, "stderr differs");
    assert_eq!(a.3, b.3, "exit codes differ");
    assert_eq!(
        redacted_report(&report1, &dirs),
        redacted_report(&report2, &dirs),
        "the supervisor's reports differ"
    );
}

#[test]
fn permission_requests_round_trip() {
    round_trip("control/permission-foreground", "foreground-only");
}

#[test]
fn injected_turns_round_trip() {
    round_trip("seed/cross-turn-notification", "background-aware");
}

#[test]
fn interrupts_round_trip() {
    round_trip("control/interrupt-acknowledged", "foreground-only");
}

#[test]
fn prompts_while_busy_round_trip() {
    round_trip("turns/prompt-while-busy", "foreground-only");
}

#[test]
fn crashes_round_trip() {
    round_trip("process/crash-mid-turn", "foreground-only");
}

#[test]
fn the_proxy_passes_bytes_and_exit_codes_through() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s.yaml");
    let mut cmd = Command::new(HARNESS);
    cmd.args(["fake-claude", "record", "--out"])
        .arg(&out)
        .args([
            "--",
            "sh",
            "-c",
            r#"cat; printf '\377\376 no newline'; printf 'to stderr\n' >&2; exit 3"#,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    let input = b"{\"type\":\"user\",\"message\":{\"content\":\"hi\"}}\nraw \xff bytes\n";
    child.stdin.take().unwrap().write_all(input).unwrap();
    let o = child.wait_with_output().unwrap();
    let mut want = input.to_vec();
    want.extend_from_slice(b"\xff\xfe no newline");
    assert_eq!(o.stdout, want);
    assert_eq!(o.stderr, b"to stderr\n");
    assert_eq!(o.status.code(), Some(3));
    let yaml = std::fs::read_to_string(&out).unwrap();
    fake_claude::scenario::load_str(&yaml, "s.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert!(yaml.contains("- exit: 3"), "{yaml}");
    assert!(yaml.contains("raw: {hex: \"ff fe 20 6e"), "{yaml}");
}

#[test]
fn the_proxy_forwards_signals_and_dies_as_the_cli_did() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s.yaml");
    let ready = tmp.path().join("ready");
    // The CLI traps SIGTERM and exits 7; then one that dies by SIGKILL on its own.
    let body = format!(
        "trap 'echo got TERM; exit 7' TERM; touch {}; sleep 30 & wait",
        q(&ready)
    );
    let child = Command::new(HARNESS)
        .args(["fake-claude", "record", "--out"])
        .arg(&out)
        .args(["--", "sh", "-c", &body])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !ready.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the CLI never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    procs::kill_pid(child.id() as i32, rustix::process::Signal::TERM);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(7));
    assert_eq!(o.stdout, b"got TERM\n");
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(yaml.contains("on_sigterm: ignore"), "{yaml}");

    let o = Command::new(HARNESS)
        .args(["fake-claude", "record", "--out"])
        .arg(&out)
        .args(["--", "sh", "-c", "kill -9 $$"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.signal(), Some(9));
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(yaml.contains("- kill: SIGKILL"), "{yaml}");
}

#[test]
fn version_probes_pass_through_without_a_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s.yaml");
    let claude = tmp.path().join("claude");
    script(
        &claude,
        &format!("exec {} fake-claude \"$@\"", q(Path::new(HARNESS))),
    );
    let o = Command::new(HARNESS)
        .args(["fake-claude", "record", "--out"])
        .arg(&out)
        .arg("--")
        .arg(&claude)
        .arg("-v")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("(Claude Code)"));
    assert!(!out.exists());
}

#[test]
fn usage_errors_exit_2() {
    let o = Command::new(HARNESS)
        .args(["fake-claude", "record", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out is required"));
}

/// Real-CLI sessions (copied from the project's reference captures into
/// `tests/fixtures/transcripts/`) imported as scenarios replay against the reference supervisor
/// and pass: with the background-aware policy all of them; with foreground-only those that need
/// no background task (the others are skipped by their `requires`).
#[test]
fn imported_real_sessions_replay_against_the_reference() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transcripts");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("imported");
    std::fs::create_dir(&dir).unwrap();
    let mut n = 0;
    for f in std::fs::read_dir(&fixtures).unwrap().flatten() {
        let path = f.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let out = dir.join(path.with_extension("yaml").file_name().unwrap());
        let o = Command::new(HARNESS)
            .arg("import")
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        n += 1;
    }
    assert!(n >= 10, "only {n} fixtures");
    let mut cmd = Command::new(HARNESS);
    cmd.args(["suite", "-q", "--format", "json", "--jobs", "4"])
        .args([
            "--supervisor",
            "reference-background",
            "--supervisor",
            "reference",
        ])
        .arg(&dir)
        .env("HARNESS_ROOT", root());
    let f = procs::run_bounded(cmd, Duration::from_secs(300)).unwrap();
    let report: Value = serde_json::from_slice(&f.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&f.stderr)));
    let s = &report["summary"];
    let failed = not_passed(&report);
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(
        s["passed"].as_u64().unwrap() + s["skipped"].as_u64().unwrap(),
        2 * n
    );
    assert!(s["passed"].as_u64().unwrap() >= n + 5, "{s}");
}
