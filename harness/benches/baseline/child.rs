//! Running one child process the way a supervisor does — pipes on stdin and stdout, input
//! written, stdout drained to EOF — timing it, and taking its peak RSS.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How one run of a child went.
pub struct Ran {
    pub wall: Duration,
    /// Bytes read from its stdout.
    pub out_bytes: u64,
    pub status: i32,
}

/// `cmd` with stdin and stdout piped, stderr discarded.
fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {:?}: {e}", cmd.get_program()))
}

/// Spawn `cmd`, write `input` to its stdin and close it, drain stdout (64 KiB reads, the way a
/// supervisor's reader thread does), and reap it.
pub fn run(cmd: &mut Command, input: &[u8]) -> Ran {
    let start = Instant::now();
    let mut child = spawn_piped(cmd);
    let mut stdin = child.stdin.take().expect("piped");
    let input = input.to_vec();
    // On its own thread: a child that writes before it reads must not deadlock the bench.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out_bytes = drain(child.stdout.take().expect("piped"));
    let _ = writer.join();
    let status = reap(&mut child);
    Ran {
        wall: start.elapsed(),
        out_bytes,
        status,
    }
}

/// Like [`run`], but stdin stays open (and empty) until stdout reaches EOF, and every read is
/// timestamped: for pauses between writes.
pub fn run_timed_reads(cmd: &mut Command) -> (Vec<(Instant, usize)>, Ran) {
    let start = Instant::now();
    let mut child = spawn_piped(cmd);
    let stdin = child.stdin.take();
    let mut out = child.stdout.take().expect("piped");
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        match out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                reads.push((Instant::now(), n));
                total += n as u64;
            }
        }
    }
    drop(stdin);
    let status = reap(&mut child);
    let ran = Ran {
        wall: start.elapsed(),
        out_bytes: total,
        status,
    };
    (reads, ran)
}

fn drain(mut r: impl Read) -> u64 {
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return total,
        }
    }
}

fn reap(child: &mut Child) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match child.wait() {
        Ok(st) => st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)),
        Err(e) => panic!("cannot wait for the child: {e}"),
    }
}

/// Peak RSS (KiB) of `argv` run as [`run`] runs it, measured by GNU time (Debian `time`).
///
/// Not `wait4` from here: this process spawns with vfork, and Linux carries the parent's
/// high-water mark into the child's `ru_maxrss` at exec, so every child would "use" the bench's
/// own memory. GNU time forks from a process a few hundred KiB large.
pub fn peak_rss_kib(argv: &[std::ffi::OsString], input: &[u8], out: &std::path::Path) -> u64 {
    let mut cmd = Command::new(GNU_TIME);
    cmd.args(["-f", "%M", "-o"]).arg(out).args(argv);
    let ran = run(&mut cmd, input);
    assert_eq!(ran.status, 0, "{argv:?} under {GNU_TIME} failed");
    let text = std::fs::read_to_string(out).expect("GNU time's output");
    text.lines()
        .filter_map(|l| l.trim().parse().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no peak RSS in {text:?}"))
}

pub const GNU_TIME: &str = "/usr/bin/time";
