//! The whole flow, report to prod and back by rollback, with the refusals a
//! release meets on the way.

use crate::both;
use crate::harness::{ALICE, BOB, Backend, CAROL, DAVE, Repo};

both!(whole_flow, whole_flow);

fn whole_flow(backend: Backend) {
    whole_flow_in(Repo::new(backend));
}

// The same flow, every command through a real `sluice serve` (remote mode).
both!(whole_flow_remote, whole_flow_remote);

fn whole_flow_remote(backend: Backend) {
    whole_flow_in(Repo::remote(backend));
}

fn whole_flow_in(repo: Repo) {
    // --- first release, 0.1.0, step by step ---
    let k1 = repo.fix("Checkout total is wrong");
    let plan = repo.json(BOB, &["release", "plan"]);
    assert_eq!(plan["plan"]["version"], "0.1.0", "{plan}");
    assert_eq!(plan["plan"]["patches"], serde_json::json!([k1]), "{plan}");
    assert!(plan["refusal"].is_null(), "{plan}");
    let v1 = repo.cut();
    assert_eq!(v1, "0.1.0");
    let p1 = repo.json(BOB, &["patch", "show", &k1]);
    assert_eq!(p1["patch"]["release"], "0.1.0", "{p1}");

    repo.ok(BOB, &["promote", &v1, "--to", "local"]);
    assert_eq!(repo.holds("local").as_deref(), Some("0.1.0"));

    // Refused: the suites of local have not passed.
    repo.refused(
        BOB,
        &["promote", &v1, "--to", "dev"],
        &[
            "0.1.0 may not enter `dev` yet",
            "suite `unit` passed in `local`",
            "no result yet",
        ],
    );
    assert!(
        repo.deploy_log().is_empty(),
        "nothing may deploy on a refusal: {:?}",
        repo.deploy_log()
    );

    repo.pass(&v1, "local", "unit");
    repo.through_dev(&v1);

    // Refused: no qa approval for test.
    repo.refused(
        BOB,
        &["promote", &v1, "--to", "test"],
        &[
            "may not enter `test` yet",
            "approval by `qa` for `test` (0 of 1)",
        ],
    );
    // Refused: dave is in qa but owns the patch.
    repo.refused(
        DAVE,
        &["approve", &v1, "--env", "test", "--role", "qa"],
        &["wrote a patch", "separation of duties"],
    );
    repo.refused(
        BOB,
        &["promote", &v1, "--to", "test"],
        &["approval by `qa` for `test` (0 of 1)"],
    );

    repo.through_test(&v1);
    // Refused: prod needs the product owner and the checklist.
    repo.refused(
        BOB,
        &["promote", &v1, "--to", "prod"],
        &[
            "approval by `product_owner` for `prod`",
            "checklist `notes`",
        ],
    );
    repo.prod_paperwork(&v1);
    let out = repo.ok(BOB, &["promote", &v1, "--to", "prod"]);
    assert!(out.stdout.contains("0.1.0 is released"), "{out}");
    assert_eq!(repo.patch_status(&k1), "released");
    repo.ok(
        ALICE,
        &[
            "test", "report", &v1, "--env", "prod", "--suite", "smoke", "--pass",
        ],
    );
    assert_eq!(repo.patch_status(&k1), "verified");
    assert_eq!(repo.holds("prod").as_deref(), Some("0.1.0"));
    let shown = repo.show(&v1);
    assert_eq!(shown["release"]["status"], "released", "{shown}");
    assert_eq!(
        shown["release"]["reached"],
        serde_json::json!(["local", "dev", "test", "prod"]),
        "{shown}"
    );

    // --- second release, 0.1.1 ---
    let k2 = repo.fix("Coupons apply twice");
    let plan = repo.json(BOB, &["release", "plan"]);
    assert_eq!(plan["plan"]["version"], "0.1.1", "{plan}");
    let v2 = repo.cut();
    assert_eq!(v2, "0.1.1");
    repo.ship(&v2);
    assert_eq!(repo.holds("prod").as_deref(), Some("0.1.1"));
    assert_eq!(repo.patch_status(&k2), "released");

    // --- rollback: prod returns to 0.1.0, 0.1.1's patch reopens ---
    let out = repo.ok(DAVE, &["rollback", "--env", "prod", "--yes"]);
    assert!(out.stdout.contains("from 0.1.1 to 0.1.0"), "{out}");
    assert_eq!(repo.holds("prod").as_deref(), Some("0.1.0"));
    assert_eq!(repo.patch_status(&k2), "in_progress");
    assert_eq!(repo.patch_status(&k1), "verified");
    let shown = repo.show(&v2);
    assert_eq!(shown["release"]["status"], "rolled_back", "{shown}");

    assert_eq!(
        repo.deploy_log(),
        [
            "0.1.0 dev",
            "0.1.0 test",
            "0.1.0 prod",
            "0.1.1 dev",
            "0.1.1 test",
            "0.1.1 prod",
            "rollback 0.1.0 prod"
        ],
        "deploy commands that ran"
    );

    // The record is intact and tells the story.
    let out = repo.ok(CAROL, &["audit", "verify"]);
    assert!(out.stdout.contains("audit log intact"), "{out}");
    let events = repo.json(CAROL, &["audit"]);
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for k in [
        "patch.reported",
        "release.cut",
        "release.approved",
        "release.deployed",
        "patch.released",
        "patch.verified",
    ] {
        assert!(
            kinds.contains(&k),
            "no `{k}` event in the audit log: {kinds:?}"
        );
    }
    assert!(
        kinds
            .iter()
            .any(|k| k.contains("rolled_back") || k.contains("rollback")),
        "no rollback event: {kinds:?}"
    );
}

