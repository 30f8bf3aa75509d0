//! stdin: one thread reads chunks into a rendezvous channel; the engine splits them into lines.
//!
//! The thread is started lazily, by the first step that needs input, so a script that writes a
//! burst before reading really does not read stdin (the Multica deadlock, FM-08). The channel has
//! no buffer: while the engine does not receive, the thread holds at most one chunk and the pipe
//! fills up — which is what "stop reading stdin" must mean.

use std::io::Read;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread;
use std::time::Instant;

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
    pending: Vec<u8>,
    pub eof: bool,
}

impl Input {
    pub fn new() -> Self {
        Input {
            rx: None,
            pending: Vec::new(),
            eof: false,
        }
    }

    pub fn started(&self) -> bool {
        self.rx.is_some()
    }

    fn start(&mut self) -> &Receiver<Chunk> {
        self.rx.get_or_insert_with(|| {
            let (tx, rx) = sync_channel(0);
            thread::Builder::new()
                .name("stdin".into())
                .spawn(move || read_loop(tx))
                .ok();
            rx
        })
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
            Ok(Chunk::Data(bytes)) => Got::Lines(self.split(bytes)),
            Ok(Chunk::Eof) | Err(RecvTimeoutError::Disconnected) => self.finish(),
            Err(RecvTimeoutError::Timeout) => Got::Timeout,
        }
    }

    fn split(&mut self, bytes: Vec<u8>) -> Vec<Line> {
        self.pending.extend_from_slice(&bytes);
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

    /// EOF: a final unterminated line is delivered first, then EOF on the next wait.
    fn finish(&mut self) -> Got {
        if self.pending.is_empty() {
            self.eof = true;
            Got::Eof
        } else {
            let bytes = std::mem::take(&mut self.pending);
            self.eof = true;
            Got::Lines(vec![Line {
                bytes,
                terminated: false,
            }])
        }
    }
}

impl Default for Input {
    fn default() -> Self {
        Self::new()
    }
}

fn read_loop(tx: SyncSender<Chunk>) {
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; CHUNK];
    loop {
        STATE.store(READING, Ordering::SeqCst);
        let got = stdin.read(&mut buf);
        STATE.store(
            if matches!(got, Ok(0)) { CLOSED } else { IDLE },
            Ordering::SeqCst,
        );
        match got {
            Ok(0) => {
                let _ = tx.send(Chunk::Eof);
                return;
            }
            Ok(n) => {
                if tx.send(Chunk::Data(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => {
                let _ = tx.send(Chunk::Eof);
                return;
            }
        }
    }
}
