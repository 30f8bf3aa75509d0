//! `harness fuzz` end to end: the clean reference holds every property at the default case
//! count (both policies; `PROPTEST_CASES` scales it), and a bug switch is found, shrunk and saved
//! as a scenario that loads and fails for the mutant as an ordinary scenario.

use std::path::PathBuf;

use harness::fuzz::{self, Options};
use harness::mutants::with_switch;
use harness::suite::{self, Case, Outcome, RunOptions};
use harness::supervisor::{self, Context};

fn ctx() -> Context {
    Context {
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf(),
        harness_bin: PathBuf::from(env!("CARGO_BIN_EXE_harness")),
    }
}

#[test]
fn the_clean_reference_holds_every_property() {
    let ctx = ctx();
    for sup in supervisor::defaults(&ctx).unwrap() {
        let mut opts = Options::new(20261203, fuzz::default_jobs());
        opts.persistence = Some(ctx.root.join("harness/proptest-regressions/fuzz.txt"));
        let r = fuzz::run(&ctx, &sup, &opts).unwrap();
        eprint!("{}", fuzz::render(&r));
        assert_eq!(r.exit_code(), 0, "{}", fuzz::render(&r));
        // Failure seeds kept in proptest's regression file are replayed first, on top.
        assert!(r.cases >= u64::from(opts.cases), "{} cases", r.cases);
    }
}

#[test]
fn a_bug_switch_is_found_shrunk_and_saved_as_a_failing_scenario() {
    let ctx = ctx();
    let base = supervisor::resolve("reference", &ctx).unwrap();
    let mutant = with_switch(&base, "strict-parsing");
    let out = tempfile::tempdir().unwrap();
    let mut opts = Options::new(7, fuzz::default_jobs());
    opts.cases = 200;
    opts.shrink_iters = 24;
    opts.regressions = Some(out.path().to_path_buf());
    let r = fuzz::run(&ctx, &mutant, &opts).unwrap();
    let f = r.finding.as_ref().expect("strict parsing is found");
    eprint!("{}", fuzz::render(&r));
    let saved = f.saved.clone().expect("the counterexample is saved");
    let name = saved.file_stem().unwrap().to_str().unwrap().to_string();
    assert!(name.ends_with("-reference-strict-parsing-7"), "{name}");
    let loaded = fake_claude::scenario::load_file(&saved).unwrap();
    let d = &loaded.scenario.description;
    assert!(
        d.contains("reference+strict-parsing") && d.contains("seed 7"),
        "{d}"
    );
    assert!(d.contains(f.failures[0].property), "{d}");
    let case = Case {
        id: format!("regressions/{name}"),
        path: saved,
        loaded,
    };
    let (bad, _) = suite::execute(&ctx, &mutant, &case, RunOptions::default());
    assert_eq!(bad.outcome, Outcome::Fail, "{bad:?}");
    let (good, _) = suite::execute(&ctx, &base, &case, RunOptions::default());
    assert_eq!(good.outcome, Outcome::Pass, "{good:?}");
}
