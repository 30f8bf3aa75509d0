//! Process-level behaviour: signals (SIGTERM handling like the real CLI), the watchdog, dying by a
//! signal, and grandchildren that outlive the fake.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_hook::consts::signal::*;

use crate::scenario::model::{SigtermPolicy, Spawn};
use crate::transcript::{Event, Transcript};

/// Exit code when the watchdog ends the run.
pub const EXIT_WATCHDOG: i32 = 98;
/// Exit code when an expectation of the script failed (timed out, mismatched, stdin closed).
pub const EXIT_EXPECT_FAILED: i32 = 97;
/// Exit code for a bad scenario or bad fake-claude flags.
pub const EXIT_BAD_SCENARIO: i32 = 2;

/// Signal names the scenario language knows.
pub fn signal_number(name: &str) -> Option<i32> {
    let n = name.trim().to_ascii_uppercase();
    let n = n.strip_prefix("SIG").unwrap_or(&n);
    Some(match n {
        "HUP" => SIGHUP,
        "INT" => SIGINT,
        "QUIT" => SIGQUIT,
        "ILL" => SIGILL,
        "ABRT" => SIGABRT,
        "BUS" => SIGBUS,
        "FPE" => SIGFPE,
        "KILL" => SIGKILL,
        "SEGV" => SIGSEGV,
        "PIPE" => SIGPIPE,
        "ALRM" => SIGALRM,
        "TERM" => SIGTERM,
        "USR1" => SIGUSR1,
        "USR2" => SIGUSR2,
        _ => return None,
    })
}

/// `SIGTERM` for 15: the name [`signal_number`] reads back, else `SIG<n>`.
pub fn signal_name(n: i32) -> String {
    const NAMES: [&str; 14] = [
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
        "SIGSEGV", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGUSR1", "SIGUSR2",
    ];
    NAMES
        .iter()
        .find(|name| signal_number(name) == Some(n))
        .map_or_else(|| format!("SIG{n}"), |name| name.to_string())
}

/// Die by `sig` (default disposition); if the signal does not kill, exit 128+sig.
pub fn die_by_signal(sig: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig)
}

/// One thread guards the process: it handles SIGTERM as the real CLI does (exit 143, or as the
/// scenario says) and ends the run when the watchdog is due, whichever comes first. It runs
/// beside the engine, so both work even while the engine is blocked in a write. (One thread, not
/// one each: every thread is a clone, a stack and a malloc arena at start-up, and start-up is
/// most of a short session's cost.)
pub fn start_guard(policy: SigtermPolicy, watchdog: Duration, transcript: Arc<Transcript>) {
    let deadline = Instant::now() + watchdog;
    let sigterm = match policy {
        SigtermPolicy::Default => None,
        _ => sigterm_socket(),
    };
    let _ = std::thread::Builder::new()
        .name("guard".into())
        .spawn(move || guard(policy, watchdog, deadline, sigterm, &transcript));
}

/// A socket that receives a byte for each SIGTERM (signal-hook's self-pipe), after the handler
/// that snapshots the stdin state has run. While it is registered, SIGTERM no longer kills.
fn sigterm_socket() -> Option<UnixStream> {
    // SAFETY: the action only stores one atomic into another, which is async-signal-safe.
    unsafe { signal_hook::low_level::register(SIGTERM, super::input::snapshot_at_signal) }.ok()?;
    let (rx, tx) = UnixStream::pair().ok()?;
    signal_hook::low_level::pipe::register(SIGTERM, tx).ok()?;
    Some(rx)
}

fn guard(
    policy: SigtermPolicy,
    watchdog: Duration,
    deadline: Instant,
    mut sigterm: Option<UnixStream>,
    transcript: &Transcript,
) {
    let mut bytes = [0u8; 16];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            watchdog_fires(watchdog, transcript);
        }
        let Some(rx) = sigterm.as_mut() else {
            std::thread::sleep(left);
            continue;
        };
        let _ = rx.set_read_timeout(Some(left));
        match rx.read(&mut bytes) {
            Ok(0) => sigterm = None,
            Ok(n) => {
                for _ in 0..n {
                    on_sigterm(policy, transcript);
                }
            }
            // The timeout (the loop then finds the watchdog due) or EINTR.
            Err(_) => {}
        }
    }
}

fn on_sigterm(policy: SigtermPolicy, transcript: &Transcript) {
    let stdin = super::input::state_at_signal().map(str::to_string);
    if policy == SigtermPolicy::Ignore {
        transcript.record(Event::Signal {
            signal: "SIGTERM".into(),
            action: "ignored".into(),
            stdin,
        });
        return;
    }
    transcript.record(Event::Signal {
        signal: "SIGTERM".into(),
        action: "exit".into(),
        stdin,
    });
    transcript.record(Event::Exit { code: 143 });
    std::process::exit(143);
}

/// The watchdog is due: no run of a fake outlives it.
fn watchdog_fires(after: Duration, transcript: &Transcript) -> ! {
    transcript.record(Event::Watchdog {
        after_ms: after.as_millis() as u64,
    });
    transcript.record(Event::Exit {
        code: EXIT_WATCHDOG,
    });
    crate::cli::say_err(&format!(
        "fake-claude: watchdog fired after {} ms; exiting {EXIT_WATCHDOG}\n",
        after.as_millis()
    ));
    std::process::exit(EXIT_WATCHDOG);
}

/// A grandchild that keeps the pipes open and/or ignores SIGTERM — what leaks in production when a
/// CLI's tool subprocess survives it (FM-17). Bounded lifetime so tests never leak forever.
pub fn spawn_grandchild(spec: &Spawn) -> std::io::Result<u32> {
    let secs = spec
        .lifetime
        .map(|m| m.0.div_ceil(1000))
        .unwrap_or(300)
        .max(1);
    let trap = if spec.ignore_sigterm {
        "trap '' TERM; "
    } else {
        ""
    };
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(format!("{trap}exec sleep {secs}"));
    cmd.stdin(Stdio::null());
    if spec.hold_stdout {
        cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let child = cmd.spawn()?;
    Ok(child.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(signal_number("SIGTERM"), Some(15));
        assert_eq!(signal_number("kill"), Some(9));
        assert_eq!(signal_number("SIGNOPE"), None);
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(64), "SIG64");
    }
}
