//! Shared plumbing for the integration tests that run the real `fake-claude` binary: scenarios
//! written into temp dirs, runs under a hard deadline, interactive sessions whose stdout is read
//! line by line on a thread, and transcript lookups.
//!
//! Every child process runs under a deadline: [`Fake::cmd`] sets an assert_cmd timeout, and
//! [`Live`] waits with `recv_timeout` and kills the child on expiry and on drop. No test can hang.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fake_claude::transcript::{Event, Record};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Deadline for a whole non-interactive run.
pub const RUN_DEADLINE: Duration = Duration::from_secs(20);
/// How long an interactive test waits for one line (generous: 2 loaded cores).
pub const LINE_WAIT: Duration = Duration::from_secs(10);

/// Environment variables that would change what the fake does; removed from every child so the
/// tests do not depend on the environment `cargo test` runs in.
const STEERING_ENV: &[&str] = &[
    "FAKE_CLAUDE_SCENARIO",
    "FAKE_CLAUDE_TRANSCRIPT",
    "FAKE_CLAUDE_PROFILE",
    "FAKE_CLAUDE_SEED",
    "CLAUDE_CODE_SDK_READS_SESSION_STATE",
    "CLAUDE_CODE_ENTRYPOINT",
];

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fake-claude")
}

/// A scenario file and a transcript path in a fresh temp dir.
pub struct Fake {
    pub dir: TempDir,
    pub scenario: PathBuf,
    pub transcript: PathBuf,
    /// Framing flags after the fake's own: by default the SDKs' stream-json both ways.
    pub framing: Vec<String>,
}

/// The argv the SDKs frame a session with.
pub const STREAM_JSON: &[&str] = &[
    "--output-format",
    "stream-json",
    "--verbose",
    "--input-format",
    "stream-json",
];

impl Fake {
    /// Writes `yaml` as `scenario.yaml` (a `name:` is added when missing).
    pub fn new(yaml: &str) -> Fake {
        let dir = tempfile::tempdir().expect("tempdir");
        let scenario = dir.path().join("scenario.yaml");
        let text = if yaml.lines().any(|l| l.starts_with("name:")) {
            yaml.to_string()
        } else {
            format!("name: test\n{yaml}")
        };
        std::fs::write(&scenario, text).expect("write scenario");
        let transcript = dir.path().join("transcript.jsonl");
        Fake {
            dir,
            scenario,
            transcript,
            framing: STREAM_JSON.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// No scenario (the embedded default), but a temp dir for the transcript.
    pub fn embedded_default() -> Fake {
        let f = Fake::new("script: []\n");
        std::fs::remove_file(&f.scenario).expect("remove scenario");
        f
    }

    fn base_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if self.scenario.exists() {
            a.push(format!("--fake-scenario={}", self.scenario.display()));
        }
        a.push("--fake-transcript".into());
        a.push(self.transcript.display().to_string());
        a.extend(self.framing.iter().cloned());
        a
    }

    /// Run in print mode (or any other framing) instead of the SDKs' stream-json both ways.
    pub fn framing(mut self, args: &[&str]) -> Self {
        self.framing = args.iter().map(|s| s.to_string()).collect();
        self
    }

    /// An assert_cmd command with the scenario, the transcript and a hard timeout.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(bin());
        for k in STEERING_ENV {
            c.env_remove(k);
        }
        c.args(self.base_args())
            .current_dir(self.dir.path())
            .timeout(RUN_DEADLINE);
        c
    }

