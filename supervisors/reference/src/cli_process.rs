//! The CLI as a child process: spawn, the threads around its pipes, signals.
//!
//! ```text
//!              ┌─ stdout reader ─┐  lines (batched per read), EOF ─┐
//!   CLI ──────▶├─ stderr drain ──┤  bounded tail, EOF ─────────────┼──▶ one channel ──▶ session
//!              └─ waiter ────────┘  exit status ───────────────────┘        (main loop)
//!   CLI ◀────── stdin writer ◀──── lines to write / close ◀──────────────── session
//! ```
//! Every blocking call lives on its own thread, so reading stdout never waits for a write to
//! stdin (FM-08), stderr never fills up (FM-09), and the main loop only ever waits on one channel
//! with a timeout.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use rustix::process::{Pid, Signal};
use serde_json::Value;

/// How much of the CLI's stderr is kept for diagnoses.
const STDERR_TAIL_BYTES: usize = 8 * 1024;

/// What the pipe threads tell the session.
#[derive(Debug)]
pub enum CliEvent {
    /// Lines that arrived in one read from stdout, in order.
    Stdout(Vec<StdoutLine>),
    /// stdout reached EOF (or a read failed).
    StdoutClosed {
        error: Option<String>,
    },
    StderrClosed,
    /// The child was reaped.
    Exited(ExitStatus),
    /// A write to stdin failed; nothing more will be written.
    StdinFailed {
        what: Written,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum StdoutLine {
    /// A JSON object, as written.
    Json(Value),
    /// A JSON object after replacing invalid UTF-8 or lone surrogate escapes with U+FFFD.
    Repaired(Value),
    /// Anything else (banners, debug output, truncated JSON): skipped, never fatal.
    NotJson(String),
}

/// What a stdin line was, so a failed write can be attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Control,
    Prompt(usize),
}

enum ToWriter {
    Line(Vec<u8>, Written),
    Close,
}

/// A spawned CLI whose pipes nobody reads yet.
pub struct Spawned {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: ChildStderr,
}

/// Spawns the CLI with `args` (see `style.rs`) and `env` added to ours.
pub fn spawn(cli: &Path, args: &[String], env: &[(&str, &str)]) -> io::Result<Spawned> {
    let mut child = Command::new(cli)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group (pgid = its pid), so teardown can signal everything it started.
        .process_group(0)
        .spawn()?;
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    Ok(Spawned {
        child,
        stdin,
        stdout,
        stderr,
    })
}

impl Spawned {
    /// Writes a line synchronously on the calling thread. Only the `prompt-before-read` bug uses
    /// this: with nobody draining stdout, it blocks for good once both pipes are full.
    pub fn write_blocking(&mut self, line: &Value) -> io::Result<()> {
        self.stdin.write_all(&encode(line))?;
        self.stdin.flush()
    }

    /// Starts the reader, drain, waiter and writer threads. `stderr` other than
    /// [`StderrReading::Live`] is a bug switch (`no-stderr-drain`, `close-stderr`).
    /// `keep_unterminated: false` is the `drop-unterminated-line` bug; a `read_limit` the
    /// `cumulative-read-limit` bug.
    pub fn start(
        self,
        stderr_reading: StderrReading,
        keep_unterminated: bool,
        read_limit: Option<u64>,
    ) -> Running {
        let Spawned {
            child,
            stdin,
            stdout,
            stderr,
        } = self;
        let pid = Pid::from_child(&child);
        let (events, inbox) = mpsc::channel();
        let stderr_tail = Arc::new(Mutex::new(Tail::default()));

        let tx = events.clone();
        thread::Builder::new()
            .name("cli-stdout".into())
            .spawn(move || read_stdout(stdout, tx, keep_unterminated, read_limit))
            .expect("spawn the stdout reader");
        let (tx, tail) = (events.clone(), stderr_tail.clone());
        let (exited_tx, exited_rx) = mpsc::channel::<()>();
        thread::Builder::new()
            .name("cli-stderr".into())
            .spawn(move || match stderr_reading {
                StderrReading::Live => drain_stderr(stderr, tail, tx),
                StderrReading::AfterExit => {
                    // BUG (no-stderr-drain): nobody reads stderr until the CLI is gone.
                    let _ = exited_rx.recv();
                    drain_stderr(stderr, tail, tx)
                }
                StderrReading::Closed => {
                    // BUG (close-stderr): the read end is closed at once; the CLI's next stderr
                    // write fails with EPIPE and its diagnostics are lost.
                    drop(stderr);
                    let _ = tx.send(CliEvent::StderrClosed);
                }
            })
            .expect("spawn the stderr drain");
        let tx = events.clone();
        thread::Builder::new()
            .name("cli-wait".into())
            .spawn(move || {
                wait_for(child, tx);
                let _ = exited_tx.send(());
            })
            .expect("spawn the waiter");
        let (to_writer, writer_inbox) = mpsc::channel();
        thread::Builder::new()
            .name("cli-stdin".into())
            .spawn(move || write_stdin(stdin, writer_inbox, events))
            .expect("spawn the stdin writer");

        Running {
            inbox,
            to_writer,
            pid,
            stderr_tail,
            stdin_closed: false,
        }
    }
}

/// A CLI with its threads running.
pub struct Running {
    pub inbox: Receiver<CliEvent>,
    to_writer: Sender<ToWriter>,
    pid: Pid,
    stderr_tail: Arc<Mutex<Tail>>,
    stdin_closed: bool,
}

impl Running {
    /// Queues a line for stdin; never blocks. Returns `false` if stdin was already closed
    /// (nothing is ever written after the close).
    pub fn write(&mut self, line: &Value, what: Written) -> bool {
        if self.stdin_closed {
            return false;
        }
        // The writer thread only goes away with `Running`, so this cannot fail.
        let _ = self.to_writer.send(ToWriter::Line(encode(line), what));
        true
    }

