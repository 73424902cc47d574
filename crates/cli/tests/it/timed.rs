//! The scheduler: `sluice tick` (and the pass every `sluice serve` runs)
//! records what time made true, each fact once, and routes it through the
//! stakeholder matrix; with two servers on one PostgreSQL database racing,
//! still once.

use std::collections::BTreeMap;

use crate::both;
use crate::harness::{ALICE, BOB, Backend, Proc, Repo, utc_days};
use crate::http::Http;

/// The test process with deadlines of one second for `minor` patches, a
/// one-second wait allowed at the `local` gate, and every timed event routed
/// to a channel.
fn short_clock(repo: &Repo) {
    let path = repo.path().join("sluice.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            r#"minor = { fix_within = "30d" }"#,
            r#"minor = { fix_within = "1s" }"#,
        )
        .replace(
            "name = \"local\"\n",
            "name = \"local\"\ngate_waiting_after = \"1s\"\n",
        );
    let matrix = r#"
[channels]
ops = { webhook = "${OPS_HOOK}" }

[[notify]]
on = ["patch.overdue", "gate.waiting", "freeze.starting", "release.follow_up_overdue"]
to = ["ops"]
"#;
    std::fs::write(&path, format!("{text}{matrix}")).unwrap();
    repo.ok(BOB, &["check"]);
}

/// How many events of each kind the audit log holds, per subject.
fn timed_events(repo: &Repo) -> BTreeMap<(String, String), usize> {
    let log = repo.json(BOB, &["audit", "--limit", "100000"]);
    let mut n = BTreeMap::new();
    for e in log.as_array().unwrap() {
        let kind = e["kind"].as_str().unwrap_or_default();
        if ["patch.overdue", "gate.waiting", "freeze.starting"].contains(&kind) {
            *n.entry((
                kind.to_string(),
                e["subject"].as_str().unwrap_or_default().to_string(),
            ))
            .or_default() += 1;
        }
    }
    n
}

both!(a_tick_records_each_fact_once, a_tick_records_each_fact_once);

fn a_tick_records_each_fact_once(backend: Backend) {
    let (_, _, tomorrow, _) = utc_days();
    let repo = Repo::with(
        backend,
        &Proc {
            prod_freezes: vec![(tomorrow.to_string(), tomorrow.to_string())],
            ..Proc::default()
        },
    );
    short_clock(&repo);
    let v = {
        repo.fix("Checkout total is wrong");
        repo.cut()
    };
    let mut keys = Vec::new();
    for title in ["Cart badge lags", "Typo on the receipt"] {
        let p = repo.json(ALICE, &["patch", "report", title, "--severity", "minor"]);
        keys.push(p["key"].as_str().unwrap().to_string());
    }
    // A pass now, and one after the deadlines and the allowed wait have
    // passed: between them, every fact once (what was due at the first is
    // not recorded again at the second).
    let mut recorded: Vec<String> = Vec::new();
    for pause in [0, 1100] {
        std::thread::sleep(std::time::Duration::from_millis(pause));
        let r = repo.json(BOB, &["tick"]);
        recorded.extend(
            r["recorded"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|x| x.as_str().map(String::from)),
        );
    }
    let mut want: Vec<String> = keys.iter().map(|k| format!("patch.overdue {k}")).collect();
    want.push(format!("gate.waiting {v}"));
    want.push(format!("freeze.starting prod:{tomorrow}"));
    want.sort();
    recorded.sort();
    assert_eq!(recorded, want);
    // The text output names what it recorded, or that nothing new is due.
    let out = repo.ok(BOB, &["tick"]);
    assert!(
        out.stdout.contains("nothing new is due (4 fact(s)"),
        "{}",
        out.stdout
    );
    // A second pass finds everything recorded.
    let again = repo.json(BOB, &["tick"]);
    assert_eq!(again["recorded"], serde_json::json!([]), "{again}");
    assert_eq!(again["already"], 4, "{again}");
    let counts = timed_events(&repo);
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    // Each went through the stakeholder matrix.
    let outbox = repo.json(BOB, &["notify", "list"]);
    let kinds: Vec<&str> = outbox
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["event_kind"].as_str())
        .collect();
    for kind in ["patch.overdue", "gate.waiting", "freeze.starting"] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
}

/// Two servers on one PostgreSQL database, each running its scheduler pass at
/// start, and four clients asking both for more passes at once: 300 patches
/// fall overdue, and 300 `patch.overdue` events are recorded, one each.
#[test]
fn two_servers_record_every_timed_event_once() {
    let mut repo = Repo::new(Backend::Postgres);
    short_clock(&repo);
    let patches = 300;
    for i in 0..patches {
        repo.ok(
            ALICE,
            &[
                "patch",
                "report",
                &format!("Glitch {i}"),
                "--severity",
                "minor",
            ],
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    repo.serve();
    let second = repo.spawn_server(&[]);
    let token = repo.token(BOB);
    let urls = [repo_url(&repo), second.url.clone()];
    std::thread::scope(|s| {
        for c in 0..4 {
            let (url, token) = (urls[c % 2].clone(), token.clone());
            s.spawn(move || {
                let http = Http::new(&url);
                for _ in 0..3 {
                    let r = http.post("/api/v1/tick", &token, serde_json::json!({}));
                    assert_eq!(r.status, 200, "{:?}", r.body);
                }
            });
        }
    });
    let counts = timed_events(&repo);
    let overdue: Vec<_> = counts
        .iter()
        .filter(|((kind, _), _)| kind == "patch.overdue")
        .collect();
    assert_eq!(overdue.len(), patches, "one event per patch");
    assert!(
        overdue.iter().all(|(_, n)| **n == 1),
        "a patch overdue twice: {:?}",
        overdue.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    drop(second);
}

fn repo_url(repo: &Repo) -> String {
    repo.server.as_ref().unwrap().url.clone()
}

/// `sluice calendar` on the file `sluice init` writes: the next train first,
/// then windows and freezes by start, nothing already over; bad input exits 2.
#[test]
fn the_calendar_shows_the_next_train_first() {
    let dir = tempfile::tempdir().unwrap();
    let sluice = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    assert!(sluice(&["init"]).status.success());
    let o = sluice(&["calendar", "--weeks", "3", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["timezone"], "Europe/Oslo");
    let e = v["entries"].as_array().unwrap();
    assert_eq!(e[0]["kind"], "train", "{v}");
    let now = jiff::Timestamp::now();
    let starts: Vec<jiff::Timestamp> = e
        .iter()
        .map(|x| x["start"].as_str().unwrap().parse().unwrap())
        .collect();
    // 3 weeks of a weekly train and two windows a week.
    assert!(
        e.iter().filter(|x| x["kind"] == "train").count() >= 2,
        "{v}"
    );
    assert!(
        e.iter().filter(|x| x["kind"] == "window").count() >= 5,
        "{v}"
    );
    assert!(
        starts[1..].windows(2).all(|w| w[0] <= w[1]),
        "by start: {v}"
    );
    assert!(
        e.iter().all(|x| x["end"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            > now),
        "{v}"
    );
    let text = sluice(&["calendar"]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.starts_with("next train: "), "{out}");
    assert!(out.contains("times in Europe/Oslo"), "{out}");
    let bad = sluice(&["calendar", "--weeks", "0"]);
    assert_eq!(bad.status.code(), Some(2));
}
