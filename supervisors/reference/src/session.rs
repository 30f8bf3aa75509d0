//! One run: spawn the CLI, initialize, drive the plan's turns, tear down, report.
//!
//! The same loop serves every driving style (`style.rs`): the SDK style initializes and speaks
//! the control protocol; headless writes its one prompt and answers nothing; print has its
//! prompt on argv and reads one JSON document from stdout.
//!
//! Everything happens on this thread, in a loop that waits on the CLI's one event channel (see
//! `cli_process.rs`) with a timeout. Waiting "for X" is always [`Session::wait_until`] with a
//! predicate: while it waits, every line from the CLI is handled as it arrives — control requests
//! answered, results attributed, events reported — and due plan actions are sent.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use serde_json::{Value, json};

use crate::args::Options;
use crate::bugs::Bug;
use crate::callbacks::{Callbacks, Owed};
use crate::cli_process::{self, CliEvent, Running, StderrReading, StdoutLine, Written};
use crate::control::{self, Decision, Ledger, Outgoing};
use crate::plan::Mode;
use crate::plan::{Action, ActionKind, Behaviour, Plan};
use crate::policy::{self, Policy};
use crate::report::{End, Reporter, TurnReport, TurnStatus};
use crate::style::{Prompt, Style};
use crate::turns::{self, Routed, TurnTracker};

// After stdin is closed, how long the CLI gets to exit on its own, and after SIGTERM how long
// before SIGKILL: `Options::graces` (`--exit-grace`, `--term-grace`).
/// After SIGKILL, how long to wait for the child to be reaped before giving up on it.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// After the CLI exited on its own, how long processes left in its group get between SIGTERM
/// and SIGKILL.
const ORPHAN_GRACE: Duration = Duration::from_secs(1);
/// After the CLI exited, how long its pipes get to deliver what is still in them.
const PIPE_GRACE: Duration = Duration::from_millis(500);
/// After a prompt could not be written, how long to wait for the CLI's exit status.
const UNDELIVERED_GRACE: Duration = Duration::from_secs(1);

/// Runs the plan and writes the whole report, `end` line included.
pub fn run(options: &Options, plan: &Plan, report: &mut Reporter) {
    let style = options.style;
    eprintln!(
        "reference-supervisor: scenario {}, {:?} mode, style {}, policy {}, {} turn(s)",
        plan.scenario.as_deref().unwrap_or("(unnamed)"),
        plan.mode,
        style.name(),
        options.policy.name(),
        plan.turns.len()
    );
    let argv = style.argv(&plan.turns[0].prompt);
    let mut spawned = match cli_process::spawn(&options.cli, &argv, style.env()) {
        Ok(spawned) => spawned,
        Err(e) => {
            let error = format!("could not start the CLI {}: {e}", options.cli.display());
            for index in 0..plan.turns.len() {
                report.turn(&not_sent(index, &error), None);
            }
            report.end(&End {
                error: Some(error),
                cli_exit_code: None,
                cli_signal: None,
            });
            return;
        }
    };

    let callbacks = Callbacks::new(plan);
    let mut outgoing = Outgoing::default();
    // Only the SDK style initializes: the CLI needs no `initialize` to run a prompt.
    let init_line = style.control_protocol().then(|| {
        outgoing
            .start(json!({"subtype": "initialize", "hooks": callbacks.registration()}))
            .1
    });

    let mut prewritten = None;
    if options.bugs.has(Bug::PromptBeforeRead) {
        // BUG (prompt-before-read): writes on this thread before anyone reads stdout. A CLI that
        // fills the stdout pipe before reading stdin blocks, and so does this write (FM-08).
        let prompt = style.prompt(&plan.turns[0].prompt);
        let written_at = Instant::now();
        let result = init_line
            .iter()
            .chain(prompt.as_ref().map(|p| &p.line))
            .try_for_each(|line| spawned.write_blocking(line));
        if let Err(e) = result {
            eprintln!("reference-supervisor: early write failed: {e}");
        }
        prewritten = Some((prompt, written_at));
    }

    // The reader threads start before the first byte goes to stdin.
    let cli = start_cli(options, spawned);
    let mut session = Session::new(options, plan, report, cli, outgoing, callbacks);
    match prewritten {
        None => {
            if let Some(line) = &init_line {
                session.cli.write(line, Written::Control);
            }
        }
        Some((prompt, written_at)) => session.begin_turn(0, prompt.as_ref(), written_at),
    }
    if !style.stream_input() {
        // Print mode: the prompt is on argv, or — too large for argv — plain text on stdin.
        // Either way stdin closes now: the CLI reads it to EOF as (more) prompt.
        let prompt = &plan.turns[0].prompt;
        if !Style::prompt_fits_argv(prompt) {
            session.cli.write_text(prompt, Written::Prompt(0));
        }
        session.cli.close_stdin();
    }
    let run_error = session.drive();
    session.teardown();
    session.finish(run_error);
}

/// Starts the reader, drain, waiter and writer threads of a spawned CLI, with the bug switches
/// that change how it is read.
fn start_cli(options: &Options, spawned: cli_process::Spawned) -> Running {
    spawned.start(
        if options.bugs.has(Bug::NoStderrDrain) {
            StderrReading::AfterExit
        } else if options.bugs.has(Bug::CloseStderr) {
            StderrReading::Closed
        } else {
            StderrReading::Live
        },
        !options.bugs.has(Bug::DropUnterminatedLine),
        options
            .bugs
            .has(Bug::CumulativeReadLimit)
            .then_some(10 << 20),
    )
}

fn not_sent(index: usize, why: &str) -> TurnReport {
    TurnReport {
        index,
        status: TurnStatus::Failed,
        output: None,
        error: Some(format!("prompt not sent: {why}")),
        messages: Vec::new(),
        needs_input: false,
    }
}

enum Init {
    Waiting,
    Ready,
    Failed(String),
}

/// The turn whose prompt is outstanding.
struct ActiveTurn {
    index: usize,
    deadline: Instant,
    /// When the CLI last wrote anything (or the prompt went out, or we answered it): the idle
    /// watchdog counts from here.
    last_output: Instant,
    interrupt_sent: bool,
    /// The prompt could not be written: when, and why.
    undelivered: Option<(Instant, String)>,
    /// A hook blocked the prompt: the CLI's `system/informational` text (FM-29).
    blocked: Option<String>,
    /// `AskUserQuestion` calls of this turn: tool_use id → whether the CLI asked us about it.
    questions: HashMap<String, bool>,
    /// A question came back answered although nobody was asked (FM-51).
    needs_input: bool,
}

/// A plan action waiting for its time.
struct Scheduled {
    due: Instant,
    turn: usize,
    action: Action,
}

enum Waited {
    Done,
    TimedOut,
}

