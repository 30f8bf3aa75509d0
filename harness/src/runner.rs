//! One run of one supervisor on one scenario. Everything happens in a fresh directory:
//!
//! ```text
//! <run dir>/plan.json          the drive plan (HARNESS_PLAN)
//!           scenario.yaml      the scenario, as given
//!           bin/claude         wrapper: exec fake-claude with scenario + transcript pinned
//!           transcript.jsonl   what the fake saw and did (every invocation)
//!           report.jsonl       the adapter's stdout, as printed
//!           stderr.tail.txt    the last 8 KiB of the adapter's stderr
//! ```
//! The adapter runs in its own process group under a hard deadline. When it has exited (or was
//! killed at the deadline), every process of the run — anything carrying the run's
//! `FAKE_CLAUDE_RUN_ID` marker (the fake and whatever it spawned, whichever group it is in) and
//! anything left in the adapter's group — gets the supervisor's teardown bound to disappear;
//! what is still there is a [`Leftover`], and is then killed.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use fake_claude::transcript::Record;
use rustix::process::Signal;

use crate::artifacts::{AdapterExit, Leftover, RunArtifacts};
use crate::procs;
use crate::suite::Case;
use crate::supervisor::{CliVia, Context, Supervisor, Vars};
use crate::{plan, report};

/// The adapter's stdout is kept in memory up to this size; the rest is drained and dropped.
pub const REPORT_LIMIT: usize = 64 << 20;
/// How much of the adapter's stderr is kept.
pub const STDERR_TAIL: usize = 8 << 10;
/// The environment variable the wrapper exports so the fake and its descendants can be found
/// (whatever environment the supervisor gave the CLI).
pub const RUN_ID_VAR: &str = "FAKE_CLAUDE_RUN_ID";
/// The same id in the adapter's own environment: it also marks what the adapter starts, and
/// the wrapper shell before it `exec`s the fake.
pub const ADAPTER_RUN_ID_VAR: &str = "HARNESS_RUN_ID";
/// `/proc` cannot see a process's new environment for a moment during `execve`; a scan that
/// found nobody but could not read some process's environment looks at those again this much
/// later before the run counts as torn down.
const EXEC_GRACE: Duration = Duration::from_millis(10);
/// After teardown, how long the capture threads get to see EOF on pipes nobody holds.
const PIPE_SETTLE: Duration = Duration::from_millis(200);

static RUNS: AtomicU64 = AtomicU64::new(0);

