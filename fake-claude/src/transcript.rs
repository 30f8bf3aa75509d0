//! The transcript: an append-only JSONL record of one or more fake-claude invocations — argv and
//! env, every write to stdout/stderr (with the time it spent blocked), every stdin line, each
//! step's outcome, and how the process ended. fake-claude writes it; the harness reads it with the
//! same types. Format documented in `docs/transcript.md`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use rustix::fs::FlockOperation;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One line of the transcript. `inv` numbers the invocations that appended to the file (1, 2,
/// ...); `t` is seconds since that invocation started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub inv: u32,
    pub t: f64,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The invocation: argv (after `--fake-*` flags were removed), the environment variables that
    /// steer the CLI, cwd, pid, the profile and scenario in force.
    Start {
        argv: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: String,
        pid: u32,
        profile: String,
        scenario: String,
        /// `-v`/`--version` probe: nothing else follows but `exit`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        version_probe: bool,
        /// Wall-clock start, milliseconds since the Unix epoch: puts this invocation's `t` on a
        /// clock the harness shares (report lines are timestamped on arrival).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unix_ms: Option<f64>,
    },
    /// One write(2) to stdout (or one scripted write, if the kernel took it in pieces).
    Stdout {
        /// Bytes written.
        len: u64,
        /// Messages this write completed (whole-message writes and the last part of a split).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msgs: Option<Vec<Value>>,
        /// Raw bytes, as text when valid UTF-8 ...
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// ... or base64 when not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        b64: Option<String>,
        /// `[i, n]`: this is part i (1-based) of a message split into n writes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        part: Option<[u32; 2]>,
        /// A burst, summarized: this many messages in `len` bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        burst: Option<u64>,
        /// Microseconds the write call was blocked (a reader that does not drain shows here).
        blocked_us: u64,
        /// Scenario location of the step that wrote it, or `handler:<subtype>`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    Stderr {
        len: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// A flood, summarized: text is omitted.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        flood: bool,
        blocked_us: u64,
    },
    /// One line read from stdin.
    Stdin {
        /// The line without its newline, when valid UTF-8.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        b64: Option<String>,
        /// The parsed message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        msg: Option<Value>,
        /// Why it did not parse.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The line came without a trailing newline (stdin closed right after it).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unterminated: bool,
        /// A print-mode prompt rather than a stream-json line: `argv` (the positional prompt),
        /// `stdin` (plain text read to EOF) or `argv+stdin` (both, joined by a newline). `raw` is
        /// the prompt text and `msg` the user message the CLI made of it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    StdinEof,
    /// Messages the CLI made that its print-mode output format does not write (`--output-format
    /// text` prints only result texts; `json` only the last result, or with `--verbose` every
    /// message at the end): the supervisor never sees them as they happen.
    Held {
        msgs: Vec<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// A step finished: `matched`, `timed_out`, `eof`, `mismatched`, `answered`, `done`, ...
    Step {
        at: String,
        step: String,
        outcome: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        captures: Option<Map<String, Value>>,
        /// The message a `request` step got back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response: Option<Value>,
    },
    /// A supervisor control request handled outside the script (profile default or handler).
    Control {
        request_id: String,
        subtype: String,
        /// `answered`, `error`, `delayed`, `never`, `to_script`.
        action: String,
    },
    /// A signal arrived.
    Signal {
        signal: String,
        action: String,
        /// What stdin looked like then: `open` (the fake was blocked reading it, so the
        /// supervisor had not closed it), `closed` (EOF was read); absent when it cannot tell.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stdin: Option<String>,
    },
    /// A write to `stream` (`stdout`/`stderr`) has been blocked for `after_ms` and still is: the
    /// supervisor is not reading. Written while the write is blocked, so it is on the record
    /// even when the write never completes.
    WriteStalled {
        stream: String,
        after_ms: u64,
    },
    /// The supervisor closed the CLI's stderr (EPIPE on a stderr write): what the CLI says
    /// about its failures is lost. Recorded once; later stderr writes are dropped.
    StderrClosed {
        blocked_us: u64,
    },
    /// stdout was closed by the reader (EPIPE): the run ends cleanly. `blocked_us`: how long the
    /// failing write was blocked first (a reader that stopped reading, then went away).
    StdoutClosed {
        #[serde(default)]
        blocked_us: u64,
    },
    /// The watchdog ended the run.
    Watchdog {
        after_ms: u64,
    },
    /// A grandchild was started.
    Spawned {
        pid: u32,
    },
    Note {
        text: String,
    },
    /// The fake is about to kill itself with a signal.
    Kill {
        signal: String,
    },
    /// The process exits with this code.
    Exit {
        code: i32,
    },
}

/// Appends records to the transcript file, if one was asked for. Each record is one write of one
/// line on an O_APPEND file, so concurrent invocations never interleave within a line.
pub struct Transcript {
    file: Option<Mutex<Appender>>,
    inv: u32,
    start: Instant,
}

struct Appender {
    file: File,
    /// The exclusive lock taken to number this invocation is still held: released once the
    /// first record (the `start`) is out, so numbers follow the order of `start` records.
    locked: bool,
}

impl Transcript {
    pub fn disabled() -> Self {
        Transcript {
            file: None,
            inv: 1,
            start: Instant::now(),
        }
    }

    /// Opens (creating) the transcript for appending; the invocation number is one more than
    /// the last invocation's in it. Only the file's tail is read, so opening costs the same
    /// however many invocations came before; an exclusive `flock` held until this invocation's
    /// first record keeps two invocations starting at once from taking the same number.
    /// When `t = 0` was on the wall clock, in milliseconds since the Unix epoch.
    pub fn start_unix_ms(&self) -> f64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        now.saturating_sub(self.start.elapsed()).as_secs_f64() * 1000.0
    }

    pub fn open(path: &Path, start: Instant) -> std::io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        let locked = lock_for_numbering(&file);
        let inv = last_invocation(&mut file).unwrap_or(0) + 1;
        Ok(Transcript {
            file: Some(Mutex::new(Appender { file, locked })),
            inv,
            start,
        })
    }

    /// This invocation's number in the transcript (1 without one).
    pub fn invocation(&self) -> u32 {
        self.inv
    }

    pub fn enabled(&self) -> bool {
        self.file.is_some()
    }

    pub fn elapsed(&self) -> f64 {
        (self.start.elapsed().as_micros() as f64) / 1e6
    }

    pub fn record(&self, event: Event) {
        let Some(file) = &self.file else { return };
        let rec = Record {
            inv: self.inv,
            t: self.elapsed(),
            event,
        };
        let Ok(mut line) = serde_json::to_vec(&rec) else {
            return;
        };
        line.push(b'\n');
        // A poisoned lock only means another thread panicked mid-write; keep recording.
        let mut a = file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = a.file.write_all(&line);
        if a.locked {
            a.locked = false;
            let _ = rustix::fs::flock(&a.file, FlockOperation::Unlock);
        }
    }
}

