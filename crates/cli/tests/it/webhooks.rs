//! Real payloads from GitHub, GitLab and Alertmanager, posted to a real
//! `sluice serve` on 127.0.0.1 with correct and wrong signatures and repeated
//! deliveries; the patches, test reports and incidents they leave are checked
//! through the API and the CLI.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::both;
use crate::harness::{BOB, Backend, Proc, Repo};
use crate::http::{Http, Resp};

use crate::fixtures;
const GH: &str = "gh-secret-for-tests";
const GL: &str = "gl-token-for-tests";
const AM: &str = "am-token-for-tests";

const HOOKS: &str = r#"
[webhooks.github]
secret = "${GH_HOOK_SECRET}"
labels = ["bug"]
severity_labels = { "bug" = "minor" }
kind_labels = { "bug" = "fix" }
workflows = { "*" = { suite = "unit", env = "local" } }

[webhooks.gitlab]
token = "${GL_HOOK_TOKEN}"
labels = ["API"]

[webhooks.alertmanager]
token = "${AM_HOOK_TOKEN}"
env = "prod"
"#;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixtures::root().join(path)).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(body);
    let hex: String = m
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn served(backend: Backend) -> (Repo, Http) {
    let mut repo = Repo::new(backend);
    // CI reports results as the GitHub source, so it holds the test role.
    let text = Proc::default().render().replace(
        "qa = [\"alice@example.com\", \"dave@example.com\"]",
        "qa = [\"alice@example.com\", \"dave@example.com\", \"webhook:github\"]",
    );
    std::fs::write(repo.path().join("sluice.toml"), format!("{text}\n{HOOKS}")).unwrap();
    repo.serve_with(&[
        ("GH_HOOK_SECRET", GH),
        ("GL_HOOK_TOKEN", GL),
        ("AM_HOOK_TOKEN", AM),
    ]);
    let http = Http::new(&repo.server.as_ref().unwrap().url);
    (repo, http)
}

fn github(http: &Http, event: &str, delivery: &str, body: &[u8], secret: &str) -> Resp {
    let sig = sign(secret, body);
    http.raw(
        "POST",
        "/webhooks/github",
        None,
        Some(("application/json", body)),
        &[
            ("x-github-event", event),
            ("x-github-delivery", delivery),
            ("x-hub-signature-256", &sig),
        ],
    )
}

fn events(http: &Http, tk: &str) -> usize {
    http.get("/api/v1/audit?limit=100000", tk).body["events"]
        .as_array()
        .unwrap()
        .len()
}

fn patches(http: &Http, tk: &str) -> Vec<Value> {
    http.get("/api/v1/patches?all=true&limit=0", tk).body["patches"]
        .as_array()
        .unwrap()
        .clone()
}

both!(github_deliveries, github_deliveries);

