//! Fuzz target `grafana`: see `sluice_fuzz::checks::grafana` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checks::grafana(data));
