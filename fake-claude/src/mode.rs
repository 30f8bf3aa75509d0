//! What the invocation asks of the CLI before any scenario step runs: a subcommand probe
//! (`auth status`, `mcp list`, `--help`), or a conversation framed by its input and output
//! formats — stream-json both ways (the SDKs), or print mode with the prompt on argv or as plain
//! text on stdin and the answer as text, one JSON result or stream-json. The real CLI (2.1.332)
//! makes these decisions from argv alone; so does this module, and the engine follows it.
//!
//! Argument errors carry the real CLI's text and exit code, so a supervisor that builds a wrong
//! argv sees what it would see in production.

use crate::invocation::Invocation;

/// How prompts reach the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One prompt: the positional argument, else all of stdin as plain text.
    Text,
    /// NDJSON messages on stdin: prompts as `user` messages, control requests and responses.
    StreamJson,
}

/// How the CLI writes the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Only the result text and a newline.
    Text,
    /// The result object as one JSON line (with `--verbose`: every message, as a JSON array).
    Json,
    /// Every message as NDJSON.
    StreamJson,
}

/// The conversation the invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framing {
    pub input: InputFormat,
    pub output: OutputFormat,
    pub verbose: bool,
    /// The positional prompt (`claude -p "hello"`), if any.
    pub prompt: Option<String>,
}

impl Framing {
    /// The SDKs' framing: stream-json in and out.
    pub fn stream_json() -> Self {
        Framing {
            input: InputFormat::StreamJson,
            output: OutputFormat::StreamJson,
            verbose: true,
            prompt: None,
        }
    }
}

/// A question the CLI answers without running a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subcommand {
    /// `claude auth status [--json]`: both print the same pretty JSON.
    AuthStatus,
    /// `claude mcp list`.
    McpList,
    /// `claude --help` / `-h`.
    Help,
}

/// What the invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Subcommand(Subcommand),
    Conversation(Framing),
}

/// An argv the real CLI refuses: its stderr text and exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub stderr: String,
    pub code: i32,
}

impl Refusal {
    fn new(stderr: impl Into<String>) -> Self {
        Refusal {
            stderr: stderr.into(),
            code: 1,
        }
    }
}

/// Real-CLI flags that take no value (the token after them is a prompt or another flag).
pub const BOOLEAN_FLAGS: &[&str] = &[
    "-p",
    "--print",
    "--verbose",
    "-c",
    "--continue",
    "--include-partial-messages",
    "--fork-session",
    "--replay-user-messages",
    "--strict-mcp-config",
    "--include-hook-events",
    "--debug",
    "-d",
    "--dangerously-skip-permissions",
    "--allow-dangerously-skip-permissions",
    "--await-initialize",
    "--no-session-persistence",
    "--session-mirror",
    "--plugin-dir-no-mcp",
    "--managed-settings-in-initialize",
    "--json",
    "-v",
    "--version",
    "-h",
    "--help",
];

