//! stdin: one thread reads chunks into a rendezvous channel; the engine splits them into lines.
//!
//! The thread is started lazily, by the first step that needs input, so a script that writes a
//! burst before reading really does not read stdin (the Multica deadlock, FM-08). The channel has
//! no buffer: while the engine does not receive, the thread holds at most one chunk and the pipe
//! fills up — which is what "stop reading stdin" must mean.
//!
//! The thread polls stdin together with a wake pipe before each read, so [`Input::close`] can stop
//! it without a read(2) in flight: on Linux a thread blocked in read keeps the pipe open after
//! fd 0 is closed, and the supervisor would never see EPIPE (FM-19).

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use base64::Engine as _;
use rustix::event::{PollFd, PollFlags, poll};
use serde_json::Value;

const CHUNK: usize = 64 * 1024;

/// What the stdin thread is doing, for the signal record: a signal that arrives while it is
/// blocked in read(2) proves the supervisor had not closed stdin (FM-18: SIGTERM before EOF).
static STATE: AtomicU8 = AtomicU8::new(IDLE);
const IDLE: u8 = 0;
const READING: u8 = 1;
const CLOSED: u8 = 2;

/// [`STATE`] as it was when the last signal arrived, taken inside the signal handler: a
/// supervisor that signals and then closes stdin at once must not be seen as having closed first
/// just because the thread that records the signal ran after the reader saw EOF.
static AT_SIGNAL: AtomicU8 = AtomicU8::new(IDLE);

/// Async-signal-safe: two atomic operations. Called from the SIGTERM handler.
pub fn snapshot_at_signal() {
    AT_SIGNAL.store(STATE.load(Ordering::SeqCst), Ordering::SeqCst);
}

/// At the last signal: `Some("open")`: blocked reading a stdin that was still open;
/// `Some("closed")`: EOF had been read; `None`: not reading at that moment (not started, or
/// holding input the engine had not taken), so it cannot tell.
pub fn state_at_signal() -> Option<&'static str> {
    match AT_SIGNAL.load(Ordering::SeqCst) {
        READING => Some("open"),
        CLOSED => Some("closed"),
        _ => None,
    }
}

pub enum Chunk {
    Data(Vec<u8>),
    Eof,
}

/// A line of stdin, without its `\n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub bytes: Vec<u8>,
    pub terminated: bool,
}

pub enum Got {
    Lines(Vec<Line>),
    Eof,
    Timeout,
}

pub struct Input {
    rx: Option<Receiver<Chunk>>,
    reader: Option<Reader>,
    lines: Lines,
    pub eof: bool,
}

/// The running stdin thread and the write end of its wake pipe.
struct Reader {
    wake: OwnedFd,
    thread: JoinHandle<Option<Vec<u8>>>,
}

/// What [`Input::close`] found: lines the thread had read but not handed over yet.
pub struct Closed {
    pub lines: Vec<Line>,
}

impl Input {
    pub fn new() -> Self {
        Input {
            rx: None,
            reader: None,
            lines: Lines::default(),
            eof: false,
        }
    }

    pub fn started(&self) -> bool {
        self.rx.is_some()
    }

    fn start(&mut self) -> &Receiver<Chunk> {
        if self.rx.is_none() {
            let (tx, rx) = sync_channel(0);
            // Without a wake pipe the thread could not be stopped; reading still works.
            let (wake_rx, wake_tx) = match rustix::pipe::pipe() {
                Ok((r, w)) => (Some(r), Some(w)),
                Err(_) => (None, None),
            };
            let thread = thread::Builder::new()
                .name("stdin".into())
                .spawn(move || read_loop(tx, wake_rx))
                .ok();
            if let (Some(wake), Some(thread)) = (wake_tx, thread) {
                self.reader = Some(Reader { wake, thread });
            }
            self.rx = Some(rx);
        }
        self.rx.as_ref().expect("set above")
    }

    /// The CLI closes its own stdin (FM-19): stop the reader thread, then point fd 0 at
    /// /dev/null, which closes the pipe's read end, so the supervisor's next write fails with
    /// EPIPE. From here on every wait sees EOF. Input the thread had already read is returned
    /// (split into lines) so it can still be recorded; bytes left in the pipe are lost, as with
    /// the real CLI.
    pub fn close(&mut self) -> std::io::Result<Closed> {
        let mut leftover = Vec::new();
        if let Some(reader) = self.reader.take() {
            // Drop the receiver first: a thread blocked handing over a chunk gives up at once.
            self.rx = None;
            let _ = rustix::io::write(&reader.wake, b"x");
            if let Ok(Some(bytes)) = reader.thread.join() {
                leftover = bytes;
            }
        }
        self.rx = None;
        let devnull = std::fs::File::open("/dev/null")?;
        rustix::stdio::dup2_stdin(devnull.as_fd())?;
        let mut lines = self.lines.push(&leftover);
        if let Got::Lines(last) = self.finish() {
            lines.extend(last);
        }
        self.eof = true;
        Ok(Closed { lines })
    }

