//! Turn attribution: which `result` answers which prompt.
//!
//! The CLI writes exactly one `result` per turn, but not every turn is ours: when a background
//! task finishes, the CLI starts an *injected* turn on its own (`system/init`, `assistant`,
//! `result`) to tell the model. A supervisor that takes "the next result" as the answer to its
//! prompt is off by one from then on (anthropics/claude-agent-sdk-python#788, FM-36/FM-37).
//!
//! A `result` is classified with the strongest evidence available:
//! 1. `origin.kind` present and not `"human"` → injected (CLI 2.1.330 marks injected turns);
//! 2. `user_message_uuid` / `user_message_uuids` present → it answers the prompt with that uuid
//!    (ours if it is the outstanding prompt, otherwise not ours);
//! 3. neither (CLI 2.1.81): by the *segment* it closes. A segment starts at `system/init`; it is
//!    injected when it started after a `task_notification` whose injected turn has not run yet,
//!    or when a `user` message with a non-human `origin` appears in it; it is ours when it
//!    started while our prompt was waiting to start; otherwise it is unknown, and an unknown
//!    segment's result is ours if a prompt of ours is outstanding (the CLI may write `init` before
//!    the prompt arrives, FM-24) unless a task notification is still owed.
//!
//! Messages are buffered per segment and handed over with the result that closes it, so a turn's
//! `messages` never include an injected turn's frames, even when the evidence (an `origin` on
//! the result) only arrives at the end.
//!
//! The tracker also follows background tasks (`task_started` → `task_notification` /
//! terminal `task_updated`) so the session knows when nothing is in flight any more.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::policy::{self, AsyncLaunch};
use crate::report::{self, TurnStatus};

/// Why a result was not attributed to a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotOurs {
    /// `origin.kind` says so (e.g. `task-notification`).
    Origin,
    /// It carries the uuid of a prompt that is not the outstanding one.
    OtherPromptUuid,
    /// A `user` message with a non-human `origin` opened its turn.
    InjectedUserMessage,
    /// Its turn started after a `task_notification` whose injected turn was still owed.
    AfterTaskNotification,
    /// No prompt of ours was waiting for a result.
    Unsolicited,
}

impl NotOurs {
    pub fn as_str(self) -> &'static str {
        match self {
            NotOurs::Origin => "origin",
            NotOurs::OtherPromptUuid => "other_prompt_uuid",
            NotOurs::InjectedUserMessage => "injected_user_message",
            NotOurs::AfterTaskNotification => "after_task_notification",
            NotOurs::Unsolicited => "unsolicited",
        }
    }
}

/// What the tracker decided about a batch of messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// The outstanding prompt's own result, with every message surfaced for that turn.
    TurnResult {
        index: usize,
        result: Value,
        messages: Vec<Value>,
        async_launch: Option<AsyncLaunch>,
    },
    /// A result that answers no prompt of ours (an injected turn), with its turn's messages.
    Injected {
        result: Value,
        reason: NotOurs,
        messages: Vec<Value>,
        async_launch: Option<AsyncLaunch>,
    },
    /// Messages of a segment that ended without a result and belong to no prompt.
    Stray { messages: Vec<Value> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Owner {
    #[default]
    Unknown,
    Ours,
    Injected(NotOurs),
}

#[derive(Debug, Default)]
struct Segment {
    owner: Owner,
    messages: Vec<Value>,
    async_launch: Option<AsyncLaunch>,
}

#[derive(Debug)]
struct Outstanding {
    index: usize,
    /// The uuid our prompt carried; `None` when we sent none (headless), so the CLI's own.
    uuid: Option<String>,
    /// A `system/init` has been attributed to it.
    started: bool,
    /// Messages from earlier segments of this turn (a segment can end without a result).
    messages: Vec<Value>,
    async_launch: Option<AsyncLaunch>,
}

#[derive(Debug)]
pub struct TurnTracker {
    /// Bug switch `last-result-wins`: the first result after a prompt is its answer, whatever it is.
    last_result_wins: bool,
    outstanding: Option<Outstanding>,
    segment: Segment,
    /// Background tasks started and not yet terminal.
    in_flight: BTreeSet<String>,
    /// Tasks whose `task_notification` arrived and whose injected turn has not started yet.
    owed: BTreeSet<String>,
}

/// Message kinds that are run-level bookkeeping rather than part of a turn's conversation: task
/// lifecycle frames (reported as events by the session), session-state and lifecycle markers.
fn is_bookkeeping(kind: &str, subtype: &str) -> bool {
    matches!(
        (kind, subtype),
        (
            "system",
            "task_started" | "task_progress" | "task_notification" | "task_updated"
        ) | (
            "system",
            "background_tasks_changed" | "session_state_changed"
        ) | ("command_lifecycle" | "keep_alive", _)
    )
}

/// `origin.kind` when present and not `"human"`.
fn non_human_origin(message: &Value) -> bool {
    message
        .pointer("/origin/kind")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind != "human")
}

