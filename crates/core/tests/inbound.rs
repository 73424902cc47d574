//! Inbound webhook payloads → intents, against every real payload in the
//! shared fixtures (GitHub, GitLab, Alertmanager, Grafana, Sentry).

use sluice_core::inbound::{self, InboundError, Intent};
use sluice_core::process::{DEFAULT_PROCESS, Process, load};

#[path = "../../../support/fixtures.rs"]
mod fixtures;

const HOOKS: &str = r#"
[webhooks.github]
secret = "${GITHUB_WEBHOOK_SECRET}"
labels = ["bug"]
severity_labels = { "sev:critical" = "critical", "bug" = "minor" }
kind_labels = { "bug" = "fix" }
workflows = { "test" = { suite = "integration", env = "dev" }, "octocoders-linter" = { suite = "unit", env = "dev" } }

[webhooks.gitlab]
token = "${GITLAB_WEBHOOK_TOKEN}"
labels = ["API"]
kind_labels = { "API" = "fix" }
workflows = { "*" = { suite = "integration", env = "dev" } }

[webhooks.alertmanager]
token = "${ALERTMANAGER_WEBHOOK_TOKEN}"
env_label = "env"
env = "prod"

[webhooks.grafana]
token = "${GRAFANA_WEBHOOK_TOKEN}"
env = "prod"

[webhooks.sentry]
secret = "${SENTRY_WEBHOOK_SECRET}"
env = "prod"
"#;

fn process() -> Process {
    match load("sluice.toml", &format!("{DEFAULT_PROCESS}\n{HOOKS}")) {
        Ok(p) => p,
        Err(d) => panic!("{d}"),
    }
}

fn files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fixtures::root().join(dir);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(fixtures::root().join(dir).join(name)).unwrap()
}

