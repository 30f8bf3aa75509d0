//! `harness show <run-dir>`: a run as a sequence diagram — Mermaid text (`sequence.mmd`) and a
//! self-contained HTML page with an inline SVG (`sequence.html`, no network assets) — with every
//! violated invariant marked at the messages it concerns.
//!
//! A kept run directory holds what the diagram needs: `transcript.jsonl`, `report.jsonl`,
//! `plan.json` and `verdict.json` (written by the suite when it keeps a run: the cell's outcome,
//! violations with the transcript records they name, the adapter's exit and timings). The suite
//! renders both views into every run directory it keeps, so reports can link to them.

pub mod html;
pub mod mermaid;
pub mod model;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::artifacts::{AdapterExit, Leftover, Report, RunArtifacts};
use crate::suite::Cell;
use crate::verdict::Violation;
use fake_claude::transcript::Record;

/// `verdict.json`: the judgement of a kept run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictFile {
    pub scenario: String,
    pub supervisor: String,
    #[serde(default)]
    pub policy: Option<String>,
    /// `pass`, `fail`, `known_failure`, `unexpected_pass`, `skipped`.
    pub outcome: String,
    pub violations: Vec<Violation>,
    #[serde(default)]
    pub waived: Vec<(String, String)>,
    /// The known-failure reason, when the scenario is listed as one.
    #[serde(default)]
    pub known: Option<String>,
    pub adapter_exit: AdapterExit,
    pub duration_ms: u64,
    pub teardown_ms: u64,
    #[serde(default)]
    pub leftovers: Vec<Leftover>,
}

impl VerdictFile {
    pub fn of(cell: &Cell, run: &RunArtifacts) -> VerdictFile {
        VerdictFile {
            scenario: cell.scenario.clone(),
            supervisor: cell.supervisor.clone(),
            policy: run.policy.clone(),
            outcome: serde_json::to_value(cell.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            violations: cell.violations.clone(),
            waived: cell.waived.clone(),
            known: cell.known.as_ref().map(|k| k.reason.clone()),
            adapter_exit: run.adapter_exit.clone(),
            duration_ms: run.duration.as_millis() as u64,
            teardown_ms: run.teardown.as_millis() as u64,
            leftovers: run.leftovers.clone(),
        }
    }
}

/// What a run directory says, read back.
#[derive(Debug, Clone)]
pub struct RunView {
    pub dir: PathBuf,
    pub scenario: String,
    pub supervisor: String,
    pub transcript: Vec<Record>,
    pub report: Report,
    pub verdict: Option<VerdictFile>,
}

impl RunView {
    /// Reads `dir`. A missing transcript or report is empty (the CLI never ran, the adapter
    /// wrote nothing); a missing `verdict.json` leaves the violations unknown.
    pub fn load(dir: &Path) -> Result<RunView, String> {
        if !dir.is_dir() {
            return Err(format!("{} is not a run directory", dir.display()));
        }
        let transcript = crate::runner::read_transcript(&dir.join("transcript.jsonl"));
        let plan: Option<serde_json::Value> = std::fs::read(dir.join("plan.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let turns = plan
            .as_ref()
            .and_then(|p| p["turns"].as_array().map(Vec::len));
        let report_bytes = std::fs::read(dir.join("report.jsonl")).unwrap_or_default();
        let report = crate::report::parse(&report_bytes, false, turns);
        let verdict = match std::fs::read(dir.join("verdict.json")) {
            Ok(b) => Some(
                serde_json::from_slice::<VerdictFile>(&b)
                    .map_err(|e| format!("{}: {e}", dir.join("verdict.json").display()))?,
            ),
            Err(_) => None,
        };
        if transcript.is_empty() && report_bytes.is_empty() && verdict.is_none() {
            return Err(format!(
                "{} has no transcript.jsonl, report.jsonl or verdict.json: not a run directory",
                dir.display()
            ));
        }
        let scenario = verdict
            .as_ref()
            .map(|v| v.scenario.clone())
            .or_else(|| {
                plan.as_ref()
                    .and_then(|p| p["scenario"].as_str().map(str::to_string))
            })
            .unwrap_or_else(|| "?".into());
        let supervisor = verdict
            .as_ref()
            .map(|v| v.supervisor.clone())
            .unwrap_or_else(|| "supervisor".into());
        Ok(RunView {
            dir: dir.to_path_buf(),
            scenario,
            supervisor,
            transcript,
            report,
            verdict,
        })
    }

    /// One-line facts for the header.
    pub fn facts(&self) -> Vec<String> {
        let Some(v) = &self.verdict else {
            return vec!["no verdict.json: violations are not shown".into()];
        };
        let exit = match &v.adapter_exit {
            AdapterExit::Code(c) => format!("exited {c}"),
            AdapterExit::Signal(s) => format!("killed by signal {s}"),
            AdapterExit::Deadline => "killed at the run deadline".into(),
            AdapterExit::SpawnFailed(e) => format!("could not start: {e}"),
        };
        let mut f = vec![
            format!(
                "outcome: {} — {} violation(s)",
                v.outcome,
                v.violations.len()
            ),
            format!(
                "adapter {exit} after {:.2} s; teardown {:.2} s{}",
                v.duration_ms as f64 / 1000.0,
                v.teardown_ms as f64 / 1000.0,
                v.policy
                    .as_deref()
                    .map(|p| format!("; policy {p}"))
                    .unwrap_or_default()
            ),
        ];
        if let Some(k) = &v.known {
            f.push(format!("listed as a known failure: {k}"));
        }
        for (id, why) in &v.waived {
            f.push(format!("waived: {id} ({why})"));
        }
        for l in &v.leftovers {
            f.push(format!(
                "leftover process (killed): pid {} {}",
                l.pid, l.command
            ));
        }
        f
    }
}

pub const MERMAID_FILE: &str = "sequence.mmd";
pub const HTML_FILE: &str = "sequence.html";

/// Both views of the run in `dir`, written into it; returns their paths.
pub fn render_into(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let view = RunView::load(dir)?;
    let d = model::build(&view);
    let (m, h) = (dir.join(MERMAID_FILE), dir.join(HTML_FILE));
    let write = |p: &Path, text: String| {
        std::fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    write(&m, mermaid::render(&d))?;
    write(&h, html::render(&d))?;
    Ok((m, h))
}

/// For a run the suite keeps: `verdict.json`, then both views.
pub fn keep(cell: &Cell, run: &RunArtifacts) -> Result<(), String> {
    let v = VerdictFile::of(cell, run);
    let p = run.dir.join("verdict.json");
    let bytes = serde_json::to_vec_pretty(&v).map_err(|e| e.to_string())?;
    std::fs::write(&p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    render_into(&run.dir).map(|_| ())
}
