//! Sessions across processes: `--session-id`, `--resume ID`, `--continue` and `--fork-session`
//! over a small store, so a later invocation continues a session an earlier one wrote — and an
//! unknown or reused id gets the real CLI's error. The store is one JSON file per session in a
//! directory: `--fake-sessions DIR` / `FAKE_CLAUDE_SESSIONS`, else `sessions/` next to the
//! transcript (one store per harness run), else `$CLAUDE_CONFIG_DIR` or `~/.claude` under
//! `fake-claude/sessions`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::invocation::Invocation;

/// What the store keeps of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub session_id: String,
    pub cwd: String,
    /// Results written in this session so far, over every invocation.
    pub results: u64,
    /// Store-wide write order: `--continue` takes the newest session of the cwd.
    pub seq: u64,
}

/// How this invocation's session begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A new session; with `--session-id`, under that id.
    New(Option<String>),
    /// An earlier session continued (`--resume ID`, `--continue`) under its id, or under a new
    /// id with `--fork-session` (`forked`).
    Resumed { from: Stored, forked: bool },
}

/// An invocation the real CLI refuses: its stderr line, and whether stream-json output also
/// gets an error result for it (an unknown `--resume` id does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub stderr: String,
    pub session_id: String,
    pub error_result: bool,
}

pub struct Store {
    dir: PathBuf,
    /// `--no-session-persistence`: nothing is written.
    persist: bool,
}

impl Store {
    pub fn for_invocation(inv: &Invocation) -> Store {
        let dir = inv
            .sessions
            .clone()
            .or_else(|| {
                inv.transcript
                    .as_deref()
                    .and_then(Path::parent)
                    .map(|d| d.join("sessions"))
            })
            .unwrap_or_else(|| {
                let config = inv
                    .env
                    .get("CLAUDE_CONFIG_DIR")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        PathBuf::from(inv.env.get("HOME").cloned().unwrap_or_default())
                            .join(".claude")
                    });
                config.join("fake-claude").join("sessions")
            });
        Store {
            dir,
            persist: inv.flag("--no-session-persistence").is_none(),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        // Ids are checked UUIDs or our own; anything else cannot name a file outside the store.
        let safe: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    pub fn get(&self, id: &str) -> Option<Stored> {
        let text = std::fs::read_to_string(self.path(id)).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn all(&self) -> Vec<Stored> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect()
    }

    /// The newest session of `cwd`, for `--continue`.
    pub fn latest(&self, cwd: &str) -> Option<Stored> {
        self.all()
            .into_iter()
            .filter(|s| s.cwd == cwd)
            .max_by_key(|s| s.seq)
    }

    /// Record that `session_id` (in `cwd`) wrote its `results`-th result. Best effort: a store
    /// that cannot be written only loses later resumes, never the run.
    pub fn save(&self, session_id: &str, cwd: &str, results: u64) {
        if !self.persist {
            return;
        }
        let seq = self.all().iter().map(|s| s.seq).max().unwrap_or(0) + 1;
        let s = Stored {
            session_id: session_id.to_string(),
            cwd: cwd.to_string(),
            results,
            seq,
        };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let tmp = self.dir.join(format!(".{}.tmp", std::process::id()));
        if let Ok(text) = serde_json::to_string(&s)
            && std::fs::write(&tmp, text).is_ok()
        {
            let _ = std::fs::rename(&tmp, self.path(session_id));
        }
    }

    /// Decide how the session starts, as the real CLI does.
    pub fn start(&self, inv: &Invocation, cwd: &str) -> Result<Start, Refused> {
        let forked = inv.flag("--fork-session").is_some();
        let resume = inv
            .flag("--resume")
            .or_else(|| inv.flag("-r"))
            .filter(|v| !v.is_empty());
        if let Some(id) = resume {
            return match self.get(&id) {
                Some(from) => Ok(Start::Resumed { from, forked }),
                None => Err(Refused {
                    stderr: format!("No conversation found with session ID: {id}\n"),
                    session_id: id,
                    error_result: true,
                }),
            };
        }
        if inv.flag("--continue").is_some() || inv.flag("-c").is_some() {
            // Nothing to continue: the real CLI starts a new session.
            if let Some(from) = self.latest(cwd) {
                return Ok(Start::Resumed { from, forked });
            }
        }
        match inv.flag("--session-id").filter(|v| !v.is_empty()) {
            Some(id) if !is_uuid(&id) => Err(Refused {
                stderr: "Error: Invalid session ID. Must be a valid UUID.\n".into(),
                session_id: id,
                error_result: false,
            }),
            Some(id) if self.get(&id).is_some() => Err(Refused {
                stderr: format!("Error: Session ID {id} is already in use.\n"),
                session_id: id,
                error_result: false,
            }),
            Some(id) => Ok(Start::New(Some(id))),
            None => Ok(Start::New(None)),
        }
    }

    /// Whether a session with this id was stored (a fresh id must not collide with one).
    pub fn exists(&self, id: &str) -> bool {
        self.path(id).exists()
    }
}

