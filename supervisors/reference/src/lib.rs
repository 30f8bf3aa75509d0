//! The reference supervisor: a small, correct supervisor of the Claude Code CLI.
//!
//! It spawns the CLI in stream-json mode, drives it through a plan (prompts and actions), answers
//! every control request the CLI sends, attributes each `result` to the prompt it answers, and
//! prints a JSONL report on stdout. The adapter contract it implements is `docs/adapters.md`.
//!
//! Reading order: `session.rs` (the run, top to bottom) → `cli_process.rs` (spawn, reader threads,
//! teardown) → `turns.rs` (which result answers which prompt) → `control.rs` (answers to the CLI)
//! → `policy.rs` (background tasks). `bugs.rs` lists the switches that reintroduce known bugs
//! for the harness's mutation testing.

pub mod args;
pub mod bugs;
mod callbacks;
mod cli_process;
mod control;
mod ids;
mod plan;
mod policy;
mod report;
mod session;
mod turns;

/// Run the supervisor with these arguments (without argv[0]); returns the process exit code.
/// The `reference-supervisor` binary and the harness's embedded `harness reference-supervisor`
/// both come here.
pub fn main_with_args(args: Vec<String>) -> i32 {
    let options = match args::parse(args) {
        Ok(args::Command::Run(options)) => options,
        Ok(args::Command::Help) => {
            print!("{}", args::HELP);
            return 0;
        }
        Err(usage_error) => {
            eprintln!("reference-supervisor: {usage_error}\n(see --help)");
            return 2;
        }
    };

    let mut report = report::Reporter::stdout();
    let plan = match plan::Plan::load(&options.plan_path) {
        Ok(plan) => plan,
        Err(bad_plan) => {
            eprintln!("reference-supervisor: {bad_plan}");
            report.end(&report::End::adapter_error(bad_plan));
            return 1;
        }
    };

    session::run(&options, &plan, &mut report);
    0
}
