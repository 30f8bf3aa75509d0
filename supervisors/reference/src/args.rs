//! Command line: `--cli`, `--plan`, `--style`, `--policy`, `--bug` (repeatable), `--exit-grace`,
//! `--term-grace`, `--help`.
//!
//! Hand-rolled on purpose: a handful of flags do not justify a parser dependency, and every
//! error names the offending argument. Unknown flags, policies and bug switches are usage errors (exit 2).

use std::path::PathBuf;
use std::time::Duration;

use crate::bugs::{Bug, Bugs};
use crate::policy::Policy;
use crate::style::Style;

pub const HELP: &str = "\
reference-supervisor: drive the Claude Code CLI through a plan and report what happened (JSONL on stdout)

USAGE:
    reference-supervisor [--cli PATH] [--plan PATH] [--style STYLE] [--policy POLICY] [--bug NAME]...
                         [--exit-grace DURATION] [--term-grace DURATION]

OPTIONS:
    --cli PATH        the `claude` executable to spawn        [default: $HARNESS_CLI]
    --plan PATH       the drive plan (JSON)                    [default: $HARNESS_PLAN]
    --style STYLE     how the CLI is driven                     [default: sdk]
                        sdk       stream-json both ways, initialize, control protocol (Agent SDKs)
                        headless  -p, stream-json prompt, bypassPermissions, no control protocol,
                                  one-shot (Multica)
                        print     -p --output-format json PROMPT: one JSON result, one-shot
    --policy POLICY   foreground-only | background-aware       [default: foreground-only]
    --bug NAME        reintroduce one known bug (repeatable; for the harness's mutation tests):
                        prompt-before-read      write initialize + prompt before starting the stdout reader
                        no-control-answers      never answer the CLI's control requests
                        pass-run-in-background  do not rewrite run_in_background under foreground-only
                        ignore-async-launch     do not fail a turn that launched a background task
                        last-result-wins        a turn ends at the first result after its prompt
                        close-stdin-early       close stdin right after writing the prompt
                        no-group-kill           teardown signals only the CLI, not its process group
                        no-stderr-drain         read the CLI's stderr only after it exited
                        no-error-context        failures carry no exit code, error result or stderr tail
                        trust-exit-code         fail the last turn when the CLI's exit code is not 0
                        exit-zero-is-success    a clean exit completes the outstanding turn
                        sigterm-without-eof     teardown sends SIGTERM before closing stdin
                        no-sigkill              teardown never escalates to SIGKILL
                        wait-for-init           wait for system/init before the first prompt
                        strict-parsing          an unknown message type or system subtype is fatal
                        hook-fail-open          answer every hook_callback with success
                        no-turn-timeout         never time out a turn or initialize
                        ignore-stdin-errors     ignore a failed write to the CLI's stdin
                        serial-control-handlers run callbacks inline on the read loop
                        swallow-callback-errors leave a request unanswered when its callback throws
                        ignore-hook-block       report a prompt a hook blocked as an empty success
                        ignore-hooks-applied    run on when the CLI did not apply the session's hooks
                        no-needs-input          never flag a question nobody answered
                        keep-last-result        one-shot: the last result before EOF is the answer
                        stdout-text-is-answer   print: exit 0 completes the turn with stdout's text
                        answer-cancelled        answer a request the CLI cancelled (slow callback)
                        close-stderr            close the CLI's stderr at spawn
                        drop-unterminated-line  a last stdout line without a newline is lost
                        idle-from-prompt        the idle watchdog is not reset by CLI output
                        idle-while-waiting      the idle watchdog runs while a callback decides
                        cumulative-read-limit   fail once 10 MiB of stdout were read in a session
                        resume-fresh            a resumed turn's new CLI gets no --resume
                      (a switch that cannot exist in the chosen style is a usage error)
    --exit-grace D    after closing the CLI's stdin, how long it gets to exit  [default: 3s]
    --term-grace D    after SIGTERM, how long before SIGKILL                   [default: 2s]
                      (D: 500ms, 2s; a bare number is milliseconds)
    -h, --help        print this help

The report contract is docs/adapters.md. Exit status: 0 when a complete report was written (even if
turns failed), 1 for a bad plan, 2 for a usage error.
";

/// Everything the run needs from the command line and environment.
#[derive(Debug, Clone)]
pub struct Options {
    pub cli: PathBuf,
    pub plan_path: PathBuf,
    pub style: Style,
    pub policy: Policy,
    pub bugs: Bugs,
    pub graces: Graces,
}

/// How long teardown waits for each step to work before the next, harder one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Graces {
    /// After stdin is closed, for the CLI to exit on its own.
    pub exit: Duration,
    /// After SIGTERM, before SIGKILL.
    pub term: Duration,
}

impl Default for Graces {
    /// Generous for a real CLI, which flushes its session to disk on EOF.
    fn default() -> Self {
        Graces {
            exit: Duration::from_secs(3),
            term: Duration::from_secs(2),
        }
    }
}

