//! Shared plumbing for the integration tests that run the `harness` binary: the repository root,
//! runs under a hard deadline in their own process group, and reading a `--format json` suite.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use harness::procs;
use serde_json::Value;

pub const HARNESS: &str = env!("CARGO_BIN_EXE_harness");

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `harness ARGS` in `cwd` with `HARNESS_ROOT` set, killed (with its group) after `timeout`.
pub fn harness_within(args: &[&str], cwd: &Path, timeout: Duration) -> Output {
    let mut cmd = Command::new(HARNESS);
    cmd.args(args).current_dir(cwd).env("HARNESS_ROOT", root());
    procs::run_bounded(cmd, timeout)
        .map(|f| Output {
            status: f.status.expect("harness finished before the test deadline"),
            stdout: f.stdout,
            stderr: f.stderr,
        })
        .unwrap()
}

/// stdout then stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The cells of a `harness suite --format json` report that neither passed nor were skipped,
/// one line each.
pub fn not_passed(report: &Value) -> Vec<String> {
    report["cells"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|c| c["outcome"] != "pass" && c["outcome"] != "skipped")
        .map(|c| {
            format!(
                "{} × {}: {}",
                c["scenario"], c["supervisor"], c["violations"]
            )
        })
        .collect()
}
