//! Generated cases per second against the reference supervisor (`cargo bench -p harness --bench
//! fuzz_rate`). Prints the fuzz rate and, as the baseline measured in the same run, how many
//! plain library-scenario runs per second the same machine manages (`framing/several-per-write`
//! on `jobs` threads), with the ratio. The target is >= 50 cases/s on 2 cores.
//!
//! `FUZZ_RATE_CASES` (default 400) and `FUZZ_RATE_JOBS` (default: `fuzz::default_jobs()`, 4 per core) tune it.

use std::path::PathBuf;
use std::time::Instant;

use harness::fuzz::{self, Options};
use harness::suite::{self, RunOptions};
use harness::supervisor::{self, Context};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let ctx = Context {
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace")
            .to_path_buf(),
        harness_bin: PathBuf::from(env!("CARGO_BIN_EXE_harness")),
    };
    let cases = env("FUZZ_RATE_CASES", 400);
    let jobs = env("FUZZ_RATE_JOBS", fuzz::default_jobs());
    let sup = supervisor::resolve("reference", &ctx).expect("the reference");

    // Baseline: a small library scenario, run as many times as the fuzz runs scenarios.
    let files = suite::discover_files(&ctx, &[PathBuf::from("framing/several-per-write")])
        .expect("baseline scenario");
    let case = suite::load_cases(files).expect("loads").remove(0);
    let runs = cases * 2;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < runs {
                    let (cell, _) = suite::execute(&ctx, &sup, &case, RunOptions::default());
                    assert!(cell.outcome.ok(), "baseline run failed: {cell:?}");
                }
            });
        }
    });
    let base_rate = runs as f64 / t.elapsed().as_secs_f64();

    let mut opts = Options::new(42, jobs);
    opts.cases = cases as u32;
    let r = fuzz::run(&ctx, &sup, &opts).expect("fuzz run");
    assert_eq!(r.exit_code(), 0, "{}", fuzz::render(&r));
    let run_rate = r.runs as f64 / r.elapsed.as_secs_f64();
    println!("baseline: {base_rate:.1} library-scenario runs/s ({runs} runs, {jobs} worker(s))");
    println!(
        "fuzz: {:.1} generated cases/s ({} cases, {} runs, {:.1} runs/s, {jobs} worker(s)); \
         runs/s ratio to baseline {:.2}",
        r.cases_per_second(),
        r.cases,
        r.runs,
        run_rate,
        run_rate / base_rate
    );
    println!(
        "target >= 50 cases/s: {}",
        if r.cases_per_second() >= 50.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
