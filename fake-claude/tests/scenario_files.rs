//! The checked-in JSON Schema is what the model generates, and every scenario file in the
//! repository loads, starts with the schema modeline, and has a description and sources.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn schema_is_fresh() {
    let path = repo().join("scenarios/scenario.schema.json");
    let fresh = fake_claude::scenario::schema::schema_json();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "{} is stale: run `UPDATE_SCHEMA=1 cargo test -p fake-claude --test scenario_files` and commit it",
        path.display()
    );
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_scenario_file_loads_with_modeline() {
    let mut files = Vec::new();
    yaml_files(&repo().join("scenarios"), &mut files);
    assert!(
        files.len() >= 4,
        "expected the seed scenarios, found {files:?}"
    );
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let first = text.lines().next().unwrap_or_default();
        if !first.starts_with("# yaml-language-server: $schema=") {
            problems.push(format!(
                "{}: first line must be the schema modeline",
                f.display()
            ));
        } else {
            let rel = first.trim_start_matches("# yaml-language-server: $schema=");
            let target = f.parent().unwrap().join(rel);
            if !target.exists() {
                problems.push(format!(
                    "{}: modeline points at missing {}",
                    f.display(),
                    target.display()
                ));
            }
        }
        match fake_claude::scenario::load_file(f) {
            Ok(l) => {
                if l.scenario.description.trim().is_empty() {
                    problems.push(format!("{}: needs a description", f.display()));
                }
                if l.scenario.sources.is_empty() {
                    problems.push(format!("{}: needs sources", f.display()));
                }
            }
            Err(e) => problems.push(e.message),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Serializing a loaded scenario gives YAML that loads back to the same model, and serializing
/// that again gives the same text (generated scenarios are saved this way).
#[test]
fn every_scenario_round_trips_through_yaml() {
    let mut files = Vec::new();
    yaml_files(&repo().join("scenarios"), &mut files);
    let mut problems = Vec::new();
    for f in &files {
        let Ok(first) = fake_claude::scenario::load_file(f) else {
            continue; // reported by every_scenario_file_loads_with_modeline
        };
        let yaml = fake_claude::scenario::to_yaml(&first.scenario).unwrap();
        match fake_claude::scenario::load_str(&yaml, "<round trip>") {
            Ok(again) => {
                let (a, b) = (
                    serde_json::to_value(&first.scenario).unwrap(),
                    serde_json::to_value(&again.scenario).unwrap(),
                );
                if a != b {
                    problems.push(format!(
                        "{}: the model changed on the way:\n{yaml}",
                        f.display()
                    ));
                } else if fake_claude::scenario::to_yaml(&again.scenario).unwrap() != yaml {
                    problems.push(format!("{}: the YAML is not stable", f.display()));
                }
            }
            Err(e) => problems.push(format!("{}: {}\n{yaml}", f.display(), e.message)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The library table in scenarios/README.md lists every scenario (generated regressions under
/// `regressions/` excepted), so the docs cannot silently fall behind the library.
#[test]
fn every_library_scenario_is_listed_in_the_readme() {
    let root = repo().join("scenarios");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(&root).ok()?.to_str()?.to_string();
            let id = rel.strip_suffix(".yaml")?.to_string();
            (!id.starts_with("regressions/") && !readme.contains(&format!("[`{id}`]({rel})")))
                .then_some(id)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "scenarios/README.md's library table lacks: {}",
        missing.join(", ")
    );
}
