//! The JSON Schema (draft-07, what yaml-language-server validates) of scenario files, generated
//! from the model so it cannot drift; `scenarios/scenario.schema.json` is checked in and a test
//! fails when it is stale (`UPDATE_SCHEMA=1 cargo test` rewrites it).

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
