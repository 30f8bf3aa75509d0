//! How fake-claude was started: argv with its own `--fake-*` flags taken out, the environment
//! variables that steer the real CLI, and lookups of CLI flags in either `--flag value` or
//! `--flag=value` form. Nothing here rejects a flag: the real supervisors pass dozens we do not
//! model, and the fake must accept them all.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// Environment variables recorded in the transcript's `start` record.
const RECORDED_ENV_PREFIXES: &[&str] = &["CLAUDE", "ANTHROPIC_BASE_URL", "DEBUG", "PWD"];

#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// argv[1..] without `--fake-*` flags.
    pub argv: Vec<String>,
    pub scenario: Option<PathBuf>,
    pub transcript: Option<PathBuf>,
    pub profile: Option<String>,
    pub seed: Option<u64>,
    /// The session store (`--fake-sessions DIR` / `FAKE_CLAUDE_SESSIONS`; see [`crate::sessions`]).
    pub sessions: Option<PathBuf>,
    /// Only load and check the scenario, print problems, exit 0/2.
    pub check: bool,
    /// `-v` / `--version`.
    pub version: bool,
    pub env: BTreeMap<String, String>,
    /// Bad `--fake-*` flags or `FAKE_CLAUDE_*` variables (a missing value, an unknown profile, a
    /// seed that is not a number): fake-claude reports them and exits 2 instead of guessing.
    pub problems: Vec<String>,
}

impl Invocation {
    /// Length in characters of the command line Windows would build: `claude` and argv, joined
    /// by spaces, an argument quoted (and its quotes escaped) when it has spaces or quotes.
    pub fn command_line_len(&self) -> usize {
        let quoted = |a: &String| {
            let chars = a.chars().count();
            if a.is_empty() || a.contains([' ', '\t', '"']) {
                chars + 2 + a.matches('"').count()
            } else {
                chars
            }
        };
        "claude".len() + self.argv.iter().map(|a| 1 + quoted(a)).sum::<usize>()
    }

