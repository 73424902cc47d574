//! After the release, through a real `sluice serve`: prod watches a release
//! for a few seconds after it enters (`monitor_for`), expects its smoke suite,
//! and rolls back on its own (`auto_rollback`) when a critical alert or a
//! failed smoke run comes in meanwhile — once; after the window the same alert
//! opens an incident and rolls nothing back; a clean window verifies the
//! patches.

use serde_json::Value;

use crate::harness::{BOB, Backend, Proc, Repo};
use crate::http::Http;
use crate::{both, fixtures};

const AM: &str = "am-token-for-watch";
/// How long prod watches a release in these tests.
const WINDOW_MS: u64 = 6000;

/// An Alertmanager (webhook v4) notification as the documentation shapes it,
/// written for these tests: one critical alert, firing or resolved.
fn alert(status: &str) -> Vec<u8> {
    let ends = if status == "firing" {
        "0001-01-01T00:00:00Z"
    } else {
        "2026-11-30T10:05:00Z"
    };
    serde_json::json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"CheckoutErrors\"}",
        "status": status,
        "receiver": "sluice",
        "groupLabels": {"alertname": "CheckoutErrors"},
        "commonLabels": {"alertname": "CheckoutErrors", "severity": "critical"},
        "commonAnnotations": {"summary": "Checkout error rate above 5%"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "CheckoutErrors", "severity": "critical", "service": "checkout"},
            "annotations": {"summary": "Checkout error rate above 5%"},
            "startsAt": "2026-11-30T10:00:00Z",
            "endsAt": ends,
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": "c0ffee0123456789",
        }],
    })
    .to_string()
    .into_bytes()
}

/// The test process, with prod watching for [`WINDOW_MS`], rolling back on
/// its own, alerts coming from Alertmanager, and rollbacks announced.
fn watched(backend: Backend) -> (Repo, Http) {
    let mut repo = Repo::new(backend);
    let text = Proc::default().render().replace(
        "after_deploy_tests = [\"smoke\"]\n",
        &format!(
            "after_deploy_tests = [\"smoke\"]\nmonitor_for = \"{}s\"\nauto_rollback = true\n",
            WINDOW_MS / 1000
        ),
    );
    let extra = r#"
[webhooks.alertmanager]
token = "${AM_HOOK_TOKEN}"
env = "prod"

[channels]
ops = { webhook = "${OPS_HOOK}" }

[[notify]]
on = ["release.rolled_back", "release.watch_ended", "release.rollback_needed"]
to = ["ops"]
"#;
    std::fs::write(repo.path().join("sluice.toml"), format!("{text}{extra}")).unwrap();
    repo.ok(BOB, &["check"]);
    repo.serve_with(&[("AM_HOOK_TOKEN", AM)]);
    let http = Http::new(&repo.server.as_ref().unwrap().url);
    (repo, http)
}

fn post_alert(http: &Http, body: &[u8]) {
    let auth = format!("Bearer {AM}");
    let r = http.raw(
        "POST",
        "/webhooks/alertmanager",
        None,
        Some(("application/json", body)),
        &[("authorization", &auth)],
    );
    assert!(r.status / 100 == 2, "{r:?}");
}

/// Ships a new fix to prod; returns its version and its patch.
fn ship_fix(repo: &Repo, title: &str) -> (String, String) {
    let key = repo.fix(title);
    let v = repo.cut();
    repo.ship(&v);
    (v, key)
}

fn rollbacks(repo: &Repo) -> usize {
    repo.deploy_log()
        .iter()
        .filter(|l| l.starts_with("rollback"))
        .count()
}