    /// Queues raw bytes for stdin (print mode's plain-text prompt); never blocks.
    pub fn write_text(&mut self, text: &str, what: Written) -> bool {
        if self.stdin_closed {
            return false;
        }
        let _ = self
            .to_writer
            .send(ToWriter::Line(text.as_bytes().to_vec(), what));
        true
    }

    /// Closes stdin once everything queued before has been written.
    pub fn close_stdin(&mut self) {
        if !self.stdin_closed {
            self.stdin_closed = true;
            let _ = self.to_writer.send(ToWriter::Close);
        }
    }

    pub fn stdin_closed(&self) -> bool {
        self.stdin_closed
    }

    /// Sends `signal` to the CLI's whole process group, or only to the CLI itself.
    pub fn signal(&self, signal: Signal, whole_group: bool) -> io::Result<()> {
        if whole_group {
            rustix::process::kill_process_group(self.pid, signal)?;
        } else {
            rustix::process::kill_process(self.pid, signal)?;
        }
        Ok(())
    }

    /// Whether any process is left in the CLI's process group.
    pub fn group_alive(&self) -> bool {
        rustix::process::test_kill_process_group(self.pid).is_ok()
    }

    /// The last few KiB of the CLI's stderr, as text.
    pub fn stderr_tail(&self) -> String {
        self.stderr_tail
            .lock()
            .map(|tail| tail.text())
            .unwrap_or_default()
    }
}

fn encode(line: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(line).expect("a serde_json::Value always serializes");
    bytes.push(b'\n');
    bytes
}

/// Reads stdout line by line with a growable buffer (a line can be many MB). Lines that arrived
/// together are sent together, so a `control_cancel_request` that follows its request in the
/// same read is seen before the request is answered. A final line without `\n` still counts.
fn read_stdout(
    stdout: ChildStdout,
    events: Sender<CliEvent>,
    keep_unterminated: bool,
    read_limit: Option<u64>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut batch = Vec::new();
    let mut total: u64 = 0;
    loop {
        let mut line = Vec::new();
        let got = reader.read_until(b'\n', &mut line);
        if let (Ok(n), Some(limit)) = (&got, read_limit) {
            total += *n as u64;
            if total > limit {
                // BUG (cumulative-read-limit): a buffer that only grows, capped for the session.
                if !batch.is_empty() {
                    let _ = events.send(CliEvent::Stdout(std::mem::take(&mut batch)));
                }
                let _ = events.send(CliEvent::StdoutClosed {
                    error: Some(format!("stdout read limit of {limit} bytes exceeded")),
                });
                return;
            }
        }
        match got {
            Ok(0) => {
                if !batch.is_empty() {
                    let _ = events.send(CliEvent::Stdout(std::mem::take(&mut batch)));
                }
                let _ = events.send(CliEvent::StdoutClosed { error: None });
                return;
            }
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                } else if !keep_unterminated {
                    // BUG (drop-unterminated-line): the bytes before EOF are no line to us.
                    continue;
                }
                batch.extend(parse_line(&line));
                let another_line_buffered = reader.buffer().contains(&b'\n');
                if !another_line_buffered
                    && !batch.is_empty()
                    && events
                        .send(CliEvent::Stdout(std::mem::take(&mut batch)))
                        .is_err()
                {
                    return; // the session is gone
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                if !batch.is_empty() {
                    let _ = events.send(CliEvent::Stdout(std::mem::take(&mut batch)));
                }
                let _ = events.send(CliEvent::StdoutClosed {
                    error: Some(e.to_string()),
                });
                return;
            }
        }
    }
}

