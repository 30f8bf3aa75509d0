//! `cargo bench -p harness --bench baseline` (run it through `bench/run`): fake-claude and the
//! harness measured against the physical floor. Every figure is printed next to a baseline
//! measured in the same run, on the same machine, interleaved with it where that makes sense,
//! so background load shifts both alike. Targets are the ones in BENCHMARKS.md.
//!
//! Options: `--quick` (fewer samples, smaller bursts, no whole-library run), `--only NAME`
//! (repeatable: one-turn, transcript, burst, rss, jitter, harness), `--markdown PATH` (also write
//! the table as Markdown).

mod child;
mod stats;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use harness::suite::{self, Outcome, RunOptions};
use harness::supervisor::{self, Context};
use stats::{median, ms, percentile};

/// One line of the result table.
struct Row {
    name: String,
    figure: String,
    baseline: String,
    /// figure / baseline, as the target is stated.
    ratio: Option<f64>,
    target: String,
    ok: Option<bool>,
}

struct Env {
    root: PathBuf,
    fake: PathBuf,
    harness: PathBuf,
    python: Option<PathBuf>,
    tmp: tempfile::TempDir,
    quick: bool,
}

const MIB: u64 = 1 << 20;

/// One benchmark: its rows, each a figure next to the baseline it was measured against.
type Bench = fn(&Env) -> Vec<Row>;

fn main() {
    let mut quick = false;
    let mut only: Vec<String> = Vec::new();
    let mut markdown = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--only" => only.extend(args.next()),
            "--markdown" => markdown = args.next().map(PathBuf::from),
            // `cargo bench` passes `--bench`; libtest filters are not ours.
            "--bench" => {}
            other => {
                eprintln!("baseline: unknown argument {other:?} (see the module docs)");
                std::process::exit(2);
            }
        }
    }
    let env = setup(quick);
    let want = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut rows = Vec::new();
    let benches: [(&str, Bench); 6] = [
        ("one-turn", one_turn),
        ("transcript", transcript_growth),
        ("burst", burst),
        ("rss", rss),
        ("jitter", jitter),
        ("harness", harness_overhead),
    ];
    for (name, bench) in benches {
        if want(name) {
            eprintln!("baseline: {name} ...");
            let got = bench(&env);
            for r in &got {
                eprintln!("  {}: {} (baseline {})", r.name, r.figure, r.baseline);
            }
            rows.extend(got);
        }
    }
    let table = render(&rows);
    print!("{table}");
    if let Some(path) = markdown {
        std::fs::write(&path, &table)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    let missed = rows.iter().filter(|r| r.ok == Some(false)).count();
    if missed > 0 {
        eprintln!("baseline: {missed} target(s) missed");
    }
}

fn setup(quick: bool) -> Env {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ has a parent")
        .to_path_buf();
    let harness = PathBuf::from(env!("CARGO_BIN_EXE_harness"));
    // The bench executable lives in <target>/<profile>/deps/; fake-claude next to harness.
    let fake = std::env::var_os("BENCH_FAKE_CLAUDE")
        .map(PathBuf::from)
        .unwrap_or_else(|| harness.with_file_name("fake-claude"));
    if !fake.is_file() {
        eprintln!(
            "baseline: no fake-claude binary at {} (build it: cargo build --release -p fake-claude, \
             or run bench/run)",
            fake.display()
        );
        std::process::exit(2);
    }
    // The interpreter itself, not a version-manager shim (a shell script that adds ~30 ms).
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    Env {
        root,
        fake,
        harness,
        python,
        tmp: tempfile::tempdir().expect("temp dir"),
        quick,
    }
}

impl Env {
    fn samples(&self, full: usize) -> usize {
        if self.quick { full / 5 } else { full }
    }

    fn scenario(&self, name: &str, yaml: &str) -> PathBuf {
        let p = self.tmp.path().join(format!("{name}.yaml"));
        std::fs::write(&p, yaml).expect("write scenario");
        p
    }

