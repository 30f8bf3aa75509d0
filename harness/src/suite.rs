//! The suite: scenario discovery, one cell per (supervisor, scenario), run on a pool of worker
//! threads, judged, classified against the supervisor's known failures, and returned in a
//! deterministic order (by supervisor, then scenario id) whatever order the runs finished in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_claude::scenario::model::Capability;
use fake_claude::scenario::{self, Loaded};
use serde::Serialize;

use crate::artifacts::{AdapterExit, RunArtifacts};
use crate::known_failures::KnownFailure;
use crate::supervisor::{Context, Supervisor};
use crate::verdict::{Verdict, Violation};
use crate::{judge, runner, setup};

/// A scenario ready to run: its id (path under `scenarios/` without `.yaml`), file and model.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub path: PathBuf,
    pub loaded: Loaded,
}

/// The scenario files named by `paths` (files or directories, searched recursively), or every
/// scenario under `<root>/scenarios` when there are none. Sorted by id, duplicates dropped.
pub fn discover_files(ctx: &Context, paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>, String> {
    let scenarios = ctx.scenarios_dir();
    let base = std::fs::canonicalize(&scenarios).unwrap_or(scenarios.clone());
    let roots: Vec<PathBuf> = if paths.is_empty() {
        if !scenarios.is_dir() {
            return Err(format!(
                "no scenarios directory at {} (set HARNESS_ROOT or give scenario paths)",
                scenarios.display()
            ));
        }
        vec![scenarios]
    } else {
        paths.to_vec()
    };
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    for root in roots {
        let root = resolve_scenario_path(ctx, &root)?;
        let mut files = Vec::new();
        if root.is_dir() {
            yaml_files(&root, &mut files);
        } else {
            files.push(root.clone());
        }
        for f in files {
            let id = scenario_id(&base, &root, &f);
            found.entry(id).or_insert(f);
        }
    }
    Ok(found.into_iter().collect())
}

/// A path as given, else an id under `scenarios/` (`seed/startup-burst`).
pub fn resolve_scenario_path(ctx: &Context, spec: &Path) -> Result<PathBuf, String> {
    if spec.exists() {
        return Ok(spec.to_path_buf());
    }
    let dir = ctx.scenarios_dir();
    for candidate in [dir.join(spec), dir.join(format!("{}.yaml", spec.display()))] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "no scenario `{}` (neither a path nor an id under {})",
        spec.display(),
        dir.display()
    ))
}

/// Every `.yaml`/`.yml` file below `dir`, sorted, depth first.
pub fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

/// Relative to `scenarios/` when inside it; else relative to the parent of the directory given
/// (`mine/foo` for `mine/foo.yaml` found under `./mine`), or the file stem.
fn scenario_id(base: &Path, root: &Path, file: &Path) -> String {
    let canon = std::fs::canonicalize(file).unwrap_or(file.to_path_buf());
    let rel = canon
        .strip_prefix(base)
        .ok()
        .map(Path::to_path_buf)
        .or_else(|| {
            let root = std::fs::canonicalize(root).ok()?;
            if root.is_dir() {
                let parent = root.parent().unwrap_or(&root);
                canon.strip_prefix(parent).ok().map(Path::to_path_buf)
            } else {
                None
            }
        });
    let rel = rel.unwrap_or_else(|| PathBuf::from(file.file_name().unwrap_or_default()));
    let s = rel.with_extension("").to_string_lossy().replace('\\', "/");
    s.trim_start_matches("./").to_string()
}