both!(maintained_lines, maintained_lines);

/// A fix on maintained line 1.2 ships as 1.2.4; a feature may not ride in a patch release.
fn maintained_lines(backend: Backend) {
    let repo = Repo::new(backend);
    repo.ok(BOB, &["release", "import", "1.2.3", "1.3.0"]);
    let fix = repo.ready_patch("Tax rounding on 1.2", "fix", "major", Some("1.2"));
    let plan = repo.json(BOB, &["release", "plan", "--line", "1.2"]);
    assert_eq!(plan["plan"]["version"], "1.2.4", "{plan}");
    assert_eq!(plan["plan"]["previous"], "1.2.3", "{plan}");
    assert_eq!(plan["plan"]["patches"], serde_json::json!([fix]), "{plan}");
    // Main continues after 1.3.0 and holds nothing of line 1.2.
    let main = repo.json(BOB, &["release", "plan"]);
    assert_eq!(main["plan"]["patches"], serde_json::json!([]), "{main}");

    let feature = repo.ready_patch("Gift cards", "feature", "minor", Some("1.2"));
    let out = repo.refused(
        BOB,
        &["release", "cut", "--line", "1.2"],
        &[&feature, "not allowed in a patch release"],
    );
    assert!(
        !out.stderr.contains(&format!("{fix} (")),
        "only the feature is named:\n{out}"
    );
    let releases = repo.json(BOB, &["release", "list"]);
    assert_eq!(
        releases.as_array().unwrap().len(),
        2,
        "nothing was cut: {releases}"
    );
}

/// Tables fit the terminal: under a pseudo-terminal (util-linux `script`) of
/// 80 and 120 columns, no line of `patch list` or `release show` is wider than
/// the terminal, long titles wrap inside their column; piped, rows stay one
/// line each for scripts.
#[test]
fn tables_fit_the_terminal() {
    let repo = Repo::new(Backend::Sqlite);
    let long = "Checkout total ignores the discount code when the basket holds a gift card and a coupon at once";
    repo.fix(long);
    let v = repo.cut();
    let bin = env!("CARGO_BIN_EXE_sluice");
    for cols in [80, 120] {
        for args in [
            vec!["patch", "list", "--all"],
            vec!["release", "show", v.as_str()],
        ] {
            let line = format!(
                "stty cols {cols} rows 50; SLUICE_USER=bob@example.com '{bin}' --db '{}' {}",
                repo.db_url,
                args.join(" ")
            );
            // The terminal a person has: colour unless they turned it off
            // (CI exports NO_COLOR for its own logs).
            let o = std::process::Command::new("script")
                .args(["-qec", &line, "/dev/null"])
                .current_dir(repo.path())
                .env_remove("NO_COLOR")
                .output()
                .expect("util-linux `script` runs (it gives the command a pseudo-terminal)");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
            let text = String::from_utf8_lossy(&o.stdout);
            let plain = strip_ansi(&text);
            let widest = plain
                .lines()
                .map(|l| l.trim_end_matches('\r').chars().count())
                .max()
                .unwrap_or(0);
            assert!(
                widest <= cols,
                "{cols} columns, {args:?}: a line of {widest}:\n{plain}"
            );
            assert!(plain.contains("gift"), "{plain}");
            if args[0] == "patch" {
                // States are coloured on a terminal: `ready` in green.
                assert!(text.contains("\u{1b}[32mready"), "{text}");
            }
        }
    }
    // NO_COLOR on a terminal: no colour; --wide: the full width, one line
    // per row, on a terminal too.
    for (extra, wide) in [("NO_COLOR=1", false), ("", true)] {
        let line = format!(
            "stty cols 80 rows 50; {extra} SLUICE_USER=bob@example.com '{bin}' --db '{}' patch list --all{}",
            repo.db_url,
            if wide { " --wide" } else { "" }
        );
        let o = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .current_dir(repo.path())
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        if wide {
            assert!(
                strip_ansi(&text).lines().any(|l| l.contains(long)),
                "--wide keeps each row on one line: {text}"
            );
        } else {
            assert!(!text.contains("\u{1b}[3"), "NO_COLOR: {text}");
        }
    }
    // Piped: one line per row, whatever the length, and no colour codes.
    let piped = repo.ok(BOB, &["patch", "list", "--all"]);
    assert!(!piped.stdout.contains('\u{1b}'), "{}", piped.stdout);
    assert!(
        piped.stdout.lines().any(|l| l.contains(long)),
        "{}",
        piped.stdout
    );
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}