    /// Parse argv (without argv[0]) and the environment.
    pub fn parse(args: Vec<String>, env: impl Iterator<Item = (String, String)>) -> Self {
        let env: BTreeMap<String, String> = env.collect();
        let mut inv = Invocation::default();
        let mut it = args.into_iter().peekable();
        let mut seed: Option<String> = None;
        while let Some(a) = it.next() {
            if let Some(rest) = a.strip_prefix("--fake-") {
                let (name, inline) = match rest.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (rest.to_string(), None),
                };
                let takes_value = matches!(
                    name.as_str(),
                    "scenario" | "transcript" | "profile" | "seed" | "sessions"
                );
                let value = if takes_value {
                    let v = inline.or_else(|| it.next());
                    if v.is_none() {
                        inv.problems.push(format!("--fake-{name} needs a value"));
                    }
                    v
                } else {
                    None
                };
                match name.as_str() {
                    "scenario" => inv.scenario = value.map(PathBuf::from),
                    "transcript" => inv.transcript = value.map(PathBuf::from),
                    "profile" => inv.profile = value,
                    "seed" => seed = value,
                    "sessions" => inv.sessions = value.map(PathBuf::from),
                    "check" => inv.check = true,
                    // Unknown --fake-* flags are ours too: drop them rather than pass them on.
                    _ => {}
                }
                continue;
            }
            if a == "-v" || a == "--version" {
                inv.version = true;
            }
            inv.argv.push(a);
        }
        let var = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        inv.scenario = inv
            .scenario
            .or_else(|| var("FAKE_CLAUDE_SCENARIO").map(PathBuf::from));
        inv.transcript = inv
            .transcript
            .or_else(|| var("FAKE_CLAUDE_TRANSCRIPT").map(PathBuf::from));
        inv.profile = inv.profile.or_else(|| var("FAKE_CLAUDE_PROFILE"));
        inv.sessions = inv
            .sessions
            .or_else(|| var("FAKE_CLAUDE_SESSIONS").map(PathBuf::from));
        if let Some(p) = &inv.profile
            && crate::profile::Profile::parse(p).is_none()
        {
            inv.problems.push(format!(
                "unknown profile `{p}` (--fake-profile / FAKE_CLAUDE_PROFILE): expected one of {}",
                crate::profile::Profile::known()
            ));
        }
        if let Some(v) = seed.or_else(|| var("FAKE_CLAUDE_SEED")) {
            match v.trim().parse() {
                Ok(n) => inv.seed = Some(n),
                Err(_) => inv.problems.push(format!(
                    "seed `{v}` (--fake-seed / FAKE_CLAUDE_SEED) is not a non-negative integer"
                )),
            }
        }
        inv.env = env;
        inv
    }

    pub fn from_process() -> Self {
        Self::parse(std::env::args().skip(1).collect(), std::env::vars())
    }

    /// The value of `--name` (`Some("")` for a present flag without a value; `None` if absent).
    /// The last occurrence wins, as with the real CLI's parser.
    pub fn flag(&self, name: &str) -> Option<String> {
        let mut found = None;
        let mut i = 0;
        while i < self.argv.len() {
            let a = &self.argv[i];
            if let Some(v) = a.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                found = Some(v.to_string());
            } else if a == name {
                let next = self.argv.get(i + 1);
                match next {
                    Some(n)
                        if !crate::mode::BOOLEAN_FLAGS.contains(&name) && !n.starts_with("--") =>
                    {
                        found = Some(n.clone());
                        i += 1;
                    }
                    _ => found = Some(String::new()),
                }
            }
            i += 1;
        }
        found
    }

    /// All flags as a JSON object for templates: `{{ flags.resume }}`.
    pub fn flags_json(&self) -> Value {
        let mut m = Map::new();
        for a in &self.argv {
            if let Some(name) = a.strip_prefix("--") {
                let name = name.split('=').next().unwrap_or(name);
                if !m.contains_key(name) {
                    let v = self.flag(&format!("--{name}")).unwrap_or_default();
                    m.insert(name.to_string(), json!(v));
                }
            }
        }
        Value::Object(m)
    }

    pub fn env_json(&self) -> Value {
        Value::Object(
            self.env
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        )
    }

    /// The subset of the environment worth recording.
    pub fn recorded_env(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .filter(|(k, _)| RECORDED_ENV_PREFIXES.iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn reads_session_state(&self) -> bool {
        self.env
            .get("CLAUDE_CODE_SDK_READS_SESSION_STATE")
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    }

    /// Every value of a variadic flag under any of its spellings (`--allowedTools a b`,
    /// `--allowed-tools=c`, repeated): the real CLI's `<tools...>` options take each following
    /// argument up to the next flag. In argv order.
    pub fn flag_values(&self, names: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.argv.len() {
            let a = &self.argv[i];
            if let Some(v) = names
                .iter()
                .find_map(|n| a.strip_prefix(n).and_then(|r| r.strip_prefix('=')))
            {
                out.push(v.to_string());
            } else if names.contains(&a.as_str()) {
                while let Some(n) = self.argv.get(i + 1).filter(|n| !n.starts_with('-')) {
                    out.push(n.clone());
                    i += 1;
                }
            }
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(args: &[&str]) -> Invocation {
        Invocation::parse(
            args.iter().map(|s| s.to_string()).collect(),
            std::iter::empty(),
        )
    }

    #[test]
    fn strips_fake_flags_and_reads_both_flag_styles() {
        let i = inv(&[
            "--output-format",
            "stream-json",
            "--verbose",
            "--fake-scenario",
            "s.yaml",
            "--permission-prompt-tool=stdio",
            "--fake-transcript=t.jsonl",
            "--system-prompt",
            "",
            "--resume",
            "abc",
            "--input-format",
            "stream-json",
        ]);
        assert_eq!(i.scenario, Some(PathBuf::from("s.yaml")));
        assert_eq!(i.transcript, Some(PathBuf::from("t.jsonl")));
        assert!(!i.argv.iter().any(|a| a.starts_with("--fake")));
        assert_eq!(i.flag("--permission-prompt-tool").as_deref(), Some("stdio"));
        assert_eq!(i.flag("--verbose").as_deref(), Some(""));
        assert_eq!(i.flag("--system-prompt").as_deref(), Some(""));
        assert_eq!(i.flag("--resume").as_deref(), Some("abc"));
        assert_eq!(i.flag("--model"), None);
        assert_eq!(i.flags_json()["input-format"], "stream-json");
    }

    #[test]
    fn version_flags() {
        assert!(inv(&["-v"]).version);
        assert!(inv(&["--version"]).version);
        assert!(!inv(&["--verbose"]).version);
    }
}
