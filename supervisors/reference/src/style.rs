//! Driving styles: how a supervisor starts the CLI and hands it a prompt.
//!
//! Real supervisors drive the same CLI three ways, and each way has its own failure modes:
//!
//! | style | argv | prompt | control protocol | stdin |
//! |---|---|---|---|---|
//! | `sdk` (Agent SDKs) | `--output-format stream-json --verbose --permission-prompt-tool stdio --input-format stream-json` | stream-json user message, string content | `initialize`, answers, actions | open for the session |
//! | `headless` (Multica's Go backend) | `-p --output-format stream-json --input-format stream-json --verbose --permission-mode bypassPermissions --disallowedTools AskUserQuestion` | stream-json user message, content blocks | none | closed at the turn's result |
//! | `print` (`claude -p "…"` in a script) | `-p --output-format json <prompt>` | on argv | none | closed at once |
//!
//! This module holds only what differs — argv, environment, prompt framing, when stdin closes;
//! `session.rs` runs the same loop for all three.

use serde_json::{Value, json};

use crate::ids;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Sdk,
    Headless,
    Print,
}

/// Every style, in the order the help lists them.
/// Print style: prompts longer than this many characters go to stdin (a margin under
/// Windows' 32,767-character command line for the rest of argv).
pub const ARGV_PROMPT_LIMIT: usize = 30_000;

pub const ALL: [Style; 3] = [Style::Sdk, Style::Headless, Style::Print];

impl Style {
    pub fn from_name(name: &str) -> Option<Style> {
        ALL.into_iter().find(|style| style.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Style::Sdk => "sdk",
            Style::Headless => "headless",
            Style::Print => "print",
        }
    }

    /// The style a supervisor command line selects (`--style X` / `--style=X`; default `sdk`).
    /// The harness uses it to know which bug switches a definition's mutants can have.
    pub fn of_args(args: &[String]) -> Option<Style> {
        let mut style = Style::Sdk;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--style" {
                style = Style::from_name(args.next()?)?;
            } else if let Some(name) = arg.strip_prefix("--style=") {
                style = Style::from_name(name)?;
            }
        }
        Some(style)
    }

    /// argv after the executable. Only `print` puts the prompt there (last, as users write
    /// `claude -p "…"`; after `--` when it would otherwise read as a flag).
    pub fn argv(self, prompt: &str) -> Vec<String> {
        let fixed: &[&str] = match self {
            // As the Python SDK passes it, `--input-format` last.
            Style::Sdk => &[
                "--output-format",
                "stream-json",
                "--verbose",
                "--permission-prompt-tool",
                "stdio",
                "--input-format",
                "stream-json",
            ],
            // Multica's argv: nobody answers permission prompts, so tools run unasked, and the
            // one tool that needs a human (AskUserQuestion) is taken away.
            Style::Headless => &[
                "-p",
                "--output-format",
                "stream-json",
                "--input-format",
                "stream-json",
                "--verbose",
                "--permission-mode",
                "bypassPermissions",
                "--disallowedTools",
                "AskUserQuestion",
            ],
            // `--verbose`: the one JSON line is every message of the run, so a launch and an
            // injected turn's result are visible (without it, only the *last* result is printed,
            // and 2.1.81's carries no origin to tell it from the answer).
            Style::Print => &["-p", "--output-format", "json", "--verbose"],
        };
        let mut argv: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
        if self == Style::Print && Self::prompt_fits_argv(prompt) {
            if prompt.starts_with('-') {
                argv.push("--".into());
            }
            argv.push(prompt.into());
        }
        argv
    }

    /// Extra environment for the CLI. Under `bypassPermissions` the real CLI refuses to run as
    /// root unless it is told it is in a sandbox.
    pub fn env(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Style::Headless => &[("IS_SANDBOX", "1")],
            Style::Sdk | Style::Print => &[],
        }
    }

    /// Speaks the SDK control protocol: sends `initialize` and plan actions, answers the CLI's
    /// control requests. The other styles never write a control frame.
    pub fn control_protocol(self) -> bool {
        self == Style::Sdk
    }

    /// Writes prompts as stream-json on stdin (`print` passes its prompt on argv).
    pub fn stream_input(self) -> bool {
        self != Style::Print
    }

    /// One prompt per process: several turns are a bad plan.
    pub fn one_shot_only(self) -> bool {
        self != Style::Sdk
    }

    /// Closes stdin as soon as the turn's result arrived, rather than at teardown. A headless
    /// supervisor has nothing more to say (no control answers, no next prompt), and the EOF is
    /// what lets the CLI finish; background work then runs to its end on the CLI's side.
    pub fn closes_stdin_at_result(self) -> bool {
        self == Style::Headless
    }

    /// stdout is one JSON document (the `result`), not a stream of messages.
    pub fn single_json_output(self) -> bool {
        self == Style::Print
    }

    /// Print style: whether the prompt may travel in argv. Large inputs must not (Windows
    /// refuses a command line over 32,767 characters, Linux an argument over 128 KiB: FM-52);
    /// they go to stdin as plain text, which the CLI reads to EOF when argv has no prompt.
    pub fn prompt_fits_argv(prompt: &str) -> bool {
        prompt.chars().count() <= ARGV_PROMPT_LIMIT
    }

    /// The stdin line for `text`, or `None` when the prompt went on argv.
    pub fn prompt(self, text: &str) -> Option<Prompt> {
        match self {
            Style::Sdk => {
                let uuid = ids::uuid_v4();
                let line = json!({"type": "user", "message": {"role": "user", "content": text},
                                  "parent_tool_use_id": null, "session_id": "default", "uuid": uuid});
                Some(Prompt {
                    uuid: Some(uuid),
                    line,
                })
            }
            // Multica's framing: content blocks, no uuid, no session id.
            Style::Headless => Some(Prompt {
                uuid: None,
                line: json!({"type": "user", "message": {"role": "user",
                             "content": [{"type": "text", "text": text}]}}),
            }),
            Style::Print => None,
        }
    }
}