fn github_deliveries(backend: Backend) {
    let Some(_) = fixtures::dir("github_deliveries") else {
        return;
    };
    let (repo, http) = served(backend);
    let tk = repo.token(BOB);

    // Wrong signature, missing signature, unknown event, malformed body: 4xx, no trace.
    let body = fixture("github/issues.opened.json");
    let before = events(&http, &tk);
    let r = github(&http, "issues", "d-bad", &body, "not-the-secret");
    assert_eq!((r.status, r.code()), (401, "unauthorized"), "{r:?}");
    let r = http.raw(
        "POST",
        "/webhooks/github",
        None,
        Some(("application/json", &body)),
        &[
            ("x-github-event", "issues"),
            ("x-github-delivery", "d-nosig"),
        ],
    );
    assert_eq!(r.status, 401, "{r:?}");
    let r = github(&http, "banana", "d-unknown", &body, GH);
    assert_eq!(r.status, 422, "{r:?}");
    let r = github(&http, "issues", "d-malformed", b"{\"action\": ", GH);
    assert_eq!(r.status, 400, "{r:?}");
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = http.raw(
        "POST",
        "/webhooks/github",
        None,
        Some(("application/json", &big)),
        &[("x-github-event", "issues"), ("connection", "close")],
    );
    assert_eq!(r.status, 413, "{r:?}");
    let r = http.raw(
        "POST",
        "/webhooks/bitbucket",
        None,
        Some(("application/json", b"{}")),
        &[],
    );
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(
        events(&http, &tk),
        before,
        "refused deliveries leave no trace"
    );
    assert!(patches(&http, &tk).is_empty());

    // A labelled issue becomes a reported patch, once.
    let r = github(&http, "issues", "d-1", &body, GH);
    assert_eq!(r.status, 202, "{r:?}");
    let ps = patches(&http, &tk);
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(
        ps[0]["source"]["reference"],
        "https://github.com/Codertocat/Hello-World/issues/1"
    );
    assert_eq!(ps[0]["kind"], "fix");
    assert_eq!(ps[0]["severity"], "minor");
    let r = github(&http, "issues", "d-1", &body, GH);
    assert_eq!(r.status, 200, "a repeated delivery is acknowledged: {r:?}");
    assert_eq!(r.body["duplicate"], true);
    let labeled = fixture("github/issues.labeled.json");
    let r = github(&http, "issues", "d-2", &labeled, GH);
    assert!(r.status / 100 == 2, "{r:?}");
    assert_eq!(
        patches(&http, &tk).len(),
        1,
        "the same issue is not reported twice"
    );

    // A completed workflow run becomes a test report on the release in `local`.
    let k = repo.fix("Checkout total is wrong");
    let _ = k;
    let v = repo.cut();
    repo.ok(BOB, &["promote", &v, "--to", "local"]);
    let run = fixture("github/workflow_run.completed.json");
    let r = github(&http, "workflow_run", "d-run-1", &run, GH);
    assert_eq!(r.status, 202, "{r:?}");
    let rel = http.get(&format!("/api/v1/releases/{v}"), &tk);
    let tests = rel.body["release"]["tests"].as_array().unwrap();
    assert!(
        tests.iter().any(|t| t["env"] == "local"
            && t["suite"] == "unit"
            && t["passed"] == true
            && t["reporter"] == "webhook:github"),
        "{rel:?}"
    );
    let r = github(&http, "workflow_run", "d-run-1", &run, GH);
    assert_eq!(r.body["duplicate"], true);
    let rel = http.get(&format!("/api/v1/releases/{v}"), &tk);
    assert_eq!(
        rel.body["release"]["tests"].as_array().unwrap().len(),
        tests.len()
    );
    // The gate into dev now sees the suite.
    repo.ok(BOB, &["promote", &v, "--to", "dev"]);

    // Every GitHub fixture, signed: never a 5xx, never a panic.
    for entry in std::fs::read_dir(fixtures::root().join("github")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let event = name.split('.').next().unwrap().to_string();
        let body = std::fs::read(&path).unwrap();
        let r = github(&http, &event, &format!("all-{name}"), &body, GH);
        assert!(r.status < 500, "{name}: {r:?}");
    }
}

both!(gitlab_and_alerts, gitlab_and_alerts);

