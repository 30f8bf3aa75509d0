//! The `fake-claude` executable (`fake-claude record ...` is the recorder, [`crate::record`]):
//! answer `-v` at once, pick the scenario (flag, env, embedded
//! default), open the transcript, arm the watchdog and signal handling, run the engine.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::engine::process::{self, EXIT_BAD_SCENARIO};
use crate::invocation::Invocation;
use crate::mode::{self, Asked, Framing};
use crate::probes;
use crate::profile::Profile;
use crate::scenario::model::AuthState;
use crate::scenario::{self, Loaded};
use crate::transcript::{Event, Transcript};

/// Default watchdog: no run of a fake should outlive this.
pub const DEFAULT_WATCHDOG: Duration = Duration::from_secs(60);

pub fn main() -> i32 {
    main_with_args(std::env::args().skip(1).collect())
}

/// fake-claude with these arguments (without argv[0]) and the process environment; returns the
/// exit code. The harness's multi-call binary comes here too.
pub fn main_with_args(args: Vec<String>) -> i32 {
    if args.first().map(String::as_str) == Some("record") {
        return crate::record::main(&args[1..]);
    }
    let start = Instant::now();
    let inv = Invocation::parse(args, std::env::vars());
    if !inv.problems.is_empty() {
        for p in &inv.problems {
            say_err(&format!("fake-claude: {p}\n"));
        }
        return EXIT_BAD_SCENARIO;
    }
    let transcript = match &inv.transcript {
        Some(p) => match Transcript::open(p, start) {
            Ok(t) => t,
            Err(e) => {
                say_err(&format!(
                    "fake-claude: cannot open transcript {}: {e}\n",
                    p.display()
                ));
                return EXIT_BAD_SCENARIO;
            }
        },
        None => Transcript::disabled(),
    };
    let transcript = Arc::new(transcript);
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();

    if inv.version && !inv.check {
        // Answer the version probe before loading anything: SDKs time it out at 2 s.
        let profile = inv
            .profile
            .as_deref()
            .and_then(Profile::parse)
            .or_else(|| inv.scenario.as_deref().and_then(scenario_profile_cheaply))
            .unwrap_or(Profile::DEFAULT);
        // Record first: SDKs kill the probe as soon as they have read the answer (Python 0.1.50
        // terminates it), which would race records written after it. Its outcome is certain.
        record_start(&transcript, &inv, &cwd, profile, "-", true);
        transcript.record(Event::Exit { code: 0 });
        // A probe that stopped reading must not turn the answer into a panic (exit 101).
        let _ = writeln!(std::io::stdout(), "{} (Claude Code)", profile.version());
        return 0;
    }

    let loaded = match &inv.scenario {
        Some(p) => match scenario::load_file(p) {
            Ok(l) => l,
            Err(e) => {
                let mut text = e.message.clone();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                say_err(&text);
                // A start record keeps the invocation numbering of a shared transcript right.
                let profile = inv
                    .profile
                    .as_deref()
                    .and_then(Profile::parse)
                    .unwrap_or(Profile::DEFAULT);
                record_start(
                    &transcript,
                    &inv,
                    &cwd,
                    profile,
                    &p.display().to_string(),
                    false,
                );
                transcript.record(Event::Note {
                    text: format!("bad scenario: {e}"),
                });
                transcript.record(Event::Exit {
                    code: EXIT_BAD_SCENARIO,
                });
                return EXIT_BAD_SCENARIO;
            }
        },
        None => scenario::default_scenario(),
    };
    if inv.check {
        let _ = writeln!(std::io::stdout(), "{}: ok", loaded.source);
        return 0;
    }
    let profile = inv
        .profile
        .as_deref()
        .and_then(Profile::parse)
        .unwrap_or_else(|| loaded.profile());
    record_start(&transcript, &inv, &cwd, profile, &loaded.source, false);
    // Probes and argv errors are answered as the real CLI does, without playing the script.
    let framing = match mode::decide(&inv) {
        Ok(Asked::Conversation(f)) => f,
        Ok(Asked::Subcommand(sub)) => {
            let logged_in = loaded.scenario.auth != Some(AuthState::LoggedOut);
            let a = probes::answer(sub, &inv, logged_in);
            return finish_early(&transcript, &a.stdout, "", a.code);
        }
        Err(refusal) => return finish_early(&transcript, "", &refusal.stderr, refusal.code),
    };
    if let Some(code) = crate::permissions::refuse_root_bypass(&inv, &transcript) {
        return code;
    }
    run(Arc::new(loaded), inv, framing, transcript, cwd)
}

/// End the invocation before any step: print `stdout` and `stderr`, record both, exit `code`.
fn finish_early(t: &Transcript, stdout: &str, stderr: &str, code: i32) -> i32 {
    if !stdout.is_empty() {
        // A reader that is gone must not turn the answer into a panic.
        let _ = std::io::stdout().write_all(stdout.as_bytes());
        t.record(Event::Stdout {
            len: stdout.len() as u64,
            msgs: None,
            text: Some(stdout.to_string()),
            b64: None,
            part: None,
            burst: None,
            blocked_us: 0,
            by: Some("probe".into()),
        });
    }
    if !stderr.is_empty() {
        say_err(stderr);
        t.record(Event::Stderr {
            len: stderr.len() as u64,
            text: Some(stderr.to_string()),
            flood: false,
            blocked_us: 0,
        });
    }
    t.record(Event::Exit { code });
    code
}

fn run(
    loaded: Arc<Loaded>,
    inv: Invocation,
    framing: Framing,
    transcript: Arc<Transcript>,
    cwd: String,
) -> i32 {
    let s = &loaded.scenario;
    let watchdog = s.watchdog.map(|m| m.duration()).unwrap_or(DEFAULT_WATCHDOG);
    let on_sigterm = s
        .on_sigterm
        .unwrap_or(crate::scenario::model::SigtermPolicy::Exit);
    process::start_guard(on_sigterm, watchdog, Arc::clone(&transcript));
    Engine::new(loaded, inv, framing, transcript, cwd).run()
}

fn record_start(
    t: &Transcript,
    inv: &Invocation,
    cwd: &str,
    profile: Profile,
    scenario: &str,
    version_probe: bool,
) {
    if !t.enabled() {
        return;
    }
    t.record(Event::Start {
        argv: inv.argv.clone(),
        env: inv.recorded_env(),
        cwd: cwd.to_string(),
        pid: std::process::id(),
        profile: profile.version().to_string(),
        scenario: scenario.to_string(),
        version_probe,
        unix_ms: Some(t.start_unix_ms()),
    });
}

/// Write to stderr, ignoring a reader that is gone (`eprint!` would panic and exit 101).
pub fn say_err(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// For `-v`: the scenario's `profile:` line, found without parsing the whole file.
fn scenario_profile_cheaply(path: &Path) -> Option<Profile> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("profile:"))
        // `profile: "2.1.81"  # a comment`: drop the comment before the quotes.
        .map(|v| v.split(" #").next().unwrap_or(v))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
        .and_then(|v| Profile::parse(&v))
}
