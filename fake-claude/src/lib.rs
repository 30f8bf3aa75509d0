//! fake-claude: a faithful, scriptable stand-in for the Claude Code CLI.
//!
//! The library holds what fake-claude and the harness share: the scenario model and loader
//! ([`scenario`]), the JSON matcher ([`matcher`]) and templates ([`template`]), the transcript
//! ([`transcript`]), the per-version message shapes ([`profile`]), the step engine ([`engine`]) and
//! the recorder that turns a real session into a scenario ([`record`]). [`robustness`] holds the
//! any-input properties the fuzz targets and the proptest smoke share.

pub mod cli;
pub mod engine;
pub mod invocation;
pub mod matcher;
pub mod mode;
pub mod permissions;
pub mod probes;
pub mod profile;
pub mod record;
pub mod robustness;
pub mod scenario;
pub mod sessions;
pub mod template;
pub mod transcript;