fn gitlab_and_alerts(backend: Backend) {
    let Some(_) = fixtures::dir("gitlab_and_alerts") else {
        return;
    };
    let (repo, http) = served(backend);
    let tk = repo.token(BOB);

    // GitLab: the token in constant time; Idempotency-Key honoured.
    let body = fixture("gitlab/issue_hook.json");
    let r = http.raw(
        "POST",
        "/webhooks/gitlab",
        None,
        Some(("application/json", &body)),
        &[
            ("x-gitlab-event", "Issue Hook"),
            ("x-gitlab-token", "wrong"),
        ],
    );
    assert_eq!(r.status, 401, "{r:?}");
    let send = || {
        http.raw(
            "POST",
            "/webhooks/gitlab",
            None,
            Some(("application/json", &body)),
            &[
                ("x-gitlab-event", "Issue Hook"),
                ("x-gitlab-token", GL),
                ("idempotency-key", "gl-delivery-1"),
            ],
        )
    };
    let r = send();
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(patches(&http, &tk).len(), 1);
    let r = send();
    assert_eq!(
        (r.status, &r.body["duplicate"]),
        (200, &Value::Bool(true)),
        "{r:?}"
    );
    assert_eq!(patches(&http, &tk).len(), 1);

    // Alertmanager: a firing alert opens an incident on what prod holds.
    let v = {
        let _ = repo.fix("Crash on checkout");
        let v = repo.cut();
        repo.ship(&v);
        v
    };
    let firing = fixture("alerting/alertmanager.firing.v4.compact.json");
    let post_alert = |body: &[u8], token: &str| {
        let auth = format!("Bearer {token}");
        http.raw(
            "POST",
            "/webhooks/alertmanager",
            None,
            Some(("application/json", body)),
            &[("authorization", &auth)],
        )
    };
    let r = post_alert(&firing, "wrong");
    assert_eq!(r.status, 401, "{r:?}");
    let r = post_alert(&firing, AM);
    assert_eq!(r.status, 202, "{r:?}");
    let list = http.get("/api/v1/incidents", &tk);
    let incidents = list.body.as_array().unwrap().clone();
    assert_eq!(incidents.len(), 1, "{list:?}");
    assert_eq!(incidents[0]["env"], "prod");
    assert_eq!(incidents[0]["release"], v.as_str());
    let on_release = http.get(&format!("/api/v1/incidents?release={v}"), &tk);
    assert_eq!(
        on_release.body.as_array().unwrap().len(),
        1,
        "{on_release:?}"
    );
    let elsewhere = http.get("/api/v1/incidents?release=9.9.9", &tk);
    assert!(
        elsewhere.body.as_array().unwrap().is_empty(),
        "{elsewhere:?}"
    );
    assert!(incidents[0]["resolved_at"].is_null());
    // The same alert again: still one incident.
    let r = post_alert(&firing, AM);
    assert!(r.status / 100 == 2, "{r:?}");
    assert_eq!(
        http.get("/api/v1/incidents", &tk)
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The CLI sees it, in remote mode too.
    let o = repo
        .local_command(None, &["incident", "list", "--open", "--json"])
        .env("SLUICE_SERVER", &http.base)
        .env("SLUICE_TOKEN", &tk)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cli: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cli.as_array().unwrap().len(), 1);

    // Resolved: the matching alert resolves it.
    let resolved = fixture("alerting/alertmanager.resolved.v4.compact.json");
    let r = post_alert(&resolved, AM);
    assert_eq!(r.status, 202, "{r:?}");
    let i = &http.get("/api/v1/incidents", &tk).body[0];
    assert!(!i["resolved_at"].is_null(), "{i}");
    assert!(
        http.get("/api/v1/incidents?open=true", &tk)
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// A `workflow_run` payload written here: run `id`, `attempt`, finished at
/// `at` with `conclusion`.
fn workflow_run(id: u64, attempt: u32, at: &str, conclusion: &str) -> Vec<u8> {
    serde_json::json!({
        "action": "completed",
        "workflow_run": {
            "id": id, "name": "CI", "run_number": id - 90, "run_attempt": attempt,
            "status": "completed", "conclusion": conclusion,
            "head_branch": "main", "head_sha": "0000000000000000000000000000000000000000",
            "html_url": format!("https://github.com/acme/shop/actions/runs/{id}"),
            "created_at": "2026-11-30T09:00:00Z", "updated_at": at,
        },
        "repository": {"full_name": "acme/shop"},
    })
    .to_string()
    .into_bytes()
}

both!(
    replayed_runs_never_rewrite_results,
    replayed_runs_never_rewrite_results
);

/// A signed run re-sent under a new delivery id (or none) is recognised by
/// its own identity, and an older run arriving late never replaces a newer
/// result: the order is the runs' own, not the deliveries'.
fn replayed_runs_never_rewrite_results(backend: Backend) {
    let (repo, http) = served(backend);
    let tk = repo.token(BOB);
    repo.fix("Checkout total is wrong");
    let v = repo.cut();
    repo.ok(BOB, &["promote", &v, "--to", "local"]);
    let latest = || {
        let rel = http.get(&format!("/api/v1/releases/{v}"), &tk);
        let tests = rel.body["release"]["tests"].as_array().unwrap().clone();
        let last = tests
            .iter()
            .rev()
            .find(|t| t["env"] == "local" && t["suite"] == "unit")
            .cloned();
        (tests.len(), last)
    };
    let old_pass = workflow_run(101, 1, "2026-11-30T10:00:00Z", "success");
    let new_fail = workflow_run(102, 1, "2026-11-30T10:05:00Z", "failure");

    let r = github(&http, "workflow_run", "d-1", &new_fail, GH);
    assert_eq!(r.status, 202, "{r:?}");
    let (n, last) = latest();
    assert_eq!(last.as_ref().unwrap()["passed"], false);

    // The older, passing run arrives late: recorded, never the latest.
    let r = github(&http, "workflow_run", "d-2", &old_pass, GH);
    assert_eq!(r.status, 202, "{r:?}");
    let (n2, last) = latest();
    assert_eq!(n2, n + 1, "kept in the record");
    assert_eq!(
        last.unwrap()["passed"],
        false,
        "the newer failure still counts"
    );
    let o = repo.run(BOB, &["promote", &v, "--to", "dev"]);
    assert_eq!(o.code, 1, "the gate reads the failure: {o}");

    // Replays under a new delivery id, and under none: nothing happens.
    let before = events(&http, &tk);
    for delivery in ["d-3", ""] {
        let r = github(&http, "workflow_run", delivery, &old_pass, GH);
        assert_eq!(r.status, 202, "{r:?}");
        assert_eq!(r.body["effects"][0]["effect"], "replayed", "{r:?}");
        assert_eq!(
            r.body["effects"][0]["identity"], "run:github/workflow_run/101/1",
            "{r:?}"
        );
    }
    assert_eq!(events(&http, &tk), before, "no event for a replay");
    assert_eq!(latest().0, n2);

    // A re-run is a new attempt: it counts.
    let rerun = workflow_run(102, 2, "2026-11-30T10:20:00Z", "success");
    let r = github(&http, "workflow_run", "d-4", &rerun, GH);
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(latest().1.unwrap()["passed"], true);
    repo.ok(BOB, &["promote", &v, "--to", "dev"]);
}
