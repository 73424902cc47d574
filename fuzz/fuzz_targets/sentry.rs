//! Fuzz target `sentry`: see `sluice_fuzz::checks::sentry` for what it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::checks::sentry(data));
