//! Processes as the harness sees them: `/proc` scans (who carries a run's marker, who is in a
//! process group), waiting for processes that are not our children to go away (pidfd + poll, so
//! no fixed sleeps), signalling groups, and a bounded "run a command, capture its output" helper
//! for setup steps and `--help` probes. Linux-only, like the rest of the runner.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, PidfdFlags, Signal};

/// What `/proc` says about one live process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    /// argv joined with spaces (`[comm]` for kernel threads or unreadable cmdlines).
    pub command: String,
    /// argv[0] and the rest, as read.
    pub argv: Vec<String>,
    /// The first of the markers asked for that its environment holds (index), if any.
    pub marker: Option<usize>,
}

/// Every live (not zombie) process that carries one of `markers` (exact `NAME=value`
/// environment entries) or belongs to process group `pgid`. Never includes the calling process.
///
/// `/proc/PID/environ` is the environment a process was *started* with, and for a moment during
/// `execve` it reads as empty; callers that need "none left" use [`scan_sure`].
pub fn scan(markers: &[&str], pgid: Option<i32>) -> Vec<ProcInfo> {
    scan_sure(markers, pgid, None).0
}

/// Whether `pid` is a zombie (dead, not yet reaped).
pub fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .is_some_and(|s| s.state == 'Z' || s.state == 'X')
}

/// When `pid` started, in clock ticks since boot (`/proc/PID/stat` field 22), while it lives.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|s| s.start)
}

/// [`scan`], plus the pids whose environment could not be seen (read empty or failed: a process
/// in the middle of `execve`, or one started with no environment at all), that are not in
/// `pgid` and were started at or after `born` (see [`start_time`]; processes older than a run
/// cannot be its descendants): they may carry a marker the scan could not see. Kernel threads
/// are never among them.
pub fn scan_sure(
    markers: &[&str],
    pgid: Option<i32>,
    born: Option<u64>,
) -> (Vec<ProcInfo>, Vec<i32>) {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return (Vec::new(), Vec::new());
    };
    let mut found = Vec::new();
    let mut unsure = Vec::new();
    for pid in entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
    {
        match inspect(pid, markers, pgid) {
            Seen::Match(p) => found.push(p),
            Seen::NoEnvironment(start) if born.is_none_or(|b| start >= b) => unsure.push(pid),
            Seen::NoEnvironment(_) | Seen::Other => {}
        }
    }
    found.sort_by_key(|p| p.pid);
    (found, unsure)
}

/// Whether the process with `pid` carries one of `markers` or is in `pgid` now.
pub fn matches(pid: i32, markers: &[&str], pgid: Option<i32>) -> Option<ProcInfo> {
    match inspect(pid, markers, pgid) {
        Seen::Match(p) => Some(p),
        _ => None,
    }
}

enum Seen {
    Match(ProcInfo),
    /// Not in the group, and its environment could not be read; when it started.
    NoEnvironment(u64),
    /// Gone, a zombie, a kernel thread, or neither marked nor in the group.
    Other,
}

/// `PF_KTHREAD` in `/proc/PID/stat`'s flags: kernel threads have no environment to read.
const PF_KTHREAD: u64 = 0x0020_0000;

fn inspect(pid: i32, markers: &[&str], pgid: Option<i32>) -> Seen {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Seen::Other;
    };
    let Some(st) = parse_stat(&stat) else {
        return Seen::Other;
    };
    if st.state == 'Z' || st.state == 'X' || st.flags & PF_KTHREAD != 0 {
        return Seen::Other;
    }
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let marker = markers
        .iter()
        .position(|m| env.split(|&b| b == 0).any(|entry| entry == m.as_bytes()));
    if marker.is_none() && pgid != Some(st.pgrp) {
        return if env.is_empty() {
            Seen::NoEnvironment(st.start)
        } else {
            Seen::Other
        };
    }
    Seen::Match(describe(pid, &st, marker))
}

fn describe(pid: i32, st: &Stat, marker: Option<usize>) -> ProcInfo {
    let argv: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let command = if argv.is_empty() {
        format!("[{}]", st.comm)
    } else {
        argv.join(" ")
    };
    ProcInfo {
        pid,
        ppid: st.ppid,
        pgid: st.pgrp,
        command,
        argv,
        marker,
    }
}

/// The inode of the pipe (or any file) behind `fd`, for [`holding_pipes`].
pub fn inode(fd: impl std::os::fd::AsFd) -> Option<u64> {
    rustix::fs::fstat(fd).ok().map(|st| st.st_ino)
}

/// Every live process (but this one) with an open file descriptor on one of the pipes
/// `inodes`: whoever keeps a run's output pipe open, whatever its environment, group or
/// session. Reads every process's fd table, so it is for the rare case that a pipe stays open
/// after everything marked is gone.
pub fn holding_pipes(inodes: &[u64]) -> Vec<ProcInfo> {
    let me = std::process::id() as i32;
    let wanted: Vec<String> = inodes.iter().map(|i| format!("pipe:[{i}]")).collect();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for pid in entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
    {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        if let Some(st) = stat.as_deref().and_then(parse_stat)
            && holds
            && st.state != 'Z'
            && st.state != 'X'
        {
            found.push(describe(pid, &st, None));
        }
    }
    found
}

/// The fields of `/proc/PID/stat` the scan uses.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    comm: String,
    state: char,
    ppid: i32,
    pgrp: i32,
    flags: u64,
    /// Start time, clock ticks since boot.
    start: u64,
}

