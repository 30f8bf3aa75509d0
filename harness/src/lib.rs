//! harness: runs supervisors of the Claude Code CLI against fake-claude scenarios and judges them.

pub mod artifacts;
pub mod verdict;
