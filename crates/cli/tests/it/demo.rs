//! `sluice serve --demo`: the demo is a team's real history. Its releases were cut
//! through git (patch branches, fixes with `Patch:` trailers, merges, the 1.1 line
//! assembled by `release cut --line`), so every release Sluice cut verifies from
//! git alone, and the record agrees with the repository.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn git(dir: &Path, args: &[&str]) -> (bool, String) {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).trim().to_string(),
    )
}

fn sluice(dir: &Path, args: &[&str]) -> (bool, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SLUICE_SERVER")
        .env_remove("SLUICE_TOKEN")
        .env_remove("SLUICE_DATABASE_URL")
        .env_remove("SLUICE_CONFIG")
        .args(["--as", "bob@example.com", "--json"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (
        o.status.success(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_demo_s_releases_verify_and_agree_with_git() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .env("TMPDIR", tmp.path())
        .env("NO_COLOR", "1")
        .env_remove("SLUICE_SERVER")
        .env_remove("SLUICE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let second = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let Some(dir) = second.strip_prefix("demo repository: ").map(PathBuf::from) else {
        let _ = child.kill();
        let mut err = String::new();
        use std::io::Read;
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("the demo did not start: {first:?} {second:?}\n{err}");
    };
    std::thread::spawn(move || for _ in lines {});

    // Seeding left the repository as a developer would: on main, nothing changed.
    assert_eq!(git(&dir, &["branch", "--show-current"]).1, "main");
    assert_eq!(git(&dir, &["status", "--porcelain"]).1, "");

    let tags = git(&dir, &["tag", "--list", "--sort=v:refname"]).1;
    let tags: Vec<&str> = tags.lines().collect();
    assert_eq!(
        tags,
        ["v1.0.0", "v1.1.0", "v1.1.1", "v1.2.0", "v1.2.1", "v1.2.2"]
    );
    // Every release Sluice cut verifies offline, from git and the process file.
    for tag in &tags[1..] {
        let (ok, v, err) = sluice(&dir, &["verify", tag]);
        assert!(ok, "{tag} does not verify: {v:#}\n{err}");
        assert_eq!(v["ok"], true, "{tag}: {v:#}");
        assert!(
            !v["evidence"]["commits"].as_array().unwrap().is_empty(),
            "{tag} lists its commits: {v:#}"
        );
    }
    // The baseline shipped before Sluice: it says so rather than pretending.
    let (ok, v, _) = sluice(&dir, &["verify", "v1.0.0"]);
    assert!(!ok);
    assert!(
        v["problems"][0]
            .as_str()
            .unwrap()
            .contains("no evidence note"),
        "{v:#}"
    );

    // The record agrees with git: each release names its tag and the commit it points at.
    for tag in &tags[1..] {
        let version = tag.trim_start_matches('v');
        let (ok, r, err) = sluice(&dir, &["release", "show", version]);
        assert!(ok, "{err}");
        let peeled = git(&dir, &["rev-parse", &format!("{tag}^{{commit}}")]).1;
        assert_eq!(r["release"]["git"]["tag"], *tag, "{r:#}");
        assert_eq!(
            r["release"]["git"]["target"],
            peeled.as_str(),
            "{tag}: {r:#}"
        );
    }
    // The 1.1 line: release/1.1 built from v1.1.0 and the payment fix; main holds the
    // fix too (merged after the cut), so 1.2.0 does not lose what 1.1.1 shipped.
    let fix = git(
        &dir,
        &[
            "log",
            "--format=%H",
            "--grep=^Patch: SHOP-3$",
            "release/1.1",
        ],
    )
    .1;
    assert_eq!(fix.lines().count(), 1, "one commit of SHOP-3: {fix}");
    for holder in ["v1.1.1", "v1.2.0", "main"] {
        assert!(
            git(&dir, &["merge-base", "--is-ancestor", &fix, holder]).0,
            "{holder} holds the payment fix"
        );
    }
    assert!(git(&dir, &["merge-base", "--is-ancestor", "v1.1.0", "v1.1.1"]).0);
    assert!(!git(&dir, &["merge-base", "--is-ancestor", "v1.1.1", "main"]).0);
    // The changelog on main has each main release; the line's is on its branch.
    let changelog = std::fs::read_to_string(dir.join("CHANGELOG.md")).unwrap();
    for v in ["1.1.0", "1.2.0", "1.2.1", "1.2.2"] {
        assert!(changelog.contains(&format!("## [{v}]")), "{changelog}");
    }
    let line_log = git(&dir, &["show", "release/1.1:CHANGELOG.md"]).1;
    assert!(line_log.contains("## [1.1.1]"), "{line_log}");
    // Commit times follow the record: the history is three weeks old, not made today.
    let first_fix = git(
        &dir,
        &["log", "--format=%ct", "--grep=^Patch: SHOP-1$", "main"],
    )
    .1;
    let age = jiff::Timestamp::now().as_second() - first_fix.parse::<i64>().unwrap();
    assert!(age > 14 * 86_400, "SHOP-1's fix is {age} s old");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..200 {
        if let Ok(Some(st)) = child.try_wait() {
            assert!(st.success(), "the demo stopped with {st}");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the demo did not stop on SIGTERM");
}