/// Load every file; all errors are collected, not just the first.
pub fn load_cases(files: Vec<(String, PathBuf)>) -> Result<Vec<Case>, Vec<String>> {
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (id, path) in files {
        match scenario::load_file(&path) {
            Ok(loaded) => cases.push(Case { id, path, loaded }),
            Err(e) => errors.push(e.message),
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// Failed, and listed in the supervisor's known failures.
    KnownFailure,
    /// Passed, but listed as a known failure: the entry should go.
    UnexpectedPass,
    /// The scenario needs a capability the supervisor does not claim.
    Skipped,
}

impl Outcome {
    /// Whether this outcome keeps the suite green.
    pub fn ok(self) -> bool {
        !matches!(self, Outcome::Fail | Outcome::UnexpectedPass)
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::KnownFailure => "known",
            Outcome::UnexpectedPass => "UNEXPECTED PASS",
            Outcome::Skipped => "skipped",
        }
    }
}

/// The result of one (supervisor, scenario) cell.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub supervisor: String,
    pub scenario: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<KnownFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// The run directory, when it was kept (failures, or `--keep`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter_exit: Option<AdapterExit>,
    pub duration_ms: u64,
    /// A harness-side error (not the supervisor's fault): exit code 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_error: Option<String>,
    /// A hash of the normalized run (what the snapshot holds), so repeated runs can be compared
    /// beyond their verdicts (`bench/stress`). Comparable only between runs of the same build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_digest: Option<String>,
}

impl Cell {
    fn new(sup: &Supervisor, case: &Case, outcome: Outcome) -> Cell {
        Cell {
            supervisor: sup.name.clone(),
            scenario: case.id.clone(),
            outcome,
            violations: Vec::new(),
            waived: Vec::new(),
            known: sup.known_failure(&case.id).cloned(),
            skip_reason: None,
            dir: None,
            adapter_exit: None,
            duration_ms: 0,
            internal_error: None,
            run_digest: None,
        }
    }

    /// Distinct violated ids, in order of first appearance.
    pub fn violated_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for v in &self.violations {
            if !ids.contains(&v.id.as_str()) {
                ids.push(&v.id);
            }
        }
        ids
    }
}

/// Why `sup` cannot run `case`, if it cannot.
pub fn skip_reason(sup: &Supervisor, case: &Case) -> Option<String> {
    let tools = sup.missing_tools();
    if !tools.is_empty() {
        return Some(format!("{} needs {} on PATH", sup.name, tools.join(", ")));
    }
    let mut requires = case.loaded.scenario.requires.clone();
    // A drive that states an idle timeout needs a supervisor that keeps one.
    if case.loaded.scenario.drive.idle_timeout.is_some()
        && !requires.contains(&Capability::IdleTimeout)
    {
        requires.push(Capability::IdleTimeout);
    }
    // ... and one that resumes, a supervisor that can.
    if case.loaded.scenario.drive.turns.iter().any(|t| t.resume)
        && !requires.contains(&Capability::Resume)
    {
        requires.push(Capability::Resume);
    }
    let missing = sup.missing(&requires);
    (!missing.is_empty()).then(|| {
        format!(
            "needs {} (not among {}'s capabilities)",
            missing.join(", "),
            sup.name
        )
    })
}

/// Options for running cells.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Keep every run directory, not only failures.
    pub keep: bool,
}

/// Run and judge one cell, assuming the supervisor's setup succeeded. Returns the artifacts
/// too, for callers that show more than the cell (`harness run`).
pub fn execute(
    ctx: &Context,
    sup: &Supervisor,
    case: &Case,
    opts: RunOptions,
) -> (Cell, Option<RunArtifacts>) {
    if let Some(reason) = skip_reason(sup, case) {
        let mut cell = Cell::new(sup, case, Outcome::Skipped);
        cell.skip_reason = Some(reason);
        return (cell, None);
    }
    let start = Instant::now();
    let run = match runner::run(ctx, sup, case) {
        Ok(r) => r,
        Err(e) => {
            let mut cell = Cell::new(sup, case, Outcome::Fail);
            cell.internal_error = Some(e.clone());
            cell.violations.push(violation("harness.internal", e));
            return (cell, None);
        }
    };
    let verdict = judge::judge(&run, &case.loaded);
    let mut cell = classify(sup, case, &verdict);
    cell.duration_ms = millis(start.elapsed());
    cell.adapter_exit = Some(run.adapter_exit.clone());
    cell.run_digest = Some(digest(&crate::normalize::normalized_run(&run, &verdict)));
    if opts.keep
        || cell.outcome == Outcome::Fail
        || std::env::var_os("HARNESS_KEEP").is_some_and(|v| v == "1")
    {
        cell.dir = Some(run.dir.clone());
        // The verdict and the sequence-diagram views, for `harness show` and report links.
        // Drawing must never cost the cell its verdict.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::show::keep(&cell, &run)
        })) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: {e}"),
            Err(_) => eprintln!("warning: drawing {} panicked", run.dir.display()),
        }
    } else {
        let _ = std::fs::remove_dir_all(&run.dir);
    }
    (cell, Some(run))
}

