//! A supervisor's cached setup step (build a binary, create a venv, ...). It runs once, and again
//! only when the content of its `cache_key` files (or the step itself) changes; the stamp lives
//! in `target/harness-setup/<name>/`. A file lock there makes concurrent harness processes
//! (nextest runs one per test) wait for one setup instead of racing.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use rustix::fs::FlockOperation;

use crate::procs;
use crate::supervisor::{Context, Setup, Supervisor, Vars};

/// Serializes setups within this process (the file lock covers other processes).
static IN_PROCESS: Mutex<()> = Mutex::new(());

/// Make sure the supervisor's setup has run for the current content of its cache key.
pub fn ensure(sup: &Supervisor, ctx: &Context) -> Result<(), String> {
    let Some(setup) = &sup.setup else {
        return Ok(());
    };
    let vars = Vars::new(ctx, sup);
    let key = cache_key(setup, sup, &vars);
    let cache = crate::supervisor::cache_dir(ctx, sup);
    std::fs::create_dir_all(&cache).map_err(|e| {
        format!(
            "setup of {}: cannot create {}: {e}",
            sup.name,
            cache.display()
        )
    })?;
    let stamp = cache.join("stamp");

    let _in_process = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    let _lock = lock(&cache.join("lock"))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(key.as_str()) {
        return Ok(());
    }
    let _ = std::fs::remove_file(&stamp);

    let argv: Vec<String> = setup.command.iter().map(|a| vars.expand(a)).collect();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).current_dir(&sup.dir);
    for (k, v) in &setup.env {
        cmd.env(k, vars.expand(v));
    }
    let done = procs::run_bounded(cmd, sup.timeouts.setup).map_err(|e| {
        format!(
            "setup of {}: cannot run `{}`: {e}",
            sup.name,
            argv.join(" ")
        )
    })?;
    let log = cache.join("setup.log");
    let mut text = done.stdout.clone();
    text.extend_from_slice(&done.stderr);
    let _ = std::fs::write(&log, &text);
    if !done.success() {
        return Err(format!(
            "setup of {} failed ({}): `{}`; output in {}:\n{}",
            sup.name,
            done.describe(),
            argv.join(" "),
            log.display(),
            tail(&text, 2000)
        ));
    }
    std::fs::write(&stamp, &key).map_err(|e| {
        format!(
            "setup of {}: cannot write {}: {e}",
            sup.name,
            stamp.display()
        )
    })?;
    Ok(())
}

fn lock(path: &Path) -> Result<File, String> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open setup lock {}: {e}", path.display()))?;
    rustix::fs::flock(&f, FlockOperation::LockExclusive)
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(f)
}

/// The stamp: the step itself plus a hash of every key file's path and content.
fn cache_key(setup: &Setup, sup: &Supervisor, vars: &Vars) -> String {
    let mut h = Fnv::default();
    for a in &setup.command {
        h.write(vars.expand(a).as_bytes());
        h.write(&[0]);
    }
    for (k, v) in &setup.env {
        h.write(k.as_bytes());
        h.write(vars.expand(v).as_bytes());
        h.write(&[0]);
    }
    for k in &setup.cache_key {
        let p = sup.dir.join(vars.expand(k));
        let mut files = Vec::new();
        collect(&p, &mut files);
        if files.is_empty() {
            h.write(b"<missing>");
            h.write(p.display().to_string().as_bytes());
        }
        for f in files {
            h.write(f.display().to_string().as_bytes());
            h.write(&[0]);
            h.write(&std::fs::read(&f).unwrap_or_default());
            h.write(&[0]);
        }
    }
    format!("{:016x}\n", h.0)
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_file() {
        out.push(p.to_path_buf());
    } else if let Ok(rd) = std::fs::read_dir(p) {
        let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            collect(&e, out);
        }
    }
}

/// FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn tail(bytes: &[u8], n: usize) -> String {
    let start = bytes.len().saturating_sub(n);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::load_str;

    #[test]
    fn runs_once_then_again_when_the_key_changes() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("sup");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("key.txt"), "1").unwrap();
        let yaml = "name: s\ncommand: [x]\nsetup:\n  command: [sh, -c, 'echo run >> count']\n  cache_key: [key.txt]\n";
        let sup = load_str(yaml, "s.yaml", &dir, None).unwrap();
        let ctx = Context {
            root: root.path().to_path_buf(),
            harness_bin: "/h".into(),
        };
        ensure(&sup, &ctx).unwrap();
        ensure(&sup, &ctx).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("count")).unwrap(), "run\n");
        std::fs::write(dir.join("key.txt"), "2").unwrap();
        ensure(&sup, &ctx).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("count")).unwrap(),
            "run\nrun\n"
        );
    }

    #[test]
    fn failure_is_reported_with_output_and_not_cached() {
        let root = tempfile::tempdir().unwrap();
        let yaml = "name: s\ncommand: [x]\nsetup: {command: [sh, -c, 'echo broken >&2; exit 3']}\n";
        let sup = load_str(yaml, "s.yaml", root.path(), None).unwrap();
        let ctx = Context {
            root: root.path().to_path_buf(),
            harness_bin: "/h".into(),
        };
        let e = ensure(&sup, &ctx).unwrap_err();
        assert!(e.contains("exit 3") && e.contains("broken"), "{e}");
        assert!(ensure(&sup, &ctx).is_err());
    }
}