/// Writing an executable (the `bin/claude` wrapper) excludes forking in this process: a child
/// forked by another worker while the file is open for writing inherits the descriptor until it
/// execs, and executing the wrapper in that window fails with ETXTBSY ("Text file busy") — seen
/// under parallel `harness fuzz`. Spawns share the lock; writes take it alone.
static FORK_LOCK: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Run `case` under `sup`. `Err` only for harness-side trouble (cannot create the run dir);
/// anything the adapter does — crash, hang, garbage — ends up in the artifacts.
pub fn run(ctx: &Context, sup: &Supervisor, case: &Case) -> Result<RunArtifacts, String> {
    let dir = make_run_dir(&sup.name, &case.id)?;
    let run_id = run_id();
    let drive = &case.loaded.scenario.drive;
    let plan = plan::build(&case.id, drive);
    let plan_path = dir.join("plan.json");
    let scenario_path = dir.join("scenario.yaml");
    let transcript_path = dir.join("transcript.jsonl");
    let write = |p: &Path, bytes: &[u8]| {
        std::fs::write(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    write(
        &plan_path,
        &serde_json::to_vec_pretty(&plan).map_err(|e| e.to_string())?,
    )?;
    let scenario_text = std::fs::read(&case.path)
        .map_err(|e| format!("cannot read scenario {}: {e}", case.path.display()))?;
    write(&scenario_path, &scenario_text)?;
    let cli = write_wrapper(ctx, &dir, &run_id, &scenario_path, &transcript_path)?;

    let mut vars = Vars::new(ctx, sup);
    vars.cli = Some(cli.display().to_string());
    vars.plan = Some(plan_path.display().to_string());
    vars.run_dir = Some(dir.display().to_string());
    let cmd = adapter_command(sup, &vars, &dir, (&cli, &plan_path, &run_id));
    let deadline = run_deadline(sup, case);
    let outcome = supervise(cmd, deadline, sup.timeouts.teardown, &run_id);

    let _ = std::fs::write(dir.join("report.jsonl"), &outcome.stdout);
    let _ = std::fs::write(dir.join("stderr.tail.txt"), &outcome.stderr_tail);
    let mut report = report::parse(
        &outcome.stdout,
        outcome.stdout_truncated,
        Some(drive.turns.len()),
    );
    report::stamp(&mut report, &outcome.stdout, &outcome.stdout_times);
    if !outcome.stdout_complete {
        report.problems.push(
            "the adapter's stdout was still open after teardown (something kept the pipe)".into(),
        );
    }
    Ok(RunArtifacts {
        scenario_id: case.id.clone(),
        supervisor: sup.name.clone(),
        policy: sup.policy.clone(),
        dir,
        plan,
        report,
        transcript: read_transcript(&transcript_path),
        adapter_exit: outcome.exit,
        stderr_tail: outcome.stderr_tail,
        duration: outcome.duration,
        spawned_unix_ms: Some(outcome.spawned_unix_ms),
        teardown: outcome.teardown,
        teardown_bound: sup.timeouts.teardown,
        leftovers: outcome.leftovers,
    })
}

/// The run's hard deadline: the supervisor's `timeouts.run`, raised when the scenario needs
/// longer — its watchdog, or every turn timing out — plus room for teardown.
pub fn run_deadline(sup: &Supervisor, case: &Case) -> Duration {
    let s = &case.loaded.scenario;
    let slack = sup.timeouts.teardown + Duration::from_secs(5);
    let mut d = sup.timeouts.run;
    if let Some(w) = s.watchdog {
        d = d.max(w.duration() + slack);
    }
    let turns = s.drive.turns.len().max(1) as u32;
    let per_turn = Duration::from_millis(plan::turn_timeout_ms(&s.drive));
    d.max(per_turn.saturating_mul(turns) + slack)
}

fn make_run_dir(supervisor: &str, scenario: &str) -> Result<PathBuf, String> {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let dir = tempfile::Builder::new()
        .prefix(&format!(
            "harness-{}-{}-",
            clean(supervisor),
            clean(scenario)
        ))
        .tempdir()
        .map_err(|e| format!("cannot create a run directory: {e}"))?
        .keep();
    std::fs::create_dir_all(dir.join("bin"))
        .map_err(|e| format!("cannot create {}: {e}", dir.join("bin").display()))?;
    Ok(dir)
}

fn run_id() -> String {
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{n}-{nanos:08x}", std::process::id())
}

/// `bin/claude`: a POSIX sh script that pins this run's scenario and transcript (so a supervisor
/// that scrubs its environment still gets the right fake) and exports the run marker.
fn write_wrapper(
    ctx: &Context,
    dir: &Path,
    run_id: &str,
    scenario: &Path,
    transcript: &Path,
) -> Result<PathBuf, String> {
    let fake: Vec<String> = ctx.fake_command().iter().map(|a| sh_quote(a)).collect();
    let text = format!(
        "#!/bin/sh\n\
         # fake-claude for harness run {run_id}: scenario and transcript pinned, arguments passed on.\n\
         {RUN_ID_VAR}={id}\n\
         export {RUN_ID_VAR}\n\
         exec {fake} --fake-scenario {scenario} --fake-transcript {transcript} \"$@\"\n",
        id = sh_quote(run_id),
        fake = fake.join(" "),
        scenario = sh_quote(&scenario.display().to_string()),
        transcript = sh_quote(&transcript.display().to_string()),
    );
    let path = dir.join("bin").join("claude");
    {
        let _alone = FORK_LOCK.write().unwrap_or_else(|e| e.into_inner());
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("cannot make {} executable: {e}", path.display()))?;
    Ok(path)
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn adapter_command(
    sup: &Supervisor,
    vars: &Vars,
    dir: &Path,
    (cli, plan, run_id): (&Path, &Path, &str),
) -> Command {
    let argv: Vec<String> = sup.command.iter().map(|a| vars.expand(a)).collect();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    for var in [
        RUN_ID_VAR,
        ADAPTER_RUN_ID_VAR,
        "FAKE_CLAUDE_SCENARIO",
        "FAKE_CLAUDE_TRANSCRIPT",
    ] {
        cmd.env_remove(var);
    }
    let bin = dir.join("bin");
    let path = match std::env::var_os("PATH") {
        Some(p) => {
            let mut all = vec![bin];
            all.extend(std::env::split_paths(&p));
            std::env::join_paths(all).unwrap_or(p)
        }
        None => bin.into_os_string(),
    };
    cmd.env("PATH", path)
        .env(ADAPTER_RUN_ID_VAR, run_id)
        .env("HARNESS_CLI", cli)
        .env("HARNESS_PLAN", plan)
        .env("HARNESS_RUN_DIR", dir);
    if sup.cli.via == CliVia::Env
        && let Some(var) = &sup.cli.var
    {
        cmd.env(var, cli);
    }
    for (k, v) in &sup.env {
        cmd.env(k, vars.expand(v));
    }
    let cwd = sup
        .cwd
        .as_ref()
        .map(|c| sup.dir.join(vars.expand(c)))
        .unwrap_or_else(|| dir.to_path_buf());
    cmd.current_dir(cwd);
    cmd
}

/// What supervising the adapter process produced.
pub struct Supervised {
    pub exit: AdapterExit,
    pub stdout: Vec<u8>,
    pub stdout_truncated: bool,
    /// EOF was seen on stdout (false: something still held the pipe after teardown).
    pub stdout_complete: bool,
    pub stderr_tail: String,
    pub duration: Duration,
    pub teardown: Duration,
    pub leftovers: Vec<Leftover>,
    /// When each stdout line arrived, ms since the spawn.
    pub stdout_times: Vec<f64>,
    /// The spawn on the wall clock, ms since the Unix epoch.
    pub spawned_unix_ms: f64,
}

/// Spawn `cmd` in its own process group, capture its output, enforce `deadline`, and tear the
/// run down (see the module docs).
pub fn supervise(
    mut cmd: Command,
    deadline: Duration,
    bound: Duration,
    run_id: &str,
) -> Supervised {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let spawned_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let spawned = {
        let _shared = FORK_LOCK.read().unwrap_or_else(|e| e.into_inner());
        cmd.spawn()
    };
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Supervised {
                exit: AdapterExit::SpawnFailed(format!("{:?}: {e}", cmd.get_program())),
                stdout: Vec::new(),
                stdout_truncated: false,
                stdout_complete: true,
                stderr_tail: String::new(),
                duration: start.elapsed(),
                teardown: Duration::ZERO,
                leftovers: Vec::new(),
                stdout_times: Vec::new(),
                spawned_unix_ms,
            };
        }
    };
    let pgid = child.id() as i32;
    // Nothing of the run is older than the adapter (if it is gone already, than this process).
    let born = procs::start_time(pgid).or_else(|| procs::start_time(std::process::id() as i32));
    let pipes: Vec<u64> = [
        child.stdout.as_ref().and_then(procs::inode),
        child.stderr.as_ref().and_then(procs::inode),
    ]
    .into_iter()
    .flatten()
    .collect();
    let stdout = Capture::start(child.stdout.take(), REPORT_LIMIT, false, start);
    let stderr = Capture::start(child.stderr.take(), STDERR_TAIL, true, start);

    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let exit = match rx.recv_timeout(deadline) {
        Ok(Ok(status)) => match (status.code(), status.signal()) {
            (Some(c), _) => AdapterExit::Code(c),
            (None, Some(s)) => AdapterExit::Signal(s),
            _ => AdapterExit::Code(-1),
        },
        Ok(Err(e)) => AdapterExit::SpawnFailed(format!("cannot wait for the adapter: {e}")),
        Err(_) => {
            procs::kill_group(pgid, Signal::KILL);
            // Our own child, SIGKILLed: the wait returns at once (bounded all the same).
            let _ = rx.recv_timeout(Duration::from_secs(5));
            AdapterExit::Deadline
        }
    };
    let duration = start.elapsed();

    let fake_marker = format!("{RUN_ID_VAR}={run_id}");
    let adapter_marker = format!("{ADAPTER_RUN_ID_VAR}={run_id}");
    let markers = [fake_marker.as_str(), adapter_marker.as_str()];
    let (teardown, survivors) = await_teardown(&markers, pgid, born, bound);
    let mut leftovers: Vec<Leftover> = survivors
        .iter()
        .map(|p| Leftover {
            pid: p.pid as u32,
            command: p.command.clone(),
            from_fake: p.marker == Some(0),
        })
        .collect();
    if survivors.is_empty() {
        // Confirmed gone: only the group can still hold anything.
        procs::kill_group(pgid, Signal::KILL);
    } else {
        kill_all(&markers, pgid, born);
    }
    // Everything marked is gone. A pipe still open means a process that escaped both the group
    // and the markers (a grandchild with a scrubbed environment in its own session): it is the
    // run's all the same — a leftover, and killed.
    if !(stdout.eof_within(PIPE_SETTLE) && stderr.eof_within(PIPE_SETTLE)) {
        let holders = procs::holding_pipes(&pipes);
        leftovers.extend(holders.iter().map(|p| Leftover {
            pid: p.pid as u32,
            command: p.command.clone(),
            from_fake: false,
        }));
        kill_pids(&holders.iter().map(|p| p.pid).collect::<Vec<_>>());
    }

    let (stdout, stdout_truncated, stdout_complete, stdout_times) =
        stdout.finish_timed(Duration::from_secs(2));
    let (stderr, _, _) = stderr.finish(Duration::from_secs(2));
    Supervised {
        exit,
        stdout,
        stdout_truncated,
        stdout_complete,
        stderr_tail: tail_text(&stderr),
        duration,
        teardown,
        leftovers,
        stdout_times,
        spawned_unix_ms,
    }
}

/// Every live process of the run, or none. An empty scan is sure unless some process's
/// environment could not be read and that started no earlier than the adapter, `born` (one in
/// the middle of `execve` may be ours): only then, those
/// are looked at again after [`EXEC_GRACE`], so a clean teardown costs no fixed wait.
fn alive(markers: &[&str], pgid: i32, born: Option<u64>) -> Vec<procs::ProcInfo> {
    let (found, unsure) = procs::scan_sure(markers, Some(pgid), born);
    if !found.is_empty() || unsure.is_empty() {
        return found;
    }
    thread::sleep(EXEC_GRACE);
    unsure
        .into_iter()
        .filter_map(|pid| procs::matches(pid, markers, Some(pgid)))
        .collect()
}

/// Wait up to `bound` for every process of the run to go; returns how long that took and who
/// was still alive at the bound.
fn await_teardown(
    markers: &[&str],
    pgid: i32,
    born: Option<u64>,
    bound: Duration,
) -> (Duration, Vec<procs::ProcInfo>) {
    let t0 = Instant::now();
    loop {
        let seen = t0.elapsed();
        let alive = alive(markers, pgid, born);
        if alive.is_empty() {
            return (seen, alive);
        }
        let left = bound.saturating_sub(t0.elapsed());
        if left.is_zero() {
            return (t0.elapsed(), alive);
        }
        let pids: Vec<i32> = alive.iter().map(|p| p.pid).collect();
        // Rescan at least every 100 ms: a survivor may have started new processes.
        procs::wait_any_exit(&pids, left.min(Duration::from_millis(100)));
    }
}

/// SIGKILL the adapter's group and every marked process, then wait (bounded) until they are
/// gone. Nothing of a run outlives it.
fn kill_all(markers: &[&str], pgid: i32, born: Option<u64>) {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        procs::kill_group(pgid, Signal::KILL);
        let alive = alive(markers, pgid, born);
        if alive.is_empty() || procs::left(until).is_zero() {
            return;
        }
        for p in &alive {
            procs::kill_pid(p.pid, Signal::KILL);
        }
        let pids: Vec<i32> = alive.iter().map(|p| p.pid).collect();
        procs::wait_any_exit(&pids, procs::left(until).min(Duration::from_millis(100)));
    }
}