/// The positional words of argv, in order: tokens that are neither flags nor a flag's value.
/// A flag not known to be boolean takes the next token as its value unless it starts with `-`
/// (the real CLI knows every option; the fake must accept ones it does not model).
pub fn positionals(argv: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut after_dashes = false;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        if after_dashes {
            out.push(a.clone());
        } else if a == "--" {
            after_dashes = true;
        } else if a.starts_with('-') && a.len() > 1 {
            if a.contains('=') || BOOLEAN_FLAGS.contains(&a.as_str()) {
                continue;
            }
            if argv.get(i).is_some_and(|n| !n.starts_with('-')) {
                i += 1;
            }
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// Decide what `inv` asks for, as the real CLI does.
pub fn decide(inv: &Invocation) -> Result<Asked, Refusal> {
    let words = positionals(&inv.argv);
    if inv.flag("--help").is_some() || inv.flag("-h").is_some() {
        return Ok(Asked::Subcommand(Subcommand::Help));
    }
    match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["auth", "status", ..] => return Ok(Asked::Subcommand(Subcommand::AuthStatus)),
        ["mcp", "list", ..] => return Ok(Asked::Subcommand(Subcommand::McpList)),
        _ => {}
    }
    let output = match inv.flag("--output-format").as_deref() {
        None | Some("text") => OutputFormat::Text,
        Some("json") => OutputFormat::Json,
        Some("stream-json") => OutputFormat::StreamJson,
        Some(other) => {
            return Err(Refusal::new(format!(
                "error: option '--output-format <format>' argument '{other}' is invalid. Allowed choices are text, json, stream-json.\n"
            )));
        }
    };
    let input = match inv.flag("--input-format").as_deref() {
        None | Some("text") => InputFormat::Text,
        Some("stream-json") => InputFormat::StreamJson,
        Some(other) => {
            return Err(Refusal::new(format!(
                "error: option '--input-format <format>' argument '{other}' is invalid. Allowed choices are text, stream-json.\n"
            )));
        }
    };
    let verbose = inv.flag("--verbose").is_some();
    if input == InputFormat::StreamJson && output != OutputFormat::StreamJson {
        return Err(Refusal::new(
            "Error: --input-format=stream-json requires output-format=stream-json.\n",
        ));
    }
    if output == OutputFormat::StreamJson && !verbose {
        return Err(Refusal::new(
            "Error: When using --print, --output-format=stream-json requires --verbose\n",
        ));
    }
    // The real CLI's `[prompt]` is one argument: `claude -p say hi` asks the model "say".
    let prompt = words.into_iter().next();
    Ok(Asked::Conversation(Framing {
        input,
        output,
        verbose,
        prompt,
    }))
}

/// The error the real CLI prints when print mode has no prompt at all.
pub const NO_PROMPT: &str = "Error: Input must be provided either through stdin or as a prompt argument when using --print\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(args: &[&str]) -> Result<Asked, Refusal> {
        decide(&Invocation::parse(
            args.iter().map(|s| s.to_string()).collect(),
            std::iter::empty(),
        ))
    }

    fn framing(args: &[&str]) -> Framing {
        match asked(args) {
            Ok(Asked::Conversation(f)) => f,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn the_sdk_argv_is_stream_json_both_ways() {
        let f = framing(&[
            "--output-format",
            "stream-json",
            "--verbose",
            "--system-prompt",
            "",
            "--permission-prompt-tool",
            "stdio",
            "--input-format",
            "stream-json",
        ]);
        assert_eq!(f, Framing::stream_json());
    }

    #[test]
    fn print_mode_takes_the_positional_prompt() {
        let f = framing(&["-p", "hello", "--output-format", "json"]);
        assert_eq!(f.prompt.as_deref(), Some("hello"));
        assert_eq!((f.input, f.output), (InputFormat::Text, OutputFormat::Json));
        let f = framing(&["--model", "opus", "-p", "--output-format=text", "say", "hi"]);
        assert_eq!(f.prompt.as_deref(), Some("say"));
        assert_eq!(framing(&["-p"]).prompt, None);
        assert_eq!(framing(&["-p", "--", "-x"]).prompt.as_deref(), Some("-x"));
        // Any word that is not a subcommand is a prompt.
        assert_eq!(
            framing(&["frobnicate"]).prompt.as_deref(),
            Some("frobnicate")
        );
    }

    #[test]
    fn subcommands() {
        assert_eq!(
            asked(&["auth", "status", "--json"]),
            Ok(Asked::Subcommand(Subcommand::AuthStatus))
        );
        assert_eq!(
            asked(&["auth", "status"]),
            Ok(Asked::Subcommand(Subcommand::AuthStatus))
        );
        assert_eq!(
            asked(&["mcp", "list"]),
            Ok(Asked::Subcommand(Subcommand::McpList))
        );
        assert_eq!(asked(&["--help"]), Ok(Asked::Subcommand(Subcommand::Help)));
    }

    #[test]
    fn refusals_carry_the_real_texts() {
        let e = asked(&["-p", "--output-format", "stream-json", "hi"]).unwrap_err();
        assert_eq!(
            e.stderr,
            "Error: When using --print, --output-format=stream-json requires --verbose\n"
        );
        assert_eq!(e.code, 1);
        let e = asked(&["--input-format", "stream-json", "--output-format", "json"]).unwrap_err();
        assert!(e.stderr.contains("requires output-format=stream-json"));
        let e = asked(&["--output-format", "yaml"]).unwrap_err();
        assert!(
            e.stderr
                .contains("Allowed choices are text, json, stream-json")
        );
    }
}
