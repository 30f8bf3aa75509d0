//! CLI version profiles: which shapes a given real CLI version emits. The builders in
//! [`messages`] and the control answers in [`control`] read the profile; the fidelity tests check
//! them against real transcripts of each version.

pub mod control;
pub mod ids;
pub mod messages;

/// A real CLI version whose wire shapes fake-claude reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Bundled with the Python Agent SDK 0.1.50.
    V2_1_81,
    /// Bundled with the Python Agent SDK 0.2.187 (the default).
    V2_1_330,
}

impl Profile {
    pub const ALL: [Profile; 2] = [Profile::V2_1_81, Profile::V2_1_330];
    pub const DEFAULT: Profile = Profile::V2_1_330;

    pub fn parse(s: &str) -> Option<Profile> {
        match s.trim() {
            "2.1.81" => Some(Profile::V2_1_81),
            "2.1.330" => Some(Profile::V2_1_330),
            _ => None,
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Profile::V2_1_81 => "2.1.81",
            Profile::V2_1_330 => "2.1.330",
        }
    }

    /// The newer wire: `timestamp` on assistant frames, `origin` on injected results,
    /// `task_updated`, `background_tasks_changed`, `session_state_changed`, `error_code`, ...
    pub fn is_new(self) -> bool {
        self == Profile::V2_1_330
    }

    /// The model the profile's CLI reported in our captures.
    pub fn model(self) -> &'static str {
        match self {
            Profile::V2_1_81 => "claude-sonnet-4-6",
            Profile::V2_1_330 => "claude-opus-5-5",
        }
    }

    pub fn known() -> String {
        Profile::ALL
            .iter()
            .map(|p| p.version())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
