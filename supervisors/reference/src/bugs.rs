//! Bug switches: each one reintroduces exactly one known class of supervisor bug.
//!
//! They exist for the harness's mutation testing: a conformance scenario is only worth having if
//! at least one of these switches makes it fail. Every use site is marked `bugs.has(Bug::…)`, so
//! `grep -n 'Bug::' src/` shows the whole difference between the correct and the buggy supervisor.
//! Not every bug can exist in every driving style ([`Bug::not_in`] says why not).

use crate::style::Style;

/// One known bug class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// Write `initialize` and the first prompt on the main thread *before* starting the stdout
    /// reader. Deadlocks against a CLI that writes more than a pipe buffer (64 KiB) to stdout
    /// before it reads stdin, once the prompt is large too (FM-08).
    PromptBeforeRead,
    /// Never answer the CLI's control requests: the CLI waits forever (FM-25).
    NoControlAnswers,
    /// Under foreground-only, allow `run_in_background: true` unchanged.
    PassRunInBackground,
    /// Under foreground-only, do not fail a turn whose tool result shows an async launch (FM-38).
    IgnoreAsyncLaunch,
    /// A turn ends at the first `result` after its prompt whatever its origin: the
    /// anthropics/claude-agent-sdk-python#788 off-by-one (FM-36, FM-37).
    LastResultWins,
    /// Close stdin right after writing the prompt (FM-31): control answers and later prompts
    /// can no longer be delivered.
    CloseStdinEarly,
    /// Teardown signals only the CLI itself, not its process group: grandchildren survive (FM-17).
    NoGroupKill,
    /// Never read the CLI's stderr while it runs: once the pipe buffer (64 KiB) is full, the
    /// CLI blocks in write(2) and the turn hangs (FM-09).
    NoStderrDrain,
    /// Failures say only that something went wrong: no exit code or signal, no error result
    /// text, no stderr tail ("Claude Code process exited" with no context, FM-14/FM-23).
    NoErrorContext,
    /// Trust the exit code over the `result`: a non-zero exit after a success result fails the
    /// last turn (FM-15).
    TrustExitCode,
    /// A clean exit (code 0) ends the outstanding turn as completed with the last assistant
    /// text, although no `result` came (FM-13).
    ExitZeroIsSuccess,
    /// Teardown sends SIGTERM before closing stdin: the CLI gets no EOF to finish on and no time
    /// to flush (FM-11, FM-18).
    SigtermWithoutEof,
    /// Teardown never escalates to SIGKILL: a CLI that ignores SIGTERM lives on (FM-12).
    NoSigkill,
    /// Wait for `system/init` before writing the first prompt; the CLI writes it only once a
    /// prompt arrived, so both wait (FM-24).
    WaitForInit,
    /// Closed enums: an unknown top-level `type` or `system` subtype kills the reader, as in the
    /// SDKs that broke when `rate_limit_event` appeared (FM-43, FM-44).
    StrictParsing,
    /// Answer every `hook_callback` with success, even for a callback id never registered: the
    /// hook fails open (FM-29).
    HookFailOpen,
    /// No turn timeout (and no idle watchdog): a CLI that never answers holds the supervisor
    /// for ever (FM-20).
    NoTurnTimeout,
    /// A failed write to the CLI's stdin (EPIPE) is ignored: the turn waits for a result that
    /// can never come (FM-19).
    IgnoreStdinErrors,
    /// Control requests are handled inline on the read loop: a slow callback stalls reading and
    /// every other request behind it (FM-30).
    SerialControlHandlers,
    /// A callback that throws leaves its request unanswered (FM-30).
    SwallowCallbackErrors,
    /// A prompt a hook blocked is reported as an (empty) success (FM-29).
    IgnoreHookBlock,
    /// `hooks_applied: false` in the initialize answer goes unnoticed: the session runs without
    /// the guards it registered (FM-29).
    IgnoreHooksApplied,
    /// A question the model asked that nobody answered is not flagged: the turn reads as done
    /// (FM-51).
    NoNeedsInput,
    /// One-shot: read stdout to EOF and keep the *last* result as the answer. After stdin EOF
    /// the CLI still finishes a background task and runs its injected turn, whose `result`
    /// then replaces the prompt's own (Multica's loop; §1.5 of the protocol notes).
    KeepLastResult,
    /// A `control_cancel_request` is ignored: a slow callback still writes its answer to the
    /// request the CLI withdrew (the protocol forbids it).
    AnswerCancelled,
    /// Close the CLI's stderr at spawn (the read end of the pipe is dropped): the CLI's next
    /// stderr write fails with EPIPE, and what it says about a failure is lost.
    CloseStderr,
    /// A last stdout line without its newline (the bytes before EOF) is not a line: a result
    /// written so is never read.
    DropUnterminatedLine,
    /// The idle watchdog is not reset by the CLI's output: it counts from the prompt, so a long
    /// healthy turn that streams all along is given up as stalled.
    IdleFromPrompt,
    /// The idle watchdog runs on while the CLI waits on the supervisor (a slow permission or
    /// hook callback), so a human taking their time stalls the turn.
    IdleWhileWaiting,
    /// The stdout reader keeps a session-wide byte budget (a buffer that only grows): past
    /// 10 MiB in one process it fails, however small each line is.
    CumulativeReadLimit,
    /// A resumed turn's new CLI process is started without `--resume`: it begins a fresh
    /// session, and the conversation so far is gone.
    ResumeFresh,
    /// Print style: take stdout as the answer text whenever the CLI exits 0, without parsing
    /// the JSON result (so neither `is_error` nor `subtype` is looked at).
    StdoutTextIsAnswer,
}