/// SIGKILL `pids` and wait (bounded) until they are gone.
fn kill_pids(pids: &[i32]) {
    let until = Instant::now() + Duration::from_secs(5);
    let mut left: Vec<i32> = pids.to_vec();
    while !left.is_empty() && !procs::left(until).is_zero() {
        for &p in &left {
            procs::kill_pid(p, Signal::KILL);
        }
        procs::wait_any_exit(&left, procs::left(until).min(Duration::from_millis(100)));
        left.retain(|&p| procs::start_time(p).is_some() && !procs::is_zombie(p));
    }
}

/// Reads a pipe on its own thread into a bounded buffer: the first `limit` bytes, or (`tail`)
/// the last `limit` bytes. It keeps draining past the limit so the writer never blocks.
struct Capture {
    buf: Arc<Mutex<(Vec<u8>, bool)>>,
    /// After each read: bytes read so far, and when (ms since `origin`).
    arrivals: Arc<Mutex<Vec<(usize, f64)>>>,
    done: mpsc::Receiver<()>,
    eof: std::cell::Cell<bool>,
}

impl Capture {
    fn start(
        pipe: Option<impl Read + Send + 'static>,
        limit: usize,
        tail: bool,
        origin: Instant,
    ) -> Capture {
        let buf = Arc::new(Mutex::new((Vec::new(), false)));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let shared = Arc::clone(&buf);
        let times = Arc::clone(&arrivals);
        thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut chunk = vec![0u8; 64 << 10];
                let mut total = 0usize;
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            total += n;
                            if !tail {
                                let at = origin.elapsed().as_secs_f64() * 1000.0;
                                times
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .push((total, at));
                            }
                            let mut g = shared.lock().unwrap_or_else(|e| e.into_inner());
                            let (data, cut) = &mut *g;
                            if tail {
                                data.extend_from_slice(&chunk[..n]);
                                if data.len() > 2 * limit {
                                    let excess = data.len() - limit;
                                    data.drain(..excess);
                                    *cut = true;
                                }
                            } else {
                                let room = limit.saturating_sub(data.len());
                                data.extend_from_slice(&chunk[..n.min(room)]);
                                *cut |= n > room;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            }
            let _ = tx.send(());
        });
        Capture {
            buf,
            arrivals,
            done,
            eof: std::cell::Cell::new(false),
        }
    }

    /// Whether EOF was read, waiting up to `wait` for it.
    fn eof_within(&self, wait: Duration) -> bool {
        if !self.eof.get() && self.done.recv_timeout(wait).is_ok() {
            self.eof.set(true);
        }
        self.eof.get()
    }

    /// (bytes, cut short, saw EOF) after waiting up to `wait` for EOF.
    fn finish(self, wait: Duration) -> (Vec<u8>, bool, bool) {
        let eof = self.eof_within(wait);
        let g = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        (g.0.clone(), g.1, eof)
    }

    /// [`Capture::finish`], with when each line arrived.
    fn finish_timed(self, wait: Duration) -> (Vec<u8>, bool, bool, Vec<f64>) {
        let eof = self.eof_within(wait);
        let (bytes, cut) = {
            let g = self.buf.lock().unwrap_or_else(|e| e.into_inner());
            (g.0.clone(), g.1)
        };
        let times = self.line_times(&bytes);
        (bytes, cut, eof, times)
    }

    /// When each line of what was read arrived: the time of the read that brought its newline
    /// (or its last byte).
    fn line_times(&self, bytes: &[u8]) -> Vec<f64> {
        let arrivals = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        let mut k = 0;
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let mut end = 0usize;
        for line in body.split(|&b| b == b'\n') {
            end += line.len() + 1;
            let last = end.min(bytes.len());
            while k < arrivals.len() && arrivals[k].0 < last {
                k += 1;
            }
            out.push(arrivals.get(k).or(arrivals.last()).map_or(0.0, |a| a.1));
        }
        out
    }
}

