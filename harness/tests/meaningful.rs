//! Every library scenario must be able to fail (issue: "a scenario whose verdict cannot fail for
//! any supervisor is a defect"). A scenario either names the reference supervisor's bug switches
//! it catches (`caught_by`) — and each one is run here and must fail the verdict — or says in
//! `distinguishes` which real-world supervisor behaviour it tells apart.
//!
//! Trials: `<scenario>::caught_by::<switch>` per declared switch, `<scenario>::declared` for the
//! metadata itself. The base is the first embedded reference definition (`reference`,
//! `reference-background`, `reference-headless`, `reference-print`) that runs the scenario (claims
//! what it requires) in a style where the switch can exist: `reference-background` for
//! scenarios that require `background-aware`, a one-shot style for a one-shot style's own switch.

use std::path::PathBuf;
use std::sync::Arc;

use harness::mutants::{self, with_switch};
use harness::suite::{self, Case};
use harness::supervisor::{self, Context, Supervisor};
use harness::{judge, runner, setup};
use libtest_mimic::{Arguments, Failed, Trial};

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
    let trials = trials(&ctx).unwrap_or_else(|e| {
        vec![Trial::test("meaningful::setup", move || {
            Err(Failed::from(&e))
        })]
    });
    libtest_mimic::run(&args, trials).exit();
}

fn trials(ctx: &Arc<Context>) -> Result<Vec<Trial>, String> {
    let bases = supervisor::embedded(ctx).map_err(|e| e.to_string())?;
    let known: Vec<String> = mutants::switches().into_iter().map(|s| s.name).collect();
    let mut trials = Vec::new();
    for (id, path) in suite::discover_files(ctx, &[])? {
        let loaded = match fake_claude::scenario::load_file(&path) {
            Ok(loaded) => loaded,
            Err(e) => {
                let msg = e.message.clone();
                trials.push(Trial::test(format!("{id}::declared"), move || {
                    Err(Failed::from(msg))
                }));
                continue;
            }
        };
        let meta = loaded.scenario.clone();
        let (switches, distinguishes) = (meta.caught_by.clone(), meta.distinguishes.clone());
        let unknown: Vec<String> = switches
            .iter()
            .filter(|s| !known.contains(s))
            .cloned()
            .collect();
        let known_list = known.join(", ");
        trials.push(Trial::test(format!("{id}::declared"), move || {
            if !unknown.is_empty() {
                return Err(format!(
                    "caught_by names switches the reference does not have: {} (known: {known_list})",
                    unknown.join(", ")
                )
                .into());
            }
            if switches.is_empty() && distinguishes.as_deref().is_none_or(|d| d.trim().is_empty()) {
                return Err("the scenario names no bug switch it catches (`caught_by`) and does not \
                            say which real supervisor behaviour it distinguishes (`distinguishes`)"
                    .into());
            }
            Ok(())
        }));
        let case = Arc::new(Case {
            id: id.clone(),
            path,
            loaded,
        });
        for switch in &meta.caught_by {
            if !known.contains(switch) {
                continue;
            }
            let Some(base) = base_for(&bases, &case, switch) else {
                let (switch, id) = (switch.clone(), id.clone());
                trials.push(Trial::test(
                    format!("{id}::caught_by::{switch}"),
                    move || {
                        Err(format!(
                            "no embedded reference definition runs {id} in a style where \
                             {switch} can exist"
                        )
                        .into())
                    },
                ));
                continue;
            };
            let (ctx, case) = (Arc::clone(ctx), Arc::clone(&case));
            let (base, mutant) = (base.clone(), with_switch(base, switch));
            trials.push(Trial::test(
                format!("{id}::caught_by::{switch}"),
                move || caught(&ctx, &base, &mutant, &case),
            ));
        }
    }
    Ok(trials)
}

/// The first embedded definition that runs `case` and can have `switch`.
fn base_for<'a>(bases: &'a [Supervisor], case: &Case, switch: &str) -> Option<&'a Supervisor> {
    bases
        .iter()
        .find(|b| mutants::applies(switch, b) && suite::skip_reason(b, case).is_none())
}

/// The mutant must fail the scenario. (The clean base passing it is the conformance suite's job.)
fn caught(
    ctx: &Context,
    base: &Supervisor,
    mutant: &Supervisor,
    case: &Case,
) -> Result<(), Failed> {
    setup::ensure(base, ctx)?;
    let run = runner::run(ctx, mutant, case)?;
    let verdict = judge::judge(&run, &case.loaded);
    if verdict.passed() {
        return Err(format!(
            "{} passes {}, but the scenario says `caught_by` it: either the scenario lost its \
             teeth or the switch changed",
            mutant.name, case.id
        )
        .into());
    }
    Ok(())
}
