//! The `fake-claude` executable: answer `-v` at once, pick the scenario (flag, env, embedded
//! default), open the transcript, arm the watchdog and signal handling, run the engine.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::engine::process::{self, EXIT_BAD_SCENARIO};
use crate::invocation::Invocation;
use crate::profile::Profile;
use crate::scenario::{self, Loaded};
use crate::transcript::{Event, Transcript};

/// Default watchdog: no run of a fake should outlive this.
pub const DEFAULT_WATCHDOG: Duration = Duration::from_secs(60);

pub fn main() -> i32 {
    let start = Instant::now();
    let inv = Invocation::from_process();
    let transcript = match &inv.transcript {
        Some(p) => match Transcript::open(p, start) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("fake-claude: cannot open transcript {}: {e}", p.display());
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
        println!("{} (Claude Code)", profile.version());
        record_start(&transcript, &inv, &cwd, profile, "-", true);
        transcript.record(Event::Exit { code: 0 });
        return 0;
    }

    let loaded = match &inv.scenario {
        Some(p) => match scenario::load_file(p) {
            Ok(l) => l,
            Err(e) => {
                eprint!("{e}");
                if !e.message.ends_with('\n') {
                    eprintln!();
                }
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
        println!("{}: ok", loaded.source);
        return 0;
    }
    let profile = inv
        .profile
        .as_deref()
        .and_then(Profile::parse)
        .unwrap_or_else(|| loaded.profile());
    record_start(&transcript, &inv, &cwd, profile, &loaded.source, false);
    run(Arc::new(loaded), inv, transcript, cwd)
}

fn run(loaded: Arc<Loaded>, inv: Invocation, transcript: Arc<Transcript>, cwd: String) -> i32 {
    let s = &loaded.scenario;
    let watchdog = s.watchdog.map(|m| m.duration()).unwrap_or(DEFAULT_WATCHDOG);
    process::start_watchdog(watchdog, Arc::clone(&transcript));
    process::install_sigterm(
        s.on_sigterm
            .unwrap_or(crate::scenario::model::SigtermPolicy::Exit),
        Arc::clone(&transcript),
    );
    Engine::new(loaded, inv, transcript, cwd).run()
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
    });
}

/// For `-v`: the scenario's `profile:` line, found without parsing the whole file.
fn scenario_profile_cheaply(path: &Path) -> Option<Profile> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("profile:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
        .and_then(|v| Profile::parse(&v))
}