struct Session<'a> {
    options: &'a Options,
    plan: &'a Plan,
    report: &'a mut Reporter,
    cli: Running,
    tracker: TurnTracker,
    ledger: Ledger,
    outgoing: Outgoing,
    init: Init,
    turn: Option<ActiveTurn>,
    /// Sorted by `due`.
    actions: Vec<Scheduled>,
    exit: Option<(ExitStatus, Instant)>,
    stdout_open: bool,
    stderr_open: bool,
    /// Text of the last error result seen, for diagnoses.
    last_error_result: Option<String>,
    stdin_error: Option<String>,
    prompts_sent: usize,
    turns_reported: usize,
    /// A `system/init` was seen (only the `wait-for-init` bug cares).
    seen_init: bool,
    /// The `strict-parsing` bug's reader died on an unknown message: nothing more is read.
    reader_dead: bool,
    /// The `trust-exit-code` bug holds the last turn's report until the CLI exits.
    held: Option<TurnReport>,
    /// The `keep-last-result` bug's answer so far: replaced by every later result until EOF.
    last_result: Option<TurnReport>,
    /// Print style: stdout so far, one JSON document parsed at EOF.
    print_stdout: String,
    /// Print style: why stdout held no usable result, for the diagnosis.
    print_problem: Option<String>,
    /// Print style: the result line, once it came.
    print_result: Option<Value>,
    callbacks: Callbacks,
    /// Answers slow callbacks still owe.
    owed: Owed,
    /// The session id the CLI reported (init, result): what a resume asks for.
    session_id: Option<String>,
}

