//! `harness new <name> [--from <template>]`: a commented starter scenario with the schema
//! modeline. Templates are built in (`harness/templates/`, each checked by a test to be
//! lint-clean and to pass against the reference supervisor), or `--from` names an existing
//! scenario (a path or an id under `scenarios/`) to start from a copy.

use std::path::{Path, PathBuf};

/// Built-in templates: name, what it starts, text.
pub const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "turn",
        "one prompt, one answer (the default)",
        include_str!("../templates/turn.yaml"),
    ),
    (
        "multi-turn",
        "two prompts on one CLI process",
        include_str!("../templates/multi-turn.yaml"),
    ),
    (
        "permission",
        "the CLI asks the supervisor with can_use_tool",
        include_str!("../templates/permission.yaml"),
    ),
    (
        "background",
        "a background task, its notification and an injected turn",
        include_str!("../templates/background.yaml"),
    ),
    (
        "crash",
        "the CLI dies mid-turn with a message on stderr",
        include_str!("../templates/crash.yaml"),
    ),
    (
        "hang",
        "the CLI goes silent; the supervisor must time out",
        include_str!("../templates/hang.yaml"),
    ),
];

/// Where `harness new <name>` writes: `<name>` itself if it ends in `.yaml`/`.yml`, else
/// `<name>.yaml`.
pub fn target(name: &str) -> PathBuf {
    let p = PathBuf::from(name);
    match p.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => p,
        _ => PathBuf::from(format!("{name}.yaml")),
    }
}

/// The starter text for a file at `path`, from a built-in template or the scenario text given.
/// The `name:` is the file stem; the modeline points at the nearest schema.
pub fn starter(path: &Path, template: &str) -> String {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "new-scenario".into());
    let modeline = fake_claude::scenario::schema::modeline_path(path)
        .map(|s| format!("# yaml-language-server: $schema={s}"));
    let mut out = String::new();
    let mut named = false;
    for line in template.lines() {
        if line == "__MODELINE__" || line.starts_with("# yaml-language-server:") {
            if let Some(m) = &modeline {
                out.push_str(m);
                out.push('\n');
            }
            continue;
        }
        if !named && line.starts_with("name:") {
            named = true;
            out.push_str(&format!("name: {name}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if modeline.is_some() && !out.starts_with("# yaml-language-server:") {
        out.insert_str(0, &format!("{}\n", modeline.unwrap_or_default()));
    }
    out
}

/// The built-in template's text.
pub fn template(name: &str) -> Option<&'static str> {
    TEMPLATES.iter().find(|t| t.0 == name).map(|t| t.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_loads_without_lints() {
        for (name, _, text) in TEMPLATES {
            let t = starter(Path::new("/nowhere/mine.yaml"), text);
            assert!(
                t.starts_with("# A scenario") || t.starts_with("# "),
                "{name}"
            );
            assert!(t.contains("name: mine\n"), "{name}");
            let lints = crate::lint::check_str(&t, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(lints.is_empty(), "{name}: {lints:?}");
        }
    }

    #[test]
    fn targets() {
        assert_eq!(
            target("scenarios/mine/x"),
            PathBuf::from("scenarios/mine/x.yaml")
        );
        assert_eq!(target("x.yml"), PathBuf::from("x.yml"));
    }
}
