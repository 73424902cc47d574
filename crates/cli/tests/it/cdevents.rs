//! A webhook channel with `format = "cdevents"`, delivered to a real HTTP
//! receiver on 127.0.0.1: a deployment, a rollback, an incident opened and
//! resolved and the ready patches arrive as signed CloudEvents carrying
//! CDEvents, and every body validates, with Python's `jsonschema`, against
//! the JSON Schemas of `tests/data/cdevents/` (written from the CDEvents
//! 0.4.1 schemas). Events without a CDEvents equivalent never reach the
//! outbox for that channel.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::harness::{ALICE, BOB, Backend, DAVE, Proc, Repo};
use crate::receiver::{Receiver, assert_signed, whsec};

/// A project name with spaces and non-ASCII letters: the source and the
/// artifact ids must still be valid.
const PROJECT: &str = "Boutique en ligne \u{e9}t\u{e9}";
const SOURCE: &str = "sluice/Boutique%20en%20ligne%20%C3%A9t%C3%A9";
const PURL: &str = "pkg:generic/Boutique%20en%20ligne%20%C3%A9t%C3%A9";

const MATRIX: &str = r#"
[channels]
cd = { webhook = "${CD_HOOK}", secret = "${CD_SECRET}", format = "cdevents" }
ce = { webhook = "${CE_HOOK}" }

[[notify]]
on = ["patch.reported", "patch.triaged", "patch.ready", "release.cut", "release.approved",
      "release.deployed", "release.rolled_back", "incident.opened", "incident.resolved",
      "retro.opened"]
to = ["cd"]

[[notify]]
on = ["patch.reported", "incident.opened"]
to = ["ce"]
"#;

/// The schema file for each CDEvents type.
const SCHEMAS: &[(&str, &str)] = &[
    (
        "dev.cdevents.service.deployed.0.2.0",
        "service_deployed.json",
    ),
    (
        "dev.cdevents.service.rolledback.0.2.0",
        "service_rolledback.json",
    ),
    (
        "dev.cdevents.incident.detected.0.2.0",
        "incident_detected.json",
    ),
    (
        "dev.cdevents.incident.resolved.0.2.0",
        "incident_resolved.json",
    ),
    ("dev.cdevents.change.merged.0.2.0", "change_merged.json"),
];

fn schema_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdevents")
}