/// A user message ready to write.
pub struct Prompt {
    /// The uuid the message carries, which results echo as `user_message_uuid`. Without one,
    /// the CLI makes up its own, so echoed uuids say nothing about which prompt was answered.
    pub uuid: Option<String>,
    pub line: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_round_trip() {
        for style in ALL {
            assert_eq!(Style::from_name(style.name()), Some(style));
        }
        assert_eq!(Style::from_name("SDK"), None);
    }

    #[test]
    fn the_style_of_a_command_line() {
        assert_eq!(Style::of_args(&args(&["--policy", "x"])), Some(Style::Sdk));
        assert_eq!(
            Style::of_args(&args(&["--style", "headless", "--bug", "x"])),
            Some(Style::Headless)
        );
        assert_eq!(
            Style::of_args(&args(&["--style=print"])),
            Some(Style::Print)
        );
        assert_eq!(Style::of_args(&args(&["--style", "tty"])), None);
        assert_eq!(Style::of_args(&args(&["--style"])), None);
    }

    #[test]
    fn print_puts_the_prompt_last() {
        assert_eq!(
            Style::Print.argv("hello there"),
            ["-p", "--output-format", "json", "--verbose", "hello there"]
        );
        assert_eq!(
            Style::Print.argv("-v is a flag"),
            [
                "-p",
                "--output-format",
                "json",
                "--verbose",
                "--",
                "-v is a flag"
            ]
        );
        assert!(
            !Style::Headless
                .argv("secret")
                .contains(&"secret".to_string())
        );
        assert_eq!(Style::Sdk.argv("x").last().unwrap(), "stream-json");
    }

    #[test]
    fn prompt_framing() {
        let sdk = Style::Sdk.prompt("hi").unwrap();
        assert_eq!(sdk.line["message"]["content"], "hi");
        assert_eq!(
            sdk.line["uuid"].as_str(),
            Some(sdk.uuid.as_deref().unwrap())
        );

        let headless = Style::Headless.prompt("hi").unwrap();
        assert_eq!(
            headless.line,
            json!({"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": "hi"}]}})
        );
        assert_eq!(headless.uuid, None);

        assert!(Style::Print.prompt("hi").is_none());
    }
}