/// Parses one stdout line. Blank lines are `None`.
/// A line holding a JSON array of messages (`--output-format json --verbose`), as the lines the
/// messages would have been, repaired like [`parse_line`] repairs one.
pub fn parse_array_line(text: &str) -> Option<Vec<StdoutLine>> {
    if !text.trim_start().starts_with('[') {
        return None;
    }
    let (values, repaired) = match serde_json::from_str::<Vec<Value>>(text) {
        Ok(v) => (v, false),
        Err(_) => (
            serde_json::from_str::<Vec<Value>>(&replace_lone_surrogates(text)).ok()?,
            true,
        ),
    };
    Some(
        values
            .into_iter()
            .filter(Value::is_object)
            .map(|v| {
                if repaired {
                    StdoutLine::Repaired(v)
                } else {
                    StdoutLine::Json(v)
                }
            })
            .collect(),
    )
}

pub fn parse_line(bytes: &[u8]) -> Option<StdoutLine> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Ok(value @ Value::Object(_)) = serde_json::from_slice::<Value>(bytes) {
        return Some(StdoutLine::Json(value));
    }
    // serde_json rejects invalid UTF-8 and lone surrogate escapes (`"\ud800"`), which other
    // JSON parsers (and the CLI's own JavaScript) accept. Repair both rather than lose a result.
    let text = String::from_utf8_lossy(bytes);
    let repaired = replace_lone_surrogates(&text);
    if (matches!(text, std::borrow::Cow::Owned(_)) || repaired != text)
        && let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(&repaired)
    {
        return Some(StdoutLine::Repaired(value));
    }
    Some(StdoutLine::NotJson(text.into_owned()))
}

/// Replaces `\uD800`–`\uDFFF` escapes that are not part of a valid surrogate pair with `\uFFFD`.
fn replace_lone_surrogates(text: &str) -> String {
    fn escape_at(chars: &[char], i: usize) -> Option<u32> {
        if chars.get(i) != Some(&'\\') || chars.get(i + 1) != Some(&'u') {
            return None;
        }
        let hex: String = chars.get(i + 2..i + 6)?.iter().collect();
        u32::from_str_radix(&hex, 16).ok()
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        match escape_at(&chars, i) {
            Some(0xD800..=0xDBFF) if matches!(escape_at(&chars, i + 6), Some(0xDC00..=0xDFFF)) => {
                // A valid pair: keep both escapes as they are.
                out.extend(&chars[i..i + 12]);
                i += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.push_str("\\ufffd");
                i += 6;
            }
            _ => {
                // Any other escape: copy the backslash and the escaped character together, so
                // `\\u` (an escaped backslash followed by `u`) is not mistaken for an escape.
                out.extend(chars.get(i..(i + 2).min(chars.len())).unwrap_or_default());
                i += 2;
            }
        }
    }
    out
}

/// The last `STDERR_TAIL_BYTES` bytes written to stderr.
#[derive(Default)]
struct Tail {
    bytes: VecDeque<u8>,
    truncated: bool,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let excess = self.bytes.len().saturating_sub(STDERR_TAIL_BYTES);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.truncated = true;
        }
    }

    fn text(&self) -> String {
        let bytes: Vec<u8> = self.bytes.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let text = if self.truncated {
            // Start at a line boundary rather than mid-line (or mid-character).
            text.split_once('\n').map_or(&*text, |(_, rest)| rest)
        } else {
            &text
        };
        text.trim_end().to_string()
    }
}

/// How the CLI's stderr is read: as it comes (correct), or one of the bugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StderrReading {
    Live,
    /// Only once the CLI has exited (`no-stderr-drain`).
    AfterExit,
    /// Never: the pipe's read end is closed at spawn (`close-stderr`).
    Closed,
}

