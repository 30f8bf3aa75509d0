//! The scenario model: what a scenario file says, as serde types. fake-claude runs `script`; the
//! harness reads `drive` and `expect`. Steps are externally tagged (`- emit: {...}`) so YAML spans
//! survive deserialization and errors point at the right line.
//!
//! Doc comments here become the descriptions in `scenario.schema.json`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

pub use super::duration::Millis;

/// A scripted session of the Claude Code CLI, plus how a supervisor is driven through it and what
/// it is expected to do.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short identifier, e.g. `cross-turn-notification`.
    pub name: String,
    /// What real-world failure this reproduces, for a reader who has never seen it.
    #[serde(default)]
    pub description: String,
    /// Public sources: issue and PR links, catalogue ids (`FM-36`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// CLI version profile whose message shapes are emitted: `2.1.81` or `2.1.330` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Bug switches of the reference supervisor (`supervisors/reference`, `--bug NAME`) this
    /// scenario catches; a test runs each and checks that the verdict fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caught_by: Vec<String>,
    /// The real-world supervisor behaviour this scenario tells apart, for scenarios no bug
    /// switch fails (e.g. "a print-mode supervisor that leaves stdin piped hangs").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinguishes: Option<String>,
    /// Free-form tags for filtering (`turns`, `background`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Capabilities a supervisor must claim for this scenario to apply (e.g. `multi-turn`,
    /// `control-protocol`); others show the scenario as skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Capability>,
    /// The fake ends itself (exit 98, a `watchdog` transcript record) after this long. Default 60s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watchdog: Option<Millis>,
    /// Seed for generated ids (session id, uuids, tool ids). Same seed, same ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// What the fake does on SIGTERM: `exit` with 143 like the real CLI (default), `ignore` it, or
    /// `default` (die by the signal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_sigterm: Option<SigtermPolicy>,
    /// What `claude auth status` reports: `logged_in` with an API key (default) or `logged_out`
    /// (exit 1), for supervisors that probe authentication before a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthState>,
    /// What the CLI does with a stdin line that is not JSON in stream-json mode: `exit` with 1
    /// after the real error on stderr, as the real CLI does (default), or `ignore` it (record it
    /// and read on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_json_stdin: Option<NonJsonStdin>,
    /// Cut every stdout message write that has no split of its own — turn frames, handler
    /// answers, `emit` and `write` steps — into pieces of these sizes: the same bytes with other
    /// write boundaries (a piece can end inside a UTF-8 character). For re-chunking a whole
    /// conversation without touching its steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunking: Option<Chunking>,
    /// Answers to control requests the supervisor may send at any time, by subtype (`initialize`,
    /// `interrupt`, `set_permission_mode`, `set_model`, `mcp_status`, `stop_task`, ... or `*` for any
    /// other). Unlisted subtypes get the profile's default answer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handlers: BTreeMap<String, Handler>,
    /// How the harness drives a supervisor through this scenario.
    #[serde(default)]
    pub drive: Drive,
    /// What the harness expects of the supervisor.
    #[serde(default)]
    pub expect: Expectations,
    /// The steps fake-claude performs, in order. When they run out the fake behaves like an idle
    /// CLI: it answers control requests until stdin closes, then exits 0.
    #[schemars(with = "Vec<Step>")]
    pub script: Vec<Spanned<Step>>,
}