/// 8-4-4-4-12 hex digits.
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(args: &[&str], dir: &Path) -> Invocation {
        let mut i = Invocation::parse(
            args.iter().map(|s| s.to_string()).collect(),
            std::iter::empty(),
        );
        i.sessions = Some(dir.to_path_buf());
        i
    }

    const ID: &str = "11111111-2222-4333-8444-555555555555";

    #[test]
    fn resume_continue_fork_and_the_real_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let store = |args: &[&str]| Store::for_invocation(&inv(args, d));
        assert_eq!(
            store(&["--session-id", ID]).start(&inv(&["--session-id", ID], d), "/w"),
            Ok(Start::New(Some(ID.into())))
        );
        store(&[]).save(ID, "/w", 1);
        let again = inv(&["--session-id", ID], d);
        let e = store(&[]).start(&again, "/w").unwrap_err();
        assert_eq!(
            e.stderr,
            format!("Error: Session ID {ID} is already in use.\n")
        );
        let bad = inv(&["--session-id", "not-a-uuid"], d);
        assert_eq!(
            store(&[]).start(&bad, "/w").unwrap_err().stderr,
            "Error: Invalid session ID. Must be a valid UUID.\n"
        );
        let resume = inv(&[&format!("--resume={ID}")], d);
        match store(&[]).start(&resume, "/w") {
            Ok(Start::Resumed { from, forked }) => {
                assert_eq!(from.session_id, ID);
                assert!(!forked);
            }
            other => panic!("{other:?}"),
        }
        let fork = inv(&["--resume", ID, "--fork-session"], d);
        assert!(matches!(
            store(&[]).start(&fork, "/w"),
            Ok(Start::Resumed { forked: true, .. })
        ));
        let unknown = inv(&["--resume", "99999999-9999-4999-8999-999999999999"], d);
        let e = store(&[]).start(&unknown, "/w").unwrap_err();
        assert_eq!(
            e.stderr,
            "No conversation found with session ID: 99999999-9999-4999-8999-999999999999\n"
        );
        assert!(e.error_result);
        // --continue takes the newest session of this cwd, and starts afresh elsewhere.
        store(&[]).save("22222222-2222-4333-8444-555555555555", "/w", 1);
        let cont = inv(&["--continue"], d);
        match store(&[]).start(&cont, "/w") {
            Ok(Start::Resumed { from, .. }) => {
                assert_eq!(from.session_id, "22222222-2222-4333-8444-555555555555")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(store(&[]).start(&cont, "/elsewhere"), Ok(Start::New(None)));
    }

    #[test]
    fn no_session_persistence_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::for_invocation(&inv(&["--no-session-persistence"], dir.path()));
        s.save(ID, "/w", 1);
        assert!(!s.exists(ID));
    }
}
