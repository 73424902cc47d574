//! Golden end-to-end cases as data: `tests/cases/<name>/` holds a process file,
//! a script that builds a history in a fresh git repository and runs Sluice,
//! and the expected output. `UPDATE_CASES=1` rewrites the expectations.

use std::path::Path;
use std::process::Command;

const PRELUDE: &str = r#"
set -u
n=0
# c NAME MESSAGE: a commit touching NAME.txt, one minute after the previous one.
c() {
  n=$((n + 1))
  export GIT_AUTHOR_DATE="@$((1767225600 + n * 60)) +0000" GIT_COMMITTER_DATE="@$((1767225600 + n * 60)) +0000"
  echo "$1" > "$1.txt"; git add "$1.txt"; git commit -qm "$2"
}
# run CMD...: the command as typed, its output, and its exit code.
run() {
  local shown="$*"
  echo "\$ ${shown//$SLUICE/sluice}"
  "$@" 2>&1
  echo "[exit $?]"
}
"#;

/// Dates, times and deployment ids change from run to run; full commit ids of
/// Sluice's own changelog commits contain the date.
fn redact(s: &str, dir: &str) -> String {
    let s = s.replace(dir, "<dir>");
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let digits =
        |i: usize, n: usize| i + n <= b.len() && b[i..i + n].iter().all(u8::is_ascii_digit);
    let hex = |i: usize, n: usize| {
        i + n <= b.len()
            && b[i..i + n]
                .iter()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    };
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary
            && digits(i, 4)
            && b.get(i + 4) == Some(&b'-')
            && digits(i + 5, 2)
            && b.get(i + 7) == Some(&b'-')
            && digits(i + 8, 2)
        {
            out.push_str("<date>");
            i += 10;
        } else if boundary && digits(i, 2) && b.get(i + 2) == Some(&b':') && digits(i + 3, 2) {
            out.push_str("<time>");
            i += 5;
            while i < b.len() && (b[i] == b':' || b[i] == b'.' || b[i].is_ascii_digit()) {
                i += 1;
            }
        } else if boundary && b[i] == b'D' && digits(i + 1, 13) {
            out.push_str("<deployment>");
            i += 14;
            while i < b.len() && (b[i] == b'-' || b[i].is_ascii_digit()) {
                i += 1;
            }
        } else if boundary && hex(i, 40) && !b.get(i + 40).is_some_and(u8::is_ascii_alphanumeric) {
            out.push_str("<sha>");
            i += 40;
        } else {
            let ch = s[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    // A weekday before a date ("it is now Mon <date>") changes with the date.
    for day in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] {
        out = out.replace(&format!("{day} <date>"), "<day> <date>");
    }
    out
}

fn run_case(dir: &Path) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).map_err(|e| e.to_string())?;
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .expect("git runs");
        assert!(st.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["config", "user.email", "bob@example.com"]);
    git(&["config", "user.name", "Bob"]);
    git(&["config", "commit.gpgsign", "false"]);
    git(&["config", "tag.gpgsign", "false"]);
    std::fs::copy(dir.join("sluice.toml"), repo.join("sluice.toml")).map_err(|e| e.to_string())?;
    std::fs::write(repo.join(".git/info/exclude"), "sluice.toml\n.sluice/\n")
        .map_err(|e| e.to_string())?;
    let script = std::fs::read_to_string(dir.join("script.sh")).map_err(|e| e.to_string())?;
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .current_dir(&repo)
        .env("SLUICE", env!("CARGO_BIN_EXE_sluice"))
        .env("SLUICE_USER", "bob@example.com")
        .env("NO_COLOR", "1")
        .env("HOME", tmp.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("SLUICE_DATABASE_URL")
        .env_remove("SLUICE_CONFIG")
        .env_remove("VISUAL")
        .env_remove("EDITOR")
        .output()
        .map_err(|e| e.to_string())?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let got = redact(&text, &repo.display().to_string());
    let expected_path = dir.join("expected.txt");
    if std::env::var_os("UPDATE_CASES").is_some() {
        std::fs::write(&expected_path, &got).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let want = std::fs::read_to_string(&expected_path).map_err(|_| {
        format!(
            "{} has no expected.txt; run with UPDATE_CASES=1 and review it",
            dir.display()
        )
    })?;
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        return Err(format!(
            "{}: output differs from expected.txt at line {}:\n--- expected\n{}\n--- got\n{}",
            dir.display(),
            first + 1,
            want.lines()
                .skip(first)
                .take(8)
                .collect::<Vec<_>>()
                .join("\n"),
            got.lines()
                .skip(first)
                .take(8)
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    Ok(())
}

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("script.sh").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 7, "the golden cases are there");
    let failures: Vec<String> = dirs.iter().filter_map(|d| run_case(d).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}

#[test]
fn redaction_keeps_what_matters() {
    let s = "v1.2.4 at 2026-11-24 10:15:03.123 by D1795475538687-30473-0 on 0123456789abcdef0123456789abcdef01234567 (0123456789), now Tue 2026-11-24";
    assert_eq!(
        redact(s, "/nowhere"),
        "v1.2.4 at <date> <time> by <deployment> on <sha> (0123456789), now <day> <date>"
    );
}