/// Something a supervisor can do. Scenarios list the ones they need (`requires`), supervisor
/// definitions the ones they have (`capabilities`); a closed list, so a misspelling is a load
/// error rather than a scenario that silently never runs. What a supervisor must do to claim
/// each one: docs/supervisors.md.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// One prompt per CLI process.
    OneShot,
    /// Several prompts in one long-lived CLI process, each awaited before the next.
    MultiTurn,
    /// Lets tools run in the background and keeps the session open for their notifications and
    /// injected turns.
    BackgroundAware,
    /// Answers the CLI's `can_use_tool` requests (`--permission-prompt-tool stdio`).
    PermissionPrompts,
    /// Registers the plan's hooks in `initialize` and answers their `hook_callback`s.
    Hooks,
    /// Speaks the SDK control protocol: sends `initialize`, answers every control request, can
    /// send interrupt and the other plan actions.
    ControlProtocol,
    /// Writes prompts as stream-json user messages on stdin (not on argv or as plain text).
    StreamInput,
    /// Reads the conversation as it streams (`--output-format stream-json`): sees every
    /// message, not only the one result print mode's `json`/`text` output gives.
    StreamOutput,
    /// Keeps an idle watchdog per turn (the plan's `idle_timeout_ms`): reset by any CLI output,
    /// paused while the CLI waits on the supervisor, stated apart from the turn deadline.
    IdleTimeout,
    /// Ends the CLI process and resumes the session in a new one (`--resume <id>`) where the
    /// plan says `resume` (a turn's `resume: true`).
    Resume,
}

impl Capability {
    pub const ALL: [Capability; 10] = [
        Capability::OneShot,
        Capability::MultiTurn,
        Capability::BackgroundAware,
        Capability::PermissionPrompts,
        Capability::Hooks,
        Capability::ControlProtocol,
        Capability::StreamInput,
        Capability::StreamOutput,
        Capability::IdleTimeout,
        Capability::Resume,
    ];

    /// The name scenarios and definitions use (`multi-turn`).
    pub fn name(self) -> &'static str {
        match self {
            Capability::OneShot => "one-shot",
            Capability::MultiTurn => "multi-turn",
            Capability::BackgroundAware => "background-aware",
            Capability::PermissionPrompts => "permission-prompts",
            Capability::Hooks => "hooks",
            Capability::ControlProtocol => "control-protocol",
            Capability::StreamInput => "stream-input",
            Capability::StreamOutput => "stream-output",
            Capability::IdleTimeout => "idle-timeout",
            Capability::Resume => "resume",
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthState {
    LoggedIn,
    LoggedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NonJsonStdin {
    /// Print `Error parsing streaming input line …` on stderr and exit 1 (the real CLI).
    Exit,
    /// Record the line and read on.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SigtermPolicy {
    /// Record the signal and exit 143, as the real CLI does.
    Exit,
    /// Record the signal and keep going (a CLI that ignores SIGTERM).
    Ignore,
    /// Die by the signal.
    Default,
}

/// How stdout writes are cut into pieces (see `Scenario::chunking`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chunking {
    /// Piece sizes in bytes, taken in turn and cycled across writes (`[1, 7, 4096]`); zeros are
    /// skipped.
    pub sizes: Vec<usize>,
    /// Pause between the pieces of one write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Millis>,
}

/// How a control request from the supervisor is answered.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Handler {
    /// Answer this long after the request arrives (other input keeps being served meanwhile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Millis>,
    /// Success `response` body to send instead of the profile default. Templates see `request`
    /// (the whole control_request) and the scenario's captures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond: Option<Value>,
    /// Deep-merged into the default success `response` body (objects merge, other values
    /// replace), e.g. `{hooks_applied: false}` on `initialize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<Value>,
    /// Answer with an error response carrying this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Never answer (the request is recorded).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub never: bool,
    /// Do not answer automatically: hand the request to the script, whose `expect` steps can match
    /// it and whose `emit: {control_response: ...}` answers it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub script: bool,
}

// ---------------------------------------------------------------------------------------------
// drive + expect: read by the harness

/// The supervisor's side of the conversation, as a plan the harness hands to the adapter.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Drive {
    /// `multi_turn` (one CLI process, prompts in sequence) or `one_shot` (one prompt, stdin closed
    /// when the run is over). Default: `one_shot` for a single turn, `multi_turn` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DriveMode>,
    /// The prompts, one per turn, with actions to perform during the turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<DriveTurn>,
    /// How long the supervisor should wait for each turn's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_timeout: Option<Millis>,
    /// How long a turn may go without any output from the CLI before the supervisor gives it up
    /// as stalled — reset by every line the CLI writes, paused while the CLI waits on the
    /// supervisor (a pending permission or hook callback). Needs `idle-timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<Millis>,
    /// Hook callbacks the supervisor registers in `initialize` (the CLI then sends
    /// `hook_callback` requests with their ids, `{{ hooks.<event>.<n> }}` in the script), and
    /// how each one answers. Needs the `hooks` capability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<DriveHook>,
    /// How the supervisor's permission callback (`can_use_tool`) behaves: slow, or throwing.
    /// Its decision stays the supervisor's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_use_tool: Option<DriveCallback>,
}

