//! `notify preview`: the stakeholder matrix from the process file alone, no
//! database, secrets printed as `${VAR}` references.

use crate::harness::{BOB, Backend, Out, Proc, Repo};
use crate::receiver::{Receiver, assert_signed, whsec};

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
    let lines: Vec<&str> = o.stdout.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{o}");
    assert!(
        lines[0].contains("rule") && lines[0].contains("address"),
        "{o}"
    );
    assert!(lines[1].contains("releases") && lines[1].contains("slack"));
    assert!(lines[1].contains("${SLACK_RELEASES}"), "{o}");
    assert!(lines[2].contains("stakeholders@example.com") && lines[2].contains("email"));
    assert!(lines[3].contains("${STAKEHOLDER_HOOK}") && lines[3].contains("webhook"));
    // Then what each recipient gets.
    assert!(
        o.stdout
            .contains("== email to stakeholders@example.com (stakeholders)"),
        "{o}"
    );
    assert!(o.stdout.contains("Subject: [shop] release "), "{o}");
    assert!(
        o.stdout.contains("CloudEvent dev.sluice.release.deployed"),
        "{o}"
    );
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
    // Each recipient's message, rendered from the templates.
    let slack = d[0]["message"]["slack"].as_str().unwrap();
    assert!(slack.contains("deployed to prod"), "{slack}");
    let email = &d[1]["message"];
    assert!(
        email["subject"]
            .as_str()
            .unwrap()
            .starts_with("[shop] release "),
        "{email}"
    );
    assert!(
        email["text"]
            .as_str()
            .unwrap()
            .contains("Release type: major"),
        "{email}"
    );
    assert!(
        email["html"].as_str().unwrap().contains("<table>"),
        "{email}"
    );
    assert!(
        d[2]["message"]["summary"]
            .as_str()
            .unwrap()
            .contains("deployed")
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

// ----- the outbox, delivered to real receivers on 127.0.0.1 -----

const OUTBOX_MATRIX: &str = r#"
[channels]
releases = { slack = "${SLACK_URL}" }
hooks = { webhook = "${HOOK_URL}", secret = "${HOOK_SECRET}" }
lost = { webhook = "${MISSING_HOOK}" }

[[notify]]
on = ["patch.reported"]
to = ["releases", "hooks", "lost"]
"#;

fn notify_cmd(repo: &Repo, rx: &Receiver, args: &[&str], missing: Option<&str>) -> Out {
    let mut a = vec!["notify"];
    a.extend_from_slice(args);
    let mut c = repo.command(Some(BOB), &a);
    c.env("SLACK_URL", rx.url("/slack"))
        .env("HOOK_URL", rx.url("/hook"))
        .env("HOOK_SECRET", whsec())
        .env_remove("MISSING_HOOK");
    if let Some(u) = missing {
        c.env("MISSING_HOOK", u);
    }
    let o = c.output().unwrap();
    let o = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        what: format!("sluice {}", a.join(" ")),
    };
    let port = format!("127.0.0.1:{}", rx.port);
    assert!(
        !o.stdout.contains(&port) && !o.stderr.contains(&port),
        "a secret URL was shown:\n{o}"
    );
    assert!(!o.stdout.contains(&whsec()) && !o.stderr.contains(&whsec()));
    assert_eq!(o.code, 0, "{o}");
    o
}

