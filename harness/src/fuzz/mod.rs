//! Property-based conformance (`harness fuzz`): generated conversations ([`strategies`]) run as
//! ordinary scenarios against a supervisor and checked against [`properties`] — the built-in
//! invariants and metamorphic relations ([`transform`]). proptest drives generation and
//! shrinking; the shrunk counterexample is saved as a scenario under `scenarios/regressions/`
//! ([`regressions`]) and proptest's own failure seeds are kept in its regression file.
//!
//! Cases run on `jobs` worker threads, each a proptest runner with its own seed derived from the
//! run's seed, so a run is reproducible from `--seed` (up to which worker finds what first).
//! `--mutants` runs the reference's bug switches through the same loop ([`mutants`]).

pub mod mutants;
pub mod properties;
pub mod regressions;
pub mod strategies;
pub mod transform;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use serde_json::Value;

use crate::setup;
use crate::supervisor::{Context, Supervisor};
use properties::Failure;
use strategies::{Caps, Mix};

/// Cases per run when neither `--cases` nor `PROPTEST_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 64;

#[derive(Debug, Clone)]
pub struct Options {
    pub cases: u32,
    pub seed: u64,
    pub jobs: usize,
    pub mix: Mix,
    /// Shrink a failure (off for `--mutants`, which only needs to know a switch is found).
    pub shrink: bool,
    /// At most this many shrink steps (each runs the case again).
    pub shrink_iters: u32,
    /// Check every property on a failing case rather than stopping at the first.
    pub all_properties: bool,
    /// Where shrunk counterexamples are saved (`None`: not saved).
    pub regressions: Option<PathBuf>,
    /// proptest's failure-seed file (`None`: not kept).
    pub persistence: Option<PathBuf>,
    /// Only a failure the clean `confirm` supervisor does not share counts (mutants).
    pub confirm: Option<Supervisor>,
}

impl Options {
    /// Cases from `PROPTEST_CASES`, else [`DEFAULT_CASES`].
    pub fn default_cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_CASES)
    }

    pub fn new(seed: u64, jobs: usize) -> Options {
        Options {
            cases: Options::default_cases(),
            seed,
            jobs,
            mix: Mix::Fast,
            shrink: true,
            shrink_iters: 512,
            all_properties: false,
            regressions: None,
            persistence: None,
            confirm: None,
        }
    }
}

/// A property that failed, after shrinking.
#[derive(Debug, Clone)]
pub struct Finding {
    pub failures: Vec<Failure>,
    /// The shrunk conversation (Debug form), for the report.
    pub conversation: String,
    pub worker: usize,
    pub saved: Option<PathBuf>,
}

impl Finding {
    pub fn properties(&self) -> Vec<&'static str> {
        self.failures.iter().map(|f| f.property).collect()
    }
}

#[derive(Debug, Clone)]
pub struct FuzzResult {
    pub supervisor: String,
    pub seed: u64,
    /// Cases generated and checked (shrink steps not counted).
    pub cases: u64,
    /// Scenario runs, shrinking included.
    pub runs: u64,
    pub elapsed: Duration,
    pub finding: Option<Finding>,
    /// Harness-side trouble (a generated scenario that does not load, ...): exit 3.
    pub internal: Option<String>,
}