    /// Bytes of a line that has started arriving but not ended yet.
    pub fn unfinished_len(&self) -> usize {
        self.lines.pending.len()
    }

    /// Wait until input arrives or `deadline` passes (`None`: wait as long as it takes).
    pub fn wait(&mut self, deadline: Option<Instant>) -> Got {
        if self.eof {
            return Got::Eof;
        }
        let rx = self.start();
        let got = match deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
        };
        match got {
            Ok(Chunk::Data(bytes)) => Got::Lines(self.lines.push(&bytes)),
            Ok(Chunk::Eof) | Err(RecvTimeoutError::Disconnected) => self.finish(),
            Err(RecvTimeoutError::Timeout) => Got::Timeout,
        }
    }

    /// EOF: a final unterminated line is delivered first, then EOF on the next wait.
    fn finish(&mut self) -> Got {
        self.eof = true;
        match self.lines.finish() {
            None => Got::Eof,
            Some(last) => Got::Lines(vec![last]),
        }
    }
}

/// stdin's bytes cut into lines at `\n`, however they were chunked. Nothing is lost: the lines,
/// each followed by `\n` when terminated, are the bytes pushed.
#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// The lines `bytes` completes; an unfinished line waits for more.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Line> {
        self.pending.extend_from_slice(bytes);
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.pending[start..].iter().position(|&b| b == b'\n') {
            lines.push(Line {
                bytes: self.pending[start..start + pos].to_vec(),
                terminated: true,
            });
            start += pos + 1;
        }
        self.pending.drain(..start);
        lines
    }

    /// The input ended: the last line, if it had no `\n`.
    pub fn finish(&mut self) -> Option<Line> {
        (!self.pending.is_empty()).then(|| Line {
            bytes: std::mem::take(&mut self.pending),
            terminated: false,
        })
    }
}

/// One stdin line as the transcript records it and the engine routes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The line, when valid UTF-8 ...
    pub raw: Option<String>,
    /// ... else its bytes in base64.
    pub b64: Option<String>,
    /// The message, or why there is none: `None` for a blank line (not an error), else the
    /// parse error.
    pub msg: Result<Value, Option<String>>,
}

/// Decode a stdin line. Anything a supervisor writes decodes (a bad line is recorded, never
/// fatal to the fake).
pub fn decode(bytes: Vec<u8>) -> Decoded {
    let (raw, b64) = match String::from_utf8(bytes) {
        Ok(s) => (Some(s), None),
        Err(e) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
        ),
    };
    let msg = match &raw {
        Some(s) if s.trim().is_empty() => Err(None),
        Some(s) => serde_json::from_str::<Value>(s).map_err(|e| Some(e.to_string())),
        None => Err(Some("not valid UTF-8".to_string())),
    };
    Decoded { raw, b64, msg }
}

impl Default for Input {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads stdin until EOF, or until `wake` becomes readable ([`Input::close`]). Returns a chunk it
/// read but could not hand over because the engine stopped listening.
fn read_loop(tx: SyncSender<Chunk>, wake: Option<OwnedFd>) -> Option<Vec<u8>> {
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; CHUNK];
    loop {
        STATE.store(READING, Ordering::SeqCst);
        if let Some(wake) = &wake
            && woken(wake)
        {
            STATE.store(IDLE, Ordering::SeqCst);
            return None;
        }
        let got = stdin.read(&mut buf);
        STATE.store(
            if matches!(got, Ok(0)) { CLOSED } else { IDLE },
            Ordering::SeqCst,
        );
        match got {
            Ok(0) => {
                let _ = tx.send(Chunk::Eof);
                return None;
            }
            Ok(n) => {
                if let Err(unsent) = tx.send(Chunk::Data(buf[..n].to_vec())) {
                    return match unsent.0 {
                        Chunk::Data(bytes) => Some(bytes),
                        Chunk::Eof => None,
                    };
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                let _ = tx.send(Chunk::Eof);
                return None;
            }
        }
    }
}

/// Blocks until stdin or `wake` is readable; `true` when it was `wake`. A poll error falls
/// through to a plain blocking read (the thread can then no longer be stopped, only read).
fn woken(wake: &OwnedFd) -> bool {
    let stdin = std::io::stdin();
    loop {
        let mut fds = [
            PollFd::new(&stdin, PollFlags::IN),
            PollFd::new(wake, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => return !fds[1].revents().is_empty(),
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
    }
}
