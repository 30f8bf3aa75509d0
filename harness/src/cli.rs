//! The `harness` command line: `run`, `suite`, `validate`, `mutants`, `fuzz`, and the authoring
//! and reading commands `new`, `import`, `show`. Exit codes (documented in
//! docs/harness.md): 0 all pass (known failures allowed), 1 failures or unexpected passes,
//! 2 usage error or a bad scenario / supervisor file, 3 internal error.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use harness::artifacts::{AdapterExit, RunArtifacts};
use harness::reporters::{self, Format};
use harness::suite::{self, Case, Cell, Outcome, RunOptions};
use harness::supervisor::{self, Context, Supervisor};
use harness::{fuzz, known_failures, mutants, setup};

pub const EXIT_FAIL: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_INTERNAL: i32 = 3;

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Conformance suite for programs that drive the Claude Code CLI, built on fake-claude",
    after_help = "Exit codes: 0 all pass (known failures allowed), 1 failures or unexpected passes, \
                  2 usage error or bad scenario/supervisor file, 3 internal error. See docs/harness.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one scenario under one supervisor and print the verdict and the artifacts.
    Run {
        /// Scenario file, or id under scenarios/ (e.g. seed/startup-burst).
        scenario: PathBuf,
        /// Supervisor: a name under supervisors/, an embedded name, or a path.
        #[arg(long, short, default_value = "reference")]
        supervisor: String,
        /// Keep the run directory even when the run passes.
        #[arg(long)]
        keep: bool,
    },
    /// Run the conformance matrix: every scenario under every supervisor.
    Suite {
        /// Supervisor (repeatable). Default: the embedded reference, reference-background and reference-headless.
        #[arg(long = "supervisor", short)]
        supervisors: Vec<String>,
        #[arg(long, short, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
        /// Worker threads (default: number of cores).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Keep every run directory, not only failures.
        #[arg(long)]
        keep: bool,
        /// No progress lines on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Scenario files or directories (default: everything under scenarios/).
        paths: Vec<PathBuf>,
    },
    /// Check scenario files (and supervisor.yaml / known-failures files) without running them:
    /// load errors and lints. Exit 2 on errors, 1 on warnings with --deny-warnings, else 0.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Exit 1 when there are warnings (and no errors).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Draw a kept run as a sequence diagram (Mermaid text and a self-contained HTML page) with
    /// the violations marked at the messages they concern.
    Show {
        /// A run directory (kept on failure, or with --keep).
        run_dir: PathBuf,
        /// Print one view to stdout (or --out) instead of writing both into the run directory.
        #[arg(long, short, value_enum)]
        format: Option<ShowFormat>,
        /// With --format: write the view here.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Write a commented starter scenario (`<name>.yaml`) with the schema modeline.
    New {
        /// The file to write (`scenarios/mine/stale-result` → `scenarios/mine/stale-result.yaml`).
        name: String,
        /// A built-in template (turn, multi-turn, permission, background, crash, hang), or an
        /// existing scenario (path or id) to copy.
        #[arg(long, default_value = "turn")]
        from: String,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Convert a real CLI session (reference transcript format) into a scenario.
    Import {
        /// A transcript in the format of the project's reference captures (JSONL).
        transcript: PathBuf,
        /// Write the scenario here (default: stdout).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The scenario's `name` (default: the transcript's file stem).
        #[arg(long)]
        name: Option<String>,
        /// Replay the CLI's pauses as `sleep` steps.
        #[arg(long)]
        pauses: bool,
    },
    /// Prove the suite: the clean reference passes and every bug switch is caught.
    Mutants {
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Only these switches (repeatable).
        #[arg(long = "switch")]
        switches: Vec<String>,
        #[arg(long, short)]
        quiet: bool,
        /// Scenario files or directories (default: everything under scenarios/).
        paths: Vec<PathBuf>,
    },
    /// Property-based conformance: generated scenarios, metamorphic invariants, shrunk
    /// counterexamples saved under scenarios/regressions/.
    Fuzz {
        /// Supervisor: a name under supervisors/, an embedded name, or a path.
        #[arg(long, short, default_value = "reference")]
        supervisor: String,
        /// Generated cases (default: PROPTEST_CASES, else 64; with --mutants 300 per switch
        /// and policy).
        #[arg(long)]
        cases: Option<u32>,
        /// Seed of the generator (default: from the clock; printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads (default: 4 per core; a run mostly waits on processes).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Also generate the faults whose correct handling takes seconds (SIGTERM ignored,
        /// silence until the turn timeout, ...).
        #[arg(long)]
        slow: bool,
        /// Run against every bug switch of the reference (and the clean reference) instead.
        #[arg(long)]
        mutants: bool,
        /// With --mutants: only these switches (repeatable).
        #[arg(long = "switch")]
        switches: Vec<String>,
        /// Where shrunk counterexamples go (default: scenarios/regressions/).
        #[arg(long)]
        regressions: Option<PathBuf>,
        /// Do not save counterexamples (neither scenarios nor proptest's seed file).
        #[arg(long)]
        no_save: bool,
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ShowFormat {
    Mermaid,
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Junit,
    Markdown,
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Junit => Format::Junit,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Html => Format::Html,
        }
    }
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    let harness_bin = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("harness"));
    let ctx = Context::discover(harness_bin);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        Cmd::Run {
            scenario,
            supervisor,
            keep,
        } => run(&ctx, &scenario, &supervisor, keep),
        Cmd::Suite {
            supervisors,
            format,
            jobs,
            keep,
            quiet,
            paths,
        } => suite_cmd(&ctx, &supervisors, format.into(), jobs, keep, quiet, &paths),
        Cmd::Validate {
            paths,
            deny_warnings,
        } => validate(&paths, deny_warnings),
        Cmd::Mutants {
            jobs,
            switches,
            quiet,
            paths,
        } => mutants_cmd(&ctx, jobs, &switches, quiet, &paths),
        Cmd::New { name, from, force } => new_cmd(&ctx, &name, &from, force),
        Cmd::Show {
            run_dir,
            format,
            out,
        } => show_cmd(&run_dir, format, out.as_deref()),
        Cmd::Import {
            transcript,
            out,
            name,
            pauses,
        } => import_cmd(&transcript, out.as_deref(), name, pauses),
        Cmd::Fuzz {
            supervisor,
            cases,
            seed,
            jobs,
            slow,
            mutants,
            switches,
            regressions,
            no_save,
            quiet,
        } => {
            let seed = seed.unwrap_or_else(clock_seed);
            let mut opts = fuzz::Options::new(seed, jobs.unwrap_or_else(fuzz::default_jobs));
            if let Some(c) = cases {
                opts.cases = c;
            } else if mutants && std::env::var_os("PROPTEST_CASES").is_none() {
                opts.cases = fuzz::mutants::DEFAULT_CASES;
            }
            if slow {
                opts.mix = fuzz::strategies::Mix::Full;
            }
            if !no_save {
                opts.regressions =
                    Some(regressions.unwrap_or_else(|| ctx.scenarios_dir().join("regressions")));
                opts.persistence = Some(ctx.root.join("harness/proptest-regressions/fuzz.txt"));
            }
            if mutants {
                fuzz_mutants_cmd(&ctx, &opts, &switches, quiet)
            } else {
                fuzz_cmd(&ctx, &supervisor, &opts)
            }
        }
    }));
    result.unwrap_or(EXIT_INTERNAL)
}

