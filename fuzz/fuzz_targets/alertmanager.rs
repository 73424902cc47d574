//! Fuzz target `alertmanager`: see `sluice_fuzz::checks::alertmanager` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checks::alertmanager(data));
