//! `notify preview`: the stakeholder matrix from the process file alone, no
//! database, secrets printed as `${VAR}` references.

use crate::harness::{BOB, Backend, Out, Proc, Repo};

const MATRIX: &str = r#"
[channels]
releases = { slack = "${SLACK_RELEASES}" }
stakeholders = { email = ["stakeholders@example.com"], webhook = "${STAKEHOLDER_HOOK}" }

[[notify]]
on = ["release.deployed", "release.rolled_back"]
environments = ["prod"]
to = ["releases", "stakeholders"]

[[notify]]
on = ["patch.reported"]
severities = ["critical"]
to = ["role:qa", "releases"]

[[notify]]
on = ["release.deployed"]
release_types = ["major"]
to = ["role:product_owner", "stakeholders"]
"#;

/// A repository whose process has the matrix above, and whose database URL
/// points nowhere: preview must not need it.
fn repo() -> Repo {
    let mut repo = Repo::new(Backend::Sqlite);
    std::fs::write(
        repo.path().join("sluice.toml"),
        Proc::default().render() + MATRIX,
    )
    .unwrap();
    repo.db_url = "postgres://nobody@127.0.0.1:1/nowhere".to_string();
    repo
}

fn preview(repo: &Repo, args: &[&str]) -> Out {
    let mut a = vec!["notify", "preview"];
    a.extend_from_slice(args);
    let what = format!("sluice {}", a.join(" "));
    let o = repo
        .command(Some(BOB), &a)
        .env(
            "SLACK_RELEASES",
            "https://hooks.slack.com/services/T0/B0/TOPSECRET",
        )
        .env(
            "STAKEHOLDER_HOOK",
            "https://example.com/hook?token=TOPSECRET",
        )
        .output()
        .unwrap();
    let o = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        what,
    };
    assert!(
        !o.stdout.contains("TOPSECRET") && !o.stderr.contains("TOPSECRET"),
        "a secret was resolved:\n{o}"
    );
    o
}

#[test]
fn preview_shows_who_is_told() {
    let repo = repo();
    let o = preview(&repo, &["release.deployed", "--env", "prod"]);
    assert_eq!(o.code, 0, "{o}");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{o}");
    assert!(
        lines[0].contains("rule") && lines[0].contains("address"),
        "{o}"
    );
    assert!(lines[1].contains("releases") && lines[1].contains("slack"));
    assert!(lines[1].contains("${SLACK_RELEASES}"), "{o}");
    assert!(lines[2].contains("stakeholders@example.com") && lines[2].contains("email"));
    assert!(lines[3].contains("${STAKEHOLDER_HOOK}") && lines[3].contains("webhook"));
    assert!(!repo.sqlite_file().exists(), "preview opened a database");

    // Role members by email: qa has alice and dave.
    let o = preview(
        &repo,
        &[
            "patch.reported",
            "--severity",
            "major",
            "--severity",
            "critical",
        ],
    );
    assert_eq!(o.code, 0, "{o}");
    for who in [
        "role:qa",
        "alice@example.com",
        "dave@example.com",
        "${SLACK_RELEASES}",
    ] {
        assert!(o.stdout.contains(who), "missing {who}:\n{o}");
    }
}

#[test]
fn preview_json_and_release_types() {
    let repo = repo();
    let o = preview(
        &repo,
        &[
            "release.deployed",
            "--env",
            "prod",
            "--release-type",
            "major",
            "--json",
        ],
    );
    assert_eq!(o.code, 0, "{o}");
    let v = o.json();
    assert_eq!(v["event"], "release.deployed");
    assert_eq!(v["release_type"], "major");
    let d = v["deliveries"].as_array().unwrap();
    let got: Vec<(u64, &str, &str, &str)> = d
        .iter()
        .map(|d| {
            (
                d["rule"].as_u64().unwrap(),
                d["channel"].as_str().unwrap(),
                d["transport"].as_str().unwrap(),
                d["address"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "releases", "slack", "${SLACK_RELEASES}"),
            (1, "stakeholders", "email", "stakeholders@example.com"),
            (1, "stakeholders", "webhook", "${STAKEHOLDER_HOOK}"),
            (3, "role:product_owner", "email", "carol@example.com"),
        ]
    );

    // A minor release in dev: nobody.
    let o = preview(
        &repo,
        &[
            "release.deployed",
            "--env",
            "dev",
            "--release-type",
            "minor",
        ],
    );
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(
        o.stdout.trim(),
        "nobody is told about release.deployed with these facts"
    );
    let o = preview(&repo, &["incident.opened", "--json"]);
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.json()["deliveries"], serde_json::json!([]));
}

#[test]
fn preview_refuses_unknown_names() {
    let repo = repo();
    let o = preview(&repo, &["release.deploy"]);
    assert_eq!(o.code, 2, "{o}");
    assert!(o.stderr.contains("unknown event `release.deploy`"), "{o}");
    assert!(o.stderr.contains("release.deployed, release.failed"), "{o}");
    let o = preview(&repo, &["release.deployed", "--env", "staging"]);
    assert_eq!(o.code, 2, "{o}");
    assert!(o.stderr.contains("local, dev, test, prod"), "{o}");
    let o = preview(&repo, &["patch.reported", "--severity", "blocker"]);
    assert_eq!(o.code, 2, "{o}");
    assert!(o.stderr.contains("critical, major, minor"), "{o}");
    let o = preview(&repo, &["release.deployed", "--release-type", "huge"]);
    assert_eq!(o.code, 2, "{o}");
}