fn events_of(repo: &Repo, subject: &str, kind: &str) -> Vec<Value> {
    let log = repo.json(BOB, &["audit", "--subject", subject]);
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

both!(
    a_critical_alert_in_the_window_rolls_back_once,
    alert_in_the_window
);

fn alert_in_the_window(backend: Backend) {
    alert_flow(backend, &alert("firing"), &alert("resolved"));
}

/// The same flow with the real Alertmanager payloads of the fixture corpus.
#[test]
fn a_real_alertmanager_payload_rolls_back_once() {
    let Some(dir) = fixtures::dir("a_real_alertmanager_payload_rolls_back_once") else {
        return;
    };
    let read = |f: &str| std::fs::read(dir.join("alerting").join(f)).unwrap();
    alert_flow(
        Backend::Sqlite,
        &read("alertmanager.firing.v4.compact.json"),
        &read("alertmanager.resolved.v4.compact.json"),
    );
}

fn alert_flow(backend: Backend, firing: &[u8], resolved: &[u8]) {
    {
        let (repo, http) = watched(backend);
        // 1. A clean window: smoke passed, no incident; when it ends the
        //    scheduler closes it and the patches are verified.
        let (v1, k1) = ship_fix(&repo, "Checkout total is wrong");
        repo.pass(&v1, "prod", "smoke");
        assert_eq!(repo.patch_status(&k1), "released");
        let shown = repo.show(&v1);
        let w = &shown["release"]["watches"][0];
        assert_eq!(w["env"], "prod", "{shown}");
        assert!(w["ended"].is_null(), "{shown}");
        std::thread::sleep(std::time::Duration::from_millis(WINDOW_MS + 200));
        let t = repo.json(BOB, &["tick"]);
        assert!(
            t["recorded"]
                .to_string()
                .contains(&format!("release.watch_ended {v1} (clean)")),
            "{t}"
        );
        assert_eq!(repo.patch_status(&k1), "verified");

        // 2. The next release's window: a critical alert rolls prod back at
        //    once, once, however often the alert and the scheduler come back.
        let (v2, k2) = ship_fix(&repo, "Coupon applied twice");
        post_alert(&http, firing);
        assert_eq!(rollbacks(&repo), 1, "{:?}", repo.deploy_log());
        assert_eq!(repo.holds("prod").as_deref(), Some(v1.as_str()));
        assert_eq!(repo.show(&v2)["release"]["status"], "rolled_back");
        assert_eq!(repo.patch_status(&k2), "in_progress", "reopened");
        let rolled = events_of(&repo, &v2, "release.rolled_back");
        assert_eq!(rolled.len(), 1, "{rolled:?}");
        assert_eq!(rolled[0]["actor"], "sluice", "{rolled:?}");
        let payload: Value = serde_json::from_str(rolled[0]["payload"].as_str().unwrap()).unwrap();
        assert_eq!(payload["trigger"], "incident-1", "{payload}");
        post_alert(&http, firing);
        repo.ok(BOB, &["tick"]);
        assert_eq!(rollbacks(&repo), 1, "{:?}", repo.deploy_log());
        // Announced through the matrix.
        let outbox = repo.json(BOB, &["notify", "list"]);
        assert!(
            outbox
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["event_kind"] == "release.rolled_back"),
            "{outbox}"
        );

        // 3. After the window (prod holds v1 again, its window long over), the
        //    same alert opens an incident on v1 and rolls nothing back.
        post_alert(&http, resolved);
        post_alert(&http, firing);
        let incidents = repo.json(BOB, &["incident", "list"]);
        let on_v1: Vec<&Value> = incidents
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["release"] == v1.as_str())
            .collect();
        assert_eq!(on_v1.len(), 1, "{incidents}");
        repo.ok(BOB, &["tick"]);
        assert_eq!(rollbacks(&repo), 1, "{:?}", repo.deploy_log());
        assert_eq!(repo.holds("prod").as_deref(), Some(v1.as_str()));
    }
}

both!(
    a_failed_smoke_run_in_the_window_rolls_back_once,
    a_failed_smoke_run_in_the_window_rolls_back_once
);

