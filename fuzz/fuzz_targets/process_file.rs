//! Fuzz target `process_file`: see `sluice_fuzz::checks::process_file` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checks::process_file(data));