fn flush(repo: &Repo, rx: &Receiver) -> Value {
    let o = repo
        .command(Some(BOB), &["notify", "flush", "--json"])
        .env("CD_HOOK", rx.url("/cd"))
        .env("CD_SECRET", whsec())
        .env("CE_HOOK", rx.url("/ce"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn cdevents_channel_delivers_real_cdevents() {
    let rx = Receiver::start(&[]);
    let repo = Repo::new(Backend::Sqlite);
    let text = Proc::default()
        .render()
        .replace("name = \"shop\"", &format!("name = \"{PROJECT}\""));
    assert!(text.contains(PROJECT), "the test process changed");
    std::fs::write(repo.path().join("sluice.toml"), text + MATRIX).unwrap();

    // 0.1.0 and 0.1.1 enter local, which rolls back to 0.1.0; an incident
    // opens there and is resolved with a comment.
    let k1 = repo.fix("Checkout total is wrong");
    let v1 = repo.cut();
    repo.ok(BOB, &["promote", &v1, "--to", "local"]);
    let k2 = repo.fix("Coupons apply twice");
    let v2 = repo.cut();
    repo.ok(BOB, &["promote", &v2, "--to", "local"]);
    repo.ok(DAVE, &["rollback", "--env", "local", "--yes"]);
    assert_eq!(repo.holds("local").as_deref(), Some(v1.as_str()));
    let incident = repo.json(
        ALICE,
        &[
            "incident",
            "open",
            "--env",
            "local",
            "--title",
            "Checkout 500s",
        ],
    );
    let incident_id = format!("incident-{}", incident["id"]);
    repo.ok(
        ALICE,
        &[
            "incident",
            "resolve",
            &incident["id"].to_string(),
            "--comment",
            "Rolled back to the previous release",
        ],
    );

    // The outbox holds, for the CDEvents channel, only events that have an
    // equivalent, though the rule names others too.
    let rows = repo.json(BOB, &["notify", "list", "--pending"]);
    let mut kinds: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["channel"].as_str().unwrap().to_string(),
                m["event_kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    let want: Vec<(String, String)> = [
        ("cd", "incident.opened"),
        ("cd", "incident.resolved"),
        ("cd", "patch.ready"),
        ("cd", "patch.ready"),
        ("cd", "release.deployed"),
        ("cd", "release.deployed"),
        ("cd", "release.rolled_back"),
        ("ce", "incident.opened"),
        ("ce", "patch.reported"),
        ("ce", "patch.reported"),
    ]
    .iter()
    .map(|(c, k)| (c.to_string(), k.to_string()))
    .collect();
    assert_eq!(kinds, want, "{rows}");

    let r = flush(&repo, &rx);
    assert_eq!(
        r,
        json!({"delivered": 10, "failed": 0, "dead": 0, "deferred": 0})
    );
    let cd = rx.requests("/cd");
    assert_eq!(cd.len(), 7);

    // The envelope: signed CloudEvents whose type, subject, id and time are
    // those of the CDEvent they carry.
    let mut by_type: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for req in &cd {
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.header("content-type"),
            Some("application/cloudevents+json")
        );
        assert_signed(req);
        let ev: Value = serde_json::from_str(&req.body).unwrap();
        let d = &ev["data"];
        assert_eq!(ev["specversion"], "1.0", "{ev}");
        assert_eq!(ev["datacontenttype"], "application/json", "{ev}");
        assert_eq!(ev["id"], req.header("webhook-id").unwrap(), "{ev}");
        assert_eq!(ev["id"], d["context"]["id"], "{ev}");
        assert_eq!(ev["source"], SOURCE, "{ev}");
        assert_eq!(d["context"]["source"], SOURCE, "{ev}");
        assert_eq!(ev["type"], d["context"]["type"], "{ev}");
        assert_eq!(ev["subject"], d["subject"]["id"], "{ev}");
        assert_eq!(ev["time"], d["context"]["timestamp"], "{ev}");
        assert_eq!(d["context"]["version"], "0.4.1", "{ev}");
        assert_eq!(d["customDataContentType"], "application/json", "{ev}");
        let t = ev["type"].as_str().unwrap().to_string();
        by_type.entry(t).or_default().push(ev);
    }

    // The content: real values from the process and the history.
    let content = |t: &str| -> Vec<Value> {
        by_type.get(t).map_or_else(Vec::new, |v| {
            v.iter().map(|e| e["data"]["subject"].clone()).collect()
        })
    };
    let deployed = content("dev.cdevents.service.deployed.0.2.0");
    let mut artifacts: Vec<&str> = deployed
        .iter()
        .map(|s| s["content"]["artifactId"].as_str().unwrap())
        .collect();
    artifacts.sort();
    assert_eq!(artifacts, [format!("{PURL}@{v1}"), format!("{PURL}@{v2}")]);
    for s in &deployed {
        assert_eq!(s["id"], PROJECT, "{s}");
        assert_eq!(s["type"], "service", "{s}");
        assert_eq!(s["content"]["environment"], json!({"id": "local"}), "{s}");
    }
    let rolled = content("dev.cdevents.service.rolledback.0.2.0");
    assert_eq!(
        rolled,
        [json!({"id": PROJECT, "type": "service", "content": {
            "environment": {"id": "local"}, "artifactId": format!("{PURL}@{v1}")}})]
    );
    let detected = content("dev.cdevents.incident.detected.0.2.0");
    assert_eq!(
        detected,
        [json!({"id": incident_id, "type": "incident", "content": {
            "description": "Checkout 500s", "environment": {"id": "local"},
            "service": {"id": PROJECT}, "artifactId": format!("{PURL}@{v1}")}})]
    );
    let resolved = content("dev.cdevents.incident.resolved.0.2.0");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["id"], incident_id.as_str());
    assert_eq!(
        resolved[0]["content"]["description"],
        "Rolled back to the previous release"
    );
    let mut merged: Vec<Value> = content("dev.cdevents.change.merged.0.2.0");
    merged.sort_by_key(|s| s["id"].to_string());
    assert_eq!(
        merged,
        [
            json!({"id": k1, "type": "change", "content": {}}),
            json!({"id": k2, "type": "change", "content": {}}),
        ]
    );
    // Sluice's own payload rides along.
    let ev = &by_type["dev.cdevents.service.rolledback.0.2.0"][0];
    assert_eq!(ev["data"]["customData"]["event"], "release.rolled_back");
    assert_eq!(ev["data"]["customData"]["data"]["to"], v1.as_str());
    assert!(
        ev["data"]["customData"]["summary"]
            .as_str()
            .unwrap()
            .contains("rolled back"),
        "{ev}"
    );

    // The default-format channel keeps Sluice's own events, with the same
    // encoded source, and names the CDEvents type where there is one.
    let ce = rx.requests("/ce");
    assert_eq!(ce.len(), 3);
    for req in &ce {
        let ev: Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(ev["source"], SOURCE, "{ev}");
        assert!(ev["type"].as_str().unwrap().starts_with("dev.sluice."));
        let cdt = if ev["type"] == "dev.sluice.incident.opened" {
            json!("dev.cdevents.incident.detected.0.2.0")
        } else {
            Value::Null
        };
        assert_eq!(ev.get("cdeventstype").cloned().unwrap_or(Value::Null), cdt);
    }

    // Every CDEvent validates against the schema of its type.
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (i, req) in cd.iter().enumerate() {
        let ev: Value = serde_json::from_str(&req.body).unwrap();
        let t = ev["type"].as_str().unwrap();
        let schema = SCHEMAS
            .iter()
            .find(|(ty, _)| *ty == t)
            .unwrap_or_else(|| panic!("no schema for {t}"))
            .1;
        let file = dir.path().join(format!("event-{i}.json"));
        std::fs::write(&file, ev["data"].to_string()).unwrap();
        cases.push(json!({"event": file, "schema": schema_dir().join(schema)}));
    }
    let seen: std::collections::BTreeSet<&str> = by_type.keys().map(String::as_str).collect();
    assert_eq!(seen.len(), SCHEMAS.len(), "every schema is exercised");
    validate_with_jsonschema(&cases);
}

/// Validates each `{event, schema}` pair with Python's `jsonschema`
/// (Draft 2020-12, with its format checker), and checks the schemas are not
/// vacuous: each event, spoiled in a way the CDEvents schema forbids, fails.
fn validate_with_jsonschema(cases: &[Value]) {
    let script = r#"
import copy, json, sys
from jsonschema import Draft202012Validator

def spoiled(event):
    # What the CDEvents schemas refuse: a missing required field, another
    # event type, a source that is not a URI reference, an unknown property.
    a = copy.deepcopy(event); del a["context"]["timestamp"]; yield "no timestamp", a
    b = copy.deepcopy(event); b["context"]["type"] = "dev.cdevents.service.published.0.2.0"; yield "other type", b
    c = copy.deepcopy(event); c["context"]["source"] = "sluice/my shop"; yield "space in source", c
    d = copy.deepcopy(event); d["subject"]["content"]["extra"] = 1; yield "unknown content key", d
    e = copy.deepcopy(event); del e["subject"]["id"]; yield "no subject id", e
    f = copy.deepcopy(event); f["context"]["timestamp"] = "yesterday"; yield "bad timestamp", f

failures = []
cases = json.load(sys.stdin)
for case in cases:
    schema = json.load(open(case["schema"]))
    Draft202012Validator.check_schema(schema)
    v = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    event = json.load(open(case["event"]))
    for e in v.iter_errors(event):
        failures.append("%s: %s at %s" % (case["schema"], e.message, list(e.absolute_path)))
    for why, bad in spoiled(event):
        if v.is_valid(bad):
            failures.append("%s accepts an event with %s" % (case["schema"], why))
print(json.dumps({"checked": len(cases), "failures": failures}))
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/test provides it with its packages)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(cases.to_vec()).to_string().as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the CDEvents must be checked with Python's jsonschema (pip install jsonschema; scripts/test installs it): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["failures"], json!([]), "{v}");
    assert_eq!(v["checked"], cases.len(), "{v}");
}