fn show(r: &Result<Vec<Intent>, InboundError>) -> String {
    match r {
        Ok(intents) => intents
            .iter()
            .map(|i| serde_json::to_string(i).unwrap())
            .collect::<Vec<_>>()
            .join("\n    "),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn every_forge_fixture() {
    let Some(_) = fixtures::dir("every_forge_fixture") else {
        return;
    };
    let p = process();
    let gh = p.webhooks.github.as_ref().unwrap();
    let gl = p.webhooks.gitlab.as_ref().unwrap();
    let mut out = String::new();
    let all = files("github");
    assert_eq!(all.len(), 35);
    for (name, body) in all {
        // The event is the file name's first part (X-GitHub-Event).
        let event = name.split('.').next().unwrap();
        let r = inbound::github(&p, gh, event, &body);
        assert!(r.is_ok(), "{name}: {r:?}");
        out.push_str(&format!("github/{name}\n    {}\n", show(&r)));
    }
    let all = files("gitlab");
    assert_eq!(all.len(), 18);
    for (name, body) in all {
        let r = inbound::gitlab(&p, gl, &body);
        assert!(r.is_ok(), "{name}: {r:?}");
        out.push_str(&format!("gitlab/{name}\n    {}\n", show(&r)));
    }
    insta::assert_snapshot!("forge_fixtures", out);
}

#[test]
fn every_alerting_fixture() {
    let Some(_) = fixtures::dir("every_alerting_fixture") else {
        return;
    };
    let p = process();
    let w = &p.webhooks;
    let mut out = String::new();
    for (name, body) in files("alerting") {
        let r = if name.starts_with("alertmanager") || name.starts_with("pagerduty") {
            inbound::alertmanager(w.alertmanager.as_ref().unwrap(), &body)
        } else if name.starts_with("grafana") {
            inbound::grafana(w.grafana.as_ref().unwrap(), &body)
        } else {
            let resource = match name.as_str() {
                "sentry.event_alert.triggered.json" => Some("event_alert"),
                "sentry.issue.created.json" => Some("issue"),
                _ => None,
            };
            inbound::sentry(w.sentry.as_ref().unwrap(), resource, &body)
        };
        out.push_str(&format!("alerting/{name}\n    {}\n", show(&r)));
    }
    insta::assert_snapshot!("alerting_fixtures", out);
}

#[test]
fn issue_opened_with_a_configured_label_is_a_report() {
    let Some(_) = fixtures::dir("issue_opened_with_a_configured_label_is_a_report") else {
        return;
    };
    let p = process();
    let r = inbound::github(
        &p,
        p.webhooks.github.as_ref().unwrap(),
        "issues",
        &fixture("github", "issues.opened.json"),
    )
    .unwrap();
    assert_eq!(
        r,
        [Intent::ReportPatch {
            source_ref: "https://github.com/Codertocat/Hello-World/issues/1".into(),
            title: "Spelling error in the README file".into(),
            description: Some(
                "It looks like you accidently spelled 'commit' with two 't's.".into()
            ),
            severity: Some("minor".into()),
            kind: Some("fix".into()),
        }]
    );
}

#[test]
fn merged_pull_request_naming_a_key_moves_it() {
    let Some(_) = fixtures::dir("merged_pull_request_naming_a_key_moves_it") else {
        return;
    };
    let p = process();
    let body = String::from_utf8(fixture("github", "pull_request.closed.merged.2.json"))
        .unwrap()
        .replace(
            "\"title\": \"Adds README.\"",
            "\"title\": \"Adds README (SHOP-7)\"",
        );
    let r = inbound::github(
        &p,
        p.webhooks.github.as_ref().unwrap(),
        "pull_request",
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        r,
        [Intent::PatchProgress {
            key: "SHOP-7".into(),
            merged_by: Some("C-Saunders".into()),
            url: Some("https://github.com/C-Saunders/flynn_env_test/pull/2".into()),
        }]
    );
}

#[test]
fn gitlab_keys_with_trailing_spaces_are_read() {
    let Some(_) = fixtures::dir("gitlab_keys_with_trailing_spaces_are_read") else {
        return;
    };
    let p = process();
    let body = String::from_utf8(fixture(
        "gitlab",
        "merge_request_hook.merged.group-hook.json",
    ))
    .unwrap()
    .replace("\"source-branch-test\"", "\"hotfix/SHOP-3-word-doc\"");
    let r = inbound::gitlab(&p, p.webhooks.gitlab.as_ref().unwrap(), body.as_bytes()).unwrap();
    assert!(
        matches!(&r[..], [Intent::PatchProgress { key, merged_by: Some(by), .. }] if key == "SHOP-3" && by == "user1"),
        "{r:?}"
    );
}

#[test]
fn firing_and_resolved_share_a_fingerprint() {
    let Some(_) = fixtures::dir("firing_and_resolved_share_a_fingerprint") else {
        return;
    };
    let p = process();
    let am = p.webhooks.alertmanager.as_ref().unwrap();
    let fire = inbound::alertmanager(
        am,
        &fixture("alerting", "alertmanager.firing.v4.compact.json"),
    )
    .unwrap();
    let done = inbound::alertmanager(
        am,
        &fixture("alerting", "alertmanager.resolved.v4.compact.json"),
    )
    .unwrap();
    let (
        Intent::IncidentFiring {
            fingerprint: a,
            env,
            ..
        },
        Intent::IncidentResolved { fingerprint: b },
    ) = (&fire[0], &done[0])
    else {
        panic!("{fire:?} {done:?}")
    };
    assert_eq!(a, b);
    assert_eq!(env, "prod");
}

#[test]
fn alerts_without_an_environment_are_ignored_without_a_default() {
    let Some(_) = fixtures::dir("alerts_without_an_environment_are_ignored_without_a_default")
    else {
        return;
    };
    let mut p = process();
    let am = p.webhooks.alertmanager.as_mut().unwrap();
    am.env = None;
    let r = inbound::alertmanager(am, &fixture("alerting", "alertmanager.firing.v4.json")).unwrap();
    assert_eq!(r.len(), 2);
    assert!(
        r.iter().all(|i| matches!(i, Intent::Ignored { .. })),
        "{r:?}"
    );
    // The v3 payload names its environment in `env`.
    let r = inbound::alertmanager(
        am,
        &fixture("alerting", "alertmanager.firing.v3.numeric-groupkey.json"),
    )
    .unwrap();
    assert!(
        matches!(&r[..], [Intent::IncidentFiring { env, service: Some(s), .. }] if env == "prod" && s == "prometheus_bot"),
        "{r:?}"
    );
}

#[test]
fn bad_bodies_are_errors_not_panics() {
    let p = process();
    let gh = p.webhooks.github.as_ref().unwrap();
    let gl = p.webhooks.gitlab.as_ref().unwrap();
    let am = p.webhooks.alertmanager.as_ref().unwrap();
    let sentry = p.webhooks.sentry.as_ref().unwrap();
    let bodies: [&[u8]; 8] = [
        b"",
        b"not json",
        b"[1, 2]",
        b"null",
        b"{\"issue\": 3}",
        b"{\"alerts\": {}}",
        b"\xff\xfe",
        b"{\"object_kind\": \"issue\"}",
    ];
    for body in bodies {
        for event in ["issues", "pull_request", "workflow_run", "check_suite"] {
            if let Ok(r) = inbound::github(&p, gh, event, body) {
                panic!("{event} {body:?}: {r:?}");
            }
        }
        assert!(inbound::gitlab(&p, gl, body).is_err(), "{body:?}");
        assert!(inbound::alertmanager(am, body).is_err(), "{body:?}");
        assert!(
            inbound::sentry(sentry, Some("issue"), body).is_err(),
            "{body:?}"
        );
    }
    assert_eq!(
        inbound::github(&p, gh, "made_up", b"{}"),
        Err(InboundError::UnknownEvent("made_up".into()))
    );
    assert_eq!(
        inbound::gitlab(&p, gl, b"{\"object_kind\": \"made_up\"}"),
        Err(InboundError::UnknownEvent("made_up".into()))
    );
}