    /// A std command for interactive runs (see [`Live`]).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(bin());
        for k in STEERING_ENV {
            c.env_remove(k);
        }
        c.args(self.base_args()).current_dir(self.dir.path());
        c
    }

    /// Run to completion with `stdin` (closed afterwards).
    pub fn run(&self, stdin: &str) -> Run {
        self.run_with(self.cmd(), stdin.as_bytes())
    }

    pub fn run_with(&self, mut cmd: assert_cmd::Command, stdin: &[u8]) -> Run {
        let out = cmd
            .write_stdin(stdin.to_vec())
            .output()
            .expect("fake-claude ran (or its deadline expired)");
        Run {
            code: out.status.code(),
            status: out.status,
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn transcript(&self) -> Vec<Record> {
        fake_claude::transcript::read(&self.transcript).expect("transcript parses")
    }

    pub fn live(&self) -> Live {
        Live::spawn(self.std_cmd())
    }
}

/// The outcome of a finished run.
pub struct Run {
    pub status: ExitStatus,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_str(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }

    /// stdout as JSON messages, one per line; every line must parse.
    pub fn msgs(&self) -> Vec<Value> {
        parse_lines(&self.stdout)
    }

    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "fake-claude panicked:\n{}",
            self.stderr
        );
    }
}

pub fn parse_lines(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).expect("stdout is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "stdout must end with a newline"
    );
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// What the stdout reader thread saw.
pub enum Out {
    Line(Vec<u8>),
    Eof,
}

/// An interactive fake: stdin written by the test, stdout read line by line on a thread into a
/// channel, stderr collected on another thread. Killed on drop.
pub struct Live {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Out>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    /// Lines received so far (for failure messages).
    pub seen: Vec<String>,
}

