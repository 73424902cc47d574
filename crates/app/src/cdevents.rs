//! CDEvents for webhook channels with `format = "cdevents"`: a CloudEvent
//! (structured mode, as for the default format) whose `type` is the CDEvents
//! type and whose `data` is the CDEvent itself, built from an outbox
//! message's payload.
//!
//! Which Sluice event becomes which CDEvent is the core's table
//! (`sluice_core::cdevents`). Routing writes no message for an event without
//! an equivalent to such a channel; one found anyway (the channel's format
//! was changed after the message was written) is refused as undeliverable,
//! so it is not retried.
//!
//! The CDEvent carries what the CDEvents schemas ask for, from Sluice's own
//! facts: the service is the project (or, for an incident, the service its
//! alert names), the environment is the Sluice environment, the artifact is
//! the release as `pkg:generic/<project>@<version>`, the change is the patch.
//! Sluice's own payload (with the rendered `summary`) rides along as
//! `customData`, so nothing the default format says is lost.

use serde_json::{Map, Value, json};
use sluice_core::cdevents::{SPEC_VERSION, event_type};
use sluice_store::OutboxRow;

use crate::deliver::{event_source, event_time};
use crate::sending::DeliveryError;
use crate::wire::command::encode_segment;

/// The release as a package URL: `pkg:generic/<project>@<version>`, both
/// percent-encoded as the purl specification asks of a name and a version.
pub fn artifact_id(project: &str, version: &str) -> String {
    format!(
        "pkg:generic/{}@{}",
        encode_segment(project),
        encode_segment(version)
    )
}

/// A string the payload holds at a JSON pointer, if it is a non-empty one.
fn text<'a>(p: &'a Value, pointer: &str) -> Option<&'a str> {
    p.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The CDEvent's `subject` for an event of this kind, or what is missing.
fn subject(project: &str, kind: &str, p: &Value) -> Result<Value, String> {
    let need = |pointer: &str, what: &str| {
        text(p, pointer)
            .map(str::to_string)
            .ok_or_else(|| format!("the {kind} message has no {what}"))
    };
    if project.is_empty() {
        return Err("the project has no name, and CDEvents need a service id".into());
    }
    Ok(match kind {
        "release.deployed" | "release.rolled_back" => {
            // Rolled back: the service now runs the release it went back to.
            let version = if kind == "release.deployed" {
                need("/subject", "release version")?
            } else {
                need("/data/to", "release it was rolled back to")?
            };
            json!({
                "id": project,
                "type": "service",
                "content": {
                    "environment": {"id": need("/env", "environment")?},
                    "artifactId": artifact_id(project, &version),
                },
            })
        }
        "incident.opened" | "incident.resolved" => {
            let title = need("/data/title", "incident title")?;
            // Resolved: the resolution's own words when someone gave them.
            let description = match kind {
                "incident.resolved" => text(p, "/data/comment").map_or(title, str::to_string),
                _ => title,
            };
            let mut content = Map::new();
            content.insert("description".into(), json!(description));
            content.insert(
                "environment".into(),
                json!({"id": need("/env", "environment")?}),
            );
            content.insert(
                "service".into(),
                json!({"id": text(p, "/data/service").unwrap_or(project)}),
            );
            if let Some(v) = text(p, "/data/release") {
                content.insert("artifactId".into(), json!(artifact_id(project, v)));
            }
            json!({
                "id": need("/subject", "incident id")?,
                "type": "incident",
                "content": content,
            })
        }
        "patch.ready" => json!({
            "id": need("/subject", "patch key")?,
            "type": "change",
            "content": {},
        }),
        other => return Err(format!("no CDEvents subject is defined for `{other}`")),
    })
}