fn task_id(message: &Value) -> String {
    message
        .get("task_id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

/// Terminal values of `task_updated.patch.status` (and of `task_notification.status`).
pub fn is_terminal_task_status(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "killed" | "stopped")
}

impl TurnTracker {
    pub fn new(last_result_wins: bool) -> TurnTracker {
        TurnTracker {
            last_result_wins,
            outstanding: None,
            segment: Segment::default(),
            in_flight: BTreeSet::new(),
            owed: BTreeSet::new(),
        }
    }

    /// A prompt was written with this uuid (or none). Only one prompt is outstanding at a time.
    pub fn prompt_sent(&mut self, index: usize, uuid: Option<&str>) {
        debug_assert!(self.outstanding.is_none(), "one prompt at a time");
        self.outstanding = Some(Outstanding {
            index,
            uuid: uuid.map(str::to_string),
            started: false,
            messages: Vec::new(),
            async_launch: None,
        });
    }

    /// Gives up on the outstanding prompt (timeout, CLI gone) and returns its index, its
    /// messages so far and any async launch seen in them.
    pub fn abandon(&mut self) -> Option<(usize, Vec<Value>, Option<AsyncLaunch>)> {
        let mut turn = self.outstanding.take()?;
        if matches!(self.segment.owner, Owner::Ours | Owner::Unknown) {
            let segment = std::mem::take(&mut self.segment);
            turn.messages.extend(segment.messages);
            turn.async_launch = turn.async_launch.or(segment.async_launch);
        }
        Some((turn.index, turn.messages, turn.async_launch))
    }

    /// Messages still buffered at the end of the run (no result closed their segment).
    pub fn finish(&mut self) -> Option<Routed> {
        let segment = std::mem::take(&mut self.segment);
        (!segment.messages.is_empty()).then_some(Routed::Stray {
            messages: segment.messages,
        })
    }

    /// Nothing in flight: no running background task, no owed injected turn, no injected turn
    /// under way. Background-aware runs wait for this before closing stdin.
    pub fn background_quiet(&self) -> bool {
        self.in_flight.is_empty()
            && self.owed.is_empty()
            && !matches!(self.segment.owner, Owner::Injected(_))
    }

    pub fn in_flight(&self) -> Vec<String> {
        self.in_flight.iter().cloned().collect()
    }

    pub fn owed(&self) -> Vec<String> {
        self.owed.iter().cloned().collect()
    }

    /// Feeds one CLI message (anything but control frames) and returns what it settled.
    pub fn observe(&mut self, message: &Value) -> Vec<Routed> {
        let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
        let subtype = message.get("subtype").and_then(Value::as_str).unwrap_or("");
        let mut routed = Vec::new();
        match (kind, subtype) {
            ("system", "init") => {
                routed.extend(self.close_segment_without_result());
                self.segment.owner = self.owner_of_new_segment();
            }
            ("system", "task_started") => {
                self.in_flight.insert(task_id(message));
            }
            ("system", "task_notification") => {
                let id = task_id(message);
                self.in_flight.remove(&id);
                self.owed.insert(id);
            }
            ("system", "task_updated") => {
                let status = message
                    .pointer("/patch/status")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if is_terminal_task_status(status) {
                    self.in_flight.remove(&task_id(message));
                }
            }
            ("user", _) => {
                if non_human_origin(message) {
                    // The CLI is feeding the model something it generated itself: this segment
                    // is an injected turn, even if its `init` looked like ours.
                    if self.segment.owner == Owner::Ours
                        && let Some(turn) = &mut self.outstanding
                    {
                        turn.started = false;
                    }
                    self.segment.owner = Owner::Injected(NotOurs::InjectedUserMessage);
                    self.owed.clear();
                }
                if let Some(launch) = policy::detect_async_launch(message) {
                    if let Some(task) = &launch.task_id {
                        self.in_flight.insert(task.clone());
                    }
                    self.segment.async_launch.get_or_insert(launch);
                }
            }
            ("result", _) => {
                self.segment.messages.push(report::summarize(message));
                routed.push(self.close_segment_with_result(message));
                return routed;
            }
            _ => {}
        }
        if !is_bookkeeping(kind, subtype) {
            self.segment.messages.push(report::summarize(message));
        }
        routed
    }

    fn owner_of_new_segment(&mut self) -> Owner {
        if !self.owed.is_empty() {
            // The CLI runs the notification turn for a finished task before anything queued
            // after it (2.1.81 writes task_notification immediately before that turn's init).
            // One injected turn settles every notification owed so far.
            self.owed.clear();
            return Owner::Injected(NotOurs::AfterTaskNotification);
        }
        match &mut self.outstanding {
            Some(turn) if !turn.started => {
                turn.started = true;
                Owner::Ours
            }
            _ => Owner::Unknown,
        }
    }

    /// A new `init` arrived while the previous segment had no result (e.g. the CLI held back a
    /// result, or frames came before any turn started).
    fn close_segment_without_result(&mut self) -> Option<Routed> {
        let segment = std::mem::take(&mut self.segment);
        if segment.messages.is_empty() && segment.async_launch.is_none() {
            return None;
        }
        match (segment.owner, &mut self.outstanding) {
            (Owner::Ours, Some(turn)) => {
                turn.messages.extend(segment.messages);
                if turn.async_launch.is_none() {
                    turn.async_launch = segment.async_launch;
                }
                None
            }
            _ => Some(Routed::Stray {
                messages: segment.messages,
            }),
        }
    }

    /// `Ok` if `result` answers the outstanding prompt; otherwise the strongest reason it does not.
    fn classify(&self, result: &Value) -> Result<(), NotOurs> {
        let outstanding = self.outstanding.as_ref();
        if self.last_result_wins && outstanding.is_some() {
            return Ok(()); // BUG (last-result-wins): whatever result comes first answers the prompt.
        }
        if non_human_origin(result) {
            return Err(NotOurs::Origin);
        }
        let mut uuids: Vec<&str> = Vec::new();
        uuids.extend(result.get("user_message_uuid").and_then(Value::as_str));
        if let Some(list) = result.get("user_message_uuids").and_then(Value::as_array) {
            uuids.extend(list.iter().filter_map(Value::as_str));
        }
        match outstanding.map(|turn| turn.uuid.as_deref()) {
            _ if uuids.is_empty() => {}
            // We sent no uuid: the echoed one is the CLI's own and proves nothing either way.
            Some(None) => {}
            Some(Some(ours)) if uuids.contains(&ours) => return Ok(()),
            _ => return Err(NotOurs::OtherPromptUuid),
        }
        match self.segment.owner {
            Owner::Injected(reason) => Err(reason),
            Owner::Unknown if !self.owed.is_empty() => Err(NotOurs::AfterTaskNotification),
            _ if outstanding.is_none() => Err(NotOurs::Unsolicited),
            Owner::Ours | Owner::Unknown => Ok(()),
        }
    }

    fn close_segment_with_result(&mut self, result: &Value) -> Routed {
        let verdict = self.classify(result);
        let segment = std::mem::take(&mut self.segment);
        match verdict {
            Ok(()) => {
                let mut turn = self
                    .outstanding
                    .take()
                    .expect("classify only says Ok with a prompt outstanding");
                turn.messages.extend(segment.messages);
                Routed::TurnResult {
                    index: turn.index,
                    result: result.clone(),
                    messages: turn.messages,
                    async_launch: turn.async_launch.or(segment.async_launch),
                }
            }
            Err(reason) => {
                // An injected turn was delivered: whatever notification it answered is settled.
                self.owed.clear();
                if let Some(turn) = &mut self.outstanding
                    && segment.owner == Owner::Ours
                {
                    // Our init was consumed by someone else's turn; ours has yet to start.
                    turn.started = false;
                }
                Routed::Injected {
                    result: result.clone(),
                    reason,
                    messages: segment.messages,
                    async_launch: segment.async_launch,
                }
            }
        }
    }
}

/// A turn's status, output and error from its own result message.
///
/// * `policy_violation`: the turn launched a background task under foreground-only → failed;
/// * `interrupted`: the supervisor sent an interrupt during the turn; an error result (or a
///   non-`success` subtype: CLI 2.1.81 writes `error_during_execution` with `is_error: false`)
///   then means aborted. An interrupt that did not stop the turn leaves it completed.
pub fn judge(
    result: &Value,
    interrupted: bool,
    policy_violation: Option<&AsyncLaunch>,
) -> (TurnStatus, Option<String>, Option<String>) {
    if let Some(launch) = policy_violation {
        return (TurnStatus::Failed, None, Some(launch.policy_error()));
    }
    let is_error = result
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let subtype = result
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    if !is_error && subtype == "success" {
        let output = result
            .get("result")
            .and_then(Value::as_str)
            .map(str::to_string);
        return (TurnStatus::Completed, output, None);
    }
    let detail = error_detail(result);
    if interrupted {
        return (
            TurnStatus::Aborted,
            None,
            Some(format!("interrupted by the supervisor: {detail}")),
        );
    }
    (
        TurnStatus::Failed,
        None,
        Some(format!("the CLI reported an error result: {detail}")),
    )
}

/// The ids of the `tool_use` blocks of an `assistant` message that call `tool`.
pub fn tool_uses_named(message: &Value, tool: &str) -> Vec<String> {
    blocks(message)
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
        .filter(|b| b.get("name").and_then(Value::as_str) == Some(tool))
        .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The `tool_use_id`s of the `tool_result` blocks of a `user` message.
pub fn tool_results(message: &Value) -> Vec<String> {
    blocks(message)
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .filter_map(|b| {
            b.get("tool_use_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

fn blocks(message: &Value) -> impl Iterator<Item = &Value> {
    message
        .pointer("/message/content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Top-level types and `system` subtypes a parser written against CLI 2.1.330's default
/// output knows. Only the `strict-parsing` bug consults it: the correct supervisor knows that the
/// CLI adds types and subtypes without notice (FM-43, FM-44) and passes unknown ones through.
const KNOWN_TYPES: [&str; 10] = [
    "system",
    "assistant",
    "user",
    "result",
    "control_request",
    "control_response",
    "control_cancel_request",
    "stream_event",
    "keep_alive",
    "command_lifecycle",
];
const KNOWN_SYSTEM_SUBTYPES: [&str; 10] = [
    "init",
    "status",
    "compact_boundary",
    "session_state_changed",
    "task_started",
    "task_progress",
    "task_updated",
    "task_notification",
    "background_tasks_changed",
    "api_retry",
];

/// `Some("message type \"x\"")` when a closed-enum parser would reject `message`.
pub fn unknown_to_a_closed_enum(message: &Value) -> Option<String> {
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    if !KNOWN_TYPES.contains(&kind) {
        return Some(format!("message type {kind:?}"));
    }
    let subtype = message.get("subtype").and_then(Value::as_str).unwrap_or("");
    (kind == "system" && !KNOWN_SYSTEM_SUBTYPES.contains(&subtype))
        .then(|| format!("system subtype {subtype:?}"))
}

/// `subtype …: <errors or result text> (API status N)` for an error result.
pub fn error_detail(result: &Value) -> String {
    let subtype = result
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    let errors: Vec<&str> = result
        .get("errors")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let text = if !errors.is_empty() {
        errors.join("; ")
    } else if let Some(text) = result.get("result").and_then(Value::as_str) {
        text.to_string()
    } else {
        "(no error text)".to_string()
    };
    let mut detail = format!(
        "subtype {subtype}, is_error {}: {text}",
        result.get("is_error").unwrap_or(&Value::Null)
    );
    if let Some(status) = result.get("api_error_status").filter(|s| !s.is_null()) {
        detail += &format!(" (API status {status})");
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn init() -> Value {
        json!({"type":"system","subtype":"init","session_id":"s","uuid":"i"})
    }
    fn text(t: &str) -> Value {
        json!({"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":t}]}})
    }
    fn result(t: &str) -> Value {
        json!({"type":"result","subtype":"success","is_error":false,"result":t,"session_id":"s"})
    }
    fn notification(task: &str) -> Value {
        json!({"type":"system","subtype":"task_notification","task_id":task,"status":"completed",
               "output_file":"/tmp/x","summary":"done"})
    }
    fn started(task: &str) -> Value {
        json!({"type":"system","subtype":"task_started","task_id":task,"task_type":"local_bash"})
    }

    /// (turn index, output) of our results; (text, reason) of injected ones.
    type Fed = (Vec<(usize, String)>, Vec<(String, NotOurs)>);

    /// Feeds messages, returning what our results and the injected ones said.
    fn feed(tracker: &mut TurnTracker, messages: &[Value]) -> Fed {
        let (mut ours, mut injected) = (Vec::new(), Vec::new());
        for message in messages {
            for routed in tracker.observe(message) {
                match routed {
                    Routed::TurnResult { index, result, .. } => {
                        ours.push((index, result["result"].as_str().unwrap().to_string()))
                    }
                    Routed::Injected { result, reason, .. } => {
                        injected.push((result["result"].as_str().unwrap().to_string(), reason))
                    }
                    Routed::Stray { .. } => {}
                }
            }
        }
        (ours, injected)
    }

    #[test]
    fn a_plain_turn_is_ours_with_its_messages() {
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(0, Some("u0"));
        let routed: Vec<Routed> = [init(), text("hi"), result("hi")]
            .iter()
            .flat_map(|m| tracker.observe(m))
            .collect();
        let [
            Routed::TurnResult {
                index: 0,
                messages,
                async_launch: None,
                ..
            },
        ] = routed.as_slice()
        else {
            panic!("{routed:?}")
        };
        let kinds: Vec<&str> = messages
            .iter()
            .map(|m| m["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["system", "assistant", "result"]);
        assert!(tracker.background_quiet());
    }

    /// CLI 2.1.81 (no origin, no uuid echo): the task finishes between turns; the notification
    /// turn runs before our second prompt's turn even though that prompt was already written.
    #[test]
    fn cli_2_1_81_injected_turn_between_turns() {
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(0, Some("u0"));
        let (ours, _) = feed(
            &mut tracker,
            &[init(), started("b1"), text("started"), result("started")],
        );
        assert_eq!(ours, [(0, "started".to_string())]);
        assert!(!tracker.background_quiet());

        tracker.prompt_sent(1, Some("u1"));
        let (ours, injected) = feed(
            &mut tracker,
            &[
                notification("b1"),
                init(),
                text("NOTIFIED"),
                result("NOTIFIED"),
                init(),
                text("4"),
                result("4"),
            ],
        );
        assert_eq!(
            injected,
            [("NOTIFIED".to_string(), NotOurs::AfterTaskNotification)]
        );
        assert_eq!(ours, [(1, "4".to_string())]);
        assert!(tracker.background_quiet());
    }

    /// CLI 2.1.81, notification while no prompt is outstanding: the unprompted turn is injected.
    #[test]
    fn cli_2_1_81_injected_turn_while_idle() {
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(0, Some("u0"));
        feed(&mut tracker, &[init(), started("b1"), result("started")]);
        let (ours, injected) = feed(
            &mut tracker,
            &[notification("b1"), init(), text("N"), result("N")],
        );
        assert!(ours.is_empty());
        assert_eq!(
            injected,
            [("N".to_string(), NotOurs::AfterTaskNotification)]
        );
        tracker.prompt_sent(1, Some("u1"));
        let (ours, _) = feed(&mut tracker, &[init(), result("second")]);
        assert_eq!(ours, [(1, "second".to_string())]);
    }

    /// CLI 2.1.330: the task completes mid-turn 2; the injected turn follows turn 2's result and
    /// carries `origin`; our results echo the prompt uuid.
    #[test]
    fn cli_2_1_330_notification_mid_turn_with_origin_and_uuids() {
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(0, Some("u0"));
        let mut first = result("started");
        first["user_message_uuid"] = json!("u0");
        feed(&mut tracker, &[init(), started("b1"), first]);
        tracker.prompt_sent(1, Some("u1"));
        let mut second = result("slow reply");
        second["user_message_uuid"] = json!("u1");
        let mut injected_result = result("NOTIFIED");
        injected_result["origin"] = json!({"kind":"task-notification","producer":"session-task"});
        let (ours, injected) = feed(
            &mut tracker,
            &[
                init(),
                notification("b1"),
                text("slow reply"),
                second,
                init(),
                text("NOTIFIED"),
                injected_result,
            ],
        );
        assert_eq!(ours, [(1, "slow reply".to_string())]);
        assert_eq!(injected, [("NOTIFIED".to_string(), NotOurs::Origin)]);
        assert!(tracker.background_quiet());
    }

    /// FM-37: a stale injected result arrives first in our turn, marked only by `origin`; the
    /// real answer follows without another init. Messages of the stale turn stay out of ours.
    #[test]
    fn origin_marks_a_stale_result_that_looked_like_ours() {
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(0, Some("u0"));
        let stale_user = json!({"type":"user","origin":{"kind":"task-notification"},
            "message":{"role":"user","content":"<task-notification>stale</task-notification>"}});
        let mut stale = result("");
        stale["origin"] = json!({"kind":"task-notification"});
        let mut real = result("real answer");
        real["user_message_uuid"] = json!("u0");
        let routed: Vec<Routed> = [init(), stale_user, stale, text("real answer"), real]
            .iter()
            .flat_map(|m| tracker.observe(m))
            .collect();
        match routed.as_slice() {
            [
                Routed::Injected {
                    reason,
                    messages: stale_msgs,
                    ..
                },
                Routed::TurnResult {
                    index: 0, messages, ..
                },
            ] => {
                assert_eq!(*reason, NotOurs::Origin);
                assert_eq!(stale_msgs.len(), 3, "init, user, result of the stale turn");
                let kinds: Vec<&str> = messages
                    .iter()
                    .map(|m| m["type"].as_str().unwrap())
                    .collect();
                assert_eq!(kinds, ["assistant", "result"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_result_for_another_uuid_is_not_ours() {
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(3, Some("mine"));
        let mut other = result("other");
        other["user_message_uuids"] = json!(["someone-else"]);
        let mut folded = result("both");
        folded["user_message_uuids"] = json!(["someone-else", "mine"]);
        let (ours, injected) = feed(&mut tracker, &[init(), other, folded]);
        assert_eq!(injected, [("other".to_string(), NotOurs::OtherPromptUuid)]);
        assert_eq!(ours, [(3, "both".to_string())]);
    }

    /// Headless prompts carry no uuid: the CLI echoes one it made up, which is still ours.
    #[test]
    fn an_echoed_uuid_we_never_sent_proves_nothing() {
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(0, None);
        let mut echoed = result("answer");
        echoed["user_message_uuid"] = json!("made-up-by-the-cli");
        let (ours, injected) = feed(&mut tracker, &[init(), echoed]);
        assert!(injected.is_empty(), "{injected:?}");
        assert_eq!(ours, [(0, "answer".to_string())]);
    }

    /// FM-24: the CLI writes `init` before our prompt; the prompt's result has no init of its own.
    #[test]
    fn init_before_the_prompt_still_pairs_with_it() {
        let mut tracker = TurnTracker::new(false);
        assert!(feed(&mut tracker, &[init()]).0.is_empty());
        tracker.prompt_sent(0, Some("u0"));
        let routed: Vec<Routed> = [text("ok"), result("ok")]
            .iter()
            .flat_map(|m| tracker.observe(m))
            .collect();
        let [
            Routed::TurnResult {
                index: 0, messages, ..
            },
        ] = routed.as_slice()
        else {
            panic!("{routed:?}")
        };
        assert_eq!(messages.len(), 3, "the early init is part of the turn");
    }

    #[test]
    fn a_result_with_nobody_waiting_is_unsolicited() {
        let mut tracker = TurnTracker::new(false);
        let (_, injected) = feed(&mut tracker, &[init(), result("hello?")]);
        assert_eq!(injected, [("hello?".to_string(), NotOurs::Unsolicited)]);
    }

    #[test]
    fn last_result_wins_bug_takes_the_injected_result() {
        let mut tracker = TurnTracker::new(true);
        tracker.prompt_sent(0, Some("u0"));
        feed(&mut tracker, &[init(), started("b1"), result("started")]);
        tracker.prompt_sent(1, Some("u1"));
        let mut injected = result("NOTIFIED");
        injected["origin"] = json!({"kind":"task-notification"});
        let (ours, _) = feed(&mut tracker, &[notification("b1"), init(), injected]);
        assert_eq!(ours, [(1, "NOTIFIED".to_string())], "the #788 off-by-one");
    }

    #[test]
    fn a_held_back_result_is_attributed_after_the_injected_turn() {
        // CLI 2.1.81 with a background agent: our turn starts, the injected turn runs before our
        // result is written; our result (no uuid) still pairs with our prompt afterwards.
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(0, Some("u0"));
        let (ours, injected) = feed(
            &mut tracker,
            &[
                init(),
                started("a1"),
                text("launched"),
                notification("a1"),
                init(),
                result("N"),
                result("mine"),
            ],
        );
        assert_eq!(
            injected,
            [("N".to_string(), NotOurs::AfterTaskNotification)]
        );
        assert_eq!(ours, [(0, "mine".to_string())]);
    }

    #[test]
    fn task_tracking_accepts_either_terminal_frame() {
        let mut tracker = TurnTracker::new(false);
        feed(&mut tracker, &[started("t1"), started("t2")]);
        assert_eq!(tracker.in_flight(), ["t1", "t2"]);
        let killed = json!({"type":"system","subtype":"task_updated","task_id":"t2","patch":{"status":"killed"}});
        let paused = json!({"type":"system","subtype":"task_updated","task_id":"t1","patch":{"status":"paused"}});
        feed(&mut tracker, &[killed, paused]);
        assert_eq!(tracker.in_flight(), ["t1"]);
        feed(&mut tracker, &[notification("t1"), notification("t1")]);
        assert!(tracker.in_flight().is_empty());
        assert_eq!(
            tracker.owed(),
            ["t1"],
            "a duplicate notification owes one turn"
        );
        assert!(!tracker.background_quiet());
    }

    #[test]
    fn async_launch_evidence_travels_with_the_turn() {
        let mut tracker = TurnTracker::new(false);
        tracker.prompt_sent(0, Some("u0"));
        let launch = json!({"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_A","content":"Async agent launched"}]},
            "tool_use_result":{"status":"async_launched","agentId":"a7","isAsync":true}});
        let routed: Vec<Routed> = [init(), launch, result("ok")]
            .iter()
            .flat_map(|m| tracker.observe(m))
            .collect();
        let [
            Routed::TurnResult {
                async_launch: Some(launch),
                ..
            },
        ] = routed.as_slice()
        else {
            panic!("{routed:?}")
        };
        assert_eq!(launch.task_id.as_deref(), Some("a7"));
        assert_eq!(tracker.in_flight(), ["a7"]);
    }

    #[test]
    fn judging_results() {
        let ok = result("the answer");
        assert_eq!(
            judge(&ok, false, None),
            (TurnStatus::Completed, Some("the answer".into()), None)
        );
        // An interrupt that did not stop the turn leaves it completed.
        assert_eq!(judge(&ok, true, None).0, TurnStatus::Completed);

        let api_error = json!({"type":"result","subtype":"success","is_error":true,"result":"API Error: 400 fake","api_error_status":400});
        let (status, output, error) = judge(&api_error, false, None);
        assert_eq!((status, output), (TurnStatus::Failed, None));
        assert!(
            error
                .unwrap()
                .contains("API Error: 400 fake (API status 400)")
        );

        // 2.1.81 interrupted turn: error subtype with is_error false.
        let interrupted = json!({"type":"result","subtype":"error_during_execution","is_error":false,
            "errors":["[ede_diagnostic] result_type=user"]});
        let (status, _, error) = judge(&interrupted, true, None);
        assert_eq!(status, TurnStatus::Aborted);
        assert!(error.unwrap().contains("ede_diagnostic"));
        assert_eq!(judge(&interrupted, false, None).0, TurnStatus::Failed);

        let launch = AsyncLaunch {
            tool_use_id: None,
            task_id: Some("b1".into()),
            evidence: "x".into(),
        };
        let (status, _, error) = judge(&ok, false, Some(&launch));
        assert_eq!(status, TurnStatus::Failed);
        assert!(error.unwrap().contains("foreground-only"));
    }
}