/// A hook the supervisor registers, and what its callback answers.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriveHook {
    /// `PreToolUse`, `PostToolUse`, `UserPromptSubmit`, `Stop`, ...
    pub event: String,
    /// Tool-name matcher (`Bash`, `Write|Edit`); absent: every call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
    /// The hook output the callback returns (`{}` by default): `{decision: block, reason: …}`,
    /// `{continue: false}`, `{hookSpecificOutput: {…}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
    /// The callback takes this long (the supervisor must keep serving other requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Millis>,
    /// The callback throws with this message instead of answering (the supervisor must turn it
    /// into an error response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
}

/// How a supervisor-side callback behaves.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriveCallback {
    /// The callback takes this long before it decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Millis>,
    /// The callback throws with this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriveMode {
    OneShot,
    MultiTurn,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriveTurn {
    /// The prompt text.
    pub prompt: String,
    /// Pad the prompt with filler up to this many bytes (large prompts expose pipe deadlocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_to_bytes: Option<u64>,
    /// Things the supervisor is asked to do during this turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<DriveAction>,
    /// The user submits this prompt while the previous turn is still running (right after the
    /// previous prompt). The supervisor may write it at once — the CLI queues it — or hold it
    /// until the previous turn ends; either way each prompt must resolve once, by its own result.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overlap: bool,
    /// This prompt goes to a new CLI process that resumes the session (`--resume <id>`) once
    /// the current one has ended — as a supervisor that restarts the CLI between messages, or
    /// after a crash. Needs `resume`; not on the first turn.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
}

/// An action the supervisor performs during a turn, `after` its prompt was written.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriveAction {
    /// `interrupt`, `set_permission_mode`, `set_model`, `stop_task`.
    pub kind: String,
    /// Delay after the prompt was written.
    #[serde(default)]
    pub after: Millis,
    /// Parameters of the action (`mode`, `model`, `task_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
}

/// Expected supervisor outcome. Where turns are not written out, the harness derives them from
/// the script: the result emitted in answer to prompt N defines turn N.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Per-turn outcome, in prompt order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<TurnExpect>,
    /// Patterns on what the supervisor wrote to the CLI's stdin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stdin: Vec<StdinExpect>,
    /// Expectations that hold only for supervisors with a given policy (e.g. `foreground-only`,
    /// `background-aware`); merged over the general ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_policy: BTreeMap<String, PolicyExpectations>,
    /// Patterns on the report's event lines (`{"type":"event","name":…,"data":{…}}`), e.g.
    /// `{match: {name: action_skipped}, count: 0}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<StdinExpect>,
    /// The report's `end` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EndExpect>,
    /// The CLI processes the supervisor started (version probes not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocations: Option<InvocationsExpect>,
    /// Built-in invariants this scenario waives, each with the reason why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub waive: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyExpectations {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<TurnExpect>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stdin: Vec<StdinExpect>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<StdinExpect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EndExpect>,
}

/// The CLI processes of the run: how many (`-v` probes not counted), and what each was given.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvocationsExpect {
    /// How many processes ran (exactly N, or `{at_least, at_most}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// The argv of particular ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<ArgvExpect>,
}

/// What invocation `invocation` (1, 2, … among the processes that ran) had on its argv.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgvExpect {
    pub invocation: u32,
    /// Arguments it must have (each exactly, in any position).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<String>,
    /// Arguments it must not have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
}

/// One value or a list of them (`status: failed` or `status: [failed, timeout]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn to_vec(&self) -> Vec<&T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v.iter().collect(),
        }
    }
}