/// Scenarios for `paths`, or exit code 2 with every load error printed.
fn cases(ctx: &Context, paths: &[PathBuf]) -> Result<Vec<Case>, i32> {
    let files = suite::discover_files(ctx, paths).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })?;
    if files.is_empty() {
        eprintln!("error: no scenario files found");
        return Err(EXIT_USAGE);
    }
    suite::load_cases(files).map_err(|errors| {
        for e in &errors {
            eprint!("{e}");
            if !e.ends_with('\n') {
                eprintln!();
            }
        }
        eprintln!("{} scenario file(s) do not load", errors.len());
        EXIT_USAGE
    })
}

fn supervisors(ctx: &Context, specs: &[String]) -> Result<Vec<Supervisor>, i32> {
    let loaded = if specs.is_empty() {
        supervisor::defaults(ctx).map_err(|e| vec![e])
    } else {
        let (ok, bad): (Vec<_>, Vec<_>) = specs
            .iter()
            .map(|s| supervisor::resolve(s, ctx))
            .partition(Result::is_ok);
        if bad.is_empty() {
            Ok(ok.into_iter().map(Result::unwrap).collect())
        } else {
            Err(bad.into_iter().filter_map(Result::err).collect())
        }
    };
    let sups = loaded.map_err(|errors| {
        for e in errors {
            eprintln!("error: {e}");
        }
        EXIT_USAGE
    })?;
    let mut names: Vec<&str> = sups.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        eprintln!("error: two supervisors are named `{}`", w[0]);
        return Err(EXIT_USAGE);
    }
    Ok(sups)
}

