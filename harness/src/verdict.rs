//! The judgement of one run: every violated expectation or invariant, each pointing at the
//! transcript records or report lines involved.

use serde::{Deserialize, Serialize};

/// One thing that went wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Invariant id (`control-accounting`, ...) or expectation id (`expect.turns[1].output`).
    pub id: String,
    pub message: String,
    /// Indexes into `RunArtifacts::transcript` of the records involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub violations: Vec<Violation>,
    /// Invariants the scenario waived, with the reason.
    pub waived: Vec<(String, String)>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}