fn tail_text(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL);
    let text = String::from_utf8_lossy(&bytes[start..]);
    text.trim_start_matches('\u{FFFD}').to_string()
}

/// The transcript, leniently: a missing file is an empty transcript, and a line that does not
/// parse (a record cut short by SIGKILL) is skipped rather than failing the whole run. Raw
/// stdout bytes get the messages a reader finds in them ([`crate::stdout_lines`]).
pub fn read_transcript(path: &Path) -> Vec<Record> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let mut records: Vec<Record> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    crate::stdout_lines::derive(&mut records);
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn deadline_kills_the_whole_group() {
        let id = run_id();
        let start = Instant::now();
        let s = supervise(
            sh("echo partial; sleep 60 & sleep 60"),
            Duration::from_millis(300),
            Duration::from_millis(500),
            &id,
        );
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(s.exit, AdapterExit::Deadline);
        assert_eq!(s.stdout, b"partial\n");
        assert!(s.leftovers.is_empty(), "{:?}", s.leftovers);
    }

    #[test]
    fn survivors_in_the_group_are_leftovers_then_killed() {
        let id = run_id();
        // The adapter exits at once, leaving a background sleep in its group.
        let s = supervise(
            sh("sleep 60 >/dev/null 2>&1 & echo done"),
            Duration::from_secs(10),
            Duration::from_millis(200),
            &id,
        );
        assert_eq!(s.exit, AdapterExit::Code(0));
        assert_eq!(s.leftovers.len(), 1, "{:?}", s.leftovers);
        assert!(s.leftovers[0].command.contains("sleep 60"));
        assert!(!s.leftovers[0].from_fake);
        assert!(s.teardown >= Duration::from_millis(200));
    }

    #[test]
    fn marked_processes_in_other_groups_are_found() {
        let id = run_id();
        let script = format!("{RUN_ID_VAR}={id} setsid sleep 60 >/dev/null 2>&1 & echo started");
        let s = supervise(
            sh(&script),
            Duration::from_secs(10),
            Duration::from_millis(200),
            &id,
        );
        assert_eq!(s.leftovers.len(), 1, "{:?}", s.leftovers);
        assert!(s.leftovers[0].from_fake);
        assert!(procs::scan(&[&format!("{RUN_ID_VAR}={id}")], None).is_empty());
    }

    #[test]
    fn spawn_failure_is_an_exit_not_an_error() {
        let s = supervise(
            Command::new("/nonexistent/adapter"),
            Duration::from_secs(1),
            Duration::from_secs(1),
            &run_id(),
        );
        assert!(matches!(s.exit, AdapterExit::SpawnFailed(_)));
    }

    #[test]
    fn stderr_keeps_the_tail_and_stdout_is_bounded_but_drained() {
        let s = supervise(
            sh("head -c 100000 /dev/zero | tr '\\0' x >&2; echo END >&2; echo ok"),
            Duration::from_secs(10),
            Duration::from_secs(1),
            &run_id(),
        );
        assert!(s.stderr_tail.len() <= STDERR_TAIL);
        assert!(s.stderr_tail.ends_with("xEND\n"));
        assert_eq!(s.stdout, b"ok\n");
    }

    #[test]
    fn missing_or_torn_transcripts_are_read_leniently() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_transcript(&dir.path().join("none.jsonl")).is_empty());
        let p = dir.path().join("t.jsonl");
        std::fs::write(
            &p,
            "{\"inv\":1,\"t\":0.1,\"kind\":\"stdin_eof\"}\n{\"inv\":1,\"t\"",
        )
        .unwrap();
        assert_eq!(read_transcript(&p).len(), 1);
    }
}
