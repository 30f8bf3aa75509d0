//! Bytes → the fake's stdin handling: line splitting in arbitrary chunks, decoding, routing
//! look-ups and the matcher (see `fake_claude::robustness::check_stdin`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fake_claude::robustness::check_stdin(data);
});