impl<'a> Session<'a> {
    fn new(
        options: &'a Options,
        plan: &'a Plan,
        report: &'a mut Reporter,
        cli: Running,
        outgoing: Outgoing,
        callbacks: Callbacks,
    ) -> Session<'a> {
        Session {
            options,
            plan,
            report,
            cli,
            tracker: TurnTracker::new(options.bugs.has(Bug::LastResultWins)),
            ledger: Ledger::default(),
            outgoing,
            init: if options.style.control_protocol() {
                Init::Waiting
            } else {
                Init::Ready
            },
            turn: None,
            actions: Vec::new(),
            exit: None,
            stdout_open: true,
            stderr_open: true,
            last_error_result: None,
            stdin_error: None,
            prompts_sent: 0,
            turns_reported: 0,
            seen_init: false,
            reader_dead: false,
            held: None,
            last_result: None,
            print_stdout: String::new(),
            print_problem: None,
            print_result: None,
            callbacks,
            owed: Owed::default(),
            session_id: None,
        }
    }

    // ---------------------------------------------------------------------------------------
    // The run, top to bottom

    /// Initializes, then drives every turn. Returns the run-level error, if any.
    fn drive(&mut self) -> Option<String> {
        if let Err(error) = self.initialize() {
            let error = format!("initialize failed: {error}");
            self.resolve_outstanding(TurnStatus::Failed, &error);
            self.report_unsent_turns(&error);
            return Some(error);
        }

        for index in 0..self.plan.turns.len() {
            if self.prompts_sent == index {
                // The previous turn's actions go out before the next prompt does.
                self.wait_until(None, |s| s.actions.is_empty() || s.cli_gone());
                if self.plan.turns[index].resume {
                    // A new CLI process for this prompt, resuming the session.
                    if let Err(error) = self.respawn(index) {
                        let error = format!("resume failed: {error}");
                        self.report_unsent_turns(&error);
                        return Some(error);
                    }
                }
                if self.cli_gone() {
                    let error = self.diagnosis("the CLI ended before all prompts were sent");
                    self.report_unsent_turns(&error);
                    return Some(error);
                }
                if index == 0 && self.options.bugs.has(Bug::WaitForInit) {
                    // BUG (wait-for-init): the CLI writes `system/init` only after a prompt.
                    let deadline = Instant::now() + self.plan.turn_timeout;
                    self.wait_until(Some(deadline), |s| s.seen_init || s.cli_gone());
                    if !self.seen_init {
                        let error = "no system/init from the CLI: it is not ready".to_string();
                        self.report_unsent_turns(&error);
                        return Some(error);
                    }
                }
                let prompt = self.options.style.prompt(&self.plan.turns[index].prompt);
                self.send_prompt(index, prompt);
            }

            let deadline = self
                .turn
                .as_ref()
                .map_or_else(Instant::now, |turn| turn.deadline);
            self.wait_until(Some(deadline), |s| {
                s.turn.is_none() || s.cli_gone() || s.idle_expired()
            });
            if self.turn.is_some() {
                if self.cli_gone() && self.exit_zero_completes() {
                    continue;
                }
                let error = if self.cli_gone() {
                    let what = if self.exit.is_some() {
                        "the CLI ended before this turn's result"
                    } else {
                        "the CLI's stdin is broken, so this turn cannot be answered"
                    };
                    let error = self.diagnosis(what);
                    self.resolve_outstanding(TurnStatus::Failed, &error);
                    // The next prompt resumes the session in a new process: drive on.
                    if self
                        .plan
                        .turns
                        .get(index + 1)
                        .is_some_and(|next| next.resume)
                    {
                        continue;
                    }
                    error
                } else if let Some(idle) = self.plan.idle_timeout.filter(|_| self.idle_expired()) {
                    // The watchdog, not the deadline: the CLI went silent.
                    let (idle_ms, timeout_ms) =
                        (idle.as_millis(), self.plan.turn_timeout.as_millis());
                    self.report.event(
                        "turn_timeout",
                        json!({"turn": index, "which": "idle",
                        "idle_timeout_ms": idle_ms as u64, "turn_timeout_ms": timeout_ms as u64}),
                    );
                    let error = self.diagnosis(&format!(
                        "stalled: no output from the CLI for idle_timeout_ms ({idle_ms} ms), before the turn deadline ({timeout_ms} ms)"
                    ));
                    self.resolve_outstanding(TurnStatus::Timeout, &error);
                    format!("turn {index} stalled: no output for {idle_ms} ms")
                } else {
                    let timeout_ms = self.plan.turn_timeout.as_millis();
                    self.report.event(
                        "turn_timeout",
                        json!({"turn": index, "which": "turn", "turn_timeout_ms": timeout_ms as u64}),
                    );
                    let error = self.diagnosis(&format!(
                        "no result within turn_timeout_ms ({timeout_ms} ms)"
                    ));
                    self.resolve_outstanding(TurnStatus::Timeout, &error);
                    format!("turn {index} timed out after {timeout_ms} ms")
                };
                self.report_unsent_turns(&error);
                return Some(error);
            }
        }

        // The last turn's actions, then (background-aware) the background work it started.
        self.wait_until(None, |s| s.actions.is_empty() || s.cli_gone());
        if let Some(mut held) = self.held.take() {
            // BUG (trust-exit-code): the exit code decides, whatever the result said (FM-15).
            self.cli.close_stdin();
            self.wait_for_exit(self.options.graces.exit);
            if let Some(code) = self.exit.and_then(|(status, _)| status.code())
                && code != 0
            {
                held.error = Some(format!(
                    "the CLI exited with code {code}: {}",
                    held.output.take().unwrap_or_default()
                ));
                held.status = TurnStatus::Failed;
            }
            self.report_turn(held);
        }
        if self.options.policy == Policy::BackgroundAware {
            let ceiling = Instant::now() + self.plan.turn_timeout;
            let waited = self.wait_until(Some(ceiling), |s| {
                s.tracker.background_quiet() || s.cli_gone()
            });
            if matches!(waited, Waited::TimedOut) {
                let (in_flight, owed) = (self.tracker.in_flight(), self.tracker.owed());
                self.report.event(
                    "background_wait_timeout",
                    json!({
                    "waited_ms": self.plan.turn_timeout.as_millis() as u64,
                    "in_flight": in_flight, "owed_notification_turns": owed}),
                );
            }
        }
        None
    }

    /// Ends the current CLI process (as teardown does) and starts a new one with `--resume` of
    /// the session it reported, initialized like the first. The turn numbering, the report and
    /// the plan's callbacks carry on.
    fn respawn(&mut self, index: usize) -> Result<(), String> {
        let session = self
            .session_id
            .clone()
            .ok_or("the CLI never reported a session id to resume")?;
        self.teardown();
        let mut argv = self.options.style.argv(&self.plan.turns[index].prompt);
        // BUG (resume-fresh): the new process starts a new session instead.
        if !self.options.bugs.has(Bug::ResumeFresh) {
            argv.extend(["--resume".to_string(), session.clone()]);
        }
        let spawned = cli_process::spawn(&self.options.cli, &argv, self.options.style.env())
            .map_err(|e| {
                format!(
                    "could not start the CLI {}: {e}",
                    self.options.cli.display()
                )
            })?;
        self.cli = start_cli(self.options, spawned);
        self.exit = None;
        self.stdout_open = true;
        self.stderr_open = true;
        self.reader_dead = false;
        self.stdin_error = None;
        self.last_error_result = None;
        self.seen_init = false;
        self.report
            .event("cli_respawned", json!({"turn": index, "resume": session}));
        if self.options.style.control_protocol() {
            self.init = Init::Waiting;
            let (_, line) = self
                .outgoing
                .start(json!({"subtype": "initialize", "hooks": self.callbacks.registration()}));
            self.cli.write(&line, Written::Control);
        }
        self.initialize()
            .map_err(|error| format!("initialize failed: {error}"))
    }

    /// Sends nothing itself (`initialize` was queued at start); waits for its response while
    /// serving the CLI's own control requests, which may arrive first (SDK MCP handshake).
    fn initialize(&mut self) -> Result<(), String> {
        if !self.options.style.control_protocol() {
            return Ok(());
        }
        let deadline = Instant::now() + self.turn_timeout();
        self.wait_until(Some(deadline), |s| {
            !matches!(s.init, Init::Waiting) || s.cli_gone()
        });
        match &self.init {
            Init::Ready => Ok(()),
            Init::Failed(error) => Err(error.clone()),
            Init::Waiting if self.cli_gone() => {
                Err(self.diagnosis("the CLI ended before answering initialize"))
            }
            Init::Waiting => Err(self.diagnosis(&format!(
                "no answer to initialize within {} ms",
                self.plan.turn_timeout.as_millis()
            ))),
        }
    }

    /// Writes the prompt (`None`: it went on argv) and starts its turn.
    fn send_prompt(&mut self, index: usize, prompt: Option<Prompt>) {
        let written_at = Instant::now();
        let queued = match &prompt {
            Some(prompt) => self.cli.write(&prompt.line, Written::Prompt(index)),
            None => true,
        };
        self.begin_turn(index, prompt.as_ref(), written_at);
        if !queued && let Some(turn) = &mut self.turn {
            turn.undelivered = Some((written_at, "stdin is already closed".to_string()));
        }
        if self.options.bugs.has(Bug::CloseStdinEarly) {
            // BUG (close-stdin-early): EOF right after the prompt; control answers and later
            // prompts can no longer reach the CLI (FM-31).
            self.cli.close_stdin();
        }
    }

    /// Bookkeeping for a prompt that was just written (or queued) at `written_at`.
    fn begin_turn(&mut self, index: usize, prompt: Option<&Prompt>, written_at: Instant) {
        self.prompts_sent += 1;
        let uuid = prompt.and_then(|p| p.uuid.as_deref());
        self.tracker.prompt_sent(index, uuid);
        self.turn = Some(ActiveTurn {
            index,
            deadline: written_at + self.turn_timeout(),
            last_output: written_at,
            interrupt_sent: false,
            undelivered: None,
            blocked: None,
            questions: HashMap::new(),
            needs_input: false,
        });
        for action in &self.plan.turns[index].actions {
            self.actions.push(Scheduled {
                due: written_at + action.after,
                turn: index,
                action: action.clone(),
            });
        }
        self.actions.sort_by_key(|scheduled| scheduled.due);
    }

    /// Close stdin; give the CLI the exit grace to exit; SIGTERM its process group; after
    /// the term grace, SIGKILL it. The child is always reaped (by the waiter thread), and whatever
    /// it left in its process group is killed too.
    fn teardown(&mut self) {
        for skipped in std::mem::take(&mut self.actions) {
            self.report.event(
                "action_skipped",
                json!({"turn": skipped.turn,
                "kind": skipped.action.kind.name(), "reason": "the run is over"}),
            );
        }
        let whole_group = !self.options.bugs.has(Bug::NoGroupKill); // BUG (no-group-kill) when false
        let mut signalled = false;
        if self.options.bugs.has(Bug::SigtermWithoutEof) && self.exit.is_none() {
            // BUG (sigterm-without-eof): the session ends by a signal, stdin still open; it is
            // closed only once the CLI is gone (FM-18).
            self.send_signal(Signal::TERM, "SIGTERM", whole_group, "signal_sent");
            signalled = true;
            self.wait_for_exit(self.options.graces.term);
        }
        // Answers slow callbacks still owe go out before stdin closes: the CLI asked, and an
        // EOF with its request pending leaves it unanswered for good (bounded by the turn
        // timeout).
        if !self.owed.is_empty() && !self.cli_gone() {
            let ceiling = Instant::now() + self.turn_timeout();
            self.wait_until(Some(ceiling), |s| s.owed.is_empty() || s.cli_gone());
        }
        self.cli.close_stdin();
        let mut exited = self.wait_for_exit(self.options.graces.exit);
        let no_sigkill = self.options.bugs.has(Bug::NoSigkill);
        for (signal, name, grace) in [
            (Signal::TERM, "SIGTERM", self.options.graces.term),
            (Signal::KILL, "SIGKILL", KILL_GRACE),
        ] {
            if exited || (no_sigkill && signal == Signal::KILL) {
                // BUG (no-sigkill) when the switch stops the escalation (FM-12).
                break;
            }
            self.send_signal(signal, name, whole_group, "signal_sent");
            signalled = true;
            exited = self.wait_for_exit(grace);
        }
        if !exited {
            self.report.event(
                "cli_not_reaped",
                json!({"waited_ms": (self.options.graces.exit + self.options.graces.term + KILL_GRACE).as_millis() as u64}),
            );
        }

        // The CLI is gone; whatever is left in its group (MCP servers, tool processes) is an
        // orphan. If the group already had its SIGTERM and grace, it gets SIGKILL now; otherwise
        // SIGTERM, a short grace, then SIGKILL. (A zombie still counts as a member until init
        // reaps it, so the grace may run out on processes that are already dead; SIGKILL to
        // them is harmless.)
        if whole_group && self.cli.group_alive() {
            if !signalled {
                self.send_signal(Signal::TERM, "SIGTERM", true, "orphans_signalled");
                let deadline = Instant::now() + ORPHAN_GRACE;
                while self.cli.group_alive() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            if self.cli.group_alive() && !no_sigkill {
                self.send_signal(Signal::KILL, "SIGKILL", true, "orphans_signalled");
            }
        }

        // Let the pipes deliver their last lines (they close once no process holds them).
        let deadline = Instant::now() + PIPE_GRACE;
        self.wait_until(Some(deadline), |s| !s.stdout_open && !s.stderr_open);
    }

    fn finish(&mut self, run_error: Option<String>) {
        if let Some(last) = self.last_result.take() {
            self.report_turn(last); // BUG (keep-last-result): whatever came last, at EOF
        }
        if let Some(Routed::Stray { messages }) = self.tracker.finish() {
            self.report
                .event("out_of_turn_messages", json!({"messages": messages}));
        }
        let tail = self.cli.stderr_tail();
        if !tail.is_empty() {
            self.report.event("stderr_tail", json!({"tail": tail}));
        }
        let status = self.exit.map(|(status, _)| status);
        self.report.end(&End {
            error: run_error,
            cli_exit_code: status.and_then(|s| s.code()),
            cli_signal: status.and_then(|s| s.signal()),
        });
    }

    // ---------------------------------------------------------------------------------------
    // Waiting

    /// Handles CLI events and sends due actions until `done` holds or `deadline` passes.
    fn wait_until(&mut self, deadline: Option<Instant>, done: impl Fn(&Session) -> bool) -> Waited {
        loop {
            if done(self) {
                return Waited::Done;
            }
            let now = Instant::now();
            self.send_due_actions(now);
            self.send_owed_answers(now);
            // What was just sent may be what the caller waits for (no owed answer left).
            if done(self) {
                return Waited::Done;
            }
            if deadline.is_some_and(|deadline| now >= deadline) {
                return Waited::TimedOut;
            }
            // Wake for the deadline, the next action, or a grace period that makes `cli_gone`
            // true without a new event.
            let wake = [
                deadline,
                self.idle_deadline(),
                self.actions.first().map(|a| a.due),
                self.owed.next_due(),
                self.exit.map(|(_, at)| at + PIPE_GRACE),
                self.turn
                    .as_ref()
                    .and_then(|t| t.undelivered.as_ref())
                    .map(|(at, _)| *at + UNDELIVERED_GRACE),
            ]
            .into_iter()
            .flatten()
            .filter(|wake| *wake > now)
            .min();
            let timeout = wake.map_or(Duration::from_secs(3600), |wake| {
                wake.saturating_duration_since(now)
            });
            match self.cli.inbox.recv_timeout(timeout) {
                Ok(event) => self.handle(event),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    // Every thread is gone; nothing more can happen.
                    self.stdout_open = false;
                    self.stderr_open = false;
                    return if done(self) {
                        Waited::Done
                    } else {
                        Waited::TimedOut
                    };
                }
            }
        }
    }

    fn wait_for_exit(&mut self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        self.wait_until(Some(deadline), |s| s.exit.is_some());
        self.exit.is_some()
    }

    /// The CLI can no longer answer: it exited (and its pipes drained or had their grace), or
    /// the outstanding prompt could not be delivered.
    fn cli_gone(&self) -> bool {
        let exited = self.exit.is_some_and(|(_, at)| {
            (!self.stdout_open && !self.stderr_open) || at.elapsed() >= PIPE_GRACE
        });
        let undelivered = self
            .turn
            .as_ref()
            .and_then(|turn| turn.undelivered.as_ref())
            .is_some_and(|(at, _)| self.exit.is_some() || at.elapsed() >= UNDELIVERED_GRACE);
        exited || undelivered
    }

    /// `<what>: the CLI exited with code 1; stdin: …; last error result: …; stderr: …`
    fn diagnosis(&self, what: &str) -> String {
        let mut text = what.to_string();
        if self.options.bugs.has(Bug::NoErrorContext) {
            return text; // BUG (no-error-context): no exit code, result text or stderr (FM-14).
        }
        match self.exit {
            Some((status, _)) => {
                text += &format!("; the CLI {}", cli_process::describe_exit(&status))
            }
            None => text += "; the CLI is still running",
        }
        if let Some((_, error)) = self.turn.as_ref().and_then(|t| t.undelivered.as_ref()) {
            text += &format!("; the prompt could not be written: {error}");
        } else if let Some(error) = &self.stdin_error {
            text += &format!("; writing to its stdin failed: {error}");
        }
        if let Some(problem) = &self.print_problem {
            text += &format!("; {problem}");
        }
        if let Some(result) = &self.last_error_result {
            text += &format!("; last error result: {result}");
        }
        let tail = self.cli.stderr_tail();
        if tail.is_empty() {
            text += "; stderr was empty";
        } else {
            let start = tail.char_indices().rev().nth(1999).map_or(0, |(i, _)| i);
            text += &format!("; stderr tail: {}", &tail[start..]);
        }
        text
    }

    // ---------------------------------------------------------------------------------------
    // Events from the CLI

    fn handle(&mut self, event: CliEvent) {
        match event {
            CliEvent::Stdout(lines) => self.handle_stdout(lines),
            CliEvent::StdoutClosed { error } => {
                self.stdout_open = false;
                if self.options.style.single_json_output() {
                    self.read_print_result();
                }
                if let Some(error) = error {
                    self.report
                        .event("stdout_read_error", json!({"error": error}));
                }
            }
            CliEvent::StderrClosed => self.stderr_open = false,
            CliEvent::Exited(status) => self.exit = Some((status, Instant::now())),
            CliEvent::StdinFailed { what, error } => {
                if self.stdin_error.is_none() {
                    self.report.event(
                        "stdin_write_failed",
                        json!({"error": error, "what": match what {
                            Written::Control => "control".to_string(),
                            Written::Prompt(index) => format!("prompt {index}"),
                        }}),
                    );
                    self.stdin_error = Some(error.clone());
                }
                if self.options.bugs.has(Bug::IgnoreStdinErrors) {
                    return; // BUG (ignore-stdin-errors): the turn waits for a result (FM-19).
                }
                if let (Written::Prompt(index), Some(turn)) = (what, &mut self.turn)
                    && turn.index == index
                {
                    turn.undelivered = Some((Instant::now(), error));
                }
            }
        }
    }

    fn handle_stdout(&mut self, lines: Vec<StdoutLine>) {
        if self.reader_dead {
            return;
        }
        if self.options.style.single_json_output()
            && let Some(messages) = verbose_array(&lines)
        {
            // `json --verbose`: the run's messages, all at once; read as if they had streamed.
            return self.handle_stream(messages);
        }
        if self.options.style.single_json_output() {
            // The real CLI prints its result as one compact line: take it as soon as it comes
            // (a CLI that then hangs, or a grandchild that keeps stdout open, must not cost the
            // answer). Anything else is kept and parsed at EOF, for a pretty-printed document
            // or the diagnosis.
            for line in lines {
                match line {
                    StdoutLine::Json(value) | StdoutLine::Repaired(value)
                        if self.print_result.is_none()
                            && self.print_stdout.trim().is_empty()
                            && value.get("type").and_then(Value::as_str) == Some("result") =>
                    {
                        self.print_result = Some(value.clone());
                        self.on_print_result(&value);
                    }
                    StdoutLine::Json(value) | StdoutLine::Repaired(value) => {
                        self.print_stdout.push_str(&value.to_string());
                        self.print_stdout.push('\n');
                    }
                    StdoutLine::NotJson(text) => {
                        self.print_stdout.push_str(&text);
                        self.print_stdout.push('\n');
                    }
                }
            }
            return;
        }
        self.handle_stream(lines);
    }

    /// Stream-json lines from the CLI, in order.
    fn handle_stream(&mut self, lines: Vec<StdoutLine>) {
        // Any line is a sign of life (keep_alive, stream_event, api_retry, task progress, …).
        // BUG (idle-from-prompt): output does not reset the watchdog.
        if !self.options.bugs.has(Bug::IdleFromPrompt)
            && let Some(turn) = &mut self.turn
        {
            turn.last_output = Instant::now();
        }
        // A cancel that arrived in the same read as its request wins: the request gets no answer.
        for line in &lines {
            if let StdoutLine::Json(message) | StdoutLine::Repaired(message) = line
                && message.get("type").and_then(Value::as_str) == Some("control_cancel_request")
            {
                let id = message
                    .get("request_id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                // BUG (answer-cancelled): the cancel is ignored; the answer still goes out.
                let in_time = !self.options.bugs.has(Bug::AnswerCancelled)
                    && (self.ledger.cancel(id) || self.owed.withdraw(id));
                self.report.event(
                    "control_request_cancelled",
                    json!({"request_id": id, "answered": !in_time}),
                );
            }
        }
        for line in lines {
            let message = match line {
                StdoutLine::Json(message) => message,
                StdoutLine::Repaired(message) => {
                    self.report.event(
                        "stdout_repaired",
                        json!({"type": message.get("type"),
                        "reason": "invalid UTF-8 or lone surrogate escapes replaced with U+FFFD"}),
                    );
                    message
                }
                StdoutLine::NotJson(text) => {
                    let line: String = text.chars().take(2000).collect();
                    self.report.event("stdout_non_json", json!({"line": line}));
                    continue;
                }
            };
            if self.options.bugs.has(Bug::StrictParsing)
                && let Some(unknown) = turns::unknown_to_a_closed_enum(&message)
            {
                // BUG (strict-parsing): the reader dies on a message it has no variant for.
                self.reader_dead = true;
                self.resolve_outstanding(
                    TurnStatus::Failed,
                    &format!("could not parse the CLI's output: unknown {unknown}"),
                );
                return;
            }
            match message.get("type").and_then(Value::as_str).unwrap_or("") {
                "control_request" => self.on_control_request(&message),
                "control_response" => self.on_control_response(&message),
                "control_cancel_request" => {} // handled above
                _ => self.on_message(&message),
            }
        }
    }

    fn on_control_request(&mut self, message: &Value) {
        let request = message.get("request").unwrap_or(&Value::Null);
        let subtype = request.get("subtype").and_then(Value::as_str).unwrap_or("");
        if !self.options.style.control_protocol() {
            // Nobody here speaks the control protocol: the request stays unanswered, as it
            // would with any supervisor of this style.
            self.report.event(
                "control_request_ignored",
                json!({"request_id": message.get("request_id"), "subtype": subtype,
                       "reason": format!("the {} style does not speak the control protocol",
                                         self.options.style.name())}),
            );
            return;
        }
        let Some(id) = message.get("request_id").and_then(Value::as_str) else {
            self.report.event(
                "malformed_control_request",
                json!({"subtype": subtype, "reason": "no request_id"}),
            );
            return;
        };
        match self.ledger.decide(id) {
            Decision::Answer => {}
            Decision::Cancelled => return,
            Decision::Duplicate => {
                self.report.event(
                    "duplicate_control_request",
                    json!({"request_id": id, "subtype": subtype}),
                );
                return;
            }
        }
        if self.options.bugs.has(Bug::NoControlAnswers) {
            return; // BUG (no-control-answers): the CLI waits for ever (FM-25).
        }
        if self.cli.stdin_closed() {
            self.report.event(
                "control_request_after_stdin_closed",
                json!({"request_id": id, "subtype": subtype}),
            );
            return;
        }
        let force_foreground = self.options.policy.keeps_tools_in_foreground()
            && !self.options.bugs.has(Bug::PassRunInBackground); // BUG (pass-run-in-background) when false
        let registered = (subtype == "hook_callback")
            .then(|| request.get("callback_id").and_then(Value::as_str))
            .flatten()
            .and_then(|cb| self.callbacks.hook(cb));
        let (answer, rewrite, behaviour) = match registered {
            // The user's hook answers what the plan says it answers.
            Some(hook) => (
                control::success(id, hook.answer.clone()),
                None,
                hook.behaviour.clone(),
            ),
            None => {
                let (answer, rewrite) = control::answer(
                    id,
                    request,
                    force_foreground,
                    self.options.bugs.has(Bug::HookFailOpen), // BUG (hook-fail-open) when true
                );
                let behaviour = if subtype == "can_use_tool" {
                    self.note_question_asked(request);
                    self.callbacks.can_use_tool().clone()
                } else {
                    Behaviour::default()
                };
                (answer, rewrite, behaviour)
            }
        };
        if let Some(rewrite) = rewrite {
            self.report.event(
                "tool_input_rewritten",
                json!({"tool_name": rewrite.tool_name,
                "tool_use_id": rewrite.tool_use_id, "run_in_background": false}),
            );
        }
        let answer = match &behaviour.fail {
            None => answer,
            Some(_) if self.options.bugs.has(Bug::SwallowCallbackErrors) => {
                return; // BUG (swallow-callback-errors): the CLI waits for ever (FM-30).
            }
            Some(why) => {
                self.report.event(
                    "callback_failed",
                    json!({"request_id": id, "subtype": subtype, "error": why}),
                );
                control::error(id, &format!("the {subtype} callback failed: {why}"))
            }
        };
        if behaviour.delay.is_zero() {
            self.cli.write(&answer, Written::Control);
        } else if self.options.bugs.has(Bug::SerialControlHandlers) {
            // BUG (serial-control-handlers): the callback runs on the read loop; nothing else
            // is read or answered until it returns (FM-30).
            std::thread::sleep(behaviour.delay);
            self.cli.write(&answer, Written::Control);
        } else {
            self.owed.schedule(behaviour.delay, id, subtype, answer);
        }
    }

    /// Writes the answers of slow callbacks that are due.
    fn send_owed_answers(&mut self, now: Instant) {
        for owed in self.owed.take_due(now) {
            if self.cli.stdin_closed() {
                self.report.event(
                    "control_request_after_stdin_closed",
                    json!({"request_id": owed.request_id, "subtype": owed.subtype}),
                );
                continue;
            }
            self.cli.write(&owed.line, Written::Control);
            // The CLI waited on us until now: the watchdog starts over.
            if let Some(turn) = &mut self.turn
                && !self.options.bugs.has(Bug::IdleFromPrompt)
            {
                turn.last_output = now;
            }
        }
    }

    /// When the idle watchdog fires for the running turn: `idle_timeout` after the CLI's last
    /// output — never while the CLI waits on us (a slow callback still owes its answer). Print
    /// mode writes nothing until the end, so it has no liveness to watch.
    fn idle_deadline(&self) -> Option<Instant> {
        // BUG (no-turn-timeout): no watchdog of any kind.
        let idle = self
            .plan
            .idle_timeout
            .filter(|_| !self.options.bugs.has(Bug::NoTurnTimeout))?;
        if self.options.style.single_json_output() {
            return None;
        }
        // BUG (idle-while-waiting): the watchdog runs on while our own callback decides.
        if !self.owed.is_empty() && !self.options.bugs.has(Bug::IdleWhileWaiting) {
            return None;
        }
        self.turn.as_ref().map(|turn| turn.last_output + idle)
    }

    fn idle_expired(&self) -> bool {
        self.idle_deadline()
            .is_some_and(|deadline| Instant::now() >= deadline)
    }

    /// A tool result for an `AskUserQuestion` call the CLI never asked us about: the CLI resolved
    /// the question by itself (empty answers, or an error), so no human has answered (FM-51).
    fn note_question_resolved(&mut self, message: &Value) {
        if self.options.bugs.has(Bug::NoNeedsInput) {
            return; // BUG (no-needs-input): the turn reads as done.
        }
        let Some(turn) = &mut self.turn else { return };
        for id in turns::tool_results(message) {
            if turn.questions.get(&id) == Some(&false) {
                turn.needs_input = true;
                self.report
                    .event("question_unanswered", json!({"tool_use_id": id}));
            }
        }
    }

    /// The CLI asked us about an `AskUserQuestion` call: a human (or our policy) decides it.
    fn note_question_asked(&mut self, request: &Value) {
        if request.get("tool_name").and_then(Value::as_str) != Some("AskUserQuestion") {
            return;
        }
        if let (Some(turn), Some(tool_use_id)) = (
            &mut self.turn,
            request.get("tool_use_id").and_then(Value::as_str),
        ) {
            turn.questions.insert(tool_use_id.to_string(), true);
        }
    }

    fn on_control_response(&mut self, message: &Value) {
        let Some(reply) = self.outgoing.settle(message) else {
            return; // not ours, or no longer awaited (e.g. echoed by --replay-user-messages)
        };
        match (reply.request_subtype.as_str(), reply.outcome) {
            ("initialize", Ok(body))
                if self.callbacks.any_hooks()
                    && body.get("hooks_applied") == Some(&Value::Bool(false))
                    && !self.options.bugs.has(Bug::IgnoreHooksApplied) =>
            {
                // Fail closed: the session's guards would silently not run (FM-29).
                self.init = Init::Failed(self.diagnosis(
                    "the CLI did not apply the hooks this session registers (hooks_applied: \
                     false); running without them would bypass the user's guards",
                ))
            }
            ("initialize", Ok(_)) => self.init = Init::Ready,
            ("initialize", Err(error)) => {
                self.init = Init::Failed(self.diagnosis(&format!(
                    "the CLI answered initialize with an error: {error}"
                )))
            }
            (_, Ok(_)) => {}
            (subtype, Err(error)) => self.report.event(
                "control_request_failed",
                json!({
                "request_id": reply.request_id, "subtype": subtype, "error": error}),
            ),
        }
    }

    fn on_message(&mut self, message: &Value) {
        let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
        let subtype = message.get("subtype").and_then(Value::as_str).unwrap_or("");
        let field = |name: &str| message.get(name).cloned().unwrap_or(Value::Null);
        if (kind, subtype) == ("system", "init") {
            self.seen_init = true;
        }
        if let Some(id) = message
            .get("session_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && *id != "default")
        {
            self.session_id = Some(id.to_string());
        }
        match (kind, subtype) {
            ("system", "informational")
                if message.get("prevent_continuation").and_then(Value::as_bool) == Some(true) =>
            {
                // BUG (ignore-hook-block): the block goes unnoticed.
                let noticed = !self.options.bugs.has(Bug::IgnoreHookBlock);
                if let Some(turn) = self.turn.as_mut().filter(|_| noticed) {
                    let text = message.get("content").and_then(Value::as_str).unwrap_or("");
                    turn.blocked = Some(text.to_string());
                }
            }
            ("assistant", _) => {
                if let Some(turn) = &mut self.turn {
                    for id in turns::tool_uses_named(message, "AskUserQuestion") {
                        turn.questions.entry(id).or_insert(false);
                    }
                }
            }
            ("system", "task_started") => self.report.event("task_started", json!({"task_id": field("task_id"),
                "task_type": field("task_type"), "tool_use_id": field("tool_use_id"), "description": field("description")})),
            ("system", "task_notification") => self.report.event("task_notification", json!({
                "task_id": field("task_id"), "status": field("status"), "summary": field("summary")})),
            ("system", "task_updated") => {
                let status = message.pointer("/patch/status").cloned().unwrap_or(Value::Null);
                self.report.event("task_updated", json!({"task_id": field("task_id"), "status": status}));
            }
            ("user", _) => {
                if let Some(launch) = policy::detect_async_launch(message) {
                    self.report.event("async_launch", json!({"tool_use_id": launch.tool_use_id,
                        "task_id": launch.task_id, "evidence": launch.evidence}));
                }
                self.note_question_resolved(message);
            }
            ("result", _) => {
                let is_error = message.get("is_error").and_then(Value::as_bool).unwrap_or(false);
                if is_error {
                    self.last_error_result = Some(turns::error_detail(message));
                }
                if is_error && self.turn.is_none() && matches!(self.init, Init::Waiting) {
                    // A result before the initialize answer is a startup failure (FM-23).
                    let error = if self.options.bugs.has(Bug::NoErrorContext) {
                        "the CLI reported a startup error".to_string() // BUG (no-error-context)
                    } else {
                        format!("the CLI reported a startup error: {}", turns::error_detail(message))
                    };
                    self.init = Init::Failed(error);
                    return;
                }
            }
            _ => {}
        }
        for routed in self.tracker.observe(message) {
            self.route(routed);
        }
    }

    fn route(&mut self, routed: Routed) {
        match routed {
            Routed::TurnResult {
                index,
                result,
                messages,
                async_launch,
            } => {
                let turn = self
                    .turn
                    .take()
                    .expect("the tracker only resolves the outstanding turn");
                debug_assert_eq!(turn.index, index);
                let violation = async_launch
                    .as_ref()
                    .filter(|_| self.refuses_async_launch());
                let (mut status, mut output, mut error) =
                    turns::judge(&result, turn.interrupt_sent, violation);
                if let (TurnStatus::Completed, Some(reason)) = (status, &turn.blocked) {
                    // The CLI never ran the prompt: an empty "success" is no answer (FM-29).
                    status = TurnStatus::Blocked;
                    error = Some(format!("a hook blocked the prompt: {reason}"));
                    output = None;
                }
                if turn.interrupt_sent && status == TurnStatus::Completed {
                    self.report
                        .event("interrupt_ineffective", json!({"turn": index}));
                }
                let report = TurnReport {
                    index,
                    status,
                    output,
                    error,
                    messages,
                    needs_input: turn.needs_input,
                };
                if self.options.style.closes_stdin_at_result() {
                    self.cli.close_stdin();
                }
                if self.keeps_last_result() {
                    self.last_result = Some(report); // BUG (keep-last-result): read on to EOF
                } else if self.options.bugs.has(Bug::TrustExitCode)
                    && index + 1 == self.plan.turns.len()
                    && status == TurnStatus::Completed
                {
                    self.held = Some(report); // BUG (trust-exit-code): wait for the exit code
                } else {
                    self.report_turn(report);
                }
            }
            Routed::Injected {
                result,
                reason,
                messages,
                async_launch,
            } => {
                let refuses = self.refuses_async_launch();
                if let Some(last) = self.last_result.as_mut() {
                    // BUG (keep-last-result): a later result replaces the answer, whoever's it is.
                    let violation = async_launch.filter(|_| refuses);
                    let (status, output, error) = turns::judge(&result, false, violation.as_ref());
                    (last.status, last.output, last.error) = (status, output, error);
                    last.messages = messages;
                    return;
                }
                let field = |name: &str| result.get(name).cloned().unwrap_or(Value::Null);
                self.report.event("injected_turn", json!({
                    "result": field("result"), "origin": field("origin"), "subtype": field("subtype"),
                    "is_error": field("is_error"), "reason": reason.as_str(),
                    "async_launch": async_launch.is_some(), "messages": messages}));
            }
            Routed::Stray { messages } => self
                .report
                .event("out_of_turn_messages", json!({"messages": messages})),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Resolving turns without a result

    /// Resolves the outstanding turn without a result (CLI gone, timeout, failed initialize).
    /// A turn that launched a background task under foreground-only fails for that reason
    /// first: CLI 2.1.81 never writes the result of a turn that launched a background agent.
    fn resolve_outstanding(&mut self, status: TurnStatus, error: &str) {
        if self.turn.take().is_none() {
            return;
        }
        let Some((index, messages, async_launch)) = self.tracker.abandon() else {
            return;
        };
        let (status, error) = match async_launch.filter(|_| self.refuses_async_launch()) {
            Some(launch) => (
                TurnStatus::Failed,
                format!("{}; {error}", launch.policy_error()),
            ),
            None => (status, error.to_string()),
        };
        self.report_turn(TurnReport {
            index,
            status,
            output: None,
            error: Some(error),
            messages,
            needs_input: false,
        });
    }

    /// How long a turn (and initialize) may take.
    fn turn_timeout(&self) -> Duration {
        if self.options.bugs.has(Bug::NoTurnTimeout) {
            Duration::from_secs(3600) // BUG (no-turn-timeout): as good as for ever (FM-20)
        } else {
            self.plan.turn_timeout
        }
    }

    /// BUG (exit-zero-is-success): a clean exit completes the outstanding turn with the last
    /// assistant text, although no result came (FM-13). BUG (stdout-text-is-answer): in print
    /// style, with stdout's text. Returns whether it did.
    fn exit_zero_completes(&mut self) -> bool {
        let clean = self.exit.and_then(|(status, _)| status.code()) == Some(0);
        let bugged = self.options.bugs.has(Bug::ExitZeroIsSuccess)
            || self.options.bugs.has(Bug::StdoutTextIsAnswer);
        if !bugged || !clean {
            return false;
        }
        self.turn = None;
        let Some((index, messages, _)) = self.tracker.abandon() else {
            return false;
        };
        let output = if self.options.bugs.has(Bug::StdoutTextIsAnswer) {
            self.print_stdout.trim_end().to_string()
        } else {
            messages
                .iter()
                .rev()
                .find(|m| m.get("type").and_then(Value::as_str) == Some("assistant"))
                .and_then(|m| m.get("text").and_then(Value::as_str))
                .unwrap_or("")
                .to_string()
        };
        self.report_turn(TurnReport {
            index,
            status: TurnStatus::Completed,
            output: Some(output),
            error: None,
            messages,
            needs_input: false,
        });
        true
    }

    /// BUG (keep-last-result): a one-shot supervisor that reads stdout to EOF and keeps the
    /// last result it saw.
    fn keeps_last_result(&self) -> bool {
        self.options.bugs.has(Bug::KeepLastResult) && self.plan.mode == Mode::OneShot
    }

    /// Print style, at stdout's EOF: the one JSON document is the turn's result. Anything else
    /// (nothing, prose, several documents, another type) leaves the turn without one; the
    /// diagnosis then says what stdout held, with the exit status and stderr tail.
    fn read_print_result(&mut self) {
        let text = std::mem::take(&mut self.print_stdout);
        if self.print_result.is_some() {
            if !text.trim().is_empty() {
                let line: String = text.chars().take(2000).collect();
                self.report.event("stdout_non_json", json!({"line": line}));
            }
            self.print_stdout = text;
            return;
        }
        let problem = match parse_print_output(&text) {
            Ok(result) => {
                self.on_print_result(&result);
                None
            }
            Err(problem) => Some(problem),
        };
        if let Some(problem) = problem {
            if !text.trim().is_empty() {
                let line: String = text.chars().take(2000).collect();
                self.report.event("stdout_non_json", json!({"line": line}));
            }
            self.print_problem = Some(problem);
        }
        self.print_stdout = text; // kept for the `stdout-text-is-answer` bug
    }

    /// Print style: the one result the CLI printed. `--output-format json` prints the *last*
    /// result of the run, so when a background task's notification started a turn of its own
    /// (`origin.kind: task-notification`), that turn's result is all there is: the answer to
    /// the prompt is lost, and the turn fails saying so instead of reporting the other reply.
    fn on_print_result(&mut self, result: &Value) {
        let injected =
            result.pointer("/origin/kind").and_then(Value::as_str) == Some("task-notification");
        if injected {
            // The tracker does not take it as the prompt's answer; the turn fails when the CLI
            // ends, and the diagnosis says why.
            self.print_problem = Some(format!(
                "the CLI printed the result of a turn a background task's notification started \
                 (origin task-notification: {:?}), not the answer to the prompt: print mode \
                 keeps only the last result",
                result
                    .get("result")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ));
        }
        self.on_message(result);
    }

    /// Foreground-only fails turns that launched background tasks (unless the bug switch is on).
    fn refuses_async_launch(&self) -> bool {
        // BUG (ignore-async-launch) when the switch is on.
        self.options.policy == Policy::ForegroundOnly
            && !self.options.bugs.has(Bug::IgnoreAsyncLaunch)
    }

    /// Reports every turn not reported yet as failed without having been sent.
    fn report_unsent_turns(&mut self, why: &str) {
        for index in self.turns_reported..self.plan.turns.len() {
            self.report_turn(not_sent(index, why));
        }
    }

    /// Turns are reported in order, each exactly once.
    fn report_turn(&mut self, turn: TurnReport) {
        debug_assert_eq!(turn.index, self.turns_reported);
        self.turns_reported += 1;
        self.report.turn(&turn, self.session_id.as_deref());
    }

    // ---------------------------------------------------------------------------------------
    // Plan actions

    fn send_due_actions(&mut self, now: Instant) {
        while self.actions.first().is_some_and(|first| first.due <= now) {
            let scheduled = self.actions.remove(0);
            self.send_action(scheduled);
        }
    }

    fn send_action(&mut self, Scheduled { turn, action, .. }: Scheduled) {
        let body = match &action.kind {
            ActionKind::Interrupt => json!({"subtype": "interrupt"}),
            ActionKind::SetPermissionMode(mode) => {
                json!({"subtype": "set_permission_mode", "mode": mode})
            }
            ActionKind::SetModel(model) => json!({"subtype": "set_model", "model": model}),
            ActionKind::StopTask(task_id) => json!({"subtype": "stop_task", "task_id": task_id}),
            ActionKind::Unsupported { kind } => {
                self.report
                    .event("unsupported_action", json!({"turn": turn, "kind": kind}));
                return;
            }
        };
        if !self.options.style.control_protocol() {
            self.report.event(
                "action_skipped",
                json!({"turn": turn, "kind": action.kind.name(),
                "reason": format!("the {} style does not speak the control protocol",
                                  self.options.style.name())}),
            );
            return;
        }
        if self.cli.stdin_closed() || self.exit.is_some() {
            self.report.event(
                "action_skipped",
                json!({"turn": turn, "kind": action.kind.name(),
                "reason": "the CLI's stdin is closed"}),
            );
            return;
        }
        let (request_id, line) = self.outgoing.start(body);
        self.cli.write(&line, Written::Control);
        if action.kind == ActionKind::Interrupt
            && let Some(active) = &mut self.turn
            && active.index == turn
        {
            active.interrupt_sent = true;
        }
        self.report.event(
            "action_sent",
            json!({"turn": turn, "kind": action.kind.name(), "request_id": request_id}),
        );
    }

    fn send_signal(&mut self, signal: Signal, name: &str, whole_group: bool, event: &str) {
        let target = if whole_group { "process_group" } else { "cli" };
        match self.cli.signal(signal, whole_group) {
            Ok(()) => self
                .report
                .event(event, json!({"signal": name, "target": target})),
            Err(e) => eprintln!("reference-supervisor: {name} to the {target}: {e}"),
        }
    }
}

/// `--output-format json --verbose`: the one line that is an array of messages, as lines.
/// Each element is read as the stdout line it would have been in stream-json (so a lone
/// surrogate or bad byte is repaired the same way).
fn verbose_array(lines: &[StdoutLine]) -> Option<Vec<StdoutLine>> {
    let [StdoutLine::NotJson(text)] = lines else {
        return None;
    };
    cli_process::parse_array_line(text)
}

/// Print mode's stdout: exactly one JSON object of type `result`.
fn parse_print_output(text: &str) -> Result<Value, String> {
    let preview = |text: &str| text.trim().chars().take(200).collect::<String>();
    if text.trim().is_empty() {
        return Err("stdout was empty (print mode writes one JSON result)".into());
    }
    let mut documents = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let first = match documents.next() {
        Some(Ok(value)) => value,
        Some(Err(e)) => {
            return Err(format!(
                "stdout is not a JSON result ({e}): {}",
                preview(text)
            ));
        }
        None => unreachable!("non-blank text holds a document or an error"),
    };
    if documents.next().is_some() {
        return Err(format!(
            "stdout holds more than one JSON document: {}",
            preview(text)
        ));
    }
    match first.get("type").and_then(Value::as_str) {
        Some("result") => Ok(first),
        _ => Err(format!(
            "stdout is JSON but not a result object: {}",
            preview(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_output_is_one_result_object() {
        let one = "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"4\"}\n";
        assert_eq!(parse_print_output(one).unwrap()["result"], "4");
        // Pretty-printed over several lines is still one document.
        let pretty = "{\n  \"type\": \"result\",\n  \"result\": \"4\"\n}\n";
        assert_eq!(parse_print_output(pretty).unwrap()["result"], "4");

        let bad = |text: &str| parse_print_output(text).unwrap_err();
        assert!(bad("  \n").contains("stdout was empty"));
        assert!(bad("4\n").contains("not a result object"));
        assert!(bad("Error: bad flag\n").contains("not a JSON result"));
        assert!(bad(&format!("{one}{one}")).contains("more than one JSON document"));
        assert!(bad("{\"type\":\"assistant\"}").contains("not a result object"));
    }
}
