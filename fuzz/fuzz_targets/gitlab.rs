//! Fuzz target `gitlab`: see `sluice_fuzz::checks::gitlab` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checks::gitlab(data));