    fn fake_argv(&self, scenario: Option<&Path>, transcript: Option<&Path>) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec![self.fake.clone().into()];
        argv.extend(fake_claude_args().map(OsString::from));
        if let Some(s) = scenario {
            argv.extend(["--fake-scenario".into(), s.into()]);
        }
        if let Some(t) = transcript {
            argv.extend(["--fake-transcript".into(), t.into()]);
        }
        argv
    }

    fn fake_cmd(&self, scenario: Option<&Path>, transcript: Option<&Path>) -> Command {
        let argv = self.fake_argv(scenario, transcript);
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..])
            .env_remove("FAKE_CLAUDE_SCENARIO")
            .env_remove("FAKE_CLAUDE_TRANSCRIPT");
        c
    }

    fn peak_rss_kib(&self, argv: &[OsString], input: &[u8]) -> u64 {
        child::peak_rss_kib(argv, input, &self.tmp.path().join("rss.txt"))
    }
}

/// The arguments SDKs start the CLI with.
fn fake_claude_args() -> [&'static str; 5] {
    [
        "--output-format",
        "stream-json",
        "--input-format",
        "stream-json",
        "--verbose",
    ]
}

/// What a supervisor writes in a one-turn session: initialize, then one prompt; then EOF.
const ONE_TURN_INPUT: &str = concat!(
    r#"{"type":"control_request","request_id":"req_1_bench","request":{"subtype":"initialize","hooks":null}}"#,
    "\n",
    r#"{"type":"user","message":{"role":"user","content":"Hello"},"parent_tool_use_id":null,"session_id":"default","uuid":"5b7d6f0e-2d4c-4a55-9a43-0b6f3c2a1e01"}"#,
    "\n"
);

fn ratio_row(name: &str, figure: f64, baseline: f64, unit: &str, max_ratio: f64) -> Row {
    let ratio = figure / baseline;
    Row {
        name: name.to_string(),
        figure: format!("{figure:.2} {unit}"),
        baseline: format!("{baseline:.2} {unit}"),
        ratio: Some(ratio),
        target: format!("≤ {max_ratio}×"),
        ok: Some(ratio <= max_ratio),
    }
}

// ---------------------------------------------------------------------------------------------

/// A one-turn session (initialize + prompt → control_response, init, assistant, result → exit
/// on EOF) through fake-claude, against `cat` passing the same output bytes (spawn + pipes: the
/// floor) and a minimal Python fake (the common alternative). Interleaved round-robin.
fn one_turn(env: &Env) -> Vec<Row> {
    let n = env.samples(300);
    let input = ONE_TURN_INPUT.as_bytes();
    let reference = child::run(&mut env.fake_cmd(None, None), input);
    assert_eq!(reference.status, 0, "fake-claude's one-turn session failed");
    // `cat` gets what the fake writes, so it moves exactly the same bytes through the pipes.
    let same_bytes = session_output(env);
    let mut cat = Command::new("cat");
    let script = env.root.join("bench/fake_claude_min.py");
    let mut t_cat = Vec::new();
    let mut t_fake = Vec::new();
    let mut t_py = Vec::new();
    for _ in 0..n {
        t_cat.push(ms(child::run(&mut cat, &same_bytes).wall));
        let r = child::run(&mut env.fake_cmd(None, None), input);
        assert_eq!(r.out_bytes, reference.out_bytes);
        t_fake.push(ms(r.wall));
        if let Some(py) = &env.python {
            let mut c = Command::new(py);
            c.arg(&script);
            t_py.push(ms(child::run(&mut c, input).wall));
        }
    }
    let (cat_ms, fake_ms) = (median(&t_cat), median(&t_fake));
    let mut rows = vec![ratio_row(
        "one-turn session, fake-claude vs `cat` (median)",
        fake_ms,
        cat_ms,
        "ms",
        2.0,
    )];
    rows.push(Row {
        name: "one-turn session, fake-claude p90 vs `cat` p90".into(),
        figure: format!("{:.2} ms", percentile(&t_fake, 90.0)),
        baseline: format!("{:.2} ms", percentile(&t_cat, 90.0)),
        ratio: Some(percentile(&t_fake, 90.0) / percentile(&t_cat, 90.0)),
        target: "—".into(),
        ok: None,
    });
    if !t_py.is_empty() {
        let py_ms = median(&t_py);
        rows.push(Row {
            name: "one-turn session, minimal Python fake vs `cat` (median)".into(),
            figure: format!("{py_ms:.2} ms"),
            baseline: format!("{cat_ms:.2} ms"),
            ratio: Some(py_ms / cat_ms),
            target: "— (fake-claude is faster)".into(),
            ok: Some(fake_ms < py_ms),
        });
    }
    rows
}

