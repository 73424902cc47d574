//! Real fixture payloads through `App::receive_webhook_with` on a real SQLite
//! file: signatures, repeated deliveries, and what they leave behind.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use sluice_app::{App, Effect, InboundRequest, IncidentQuery, PatchQuery, WebhookSource};
use sluice_core::process::{DEFAULT_PROCESS, load};

#[path = "../../../support/fixtures.rs"]
mod fixtures;

const HOOKS: &str = r#"
[webhooks.github]
secret = "${GH_SECRET}"
labels = ["bug"]
severity_labels = { "bug" = "minor" }
kind_labels = { "bug" = "fix" }
workflows = { "test" = { suite = "unit", env = "local" } }

[webhooks.gitlab]
token = "${GL_TOKEN}"
labels = ["API"]

[webhooks.alertmanager]
token = "${AM_TOKEN}"
env = "prod"

[webhooks.sentry]
secret = "${SENTRY_SECRET}"
env = "prod"
"#;

fn env(k: &str) -> Option<String> {
    match k {
        "GH_SECRET" => Some("It's a Secret to Everybody".into()),
        "GL_TOKEN" => Some("gl-token".into()),
        "AM_TOKEN" => Some("am-token".into()),
        "SENTRY_SECRET" => Some("sentry-secret".into()),
        _ => None,
    }
}

fn now() -> Timestamp {
    "2026-11-03T10:00:00Z".parse().unwrap()
}

async fn app(dir: &Path, extra: &str) -> App {
    // The role responsible for tests includes the GitHub source.
    let text = format!("{DEFAULT_PROCESS}\n{HOOKS}\n{extra}").replace(
        "qa = [\"alice@example.com\"]",
        "qa = [\"alice@example.com\", \"webhook:github\"]",
    );
    let p = load("sluice.toml", &text).unwrap_or_else(|d| panic!("{d}"));
    App::open(
        p,
        &sluice_store::testing::sqlite_url(dir),
        dir.to_path_buf(),
    )
    .await
    .unwrap()
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixtures::root().join(path)).unwrap()
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(body);
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn github(event: &str, delivery: &str, body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("x-github-event".into(), event.into()),
        ("x-github-delivery".into(), delivery.into()),
        (
            "x-hub-signature-256".into(),
            format!("sha256={}", sign("It's a Secret to Everybody", body)),
        ),
    ]
}

async fn send(
    app: &App,
    source: WebhookSource,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<sluice_app::WebhookOutcome, sluice_app::WebhookError> {
    app.receive_webhook_with(
        now(),
        InboundRequest {
            source,
            headers,
            body,
        },
        &env,
    )
    .await
}

async fn event_count(app: &App) -> usize {
    app.store().events(None, 0, 10_000).await.unwrap().len()
}

#[tokio::test]
async fn github_issue_becomes_one_patch() {
    let Some(_) = fixtures::dir("github_issue_becomes_one_patch") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "").await;
    let body = fixture("github/issues.opened.json");
    let h = github("issues", "d-1", &body);
    let out = send(&app, WebhookSource::GitHub, &h, &body).await.unwrap();
    assert_eq!(
        out.effects,
        [Effect::PatchReported {
            key: "SHOP-1".into()
        }]
    );
    let p = app.store().patch("SHOP-1").await.unwrap().unwrap().0;
    assert_eq!(p.reporter, "webhook:github");
    assert_eq!(
        (p.severity.as_deref(), p.kind.as_deref()),
        (Some("minor"), Some("fix"))
    );
    assert_eq!(
        p.source.reference.as_deref(),
        Some("https://github.com/Codertocat/Hello-World/issues/1")
    );

    // The same delivery again: recognised, nothing done.
    let again = send(&app, WebhookSource::GitHub, &h, &body).await.unwrap();
    assert!(again.duplicate && again.effects.is_empty());
    // The label event for the same issue: already reported.
    let body = fixture("github/issues.labeled.json");
    let out = send(
        &app,
        WebhookSource::GitHub,
        &github("issues", "d-2", &body),
        &body,
    )
    .await
    .unwrap();
    assert_eq!(
        out.effects,
        [Effect::AlreadyReported {
            key: "SHOP-1".into()
        }]
    );
    let list = app
        .list_patches(now(), PatchQuery::default())
        .await
        .unwrap();
    assert_eq!(list.patches.len(), 1);
    assert!(app.audit_verify().await.unwrap().ok);
}

