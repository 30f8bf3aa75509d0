//! Bytes → the scenario loader: it never panics, and a malformed file gives an error that says
//! `fuzz.yaml:line:column` (see `fake_claude::robustness::check_scenario`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fake_claude::robustness::check_scenario(data);
});
