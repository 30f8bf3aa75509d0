//! stdout/stderr: unbuffered writes straight to the file descriptors, so that what the script says
//! is one write is one write(2) (the kernel may still take a large write in pieces). Each write is
//! timed: a reader that does not drain the pipe shows up as `blocked_us` in the transcript — and,
//! through [`StallWatch`], as a `write_stalled` record while the write is still blocked, so a
//! write that never completes (the run killed mid-deadlock) is on the record too.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::transcript::{Event, Transcript};

/// A write blocked this long is recorded as stalled while it still is: under the 1 s teardown
/// graces the embedded supervisors use, so a write their kill cuts short is still on record.
pub const STALL_AFTER: Duration = Duration::from_millis(500);
const STALL_POLL: Duration = Duration::from_millis(50);

/// The pipe's reader is gone (EPIPE), after the write had been blocked this long.
#[derive(Debug)]
pub struct Closed {
    pub blocked_us: u64,
}

pub struct Fd {
    /// Never closed by us: it is the process's own fd 1 or 2.
    file: ManuallyDrop<File>,
    stream: Stream,
    watch: Option<Arc<StallWatch>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Fd {
    pub fn stdout() -> Self {
        // SAFETY: fd 1 is open for the life of the process and we never close it.
        Fd {
            file: ManuallyDrop::new(unsafe { File::from_raw_fd(1) }),
            stream: Stream::Stdout,
            watch: None,
        }
    }

    pub fn stderr() -> Self {
        // SAFETY: as above, for fd 2.
        Fd {
            file: ManuallyDrop::new(unsafe { File::from_raw_fd(2) }),
            stream: Stream::Stderr,
            watch: None,
        }
    }

    /// Report writes blocked past [`STALL_AFTER`] to `watch`.
    pub fn watched(mut self, watch: &Arc<StallWatch>) -> Self {
        self.watch = Some(Arc::clone(watch));
        self
    }

    /// Write all bytes; returns microseconds spent in the write call(s).
    pub fn write(&mut self, bytes: &[u8]) -> Result<u64, Closed> {
        let t = Instant::now();
        if let Some(w) = &self.watch {
            w.begin(self.stream, t);
        }
        let outcome = self.write_all(bytes, t);
        if let Some(w) = &self.watch {
            w.end(self.stream);
        }
        outcome
    }

    fn write_all(&mut self, bytes: &[u8], t: Instant) -> Result<u64, Closed> {
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(0) => return Err(closed(t)),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Err(closed(t)),
            }
        }
        Ok(t.elapsed().as_micros() as u64)
    }
}

/// Writes in progress on stdout and stderr, watched by a thread of their own that records a
/// `write_stalled` once a write has been blocked [`STALL_AFTER`] (once per write). The thread
/// ends when the last [`Fd`] holding the watch is gone.
#[derive(Default)]
pub struct StallWatch {
    slots: Mutex<[Slot; 2]>,
}

#[derive(Default, Clone, Copy)]
struct Slot {
    since: Option<Instant>,
    /// Counts writes; `reported` is the last one recorded as stalled.
    seq: u64,
    reported: u64,
}

impl StallWatch {
    pub fn start(tr: Arc<Transcript>) -> Arc<StallWatch> {
        let watch = Arc::new(StallWatch::default());
        let weak: Weak<StallWatch> = Arc::downgrade(&watch);
        // Best effort: without the thread, blocked writes still show in `blocked_us`.
        let _ = std::thread::Builder::new()
            .name("stall-watch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(STALL_POLL);
                    let Some(watch) = weak.upgrade() else { return };
                    for stream in watch.stalled() {
                        tr.record(Event::WriteStalled {
                            stream: stream.into(),
                            after_ms: STALL_AFTER.as_millis() as u64,
                        });
                    }
                }
            });
        watch
    }

    fn begin(&self, stream: Stream, at: Instant) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut slots[stream as usize];
        slot.seq += 1;
        slot.since = Some(at);
    }

    fn end(&self, stream: Stream) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots[stream as usize].since = None;
    }

    /// Streams whose current write just passed [`STALL_AFTER`], each reported once.
    fn stalled(&self) -> Vec<&'static str> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (i, slot) in slots.iter_mut().enumerate() {
            if slot.since.is_some_and(|t| t.elapsed() >= STALL_AFTER) && slot.reported != slot.seq {
                slot.reported = slot.seq;
                out.push(if i == 0 { "stdout" } else { "stderr" });
            }
        }
        out
    }
}

fn closed(since: Instant) -> Closed {
    Closed {
        blocked_us: since.elapsed().as_micros() as u64,
    }
}

/// Where to cut a line of `len` bytes into writes: `split` near-equal parts, or explicit offsets.
pub fn cut_points(len: usize, split: Option<u32>, split_at: Option<&[usize]>) -> Vec<usize> {
    let mut cuts: Vec<usize> = match (split_at, split) {
        (Some(at), _) => at.iter().copied().filter(|&c| c > 0 && c < len).collect(),
        (None, Some(n)) if n > 1 => {
            let n = (n as usize).min(len.max(1));
            (1..n).map(|i| i * len / n).filter(|&c| c > 0).collect()
        }
        _ => Vec::new(),
    };
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts() {
        assert_eq!(cut_points(10, Some(2), None), vec![5]);
        assert_eq!(cut_points(10, Some(3), None), vec![3, 6]);
        assert_eq!(cut_points(3, Some(10), None), vec![1, 2]);
        assert_eq!(cut_points(10, None, Some(&[0, 4, 4, 12, 2])), vec![2, 4]);
        assert!(cut_points(10, None, None).is_empty());
    }
}
