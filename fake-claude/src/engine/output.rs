//! stdout/stderr: unbuffered writes straight to the file descriptors, so that what the script says
//! is one write is one write(2) (the kernel may still take a large write in pieces). Each write is
//! timed: a reader that does not drain the pipe shows up as `blocked_us` in the transcript.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::time::Instant;

/// The pipe's reader is gone (EPIPE), after the write had been blocked this long.
#[derive(Debug)]
pub struct Closed {
    pub blocked_us: u64,
}

pub struct Fd {
    /// Never closed by us: it is the process's own fd 1 or 2.
    file: ManuallyDrop<File>,
}

impl Fd {
    pub fn stdout() -> Self {
        // SAFETY: fd 1 is open for the life of the process and we never close it.
        Fd {
            file: ManuallyDrop::new(unsafe { File::from_raw_fd(1) }),
        }
    }

    pub fn stderr() -> Self {
        // SAFETY: as above, for fd 2.
        Fd {
            file: ManuallyDrop::new(unsafe { File::from_raw_fd(2) }),
        }
    }

    /// Write all bytes; returns microseconds spent in the write call(s).
    pub fn write(&mut self, bytes: &[u8]) -> Result<u64, Closed> {
        let t = Instant::now();
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
