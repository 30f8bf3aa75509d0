//! The JSON Schema (draft-07, what yaml-language-server validates) of scenario files, generated
//! from the model so it cannot drift; `scenarios/scenario.schema.json` is checked in and a test
//! fails when it is stale (`UPDATE_SCHEMA=1 cargo test` rewrites it).

use std::path::{Component, Path, PathBuf};

use schemars::generate::SchemaSettings;

use super::model::Scenario;

pub fn schema_json() -> String {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Scenario>();
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// The path a new scenario file at `file` should name in its
/// `# yaml-language-server: $schema=...` modeline: the nearest `scenarios/scenario.schema.json`
/// (or `scenario.schema.json`) up the directory tree, relative to the file's directory.
pub fn modeline_path(file: &Path) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    let file = cwd.join(file);
    let dir = file.parent()?.to_path_buf();
    let schema = dir.ancestors().find_map(|a| {
        [
            a.join("scenario.schema.json"),
            a.join("scenarios").join("scenario.schema.json"),
        ]
        .into_iter()
        .find(|p| p.is_file())
    })?;
    Some(relative(&schema, &dir).to_string_lossy().replace('\\', "/"))
}

/// `to` relative to the directory `from` (both absolute).
fn relative(to: &Path, from: &Path) -> PathBuf {
    fn norm(p: &Path) -> Vec<Component<'_>> {
        p.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect()
    }
    let (t, f) = (norm(to), norm(from));
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(
                Path::new("/r/scenarios/scenario.schema.json"),
                Path::new("/r/scenarios/mine")
            ),
            PathBuf::from("../scenario.schema.json")
        );
        assert_eq!(
            relative(
                Path::new("/r/scenarios/scenario.schema.json"),
                Path::new("/r/scenarios")
            ),
            PathBuf::from("scenario.schema.json")
        );
    }
}
