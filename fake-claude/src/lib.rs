//! fake-claude: a faithful, scriptable stand-in for the Claude Code CLI.
//!
//! The library holds what fake-claude and the harness share: the scenario model and loader
//! ([`scenario`]), the JSON matcher ([`matcher`]) and templates ([`template`]), the transcript
//! ([`transcript`]), the per-version message shapes ([`profile`]) and the step engine ([`engine`]).
//! [`robustness`] holds the any-input properties the fuzz targets and the proptest smoke share.

pub mod cli;
pub mod engine;
pub mod invocation;
pub mod matcher;
pub mod profile;
pub mod robustness;
pub mod scenario;
pub mod template;
pub mod transcript;
