//! The properties a generated case is checked against. `invariants`: the supervisor's verdict on
//! the generated scenario passes — every built-in invariant and the expectations derived from
//! the script. The metamorphic ones ([`Transform`]): the transformed scenario passes too, and the
//! supervisor's normalized report is the same as for the original.
//!
//! A case is run like any library scenario: written as a YAML file, loaded by the scenario
//! loader, executed and judged by [`suite::execute`].

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::artifacts::{AdapterExit, RunArtifacts};
use crate::normalize::Redactor;
use crate::suite::{self, Case, Cell, Outcome, RunOptions};
use crate::supervisor::{Context, Supervisor};

use super::transform::Transform;

/// Every property, with what it says.
pub const PROPERTIES: [(&str, &str); 6] = [
    (
        "invariants",
        "the verdict on the generated scenario passes: built-in invariants and derived expectations",
    ),
    ("rechunk", "re-chunking every stdout write changes nothing"),
    ("delay", "pauses between the CLI's steps change nothing"),
    (
        "pad-fields",
        "undocumented fields on every message change nothing",
    ),
    (
        "pad-messages",
        "unknown message types and subtypes in between change nothing",
    ),
    ("stderr-noise", "stderr lines in between change nothing"),
];

/// A property that failed on one case.
#[derive(Debug, Clone)]
pub struct Failure {
    pub property: &'static str,
    pub message: String,
    /// The scenario that fails (the transformed one, for a metamorphic property).
    pub scenario: Value,
    /// For a metamorphic property: the turns as the supervisor reported them on the original
    /// scenario (status, output), which the saved regression expects.
    pub expected_turns: Option<Vec<Value>>,
}

/// One executed scenario: its cell (verdict) and artifacts.
pub struct Ran {
    pub cell: Cell,
    pub run: Option<RunArtifacts>,
}

/// Write `scenario` into `dir` as `<id>.yaml`, load it like a library file, run and judge it.
pub fn execute(
    ctx: &Context,
    sup: &Supervisor,
    dir: &Path,
    id: &str,
    scenario: &Value,
) -> Result<Ran, String> {
    let yaml = serde_saphyr::to_string(scenario).map_err(|e| format!("cannot write YAML: {e}"))?;
    let path = dir.join(format!("{}.yaml", id.replace('/', "_")));
    std::fs::write(&path, &yaml).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let loaded = fake_claude::scenario::load_file(&path)
        .map_err(|e| format!("generated scenario does not load: {}\n{yaml}", e.message))?;
    let case = Case {
        id: id.to_string(),
        path: path.clone(),
        loaded,
    };
    let (cell, run) = suite::execute(ctx, sup, &case, RunOptions::default());
    if std::env::var_os("HARNESS_FUZZ_TRACE").is_some() {
        eprintln!("{id}: {} ms, {}", cell.duration_ms, cell.outcome.label());
    }
    let _ = std::fs::remove_file(&path);
    Ok(Ran { cell, run })
}

fn violations(cell: &Cell) -> Option<String> {
    if cell.outcome == Outcome::Pass || cell.outcome == Outcome::Skipped {
        return None;
    }
    let mut s = String::new();
    for v in &cell.violations {
        let _ = writeln!(s, "  {}: {}", v.id, v.message);
    }
    if let Some(d) = &cell.dir {
        let _ = writeln!(s, "  (run dir kept: {})", d.display());
    }
    Some(s)
}

/// The supervisor's report, normalized: per turn the status, the output and whether an error
/// was given (its text may quote stderr, which noise changes), then the end status and how the
/// CLI and the adapter ended. Surfaced messages are left out: padding adds some on purpose.
pub fn normalized_report(run: &RunArtifacts) -> String {
    let mut r = Redactor::new(run);
    let mut out = String::new();
    for t in &run.report.turns {
        let _ = write!(out, "turn {}: {}", t.index, t.status);
        if let Some(o) = &t.output {
            let _ = write!(out, " output {}", r.text(o));
        }
        if t.error.is_some() {
            out.push_str(" with an error");
        }
        if let Some(n) = t.needs_input {
            let _ = write!(out, " needs_input {n}");
        }
        out.push('\n');
    }
    match &run.report.end {
        Some(e) => {
            let _ = writeln!(
                out,
                "end {} (cli exit {:?}, signal {:?})",
                e.status, e.cli_exit_code, e.cli_signal
            );
        }
        None => out.push_str("no end line\n"),
    }
    let exit = match &run.adapter_exit {
        AdapterExit::Code(c) => format!("exit {c}"),
        AdapterExit::Signal(s) => format!("signal {s}"),
        AdapterExit::Deadline => "deadline".into(),
        AdapterExit::SpawnFailed(_) => "not started".into(),
    };
    let _ = writeln!(out, "adapter {exit}");
    out
}

/// The reported turns as expectations (`{status, output}`), for a saved metamorphic regression.
fn reported_turns(run: &RunArtifacts) -> Vec<Value> {
    run.report
        .turns
        .iter()
        .map(|t| {
            let mut e = serde_json::json!({ "status": t.status });
            if t.status == "completed"
                && let Some(o) = &t.output
            {
                e["output"] = Value::String(o.clone());
            }
            e
        })
        .collect()
}

/// Check every property on one case: the original scenario, then `transform` of it. `all`:
/// keep going after the first failure (for `--mutants`, which reports every property that
/// found the switch); else stop at the first.
pub fn check(
    ctx: &Context,
    sup: &Supervisor,
    dir: &Path,
    id: &str,
    scenario: &Value,
    transform: &Transform,
    all: bool,
) -> Result<Vec<Failure>, String> {
    let mut out = Vec::new();
    let base = execute(ctx, sup, dir, id, scenario)?;
    if let Some(v) = violations(&base.cell) {
        out.push(Failure {
            property: "invariants",
            message: format!("the verdict fails:\n{v}"),
            scenario: scenario.clone(),
            expected_turns: None,
        });
        if !all {
            return Ok(out);
        }
    }
    let variant = transform.apply(scenario);
    let other = execute(
        ctx,
        sup,
        dir,
        &format!("{id}-{}", transform.property()),
        &variant,
    )?;
    let (Some(a), Some(b)) = (&base.run, &other.run) else {
        return Ok(out);
    };
    let (ra, rb) = (normalized_report(a), normalized_report(b));
    let mut problems = String::new();
    if let Some(v) = violations(&other.cell) {
        let _ = write!(problems, "the transformed scenario's verdict fails:\n{v}");
    }
    if ra != rb {
        let _ = write!(
            problems,
            "the normalized report changed:\n--- original\n{ra}--- transformed\n{rb}"
        );
    }
    if !problems.is_empty() {
        out.push(Failure {
            property: transform.property(),
            message: problems,
            scenario: variant,
            expected_turns: (base.cell.outcome == Outcome::Pass).then(|| reported_turns(a)),
        });
    }
    Ok(out)
}