impl Live {
    pub fn spawn(mut cmd: std::process::Command) -> Live {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn fake-claude");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Out::Eof);
                        return;
                    }
                    Ok(_) => {
                        if tx.send(Out::Line(line)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = BufReader::new(stderr).read_to_end(&mut buf);
            buf
        });
        Live {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            stderr: Some(stderr),
            seen: Vec::new(),
        }
    }

    /// Spawn with stdout handed back raw (for tests that control the reading themselves).
    /// stderr stays piped in `child.stderr`: read it only after the child exited, and only in
    /// tests whose fake writes little to it.
    pub fn spawn_raw(mut cmd: std::process::Command) -> (Child, ChildStdin, ChildStdout) {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn fake-claude");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        (child, stdin, stdout)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Write one JSON message as a line.
    pub fn send(&mut self, v: &Value) {
        let mut line = serde_json::to_vec(v).expect("serialize");
        line.push(b'\n');
        self.send_raw(&line);
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).expect("write to fake stdin");
        stdin.flush().expect("flush");
    }

    /// Like [`Live::send_raw`], but hands a write error back (for a fake that closed its stdin).
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes)?;
        stdin.flush()
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// The next stdout event, or `None` if nothing came within `wait`.
    pub fn next_within(&mut self, wait: Duration) -> Option<Out> {
        match self.lines.recv_timeout(wait) {
            Ok(o) => Some(o),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Out::Eof),
        }
    }

    /// The next stdout line as raw bytes (with its newline); fails on EOF or timeout.
    pub fn next_line(&mut self) -> Vec<u8> {
        match self.next_within(LINE_WAIT) {
            Some(Out::Line(l)) => {
                self.seen.push(String::from_utf8_lossy(&l).into_owned());
                l
            }
            Some(Out::Eof) => panic!("stdout EOF while waiting for a line; seen {:?}", self.seen),
            None => {
                let _ = self.child.kill();
                panic!("no stdout line within {LINE_WAIT:?}; seen {:?}", self.seen)
            }
        }
    }

    /// The next stdout line as JSON.
    pub fn next(&mut self) -> Value {
        let l = self.next_line();
        serde_json::from_slice(&l)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&l)))
    }

    /// Expect stdout EOF within `wait`.
    pub fn expect_eof(&mut self, wait: Duration) {
        match self.next_within(wait) {
            Some(Out::Eof) => {}
            Some(Out::Line(l)) => panic!(
                "expected stdout EOF, got a line: {}",
                String::from_utf8_lossy(&l)
            ),
            None => panic!("no stdout EOF within {wait:?}"),
        }
    }

    /// Wait for exit (killing the child if `wait` passes: the test then fails).
    pub fn wait(&mut self, wait: Duration) -> ExitStatus {
        match wait_child(&mut self.child, wait) {
            Some(s) => s,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "fake-claude did not exit within {wait:?}; seen {:?}",
                    self.seen
                )
            }
        }
    }

    /// Close stdin, wait for exit, and collect stderr.
    pub fn finish(&mut self) -> (ExitStatus, String) {
        self.close_stdin();
        let status = self.wait(RUN_DEADLINE);
        (status, self.stderr_text())
    }

    /// Everything written to stderr (call after the process and any grandchild are gone).
    pub fn stderr_text(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait for a child with a deadline (polling `try_wait`).
pub fn wait_child(child: &mut Child, wait: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + wait;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------------------
// stdin messages

pub fn user(text: &str) -> Value {
    json!({"type": "user", "message": {"role": "user", "content": text},
           "parent_tool_use_id": null, "session_id": "default"})
}

pub fn control(rid: &str, request: Value) -> Value {
    json!({"type": "control_request", "request_id": rid, "request": request})
}

pub fn initialize(rid: &str) -> Value {
    control(rid, json!({"subtype": "initialize", "hooks": null}))
}

/// Lines of JSON messages, newline-terminated.
pub fn lines(msgs: &[Value]) -> String {
    msgs.iter().map(|m| format!("{m}\n")).collect()
}

// ---------------------------------------------------------------------------------------------
// transcripts

/// The first record satisfying `pred`.
pub fn find(recs: &[Record], pred: impl Fn(&Event) -> bool) -> Option<&Record> {
    recs.iter().find(|r| pred(&r.event))
}

/// All `stdout` records.
pub fn stdout_records(recs: &[Record]) -> Vec<&Record> {
    recs.iter()
        .filter(|r| matches!(r.event, Event::Stdout { .. }))
        .collect()
}

/// The exit code recorded last.
pub fn exit_code(recs: &[Record]) -> Option<i32> {
    recs.iter().rev().find_map(|r| match r.event {
        Event::Exit { code } => Some(code),
        _ => None,
    })
}

/// The `step` records with this step kind.
pub fn steps<'a>(recs: &'a [Record], kind: &str) -> Vec<(&'a str, &'a str)> {
    recs.iter()
        .filter_map(|r| match &r.event {
            Event::Step {
                step, outcome, at, ..
            } if step == kind => Some((outcome.as_str(), at.as_str())),
            _ => None,
        })
        .collect()
}

/// Messages by `type` (and `subtype` when given).
pub fn of_type<'a>(msgs: &'a [Value], ty: &str, subtype: Option<&str>) -> Vec<&'a Value> {
    msgs.iter()
        .filter(|m| m["type"] == ty && subtype.is_none_or(|s| m["subtype"] == s))
        .collect()
}

/// The control_response for `rid` among `msgs`.
pub fn response_for<'a>(msgs: &'a [Value], rid: &str) -> Option<&'a Value> {
    msgs.iter()
        .find(|m| m["type"] == "control_response" && m["response"]["request_id"] == rid)
}

// ---------------------------------------------------------------------------------------------
// signals and grandchildren

pub use rustix::process::Signal;

/// Send `sig` to `pid` (errors ignored: the process may be gone).
pub fn signal(pid: u32, sig: Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// Is the process running (present and not a zombie)?
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // `pid (comm) S ...`: the state follows the last `)`.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X')
    })
}

/// Kills a grandchild by pid when dropped, so a failing test leaks nothing.
pub struct KillOnDrop(pub u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        signal(self.0, Signal::KILL);
    }
}

/// The pids of `spawned` records.
pub fn spawned_pids(recs: &[Record]) -> Vec<u32> {
    recs.iter()
        .filter_map(|r| match r.event {
            Event::Spawned { pid } => Some(pid),
            _ => None,
        })
        .collect()
}
