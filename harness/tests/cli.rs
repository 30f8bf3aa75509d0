//! The `harness` binary and the runner, end to end with toy supervisors written as shell
//! one-liners: deadlines, leftovers, the multi-call fake, skipping, formats, exit codes. Nothing
//! here depends on what the judge decides, only on what the harness itself must do.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use fake_claude::transcript::Event;
use harness::artifacts::AdapterExit;
use harness::suite::Case;
use harness::supervisor::{self, Context};
use harness::{procs, runner};

mod common;
use common::{HARNESS, root};

fn harness(args: &[&str], cwd: &Path) -> Output {
    common::harness_within(args, cwd, Duration::from_secs(120))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A temp dir with a `supervisor.yaml` and a scenario file.
fn toy(supervisor_yaml: &str, scenario_yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("supervisor.yaml"), supervisor_yaml).unwrap();
    std::fs::write(dir.path().join("toy.yaml"), scenario_yaml).unwrap();
    dir
}

const HANG: &str = "name: hang\ndrive: {turns: [{prompt: hi}]}\nscript:\n  - hang: {}\n";

#[test]
fn multi_call_fake_claude_answers_the_version_probe() {
    let out = harness(&["fake-claude", "-v"], &root());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(Claude Code)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn validate_accepts_the_seeds_and_reference_files_and_rejects_bad_ones() {
    let out = harness(&["validate", "scenarios", "supervisors/reference"], &root());
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("ok: supervisors/reference/supervisor.yaml"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: x\nscript:\n  - emitt: {}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("supervisor.yaml"), "name: s\ncommand: []\n").unwrap();
    let out = harness(&["validate", dir.path().to_str().unwrap()], &root());
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("bad.yaml:3:"), "{stdout}");
    assert!(stdout.contains("`command`"), "{stdout}");
    assert!(stdout.contains("2 of 2 file(s) have errors"), "{stdout}");
}