/// `pid (comm) state ppid pgrp session tty tpgid flags ... starttime ...`. comm may hold spaces and
/// parentheses, so split after the last `)`.
fn parse_stat(stat: &str) -> Option<Stat> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    let mut field = |skip: usize| rest.nth(skip).and_then(|f| f.parse().ok()).unwrap_or(0);
    // After pgrp: session, tty, tpgid, then flags (field 9); starttime is field 22.
    let flags = field(3);
    let start = field(12);
    Some(Stat {
        comm,
        state,
        ppid,
        pgrp,
        flags,
        start,
    })
}

/// Block until one of `pids` exits or `timeout` passes, whichever is first. Uses pidfds (these
/// are not our children, so `waitpid` cannot be used); where pidfds are unavailable it waits the
/// timeout out, which callers keep short.
pub fn wait_any_exit(pids: &[i32], timeout: Duration) {
    let mut fds: Vec<OwnedFd> = Vec::new();
    for pid in pids.iter().filter_map(|&p| Pid::from_raw(p)) {
        match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
            Ok(fd) => fds.push(fd),
            // Already gone: that is the event we were waiting for.
            Err(rustix::io::Errno::SRCH) => return,
            Err(_) => {}
        }
    }
    if fds.is_empty() {
        // No pidfd support: a short bounded wait; the caller rescans.
        thread::sleep(timeout.min(Duration::from_millis(20)));
        return;
    }
    let ts = Timespec::try_from(timeout).unwrap_or(Timespec {
        tv_sec: 1,
        tv_nsec: 0,
    });
    let mut polls: Vec<PollFd<'_>> = fds
        .iter()
        .map(|fd| PollFd::new(fd, PollFlags::IN))
        .collect();
    let _ = rustix::event::poll(&mut polls, Some(&ts));
}

pub fn kill_group(pgid: i32, signal: Signal) {
    if let Some(p) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(p, signal);
    }
}

pub fn kill_pid(pid: i32, signal: Signal) {
    if let Some(p) = Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, signal);
    }
}

/// How a bounded command ended.
#[derive(Debug)]
pub struct Finished {
    /// `None` when the deadline killed it.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// `exit 3`, `signal 9`, `killed at the deadline`.
    pub fn describe(&self) -> String {
        match self.status {
            None => "killed at the deadline".into(),
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(sig)) => format!("signal {sig}"),
                _ => "unknown status".into(),
            },
        }
    }
}

/// Run `cmd` in its own process group with stdin closed, capturing stdout and stderr; SIGKILL
/// the group when `timeout` passes. The whole group is killed afterwards in any case, so a
/// command that backgrounds something cannot outlive the call.
pub fn run_bounded(mut cmd: Command, timeout: Duration) -> std::io::Result<Finished> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn()?;
    let pgid = child.id() as i32;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(timeout) {
        Ok(s) => s.ok(),
        Err(_) => {
            kill_group(pgid, Signal::KILL);
            let _ = rx.recv_timeout(Duration::from_secs(5));
            None
        }
    };
    kill_group(pgid, Signal::KILL);
    let collect = |h: Option<mpsc::Receiver<Vec<u8>>>| {
        h.and_then(|r| r.recv_timeout(Duration::from_secs(5)).ok())
            .unwrap_or_default()
    };
    Ok(Finished {
        status,
        stdout: collect(out),
        stderr: collect(err),
    })
}

fn drain(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Time left until `deadline` (zero when past).
pub fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_awkward_comm() {
        let s = "123 (a (b) c) S 1 77 77 0 -1 4194560 10 0 0 0 5 6 0 0 20 0 1 0 4242 9 9";
        let want = Stat {
            comm: "a (b) c".into(),
            state: 'S',
            ppid: 1,
            pgrp: 77,
            flags: 4194560,
            start: 4242,
        };
        assert_eq!(parse_stat(s), Some(want));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x)"), None);
        assert_eq!(parse_stat("1 (x) S 1 2").map(|s| s.flags), Some(0));
    }

    #[test]
    fn scan_finds_a_marked_process_and_its_group() {
        let marker = format!("HARNESS_PROCS_TEST={}", std::process::id());
        let mut child = Command::new("sleep")
            .arg("30")
            .env("HARNESS_PROCS_TEST", std::process::id().to_string())
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // spawn returns once exec has begun; the new environment shows a moment later.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mine = |p: &ProcInfo| p.pid == pid && p.marker == Some(1) && p.pgid == pid;
        while !scan(&["NO_SUCH=marker", &marker], None).iter().any(mine) {
            assert!(
                Instant::now() < deadline,
                "the marked process never showed up"
            );
            thread::sleep(Duration::from_millis(5));
        }
        let by_group = scan(&["NO_SUCH=marker"], Some(pid));
        assert_eq!(by_group.iter().map(|p| p.pid).collect::<Vec<_>>(), [pid]);
        kill_group(pid, Signal::KILL);
        child.wait().unwrap();
        assert!(scan(&[&marker], None).is_empty());
    }

    #[test]
    fn bounded_run_kills_at_the_deadline() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo hi; sleep 30"]);
        let start = Instant::now();
        let f = run_bounded(cmd, Duration::from_millis(300)).unwrap();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(f.status, None);
        assert_eq!(f.stdout, b"hi\n");
        assert_eq!(f.describe(), "killed at the deadline");
    }
}