/// What the report's `end` line must say.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndExpect {
    /// `ok` or `error` (or a list of accepted ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OneOrMany<EndStatus>>,
    /// The end's error text must contain each of these (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_contains: Option<OneOrMany<String>>,
    /// ... and none of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_excludes: Option<OneOrMany<String>>,
    /// `cli_exit_code` as reported (`null`: unknown).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub cli_exit_code: Option<Option<i32>>,
    /// `cli_signal` as reported (`null`: none).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub cli_signal: Option<Option<i32>>,
    /// When the end line must arrive (see `expect.turns[].reported`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Timing>,
}

/// A field that may be written as `null`: present-and-null is `Some(None)`, absent is `None`.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndStatus {
    Ok,
    Error,
}

/// How many must match: exactly `N`, or a range `{at_least: N, at_most: M}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Count {
    Exactly(u32),
    Range(CountRange),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnExpect {
    /// `completed`, `failed`, `aborted`, `timeout` or `blocked` — or a list of accepted ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OneOrMany<TurnStatus>>,
    /// The exact output text (`[..]` globs allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The error text must contain this (case-insensitive) — or each of a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_contains: Option<OneOrMany<String>>,
    /// The error text must contain none of these (case-insensitive): what a diagnosis must not
    /// say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_excludes: Option<OneOrMany<String>>,
    /// The supervisor flagged (`true`) or did not flag (`false`) the turn as waiting for a
    /// human: a question the model asked was answered by nobody (FM-51).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_input: Option<bool>,
    /// Patterns on the messages the supervisor surfaced for the turn (the report's `messages`
    /// summaries: `type`, `subtype`, `text`, ...), each with an optional exact `count`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<StdinExpect>,
    /// When the turn's report line must arrive, relative to a record of the run: `{after:
    /// cli_exit, within: 2s}` (the failure is reported promptly), `{after: last_output,
    /// at_least: 1s}` (given up by the idle watchdog, not sooner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Timing>,
}

/// A report line's arrival, measured on one clock with the transcript's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// The record it is measured from.
    pub after: Anchor,
    /// At most this long after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Millis>,
    /// At least this long after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<Millis>,
}

/// A point of the run a report line is timed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The CLI read the turn's prompt (for `end`: the last prompt).
    Prompt,
    /// The CLI wrote the turn's result (for `end`: the last result).
    Result,
    /// The CLI process that had the prompt ended (for `end`: the last one).
    CliExit,
    /// The CLI's last stdout write before the line arrived.
    LastOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TurnStatus {
    Completed,
    Failed,
    Aborted,
    Timeout,
    /// The CLI did not run the prompt: a hook blocked it (FM-29).
    Blocked,
}

/// A pattern on messages: what the supervisor wrote to stdin (`expect.stdin`) or surfaced for a
/// turn (`expect.turns[].messages`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdinExpect {
    /// JSON pattern (subset match; `"{...}"` any value; `[..]` globs in strings).
    #[serde(rename = "match")]
    pub pattern: Value,
    /// How many messages must match (default: at least one): exactly N (0: none may), or
    /// `{at_least: N, at_most: M}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// Why this matters, shown when it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// script: read by fake-claude

