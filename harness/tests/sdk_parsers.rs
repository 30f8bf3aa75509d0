//! Fidelity against the real SDKs' parsers: every message fake-claude emits while the scenario
//! library runs (both reference policies, both CLI profiles) goes through the Python Agent SDK's
//! own `parse_message` (0.1.50 and 0.2.187) and through the TypeScript SDK's reading path. A
//! parse error fails the test: our shapes must be what real SDKs accept.
//!
//! Scenarios tagged `malformed` are about broken output on purpose and are left out. The SDKs
//! are installed by the supervisors' cached setup steps; a missing toolchain (python3, node)
//! shows the checks as ignored locally and fails them under `CI`.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use harness::suite::{self, Case};
use harness::supervisor::{self, Context, Supervisor};
use harness::{runner, setup};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;

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
    let messages: Arc<OnceLock<Result<PathBuf, String>>> = Arc::new(OnceLock::new());
    let checks = [
        ("python-sdk@0.1.50", "python"),
        ("python-sdk@0.2.187", "python"),
        ("ts-sdk", "node"),
    ];
    let trials = checks
        .into_iter()
        .map(|(spec, kind)| {
            let (ctx, messages) = (Arc::clone(&ctx), Arc::clone(&messages));
            Trial::ignorable_test(format!("sdk_parsers::{spec}"), move || {
                check(&ctx, spec, kind, &messages)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

fn check(
    ctx: &Context,
    spec: &str,
    kind: &str,
    messages: &OnceLock<Result<PathBuf, String>>,
) -> Result<Completion, Failed> {
    let sup = supervisor::resolve(spec, ctx)?;
    let missing = sup.missing_tools();
    if !missing.is_empty() {
        let why = format!("{spec} needs {} on PATH", missing.join(", "));
        if in_ci() {
            return Err(Failed::from(format!(
                "{why} (in CI a missing toolchain is a failure)"
            )));
        }
        return Ok(Completion::ignored_with(why));
    }
    setup::ensure(&sup, ctx)?;
    let file = messages
        .get_or_init(|| collect_messages(ctx))
        .clone()
        .map_err(Failed::from)?;
    let cache = supervisor::cache_dir(ctx, &sup);
    let mut cmd = if kind == "python" {
        let mut c = std::process::Command::new(cache.join("venv/bin/python"));
        c.arg(sup.dir.join("parse_check.py"));
        c
    } else {
        let mut c = std::process::Command::new("node");
        c.arg(cache.join("parse_check.mjs"));
        c
    };
    cmd.arg(&file);
    let out = harness::procs::run_bounded(cmd, std::time::Duration::from_secs(120))
        .map_err(|e| Failed::from(format!("cannot run the {spec} parser check: {e}")))?;
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.success() {
        return Err(Failed::from(format!(
            "{spec} rejected messages fake-claude emits ({}):\n{summary}\n{}",
            out.describe(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let parsed: Value = serde_json::from_str(summary.trim()).map_err(|e| {
        Failed::from(format!(
            "{spec}: unreadable parser summary ({e}): {summary}"
        ))
    })?;
    // Every line was looked at: Python parsed or routed it (control frames), TS yielded it.
    let lines = std::fs::read_to_string(&file)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count() as u64)
        .unwrap_or(0);
    let n = |k: &str| parsed.get(k).and_then(Value::as_u64).unwrap_or(0);
    let accounted = if kind == "python" {
        n("parsed") + n("skipped")
    } else {
        n("yielded") + (lines - n("expected").min(lines))
    };
    if lines == 0 || accounted != lines {
        return Err(Failed::from(format!(
            "{spec}: {accounted} of {lines} messages were checked: {summary}"
        )));
    }
    Ok(Completion::Completed)
}

/// Run every scenario (except `malformed` ones) with both reference policies under both CLI
/// profiles and write every distinct message the fake wrote to one JSONL file.
fn collect_messages(ctx: &Context) -> Result<PathBuf, String> {
    let files = suite::discover_files(ctx, &[])?;
    let sups: Vec<Supervisor> = supervisor::defaults(ctx).map_err(|e| e.to_string())?;
    let mut seen = std::collections::BTreeSet::new();
    let mut lines = Vec::new();
    for (id, path) in files {
        let loaded = fake_claude::scenario::load_file(&path).map_err(|e| e.message)?;
        if loaded.scenario.tags.iter().any(|t| t == "malformed") {
            continue;
        }
        let case = Case { id, path, loaded };
        for profile in ["2.1.81", "2.1.330"] {
            for sup in &sups {
                let mut sup = sup.clone();
                sup.env.insert("FAKE_CLAUDE_PROFILE".into(), profile.into());
                let run = runner::run(ctx, &sup, &case)?;
                for rec in &run.transcript {
                    if let fake_claude::transcript::Event::Stdout {
                        msgs: Some(msgs), ..
                    } = &rec.event
                    {
                        for m in msgs {
                            let line = serde_json::to_string(m).map_err(|e| e.to_string())?;
                            if seen.insert(shape_key(m)) {
                                lines.push(line);
                            }
                        }
                    }
                }
                let _ = std::fs::remove_dir_all(&run.dir);
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("sdk-parsers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("messages.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").map_err(|e| e.to_string())?;
    Ok(file)
}

/// Distinct by shape, not by ids: the message with its string values blanked.
fn shape_key(m: &Value) -> String {
    fn blank(v: &Value) -> Value {
        match v {
            Value::String(_) => Value::String(String::new()),
            Value::Number(_) => Value::from(0),
            Value::Array(a) => Value::Array(a.iter().map(blank).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), blank(x))).collect())
            }
            other => other.clone(),
        }
    }
    blank(m).to_string()
}