#[tokio::test]
async fn bad_deliveries_leave_no_trace() {
    let Some(_) = fixtures::dir("bad_deliveries_leave_no_trace") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "").await;
    let body = fixture("github/issues.opened.json");
    let mut wrong = github("issues", "d-1", &body);
    wrong[2].1 = format!("sha256={}", sign("another secret", &body));
    type Case = (Vec<(String, String)>, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        (wrong, body.clone(), 401),
        (
            github("issues", "d-2", &body)[..2].to_vec(),
            body.clone(),
            401,
        ),
        (
            github("issues", "d-3", b"{not json"),
            b"{not json".to_vec(),
            400,
        ),
        (github("made_up", "d-4", &body), body.clone(), 422),
        (
            github("issues", "d-5", &vec![b' '; 2 << 20]),
            vec![b' '; 2 << 20],
            413,
        ),
        (
            vec![("x-hub-signature-256".into(), "sha256=zz".into())],
            body.clone(),
            401,
        ),
    ];
    for (h, b, status) in cases {
        let e = send(&app, WebhookSource::GitHub, &h, &b).await.unwrap_err();
        assert_eq!(e.status(), status, "{e}");
    }
    // Not configured.
    let e = send(&app, WebhookSource::Grafana, &[], b"{}")
        .await
        .unwrap_err();
    assert_eq!(e.status(), 404, "{e}");
    // GitLab with a wrong token, Alertmanager without a bearer token.
    let gl = fixture("gitlab/issue_hook.json");
    let e = send(
        &app,
        WebhookSource::GitLab,
        &[("x-gitlab-token".into(), "nope".into())],
        &gl,
    )
    .await
    .unwrap_err();
    assert_eq!(e.status(), 401);
    let e = send(
        &app,
        WebhookSource::Alertmanager,
        &[],
        &fixture("alerting/grafana.firing.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.status(), 401);
    assert_eq!(event_count(&app).await, 0);
    assert!(!app.store().delivery_seen("github", "d-3").await.unwrap());
}

#[tokio::test]
async fn gitlab_issue_and_idempotency_key() {
    let Some(_) = fixtures::dir("gitlab_issue_and_idempotency_key") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "").await;
    let body = fixture("gitlab/issue_hook.json");
    let h = vec![
        ("x-gitlab-token".to_string(), "gl-token".to_string()),
        ("x-gitlab-event".to_string(), "Issue Hook".to_string()),
        ("idempotency-key".to_string(), "k-1".to_string()),
    ];
    let out = send(&app, WebhookSource::GitLab, &h, &body).await.unwrap();
    assert_eq!(
        out.effects,
        [Effect::PatchReported {
            key: "SHOP-1".into()
        }]
    );
    assert!(
        send(&app, WebhookSource::GitLab, &h, &body)
            .await
            .unwrap()
            .duplicate
    );
    // A hook Sluice does not use is recorded, and a repeat is a duplicate too.
    let push = fixture("gitlab/push_hook.json");
    let mut h2 = h.clone();
    h2[2].1 = "k-2".into();
    let out = send(&app, WebhookSource::GitLab, &h2, &push).await.unwrap();
    assert!(matches!(&out.effects[..], [Effect::Ignored { .. }]));
    assert!(
        send(&app, WebhookSource::GitLab, &h2, &push)
            .await
            .unwrap()
            .duplicate
    );
    assert_eq!(event_count(&app).await, 1);
}