/// Pass / fail / known failure / unexpected pass, from the verdict and the known failures.
pub fn classify(sup: &Supervisor, case: &Case, verdict: &Verdict) -> Cell {
    let known = sup.known_failure(&case.id).is_some();
    let outcome = match (verdict.passed(), known) {
        (true, false) => Outcome::Pass,
        (true, true) => Outcome::UnexpectedPass,
        (false, true) => Outcome::KnownFailure,
        (false, false) => Outcome::Fail,
    };
    let mut cell = Cell::new(sup, case, outcome);
    cell.violations = verdict.violations.clone();
    cell.waived = verdict.waived.clone();
    cell
}

/// SipHash with fixed keys: stable within one build, which is all a repeat comparison needs.
fn digest(text: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn violation(id: &str, message: String) -> Violation {
    Violation {
        id: id.to_string(),
        message,
        records: Vec::new(),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A supervisor as listed in a suite result.
#[derive(Debug, Clone, Serialize)]
pub struct SupervisorInfo {
    pub name: String,
    pub description: String,
    pub policy: Option<String>,
    pub capabilities: Vec<&'static str>,
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub known_failures: usize,
    pub unexpected_passes: usize,
    pub skipped: usize,
}

/// The whole matrix.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteResult {
    pub supervisors: Vec<SupervisorInfo>,
    pub scenarios: Vec<String>,
    pub cells: Vec<Cell>,
    pub summary: Summary,
}

impl SuiteResult {
    pub fn new(sups: &[Supervisor], cases: &[Case], mut cells: Vec<Cell>) -> SuiteResult {
        cells.sort_by(|a, b| (&a.supervisor, &a.scenario).cmp(&(&b.supervisor, &b.scenario)));
        let mut summary = Summary::default();
        for c in &cells {
            match c.outcome {
                Outcome::Pass => summary.passed += 1,
                Outcome::Fail => summary.failed += 1,
                Outcome::KnownFailure => summary.known_failures += 1,
                Outcome::UnexpectedPass => summary.unexpected_passes += 1,
                Outcome::Skipped => summary.skipped += 1,
            }
        }
        let mut supervisors: Vec<SupervisorInfo> = sups
            .iter()
            .map(|s| SupervisorInfo {
                name: s.name.clone(),
                description: s.description.clone(),
                policy: s.policy.clone(),
                capabilities: s.capabilities.iter().map(|c| c.name()).collect(),
                source: s.source.clone(),
            })
            .collect();
        supervisors.sort_by(|a, b| a.name.cmp(&b.name));
        SuiteResult {
            supervisors,
            scenarios: cases.iter().map(|c| c.id.clone()).collect(),
            cells,
            summary,
        }
    }

    pub fn cell(&self, supervisor: &str, scenario: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.supervisor == supervisor && c.scenario == scenario)
    }

    /// 0 all green (known failures allowed), 1 failures or unexpected passes, 3 internal error.
    pub fn exit_code(&self) -> i32 {
        if self.cells.iter().any(|c| c.internal_error.is_some()) {
            3
        } else if self.cells.iter().all(|c| c.outcome.ok()) {
            0
        } else {
            1
        }
    }
}

/// Run every (supervisor, scenario) cell on `jobs` worker threads. Setup steps run first, once
/// per supervisor; a failed setup fails that supervisor's cells. `progress` is called on the
/// calling thread as cells finish (done, total, cell).
pub fn run_all(
    ctx: &Context,
    sups: &[Supervisor],
    cases: &[Case],
    jobs: usize,
    opts: RunOptions,
    progress: &mut dyn FnMut(usize, usize, &Cell),
) -> SuiteResult {
    let setups: Vec<Result<(), String>> = sups
        .iter()
        .map(|s| {
            let needed = cases.iter().any(|c| skip_reason(s, c).is_none());
            if needed {
                setup::ensure(s, ctx)
            } else {
                Ok(())
            }
        })
        .collect();
    let work: Vec<(usize, usize)> = (0..sups.len())
        .flat_map(|s| (0..cases.len()).map(move |c| (s, c)))
        .collect();
    let total = work.len();
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Cell>();
    let mut cells = Vec::with_capacity(total);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(total.max(1)) {
            let tx = tx.clone();
            let (next, work, setups) = (&next, &work, &setups);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(s, c)) = work.get(i) else { break };
                    let (sup, case) = (&sups[s], &cases[c]);
                    let cell = match &setups[s] {
                        Err(e) if skip_reason(sup, case).is_none() => {
                            let mut cell = Cell::new(sup, case, Outcome::Fail);
                            cell.violations
                                .push(violation("supervisor.setup", e.clone()));
                            cell
                        }
                        _ => execute(ctx, sup, case, opts).0,
                    };
                    if tx.send(cell).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for cell in rx {
            cells.push(cell);
            progress(cells.len(), total, cells.last().expect("just pushed"));
        }
    });
    SuiteResult::new(sups, cases, cells)
}