/// `500ms`, `2s`, or a bare number of milliseconds.
fn parse_duration(flag: &str, text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = t.strip_suffix('s') {
        (s, 1000)
    } else {
        (t, 1)
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{flag} needs a duration like 500ms or 2s, got `{text}`"))
}

#[derive(Debug)]
pub enum Command {
    Run(Options),
    Help,
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    parse_with_env(args, |name| std::env::var_os(name).map(PathBuf::from))
}

/// `parse` with the environment passed in, so tests do not depend on the process environment.
fn parse_with_env(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<PathBuf>,
) -> Result<Command, String> {
    let mut cli = None;
    let mut plan = None;
    let mut style = Style::Sdk;
    let mut policy = Policy::ForegroundOnly;
    let mut bugs = Vec::new();
    let mut graces = Graces::default();

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline_value
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--cli" => cli = Some(PathBuf::from(value("--cli")?)),
            "--plan" => plan = Some(PathBuf::from(value("--plan")?)),
            "--style" => {
                let name = value("--style")?;
                style = Style::from_name(&name).ok_or_else(|| {
                    format!("unknown style `{name}` (expected sdk, headless or print)")
                })?;
            }
            "--policy" => {
                let name = value("--policy")?;
                policy = Policy::from_name(&name).ok_or_else(|| {
                    format!(
                        "unknown policy `{name}` (expected foreground-only or background-aware)"
                    )
                })?;
            }
            "--bug" => {
                let name = value("--bug")?;
                let bug = Bug::from_name(&name).ok_or_else(|| {
                    format!(
                        "unknown bug switch `{name}` (expected one of: {})",
                        Bug::names().join(", ")
                    )
                })?;
                bugs.push((bug, name));
            }
            "--exit-grace" => graces.exit = parse_duration(&flag, &value("--exit-grace")?)?,
            "--term-grace" => graces.term = parse_duration(&flag, &value("--term-grace")?)?,
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }

    // Checked once the style is known, whatever the flag order.
    let mut enabled = Bugs::default();
    for (bug, name) in bugs {
        if let Some(why) = bug.not_in(style) {
            return Err(format!(
                "bug switch `{name}` cannot exist in the {} style: {why}",
                style.name()
            ));
        }
        enabled.enable(bug);
    }
    let bugs = enabled;
    let cli = cli
        .or_else(|| env("HARNESS_CLI"))
        .ok_or("no CLI to run: pass --cli PATH or set HARNESS_CLI")?;
    let plan_path = plan
        .or_else(|| env("HARNESS_PLAN"))
        .ok_or("no plan: pass --plan PATH or set HARNESS_PLAN")?;
    Ok(Command::Run(Options {
        cli,
        plan_path,
        style,
        policy,
        bugs,
        graces,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Command, String> {
        let env = |name: &str| match name {
            "HARNESS_CLI" => Some(PathBuf::from("/env/claude")),
            "HARNESS_PLAN" => Some(PathBuf::from("/env/plan.json")),
            _ => None,
        };
        parse_with_env(args.iter().map(|s| s.to_string()), env)
    }

    fn run_options(args: &[&str]) -> Options {
        match parse_args(args) {
            Ok(Command::Run(options)) => options,
            other => panic!("expected run options, got {other:?}"),
        }
    }

    #[test]
    fn defaults_come_from_the_environment() {
        let options = run_options(&[]);
        assert_eq!(options.cli, PathBuf::from("/env/claude"));
        assert_eq!(options.plan_path, PathBuf::from("/env/plan.json"));
        assert_eq!(options.style, Style::Sdk);
        assert_eq!(options.policy, Policy::ForegroundOnly);
        assert_eq!(options.bugs, Bugs::default());
        assert_eq!(options.graces, Graces::default());
    }

    #[test]
    fn graces_take_durations() {
        let options = run_options(&["--exit-grace", "1s", "--term-grace=250ms"]);
        assert_eq!(options.graces.exit, Duration::from_secs(1));
        assert_eq!(options.graces.term, Duration::from_millis(250));
        assert_eq!(
            run_options(&["--exit-grace", "40"]).graces.exit,
            Duration::from_millis(40)
        );
        assert!(
            parse_args(&["--term-grace", "soon"])
                .unwrap_err()
                .contains("--term-grace needs a duration")
        );
    }

    #[test]
    fn flags_override_the_environment_in_both_spellings() {
        let options = run_options(&[
            "--cli",
            "/x/claude",
            "--plan=/x/plan.json",
            "--policy=background-aware",
        ]);
        assert_eq!(options.cli, PathBuf::from("/x/claude"));
        assert_eq!(options.plan_path, PathBuf::from("/x/plan.json"));
        assert_eq!(options.policy, Policy::BackgroundAware);
    }

    #[test]
    fn bug_switches_are_repeatable() {
        let options = run_options(&["--bug", "no-group-kill", "--bug=last-result-wins"]);
        assert!(options.bugs.has(Bug::NoGroupKill));
        assert!(options.bugs.has(Bug::LastResultWins));
        assert!(!options.bugs.has(Bug::PromptBeforeRead));
    }

    #[test]
    fn unknown_names_are_usage_errors() {
        assert!(
            parse_args(&["--bug", "nope"])
                .unwrap_err()
                .contains("unknown bug switch `nope`")
        );
        assert!(
            parse_args(&["--policy", "yolo"])
                .unwrap_err()
                .contains("unknown policy `yolo`")
        );
        assert!(
            parse_args(&["--frobnicate"])
                .unwrap_err()
                .contains("--frobnicate")
        );
        assert!(
            parse_args(&["--plan"])
                .unwrap_err()
                .contains("needs a value")
        );
    }

    #[test]
    fn styles_and_the_switches_they_can_have() {
        assert_eq!(run_options(&["--style", "print"]).style, Style::Print);
        let headless = run_options(&["--bug", "keep-last-result", "--style=headless"]);
        assert_eq!(headless.style, Style::Headless);
        assert!(headless.bugs.has(Bug::KeepLastResult));
        assert!(
            parse_args(&["--bug", "no-control-answers", "--style", "print"])
                .unwrap_err()
                .contains("cannot exist in the print style")
        );
        assert!(
            parse_args(&["--style", "tty"])
                .unwrap_err()
                .contains("unknown style `tty`")
        );
    }

    #[test]
    fn help_wins() {
        assert!(matches!(
            parse_args(&["--bug", "no-group-kill", "--help"]),
            Ok(Command::Help)
        ));
    }
}
