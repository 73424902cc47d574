//! `sluice completions` and `sluice man`: generated from the command
//! definitions, and accepted by the tools that read them.

use std::path::PathBuf;
use std::process::Command;

fn sluice(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn completions_parse_in_their_shell() {
    let o = sluice(&["completions", "bash"]);
    assert!(o.status.success());
    let script = String::from_utf8(o.stdout).unwrap();
    assert!(script.contains("complete -F _sluice"), "{script}");
    // Every subcommand is offered, the new ones too.
    for sub in ["patch", "release", "retro", "tick", "calendar", "incident"] {
        assert!(script.contains(sub), "{sub}");
    }
    // bash itself accepts it.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sluice.bash");
    std::fs::write(&f, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&f).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced in bash, `sluice pa<TAB>` completes to `patch`.
    let complete = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}'; COMP_WORDS=(sluice pa); COMP_CWORD=1; COMP_LINE='sluice pa'; COMP_POINT=9; \
             _sluice sluice pa sluice; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            f.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&complete.stdout), "patch\n");
    let zsh = sluice(&["completions", "zsh"]);
    assert!(String::from_utf8_lossy(&zsh.stdout).starts_with("#compdef sluice"));
    let bad = sluice(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn manual_pages_for_every_command() {
    let o = sluice(&["man"]);
    assert!(o.status.success());
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(page.contains(".TH sluice 1"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let o = sluice(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in [
        "sluice.1",
        "sluice-patch.1",
        "sluice-patch-report.1",
        "sluice-retro-complete.1",
    ] {
        let p = dir.path().join(name);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.contains(".SH NAME"), "{name}");
    }
    // The option descriptions are in the pages.
    let report = std::fs::read_to_string(dir.path().join("sluice-patch-report.1")).unwrap();
    assert!(report.contains("retrospective"), "{report}");
    // man-db renders every page (`man -l`), without a warning from groff about the markup.
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    assert!(pages.len() > 40, "a page per command: {pages:?}");
    for p in &pages {
        let o = std::process::Command::new("man")
            .args(["--warnings", "-P", "cat", "-l"])
            .arg(p)
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("man runs (scripts/test installs man-db)");
        let shown = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{}: {stderr}", p.display());
        // The one warning allowed: a line holding a single long word (a URL
        // template) cannot be justified to the full width.
        let warnings: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.contains("cannot adjust line"))
            .collect();
        assert!(warnings.is_empty(), "{}: {stderr}", p.display());
        assert!(
            shown.contains("NAME") && shown.contains("SYNOPSIS"),
            "{}: {shown}",
            p.display()
        );
        assert!(shown.lines().all(|l| l.chars().count() <= 80), "{shown}");
    }
    let top = std::process::Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(dir.path().join("sluice-patch-report.1"))
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(top.contains("--severity"), "{top}");
}