/// The bytes fake-claude writes for [`ONE_TURN_INPUT`].
fn session_output(env: &Env) -> Vec<u8> {
    let out = env
        .fake_cmd(None, None)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("piped")
                .write_all(ONE_TURN_INPUT.as_bytes())?;
            c.wait_with_output()
        })
        .expect("run fake-claude");
    out.stdout
}

/// Opening the transcript must not cost more as the transcript grows: the one-turn session
/// appending to a transcript that already holds many invocations, against a fresh transcript.
fn transcript_growth(env: &Env) -> Vec<Row> {
    let n = env.samples(100);
    let input = ONE_TURN_INPUT.as_bytes();
    let big = env.tmp.path().join("big-transcript.jsonl");
    let size = if env.quick { 16 * MIB } else { 64 * MIB };
    grow_transcript(env, &big, size);
    let mut t_fresh = Vec::new();
    let mut t_big = Vec::new();
    for i in 0..n {
        let fresh = env.tmp.path().join(format!("fresh-{i}.jsonl"));
        t_fresh.push(ms(
            child::run(&mut env.fake_cmd(None, Some(&fresh)), input).wall
        ));
        let _ = std::fs::remove_file(&fresh);
        t_big.push(ms(
            child::run(&mut env.fake_cmd(None, Some(&big)), input).wall
        ));
    }
    let _ = std::fs::remove_file(&big);
    vec![ratio_row(
        &format!(
            "one-turn session appending to a {} MiB transcript vs a fresh one",
            size / MIB
        ),
        median(&t_big),
        median(&t_fresh),
        "ms",
        1.25,
    )]
}

/// A transcript of `size` bytes made of real one-turn invocations.
fn grow_transcript(env: &Env, path: &Path, size: u64) {
    let one = env.tmp.path().join("one.jsonl");
    let r = child::run(
        &mut env.fake_cmd(None, Some(&one)),
        ONE_TURN_INPUT.as_bytes(),
    );
    assert_eq!(r.status, 0);
    let text = std::fs::read(&one).expect("transcript");
    let copies = size.div_ceil(text.len() as u64) as usize;
    std::fs::write(path, text.repeat(copies)).expect("write transcript");
    // A fake that opened it counts the invocations in it; make sure it still appends.
    let _ = std::fs::remove_file(&one);
}

/// A burst into a reader that drains as fast as it can, against `cat` of the same bytes.
fn burst(env: &Env) -> Vec<Row> {
    let bytes = if env.quick { 64 * MIB } else { 256 * MIB };
    let reps = if env.quick { 2 } else { 5 };
    let scenario = env.scenario(
        "burst",
        &format!("name: bench-burst\nscript:\n  - burst: {{bytes: {bytes}}}\n"),
    );
    let file = env.tmp.path().join("burst.out");
    // The same bytes, from a file: cat reads and writes them in large blocks.
    {
        let out = std::fs::File::create(&file).expect("create");
        let st = env
            .fake_cmd(Some(&scenario), None)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .status()
            .expect("fake-claude");
        assert!(st.success());
    }
    let mut t_fake = Vec::new();
    let mut t_cat = Vec::new();
    let mut got = 0;
    for _ in 0..reps {
        let r = child::run(&mut env.fake_cmd(Some(&scenario), None), b"");
        got = r.out_bytes;
        t_fake.push(r.wall.as_secs_f64());
        let mut cat = Command::new("cat");
        cat.arg(&file);
        t_cat.push(child::run(&mut cat, b"").wall.as_secs_f64());
    }
    let _ = std::fs::remove_file(&file);
    let mibps = |secs: f64| got as f64 / MIB as f64 / secs;
    let (fake, cat) = (mibps(median(&t_fake)), mibps(median(&t_cat)));
    let ratio = fake / cat;
    vec![Row {
        name: format!(
            "burst of {} MiB into a draining reader vs `cat`",
            bytes / MIB
        ),
        figure: format!("{fake:.0} MiB/s"),
        baseline: format!("{cat:.0} MiB/s"),
        ratio: Some(ratio),
        target: "≥ 0.5×".into(),
        ok: Some(ratio >= 0.5),
    }]
}