/// Take the numbering lock, waiting at most [`LOCK_WAIT`]: an invocation that holds it and
/// never records (`--fake-check`, or one stuck before its `start`) must not hang the next one,
/// which then numbers without it. Advisory: a filesystem without flock numbers right as long as
/// starts do not race.
fn lock_for_numbering(file: &File) -> bool {
    let until = Instant::now() + LOCK_WAIT;
    loop {
        match rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return true,
            Err(rustix::io::Errno::WOULDBLOCK) if Instant::now() < until => {
                // Held by an invocation between its open and its first record: a moment.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(_) => return false,
        }
    }
}

const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How far back [`last_invocation`] reads at a time.
const TAIL_BLOCK: u64 = 64 << 10;

/// The `inv` of the last `start` record in the file (0 when there is none), reading backwards
/// from the end: the cost is the size of the last invocation's records, not of the file.
fn last_invocation(file: &mut File) -> std::io::Result<u32> {
    let mut end = file.metadata()?.len();
    // The partial line at the front of the block read last: it continues into that block.
    let mut carry: Vec<u8> = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(TAIL_BLOCK);
        let mut buf = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        buf.extend_from_slice(&carry);
        // Lines wholly inside `buf`: all of it at the file's start, else after its first `\n`.
        let whole = if start == 0 {
            0
        } else {
            match buf.iter().position(|&b| b == b'\n') {
                Some(p) => p + 1,
                None => {
                    carry = buf;
                    end = start;
                    continue;
                }
            }
        };
        if let Some(inv) = buf[whole..]
            .rsplit(|&b| b == b'\n')
            .find_map(start_record_inv)
        {
            return Ok(inv);
        }
        buf.truncate(whole);
        carry = buf;
        end = start;
    }
    Ok(0)
}

