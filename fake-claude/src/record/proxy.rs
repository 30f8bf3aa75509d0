//! The transparent proxy behind `fake-claude record`: it starts the real CLI in its own process
//! group, copies the supervisor's stdin to it and its stdout and stderr back, byte for byte as
//! they are read (one thread per pipe, raw `write(2)`s, no line buffering), forwards the signals a
//! supervisor sends (to the CLI's group, so nothing it started outlives a `kill`), and notes
//! every line with its time. The CLI dies with the proxy (`PR_SET_PDEATHSIG`), so a supervisor's
//! SIGKILL of the proxy leaves nothing behind.
//!
//! When a reader goes away the proxy behaves as the pipe would have: a supervisor that closed the
//! CLI's stdout makes the proxy drop the CLI's stdout too (the CLI's next write fails), and a CLI
//! that stopped taking stdin stops the proxy reading it.

use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use rustix::fd::BorrowedFd;
use rustix::process::{Pid, Signal};
use signal_hook::consts::signal::*;
use signal_hook::iterator::Signals;

use super::session::{Ended, Event, Lines, Session};

/// Signals a supervisor sends to stop or poke a CLI; each is forwarded.
pub const FORWARDED: [i32; 6] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];
/// After the CLI exits, how long its stdout and stderr get to deliver the rest (a grandchild
/// may hold them open for ever).
const DRAIN: Duration = Duration::from_secs(2);

enum Msg {
    Event(f64, Event),
    /// A stdout or stderr copier reached EOF (or gave up).
    Done,
}

/// Run `program args` behind the proxy; returns what was seen and how the CLI ended.
pub fn run(program: &str, args: &[String]) -> io::Result<(Session, ExitStatus)> {
    // Handlers first: a signal between the spawn and the registration would kill the proxy
    // alone. (The CLI starts with default dispositions: exec resets handlers.)
    let mut signals = Signals::new(FORWARDED)?;
    let start = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: between fork and exec the closure only makes one prctl(2) call, which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
                .map_err(io::Error::from)
        });
    }
    let mut child = cmd.spawn()?;
    let pgid = Pid::from_child(&child);
    let (tx, rx) = mpsc::channel();
    let now = move || start.elapsed().as_secs_f64();

    let handle = signals.handle();
    let sig_tx = tx.clone();
    thread::spawn(move || {
        for s in signals.forever() {
            let _ = sig_tx.send(Msg::Event(now(), Event::Signal { signal: s }));
            if let Some(sig) = Signal::from_named_raw(s) {
                let _ = rustix::process::kill_process_group(pgid, sig);
            }
        }
    });
    copy_stdin(&mut child, tx.clone(), now);
    let copiers = [
        copy_out(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            Fd::Stdout,
            tx.clone(),
            now,
        ),
        copy_out(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            Fd::Stderr,
            tx.clone(),
            now,
        ),
    ]
    .iter()
    .filter(|started| **started)
    .count();
    drop(tx);

    let status = child.wait()?;
    let ended_at = now();
    let mut events = Vec::new();
    collect(&rx, copiers, Instant::now() + DRAIN, &mut events);
    handle.close();
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut session = Session {
        argv: args.to_vec(),
        events: Vec::new(),
    };
    for (t, e) in events {
        session.push(t, e);
    }
    let ended = match (status.code(), status.signal()) {
        (Some(c), _) => Ended::Code(c),
        (None, Some(s)) => Ended::Signal(s),
        _ => Ended::Code(-1),
    };
    session.push(ended_at, Event::Exit(ended));
    Ok((session, status))
}

/// Events until `copiers` copiers are done or `until`; later ones still queued are taken too.
fn collect(rx: &Receiver<Msg>, mut copiers: usize, until: Instant, out: &mut Vec<(f64, Event)>) {
    while copiers > 0 {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Msg::Event(t, e)) => out.push((t, e)),
            Ok(Msg::Done) => copiers -= 1,
            Err(_) => break,
        }
    }
    while let Ok(m) = rx.try_recv() {
        if let Msg::Event(t, e) = m {
            out.push((t, e));
        }
    }
}

/// The supervisor's stdin → the CLI's, line by line into the session. Not joined: it may stay
/// blocked reading a stdin the supervisor keeps open after the CLI is gone.
fn copy_stdin(child: &mut Child, tx: Sender<Msg>, now: impl Fn() -> f64 + Send + 'static) {
    let Some(mut to_cli) = child.stdin.take() else {
        return;
    };
    thread::spawn(move || {
        let fd = rustix::stdio::stdin();
        let mut lines = Lines::default();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match rustix::io::read(fd, &mut buf) {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => 0,
            };
            let t = now();
            if n == 0 {
                if let Some(rest) = lines.finish() {
                    let _ = tx.send(Msg::Event(
                        t,
                        Event::In {
                            bytes: rest,
                            terminated: false,
                        },
                    ));
                }
                drop(to_cli);
                let _ = tx.send(Msg::Event(t, Event::InEof));
                return;
            }
            for l in lines.feed(&buf[..n]) {
                let _ = tx.send(Msg::Event(
                    t,
                    Event::In {
                        bytes: l,
                        terminated: true,
                    },
                ));
            }
            if to_cli.write_all(&buf[..n]).is_err() {
                // The CLI no longer reads: neither does the proxy.
                return;
            }
        }
    });
}

#[derive(Clone, Copy)]
enum Fd {
    Stdout,
    Stderr,
}

/// The CLI's stdout or stderr → ours. Returns whether a copier was started.
fn copy_out(
    from: Option<Box<dyn Read + Send>>,
    fd: Fd,
    tx: Sender<Msg>,
    now: impl Fn() -> f64 + Send + 'static,
) -> bool {
    let Some(mut from) = from else {
        return false;
    };
    thread::spawn(move || {
        let to = match fd {
            Fd::Stdout => rustix::stdio::stdout(),
            Fd::Stderr => rustix::stdio::stderr(),
        };
        let mut lines = Lines::default();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // The time it was read, before anyone downstream could answer it.
            let t = now();
            match fd {
                Fd::Stdout => {
                    for l in lines.feed(&buf[..n]) {
                        let _ = tx.send(Msg::Event(
                            t,
                            Event::Out {
                                bytes: l,
                                terminated: true,
                            },
                        ));
                    }
                }
                Fd::Stderr => {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let _ = tx.send(Msg::Event(t, Event::Err { text }));
                }
            }
            if write_all(to, &buf[..n]).is_err() {
                // Our reader is gone: so is the CLI's (dropping the pipe, as it would be).
                break;
            }
        }
        if let Some(rest) = lines.finish() {
            let _ = tx.send(Msg::Event(
                now(),
                Event::Out {
                    bytes: rest,
                    terminated: false,
                },
            ));
        }
        let _ = tx.send(Msg::Done);
    });
    true
}

fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> rustix::io::Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(rustix::io::Errno::PIPE),
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
