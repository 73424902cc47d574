//! `sluice version` on real public histories, against independent tools.
//!
//! For each repository of `tests/real/repos.toml`: clone its snapshot with all its tags,
//! put HEAD at the recorded commit, and check that `sluice version` names the release
//! `git describe --tags --abbrev=0` finds (run here, live) and that `sluice version
//! --next` gives the recorded next version (which git-cliff agreed with, or the file says
//! why not).
//!
//! The snapshots are not part of the repository: they are found under
//! `$SLUICE_REAL_REPOS/<owner>+<name>/repo` (bare git directories). Without that variable
//! the test says loudly that it skipped; with `SLUICE_REQUIRE_REAL_REPOS=1` a missing
//! snapshot fails it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(serde::Deserialize)]
struct Data {
    repo: Vec<Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    name: String,
    commit: String,
    describe: String,
    current: String,
    next: String,
    cliff: String,
    why: Option<String>,
    unreachable_higher: Option<String>,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn sluice(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SLUICE_CONFIG")
        .args(args)
        .output()
        .expect("sluice runs");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "sluice {args:?} in {dir:?}: {stderr}");
    (stdout, stderr)
}

fn snapshots() -> Option<PathBuf> {
    match std::env::var_os("SLUICE_REAL_REPOS") {
        Some(d) => Some(PathBuf::from(d)),
        None => {
            assert!(
                std::env::var_os("SLUICE_REQUIRE_REAL_REPOS").is_none(),
                "SLUICE_REQUIRE_REAL_REPOS is set but SLUICE_REAL_REPOS is not"
            );
            // Straight to stderr, past the test harness's capture, so a skip is always seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED real_repos: SLUICE_REAL_REPOS is not set (a folder of <owner>+<name>/repo snapshots)"
            );
            None
        }
    }
}

#[test]
fn version_agrees_with_git_describe_and_the_recorded_next_version() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real/repos.toml"),
    )
    .expect("tests/real/repos.toml");
    let data: Data = toml::from_str(&text).expect("repos.toml parses");
    assert!(data.repo.len() >= 4);
    let Some(root) = snapshots() else { return };
    let require = std::env::var_os("SLUICE_REQUIRE_REAL_REPOS").is_some();
    let mut checked = 0;
    for e in &data.repo {
        let snapshot = root.join(e.name.replace('/', "+")).join("repo");
        if !snapshot.is_dir() {
            assert!(!require, "no snapshot of {} at {snapshot:?}", e.name);
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {}: no snapshot at {snapshot:?}",
                e.name
            );
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("clone");
        let out = Command::new("git")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["clone", "-q", "--no-checkout"])
            .arg(&snapshot)
            .arg(&dir)
            .output()
            .expect("git clone runs");
        assert!(out.status.success(), "clone {}: {out:?}", e.name);
        git(&dir, &["update-ref", "--no-deref", "HEAD", &e.commit]);
        assert_eq!(git(&dir, &["rev-parse", "HEAD"]), e.commit);
        if let Some(t) = &e.unreachable_higher {
            // The snapshot still has the tag the test is about, and HEAD does not hold it.
            let contains = git(&dir, &["tag", "--merged", "HEAD", "--list", t]);
            assert!(
                contains.is_empty(),
                "{}: {t} should not be reachable",
                e.name
            );
            assert_eq!(
                git(&dir, &["tag", "--list", t]),
                *t,
                "{}: {t} exists",
                e.name
            );
        }

        let describe = git(&dir, &["describe", "--tags", "--abbrev=0"]);
        assert_eq!(describe, e.describe, "{}: git describe changed", e.name);
        let (current, _) = sluice(&dir, &["version"]);
        let digits = describe.trim_start_matches(|c: char| !c.is_ascii_digit());
        assert_eq!(
            current, digits,
            "{}: sluice version against git describe",
            e.name
        );
        assert_eq!(current, e.current, "{}", e.name);
        let (next, _) = sluice(&dir, &["version", "--next"]);
        assert_eq!(next, e.next, "{}: sluice version --next", e.name);
        if e.why.is_none() {
            assert_eq!(
                e.cliff.trim_start_matches(|c: char| !c.is_ascii_digit()),
                next,
                "{}: git-cliff's --bumped-version",
                e.name
            );
        }
        checked += 1;
    }
    eprintln!(
        "real_repos: {checked} of {} repositories checked",
        data.repo.len()
    );
}