const ALL: [(Bug, &str); 32] = [
    (Bug::PromptBeforeRead, "prompt-before-read"),
    (Bug::NoControlAnswers, "no-control-answers"),
    (Bug::PassRunInBackground, "pass-run-in-background"),
    (Bug::IgnoreAsyncLaunch, "ignore-async-launch"),
    (Bug::LastResultWins, "last-result-wins"),
    (Bug::CloseStdinEarly, "close-stdin-early"),
    (Bug::NoGroupKill, "no-group-kill"),
    (Bug::NoStderrDrain, "no-stderr-drain"),
    (Bug::NoErrorContext, "no-error-context"),
    (Bug::TrustExitCode, "trust-exit-code"),
    (Bug::ExitZeroIsSuccess, "exit-zero-is-success"),
    (Bug::SigtermWithoutEof, "sigterm-without-eof"),
    (Bug::NoSigkill, "no-sigkill"),
    (Bug::WaitForInit, "wait-for-init"),
    (Bug::StrictParsing, "strict-parsing"),
    (Bug::HookFailOpen, "hook-fail-open"),
    (Bug::NoTurnTimeout, "no-turn-timeout"),
    (Bug::IgnoreStdinErrors, "ignore-stdin-errors"),
    (Bug::SerialControlHandlers, "serial-control-handlers"),
    (Bug::SwallowCallbackErrors, "swallow-callback-errors"),
    (Bug::IgnoreHookBlock, "ignore-hook-block"),
    (Bug::IgnoreHooksApplied, "ignore-hooks-applied"),
    (Bug::NoNeedsInput, "no-needs-input"),
    (Bug::KeepLastResult, "keep-last-result"),
    (Bug::StdoutTextIsAnswer, "stdout-text-is-answer"),
    (Bug::AnswerCancelled, "answer-cancelled"),
    (Bug::CloseStderr, "close-stderr"),
    (Bug::DropUnterminatedLine, "drop-unterminated-line"),
    (Bug::IdleFromPrompt, "idle-from-prompt"),
    (Bug::IdleWhileWaiting, "idle-while-waiting"),
    (Bug::CumulativeReadLimit, "cumulative-read-limit"),
    (Bug::ResumeFresh, "resume-fresh"),
];

impl Bug {
    pub fn from_name(name: &str) -> Option<Bug> {
        ALL.iter().find(|(_, n)| *n == name).map(|(bug, _)| *bug)
    }

    pub fn names() -> Vec<&'static str> {
        ALL.iter().map(|(_, name)| *name).collect()
    }
}