#[test]
fn outbox_delivers_to_slack_and_signed_webhooks() {
    let rx = Receiver::start(&[("/hook", 500)]);
    let repo = Repo::new(Backend::Sqlite);
    std::fs::write(
        repo.path().join("sluice.toml"),
        Proc::default().render() + OUTBOX_MATRIX,
    )
    .unwrap();
    let p = repo.json(
        crate::harness::ALICE,
        &[
            "patch",
            "report",
            "Checkout total is wrong",
            "--source",
            "bug",
            "--ref",
            "BUG-7",
        ],
    );
    let key = p["key"].as_str().unwrap().to_string();

    // The command wrote one message per delivery, in its transaction.
    let pending = notify_cmd(&repo, &rx, &["list", "--pending", "--json"], None).json();
    let pending = pending.as_array().unwrap().clone();
    assert_eq!(pending.len(), 3, "{pending:?}");
    let id_of = |channel: &str| {
        pending.iter().find(|m| m["channel"] == channel).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (hook_id, lost_id) = (id_of("hooks"), id_of("lost"));
    assert!(pending.iter().all(|m| m["event_kind"] == "patch.reported"));
    assert!(pending.iter().any(|m| m["address"] == "${HOOK_URL}"));

    // First flush: Slack takes it, the webhook answers 500, the lost channel
    // has no URL.
    let r = notify_cmd(&repo, &rx, &["flush", "--json"], None).json();
    assert_eq!(
        r,
        serde_json::json!({"delivered": 1, "failed": 1, "dead": 1, "deferred": 0})
    );

    let slack = rx.requests("/slack");
    assert_eq!(slack.len(), 1);
    assert_eq!(slack[0].method, "POST");
    let body: serde_json::Value = serde_json::from_str(&slack[0].body).unwrap();
    assert!(body["text"].as_str().unwrap().contains(&key), "{body}");
    assert_eq!(body["blocks"][0]["type"], "section", "{body}");
    assert_eq!(body["blocks"][0]["text"]["type"], "mrkdwn", "{body}");
    assert!(
        body["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("*{key}*")),
        "{body}"
    );

    let dead = notify_cmd(&repo, &rx, &["list", "--dead", "--json"], None).json();
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["id"], lost_id.as_str());
    let err = dead[0]["last_error"].as_str().unwrap();
    assert!(
        err.contains("MISSING_HOOK") && err.contains("not set"),
        "{err}"
    );
    let human = notify_cmd(&repo, &rx, &["list", "--dead"], None);
    assert!(human.stdout.contains(&lost_id), "{human}");

    // The failed webhook waits for its backoff; `retry` makes it due now and
    // the receiver, now healthy, gets the same id again.
    let r = notify_cmd(&repo, &rx, &["flush", "--json"], None).json();
    assert_eq!(
        r,
        serde_json::json!({"delivered": 0, "failed": 0, "dead": 0, "deferred": 0})
    );
    notify_cmd(&repo, &rx, &["retry", &hook_id], None);
    let r = notify_cmd(&repo, &rx, &["flush", "--json"], None).json();
    assert_eq!(
        r,
        serde_json::json!({"delivered": 1, "failed": 0, "dead": 0, "deferred": 0})
    );
    let hooks = rx.requests("/hook");
    assert_eq!(hooks.len(), 2, "one failure, one success");
    for h in &hooks {
        assert_eq!(h.header("webhook-id"), Some(hook_id.as_str()));
        assert_eq!(
            h.header("content-type"),
            Some("application/cloudevents+json")
        );
        assert_signed(h);
        let ev: serde_json::Value = serde_json::from_str(&h.body).unwrap();
        assert_eq!(ev["specversion"], "1.0");
        assert_eq!(ev["id"], hook_id.as_str());
        assert_eq!(ev["source"], "sluice/shop");
        assert_eq!(ev["type"], "dev.sluice.patch.reported");
        assert_eq!(ev["datacontenttype"], "application/json");
        assert!(ev["time"].as_str().unwrap().ends_with('Z'), "{ev}");
        assert_eq!(ev["data"]["subject"], key.as_str());
        assert!(ev.get("cdeventstype").is_none());
    }
    assert_eq!(hooks[0].body, hooks[1].body, "a retry sends the same event");

    // The dead message is revived with its id and delivered once its
    // variable is set.
    let o = notify_cmd(&repo, &rx, &["retry", &lost_id], None);
    assert!(o.stdout.contains("revived"), "{o}");
    let dead = notify_cmd(&repo, &rx, &["list", "--dead", "--json"], None).json();
    assert_eq!(dead, serde_json::json!([]));
    let r = notify_cmd(&repo, &rx, &["flush", "--json"], Some(&rx.url("/lost"))).json();
    assert_eq!(
        r,
        serde_json::json!({"delivered": 1, "failed": 0, "dead": 0, "deferred": 0})
    );
    let lost = rx.requests("/lost");
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].header("webhook-id"), Some(lost_id.as_str()));
    assert!(
        lost[0].header("webhook-signature").is_none(),
        "no secret, no signature"
    );

    let status = notify_cmd(&repo, &rx, &["status", "--json"], None).json();
    let total: i64 = status
        .as_array()
        .unwrap()
        .iter()
        .inspect(|c| assert_eq!(c["status"], "delivered", "{status}"))
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 3, "{status}");
    let human = notify_cmd(&repo, &rx, &["status"], None);
    assert!(human.stdout.contains("delivered"), "{human}");
}

const RELEASE_MATRIX: &str = r#"
[channels]
releases = { webhook = "${HOOK_URL}" }
majors = { webhook = "${MAJOR_URL}" }

[[notify]]
on = ["release.cut"]
release_types = ["minor"]
severities = ["major"]
to = ["releases"]

[[notify]]
on = ["release.deployed"]
environments = ["local"]
to = ["releases"]

[[notify]]
on = ["release.deployed"]
environments = ["prod"]
to = ["majors"]

[[notify]]
on = ["patch.triaged"]
severities = ["critical"]
to = ["majors"]
"#;