fn a_failed_smoke_run_in_the_window_rolls_back_once(backend: Backend) {
    let (repo, _http) = watched(backend);
    let (v1, _) = ship_fix(&repo, "Checkout total is wrong");
    let (v2, k2) = ship_fix(&repo, "Coupon applied twice");
    let out = repo.json(
        crate::harness::ALICE,
        &[
            "test", "report", &v2, "--env", "prod", "--suite", "smoke", "--fail",
        ],
    );
    // The answer is the release as the rollback left it.
    assert_eq!(out["status"], "rolled_back", "{out}");
    assert_eq!(rollbacks(&repo), 1, "{:?}", repo.deploy_log());
    assert_eq!(repo.holds("prod").as_deref(), Some(v1.as_str()));
    assert_eq!(repo.patch_status(&k2), "in_progress");
    repo.ok(BOB, &["tick"]);
    assert_eq!(rollbacks(&repo), 1, "{:?}", repo.deploy_log());
    let rolled = events_of(&repo, &v2, "release.rolled_back");
    let payload: Value = serde_json::from_str(rolled[0]["payload"].as_str().unwrap()).unwrap();
    assert!(
        payload["trigger"]
            .as_str()
            .unwrap_or_default()
            .starts_with("test:prod:smoke:"),
        "{payload}"
    );
}

both!(
    a_rollback_opens_a_retrospective,
    a_rollback_opens_a_retrospective
);

/// The automatic rollback opens a retrospective owned by the monitor role:
/// its generated document tells what happened from the audit log; the team
/// files actions from it, writes it, and its owner completes it.
fn a_rollback_opens_a_retrospective(backend: Backend) {
    use crate::harness::{ALICE, DAVE};
    let (repo, _http) = watched(backend);
    ship_fix(&repo, "Checkout total is wrong");
    let (v2, k2) = ship_fix(&repo, "Coupon applied twice");
    repo.ok(
        ALICE,
        &[
            "test", "report", &v2, "--env", "prod", "--suite", "smoke", "--fail",
        ],
    );
    let id = format!("{v2}-r1");
    let open = repo.json(BOB, &["retro", "list", "--open"]);
    let ours: Vec<&Value> = open
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["id"] == id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{open}");
    assert_eq!(ours[0]["cause"], "rollback");
    assert_eq!(ours[0]["owner"], "devops");
    // The generated document: the timeline from the audit log, with the
    // patch's steps, the environments entered and the automatic rollback.
    let doc = repo.ok(BOB, &["retro", "show", &id]).stdout;
    for needle in [
        format!("# Retrospective {id}: release {v2}"),
        format!("{k2} reported"),
        format!("{v2} entered `prod`"),
        "`prod` rolled back to".to_string(),
        "automatically: after-deploy suite `smoke` failed".to_string(),
        "## Causes".to_string(),
    ] {
        assert!(doc.contains(&needle), "{needle}:\n{doc}");
    }
    // An action filed from it is listed with it; an unknown retrospective is refused.
    let action = repo.json(
        DAVE,
        &[
            "patch",
            "report",
            "Alert on coupon errors",
            "--from-retro",
            &id,
        ],
    );
    assert_eq!(action["source"]["kind"], "retro", "{action}");
    let shown = repo.json(BOB, &["retro", "show", &id]);
    assert_eq!(shown["actions"][0]["key"], action["key"], "{shown}");
    repo.error(
        DAVE,
        &["patch", "report", "x", "--from-retro", "9.9.9-r1"],
        &["no retrospective `9.9.9-r1`"],
    );
    // Completing needs the team's text and the owner role.
    repo.refused(
        DAVE,
        &["retro", "complete", &id],
        &["the team's text", &format!("sluice retro edit {id}")],
    );
    let text = repo.path().join("retro.md");
    std::fs::write(&text, "## Causes\nThe coupon cache was shared.\n").unwrap();
    repo.ok(
        BOB,
        &["retro", "edit", &id, "--from", text.to_str().unwrap()],
    );
    repo.refused(BOB, &["retro", "complete", &id], &["owner role `devops`"]);
    repo.ok(DAVE, &["retro", "complete", &id]);
    let doc = repo.ok(BOB, &["retro", "show", &id]).stdout;
    assert!(doc.starts_with("## Causes"), "{doc}");
    let open = repo.json(BOB, &["retro", "list", "--open"]);
    assert!(!open.to_string().contains(&id), "{open}");
}