impl Bug {
    /// Why this bug cannot exist in `style` (`None`: it can). A switch is only worth running
    /// where the code it breaks exists; the harness's mutation tests skip the others.
    pub fn not_in(self, style: Style) -> Option<&'static str> {
        use Bug::*;
        const NO_CONTROL: &str = "the style never writes control frames (no initialize, no \
                                  answers to the CLI's requests, no hooks)";
        const NO_STREAM: &str = "print mode writes no stream: stdout is one JSON result";
        const NO_STDIN: &str = "print mode writes stdin at most once, then closes it: a prompt \
                                over 30,000 characters, to a CLI that reads stdin to EOF before \
                                anything else (no control frames, nothing later to write, close \
                                early or wait on; a CLI that cannot take that write is one that \
                                ended, which the style sees as an exit)";
        match (self, style) {
            (StdoutTextIsAnswer, Style::Sdk | Style::Headless) => {
                Some("only print mode has a single JSON document to skip parsing")
            }
            (_, Style::Sdk) => None,
            (
                NoControlAnswers
                | PassRunInBackground
                | HookFailOpen
                | SerialControlHandlers
                | SwallowCallbackErrors
                | IgnoreHooksApplied
                | AnswerCancelled,
                Style::Headless | Style::Print,
            ) => Some(NO_CONTROL),
            (IgnoreHookBlock, Style::Headless | Style::Print) => Some(
                "only hooks the supervisor registers block prompts in the library, and this \
                 style registers none",
            ),
            (NoNeedsInput, Style::Headless) => Some(
                "--disallowedTools AskUserQuestion: the model cannot ask, so no question goes \
                 unanswered",
            ),
            (CloseStdinEarly, Style::Headless) => Some(
                "one prompt and no control answers: an EOF right after the prompt loses nothing \
                 (the CLI finishes the turn after EOF)",
            ),
            (SigtermWithoutEof, Style::Headless) => Some(
                "stdin is closed at the turn's result, before teardown: there is no open stdin \
                 left to signal past",
            ),
            (
                NoNeedsInput | IgnoreAsyncLaunch | LastResultWins | StrictParsing | KeepLastResult
                | ExitZeroIsSuccess,
                Style::Print,
            ) => Some(NO_STREAM),
            (IdleFromPrompt | IdleWhileWaiting, Style::Print) => {
                Some("print mode writes nothing until the end: there is no liveness to watch")
            }
            (IdleWhileWaiting, Style::Headless) => Some(NO_CONTROL),
            (ResumeFresh, Style::Headless | Style::Print) => Some(
                "one prompt per run in this style: a plan that resumes is multi-turn, which it \
                 does not drive",
            ),
            (DropUnterminatedLine, Style::Print) => Some(
                "print mode's output is framed by the CLI itself, ending in a newline: a script's \
                 raw bytes are stream-json framing, which print mode does not write",
            ),
            (
                PromptBeforeRead | CloseStdinEarly | SigtermWithoutEof | WaitForInit
                | IgnoreStdinErrors,
                Style::Print,
            ) => Some(NO_STDIN),
            _ => None,
        }
    }

    /// The switches that can exist in `style`, by name.
    pub fn names_in(style: Style) -> Vec<&'static str> {
        ALL.iter()
            .filter(|(bug, _)| bug.not_in(style).is_none())
            .map(|(_, name)| *name)
            .collect()
    }
}

/// The set of enabled bug switches (empty for the correct supervisor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bugs(Vec<Bug>);

impl Bugs {
    pub fn enable(&mut self, bug: Bug) {
        if !self.has(bug) {
            self.0.push(bug);
        }
    }

    pub fn has(&self, bug: Bug) -> bool {
        self.0.contains(&bug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for name in Bug::names() {
            let bug = Bug::from_name(name).expect(name);
            assert_eq!(ALL.iter().find(|(b, _)| *b == bug).unwrap().1, name);
        }
        assert_eq!(Bug::from_name("prompt_before_read"), None);
    }

    #[test]
    fn every_switch_exists_in_some_style_and_each_style_has_its_own() {
        for (bug, name) in ALL {
            assert!(
                crate::style::ALL.iter().any(|s| bug.not_in(*s).is_none()),
                "{name} applies to no style"
            );
        }
        assert_eq!(Bug::names_in(Style::Sdk).len(), ALL.len() - 1);
        assert!(Bug::names_in(Style::Headless).contains(&"keep-last-result"));
        assert!(!Bug::names_in(Style::Headless).contains(&"no-control-answers"));
        assert!(Bug::names_in(Style::Print).contains(&"stdout-text-is-answer"));
        assert!(!Bug::names_in(Style::Print).contains(&"keep-last-result"));
    }
}
