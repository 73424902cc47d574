//! Fuzz target `changelog_scan`: see `sluice_fuzz::checks::changelog_scan` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checks::changelog_scan(data));
