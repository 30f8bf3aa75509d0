//! `harness`: run supervisors of the Claude Code CLI against fake-claude scenarios.
//!
//! Multi-call: started as `fake-claude` (argv[0]) or as `harness fake-claude ARGS...` it *is*
//! fake-claude, so the per-run `claude` wrapper can point at this binary and no build order
//! between packages matters. `harness reference-supervisor
//! ARGS...` is the reference supervisor (the embedded default definitions run it so).
//! Everything else is `cli`.

mod cli;

use std::ffi::OsString;
use std::path::Path;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    if name == "fake-claude" {
        std::process::exit(fake_claude::cli::main());
    }
    if args.get(1).and_then(|a| a.to_str()) == Some("reference-supervisor") {
        let rest = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        std::process::exit(reference_supervisor::main_with_args(rest));
    }
    if args.get(1).and_then(|a| a.to_str()) == Some("fake-claude") {
        let rest = args[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        std::process::exit(fake_claude::cli::main_with_args(rest));
    }
    std::process::exit(cli::main());
}
