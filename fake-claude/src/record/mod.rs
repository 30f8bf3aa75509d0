//! `fake-claude record --out scenario.yaml [--pauses] [--name NAME] -- <real CLI command...>`:
//! stand between a supervisor and a real CLI, pass everything through unchanged ([`proxy`]), and
//! write what happened as a replayable scenario ([`derive`]). The recorder exits as the CLI did
//! (same code, or the same signal).
//!
//! A version probe (`-v` / `--version` alone, as SDKs run before the session) is passed through
//! without writing anything, so it never overwrites the recording of the session that follows.

pub mod derive;
pub mod proxy;
pub mod session;

use std::path::PathBuf;

use crate::cli::say_err;
use crate::engine::process::EXIT_BAD_SCENARIO;

pub const USAGE: &str =
    "usage: fake-claude record --out SCENARIO.yaml [--pauses] [--name NAME] -- COMMAND [ARGS...]\n";

struct Args {
    out: PathBuf,
    pauses: bool,
    name: Option<String>,
    command: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = None;
    let mut pauses = false;
    let mut name = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--" => {
                let command: Vec<String> = it.cloned().collect();
                if command.is_empty() {
                    return Err("no command after `--`".into());
                }
                let out = out.ok_or("--out is required")?;
                return Ok(Args {
                    out,
                    pauses,
                    name,
                    command,
                });
            }
            "--out" | "-o" => out = Some(PathBuf::from(it.next().ok_or("--out needs a path")?)),
            "--name" => name = Some(it.next().ok_or("--name needs a value")?.clone()),
            "--pauses" => pauses = true,
            other => {
                if let Some(p) = other.strip_prefix("--out=") {
                    out = Some(PathBuf::from(p));
                } else if let Some(n) = other.strip_prefix("--name=") {
                    name = Some(n.to_string());
                } else {
                    return Err(format!("unknown argument `{other}`"));
                }
            }
        }
    }
    Err("no command: put it after `--`".into())
}

/// `fake-claude record ARGS...`; returns the exit code (or dies by the CLI's signal).
pub fn main(args: &[String]) -> i32 {
    // Help before the command: `fake-claude record -- claude --help` records the CLI's help.
    let before_command = args.iter().take_while(|a| *a != "--");
    if before_command
        .into_iter()
        .any(|a| a == "--help" || a == "-h")
    {
        let _ = std::io::Write::write_all(&mut std::io::stdout(), USAGE.as_bytes());
        return 0;
    }
    let a = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            say_err(&format!("fake-claude record: {e}\n{USAGE}"));
            return EXIT_BAD_SCENARIO;
        }
    };
    let (program, rest) = (&a.command[0], &a.command[1..]);
    let (session, status) = match proxy::run(program, rest) {
        Ok(r) => r,
        Err(e) => {
            say_err(&format!(
                "fake-claude record: cannot start {program}: {e}\n"
            ));
            return 127;
        }
    };
    let probe = matches!(rest, [v] if v == "-v" || v == "--version");
    if !probe {
        let name = a.name.clone().unwrap_or_else(|| {
            a.out
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "recorded".into())
        });
        let shown: Vec<&str> = a.command.iter().map(String::as_str).collect();
        let opts = derive::Options {
            name,
            origin: format!(
                "Recorded by `fake-claude record` from `{}`",
                clip(&shown.join(" "), 160)
            ),
            sources: vec![],
            pauses: a.pauses,
            schema: crate::scenario::schema::modeline_path(&a.out),
        };
        let yaml = derive::scenario_yaml(&session, &opts);
        if let Err(e) = std::fs::write(&a.out, yaml) {
            say_err(&format!(
                "fake-claude record: cannot write {}: {e}\n",
                a.out.display()
            ));
        }
    }
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => crate::engine::process::die_by_signal(s),
        _ => 1,
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
