//! Fuzz target `github`: see `sluice_fuzz::checks::github` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checks::github(data));