/// One step of the script.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Write one message (exact JSON or a shorthand), as one write or split into several.
    Emit(Box<Emit>),
    /// Write several messages in a single write(2).
    Write(WriteMany),
    /// Write raw bytes: no newline implied, invalid UTF-8 possible.
    Raw(Raw),
    /// Write text to stderr, or flood it.
    Stderr(StderrStep),
    /// Write many messages or bytes as fast as the reader drains them.
    Burst(Burst),
    /// Wait for a stdin message matching a pattern.
    Expect(Expect),
    /// Send a control_request to the supervisor and wait for its response.
    Request(Box<Request>),
    /// Pause (stdin keeps being served: control requests are answered meanwhile).
    Sleep(Millis),
    /// Wait until stdin is closed.
    WaitEof(WaitEof),
    /// Stop making progress: keep reading stdin (or not) and write nothing, until killed or the
    /// watchdog fires.
    Hang(Hang),
    /// Close the fake's own stdin (fd 0 now reads /dev/null) and go on: the supervisor's next
    /// write fails with EPIPE while stdout stays open (FM-19). Later reads see EOF.
    CloseStdin(CloseStdin),
    /// Exit with this code.
    Exit(i32),
    /// Send this signal to itself (`SIGTERM`, `SIGKILL`, `SIGINT`, `SIGSEGV`, ...).
    Kill(String),
    /// Start a grandchild process that outlives the fake.
    Spawn(Spawn),
    /// Run steps depending on how the fake was invoked (argv, env).
    If(Box<If>),
    /// Run steps repeatedly.
    Repeat(Box<Repeat>),
    /// A whole turn: wait for a prompt, then init, the body (default: one assistant text), result.
    Turn(Box<TurnStep>),
    /// An unsolicited turn (init, assistant, result) as the CLI runs after a task notification.
    InjectedTurn(Box<InjectedTurn>),
    /// The model calls a tool: the assistant tool_use, then what the CLI makes of it under the
    /// invocation's permission settings — run it, ask the supervisor (`can_use_tool`), deny it,
    /// or report it unavailable — and, for `run_in_background: true`, a background launch.
    /// The outcome lands in a variable (`as`, default `tool`) and picks a branch.
    Tool(Box<ToolStep>),
    /// Replace control-request handlers from here on.
    Handlers(BTreeMap<String, Handler>),
    /// Set template variables.
    Set(BTreeMap<String, Value>),
    /// Record a note in the transcript.
    Note(String),
    /// End the script as a failed expectation (exit 97) with this message: for an `if` branch
    /// that has caught the supervisor doing something wrong (e.g. approving a question with no
    /// answers).
    Fail(String),
}

/// A message to write. Exactly one message kind must be given; `with`/`without` adjust the
/// generated message; the write options say how it reaches the pipe.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Emit {
    /// An exact message, written as given (templates substituted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// `system/init` (first frame of every turn).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub init: Option<Empty>,
    /// An assistant message with one content block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant: Option<AssistantSpec>,
    /// A `user` message carrying a tool_result block and the top-level `tool_use_result`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<ToolResultSpec>,
    /// A `user` message with text content (e.g. `[Request interrupted by user]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_text: Option<String>,
    /// The turn's `result`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<ResultSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_started: Option<TaskStartedSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_progress: Option<TaskProgressSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_updated: Option<TaskUpdatedSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_notification: Option<TaskNotificationSpec>,
    /// `system/background_tasks_changed` listing these task ids (2.1.330).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_tasks_changed: Option<Vec<BackgroundTask>>,
    /// `system/session_state_changed` (`idle`, `running`, `requires_action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    /// `system/status` with this permission mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_denied: Option<PermissionDeniedSpec>,
    /// A control_request to the supervisor, not awaited (use `request` to await the answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_request: Option<ControlRequestSpec>,
    /// An answer to a control request the supervisor sent (see handlers' `script`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_response: Option<ControlResponseSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_cancel_request: Option<CancelSpec>,
    /// A `stream_event` wrapping this raw Messages-API event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_event: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_event: Option<RateLimitSpec>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub keep_alive: Option<Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_retry: Option<ApiRetrySpec>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub compact_boundary: Option<CompactSpec>,
    /// Deep-merged over the generated message (objects merge, other values replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<Value>,
    /// Dotted paths removed from the generated message (e.g. `message.model`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without: Vec<String>,
    /// Split the line into this many writes of near-equal size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<u32>,
    /// Split the line at these byte offsets (may fall inside a UTF-8 character).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_at: Option<Vec<usize>>,
    /// Pause between the writes of a split line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Millis>,
    /// `false`: write the line without its final newline (a last line cut at EOF; a message the
    /// next write runs into). Recorded as raw bytes; the judge reads it as the supervisor could.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newline: Option<bool>,
    /// Write only the first N bytes of the line (no newline): a message cut short, as by a CLI
    /// killed mid-write. May cut inside a UTF-8 character.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate_at: Option<usize>,
    /// The message belongs to a turn the CLI started on its own (after a task notification):
    /// the harness attributes a result written so to no prompt. For `json` results, which carry
    /// no `origin` on CLI 2.1.81 (recorded sessions); the shorthand says `result: {injected: true}`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub injected: bool,
}

