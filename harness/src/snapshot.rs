//! Snapshots of normalized runs with insta.
//!
//! Each (supervisor, scenario) run is one file, `snapshots/<supervisor>/<scenario id with '/'
//! replaced by '__'>.snap` under the repository root, named explicitly (no module prefix, no
//! expression; the description is the scenario id). A changed or new run writes
//! `<name>.snap.new` next to it for `cargo insta review` — except under CI (`CI` set to anything
//! but `false`/`0`/empty), where insta's default `INSTA_UPDATE=auto` writes nothing and the test
//! just fails. `INSTA_UPDATE=always` accepts changes in place.

use std::path::{Path, PathBuf};

use crate::artifacts::RunArtifacts;
use crate::normalize::normalized_run;
use crate::verdict::Verdict;

/// The repository root (the workspace this crate lives in).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The snapshot's name: the scenario id with `/` replaced by `__` (`seed/startup-burst` →
/// `seed__startup-burst`).
pub fn snapshot_name(scenario_id: &str) -> String {
    scenario_id.replace(['/', '\\'], "__")
}

/// The directory for a supervisor's snapshots: `<root>/snapshots/<supervisor>`, the name made
/// safe for a file system (anything but letters, digits, `-`, `_`, `.` becomes `_`).
pub fn snapshot_dir(root: &Path, supervisor: &str) -> PathBuf {
    let clean: String = supervisor
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = if clean.is_empty() || clean.chars().all(|c| c == '.') {
        "_".to_string()
    } else {
        clean
    };
    root.join("snapshots").join(clean)
}

/// Where the snapshot of this run lives.
pub fn snapshot_path(root: &Path, run: &RunArtifacts) -> PathBuf {
    snapshot_dir(root, &run.supervisor).join(format!("{}.snap", snapshot_name(&run.scenario_id)))
}

/// Assert the normalized run matches `snapshots/<supervisor>/<scenario>.snap`.
pub fn assert_run(run: &RunArtifacts, verdict: &Verdict) {
    assert_run_in(&repo_root(), run, verdict);
}

/// [`assert_run`] with the snapshots under another root (tests).
pub fn assert_run_in(root: &Path, run: &RunArtifacts, verdict: &Verdict) {
    let text = normalized_run(run, verdict);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir(root, &run.supervisor));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(run.scenario_id.clone());
    let name = snapshot_name(&run.scenario_id);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::testkit::*;
    use std::process::Command;

    #[test]
    fn names_and_paths() {
        assert_eq!(
            snapshot_name("seed/cross-turn-notification"),
            "seed__cross-turn-notification"
        );
        assert_eq!(snapshot_name("a/b/c"), "a__b__c");
        let root = Path::new("/repo");
        assert_eq!(
            snapshot_dir(root, "reference"),
            Path::new("/repo/snapshots/reference")
        );
        assert_eq!(
            snapshot_dir(root, "../x y"),
            Path::new("/repo/snapshots/.._x_y")
        );
        assert_eq!(snapshot_dir(root, ".."), Path::new("/repo/snapshots/_"));
        assert_eq!(snapshot_dir(root, ""), Path::new("/repo/snapshots/_"));
        let mut r = run(vec![], vec![]);
        r.supervisor = "reference".into();
        r.scenario_id = "seed/startup-burst".into();
        assert_eq!(
            snapshot_path(root, &r),
            Path::new("/repo/snapshots/reference/seed__startup-burst.snap")
        );
        assert!(repo_root().join("harness").join("Cargo.toml").exists());
    }

    fn sample() -> (RunArtifacts, Verdict) {
        let mut r = run(vec![], vec![turn(0, "completed", Some("hi"))]);
        r.supervisor = "reference".into();
        r.scenario_id = "seed/x".into();
        (
            r,
            Verdict {
                violations: vec![],
                waived: vec![],
            },
        )
    }

    /// Run by `ci_never_writes_snapshots` in a child process with `SNAPSHOT_TEST_ROOT` set.
    #[test]
    #[ignore = "run as a child process by ci_never_writes_snapshots"]
    fn child_asserts_a_snapshot() {
        let Some(root) = std::env::var_os("SNAPSHOT_TEST_ROOT") else {
            return;
        };
        let (r, v) = sample();
        assert_run_in(Path::new(&root), &r, &v);
    }

    fn child(root: &Path, ci: Option<&str>, update: Option<&str>) -> bool {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "snapshot::tests::child_asserts_a_snapshot",
            "--ignored",
            "--test-threads=1",
        ])
        .env("SNAPSHOT_TEST_ROOT", root)
        .env_remove("CI")
        .env_remove("TF_BUILD")
        .env_remove("INSTA_UPDATE")
        .env_remove("INSTA_FORCE_PASS")
        .env_remove("INSTA_FORCE_UPDATE_SNAPSHOTS")
        .env_remove("INSTA_PENDING_DIR")
        .env_remove("INSTA_WORKSPACE_ROOT")
        .env_remove("INSTA_OUTPUT");
        if let Some(ci) = ci {
            cmd.env("CI", ci);
        }
        if let Some(u) = update {
            cmd.env("INSTA_UPDATE", u);
        }
        cmd.output().map(|o| o.status.success()).unwrap_or(false)
    }

    #[test]
    fn ci_never_writes_snapshots_and_local_runs_leave_them_for_review() {
        let dir = tempfile::tempdir().unwrap();
        let (r, _) = sample();
        let snap = snapshot_path(dir.path(), &r);
        let new = snap.with_extension("snap.new");

        // CI, snapshot missing: fails, writes nothing.
        assert!(!child(dir.path(), Some("true"), None));
        assert!(!snap.exists() && !new.exists());

        // Locally: fails and leaves `.snap.new` for `cargo insta review`.
        assert!(!child(dir.path(), None, None));
        assert!(new.exists() && !snap.exists());
        let pending = std::fs::read_to_string(&new).unwrap();
        assert!(pending.contains("description: seed/x"), "{pending}");
        assert!(!pending.contains("expression:"), "{pending}");
        assert!(pending.contains("## verdict: pass"), "{pending}");
        std::fs::remove_file(&new).unwrap();

        // Accepted, then unchanged: passes everywhere.
        assert!(child(dir.path(), None, Some("always")));
        assert!(snap.exists());
        assert!(child(dir.path(), Some("true"), None));
        assert!(child(dir.path(), None, None));
        assert!(!new.exists());
    }
}