impl FuzzResult {
    pub fn cases_per_second(&self) -> f64 {
        self.cases as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn exit_code(&self) -> i32 {
        if self.internal.is_some() {
            3
        } else if self.finding.is_some() {
            1
        } else {
            0
        }
    }
}

/// Worker threads by default: 4 per core. A run spends most of its time waiting on process
/// start-up and teardown, not computing, so more workers than cores raise the case rate.
pub fn default_jobs() -> usize {
    crate::suite::default_jobs() * 4
}

/// The seed of worker `w`'s proptest runner.
fn rng(seed: u64, w: usize) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&(w as u64).to_le_bytes());
    bytes[16..24].copy_from_slice(b"harness!");
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Fuzz `sup`: `opts.cases` generated cases, stopping at the first failing property.
pub fn run(ctx: &Context, sup: &Supervisor, opts: &Options) -> Result<FuzzResult, String> {
    setup::ensure(sup, ctx)?;
    if let Some(c) = &opts.confirm {
        setup::ensure(c, ctx)?;
    }
    let caps = Caps::of(sup);
    let dir = tempfile::Builder::new()
        .prefix("harness-fuzz-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let jobs = opts.jobs.max(1).min(opts.cases.max(1) as usize);
    let stop = AtomicBool::new(false);
    let cases = AtomicU64::new(0);
    let runs = AtomicU64::new(0);
    let found: Mutex<Option<Finding>> = Mutex::new(None);
    let internal: Mutex<Option<String>> = Mutex::new(None);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..jobs {
            let share = opts.cases / jobs as u32 + u32::from((w as u32) < opts.cases % jobs as u32);
            let (stop, cases, runs, found, internal, dir) =
                (&stop, &cases, &runs, &found, &internal, dir.path());
            scope.spawn(move || {
                let persistence = opts.persistence.as_ref().filter(|_| w == 0).map(|p| {
                    let leaked: &'static str = Box::leak(p.display().to_string().into_boxed_str());
                    Box::new(FileFailurePersistence::Direct(leaked))
                        as Box<dyn proptest::test_runner::FailurePersistence>
                });
                let config = Config {
                    cases: share,
                    max_shrink_iters: if opts.shrink { opts.shrink_iters } else { 0 },
                    max_shrink_time: 60_000,
                    failure_persistence: persistence,
                    max_global_rejects: u32::MAX,
                    ..Config::default()
                };
                let mut runner = TestRunner::new_with_rng(config, rng(opts.seed, w));
                let strategy = (
                    strategies::conversation(caps, opts.mix),
                    transform::transform(),
                );
                // Once this worker has failed it is shrinking: the stop flag no longer applies.
                let failed_once = std::cell::Cell::new(false);
                // proptest reports the value of the last failing call: its failures, kept here,
                // are the finding (no re-run, which a timing-dependent failure might not repeat).
                let last: std::cell::RefCell<Vec<Failure>> = std::cell::RefCell::new(Vec::new());
                let n = std::cell::Cell::new(0u64);
                let result = runner.run(&strategy, |(conv, tr)| {
                    if stop.load(Ordering::Relaxed) && !failed_once.get() {
                        return Ok(());
                    }
                    if !failed_once.get() {
                        cases.fetch_add(1, Ordering::Relaxed);
                    }
                    n.set(n.get() + 1);
                    let id = format!("fuzz/{w}-{}", n.get());
                    runs.fetch_add(2, Ordering::Relaxed);
                    match check(ctx, sup, opts, dir, &id, &conv.scenario(&id), &tr) {
                        Ok(f) if f.is_empty() => Ok(()),
                        Ok(f) => {
                            failed_once.set(true);
                            Err(TestCaseError::fail(format!(
                                "{}: {}",
                                f[0].property, f[0].message
                            )))
                        }
                        Err(e) => {
                            internal
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(e);
                            stop.store(true, Ordering::Relaxed);
                            Ok(())
                        }
                    }
                });
                if let Err(TestError::Fail(reason, (conv, tr))) = result {
                    stop.store(true, Ordering::Relaxed);
                    let mut failures = last.take();
                    if failures.is_empty() {
                        // proptest's reason is all there is (e.g. the case panicked).
                        let property = properties::PROPERTIES
                            .iter()
                            .map(|(id, _)| *id)
                            .find(|id| reason.message().starts_with(&format!("{id}:")))
                            .unwrap_or("invariants");
                        failures.push(Failure {
                            property,
                            message: reason.message().to_string(),
                            scenario: conv.scenario(&format!("fuzz/{w}-min")),
                            expected_turns: None,
                        });
                    }
                    let mut g = found.lock().unwrap_or_else(|e| e.into_inner());
                    if g.is_none() {
                        *g = Some(Finding {
                            failures,
                            conversation: format!("{conv:#?}\n{tr:#?}"),
                            worker: w,
                            saved: None,
                        });
                    }
                }
            });
        }
    });
    let mut finding = found.into_inner().unwrap_or_else(|e| e.into_inner());
    if let (Some(f), Some(dir)) = (&mut finding, &opts.regressions)
        && let Some(first) = f.failures.first()
    {
        let how = format!("--supervisor {} --seed {}", sup.name, opts.seed);
        let s = regressions::scenario(first, &sup.name, opts.seed, &how);
        f.saved = Some(regressions::write(dir, &s)?);
    }
    Ok(FuzzResult {
        supervisor: sup.name.clone(),
        seed: opts.seed,
        cases: cases.into_inner(),
        runs: runs.into_inner(),
        elapsed: start.elapsed(),
        finding,
        internal: internal.into_inner().unwrap_or_else(|e| e.into_inner()),
    })
}

/// The properties on one case; with `opts.confirm`, a failure counts only if the clean
/// supervisor passes the same case.
fn check(
    ctx: &Context,
    sup: &Supervisor,
    opts: &Options,
    dir: &std::path::Path,
    id: &str,
    scenario: &Value,
    tr: &transform::Transform,
) -> Result<Vec<Failure>, String> {
    let f = properties::check(ctx, sup, dir, id, scenario, tr, opts.all_properties)?;
    if f.is_empty() {
        return Ok(f);
    }
    if let Some(clean) = &opts.confirm
        && !properties::check(ctx, clean, dir, &format!("{id}-clean"), scenario, tr, true)?
            .is_empty()
    {
        return Ok(Vec::new());
    }
    Ok(f)
}

/// The human-readable summary of one run.
pub fn render(r: &FuzzResult) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fuzz {}: {} case(s), {} run(s) in {:.1} s ({:.1} cases/s), seed {}",
        r.supervisor,
        r.cases,
        r.runs,
        r.elapsed.as_secs_f64(),
        r.cases_per_second(),
        r.seed
    );
    if let Some(e) = &r.internal {
        let _ = writeln!(out, "internal error: {e}");
    }
    match &r.finding {
        None => {
            let _ = writeln!(out, "every property held");
        }
        Some(f) => {
            for fail in &f.failures {
                let _ = writeln!(
                    out,
                    "property {} FAILED:\n{}",
                    fail.property,
                    fail.message.trim_end()
                );
            }
            let _ = writeln!(
                out,
                "shrunk case (worker {}):\n{}",
                f.worker, f.conversation
            );
            if let Some(p) = &f.saved {
                let _ = writeln!(out, "saved as {}", p.display());
            }
        }
    }
    out
}