/// `close_stdin`: at once, or in the middle of the supervisor's next long line.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseStdin {
    /// First keep reading (control requests are answered, messages kept) until a line has
    /// arrived for more than this many bytes without its end, then close with that line
    /// unfinished; its bytes are dropped, as by a CLI that stopped reading. The writer of a line
    /// longer than these bytes plus what the pipe holds gets EPIPE however early it started,
    /// after whatever it wrote before (initialize, earlier prompts) was read and answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid_line_over: Option<u64>,
}

/// An empty mapping (`{}`) or nothing.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistantSpec {
    /// A text block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A generated text block of exactly this many bytes (huge lines without storing them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_bytes: Option<u64>,
    /// A thinking block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// A tool_use block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use: Option<ToolUseSpec>,
    /// Set for sub-agent frames: the launching Agent tool_use id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_tool_use_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolUseSpec {
    /// Tool use id; generated (`toolu_...`) when absent and captured as `last_tool_use_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub input: Value,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolResultSpec {
    /// Defaults to the last tool_use id emitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// The tool_result content: a string or a list of content blocks.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub content: Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
    /// The top-level structured `tool_use_result` (e.g. `{status: async_launched, ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_result: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultSpec {
    /// `success` (default), `error_during_execution`, `error_max_turns`, `error_max_budget_usd`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    /// The result text (success). Defaults to the last assistant text of the turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Generated result text of exactly this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_bytes: Option<u64>,
    /// Defaults to false for success, true for error subtypes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Error strings for error subtypes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
    /// Mark as an injected turn's result (`origin.kind = task-notification` on 2.1.330).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub injected: bool,
    /// `terminal_reason` (2.1.330): `completed`, `aborted_streaming`, `aborted_tools`, `api_error`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskStartedSpec {
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `local_bash` (default), `local_agent`, `local_workflow`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// Agent tasks: the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskProgressSpec {
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tool_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdatedSpec {
    pub task_id: String,
    /// pending, running, paused, completed (default), failed, killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskNotificationSpec {
    pub task_id: String,
    /// completed (default), failed, stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackgroundTask {
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionDeniedSpec {
    pub tool_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A CLI-initiated control request. Exactly one kind.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlRequestSpec {
    /// Request id; a fresh UUID when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_use_tool: Option<CanUseToolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_callback: Option<HookCallbackSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_message: Option<McpMessageSpec>,
    /// Any other request body, written as given (must carry `subtype`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanUseToolSpec {
    pub tool_name: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub input: Value,
    /// Defaults to the last tool_use id emitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookCallbackSpec {
    /// e.g. `hook_0`.
    pub callback_id: String,
    /// `PreToolUse` (default), `PostToolUse`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_event_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// The prompt, for `UserPromptSubmit` (which carries no tool fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpMessageSpec {
    pub server_name: String,
    /// The JSON-RPC message.
    pub message: Value,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlResponseSpec {
    pub request_id: String,
    /// Success body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// Error text (makes it an error response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSpec {
    pub request_id: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// `allowed`, `allowed_warning` (default), `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiRetrySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompactSpec {
    /// `auto` (default) or `manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_tokens: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteMany {
    /// Messages concatenated (each newline-terminated) into one write.
    pub messages: Vec<Emit>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Text written as UTF-8 (templates substituted). No newline is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Bytes as hex (`"7b 22 ff 0a"`; spaces ignored): invalid UTF-8 possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Write the bytes this many times in one write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_at: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Millis>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StderrStep {
    /// Text to write (a newline is added unless it ends with one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Flood: write this many bytes of filler lines (`[DEBUG] ...`) in chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flood_bytes: Option<u64>,
    /// Chunk size for the flood (default 8 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    /// Number of messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Total bytes: repeat the message (padded filler by default) until this many bytes are out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The message repeated; default a padded `system/status` frame, which SDKs accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<Emit>>,
    /// Messages per write (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_write: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// JSON pattern the message must match (subset match, `"{...}"` any value, `[..]` globs).
    #[serde(rename = "match")]
    pub pattern: Value,
    /// Captures: variable name → dotted path into the matched message (`request_id`, `uuid`,
    /// `request.input.command`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capture: BTreeMap<String, String>,
    /// Give up after this long (default: wait until stdin closes or the watchdog fires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Millis>,
    /// What to do when the timeout passes. Default `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnMiss>,
    /// What to do when stdin closes before a match. Default `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_eof: Option<OnMiss>,
    /// Fail at once if a message that does not match arrives (default: non-matching messages
    /// stay queued for later steps).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    /// Only wait for the message: leave it queued for a later step (e.g. wait until prompt 2
    /// has arrived, then let a `turn` take it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep: bool,
}

/// What a step does when what it waited for does not come.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OnMiss {
    /// End the run with the documented "expectation failed" exit code (97).
    Fail,
    /// Go on with the next step.
    Continue,
    /// Leave the innermost `repeat` and go on after it.
    Break,
    /// Exit with this code.
    Exit(i32),
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Request id; a fresh UUID when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_use_tool: Option<CanUseToolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_callback: Option<HookCallbackSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_message: Option<McpMessageSpec>,
    /// Any other request body (must carry `subtype`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<Value>,
    /// Captures from the response message (`response.response.behavior`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capture: BTreeMap<String, String>,
    /// Pattern the response must match (e.g. `{response: {subtype: success}}`).
    #[serde(default, rename = "expect", skip_serializing_if = "Option::is_none")]
    pub expect_response: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Millis>,
    /// Default `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnMiss>,
    /// Default `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_eof: Option<OnMiss>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitEof {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Millis>,
    /// Default `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnMiss>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hang {
    /// Keep reading (and recording) stdin while hanging. Default true; false leaves the pipe
    /// undrained so the supervisor's writes eventually block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_stdin: Option<bool>,
    /// Stop hanging after this long (default: forever, i.e. until the watchdog).
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Millis>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spawn {
    /// The grandchild inherits stdout (and stderr), keeping the pipes open after the fake exits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hold_stdout: bool,
    /// The grandchild ignores SIGTERM.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_sigterm: bool,
    /// How long the grandchild lives (default 300s) — bounded so nothing leaks forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<Millis>,
}

/// A condition on the invocation; all given parts must hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// argv has this flag (`--resume`; both `--flag value` and `--flag=value` forms count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// ... with this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Environment variables with these values (`"{...}"`: set to anything).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The profile is one of these versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// A template variable equals this (`{var: name, equals: value}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// The command line — the program and argv joined by spaces, each quoted as Windows'
    /// `CreateProcess` would need — is longer than this many characters (32767 is Windows'
    /// limit: `spawn ENAMETOOLONG`, error 206).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line_over: Option<u64>,
    /// Some single argument is longer than this many bytes (131072 is Linux's per-argument
    /// limit, `MAX_ARG_STRLEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument_over: Option<u64>,
    /// Negate the whole condition.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct If {
    pub when: Condition,
    #[schemars(with = "Vec<Step>")]
    pub then: Vec<Spanned<Step>>,
    #[serde(default, rename = "else", skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<Step>")]
    pub otherwise: Vec<Spanned<Step>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Number of iterations (default: until a step says `break` or the run ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
}

/// A turn answering a prompt: waits for a `user` message (captured as `prompt`), then writes
/// `session_state running` (when the supervisor asked for state frames), `system/init`, the body,
/// the `result`, and `session_state idle`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnStep {
    /// Pattern the prompt must match (default: any `user` message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<Value>,
    /// Reply text for the default body and the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// Steps between init and result (default: one assistant text block with `reply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<Step>>")]
    pub steps: Option<Vec<Spanned<Step>>>,
    /// The result's shape (`subtype`, `text`, `is_error`, `errors`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultSpec>,
    /// Deep-merged over the generated result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_with: Option<Value>,
    /// Dotted paths removed from the generated result (`[duration_api_ms]`: a result missing a
    /// documented key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub result_without: Vec<String>,
    /// Write `session_state idle` after the result (default true; false while background work
    /// is still owed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<bool>,
    /// Messages that follow the result at once — typically the next turn's `init: {}` (FM-24).
    /// They go out in the same write(2) as the result and its trailing frames, so a reader sees
    /// them in the same read, whatever the timing: the order the supervisor observes is fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Emit>,
    /// Stdin closed before a prompt came: default `exit: 0`, as the real CLI does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_eof: Option<OnMiss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnMiss>,
}

/// A tool call as the model makes it. The scenario states the call once; the fake derives what
/// the CLI does with it (see `scenarios/README.md#the-permission-model`):
/// * allowed without asking (bypassPermissions, an `--allowedTools` rule, a read-only call, an
///   edit under acceptEdits) → it runs;
/// * default mode with `--permission-prompt-tool stdio` → `can_use_tool`; `allow` runs it with the
///   supervisor's `updatedInput` (a supervisor that rewrites `run_in_background` to false gets a
///   foreground run), `deny` refuses it with the supervisor's message;
/// * otherwise refused (`system/permission_denied`, an error tool_result), or, for a tool
///   `--disallowedTools` removed, the "No such tool available" error.
///
/// Running means a foreground tool_result with `output`, or — when the effective input says
/// `run_in_background: true` for Bash or Agent/Task — the real CLI's launch frames
/// (`background_tasks_changed`, `task_started`, a tool_result whose `tool_use_result` has
/// `backgroundTaskId` or `status: async_launched`).
///
/// The variable `as` (default `tool`) is `{outcome: ran|launched|denied|unavailable,
/// decided_by: cli|supervisor, reason, input, task_id, tool_use_id}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolStep {
    /// Tool name: `Bash`, `Agent`, `Write`, `mcp__server__tool`, ...
    pub name: String,
    /// The input the model gives (templates substituted).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub input: Value,
    /// The tool_use id; generated (`toolu_msg_NNN`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool_result content when it runs in the foreground: a string or content blocks
    /// (default `""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The top-level `tool_use_result` of a foreground run (default: Bash's stdout shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_result: Option<Value>,
    /// The background task a launch starts (ids generated when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<ToolBackground>,
    /// The `can_use_tool` request id when the CLI asks (a fresh UUID when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// How long to wait for the permission answer (default: until stdin closes, as the real
    /// CLI waits for ever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Millis>,
    /// No answer before `timeout`: default `fail`; `continue` writes the CLI's "Tool permission
    /// request failed" error result and takes the `denied` branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<OnMiss>,
    /// Stdin closed with the question pending: default `continue` — the CLI fails the call
    /// (`Tool permission request failed: AbortError: …`), takes `denied`, and the turn goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_eof: Option<OnMiss>,
    /// Steps after it ran in the foreground.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<Step>")]
    pub ran: Vec<Spanned<Step>>,
    /// Steps after a background launch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<Step>")]
    pub launched: Vec<Spanned<Step>>,
    /// Steps after a denial (by the CLI or the supervisor), a failed permission request, or an
    /// unavailable tool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<Step>")]
    pub denied: Vec<Spanned<Step>>,
    /// Name of the outcome variable (default `tool`).
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub as_: Option<String>,
}

/// The background task a launching tool call starts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolBackground {
    /// Task id (Bash: 9 characters like `b48lfacha`; Agent: 17 hex digits). Generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Task description (default: the input's `description`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An injected turn: `system/init`, assistant text, a result marked as injected.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InjectedTurn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<Step>>")]
    pub steps: Option<Vec<Spanned<Step>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<bool>,
}

/// `null` means "present with defaults"; absent stays `None` (via `#[serde(default)]`).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

impl Request {
    /// The request part, in the shape `emit: {control_request: ...}` takes.
    pub fn spec(&self) -> ControlRequestSpec {
        ControlRequestSpec {
            request_id: self.request_id.clone(),
            can_use_tool: self.can_use_tool.clone(),
            hook_callback: self.hook_callback.clone(),
            mcp_message: self.mcp_message.clone(),
            other: self.other.clone(),
        }
    }
}