/// `sluice check` refuses a format it does not know, naming the channel, the
/// value and the allowed values, and a format without a webhook; exit 2.
#[test]
fn check_refuses_a_bad_format() {
    let repo = Repo::new(Backend::Sqlite);
    let bad = r#"
[channels]
deploys = { webhook = "${DEPLOYS_HOOK}", format = "CDEvents" }
team = { email = ["team@example.com"], format = "cdevents" }
"#;
    std::fs::write(
        repo.path().join("sluice.toml"),
        Proc::default().render() + bad,
    )
    .unwrap();
    let o = repo.error(
        BOB,
        &["check"],
        &[
            "channel `deploys` has an unknown format `CDEvents`",
            "did you mean `cdevents`?",
            "format is \"cloudevents\"",
            "or \"cdevents\"",
            "channel `team` has a format but no webhook",
        ],
    );
    assert!(o.stderr.contains("2 problems in"), "{o}");
}

/// `notify preview` shows the CDEvents type a `cdevents` webhook sends, and
/// leaves the webhook out for an event without an equivalent.
#[test]
fn preview_shows_the_cdevents_type() {
    let repo = Repo::new(Backend::Sqlite);
    std::fs::write(
        repo.path().join("sluice.toml"),
        Proc::default().render() + MATRIX,
    )
    .unwrap();
    let o = repo.ok(BOB, &["notify", "preview", "release.rolled_back"]);
    assert!(
        o.stdout
            .contains("CloudEvent dev.cdevents.service.rolledback.0.2.0, summary: [shop] "),
        "{o}"
    );
    let v = repo.json(BOB, &["notify", "preview", "incident.opened"]);
    let types: Vec<(&str, &str)> = v["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap(),
                d["message"]["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("cd", "dev.cdevents.incident.detected.0.2.0"),
            ("ce", "dev.sluice.incident.opened")
        ]
    );
    let v = repo.json(BOB, &["notify", "preview", "patch.reported"]);
    let channels: Vec<&str> = v["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["ce"], "{v}");
}