/// Worker threads: `--jobs`, else the number of cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_relative_to_scenarios_or_the_given_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("scenarios");
        std::fs::create_dir_all(base.join("seed")).unwrap();
        std::fs::create_dir_all(tmp.path().join("mine/deep")).unwrap();
        for f in ["scenarios/seed/a.yaml", "mine/deep/b.yml", "c.yaml"] {
            std::fs::write(tmp.path().join(f), "").unwrap();
        }
        let ctx = Context {
            root: tmp.path().to_path_buf(),
            harness_bin: "/h".into(),
        };
        let all = discover_files(&ctx, &[]).unwrap();
        assert_eq!(
            all.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(),
            ["seed/a"]
        );
        let some = discover_files(
            &ctx,
            &[
                tmp.path().join("mine"),
                tmp.path().join("c.yaml"),
                PathBuf::from("seed/a"),
                tmp.path().join("scenarios/seed/a.yaml"),
            ],
        )
        .unwrap();
        let ids: Vec<&str> = some.iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(ids, ["c", "mine/deep/b", "seed/a"]);
        assert!(discover_files(&ctx, &[PathBuf::from("nope/x")]).is_err());
    }

    #[test]
    fn known_failures_turn_fails_into_known_and_passes_into_unexpected() {
        let yaml = "name: s\ncommand: [x]\ncapabilities: [one-shot]\n";
        let mut sup = crate::supervisor::load_str(yaml, "s.yaml", Path::new("/"), None).unwrap();
        sup.known_failures.push(KnownFailure {
            scenario: "k".into(),
            reason: "r".into(),
            issue: None,
        });
        let case = |id: &str, requires: &str| Case {
            id: id.into(),
            path: PathBuf::from("/x.yaml"),
            loaded: scenario::load_str(
                &format!("name: n\nrequires: [{requires}]\nscript: []\n"),
                "x.yaml",
            )
            .unwrap(),
        };
        let pass = Verdict {
            violations: vec![],
            waived: vec![],
        };
        let fail = Verdict {
            violations: vec![violation("control-accounting", "m".into())],
            waived: vec![],
        };
        let outcome = |id: &str, v: &Verdict| classify(&sup, &case(id, ""), v).outcome;
        assert_eq!(outcome("a", &pass), Outcome::Pass);
        assert_eq!(outcome("a", &fail), Outcome::Fail);
        assert_eq!(outcome("k", &fail), Outcome::KnownFailure);
        assert_eq!(outcome("k", &pass), Outcome::UnexpectedPass);
        assert_eq!(skip_reason(&sup, &case("a", "one-shot")), None);
        let why = skip_reason(&sup, &case("a", "multi-turn, one-shot")).unwrap();
        assert!(why.contains("needs multi-turn"), "{why}");
    }

    #[test]
    fn outcomes_that_keep_the_suite_green() {
        assert!(Outcome::Pass.ok() && Outcome::KnownFailure.ok() && Outcome::Skipped.ok());
        assert!(!Outcome::Fail.ok() && !Outcome::UnexpectedPass.ok());
    }
}