fn run(ctx: &Context, scenario: &Path, supervisor: &str, keep: bool) -> i32 {
    let cases = match cases(ctx, &[scenario.to_path_buf()]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let sup = match supervisors(ctx, &[supervisor.to_string()]) {
        Ok(mut s) => s.remove(0),
        Err(code) => return code,
    };
    let mut worst = 0;
    for case in &cases {
        if suite::skip_reason(&sup, case).is_none()
            && let Err(e) = setup::ensure(&sup, ctx)
        {
            eprintln!("error: {e}");
            return EXIT_FAIL;
        }
        let (cell, run) = suite::execute(ctx, &sup, case, RunOptions { keep });
        print!("{}", describe_run(&sup, &cell, run.as_ref()));
        let code = if cell.internal_error.is_some() {
            EXIT_INTERNAL
        } else if cell.outcome.ok() {
            0
        } else {
            EXIT_FAIL
        };
        worst = worst.max(code);
    }
    worst
}

/// The human-readable account of one run.
fn describe_run(sup: &Supervisor, cell: &Cell, run: Option<&RunArtifacts>) -> String {
    let mut o = String::new();
    let policy = sup
        .policy
        .as_deref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    o.push_str(&format!(
        "{} × {}{policy}: {}\n",
        cell.scenario,
        sup.name,
        cell.outcome.label()
    ));
    if let Some(r) = &cell.skip_reason {
        o.push_str(&format!("  skipped: {r}\n"));
    }
    if let Some(k) = &cell.known {
        let issue = k.issue_suffix();
        o.push_str(&format!(
            "  listed as a known failure: {}{issue}\n",
            k.reason
        ));
    }
    if let Some(run) = run {
        let exit = match &run.adapter_exit {
            AdapterExit::Code(c) => format!("exited {c}"),
            AdapterExit::Signal(s) => format!("killed by signal {s}"),
            AdapterExit::Deadline => "killed at the run deadline".into(),
            AdapterExit::SpawnFailed(e) => format!("could not start: {e}"),
        };
        o.push_str(&format!(
            "  adapter: {exit} after {:.2}s; teardown {:.2}s (bound {:.1}s)\n",
            run.duration.as_secs_f64(),
            run.teardown.as_secs_f64(),
            run.teardown_bound.as_secs_f64()
        ));
        for l in &run.leftovers {
            let from = if l.from_fake {
                "from the fake"
            } else {
                "adapter's group"
            };
            o.push_str(&format!(
                "  leftover ({from}, killed): pid {} {}\n",
                l.pid, l.command
            ));
        }
        let end = run
            .report
            .end
            .as_ref()
            .map(|e| e.status.clone())
            .unwrap_or_else(|| "missing".into());
        o.push_str(&format!(
            "  report: {} turn(s), {} event(s), end {end}; {} transcript record(s)\n",
            run.report.turns.len(),
            run.report.events.len(),
            run.transcript.len()
        ));
        for t in &run.report.turns {
            let text = t.output.as_deref().or(t.error.as_deref()).unwrap_or("");
            o.push_str(&format!(
                "    turn {}: {} {:?}\n",
                t.index,
                t.status,
                clip(text, 100)
            ));
        }
        for p in &run.report.problems {
            o.push_str(&format!("  report problem: {p}\n"));
        }
    }
    if cell.violations.is_empty() {
        o.push_str("  violations: none\n");
    } else {
        o.push_str("  violations:\n");
        for v in &cell.violations {
            let recs = if v.records.is_empty() {
                String::new()
            } else {
                let r: Vec<String> = v.records.iter().map(|r| format!("#{r}")).collect();
                format!(" [transcript records {}]", r.join(" "))
            };
            o.push_str(&format!("  - {}: {}{recs}\n", v.id, v.message.trim_end()));
        }
    }
    for (id, why) in &cell.waived {
        o.push_str(&format!("  waived: {id} ({why})\n"));
    }
    if let Some(run) = run {
        if cell.outcome == Outcome::Fail && !run.stderr_tail.is_empty() {
            o.push_str("  adapter stderr (tail):\n");
            let lines: Vec<&str> = run.stderr_tail.lines().collect();
            for l in &lines[lines.len().saturating_sub(12)..] {
                o.push_str(&format!("    | {l}\n"));
            }
        }
        match &cell.dir {
            Some(d) => {
                o.push_str(&format!("  run dir: {}\n", d.display()));
                for f in [
                    "plan.json",
                    "scenario.yaml",
                    "bin/claude",
                    "transcript.jsonl",
                    "report.jsonl",
                    "stderr.tail.txt",
                    "verdict.json",
                    harness::show::MERMAID_FILE,
                    harness::show::HTML_FILE,
                ] {
                    o.push_str(&format!("    {}\n", d.join(f).display()));
                }
            }
            None => o.push_str("  run dir removed (pass --keep to keep it)\n"),
        }
    }
    o
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn progress_line(quiet: bool) -> impl FnMut(usize, usize, &Cell) {
    move |done, total, c| {
        if quiet {
            return;
        }
        let width = total.to_string().len();
        let _ = writeln!(
            std::io::stderr(),
            "[{done:>width$}/{total}] {:<15} {} × {} ({:.2}s)",
            c.outcome.label(),
            c.supervisor,
            c.scenario,
            c.duration_ms as f64 / 1000.0
        );
    }
}

fn suite_cmd(
    ctx: &Context,
    specs: &[String],
    format: Format,
    jobs: Option<usize>,
    keep: bool,
    quiet: bool,
    paths: &[PathBuf],
) -> i32 {
    let cases = match cases(ctx, paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let sups = match supervisors(ctx, specs) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let jobs = jobs.unwrap_or_else(suite::default_jobs);
    let mut progress = progress_line(quiet);
    let result = suite::run_all(ctx, &sups, &cases, jobs, RunOptions { keep }, &mut progress);
    print!("{}", reporters::render(format, &result));
    result.exit_code()
}

fn mutants_cmd(
    ctx: &Context,
    jobs: Option<usize>,
    only: &[String],
    quiet: bool,
    paths: &[PathBuf],
) -> i32 {
    let cases = match cases(ctx, paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let jobs = jobs.unwrap_or_else(suite::default_jobs);
    let mut progress = progress_line(quiet);
    match mutants::run(ctx, &cases, jobs, only, &mut progress) {
        Ok(r) => {
            print!("{}", mutants::render(&r));
            r.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INTERNAL
        }
    }
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() ^ u64::from(d.subsec_nanos()))
}

fn fuzz_cmd(ctx: &Context, supervisor: &str, opts: &fuzz::Options) -> i32 {
    let sup = match supervisors(ctx, &[supervisor.to_string()]) {
        Ok(mut s) => s.remove(0),
        Err(code) => return code,
    };
    eprintln!(
        "fuzzing {} with {} case(s), seed {} ({} worker(s))",
        sup.name, opts.cases, opts.seed, opts.jobs
    );
    match fuzz::run(ctx, &sup, opts) {
        Ok(r) => {
            print!("{}", fuzz::render(&r));
            if r.finding.as_ref().is_some_and(|f| f.saved.is_some()) {
                println!(
                    "(a regression that fails for a supervisor other than the reference belongs in its known-failures file)"
                );
            }
            r.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INTERNAL
        }
    }
}

fn fuzz_mutants_cmd(ctx: &Context, opts: &fuzz::Options, only: &[String], quiet: bool) -> i32 {
    eprintln!(
        "fuzzing the reference's bug switches: {} case(s) per switch and base, seed {}",
        opts.cases, opts.seed
    );
    let mut progress = |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    match fuzz::mutants::run(ctx, opts, only, &mut progress) {
        Ok(r) => {
            print!("{}", fuzz::mutants::render(&r));
            r.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INTERNAL
        }
    }
}

/// What a YAML file is, by its name.
enum FileKind {
    Supervisor,
    KnownFailures,
    Scenario,
}

fn kind_of(p: &Path) -> FileKind {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "supervisor.yaml" || name.ends_with(".supervisor.yaml") {
        FileKind::Supervisor
    } else if name.starts_with("known-failures") {
        FileKind::KnownFailures
    } else {
        FileKind::Scenario
    }
}

fn validate(paths: &[PathBuf], deny_warnings: bool) -> i32 {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            harness::suite::yaml_files(p, &mut files);
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        eprintln!("error: no YAML files under {:?}", paths);
        return EXIT_USAGE;
    }
    let (mut bad, mut warned, mut warnings) = (0, 0, 0);
    for f in &files {
        let source = f.display().to_string();
        let result = match kind_of(f) {
            FileKind::Supervisor => supervisor::load_path(f).map(|_| vec![]).map_err(|e| e.0),
            FileKind::KnownFailures => std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read {source}: {e}"))
                .and_then(|t| known_failures::parse(&t, &source).map(|_| vec![])),
            FileKind::Scenario => match std::fs::read_to_string(f) {
                Err(e) => Err(format!("error: cannot read scenario {source}: {e}")),
                Ok(text) => harness::lint::check_str(&text, &source)
                    .map(|lints| {
                        lints
                            .iter()
                            .map(|d| (d.clone(), d.render(&text, &source)))
                            .collect()
                    })
                    .map_err(|e| e.message),
            },
        };
        match result {
            Ok(lints) => {
                let errors = lints
                    .iter()
                    .filter(|(d, _)| d.severity == harness::lint::Severity::Error)
                    .count();
                for (_, text) in &lints {
                    print!("{text}");
                }
                let w = lints.len() - errors;
                warnings += w;
                if errors > 0 {
                    bad += 1;
                } else if w > 0 {
                    warned += 1;
                    println!("ok with {w} warning(s): {source}");
                } else {
                    println!("ok: {source}");
                }
            }
            Err(e) => {
                bad += 1;
                print!("{e}");
                if !e.ends_with('\n') {
                    println!();
                }
            }
        }
    }
    if bad > 0 {
        println!(
            "{bad} of {} file(s) have errors; {warnings} warning(s)",
            files.len()
        );
        EXIT_USAGE
    } else if warned > 0 {
        println!(
            "{warned} of {} file(s) have warnings ({warnings} in all)",
            files.len()
        );
        if deny_warnings { EXIT_FAIL } else { 0 }
    } else {
        0
    }
}

fn import_cmd(transcript: &Path, out: Option<&Path>, name: Option<String>, pauses: bool) -> i32 {
    let text = match std::fs::read_to_string(transcript) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", transcript.display());
            return EXIT_USAGE;
        }
    };
    let file = transcript
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = transcript
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "imported".into());
    let opts = fake_claude::record::derive::Options {
        name: name.unwrap_or(stem),
        origin: format!("Imported from the real-CLI transcript `{file}`"),
        sources: vec![file],
        pauses,
        schema: out.and_then(fake_claude::scenario::schema::modeline_path),
    };
    let yaml = match harness::import::scenario(&text, &transcript.display().to_string(), &opts) {
        Ok(y) => y,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    write_out(out, &yaml)
}

