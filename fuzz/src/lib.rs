//! The properties the fuzz targets assert. They live in `checks.rs` so that
//! sluice-core's bounded property tests (`crates/core/tests/fuzz_inputs.rs`)
//! include the very same file and check the same things on stable.

#![forbid(unsafe_code)]

pub mod checks;
