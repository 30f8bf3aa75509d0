//! harness: runs supervisors of the Claude Code CLI against fake-claude scenarios and judges them.
//!
//! Data flow of one run: `supervisor` (definition, setup, wrapper) → `plan` (the drive plan from
//! the scenario) → `runner` (temp dir, process group, deadline, teardown, orphan scan) →
//! `artifacts` (report + transcript + timings) → `judge` (= `expect` + `invariants`) → `verdict`
//! → `normalize`/`snapshot` and `suite` + `reporters`; `show` draws a kept run as a sequence
//! diagram. `mutants` proves the suite catches the reference supervisor's bug switches; `fuzz`
//! generates scenarios and checks properties on them, shrinking failures into regression
//! scenarios.

pub mod artifacts;
pub mod expect;
pub mod fuzz;
pub mod import;
pub mod invariants;
pub mod judge;
pub mod known_failures;
pub mod lint;
pub mod mutants;
pub mod new;
pub mod normalize;
pub mod plan;
pub mod procs;
pub mod report;
pub mod reporters;
pub mod runner;
pub mod setup;
pub mod show;
pub mod snapshot;
pub mod stdout_lines;
pub mod suite;
pub mod supervisor;
pub mod verdict;