/// `text` to the file, or stdout without one.
fn write_out(out: Option<&Path>, text: &str) -> i32 {
    match out {
        None => {
            print!("{text}");
            0
        }
        Some(p) => match std::fs::write(p, text) {
            Ok(()) => {
                eprintln!("wrote {}", p.display());
                0
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", p.display());
                EXIT_INTERNAL
            }
        },
    }
}

fn new_cmd(ctx: &Context, name: &str, from: &str, force: bool) -> i32 {
    let path = harness::new::target(name);
    if path.exists() && !force {
        eprintln!(
            "error: {} exists (pass --force to overwrite it)",
            path.display()
        );
        return EXIT_USAGE;
    }
    let text = match harness::new::template(from) {
        Some(t) => t.to_string(),
        None => match suite::resolve_scenario_path(ctx, Path::new(from))
            .and_then(|p| std::fs::read_to_string(&p).map_err(|e| e.to_string()))
        {
            Ok(t) => t,
            Err(e) => {
                let names: Vec<String> = harness::new::TEMPLATES
                    .iter()
                    .map(|(n, what, _)| format!("  {n:<12} {what}"))
                    .collect();
                eprintln!(
                    "error: `{from}` is neither a template nor a scenario ({e})\ntemplates:\n{}",
                    names.join("\n")
                );
                return EXIT_USAGE;
            }
        },
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return EXIT_INTERNAL;
    }
    let code = write_out(Some(&path), &harness::new::starter(&path, &text));
    if code == 0 {
        eprintln!(
            "next: harness validate {p}, then harness run {p} --supervisor <yours>",
            p = path.display()
        );
    }
    code
}

fn show_cmd(dir: &Path, format: Option<ShowFormat>, out: Option<&Path>) -> i32 {
    use harness::show;
    let Some(format) = format else {
        return match show::render_into(dir) {
            Ok((m, h)) => {
                println!("{}\n{}", m.display(), h.display());
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_USAGE
            }
        };
    };
    let view = match show::RunView::load(dir) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let d = show::model::build(&view);
    let text = match format {
        ShowFormat::Mermaid => show::mermaid::render(&d),
        ShowFormat::Html => show::html::render(&d),
    };
    write_out(out, &text)
}
