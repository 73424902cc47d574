//! Fuzz target `commit_message`: see `sluice_fuzz::checks::commit_message` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checks::commit_message(data));