/// `Some(inv)` when `line` is a `start` record. The cheap substring test goes first; the parse
/// then makes sure `start` is the record's own kind, not a value nested in a message.
fn start_record_inv(line: &[u8]) -> Option<u32> {
    #[derive(Deserialize)]
    struct Head {
        inv: u32,
        kind: String,
    }
    let needle = br#""kind":"start""#;
    if !line.windows(needle.len()).any(|w| w == needle) {
        return None;
    }
    serde_json::from_slice::<Head>(line)
        .ok()
        .filter(|h| h.kind == "start")
        .map(|h| h.inv)
}

/// The bytes a raw `stdout` record carries: its `text`, or its `b64` decoded (empty if neither
/// or not valid base64).
pub fn raw_bytes(text: Option<&str>, b64: Option<&str>) -> Vec<u8> {
    use base64::Engine as _;
    match (text, b64) {
        (Some(t), _) => t.as_bytes().to_vec(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b)
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Reads a transcript file. Lines that do not parse are reported with their line number.
pub fn read(path: &Path) -> Result<Vec<Record>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read transcript {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}:{e}", path.display()))
}

pub fn parse(text: &str) -> Result<Vec<Record>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{}: {e}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_invocation_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        for _ in 0..2 {
            let t = Transcript::open(&p, Instant::now()).unwrap();
            t.record(Event::Start {
                argv: vec!["-v".into()],
                env: BTreeMap::new(),
                cwd: "/".into(),
                pid: 1,
                profile: "2.1.330".into(),
                scenario: "default".into(),
                version_probe: true,
                unix_ms: None,
            });
            t.record(Event::Exit { code: 0 });
        }
        let recs = read(&p).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0].inv, 1);
        assert_eq!(recs[3].inv, 2);
        assert_eq!(recs[3].event, Event::Exit { code: 0 });
    }

    fn start_line(inv: u32) -> String {
        format!(
            "{{\"inv\":{inv},\"t\":0.001,\"kind\":\"start\",\"argv\":[],\"env\":{{}},\"cwd\":\"/\",\"pid\":1,\"profile\":\"2.1.330\",\"scenario\":\"s\"}}\n"
        )
    }

    fn next_inv(text: &str) -> u32 {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        std::fs::write(&p, text).unwrap();
        Transcript::open(&p, Instant::now()).unwrap().inv
    }

    #[test]
    fn numbering_reads_the_tail_across_blocks() {
        assert_eq!(next_inv(""), 1);
        // Invocation 7's records span several tail blocks; its start is far from the end.
        let mut text = String::new();
        for i in 1..=7 {
            text += &start_line(i);
        }
        let filler = "{\"inv\":7,\"t\":0.2,\"kind\":\"note\",\"text\":\"x\"}\n";
        text += &filler.repeat((3 * TAIL_BLOCK as usize) / filler.len() + 5);
        assert_eq!(next_inv(&text), 8);
        // One line longer than a block, and a torn last line (a record cut short by SIGKILL).
        let long = format!(
            "{{\"inv\":7,\"t\":0.3,\"kind\":\"note\",\"text\":\"{}\"}}\n",
            "y".repeat(2 * TAIL_BLOCK as usize)
        );
        assert_eq!(next_inv(&format!("{text}{long}{{\"inv\":7,\"t\"")), 8);
    }

    #[test]
    fn only_the_records_own_kind_counts() {
        // A supervisor's message that happens to hold `"kind":"start"` is not an invocation.
        let text = format!(
            "{}{{\"inv\":2,\"t\":0.1,\"kind\":\"stdin\",\"msg\":{{\"kind\":\"start\",\"inv\":9}}}}\n",
            start_line(2)
        );
        assert_eq!(next_inv(&text), 3);
    }

    #[test]
    fn an_invocation_that_never_records_does_not_block_the_next_for_long() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        let holder = Transcript::open(&p, Instant::now()).unwrap();
        let t0 = Instant::now();
        let next = Transcript::open(&p, Instant::now()).unwrap();
        assert!(t0.elapsed() < LOCK_WAIT + std::time::Duration::from_secs(5));
        assert_eq!((holder.inv, next.inv), (1, 1));
        // Once the holder's start is out, the lock is free at once.
        holder.record(Event::Exit { code: 0 });
        next.record(Event::Exit { code: 0 });
        let t1 = Instant::now();
        assert!(Transcript::open(&p, Instant::now()).unwrap().enabled());
        assert!(t1.elapsed() < LOCK_WAIT);
    }
}
