//! Authoring, end to end through the binary: `harness validate` (errors with `file:line:column`
//! and a did-you-mean, lints as warnings, the documented exit codes, the library itself clean),
//! `harness new` (every template written with its modeline, and passing against the reference
//! supervisor), and the docs (every lint and template listed; the GitHub Actions example a
//! valid workflow that shards the suite with nextest).

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::{not_passed, root, text};

fn harness(args: &[&str], cwd: &Path) -> Output {
    common::harness_within(args, cwd, Duration::from_secs(300))
}

#[test]
fn validate_reports_errors_warnings_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("clean.yaml"),
        "name: clean\ndrive: {turns: [{prompt: hi}]}\nscript:\n  - turn: {reply: hello}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("warned.yaml"),
        "name: warned\ndrive: {turns: [{prompt: hi}]}\nscript:\n  - expect: {match: {type: user}}\n  - emit: {result: {}}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("typo.yaml"),
        "name: typo\ndrive: {turns: [{prompt: hi}]}\nscript:\n  - turn: {reply: hi}\n  - injected_trun: {}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("waiver.yaml"),
        "name: waiver\nexpect: {waive: {byte-exakt: \"why\"}}\nscript: []\n",
    )
    .unwrap();

    let o = harness(&["validate", "clean.yaml"], d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = harness(&["validate", "clean.yaml", "warned.yaml"], d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("warning: warned.yaml:4:5: this `expect` has no `timeout`"),
        "{t}"
    );
    assert!(t.contains("[expect-without-timeout]"), "{t}");
    assert!(
        t.contains("warning: warned.yaml:5:5: this `result` has no `system/init`"),
        "{t}"
    );
    let o = harness(&["validate", "--deny-warnings", "warned.yaml"], d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    let o = harness(&["validate", "."], d);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("typo.yaml:5:5: unknown variant `injected_trun`"),
        "{t}"
    );
    assert!(t.contains("did you mean `injected_turn`?"), "{t}");
    assert!(
        t.contains(
            "waiver.yaml:2:18: `byte-exakt` is not a built-in invariant; did you mean `byte-exact`?"
        ),
        "{t}"
    );
    assert!(t.contains("2 of 4 file(s) have errors"), "{t}");
}

#[test]
fn the_library_is_lint_clean() {
    let o = harness(
        &["validate", "--deny-warnings", "scenarios", "supervisors"],
        &root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn new_writes_every_template_and_each_passes_against_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir(d.join("scenarios")).unwrap();
    std::fs::copy(
        root().join("scenarios/scenario.schema.json"),
        d.join("scenarios/scenario.schema.json"),
    )
    .unwrap();
    let templates: Vec<&str> = harness::new::TEMPLATES.iter().map(|t| t.0).collect();
    for t in &templates {
        let o = harness(&["new", &format!("scenarios/mine/{t}"), "--from", t], d);
        assert!(o.status.success(), "{}", text(&o));
        let body = std::fs::read_to_string(d.join(format!("scenarios/mine/{t}.yaml"))).unwrap();
        assert!(
            body.starts_with("# yaml-language-server: $schema=../scenario.schema.json\n"),
            "{body}"
        );
        assert!(body.contains(&format!("\nname: {t}\n")), "{body}");
    }
    let o = harness(&["new", "scenarios/mine/turn"], d);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an existing file is not overwritten"
    );
    let o = harness(
        &["new", "scenarios/mine/copy", "--from", "seed/startup-burst"],
        d,
    );
    assert!(o.status.success(), "{}", text(&o));
    let copy = std::fs::read_to_string(d.join("scenarios/mine/copy.yaml")).unwrap();
    assert!(
        copy.contains("\nname: copy\n") && copy.contains("burst"),
        "{copy}"
    );
    std::fs::remove_file(d.join("scenarios/mine/copy.yaml")).unwrap();
    let o = harness(&["new", "x", "--from", "no-such-template"], d);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("permission"), "lists the templates");

    let o = harness(&["validate", "--deny-warnings", "scenarios/mine"], d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = harness(
        &[
            "suite",
            "-q",
            "--format",
            "json",
            "--supervisor",
            "reference",
            "--supervisor",
            "reference-background",
            "scenarios/mine",
        ],
        d,
    );
    let report: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let bad = not_passed(&report);
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(
        report["cells"].as_array().unwrap().len(),
        2 * templates.len()
    );
}

#[test]
fn the_docs_list_every_lint_and_template() {
    let doc = std::fs::read_to_string(root().join("docs/harness.md")).unwrap();
    for (id, severity, _) in harness::lint::LINTS {
        let sev = match severity {
            harness::lint::Severity::Error => "error",
            harness::lint::Severity::Warning => "warning",
        };
        assert!(
            doc.contains(&format!("| `{id}` | {sev} |")),
            "docs/harness.md does not list lint {id} as {sev}"
        );
    }
    for (t, ..) in harness::new::TEMPLATES {
        assert!(
            doc.contains(&format!("`{t}`")),
            "docs/harness.md misses template {t}"
        );
    }
}

#[test]
fn the_github_actions_example_is_a_sharded_workflow() {
    let text = std::fs::read_to_string(root().join("docs/examples/github-actions.yml")).unwrap();
    let w: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("not YAML: {e}"));
    assert!(w["on"].is_object() || w["on"].is_array(), "a trigger");
    let jobs = w["jobs"].as_object().expect("jobs");
    for (name, job) in jobs {
        assert!(job["runs-on"].is_string(), "{name} has runs-on");
        for step in job["steps"].as_array().expect("steps") {
            assert!(
                step["uses"].is_string() || step["run"].is_string(),
                "{name}: a step must use an action or run a command: {step}"
            );
        }
    }
    let runs = |job: &str| -> String {
        jobs[job]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let validate = runs("validate");
    assert!(validate.contains("cargo install --locked --path .fake-claude/harness"));
    assert!(validate.contains("harness validate --deny-warnings"));
    let conformance = runs("conformance");
    assert!(conformance.contains("cargo nextest run -p harness --test conformance"));
    assert!(conformance.contains("--partition \"hash:${{ matrix.shard }}/$SHARDS\""));
    let shards = jobs["conformance"]["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("a shard matrix");
    let declared: usize = match &w["env"]["SHARDS"] {
        Value::Number(n) => n.as_u64().unwrap() as usize,
        Value::String(s) => s.parse().unwrap(),
        other => panic!("SHARDS: {other}"),
    };
    assert_eq!(shards.len(), declared, "one job per shard");
    let ks: Vec<u64> = shards.iter().map(|s| s.as_u64().unwrap()).collect();
    assert_eq!(ks, (1..=declared as u64).collect::<Vec<_>>());
    assert_eq!(jobs["conformance"]["needs"], "validate");
}
