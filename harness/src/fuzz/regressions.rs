//! Shrunk counterexamples saved as ordinary scenarios under `scenarios/regressions/`, so each
//! becomes a regular snapshot test. The description names the property, the seed and the
//! supervisor; a metamorphic failure is saved as the transformed scenario expecting the turns the
//! supervisor reported for the original, so it fails as a plain scenario too.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::properties::{Failure, PROPERTIES};

/// File name (without `.yaml`) of a regression: `<property>-<supervisor>-<seed>`.
pub fn name(property: &str, supervisor: &str, seed: u64) -> String {
    let clean: String = supervisor
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{property}-{clean}-{seed}")
}

/// The scenario value to save.
pub fn scenario(f: &Failure, supervisor: &str, seed: u64, how: &str) -> Value {
    let mut s = f.scenario.clone();
    let says = PROPERTIES
        .iter()
        .find(|(id, _)| *id == f.property)
        .map_or("", |(_, d)| d);
    s["name"] = json!(name(f.property, supervisor, seed));
    s["description"] = json!(format!(
        "Found by `harness fuzz` ({how}): property `{}` ({says}) failed for supervisor `{supervisor}` with seed {seed}, shrunk to this case.\n\n{}",
        f.property,
        f.message
            .lines()
            .filter(|l| !l.trim_start().starts_with("(run dir kept"))
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
    ));
    s["distinguishes"] = json!(format!(
        "a supervisor that violates the generated property `{}`, as `{supervisor}` did",
        f.property
    ));
    s["sources"] = json!([format!("harness fuzz {how}")]);
    s["tags"] = json!(["fuzz", "regression", f.property]);
    if let Some(turns) = &f.expected_turns {
        let mut expect = s.get("expect").cloned().unwrap_or_else(|| json!({}));
        let mut merged: Vec<Value> = turns.clone();
        if let Some(Value::Array(old)) = expect.get("turns") {
            for (m, o) in merged.iter_mut().zip(old) {
                if let (Value::Object(m), Value::Object(o)) = (m, o) {
                    for (k, v) in o {
                        m.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
        expect["turns"] = Value::Array(merged);
        s["expect"] = expect;
    }
    s
}

/// Write the regression into `dir` (created if needed) in the canonical form the scenario model
/// serializes to; returns the path.
pub fn write(dir: &Path, scenario: &Value) -> Result<PathBuf, String> {
    let name = scenario["name"]
        .as_str()
        .unwrap_or("regression")
        .to_string();
    let yaml = serde_saphyr::to_string(scenario).map_err(|e| format!("cannot write YAML: {e}"))?;
    let loaded = fake_claude::scenario::load_str(&yaml, &name)
        .map_err(|e| format!("the regression does not load: {}", e.message))?;
    let text = fake_claude::scenario::to_yaml(&loaded.scenario)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!("# yaml-language-server: $schema=../scenario.schema.json\n{text}"),
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