#[tokio::test]
async fn merged_pull_request_moves_the_patch() {
    let Some(_) = fixtures::dir("merged_pull_request_moves_the_patch") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "").await;
    let dev = "erin@example.com";
    app.report_patch(
        dev,
        now(),
        sluice_core::decide::ReportInput {
            title: "login fails".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.triage_patch(
        "bob@example.com",
        now(),
        "SHOP-1",
        sluice_core::decide::TriageInput {
            severity: Some("major".into()),
            kind: Some("fix".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.start_patch(dev, now(), "SHOP-1").await.unwrap();
    let body = String::from_utf8(fixture("github/pull_request.closed.merged.2.json"))
        .unwrap()
        .replace(
            "\"title\": \"Adds README.\"",
            "\"title\": \"SHOP-1: fix login\"",
        );
    let h = github("pull_request", "pr-1", body.as_bytes());
    let out = send(&app, WebhookSource::GitHub, &h, body.as_bytes())
        .await
        .unwrap();
    // Review is requested; ready needs an approving review first.
    assert_eq!(
        out.effects,
        [Effect::PatchMoved {
            key: "SHOP-1".into(),
            status: sluice_core::model::PatchStatus::InReview
        }]
    );
    app.review_patch("frank@example.com", now(), "SHOP-1", Some(true), None)
        .await
        .unwrap();
    let h = github("pull_request", "pr-2", body.as_bytes());
    let out = send(&app, WebhookSource::GitHub, &h, body.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        out.effects,
        [Effect::PatchMoved {
            key: "SHOP-1".into(),
            status: sluice_core::model::PatchStatus::Ready
        }]
    );
    // The unmerged one does nothing.
    let body = fixture("github/pull_request.closed.unmerged.json");
    let out = send(
        &app,
        WebhookSource::GitHub,
        &github("pull_request", "pr-3", &body),
        &body,
    )
    .await
    .unwrap();
    assert!(matches!(&out.effects[..], [Effect::Ignored { .. }]));
}

#[tokio::test]
async fn workflow_run_reports_a_test_on_the_release_in_the_env() {
    let Some(_) = fixtures::dir("workflow_run_reports_a_test_on_the_release_in_the_env") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "").await;
    let body = fixture("github/workflow_run.completed.json");
    // No release anywhere yet: answered, not recorded.
    let out = send(
        &app,
        WebhookSource::GitHub,
        &github("workflow_run", "w-1", &body),
        &body,
    )
    .await
    .unwrap();
    assert!(
        matches!(&out.effects[..], [Effect::TestNotReported { .. }]),
        "{out:?}"
    );
    // A baseline release in `local`: the run is recorded against it.
    app.import_release("bob@example.com", now(), "1.3.0", None)
        .await
        .unwrap();
    let (mut r, rev) = app.store().release("1.3.0").await.unwrap().unwrap();
    r.reached.push("local".into());
    r.imported = false;
    r.status = sluice_core::model::ReleaseStatus::Candidate;
    app.store()
        .commit(&sluice_store::Change {
            actor: "bob@example.com".into(),
            at_ms: now().as_millisecond(),
            releases: vec![(r, Some(rev))],
            environments: vec![(
                sluice_core::model::EnvState {
                    env: "local".into(),
                    release: Some("1.3.0".into()),
                    since: Some(now()),
                },
                None,
            )],
            ..Default::default()
        })
        .await
        .unwrap();
    let out = send(
        &app,
        WebhookSource::GitHub,
        &github("workflow_run", "w-2", &body),
        &body,
    )
    .await
    .unwrap();
    assert_eq!(
        out.effects,
        [Effect::TestReported {
            version: "1.3.0".into(),
            env: "local".into(),
            suite: "unit".into(),
            passed: true
        }]
    );
    let r = app.store().release("1.3.0").await.unwrap().unwrap().0;
    assert_eq!(r.tests.last().unwrap().reporter, "webhook:github");
}

#[tokio::test]
async fn alerts_open_and_resolve_incidents() {
    let Some(_) = fixtures::dir("alerts_open_and_resolve_incidents") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "").await;
    let bearer = vec![("authorization".to_string(), "Bearer am-token".to_string())];
    let fire = fixture("alerting/alertmanager.firing.v4.compact.json");
    let out = send(&app, WebhookSource::Alertmanager, &bearer, &fire)
        .await
        .unwrap();
    assert_eq!(
        out.effects,
        [Effect::IncidentOpened {
            id: 1,
            env: "prod".into(),
            release: None
        }]
    );
    // Alertmanager repeats a firing alert: still one incident.
    let out = send(&app, WebhookSource::Alertmanager, &bearer, &fire)
        .await
        .unwrap();
    assert_eq!(out.effects, [Effect::IncidentAlreadyOpen { id: 1 }]);
    let i = app.incident(1).await.unwrap().incident;
    assert_eq!(
        (i.source.as_str(), i.severity.as_deref()),
        ("alertmanager", Some("critical"))
    );
    let done = fixture("alerting/alertmanager.resolved.v4.compact.json");
    let out = send(&app, WebhookSource::Alertmanager, &bearer, &done)
        .await
        .unwrap();
    assert_eq!(out.effects, [Effect::IncidentResolved { id: 1 }]);
    let i = app.incident(1).await.unwrap();
    assert_eq!(
        i.incident.resolved_by.as_deref(),
        Some("webhook:alertmanager")
    );
    assert_eq!(i.events.len(), 2);
    let open = app
        .incidents(IncidentQuery {
            open: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(open.is_empty());

    // Sentry, signed, with a Request-ID.
    let body = fixture("alerting/sentry.event_alert.triggered.json");
    let h = vec![
        (
            "sentry-hook-resource".to_string(),
            "event_alert".to_string(),
        ),
        ("request-id".to_string(), "r-1".to_string()),
        (
            "sentry-hook-signature".to_string(),
            sign("sentry-secret", &body),
        ),
    ];
    let out = send(&app, WebhookSource::Sentry, &h, &body).await.unwrap();
    assert!(
        matches!(&out.effects[..], [Effect::IncidentOpened { id: 2, .. }]),
        "{out:?}"
    );
    assert!(
        send(&app, WebhookSource::Sentry, &h, &body)
            .await
            .unwrap()
            .duplicate
    );
    assert_eq!(
        app.incidents(IncidentQuery::default()).await.unwrap().len(),
        2
    );
    assert!(app.audit_verify().await.unwrap().ok);
}