/// Facts come from the release and its patches: a minor release with a
/// major fix, deployed to local, notifies exactly the matching rules.
#[test]
fn release_events_are_routed_on_their_facts() {
    let repo = Repo::new(Backend::Sqlite);
    std::fs::write(
        repo.path().join("sluice.toml"),
        Proc::default().render() + RELEASE_MATRIX,
    )
    .unwrap();
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.ok(BOB, &["promote", &v, "--to", "local"]);
    let rows = repo.json(BOB, &["notify", "list"]);
    let mut got: Vec<(String, String, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["event_kind"].as_str().unwrap().to_string(),
                m["channel"].as_str().unwrap().to_string(),
                m["event_seq"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort_by_key(|g| g.2);
    let kinds: Vec<(&str, &str)> = got.iter().map(|g| (g.0.as_str(), g.1.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("release.cut", "releases"),
            ("release.deployed", "releases")
        ],
        "{rows}"
    );
    // Each message points at the event that caused it.
    let events = repo.json(BOB, &["audit"]);
    for (kind, _, seq) in &got {
        let e = events
            .as_array()
            .or_else(|| events["events"].as_array())
            .unwrap()
            .iter()
            .find(|e| e["seq"].as_i64() == Some(*seq))
            .unwrap_or_else(|| panic!("no event {seq} in {events}"));
        assert_eq!(e["kind"].as_str(), Some(kind.as_str()), "{e}");
    }
}

/// SMTP credentials are read from the environment at send time and appear
/// nowhere: not in `flush`, `list --json`, `status` or `process show`.
#[test]
fn smtp_secrets_never_appear() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let repo = Repo::new(Backend::Sqlite);
    let smtp = format!(
        r#"
[channels]
mail = {{ email = ["ops@example.com"] }}

[smtp]
host = "127.0.0.1"
port = {closed}
tls = "starttls"
from = "Sluice <sluice@example.com>"
username = "${{MAIL_USER}}"
password = "${{MAIL_PASSWORD}}"

[[notify]]
on = ["patch.reported"]
to = ["mail"]
"#
    );
    std::fs::write(
        repo.path().join("sluice.toml"),
        Proc::default().render() + &smtp,
    )
    .unwrap();
    repo.json(
        crate::harness::ALICE,
        &[
            "patch",
            "report",
            "Checkout total is wrong",
            "--source",
            "bug",
        ],
    );
    for args in [
        &["notify", "flush", "--json"][..],
        &["notify", "flush"],
        &["notify", "list", "--json"],
        &["notify", "list"],
        &["notify", "status", "--json"],
        &["process", "show"],
        &["notify", "preview", "patch.reported", "--json"],
    ] {
        let o = repo
            .command(Some(BOB), args)
            .env("MAIL_USER", "SECRET-USER-42")
            .env("MAIL_PASSWORD", "SECRET-PASSWORD-42")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{args:?}: {all}");
        assert!(!all.contains("SECRET-"), "{args:?} shows a secret:\n{all}");
    }
    let list = repo.json(BOB, &["notify", "list", "--pending"]);
    let err = list[0]["last_error"].as_str().unwrap();
    assert!(
        err.contains("cannot be reached") || err.contains("SMTP"),
        "{err}"
    );
}

/// `sluice serve` runs the dispatcher: a patch reported through the API is
/// delivered to Slack and the signed webhook without any `notify flush`.
#[test]
fn serve_dispatches_the_outbox() {
    let rx = Receiver::start(&[]);
    let mut repo = Repo::new(Backend::Sqlite);
    std::fs::write(
        repo.path().join("sluice.toml"),
        Proc::default().render() + OUTBOX_MATRIX,
    )
    .unwrap();
    let (slack, hook, secret) = (rx.url("/slack"), rx.url("/hook"), whsec());
    repo.serve_with(&[
        ("SLACK_URL", slack.as_str()),
        ("HOOK_URL", hook.as_str()),
        ("HOOK_SECRET", secret.as_str()),
    ]);
    let out = repo
        .command(
            Some(crate::harness::ALICE),
            &[
                "patch",
                "report",
                "Checkout total is wrong",
                "--ref",
                "BUG-9",
            ],
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Bounded wait: the dispatcher polls at least every few seconds.
    let mut delivered = false;
    for _ in 0..150 {
        if !rx.requests("/slack").is_empty() && !rx.requests("/hook").is_empty() {
            delivered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(repo.path().join("serve.log")).unwrap_or_default();
    assert!(
        delivered,
        "nothing delivered by the server's dispatcher:\n{log}"
    );
    assert_signed(&rx.requests("/hook")[0]);
    assert!(
        !log.contains(&secret) && !log.contains(&hook),
        "no secret in the log"
    );
}
