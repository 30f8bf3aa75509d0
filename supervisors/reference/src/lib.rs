//! The reference supervisor: a small, correct supervisor of the Claude Code CLI.
//!
//! It spawns the CLI in stream-json mode, drives it through a plan (prompts and actions), answers
//! every control request the CLI sends, attributes each `result` to the prompt it answers, and
//! prints a JSONL report on stdout. The adapter contract it implements is `docs/adapters.md`.
//!
//! It drives the CLI in one of three styles (`style.rs`): as the Agent SDKs do (`sdk`), as a
//! headless one-shot backend does (`headless`), or as a script running `claude -p` (`print`).
//!
//! Reading order: `style.rs` (what differs per style) → `session.rs` (the run, top to bottom) → `cli_process.rs` (spawn, reader threads,
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
pub mod style;
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
    let plan =
        match plan::Plan::load(&options.plan_path).and_then(|plan| fits_style(plan, &options)) {
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

/// One-shot styles run one prompt per CLI process: a multi-turn plan is a bad plan for them.
fn fits_style(plan: plan::Plan, options: &args::Options) -> Result<plan::Plan, String> {
    if options.style.one_shot_only() && plan.mode != plan::Mode::OneShot {
        return Err(format!(
            "bad plan {}: the {} style is one-shot (one prompt per CLI process), the plan is \
             multi_turn with {} turn(s)",
            options.plan_path.display(),
            options.style.name(),
            plan.turns.len()
        ));
    }
    Ok(plan)
}