fn drain_stderr(mut stderr: ChildStderr, tail: Arc<Mutex<Tail>>, events: Sender<CliEvent>) {
    let mut chunk = [0u8; 8192];
    loop {
        match stderr.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                if let Ok(mut tail) = tail.lock() {
                    tail.push(&chunk[..n]);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = events.send(CliEvent::StderrClosed);
}

fn wait_for(mut child: Child, events: Sender<CliEvent>) {
    match child.wait() {
        Ok(status) => {
            let _ = events.send(CliEvent::Exited(status));
        }
        Err(e) => eprintln!("reference-supervisor: waiting for the CLI failed: {e}"),
    }
}

/// Writes queued lines in order. After a failure it writes nothing more, but still tells the
/// session about every prompt it could not deliver.
fn write_stdin(stdin: ChildStdin, inbox: Receiver<ToWriter>, events: Sender<CliEvent>) {
    let mut stdin = Some(stdin);
    let mut failure: Option<String> = None;
    while let Ok(message) = inbox.recv() {
        match message {
            ToWriter::Line(bytes, what) => {
                let Some(pipe) = stdin.as_mut() else { continue };
                if let Some(first) = &failure {
                    if matches!(what, Written::Prompt(_)) {
                        let error = format!("stdin already failed: {first}");
                        let _ = events.send(CliEvent::StdinFailed { what, error });
                    }
                    continue;
                }
                if let Err(e) = pipe.write_all(&bytes).and_then(|()| pipe.flush()) {
                    failure = Some(e.to_string());
                    let _ = events.send(CliEvent::StdinFailed {
                        what,
                        error: e.to_string(),
                    });
                }
            }
            ToWriter::Close => stdin = None, // dropping the pipe is the EOF
        }
    }
}

/// `code N` / `signal N` of an exit status.
pub fn describe_exit(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => match signal_name(signal) {
            Some(name) => format!("was killed by signal {signal} ({name})"),
            None => format!("was killed by signal {signal}"),
        },
        (None, None) => format!("ended with {status}"),
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_objects_and_skips_the_rest() {
        assert_eq!(
            parse_line(br#"{"type":"result"}"#),
            Some(StdoutLine::Json(json!({"type":"result"})))
        );
        assert_eq!(parse_line(b"  \r"), None);
        assert_eq!(
            parse_line(b"[SandboxDebug] hello"),
            Some(StdoutLine::NotJson("[SandboxDebug] hello".into()))
        );
        assert_eq!(parse_line(b"42"), Some(StdoutLine::NotJson("42".into())));
        assert_eq!(
            parse_line(br#"{"type":"res"#),
            Some(StdoutLine::NotJson(r#"{"type":"res"#.into()))
        );
        // A CRLF line still parses (JSON allows trailing whitespace).
        assert!(matches!(
            parse_line(b"{\"a\":1}\r"),
            Some(StdoutLine::Json(_))
        ));
    }

    #[test]
    fn repairs_lone_surrogates_and_invalid_utf8() {
        let lone = br#"{"type":"assistant","text":"a\ud800b"}"#;
        assert_eq!(
            parse_line(lone),
            Some(StdoutLine::Repaired(
                json!({"type":"assistant","text":"a\u{FFFD}b"})
            ))
        );

        let pair = br#"{"text":"\ud83d\ude00"}"#;
        assert_eq!(
            parse_line(pair),
            Some(StdoutLine::Json(json!({"text":"😀"})))
        );

        let escaped_backslash = br#"{"text":"\\ud800"}"#;
        assert_eq!(
            parse_line(escaped_backslash),
            Some(StdoutLine::Json(json!({"text":"\\ud800"})))
        );

        let invalid_utf8 = b"{\"text\":\"a\xffb\"}";
        assert_eq!(
            parse_line(invalid_utf8),
            Some(StdoutLine::Repaired(json!({"text":"a\u{FFFD}b"})))
        );
    }

    #[test]
    fn stderr_tail_keeps_the_end_from_a_line_start() {
        let mut tail = Tail::default();
        tail.push(b"short\n");
        assert_eq!(tail.text(), "short");
        for i in 0..2000 {
            tail.push(format!("[DEBUG] line {i}\n").as_bytes());
        }
        tail.push(b"PermissionError: denied\n");
        let text = tail.text();
        assert!(text.len() <= STDERR_TAIL_BYTES);
        assert!(text.starts_with("[DEBUG] line "), "{}", &text[..40]);
        assert!(text.ends_with("PermissionError: denied"));
    }
}
