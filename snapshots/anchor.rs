//! Not a test: makes `snapshots/` part of the harness package so `cargo insta review` finds the
//! conformance snapshots stored here (snapshots/<supervisor>/<scenario>.snap).
fn main() {}
