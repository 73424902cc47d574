//! Stage one for `[webhooks]`: the inbound sources, their secrets and the
//! mappings from labels, workflows and alert labels to Sluice's names.

use toml::de::DeValue;

use super::diag::Sink;
use super::walk::{Obj, Sp, as_table};

pub(crate) const WEBHOOKS_KEYS: &[&str] =
    &["github", "gitlab", "alertmanager", "grafana", "sentry"];
pub(crate) const GITHUB_KEYS: &[&str] = &[
    "secret",
    "labels",
    "severity_labels",
    "kind_labels",
    "workflows",
];
pub(crate) const GITLAB_KEYS: &[&str] = &[
    "token",
    "labels",
    "severity_labels",
    "kind_labels",
    "workflows",
];
pub(crate) const WORKFLOW_KEYS: &[&str] = &["suite", "env"];
pub(crate) const ALERT_KEYS: &[&str] = &[
    "token",
    "env_label",
    "service_label",
    "env",
    "severity_levels",
];
pub(crate) const SENTRY_KEYS: &[&str] = &[
    "secret",
    "env_label",
    "service_label",
    "env",
    "severity_levels",
];

/// A forge (GitHub or GitLab): issues, merged pull requests, CI runs.
pub(crate) struct RawForge {
    pub secret: Option<Sp<String>>,
    pub labels: Vec<Sp<String>>,
    pub severity_labels: Vec<(Sp<String>, Sp<String>)>,
    pub kind_labels: Vec<(Sp<String>, Sp<String>)>,
    pub workflows: Vec<RawWorkflow>,
}

pub(crate) struct RawWorkflow {
    pub name: Sp<String>,
    pub suite: Option<Sp<String>>,
    pub env: Option<Sp<String>>,
}

/// An alert source (Alertmanager, Grafana, Sentry).
pub(crate) struct RawAlerts {
    pub secret: Option<Sp<String>>,
    pub env_label: Option<Sp<String>>,
    pub service_label: Option<Sp<String>>,
    pub env: Option<Sp<String>>,
    pub severity_levels: Vec<(Sp<String>, Sp<String>)>,
}

#[derive(Default)]
pub(crate) struct RawWebhooks {
    pub github: Option<RawForge>,
    pub gitlab: Option<RawForge>,
    pub alertmanager: Option<RawAlerts>,
    pub grafana: Option<RawAlerts>,
    pub sentry: Option<RawAlerts>,
}

/// `{ "sev:critical" = "critical" }`: label -> name.
fn string_map(
    s: &mut Sink<'_>,
    o: &Obj<'_, '_>,
    key: &str,
    example: &str,
) -> Vec<(Sp<String>, Sp<String>)> {
    let Some(t) = o.table(s, key, format!("`{key}` in {}", o.name), example) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in t.entries() {
        match v.get_ref() {
            DeValue::String(x) => out.push((
                Sp::new(k.get_ref().to_string(), k.span()),
                Sp::new(x.to_string(), v.span()),
            )),
            _ => {
                t.str(s, k.get_ref(), example);
            }
        }
    }
    out
}

fn forge(s: &mut Sink<'_>, o: &Obj<'_, '_>, secret_key: &str, keys: &[&str]) -> RawForge {
    o.known_keys(s, keys);
    let var = if secret_key == "token" {
        "\"${GITLAB_WEBHOOK_TOKEN}\""
    } else {
        "\"${GITHUB_WEBHOOK_SECRET}\""
    };
    let mut workflows = Vec::new();
    let ex = "{ \"CI\" = { suite = \"integration\", env = \"test\" } }";
    if let Some(w) = o.table(s, "workflows", format!("`workflows` in {}", o.name), ex) {
        for (k, v) in w.entries() {
            let name = k.get_ref().to_string();
            let label = format!("workflow `{name}` in {}", o.name);
            if let Some(t) = as_table(s, v, label, "{ suite = \"integration\", env = \"test\" }") {
                t.known_keys(s, WORKFLOW_KEYS);
                workflows.push(RawWorkflow {
                    suite: t.req_str(s, "suite", "\"integration\""),
                    env: t.req_str(s, "env", "\"test\""),
                    name: Sp::new(name, k.span()),
                });
            }
        }
    }
    RawForge {
        secret: o.req_str(s, secret_key, var),
        labels: o
            .strings(s, "labels", "[\"bug\"]")
            .map(|l| l.v)
            .unwrap_or_default(),
        severity_labels: string_map(
            s,
            o,
            "severity_labels",
            "{ \"sev:critical\" = \"critical\" }",
        ),
        kind_labels: string_map(s, o, "kind_labels", "{ \"security\" = \"security\" }"),
        workflows,
    }
}

fn alerts(s: &mut Sink<'_>, o: &Obj<'_, '_>, secret_key: &str, keys: &[&str]) -> RawAlerts {
    o.known_keys(s, keys);
    let var = format!(
        "\"${{{}_WEBHOOK_{}}}\"",
        o.name
            .trim_start_matches("[webhooks.")
            .trim_end_matches(']')
            .to_ascii_uppercase(),
        secret_key.to_ascii_uppercase()
    );
    RawAlerts {
        secret: o.req_str(s, secret_key, &var),
        env_label: o.str(s, "env_label", "\"environment\""),
        service_label: o.str(s, "service_label", "\"service\""),
        env: o.str(s, "env", "\"prod\""),
        severity_levels: string_map(
            s,
            o,
            "severity_levels",
            "{ \"fatal\" = \"critical\", \"error\" = \"major\" }",
        ),
    }
}

pub(crate) fn walk(s: &mut Sink<'_>, o: &Obj<'_, '_>) -> RawWebhooks {
    o.known_keys(s, WEBHOOKS_KEYS);
    let sub = |s: &mut Sink<'_>, key: &str| {
        o.table(
            s,
            key,
            format!("[webhooks.{key}]"),
            &format!("[webhooks.{key}] with its settings"),
        )
    };
    RawWebhooks {
        github: sub(s, "github").map(|t| forge(s, &t, "secret", GITHUB_KEYS)),
        gitlab: sub(s, "gitlab").map(|t| forge(s, &t, "token", GITLAB_KEYS)),
        alertmanager: sub(s, "alertmanager").map(|t| alerts(s, &t, "token", ALERT_KEYS)),
        grafana: sub(s, "grafana").map(|t| alerts(s, &t, "token", ALERT_KEYS)),
        sentry: sub(s, "sentry").map(|t| alerts(s, &t, "secret", SENTRY_KEYS)),
    }
}
