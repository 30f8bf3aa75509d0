//! The transcript: an append-only JSONL record of one or more fake-claude invocations — argv and
//! env, every write to stdout/stderr (with the time it spent blocked), every stdin line, each
//! step's outcome, and how the process ended. fake-claude writes it; the harness reads it with the
//! same types. Format documented in `docs/transcript.md`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

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
    },
    StdinEof,
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
    file: Option<Mutex<File>>,
    inv: u32,
    start: Instant,
}

impl Transcript {
    pub fn disabled() -> Self {
        Transcript {
            file: None,
            inv: 1,
            start: Instant::now(),
        }
    }

    /// Opens (creating) the transcript for appending; the invocation number is one more than the
    /// number of invocations already in it.
    pub fn open(path: &Path, start: Instant) -> std::io::Result<Self> {
        let inv = count_invocations(path) + 1;
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Transcript {
            file: Some(Mutex::new(file)),
            inv,
            start,
        })
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
        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.write_all(&line);
    }
}

fn count_invocations(path: &Path) -> u32 {
    let mut buf = Vec::new();
    if File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .is_err()
    {
        return 0;
    }
    let needle = br#""kind":"start""#;
    buf.windows(needle.len()).filter(|w| w == needle).count() as u32
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
            });
            t.record(Event::Exit { code: 0 });
        }
        let recs = read(&p).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0].inv, 1);
        assert_eq!(recs[3].inv, 2);
        assert_eq!(recs[3].event, Event::Exit { code: 0 });
    }
}
