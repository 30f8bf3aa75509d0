//! `harness show`: a failed run (the reference supervisor with its `last-result-wins` bug switch,
//! on the cross-turn notification seed) is drawn as Mermaid text and as a self-contained HTML
//! page, with the violations marked at the results they concern — and the page, opened in a
//! real headless browser (Debian's chromium), lays the diagram out. Without chromium the browser
//! check is skipped with the reason printed; under `CI` a missing chromium is a failure.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use harness::procs;

mod common;
use common::{HARNESS, root};

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// Runs the buggy reference on the seed and returns the kept run directory (and the temp dir
/// holding the supervisor definition, to keep it alive).
fn failed_run() -> (PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("supervisor.yaml"),
        "name: buggy\ncommand: [\"{harness}\", \"reference-supervisor\", \"--policy\", \"background-aware\", \"--bug\", \"last-result-wins\"]\ncli: {via: env}\ncapabilities: [one-shot, multi-turn, background-aware]\npolicy: background-aware\n",
    )
    .unwrap();
    let mut cmd = Command::new(HARNESS);
    cmd.args(["run", "seed/cross-turn-notification", "--supervisor"])
        .arg(tmp.path())
        .env("HARNESS_ROOT", root());
    let f = procs::run_bounded(cmd, Duration::from_secs(120)).unwrap();
    let out = String::from_utf8_lossy(&f.stdout).into_owned();
    assert_eq!(f.status.and_then(|s| s.code()), Some(1), "{out}");
    let dir = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("run dir: "))
        .unwrap_or_else(|| panic!("no run dir in {out}"));
    (PathBuf::from(dir), tmp)
}

struct Cleanup(PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_failed_run_is_drawn_with_its_violations_marked() {
    let (dir, _def) = failed_run();
    let _cleanup = Cleanup(dir.clone());
    for f in ["verdict.json", "sequence.mmd", "sequence.html"] {
        assert!(dir.join(f).is_file(), "the suite did not write {f}");
    }
    let mmd = std::fs::read_to_string(dir.join("sequence.mmd")).unwrap();
    assert!(mmd.starts_with("sequenceDiagram\n"), "{mmd}");
    assert!(mmd.contains("participant S as Supervisor (buggy)"), "{mmd}");
    // The injected turn's result, taken as turn 2's answer, carries both violations.
    let marked = mmd
        .lines()
        .skip_while(|l| !l.contains("rect rgba"))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        marked.contains("result/success") && marked.contains("NOTIFIED"),
        "{mmd}"
    );
    assert!(
        marked.contains("❌ expect.turns[1].output, turn-attribution"),
        "{mmd}"
    );

    let html = std::fs::read_to_string(dir.join("sequence.html")).unwrap();
    for asset in ["<link", "src=", "@import", "http://", "https://"] {
        assert!(!html.contains(asset), "the page loads something: {asset}");
    }
    assert!(
        html.split("url(").skip(1).all(|rest| rest.starts_with('#')),
        "url() may only name something in the page"
    );
    assert!(
        html.contains("<li class=\"violation\"><a href=\"#row-"),
        "{html}"
    );
    assert!(html.matches("class=\"row msg marked\"").count() >= 2);

    // `--format` prints the same views.
    let o = Command::new(HARNESS)
        .args(["show", "--format", "mermaid"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), mmd);
    let o = Command::new(HARNESS)
        .args(["show", "/nonexistent/run"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

fn attr(dom: &str, name: &str) -> Option<usize> {
    let body = &dom[dom.find("<body")?..];
    let tag = &body[..body.find('>')?];
    let v = tag.split(&format!("{name}=\"")).nth(1)?;
    v[..v.find('"')?].parse().ok()
}

#[test]
fn the_page_renders_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        let why = "chromium is not installed (apt-get install -y chromium)";
        if in_ci() {
            panic!("{why}; in CI a missing browser is a failure");
        }
        eprintln!("skipped: {why}");
        return;
    };
    let (dir, _def) = failed_run();
    let _cleanup = Cleanup(dir.clone());
    let page = dir.join("sequence.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(&browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg("--dump-dom")
    .arg(format!("file://{}", page.display()));
    let f = procs::run_bounded(cmd, Duration::from_secs(90)).unwrap();
    assert!(f.status.is_some(), "chromium hit the test deadline");
    let dom = String::from_utf8_lossy(&f.stdout);
    let rows = html.matches("<g class=\"row ").count();
    let marked = html.matches("<g class=\"row msg marked\"").count();
    assert!(rows > 20 && marked >= 2, "{rows} rows, {marked} marked");
    // The page's script measured every row the browser laid out, marked ones included.
    assert_eq!(
        attr(&dom, "data-rendered"),
        Some(rows),
        "stderr: {}",
        String::from_utf8_lossy(&f.stderr)
    );
    assert_eq!(attr(&dom, "data-marked"), Some(marked));
    assert!(dom.contains("turn-attribution"));
}
