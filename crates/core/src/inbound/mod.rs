//! Inbound webhooks, pure part: a payload (already authenticated by the
//! shell) and the process's `[webhooks]` mapping become a list of
//! [`Intent`]s — what Sluice should do — without touching any state. The
//! application layer carries the intents out through its ordinary commands.
//!
//! Payloads are read as `serde_json::Value`, so unknown fields, missing
//! optional fields and the quirks of real senders (GitLab keys with trailing
//! spaces, numeric Alertmanager group keys wider than u64, legacy alerts
//! without a status) never fail a delivery; only a body that is not a JSON
//! object, or lacks what its event must carry, is [`InboundError::Malformed`].

mod alerts;
mod forge;

use serde::Serialize;
use serde_json::Value;

pub use alerts::{alertmanager, grafana, sentry};
pub use forge::{github, gitlab};

/// What a delivery asks Sluice to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// Report a patch from an issue; `source_ref` (the issue URL) identifies it,
    /// so an issue already reported is not reported again.
    ReportPatch {
        source_ref: String,
        title: String,
        description: Option<String>,
        severity: Option<String>,
        kind: Option<String>,
    },
    /// A merged pull (merge) request names this patch.
    PatchProgress {
        key: String,
        merged_by: Option<String>,
        url: Option<String>,
    },
    /// A CI run finished: a test result for `suite` in `env`. The release is
    /// found from `sha` / `git_ref`, else what `env` holds.
    TestReport {
        suite: String,
        env: String,
        git_ref: Option<String>,
        sha: Option<String>,
        passed: bool,
        url: Option<String>,
        /// The run's own identity and time, when the payload has them.
        run: Option<RunRef>,
    },
    /// An alert fires in `env`.
    IncidentFiring {
        env: String,
        service: Option<String>,
        fingerprint: String,
        title: String,
        /// The alert's own severity label, as sent.
        severity: Option<String>,
        url: Option<String>,
        /// When this firing started, as sent (`startsAt`): with the
        /// fingerprint, the firing's identity.
        since: Option<String>,
    },
    /// The alert with this fingerprint is resolved.
    IncidentResolved { fingerprint: String },
    /// Nothing to do, and why.
    Ignored { reason: String },
}

/// A CI run as the payload names it: its identity (the same run re-sent, under
/// any delivery id, has the same one; a re-run has another) and when it finished.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRef {
    pub id: String,
    pub at: Option<jiff::Timestamp>,
}

/// A time as forges write it: RFC 3339, or GitLab's `2016-08-12 15:26:29 UTC`.
pub(crate) fn forge_time(s: &str) -> Option<jiff::Timestamp> {
    let s = s.trim();
    s.parse().ok().or_else(|| {
        let t = s.strip_suffix(" UTC")?.replacen(' ', "T", 1);
        format!("{t}Z").parse().ok()
    })
}

impl Intent {
    /// What makes this intent the same as one carried out before, whatever
    /// delivery brought it: a CI run's id and attempt, an alert's fingerprint
    /// and start. `None` when the payload does not say.
    pub fn identity(&self) -> Option<String> {
        match self {
            Intent::TestReport { run: Some(r), .. } => Some(format!("run:{}", r.id)),
            Intent::IncidentFiring {
                fingerprint,
                since: Some(since),
                ..
            } => Some(format!("alert:{fingerprint}:{since}")),
            _ => None,
        }
    }
}

impl Intent {
    pub(crate) fn ignored(reason: impl Into<String>) -> Intent {
        Intent::Ignored {
            reason: reason.into(),
        }
    }
}

/// Why a delivery cannot be read. Nothing is done for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Not JSON, not an object, or missing what its event must carry.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// An event type this source does not send (or Sluice does not know).
    #[error("unknown event type `{0}`")]
    UnknownEvent(String),
}

/// The body as a JSON object.
pub(crate) fn object(body: &[u8]) -> Result<Value, InboundError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("the body is not JSON ({e})")))?;
    if !v.is_object() {
        return Err(InboundError::Malformed(
            "the body is not a JSON object".into(),
        ));
    }
    Ok(v)
}

/// The member `name` of an object, tolerating keys written with surrounding
/// spaces (`"state "`), as some GitLab hooks send them.
pub(crate) fn field<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    let o = v.as_object()?;
    o.get(name)
        .or_else(|| o.iter().find(|(k, _)| k.trim() == name).map(|(_, v)| v))
        .filter(|v| !v.is_null())
}

/// A string member, trimmed; empty counts as absent.
pub(crate) fn text(v: &Value, name: &str) -> Option<String> {
    field(v, name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A string or number member as text (ids are sent either way).
pub(crate) fn id_text(v: &Value, name: &str) -> Option<String> {
    match field(v, name)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;

    #[test]
    fn forge_times_in_both_notations() {
        let a = forge_time("2026-11-30T10:05:00Z").unwrap();
        let b = forge_time("2026-11-30 10:05:00 UTC").unwrap();
        assert_eq!(a, b);
        assert!(forge_time("yesterday").is_none());
    }

    #[test]
    fn identities_of_runs_and_firings() {
        let run = Intent::TestReport {
            suite: "unit".into(),
            env: "dev".into(),
            git_ref: None,
            sha: None,
            passed: true,
            url: None,
            run: Some(RunRef {
                id: "github/workflow_run/7/2".into(),
                at: None,
            }),
        };
        assert_eq!(
            run.identity().as_deref(),
            Some("run:github/workflow_run/7/2")
        );
        let firing = Intent::IncidentFiring {
            env: "prod".into(),
            service: None,
            fingerprint: "abc".into(),
            title: "x".into(),
            severity: None,
            url: None,
            since: Some("2026-11-30T10:00:00Z".into()),
        };
        assert_eq!(
            firing.identity().as_deref(),
            Some("alert:abc:2026-11-30T10:00:00Z")
        );
        assert_eq!(Intent::ignored("x").identity(), None);
    }
}