#[test]
fn usage_errors_exit_2() {
    let out = harness(&["suite", "--supervisor", "no-such-supervisor"], &root());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown supervisor `no-such-supervisor`"));
    let out = harness(&["run", "no/such/scenario"], &root());
    assert_eq!(out.status.code(), Some(2));
    let out = harness(&["suite", "--format", "yaml"], &root());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_hanging_adapter_is_killed_at_the_deadline() {
    let dir = toy(
        "name: sleeper\ncommand: [sleep, '600']\ntimeouts: {run: 1s, teardown: 1s}\n",
        "name: quick\ndrive: {turns: [{prompt: hi}], turn_timeout: 100}\nscript:\n  - turn: {}\n",
    );
    let start = Instant::now();
    let out = harness(
        &["run", "toy.yaml", "--supervisor", "./supervisor.yaml"],
        dir.path(),
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("killed at the run deadline"), "{stdout}");
    assert!(stdout.contains("report problem: empty report"), "{stdout}");
}

#[test]
fn skipped_cells_and_json_format() {
    let dir = toy(
        "name: oneshot\ncommand: [sh, -c, 'echo garbage']\ncapabilities: [one-shot]\n",
        "name: needs\nrequires: [multi-turn]\ndrive: {turns: [{prompt: a}, {prompt: b}]}\nscript: []\n",
    );
    let out = harness(
        &[
            "suite",
            "-q",
            "--format",
            "json",
            "--supervisor",
            "./",
            "toy.yaml",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cells"][0]["outcome"], "skipped");
    assert_eq!(v["cells"][0]["scenario"], "toy");
    assert!(
        v["cells"][0]["skip_reason"]
            .as_str()
            .unwrap()
            .contains("multi-turn")
    );
    assert_eq!(v["summary"]["skipped"], 1);
}

fn toy_case(dir: &Path) -> Case {
    let path = dir.join("toy.yaml");
    Case {
        id: "toy".into(),
        loaded: fake_claude::scenario::load_file(&path).unwrap(),
        path,
    }
}

fn ctx() -> Context {
    Context {
        root: root(),
        harness_bin: PathBuf::from(HARNESS),
    }
}

#[test]
fn a_fake_left_running_in_another_session_is_a_leftover_and_gets_killed() {
    // The adapter starts the CLI in a new session (out of its process group), reports, and
    // exits without stopping it: only the run marker can find it.
    let dir = toy(
        r#"name: leaky
command: [sh, -c, 'setsid "$HARNESS_CLI" --output-format stream-json --verbose --input-format stream-json </dev/null >/dev/null 2>&1 & sleep 0.3; echo "{\"type\":\"end\",\"status\":\"ok\"}"']
timeouts: {teardown: 300ms}
"#,
        HANG,
    );
    let sup = supervisor::load_path(&dir.path().join("supervisor.yaml")).unwrap();
    let run = runner::run(&ctx(), &sup, &toy_case(dir.path())).unwrap();
    assert_eq!(run.adapter_exit, AdapterExit::Code(0));
    assert!(run.report.end.is_some(), "{:?}", run.report);
    assert_eq!(run.leftovers.len(), 1, "{:?}", run.leftovers);
    assert!(run.leftovers[0].from_fake);
    assert!(
        run.leftovers[0].command.contains("fake-claude"),
        "{:?}",
        run.leftovers
    );
    assert!(run.teardown >= Duration::from_millis(300));
    // The wrapper pinned scenario and transcript, and passed the supervisor's flags on.
    let Event::Start { argv, scenario, .. } = &run.transcript[0].event else {
        panic!("first record: {:?}", run.transcript[0]);
    };
    assert_eq!(
        argv,
        &[
            "--output-format",
            "stream-json",
            "--verbose",
            "--input-format",
            "stream-json"
        ]
    );
    assert_eq!(Path::new(scenario), run.dir.join("scenario.yaml"));
    for f in [
        "plan.json",
        "scenario.yaml",
        "bin/claude",
        "report.jsonl",
        "stderr.tail.txt",
    ] {
        assert!(run.dir.join(f).exists(), "{f}");
    }
    let marker = std::fs::read_to_string(run.dir.join("bin/claude")).unwrap();
    let id = marker
        .lines()
        .find_map(|l| l.strip_prefix("FAKE_CLAUDE_RUN_ID="))
        .unwrap()
        .trim_matches('\'');
    assert!(procs::scan(&[&format!("FAKE_CLAUDE_RUN_ID={id}")], None).is_empty());
    std::fs::remove_dir_all(&run.dir).unwrap();
}

#[test]
fn a_clean_adapter_leaves_nothing_and_its_report_is_parsed() {
    // Runs the fake one-shot through PATH (`claude -p hi`), with stdin closed: it answers, exits.
    let dir = toy(
        r#"name: tidy
command: [sh, -c, 'claude -p hi </dev/null >/dev/null; echo "{\"type\":\"turn\",\"index\":0,\"status\":\"completed\",\"output\":\"x\"}"; echo "{\"type\":\"end\",\"status\":\"ok\",\"cli_exit_code\":0}"']
cli: {via: path}
"#,
        "name: idle\ndrive: {turns: [{prompt: hi}]}\nscript: []\n",
    );
    let sup = supervisor::load_path(&dir.path().join("supervisor.yaml")).unwrap();
    let run = runner::run(&ctx(), &sup, &toy_case(dir.path())).unwrap();
    assert!(run.leftovers.is_empty(), "{:?}", run.leftovers);
    assert_eq!(run.report.problems, Vec::<String>::new());
    assert_eq!(run.report.turns[0].output.as_deref(), Some("x"));
    assert!(matches!(
        run.transcript.last().unwrap().event,
        Event::Exit { code: 0 }
    ));
    assert_eq!(run.plan["mode"], "one_shot");
    std::fs::remove_dir_all(&run.dir).unwrap();
}
