//! Usage, configuration and identity errors: exit code 2 and a clear message.

use std::process::Command;

use crate::both;
use crate::harness::{ALICE, BOB, Backend, Repo};

both!(unknown_names, unknown_names);

fn unknown_names(backend: Backend) {
    let repo = Repo::new(backend);
    repo.error(
        BOB,
        &["patch", "show", "SHOP-999"],
        &["no patch `SHOP-999`"],
    );
    repo.error(
        BOB,
        &["patch", "start", "SHOP-999"],
        &["no patch `SHOP-999`"],
    );
    repo.error(BOB, &["release", "show", "9.9.9"], &["no release `9.9.9`"]);
    repo.fix("Broken footer");
    let v = repo.cut();
    repo.error(
        BOB,
        &["promote", &v, "--to", "staging"],
        &["unknown environment `staging`", "local, dev, test, prod"],
    );
    repo.error(
        ALICE,
        &[
            "test", "report", &v, "--env", "local", "--suite", "fuzz", "--pass",
        ],
        &["unknown suite `fuzz`"],
    );
    assert_eq!(repo.holds("local"), None);
}

fn bare() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sluice-it-")
        .tempdir()
        .unwrap()
}

fn sluice(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SLUICE_USER")
        .env_remove("SLUICE_CONFIG")
        .env_remove("SLUICE_DATABASE_URL")
        .args(args);
    c
}

fn describe(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A `file:line:column` location in `s`, e.g. `sluice.toml:3:7`.
fn has_location(s: &str, file: &str) -> bool {
    s.match_indices(&format!("{file}:")).any(|(i, m)| {
        let rest = &s[i + m.len()..];
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().unwrap_or("");
        let col: String = parts
            .next()
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        !line.is_empty() && line.chars().all(|c| c.is_ascii_digit()) && !col.is_empty()
    })
}

#[test]
fn broken_process_file() {
    let repo = Repo::new(Backend::Sqlite);
    std::fs::write(
        repo.path().join("sluice.toml"),
        "[project]\nname = \"shop\"\nkey = \n",
    )
    .unwrap();
    let out = repo.error(BOB, &["status"], &["sluice.toml"]);
    assert!(
        has_location(&out.stderr, "sluice.toml"),
        "stderr must give file:line:column:\n{out}"
    );
    assert!(
        out.stderr.contains("sluice.toml:3:"),
        "the error is on line 3:\n{out}"
    );
    // `check` reports it the same way.
    let out = repo.error(BOB, &["check"], &["sluice.toml:3:"]);
    assert!(has_location(&out.stderr, "sluice.toml"), "{out}");

    // A file that parses but breaks the rules is located too.
    let text = crate::harness::Proc::default()
        .render()
        .replace("approvals = [\"qa\"]", "approvals = [\"nobody\"]");
    std::fs::write(repo.path().join("sluice.toml"), text).unwrap();
    let out = repo.error(BOB, &["status"], &["nobody"]);
    assert!(
        has_location(&out.stderr, "sluice.toml"),
        "stderr must give file:line:column:\n{out}"
    );
}

#[test]
fn broken_process_file_says_error_once() {
    let repo = Repo::new(Backend::Sqlite);
    std::fs::write(repo.path().join("sluice.toml"), "[project\n").unwrap();
    let out = repo.error(BOB, &["status"], &[]);
    assert!(
        !out.stderr.contains("error: error:"),
        "the message stutters:\n{out}"
    );
}

#[test]
fn init_twice() {
    let dir = bare();
    let o = sluice(dir.path(), &["init"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let written = std::fs::read_to_string(dir.path().join("sluice.toml")).unwrap();
    let o = sluice(dir.path(), &["check"]).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "the default process must validate: {}",
        describe(&o)
    );

    std::fs::write(
        dir.path().join("sluice.toml"),
        format!("{written}\n# edited by hand\n"),
    )
    .unwrap();
    let o = sluice(dir.path(), &["init"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{}",
        describe(&o)
    );
    assert!(
        std::fs::read_to_string(dir.path().join("sluice.toml"))
            .unwrap()
            .ends_with("# edited by hand\n"),
        "init must not overwrite"
    );

    let o = sluice(dir.path(), &["init", "--force"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sluice.toml")).unwrap(),
        written
    );
}

#[test]
fn no_identity() {
    let repo = Repo::new(Backend::Sqlite);
    let home = bare();
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo.path())
        .env("HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(git.success());
    let anonymous = |args: &[&str]| {
        let mut c = repo.command(None, args);
        c.env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_CONFIG_GLOBAL")
            .env_remove("EMAIL")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("GIT_COMMITTER_EMAIL");
        c
    };
    let o = anonymous(&["patch", "report", "Nobody reported this"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("who is acting") && err.contains("--as") && err.contains("SLUICE_USER"),
        "{}",
        describe(&o)
    );
    // Nothing was recorded.
    let o = anonymous(&["patch", "list", "--all", "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list["total"], 0, "{list}");

    // SLUICE_USER and git's user.email are identities.
    let o = anonymous(&["patch", "report", "Reported by env"])
        .env("SLUICE_USER", "alice@example.com")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let git = Command::new("git")
        .args(["config", "user.email", "erin@example.com"])
        .current_dir(repo.path())
        .env("HOME", home.path())
        .status()
        .unwrap();
    assert!(git.success());
    let o = anonymous(&["patch", "report", "Reported by git", "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["reporter"], "erin@example.com", "{p}");
}

both!(patch_keys_in_any_case, patch_keys_in_any_case);

/// `shop-1` and ` Shop-1 ` name SHOP-1: keys are read the way people type them.
fn patch_keys_in_any_case(backend: Backend) {
    let repo = Repo::new(backend);
    let key = repo.fix("Broken footer");
    assert_eq!(key, "SHOP-1");
    for typed in ["shop-1", "Shop-1", " SHOP-1 "] {
        let p = repo.json(BOB, &["patch", "show", typed]);
        assert_eq!(p["patch"]["key"], "SHOP-1", "{typed}: {p}");
    }
    repo.error(BOB, &["patch", "show", "shop-99"], &["no patch `shop-99`"]);
}
