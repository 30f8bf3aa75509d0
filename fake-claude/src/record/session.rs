//! A recorded session of a real CLI as the recorder (or an importer) saw it: the argv, then every
//! line each side wrote, stderr, the signals the supervisor sent and how the CLI ended, each with
//! the time it happened. [`super::derive`] turns it into a scenario; `fake-claude record` and
//! `harness import` both produce it.

/// How the recorded CLI ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Code(i32),
    Signal(i32),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A line the supervisor wrote to the CLI's stdin, without its newline (`terminated: false`:
    /// stdin closed before a newline came).
    In { bytes: Vec<u8>, terminated: bool },
    /// The supervisor closed the CLI's stdin.
    InEof,
    /// A line the CLI wrote to stdout, without its newline.
    Out { bytes: Vec<u8>, terminated: bool },
    /// Text the CLI wrote to stderr (a chunk as read, newlines included).
    Err { text: String },
    /// The supervisor sent the CLI this signal.
    Signal { signal: i32 },
    /// The CLI ended.
    Exit(Ended),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    /// Seconds since the session started.
    pub t: f64,
    pub event: Event,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    /// The CLI's arguments, without the program.
    pub argv: Vec<String>,
    /// In the order they happened.
    pub events: Vec<Timed>,
}

impl Session {
    pub fn push(&mut self, t: f64, event: Event) {
        self.events.push(Timed { t, event });
    }

    pub fn ended(&self) -> Option<Ended> {
        self.events.iter().rev().find_map(|e| match e.event {
            Event::Exit(x) => Some(x),
            _ => None,
        })
    }
}

/// Splits a byte stream into lines as it arrives, keeping a partial last line for later.
#[derive(Debug, Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// The complete lines in `chunk` (with what was pending), without their newlines.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for &b in chunk {
            if b == b'\n' {
                out.push(std::mem::take(&mut self.pending));
            } else {
                self.pending.push(b);
            }
        }
        out
    }

    /// What is left when the stream ends (a line without its newline), if anything.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_chunks() {
        let mut l = Lines::default();
        assert_eq!(l.feed(b"ab"), Vec::<Vec<u8>>::new());
        assert_eq!(
            l.feed(b"c\nd\n\ne"),
            vec![b"abc".to_vec(), b"d".to_vec(), vec![]]
        );
        assert_eq!(l.finish(), Some(b"e".to_vec()));
        assert_eq!(l.finish(), None);
    }
}
