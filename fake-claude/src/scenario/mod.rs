//! The scenario language: model (serde types), loading with diagnostics, JSON Schema.

pub mod duration;
pub mod load;
pub mod model;
pub mod schema;

pub use load::{LoadError, Loaded, load_file, load_str};
pub use model::Scenario;

/// The scenario fake-claude plays when none is given: a well-mannered CLI.
pub const DEFAULT_SCENARIO: &str = include_str!("default.yaml");
pub const DEFAULT_SOURCE: &str = "<embedded default>";

/// A scenario as YAML that [`load_str`] reads back to the same model (absent and default fields
/// left out), e.g. for generated scenarios saved as files. The schema modeline is the caller's.
pub fn to_yaml(scenario: &Scenario) -> Result<String, String> {
    serde_saphyr::to_string(scenario).map_err(|e| format!("cannot write the scenario as YAML: {e}"))
}

pub fn default_scenario() -> Loaded {
    // The embedded default is checked by a unit test, so this cannot fail in a released build;
    // if it somehow did, an empty script (idle CLI) is the safest fallback.
    load_str(DEFAULT_SCENARIO, DEFAULT_SOURCE).unwrap_or_else(|_| Loaded {
        scenario: Scenario {
            name: "default".into(),
            description: String::new(),
            sources: vec![],
            caught_by: vec![],
            distinguishes: None,
            profile: None,
            tags: vec![],
            requires: vec![],
            watchdog: None,
            seed: None,
            on_sigterm: None,
            auth: None,
            non_json_stdin: None,
            chunking: None,
            handlers: Default::default(),
            drive: Default::default(),
            expect: Default::default(),
            script: vec![],
        },
        source: DEFAULT_SOURCE.into(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_default_loads() {
        super::load_str(super::DEFAULT_SCENARIO, super::DEFAULT_SOURCE).unwrap();
    }
}
