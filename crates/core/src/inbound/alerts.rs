//! Alertmanager, Grafana and Sentry: firing alerts open incidents, resolved
//! ones resolve them.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{InboundError, Intent, field, id_text, object, text};
use crate::process::AlertHooks;

/// A stable fingerprint for an alert that carries none: a hash of its
/// labels, sorted by name.
fn label_fingerprint(labels: &Map<String, Value>) -> String {
    let mut pairs: Vec<(&String, String)> = labels
        .iter()
        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect();
    pairs.sort();
    let mut h = Sha256::new();
    for (k, v) in pairs {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn firing(
    cfg: &AlertHooks,
    env: Option<String>,
    service: Option<String>,
    fingerprint: String,
    title: String,
    severity: Option<String>,
    url: Option<String>,
) -> Intent {
    // The source's own word for how bad it is, in the process's terms.
    let severity = severity.map(|s| cfg.severity_of(&s).unwrap_or(s));
    match env.or_else(|| cfg.env.clone()) {
        Some(env) => Intent::IncidentFiring {
            env,
            service,
            fingerprint,
            title,
            severity,
            url,
            since: None,
        },
        None => Intent::ignored(format!(
            "alert `{title}` names no environment (label `{}`) and no default `env` is configured",
            cfg.env_label
        )),
    }
}

/// The Alertmanager webhook format (also Grafana's): `alerts` with labels,
/// annotations and a status, the group's status as the default.
fn alert_list(cfg: &AlertHooks, v: &Value, source: &str) -> Result<Vec<Intent>, InboundError> {
    let alerts = field(v, "alerts")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            InboundError::Malformed(format!("the {source} payload has no `alerts` list"))
        })?;
    let group_status = text(v, "status");
    let empty = Map::new();
    let mut out = Vec::new();
    for (i, a) in alerts.iter().enumerate().take(1000) {
        let labels = field(a, "labels")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let label = |name: &str| {
            labels
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let status = text(a, "status").or_else(|| group_status.clone());
        let fingerprint = text(a, "fingerprint").unwrap_or_else(|| label_fingerprint(labels));
        let annotations = field(a, "annotations");
        let title = annotations
            .and_then(|n| {
                text(n, "summary")
                    .or_else(|| text(n, "message"))
                    .or_else(|| text(n, "description"))
            })
            .or_else(|| label("alertname"))
            .unwrap_or_else(|| format!("{source} alert {}", i + 1));
        match status.as_deref() {
            Some("firing") => {
                let mut f = firing(
                    cfg,
                    label(&cfg.env_label),
                    label(&cfg.service_label),
                    fingerprint,
                    title,
                    label("severity"),
                    text(a, "generatorURL"),
                );
                if let Intent::IncidentFiring { since, .. } = &mut f {
                    *since = text(a, "startsAt");
                }
                out.push(f);
            }
            Some("resolved") => out.push(Intent::IncidentResolved { fingerprint }),
            other => out.push(Intent::ignored(format!(
                "alert `{title}` has status `{}`",
                other.unwrap_or("none")
            ))),
        }
    }
    if out.is_empty() {
        out.push(Intent::ignored("the payload holds no alerts"));
    }
    Ok(out)
}

/// An Alertmanager delivery.
pub fn alertmanager(cfg: &AlertHooks, body: &[u8]) -> Result<Vec<Intent>, InboundError> {
    alert_list(cfg, &object(body)?, "Alertmanager")
}

/// A Grafana (unified alerting) delivery.
pub fn grafana(cfg: &AlertHooks, body: &[u8]) -> Result<Vec<Intent>, InboundError> {
    alert_list(cfg, &object(body)?, "Grafana")
}

/// A tag's value in Sentry's `[["name", "value"], ...]` list, trimmed; empty
/// counts as absent, as for Alertmanager labels (so an empty `environment`
/// tag falls back to the configured `env`).
fn tag(event: &Value, name: &str) -> Option<String> {
    field(event, "tags")?
        .as_array()?
        .iter()
        .filter_map(Value::as_array)
        .find(|t| t.first().and_then(Value::as_str) == Some(name))
        .and_then(|t| t.get(1)?.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The issue id in a Sentry issue URL (`.../issues/1635244907/...`).
fn issue_id_in(url: &str) -> Option<String> {
    let rest = url.split("/issues/").nth(1)?;
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some(id)
}

fn sentry_event(
    cfg: &AlertHooks,
    event: &Value,
    fingerprint: Option<String>,
    project: Option<String>,
    url: Option<String>,
) -> Intent {
    let env = text(event, "environment").or_else(|| tag(event, &cfg.env_label));
    let service = tag(event, &cfg.service_label).or(project);
    let title = text(event, "title")
        .or_else(|| text(event, "message"))
        .unwrap_or_else(|| "Sentry alert".to_string());
    let fingerprint = fingerprint
        .or_else(|| text(event, "issue_id"))
        .or_else(|| text(event, "issue_url").and_then(|u| issue_id_in(&u)))
        .or_else(|| text(event, "event_id"));
    let Some(fingerprint) = fingerprint else {
        return Intent::ignored("the Sentry event names no issue");
    };
    firing(
        cfg,
        env,
        service,
        fingerprint,
        title,
        tag(event, "level"),
        url.or_else(|| text(event, "web_url")),
    )
}

/// A Sentry delivery: `resource` is the `Sentry-Hook-Resource` header
/// (integration platform); without it the body is read as the legacy
/// WebHooks plugin's.
pub fn sentry(
    cfg: &AlertHooks,
    resource: Option<&str>,
    body: &[u8],
) -> Result<Vec<Intent>, InboundError> {
    let v = object(body)?;
    let action = text(&v, "action");
    let data = || {
        field(&v, "data")
            .filter(|d| d.is_object())
            .ok_or_else(|| InboundError::Malformed("a Sentry payload without `data`".into()))
    };
    match resource {
        Some("event_alert") => {
            let event = field(data()?, "event")
                .filter(|e| e.is_object())
                .ok_or_else(|| InboundError::Malformed("an event alert without `event`".into()))?;
            if action.as_deref() != Some("triggered") {
                return Ok(vec![Intent::ignored("the event alert was not triggered")]);
            }
            Ok(vec![sentry_event(cfg, event, None, None, None)])
        }
        Some("issue") => {
            let issue = field(data()?, "issue")
                .filter(|e| e.is_object())
                .ok_or_else(|| InboundError::Malformed("an issue event without `issue`".into()))?;
            let id = id_text(issue, "id")
                .ok_or_else(|| InboundError::Malformed("a Sentry issue without `id`".into()))?;
            match action.as_deref() {
                Some("created") | Some("unresolved") => {
                    let project = field(issue, "project").and_then(|p| text(p, "slug"));
                    let url = text(issue, "permalink").or_else(|| text(issue, "web_url"));
                    Ok(vec![sentry_event(cfg, issue, Some(id), project, url)])
                }
                Some("resolved") => Ok(vec![Intent::IncidentResolved { fingerprint: id }]),
                other => Ok(vec![Intent::ignored(format!(
                    "issue {} is not used",
                    other.unwrap_or("event")
                ))]),
            }
        }
        Some("installation" | "comment" | "error" | "metric_alert" | "seer") => {
            Ok(vec![Intent::ignored(format!(
                "`{}` resources are not used",
                resource.unwrap_or_default()
            ))])
        }
        Some(other) => Err(InboundError::UnknownEvent(other.to_string())),
        None => {
            // The legacy WebHooks plugin: one issue alert, no resource header.
            let event = field(&v, "event").filter(|e| e.is_object());
            match (event, id_text(&v, "id")) {
                (Some(event), Some(id)) => Ok(vec![sentry_event(
                    cfg,
                    event,
                    Some(id),
                    text(&v, "project"),
                    text(&v, "url"),
                )]),
                _ => Err(InboundError::UnknownEvent(
                    "(no Sentry-Hook-Resource header)".to_string(),
                )),
            }
        }
    }
}
