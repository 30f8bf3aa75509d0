//! No run hangs the harness, whatever the supervisor does. Each test runs a misbehaving adapter
//! (a small sh script) through the runner and checks three things: the run ends within its
//! deadline (or, for an adapter that exits, its teardown bound) plus a bounded grace; it gets
//! the right verdict; and no process of the run is left in the process table — found by a
//! marker in the definition's environment, by the fake's pids in the transcript, and by the pids
//! the adapter wrote down.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fake_claude::transcript::Event;
use harness::artifacts::{AdapterExit, RunArtifacts};
use harness::suite::{self, Case};
use harness::supervisor::{self, Context};
use harness::verdict::Verdict;
use harness::{judge, procs, runner};

/// How much longer than its deadline (or teardown bound) a run may take to be over: the
/// runner's kill, reap and pipe draining, all bounded, on a loaded machine.
const GRACE: Duration = Duration::from_secs(4);
const TEARDOWN: &str = "1s";

static N: AtomicU32 = AtomicU32::new(0);

struct Setup {
    ctx: Context,
    dir: tempfile::TempDir,
    marker: String,
}

fn setup() -> Setup {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf();
    let marker = format!(
        "NO_HANG_TEST={}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    Setup {
        ctx: Context {
            root,
            harness_bin: PathBuf::from(env!("CARGO_BIN_EXE_harness")),
        },
        dir: tempfile::tempdir().expect("temp dir"),
        marker,
    }
}

/// A one-turn scenario with a short turn timeout (so the run deadline is short), plus `extra`
/// top-level YAML and `script`.
fn case(s: &Setup, extra: &str, script: &str) -> Case {
    let path = s.dir.path().join("scenario.yaml");
    let yaml = format!(
        "name: no-hang\n{extra}drive:\n  turn_timeout: 500ms\n  turns:\n    - prompt: Hello\n\
         expect:\n  turns:\n    - status: completed\nscript:\n{script}"
    );
    std::fs::write(&path, yaml).expect("write scenario");
    let mut cases = suite::load_cases(vec![("no-hang".into(), path)]).expect("scenario loads");
    cases.remove(0)
}

const ONE_TURN: &str = "  - turn: {}\n";

/// Run `adapter` (sh) as a supervisor on `case`; returns the artifacts, the verdict and how
/// long the run took, after checking that nothing of it is left alive.
fn run(s: &Setup, adapter: &str, case: &Case) -> (RunArtifacts, Verdict, Duration) {
    let script = s.dir.path().join("adapter.sh");
    std::fs::write(&script, adapter).expect("write adapter");
    let (name, value) = s.marker.split_once('=').expect("NAME=value");
    let yaml = format!(
        "name: misbehaving\ncommand: [/bin/sh, \"{{dir}}/adapter.sh\"]\n\
         env: {{{name}: \"{value}\"}}\ntimeouts: {{run: 2s, teardown: {TEARDOWN}}}\n"
    );
    let sup = supervisor::load_str(&yaml, "misbehaving.yaml", s.dir.path(), None)
        .expect("definition loads");
    let start = Instant::now();
    let run = runner::run(&s.ctx, &sup, case).expect("the runner itself works");
    let took = start.elapsed();
    let verdict = judge::judge(&run, &case.loaded);
    assert_nothing_left(s, &run);
    (run, verdict, took)
}

/// No process carries the test's marker; the fake's pids (transcript `start` records) and every
/// pid the adapter wrote to `<run dir>/pids` are gone.
fn assert_nothing_left(s: &Setup, run: &RunArtifacts) {
    let marked = procs::scan(&[s.marker.as_str()], None);
    assert!(marked.is_empty(), "processes of the run left: {marked:?}");
    let mut pids: Vec<i32> = run
        .transcript
        .iter()
        .filter_map(|r| match &r.event {
            Event::Start { pid, .. } | Event::Spawned { pid } => Some(*pid as i32),
            _ => None,
        })
        .collect();
    pids.extend(written_pids(&run.dir));
    for pid in pids {
        assert!(
            procs::start_time(pid).is_none() || procs::is_zombie(pid),
            "pid {pid} of the run is still alive"
        );
    }
}

