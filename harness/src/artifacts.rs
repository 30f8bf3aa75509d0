//! What one run leaves behind: the plan the adapter was given, its parsed report, the fake's
//! transcript, the supervisor's stderr tail, timings, and any processes that outlived teardown.
//! The runner produces it; invariants, expectations, snapshots and reporters only read it.

use std::path::PathBuf;
use std::time::Duration;

use fake_claude::transcript::Record;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One `{"type":"turn",...}` line of the adapter's report (docs/adapters.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnReport {
    pub index: usize,
    /// `completed`, `failed`, `aborted`, `timeout` or `blocked`.
    pub status: String,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub messages: Vec<Value>,
    /// The supervisor flagged the turn as waiting for a human (absent: no flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_input: Option<bool>,
    /// The session id the supervisor reports for the turn (what a resume continues).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// When the harness read the line: milliseconds since the adapter was spawned.
    #[serde(default, skip)]
    pub at_ms: Option<f64>,
}

/// The `{"type":"end",...}` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndReport {
    /// `ok` or `error`.
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cli_exit_code: Option<i32>,
    #[serde(default)]
    pub cli_signal: Option<i32>,
    /// When the harness read the line: milliseconds since the adapter was spawned.
    #[serde(default, skip)]
    pub at_ms: Option<f64>,
}

/// The adapter's report, validated. `problems` lists every way it broke the contract (garbage
/// lines, bad fields, missing `end`); a broken report is a verdict, never a harness crash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub turns: Vec<TurnReport>,
    /// `{"type":"event",...}` lines, as written.
    pub events: Vec<Value>,
    /// When each event line was read (ms since the adapter's spawn), in step with `events`.
    #[serde(default, skip)]
    pub event_at_ms: Vec<Option<f64>>,
    pub end: Option<EndReport>,
    pub problems: Vec<String>,
}

/// How the adapter process ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdapterExit {
    Code(i32),
    Signal(i32),
    /// Killed by the harness at the run deadline.
    Deadline,
    /// Could not be started at all.
    SpawnFailed(String),
}

/// A process that was still alive after teardown (descendant of the run), then killed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leftover {
    pub pid: u32,
    pub command: String,
    /// Whether it was a fake-claude process or something it spawned.
    pub from_fake: bool,
}

/// Everything about one (supervisor, scenario) run.
#[derive(Debug, Clone)]
pub struct RunArtifacts {
    /// Scenario id, e.g. `seed/cross-turn-notification`.
    pub scenario_id: String,
    pub supervisor: String,
    /// The supervisor's declared policy (`foreground-only`, `background-aware`, ...), if any.
    pub policy: Option<String>,
    /// Run directory (temp dir, kept on failure).
    pub dir: PathBuf,
    /// The drive plan handed to the adapter.
    pub plan: Value,
    pub report: Report,
    /// The fake's transcript, every invocation.
    pub transcript: Vec<Record>,
    pub adapter_exit: AdapterExit,
    /// Last bytes of the adapter's stderr.
    pub stderr_tail: String,
    /// Wall time from spawn to the adapter's exit (or the deadline).
    pub duration: Duration,
    /// The adapter's spawn on the wall clock (ms since the Unix epoch): with each invocation's
    /// `unix_ms`, puts transcript records and report lines on one time axis.
    pub spawned_unix_ms: Option<f64>,
    /// From the adapter's exit to the last fake process being gone.
    pub teardown: Duration,
    /// The supervisor's declared teardown bound.
    pub teardown_bound: Duration,
    pub leftovers: Vec<Leftover>,
}