/// The CloudEvent carrying the CDEvent of an outbox message: its `id` is the
/// message id (the same on every retry), `source` the project's, `type` the
/// CDEvents type, `subject` the CDEvent subject's id, `time` the event's.
pub fn cloudevent(project: &str, m: &OutboxRow, summary: &str) -> Result<Value, DeliveryError> {
    let Some(ty) = event_type(&m.event_kind) else {
        return Err(DeliveryError::fatal(format!(
            "`{}` has no CDEvents equivalent, and channel `{}` sends CDEvents (format = \"cdevents\")",
            m.event_kind, m.channel
        )));
    };
    let mut p: Value = serde_json::from_str(&m.payload)
        .map_err(|e| DeliveryError::fatal(format!("the message's payload is not JSON: {e}")))?;
    let subject = subject(project, &m.event_kind, &p).map_err(DeliveryError::fatal)?;
    let time = event_time(&p, m);
    let source = event_source(project);
    if let Some(o) = p.as_object_mut() {
        o.insert("summary".to_string(), json!(summary));
    }
    Ok(json!({
        "specversion": "1.0",
        "id": m.id,
        "source": source,
        "type": ty,
        "subject": subject["id"],
        "time": time,
        "datacontenttype": "application/json",
        "data": {
            "context": {
                "version": SPEC_VERSION,
                "id": m.id,
                "source": source,
                "type": ty,
                "timestamp": time,
            },
            "subject": subject,
            "customData": p,
            "customDataContentType": "application/json",
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, subject: &str, env: Option<&str>, data: Value) -> OutboxRow {
        OutboxRow {
            id: "msg-1764000000000-42-7".into(),
            event_seq: 9,
            event_kind: kind.into(),
            channel: "deploys".into(),
            transport: "webhook".into(),
            address: "${DEPLOYS_HOOK}".into(),
            payload: json!({"project": "shop", "event": kind, "subject": subject,
                "actor": "bob@example.com", "at_ms": 1_764_000_000_250i64, "env": env,
                "severities": [], "release_type": null, "data": data})
            .to_string(),
            status: "pending".into(),
            attempts: 0,
            next_at_ms: 0,
            created_ms: 1_764_000_000_999,
            delivered_ms: None,
            last_error: None,
        }
    }

    #[test]
    fn a_deployment_is_a_service_deployed() {
        let m = row(
            "release.deployed",
            "1.4.2",
            Some("prod"),
            json!({"env": "prod", "deployment": 12}),
        );
        let ev = cloudevent("shop", &m, "[shop] release 1.4.2 deployed").unwrap();
        assert_eq!(ev["type"], "dev.cdevents.service.deployed.0.2.0");
        assert_eq!(ev["specversion"], "1.0");
        assert_eq!(ev["id"], "msg-1764000000000-42-7");
        assert_eq!(ev["source"], "sluice/shop");
        assert_eq!(ev["subject"], "shop");
        assert_eq!(ev["time"], "2025-11-24T16:00:00.25Z");
        let d = &ev["data"];
        assert_eq!(
            d["context"],
            json!({"version": "0.4.1", "id": "msg-1764000000000-42-7", "source": "sluice/shop",
                "type": "dev.cdevents.service.deployed.0.2.0", "timestamp": "2025-11-24T16:00:00.25Z"})
        );
        assert_eq!(
            d["subject"],
            json!({"id": "shop", "type": "service", "content": {
                "environment": {"id": "prod"}, "artifactId": "pkg:generic/shop@1.4.2"}})
        );
        assert_eq!(d["customData"]["summary"], "[shop] release 1.4.2 deployed");
        assert_eq!(d["customData"]["data"]["deployment"], 12);
        assert_eq!(d["customDataContentType"], "application/json");
    }

    #[test]
    fn a_rollback_names_the_release_now_running() {
        let m = row(
            "release.rolled_back",
            "1.4.2",
            Some("prod"),
            json!({"env": "prod", "to": "1.4.1", "deployment": 13}),
        );
        let d = &cloudevent("shop", &m, "").unwrap()["data"];
        assert_eq!(
            d["context"]["type"],
            "dev.cdevents.service.rolledback.0.2.0"
        );
        assert_eq!(
            d["subject"]["content"],
            json!({"environment": {"id": "prod"}, "artifactId": "pkg:generic/shop@1.4.1"})
        );
    }

    #[test]
    fn incidents_are_detected_and_resolved() {
        let opened = json!({"id": 3, "env": "prod", "release": "1.4.2", "service": "checkout",
            "title": "Error rate above 5%", "severity": "critical", "source": "alertmanager"});
        let m = row("incident.opened", "incident-3", Some("prod"), opened);
        let ev = cloudevent("shop", &m, "").unwrap();
        assert_eq!(ev["type"], "dev.cdevents.incident.detected.0.2.0");
        assert_eq!(ev["subject"], "incident-3");
        assert_eq!(
            ev["data"]["subject"],
            json!({"id": "incident-3", "type": "incident", "content": {
                "description": "Error rate above 5%", "environment": {"id": "prod"},
                "service": {"id": "checkout"}, "artifactId": "pkg:generic/shop@1.4.2"}})
        );
        // Resolved by hand with a comment, on an environment that held no
        // release, from an alert naming no service.
        let resolved = json!({"id": 4, "env": "dev", "release": null, "service": null,
            "title": "Disk full", "comment": "Old logs removed", "open_for_ms": 60000});
        let m = row("incident.resolved", "incident-4", Some("dev"), resolved);
        let ev = cloudevent("shop", &m, "").unwrap();
        assert_eq!(ev["type"], "dev.cdevents.incident.resolved.0.2.0");
        assert_eq!(
            ev["data"]["subject"]["content"],
            json!({"description": "Old logs removed", "environment": {"id": "dev"},
                "service": {"id": "shop"}})
        );
        let no_comment = json!({"id": 4, "env": "dev", "title": "Disk full", "comment": null});
        let m = row("incident.resolved", "incident-4", Some("dev"), no_comment);
        let ev = cloudevent("shop", &m, "").unwrap();
        assert_eq!(ev["data"]["subject"]["content"]["description"], "Disk full");
    }

    #[test]
    fn a_ready_patch_is_a_merged_change() {
        let m = row(
            "patch.ready",
            "SHOP-7",
            None,
            json!({"reviewers": ["carol@example.com"]}),
        );
        let ev = cloudevent("shop", &m, "").unwrap();
        assert_eq!(ev["type"], "dev.cdevents.change.merged.0.2.0");
        assert_eq!(ev["subject"], "SHOP-7");
        assert_eq!(
            ev["data"]["subject"],
            json!({"id": "SHOP-7", "type": "change", "content": {}})
        );
    }

    #[test]
    fn names_are_encoded_in_the_source_and_the_artifact() {
        let m = row(
            "release.deployed",
            "2.0.0-rc.1+build.5",
            Some("prod"),
            json!({}),
        );
        let ev = cloudevent("Boutique \u{e9}t\u{e9}", &m, "").unwrap();
        assert_eq!(ev["source"], "sluice/Boutique%20%C3%A9t%C3%A9");
        assert_eq!(ev["data"]["context"]["source"], ev["source"]);
        assert!(crate::uri_reference::is_uri_reference(
            ev["source"].as_str().unwrap()
        ));
        assert_eq!(ev["subject"], "Boutique \u{e9}t\u{e9}");
        assert_eq!(
            ev["data"]["subject"]["content"]["artifactId"],
            "pkg:generic/Boutique%20%C3%A9t%C3%A9@2.0.0-rc.1%2Bbuild.5"
        );
    }

    #[test]
    fn what_cannot_be_a_cdevent_is_refused_for_good() {
        // No equivalent: the channel's format changed after it was written.
        let m = row("release.cut", "1.4.2", None, json!({}));
        let e = cloudevent("shop", &m, "").unwrap_err();
        assert!(!e.retryable);
        assert!(
            e.message
                .contains("`release.cut` has no CDEvents equivalent")
                && e.message.contains("channel `deploys`"),
            "{}",
            e.message
        );
        // A required fact missing from the payload is named.
        let m = row("release.deployed", "1.4.2", None, json!({}));
        let e = cloudevent("shop", &m, "").unwrap_err();
        assert!(!e.retryable);
        assert_eq!(e.message, "the release.deployed message has no environment");
        let m = row("release.rolled_back", "1.4.2", Some("prod"), json!({}));
        let e = cloudevent("shop", &m, "").unwrap_err();
        assert!(e.message.contains("rolled back to"), "{}", e.message);
        let mut m = row("patch.ready", "SHOP-1", None, json!({}));
        m.payload = "{not json".into();
        assert!(!cloudevent("shop", &m, "").unwrap_err().retryable);
        let m = row("patch.ready", "SHOP-1", None, json!({}));
        assert!(
            cloudevent("", &m, "")
                .unwrap_err()
                .message
                .contains("no name")
        );
    }

    #[test]
    fn every_mapped_event_has_a_subject() {
        for kind in sluice_core::cdevents::mapped() {
            let data = json!({"env": "prod", "to": "1.0.0", "title": "t", "id": 1});
            let m = row(kind, "1.0.1", Some("prod"), data);
            let ev = cloudevent("shop", &m, "").unwrap();
            assert_eq!(ev["type"], ev["data"]["context"]["type"], "{kind}");
            assert_eq!(ev["subject"], ev["data"]["subject"]["id"], "{kind}");
        }
    }
}