/// Peak RSS: the one-turn session, and a burst small and huge (constant memory).
fn rss(env: &Env) -> Vec<Row> {
    if !Path::new(child::GNU_TIME).is_file() {
        eprintln!(
            "baseline: rss needs {} (apt-get install time)",
            child::GNU_TIME
        );
        return Vec::new();
    }
    let input = ONE_TURN_INPUT.as_bytes();
    let one = (0..5)
        .map(|_| env.peak_rss_kib(&env.fake_argv(None, None), input))
        .max()
        .unwrap_or(0);
    let cat = env.peak_rss_kib(&["cat".into()], input);
    let mut rows = vec![Row {
        name: "peak RSS, fake-claude one-turn session (vs `cat`)".into(),
        figure: format!("{:.1} MiB", one as f64 / 1024.0),
        baseline: format!("{:.1} MiB", cat as f64 / 1024.0),
        ratio: Some(one as f64 / cat as f64),
        target: "≤ 8 MiB".into(),
        ok: Some(one <= 8 * 1024),
    }];
    let big = if env.quick { 256 * MIB } else { 1024 * MIB };
    let burst_rss = |bytes: u64| {
        let s = env.scenario(
            &format!("rss-{bytes}"),
            &format!("name: bench-rss\nscript:\n  - burst: {{bytes: {bytes}}}\n"),
        );
        env.peak_rss_kib(&env.fake_argv(Some(&s), None), b"")
    };
    let (small, huge) = (burst_rss(MIB), burst_rss(big));
    rows.push(Row {
        name: format!("peak RSS, {} MiB burst vs 1 MiB burst", big / MIB),
        figure: format!("{:.1} MiB", huge as f64 / 1024.0),
        baseline: format!("{:.1} MiB", small as f64 / 1024.0),
        ratio: Some(huge as f64 / small as f64),
        target: "≤ 1.1× (constant memory)".into(),
        ok: Some(huge as f64 <= small as f64 * 1.1),
    });
    rows
}

/// Lateness of scripted pauses: `sleep: 5ms` between one-line writes, measured where a
/// supervisor sees it (the reader's clock), against the same loop with `thread::sleep` in this
/// process (the OS timer's own lateness).
fn jitter(env: &Env) -> Vec<Row> {
    const PAUSE_MS: f64 = 5.0;
    let n = env.samples(400);
    let scenario = env.scenario(
        "jitter",
        &format!(
            "name: bench-jitter\nscript:\n  - repeat:\n      times: {n}\n      steps:\n        \
             - raw: {{text: \"x\\n\"}}\n        - sleep: 5ms\n  - raw: {{text: \"x\\n\"}}\n  \
             - exit: 0\n"
        ),
    );
    let (reads, ran) = child::run_timed_reads(&mut env.fake_cmd(Some(&scenario), None));
    assert_eq!(ran.status, 0);
    let lateness = |stamps: &[Instant]| -> Vec<f64> {
        stamps
            .windows(2)
            .map(|w| ms(w[1] - w[0]) - PAUSE_MS)
            .collect()
    };
    // One read per write: each write is 2 bytes and the reader is always waiting.
    let stamps: Vec<Instant> = reads.iter().map(|(t, _)| *t).collect();
    let fake = lateness(&stamps);
    let floor = floor_lateness(n, Duration::from_millis(5));
    let row = |label: &str, p: f64, target: Option<f64>| {
        let (f, b) = (percentile(&fake, p), percentile(&floor, p));
        Row {
            name: format!("scripted `sleep: 5ms`, lateness {label} vs `thread::sleep`"),
            figure: format!("{f:.3} ms"),
            baseline: format!("{b:.3} ms"),
            ratio: None,
            target: target.map_or("—".into(), |t| format!("≤ {t} ms")),
            ok: target.map(|t| f <= t),
        }
    };
    vec![row("p50", 50.0, None), row("p99", 99.0, Some(2.0))]
}

/// The floor for [`jitter`]: a thread that sleeps and writes a byte into a pipe, and a reader
/// timestamping what arrives.
fn floor_lateness(n: usize, pause: Duration) -> Vec<f64> {
    use std::io::{Read, Write};
    let (mut r, mut w) = std::io::pipe().expect("pipe");
    let writer = std::thread::spawn(move || {
        for _ in 0..=n {
            let _ = w.write_all(b"x\n");
            std::thread::sleep(pause);
        }
    });
    let mut stamps = Vec::new();
    let mut buf = [0u8; 64];
    while let Ok(k) = r.read(&mut buf) {
        if k == 0 {
            break;
        }
        stamps.push(Instant::now());
    }
    let _ = writer.join();
    stamps
        .windows(2)
        .map(|w| ms(w[1] - w[0]) - ms(pause))
        .collect()
}