fn written_pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("pids"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn deadline(s: &Setup, case: &Case) -> Duration {
    let yaml = format!("name: x\ncommand: [x]\ntimeouts: {{run: 2s, teardown: {TEARDOWN}}}\n");
    let sup = supervisor::load_str(&yaml, "x.yaml", s.dir.path(), None).expect("definition");
    runner::run_deadline(&sup, case)
}

fn violated(v: &Verdict) -> Vec<&str> {
    v.violations.iter().map(|v| v.id.as_str()).collect()
}

/// The adapter must have been killed at the deadline, no later than the grace allows, and the
/// verdict must say so.
fn assert_killed_at_deadline(
    s: &Setup,
    case: &Case,
    run: &RunArtifacts,
    v: &Verdict,
    took: Duration,
) {
    let limit = deadline(s, case);
    assert_eq!(run.adapter_exit, AdapterExit::Deadline, "{v:?}");
    assert!(
        took >= limit,
        "ended at {took:?}, before its deadline {limit:?}"
    );
    assert!(took <= limit + GRACE, "took {took:?}, deadline {limit:?}");
    assert!(violated(v).contains(&"no-timeout"), "{v:?}");
}

/// The CLI, started the way an SDK starts it, with a stdin that stays open and never says
/// anything (a `sleep` holds the pipe's write end); its pid goes to `<run dir>/pids`.
const START_CLI_SILENT: &str = r#"sleep 1000 | "$HARNESS_CLI" --output-format stream-json --input-format stream-json --verbose >/dev/null 2>&1 &
echo $! >> "$HARNESS_RUN_DIR/pids"
"#;

#[test]
fn an_adapter_that_ignores_sigterm_and_never_exits_is_killed_at_the_deadline() {
    let s = setup();
    // The CLI ignores SIGTERM too.
    let case = case(&s, "on_sigterm: ignore\n", ONE_TURN);
    let adapter = format!(
        "trap '' TERM INT HUP\necho $$ >> \"$HARNESS_RUN_DIR/pids\"\n{START_CLI_SILENT}\
         while :; do wait; sleep 1; done\n"
    );
    let (run, v, took) = run(&s, &adapter, &case);
    assert_killed_at_deadline(&s, &case, &run, &v, took);
    assert!(
        run.transcript
            .iter()
            .any(|r| matches!(r.event, Event::Start { .. })),
        "the CLI was started"
    );
}

#[test]
fn an_adapter_that_never_exits_is_killed_at_the_deadline() {
    let s = setup();
    let case = case(&s, "", ONE_TURN);
    let adapter = format!("{START_CLI_SILENT}exec sleep 1000\n");
    let (run, v, took) = run(&s, &adapter, &case);
    assert_killed_at_deadline(&s, &case, &run, &v, took);
    // Killed at the deadline, it wrote no report: that is the adapter's fault too.
    assert!(violated(&v).contains(&"report-valid"), "{v:?}");
}

#[test]
fn an_adapter_that_never_reads_the_clis_output_is_killed_at_the_deadline() {
    let s = setup();
    // The CLI answers with a burst far larger than a pipe holds, and blocks writing it.
    let case = case(&s, "", "  - burst: {bytes: 4194304}\n  - turn: {}\n");
    let adapter = r#"{ printf '%s\n' '{"type":"user","message":{"role":"user","content":"Hello"},"parent_tool_use_id":null,"session_id":"default"}'; sleep 1000; } \
  | "$HARNESS_CLI" --output-format stream-json --input-format stream-json --verbose 2>/dev/null | sleep 1000 &
wait
"#;
    let (run, v, took) = run(&s, adapter, &case);
    assert_killed_at_deadline(&s, &case, &run, &v, took);
    let started = run
        .transcript
        .iter()
        .any(|r| matches!(r.event, Event::Start { .. }));
    assert!(started, "the CLI was started");
    // The burst never completed: its summary record is only written once it is all out.
    assert!(
        !run.transcript
            .iter()
            .any(|r| matches!(r.event, Event::Stdout { burst: Some(_), .. })),
        "the burst was not drained, so it cannot have finished"
    );
}

#[test]
fn an_adapter_waiting_on_its_own_stdin_gets_eof_at_once() {
    let s = setup();
    let case = case(&s, "", ONE_TURN);
    // The runner gives adapters /dev/null: reading stdin to the end returns at once.
    let adapter = "cat >/dev/null\necho '{\"type\":\"end\",\"status\":\"error\",\"error\":\"nothing to do\"}'\n";
    let (run, v, took) = run(&s, adapter, &case);
    assert_eq!(run.adapter_exit, AdapterExit::Code(0));
    assert!(took < deadline(&s, &case), "took {took:?}");
    assert!(!v.passed(), "the turn was never reported: {v:?}");
    assert!(!violated(&v).contains(&"no-timeout"), "{v:?}");
}

#[test]
fn an_adapter_flooding_stderr_is_killed_at_the_deadline_with_a_bounded_tail() {
    let s = setup();
    let case = case(&s, "", ONE_TURN);
    // 64 MiB of stderr (bounded, so the test stays cheap), then it hangs.
    let adapter = "head -c 67108864 /dev/zero | tr '\\0' 'e' >&2\necho END >&2\nexec sleep 1000\n";
    let (run, v, took) = run(&s, adapter, &case);
    assert_killed_at_deadline(&s, &case, &run, &v, took);
    assert!(
        run.stderr_tail.len() <= runner::STDERR_TAIL,
        "{}",
        run.stderr_tail.len()
    );
    assert!(
        run.stderr_tail.ends_with("eeeeEND\n"),
        "the tail is the last bytes"
    );
}

/// The reference supervisor does the work; before it starts, the adapter leaves a grandchild
/// that holds its stdout. `scrub`: the grandchild also drops its environment (no marker) and
/// starts a session of its own (no group): only the pipe it holds gives it away.
fn grandchild_holding_stdout(scrub: bool) {
    let s = setup();
    let case = case(&s, "", ONE_TURN);
    let escape = if scrub { "env -i setsid " } else { "" };
    let adapter = format!(
        "{escape}sleep 1000 2>/dev/null &\necho $! >> \"$HARNESS_RUN_DIR/pids\"\n\
         exec \"{}\" reference-supervisor --policy foreground-only\n",
        s.ctx.harness_bin.display()
    );
    let (run, v, took) = run(&s, &adapter, &case);
    assert_eq!(run.adapter_exit, AdapterExit::Code(0), "{v:?}");
    let bound = Duration::from_secs(1);
    assert!(
        took <= run.duration + bound + GRACE,
        "took {took:?} (adapter {:?})",
        run.duration
    );
    let grandchild = written_pids(&run.dir)[0];
    assert!(
        run.leftovers.iter().any(|l| l.pid as i32 == grandchild),
        "{:?}",
        run.leftovers
    );
    // The turn itself went right; the leftover is the only fault.
    let mut ids = violated(&v);
    ids.dedup();
    assert_eq!(ids, ["bounded-teardown"], "{v:?}");
    if scrub {
        // Invisible to the teardown scan (which would have waited out the bound for it).
        assert!(run.teardown < bound, "teardown {:?}", run.teardown);
    }
}

#[test]
fn a_grandchild_holding_stdout_is_a_leftover_and_killed() {
    grandchild_holding_stdout(false);
}

#[test]
fn a_grandchild_that_escaped_group_and_markers_is_found_by_the_pipe_it_holds() {
    grandchild_holding_stdout(true);
}
