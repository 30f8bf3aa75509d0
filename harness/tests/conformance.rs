//! The conformance suite as a test target: one libtest-mimic trial per (supervisor, scenario),
//! named `<supervisor>::<scenario-id>`, so `cargo nextest run --partition hash:k/n` shards it
//! and name filters pick cells (`cargo test -p harness --test conformance -- startup-burst`).
//!
//! Supervisors: every one the repository defines (the embedded `reference` and
//! `reference-background`, and each pinned version under `supervisors/`), or the embedded ones
//! plus those named in `HARNESS_SUPERVISORS` (comma-separated names or paths) when it is set. A
//! scenario needing a capability the supervisor lacks is ignored with the reason; so is a
//! supervisor whose tools (python3, node, ...) are missing — except under `CI`, where that is a
//! failure. A known failure passes; an unexpected pass fails.
//! Each trial runs the scenario, judges it, and checks its snapshot; a failed trial keeps its run
//! directory, with `verdict.json` and the sequence-diagram views (`harness show`) in it.

use std::path::PathBuf;
use std::sync::Arc;

use harness::suite::{self, Case, Outcome};
use harness::supervisor::{self, Context, Supervisor};
use harness::{judge, runner, setup, snapshot};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate lives in the workspace")
        .to_path_buf();
    let ctx = Arc::new(Context {
        root,
        harness_bin: PathBuf::from(env!("CARGO_BIN_EXE_harness")),
    });
    let trials = match trials(&ctx) {
        Ok(t) => t,
        Err(e) => vec![Trial::test("conformance::setup", move || {
            Err(Failed::from(&e))
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}

fn supervisors(ctx: &Context) -> Result<Vec<Supervisor>, String> {
    let Ok(list) = std::env::var("HARNESS_SUPERVISORS") else {
        return supervisor::all_in_repo(ctx).map_err(|e| e.to_string());
    };
    let mut sups = supervisor::defaults(ctx).map_err(|e| e.to_string())?;
    for spec in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let s = supervisor::resolve(spec, ctx).map_err(|e| e.to_string())?;
        if !sups.iter().any(|x| x.name == s.name) {
            sups.push(s);
        }
    }
    Ok(sups)
}

fn trials(ctx: &Arc<Context>) -> Result<Vec<Trial>, String> {
    let sups = supervisors(ctx)?;
    let files = suite::discover_files(ctx, &[])?;
    let mut trials = Vec::new();
    for (id, path) in files {
        let case = match fake_claude::scenario::load_file(&path) {
            Ok(loaded) => Arc::new(Case {
                id: id.clone(),
                path,
                loaded,
            }),
            Err(e) => {
                // A scenario that does not load fails under every supervisor, by name.
                for sup in &sups {
                    let msg = e.message.clone();
                    trials.push(Trial::test(format!("{}::{id}", sup.name), move || {
                        Err(Failed::from(msg))
                    }));
                }
                continue;
            }
        };
        for sup in &sups {
            let (ctx, sup, case) = (Arc::clone(ctx), Arc::new(sup.clone()), Arc::clone(&case));
            let name = format!("{}::{}", sup.name, case.id);
            trials.push(Trial::ignorable_test(name, move || {
                trial(&ctx, &sup, &case)
            }));
        }
    }
    Ok(trials)
}

fn trial(ctx: &Context, sup: &Supervisor, case: &Case) -> Result<Completion, Failed> {
    let missing = sup.missing_tools();
    if !missing.is_empty() {
        let why = format!("{} needs {} on PATH", sup.name, missing.join(", "));
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
            return Err(Failed::from(format!(
                "{why} (in CI a missing toolchain is a failure)"
            )));
        }
        return Ok(Completion::ignored_with(why));
    }
    if let Some(reason) = suite::skip_reason(sup, case) {
        return Ok(Completion::ignored_with(reason));
    }
    setup::ensure(sup, ctx)?;
    let run = runner::run(ctx, sup, case)?;
    let verdict = judge::judge(&run, &case.loaded);
    let cell = suite::classify(sup, case, &verdict);
    // Snapshots pin runs that are meant to pass. A known failure is a bug of the supervisor, often
    // a race (e.g. which of the SDK and the CLI ends the process first), so its run is not pinned.
    let snapshot = if cell.outcome == Outcome::KnownFailure {
        None
    } else {
        // A snapshot mismatch panics (insta); catch it so the verdict is reported with it.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            snapshot::assert_run(&run, &verdict)
        }))
        .err()
        .map(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "snapshot assertion failed".into())
        })
    };
    let mut msg = String::new();
    match cell.outcome {
        Outcome::Pass | Outcome::KnownFailure | Outcome::Skipped => {}
        Outcome::UnexpectedPass => {
            let reason = cell
                .known
                .as_ref()
                .map(|k| k.reason.clone())
                .unwrap_or_default();
            msg.push_str(&format!(
                "unexpected pass: {} lists {} as a known failure ({reason}), but it passed; \
                 remove the entry\n",
                sup.name, case.id
            ));
        }
        Outcome::Fail => {
            msg.push_str(&format!("{} violation(s):\n", cell.violations.len()));
            for v in &cell.violations {
                msg.push_str(&format!("  - {}: {}\n", v.id, v.message.trim_end()));
            }
            if !run.report.problems.is_empty() {
                msg.push_str(&format!(
                    "report problems: {}\n",
                    run.report.problems.join("; ")
                ));
            }
        }
    }
    if let Some(s) = snapshot {
        msg.push_str(&format!("{s}\n"));
    }
    let keep = std::env::var_os("HARNESS_KEEP").is_some_and(|v| v == "1");
    if msg.is_empty() {
        if !keep {
            let _ = std::fs::remove_dir_all(&run.dir);
        }
        Ok(Completion::Completed)
    } else {
        msg.push_str(&format!("run kept: {}", run.dir.display()));
        match harness::show::keep(&cell, &run) {
            Ok(()) => msg.push_str(&format!(
                "\nsequence diagram: {}",
                run.dir.join(harness::show::HTML_FILE).display()
            )),
            Err(e) => msg.push_str(&format!("\n(no sequence diagram: {e})")),
        }
        Err(Failed::from(msg))
    }
}