/// What the harness adds to a run: one cell (temp dir, wrapper, process group, deadline,
/// transcript, /proc teardown scan, judging) against the reference supervisor driving
/// fake-claude directly on the same scenario, whose scripted time is zero. Then the seed suite
/// and (without `--quick`) the whole library, wall clock.
fn harness_overhead(env: &Env) -> Vec<Row> {
    let n = env.samples(100);
    let scenario = env.scenario(
        "one-turn",
        "name: bench-one-turn\ndrive:\n  turns:\n    - prompt: Hello\nexpect:\n  turns:\n    \
         - status: completed\nscript:\n  - turn: {}\n",
    );
    let ctx = Context {
        root: env.root.clone(),
        harness_bin: env.harness.clone(),
    };
    let sup = supervisor::resolve("reference", &ctx).expect("the embedded reference");
    let cases = suite::load_cases(vec![("bench/one-turn".into(), scenario.clone())])
        .expect("bench scenario loads");
    let case = &cases[0];
    let plan = env.tmp.path().join("plan.json");
    let plan_json = harness::plan::build(&case.id, &case.loaded.scenario.drive);
    std::fs::write(&plan, serde_json::to_vec(&plan_json).expect("json")).expect("plan");
    let mut t_direct = Vec::new();
    let mut t_harness = Vec::new();
    for _ in 0..n {
        let mut direct = Command::new(&env.harness);
        direct
            .args([
                "reference-supervisor",
                "--policy",
                "foreground-only",
                "--cli",
            ])
            .arg(&env.fake)
            .arg("--plan")
            .arg(&plan)
            .env("FAKE_CLAUDE_SCENARIO", &scenario)
            .env_remove("FAKE_CLAUDE_TRANSCRIPT");
        let r = child::run(&mut direct, b"");
        assert_eq!(r.status, 0);
        t_direct.push(ms(r.wall));
        let start = Instant::now();
        let (cell, _) = suite::execute(&ctx, &sup, case, RunOptions::default());
        t_harness.push(ms(start.elapsed()));
        assert_eq!(cell.outcome, Outcome::Pass, "{:?}", cell.violations);
    }
    let (d, h) = (median(&t_direct), median(&t_harness));
    let mut rows = vec![Row {
        name: "harness overhead per run (one cell vs the reference run directly)".into(),
        figure: format!("{:.2} ms", h - d),
        baseline: format!("{d:.2} ms direct, {h:.2} ms in the harness"),
        ratio: Some(h / d),
        target: "≤ 20 ms".into(),
        ok: Some(h - d <= 20.0),
    }];
    let suite_wall = |paths: &[&str], reps: usize| {
        let t: Vec<f64> = (0..reps)
            .map(|_| {
                let start = Instant::now();
                let st = Command::new(&env.harness)
                    .args(["suite", "--quiet"])
                    .args(paths)
                    .current_dir(&env.root)
                    .stdout(std::process::Stdio::null())
                    .status()
                    .expect("harness suite");
                assert!(st.success(), "harness suite {paths:?} failed");
                start.elapsed().as_secs_f64()
            })
            .collect();
        median(&t)
    };
    let seed = suite_wall(&["--supervisor", "reference", "scenarios/seed"], 3);
    let seed_cells = harness::suite::discover_files(&ctx, &[env.root.join("scenarios/seed")])
        .map_or(0, |f| f.len());
    rows.push(Row {
        name: format!("seed suite ({seed_cells} cells) against the reference, wall"),
        figure: format!("{seed:.2} s"),
        baseline: format!("{:.2} ms per cell direct", d),
        ratio: None,
        target: "< 2 s".into(),
        ok: Some(seed < 2.0),
    });
    if !env.quick {
        let all = suite_wall(&[], 1);
        rows.push(Row {
            name: "whole library against reference + reference-background, wall".into(),
            figure: format!("{all:.1} s"),
            baseline: "—".into(),
            ratio: None,
            target: "—".into(),
            ok: None,
        });
    }
    rows
}

fn render(rows: &[Row]) -> String {
    let mut s = String::from(
        "| benchmark | figure | baseline (same run) | ratio | target | met |\n\
         |---|---|---|---|---|---|\n",
    );
    for r in rows {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.name,
            r.figure,
            r.baseline,
            r.ratio.map_or("—".into(), |x| format!("{x:.2}×")),
            r.target,
            match r.ok {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            }
        );
    }
    s
}
