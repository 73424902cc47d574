//! The one way a test reaches the corpus of real third-party fixtures (payloads,
//! changelogs, commit messages) that lives outside the repository.
//!
//! Included by path (`#[path = "…/support/fixtures.rs"] mod fixtures;`) in every test
//! that uses the corpus. The folder is `SLUICE_FIXTURES`, else `../shared/fixtures`
//! beside the repository. When it is absent, [`dir`] says loudly that the test skipped
//! and returns `None`; with `SLUICE_REQUIRE_FIXTURES=1` (set by `.ci/run`) it fails the
//! test instead. Every behaviour these tests cover is also tested with fixtures kept in
//! the repository, so a fresh clone with nothing beside it passes.

use std::io::Write;
use std::path::PathBuf;

/// The fixtures folder, whether or not it is there: for helpers of tests that asked
/// [`dir`] first.
pub fn root() -> PathBuf {
    match std::env::var_os("SLUICE_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures"
        )),
    }
}

/// The fixtures folder, or `None` (said on stderr) when it is absent and not required.
pub fn dir(test: &str) -> Option<PathBuf> {
    let path = root();
    if path.is_dir() {
        return Some(path);
    }
    let required = std::env::var("SLUICE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: SLUICE_REQUIRE_FIXTURES=1 but there are no fixtures at {} (set SLUICE_FIXTURES to the folder)",
        path.display()
    );
    // Straight to stderr, past the test harness's capture, so a skip is always seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: no third-party fixtures at {} (set SLUICE_FIXTURES to run it)",
        path.display()
    );
    None
}
