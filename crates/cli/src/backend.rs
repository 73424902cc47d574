//! Where commands go: the application layer in this process (local mode, on
//! the repository's database), or a `sluice serve` over HTTP (remote mode,
//! `--server` / `SLUICE_SERVER` with `SLUICE_TOKEN`). Both answer with the same
//! types and the same errors, so every command prints the same output and
//! exits with the same code either way.

use std::path::PathBuf;

use jiff::Timestamp;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sluice_app::dispatch::{FlushReport, OutboxCount};
use sluice_app::notes::NotesFormat;
use sluice_app::wire;
use sluice_app::{
    App, AppError, AuditReport, AuditVerify, ChecklistView, CutOptions, EnvStatus, OutboxRow,
    OutboxStatus, PatchList, PatchQuery, PatchView, PlanView, PromoteOutcome, ReleaseView,
    RollbackOutcome,
};
use sluice_core::decide::{ReportInput, TriageInput, Unmet};
use sluice_core::model::{Patch, Release, Target};

type Result<T> = std::result::Result<T, AppError>;

/// A server and the token to reach it with.
pub struct Remote {
    base: String,
    token: String,
    http: reqwest::Client,
    /// The user the token acts for.
    pub user: String,
}

pub enum Kind {
    Local(Box<App>),
    Remote(Remote),
}

/// Where the commands run.
pub struct Backend {
    /// The repository root (local mode); the current directory in remote mode.
    pub root: PathBuf,
    pub kind: Kind,
}

/// Percent-encodes one path segment.
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(serde::Deserialize)]
struct Envelope {
    error: ErrorBody,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(default)]
    unmet: Vec<Unmet>,
}

impl Remote {
    /// Connects: asks the server who the token acts for.
    pub async fn connect(base: &str, token: &str) -> Result<Remote> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AppError::Config(format!(
                "the server URL `{base}` must start with http:// or https://"
            )));
        }
        if token.trim().is_empty() {
            return Err(AppError::Config(
                "remote mode needs a token: set SLUICE_TOKEN (the server's admin creates one with `sluice token create --user EMAIL`)".into(),
            ));
        }
        let mut r = Remote {
            base,
            token: token.trim().to_string(),
            http: sluice_app::deliver::http_client(),
            user: String::new(),
        };
        let who: wire::WhoAmI = r.call(Method::GET, "/whoami", None::<&()>).await?;
        r.user = who.user;
        Ok(r)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if method != Method::GET {
            req = req.header("Idempotency-Key", sluice_app::random_hex::<16>()?);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            AppError::Io(format!(
                "cannot reach the server at {}: {}",
                self.base,
                without_url(&e)
            ))
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| {
            AppError::Io(format!(
                "the server's answer broke off: {}",
                without_url(&e)
            ))
        })?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                AppError::Io(format!(
                    "the server's answer to {path} is not what this sluice expects ({e}); are the versions the same?"
                ))
            });
        }
        let Ok(env) = serde_json::from_str::<Envelope>(&text) else {
            return Err(AppError::Io(format!(
                "the server answered {status} to {path}: {}",
                text.chars().take(200).collect::<String>()
            )));
        };
        let e = env.error;
        Err(match e.code.as_str() {
            "refused" => AppError::Refused {
                summary: e.message,
                unmet: e.unmet,
            },
            "conflict" | "idempotency_in_progress" => AppError::Conflict(e.message),
            "not_found" => AppError::NotFound(e.message),
            "invalid" | "malformed" | "too_large" | "idempotency_key_reused" => {
                AppError::Invalid(e.message)
            }
            "unauthorized" => AppError::Config(format!(
                "the server refused the token: {}\n  hint: check SLUICE_TOKEN",
                e.message
            )),
            _ => AppError::Io(format!("the server failed: {}", e.message)),
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None::<&()>).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        self.call(Method::POST, path, Some(body)).await
    }
}

/// reqwest errors name the URL; the message already does, once.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" for url ({u})"), "");
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", seg(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Runs the local arm with the application, or the remote arm with the server.
macro_rules! both {
    ($self:ident, |$app:ident| $local:expr, |$r:ident| $remote:expr) => {
        match &$self.kind {
            Kind::Local($app) => $local.await,
            Kind::Remote($r) => $remote.await,
        }
    };
}

impl Backend {
    pub async fn close(&self) {
        if let Kind::Local(app) = &self.kind {
            app.store.close().await;
        }
    }

    pub async fn report_patch(&self, a: &str, now: Timestamp, i: ReportInput) -> Result<Patch> {
        both!(self, |app| app.report_patch(a, now, i.clone()), |r| {
            let (source, reference) = match &i.source {
                Some(s) => (Some(s.kind), s.reference.clone()),
                None => (None, None),
            };
            let b = wire::ReportPatch {
                title: i.title.clone(),
                description: i.description.clone(),
                kind: i.kind.clone(),
                severity: i.severity.clone(),
                source,
                reference,
                lines: i.targets.clone(),
            };
            async move { r.post("/patches", &b).await }
        })
    }

    pub async fn triage_patch(
        &self,
        a: &str,
        now: Timestamp,
        key: &str,
        i: TriageInput,
    ) -> Result<Patch> {
        both!(self, |app| app.triage_patch(a, now, key, i.clone()), |r| {
            let b = wire::TriagePatch {
                severity: i.severity.clone(),
                kind: i.kind.clone(),
                priority: i.priority.clone(),
                owner: i.owner.clone(),
                lines: i.targets.clone(),
            };
            async move { r.post(&format!("/patches/{}/triage", seg(key)), &b).await }
        })
    }

    pub async fn start_patch(&self, a: &str, now: Timestamp, key: &str) -> Result<Patch> {
        both!(self, |app| app.start_patch(a, now, key), |r| r.post(
            &format!("/patches/{}/start", seg(key)),
            &serde_json::json!({})
        ))
    }

    pub async fn review_patch(
        &self,
        a: &str,
        now: Timestamp,
        key: &str,
        verdict: Option<bool>,
        comment: Option<String>,
    ) -> Result<Patch> {
        both!(
            self,
            |app| app.review_patch(a, now, key, verdict, comment.clone()),
            |r| {
                let b = wire::ReviewPatch {
                    approve: verdict,
                    comment: comment.clone(),
                };
                async move { r.post(&format!("/patches/{}/review", seg(key)), &b).await }
            }
        )
    }

    pub async fn ready_patch(&self, a: &str, now: Timestamp, key: &str) -> Result<Patch> {
        both!(self, |app| app.ready_patch(a, now, key), |r| r.post(
            &format!("/patches/{}/ready", seg(key)),
            &serde_json::json!({})
        ))
    }

    pub async fn reject_patch(
        &self,
        a: &str,
        now: Timestamp,
        key: &str,
        reason: String,
    ) -> Result<Patch> {
        both!(
            self,
            |app| app.reject_patch(a, now, key, reason.clone()),
            |r| {
                let b = wire::Reason {
                    reason: reason.clone(),
                };
                async move { r.post(&format!("/patches/{}/reject", seg(key)), &b).await }
            }
        )
    }

    pub async fn defer_patch(
        &self,
        a: &str,
        now: Timestamp,
        key: &str,
        reason: String,
    ) -> Result<Patch> {
        both!(
            self,
            |app| app.defer_patch(a, now, key, reason.clone()),
            |r| {
                let b = wire::Reason {
                    reason: reason.clone(),
                };
                async move { r.post(&format!("/patches/{}/defer", seg(key)), &b).await }
            }
        )
    }

    pub async fn port_patch(
        &self,
        a: &str,
        now: Timestamp,
        key: &str,
        to: Target,
    ) -> Result<Patch> {
        both!(self, |app| app.port_patch(a, now, key, to), |r| r.post(
            &format!("/patches/{}/port", seg(key)),
            &wire::PortPatch { to }
        ))
    }

    pub async fn list_patches(&self, now: Timestamp, q: PatchQuery) -> Result<PatchList> {
        both!(self, |app| app.list_patches(now, q.clone()), |r| {
            let statuses: Vec<String> = q.statuses.iter().map(|s| s.to_string()).collect();
            let path = format!(
                "/patches{}",
                query(&[
                    ("status", (!statuses.is_empty()).then(|| statuses.join(","))),
                    ("all", q.all.then(|| "true".to_string())),
                    ("kind", q.kind.clone()),
                    ("severity", q.severity.clone()),
                    ("owner", q.owner.clone()),
                    ("line", q.target.clone()),
                    ("limit", Some(q.limit.to_string())),
                    ("count", q.count.then(|| "true".to_string())),
                ])
            );
            async move { r.get(&path).await }
        })
    }

    pub async fn show_patch(&self, now: Timestamp, key: &str) -> Result<PatchView> {
        both!(self, |app| app.show_patch(now, key), |r| r
            .get(&format!("/patches/{}", seg(key))))
    }

    pub async fn plan_release(
        &self,
        a: &str,
        now: Timestamp,
        line: Target,
        target: Option<&str>,
    ) -> Result<PlanView> {
        both!(self, |app| app.plan_release(a, now, line, target), |r| {
            let b = wire::CutRelease {
                line,
                target: target.map(String::from),
                allow_scope: None,
                no_assemble: false,
            };
            async move { r.post("/releases/plan", &b).await }
        })
    }

    pub async fn cut_release(
        &self,
        a: &str,
        now: Timestamp,
        line: Target,
        opts: CutOptions,
    ) -> Result<Release> {
        both!(
            self,
            |app| app.cut_release(a, now, line, opts.clone()),
            |r| {
                let b = wire::CutRelease {
                    line,
                    target: opts.target.clone(),
                    allow_scope: opts.allow_scope.clone(),
                    no_assemble: opts.no_assemble,
                };
                async move { r.post("/releases", &b).await }
            }
        )
    }

    pub async fn import_release(
        &self,
        a: &str,
        now: Timestamp,
        v: &str,
        env: Option<&str>,
    ) -> Result<Release> {
        both!(self, |app| app.import_release(a, now, v, env), |r| r.post(
            "/releases/import",
            &wire::ImportRelease {
                version: v.to_string(),
                env: env.map(String::from),
            }
        ))
    }

    pub async fn amend_release(
        &self,
        a: &str,
        now: Timestamp,
        v: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<Release> {
        both!(self, |app| app.amend_release(a, now, v, add, remove), |r| {
            let b = wire::AmendRelease {
                add: add.to_vec(),
                remove: remove.to_vec(),
            };
            async move { r.post(&format!("/releases/{}/amend", seg(v)), &b).await }
        })
    }

    pub async fn show_release(&self, now: Timestamp, v: &str) -> Result<ReleaseView> {
        both!(self, |app| app.show_release(now, v), |r| r
            .get(&format!("/releases/{}", seg(v))))
    }

    pub async fn list_releases(&self) -> Result<Vec<Release>> {
        both!(self, |app| app.list_releases(), |r| r.get("/releases"))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn report_test(
        &self,
        a: &str,
        now: Timestamp,
        v: &str,
        env: &str,
        suite: &str,
        passed: bool,
        url: Option<String>,
    ) -> Result<Release> {
        both!(
            self,
            |app| app.report_test(a, now, v, env, suite, passed, url.clone()),
            |r| {
                let b = wire::ReportTest {
                    env: env.to_string(),
                    suite: suite.to_string(),
                    passed,
                    url: url.clone(),
                };
                async move { r.post(&format!("/releases/{}/tests", seg(v)), &b).await }
            }
        )
    }

    /// Approves as `role`, or as the approver's one role the gate asks for.
    #[allow(clippy::too_many_arguments)]
    pub async fn approve(
        &self,
        a: &str,
        now: Timestamp,
        v: &str,
        env: &str,
        role: Option<&str>,
        emergency: bool,
        comment: Option<String>,
    ) -> Result<(Release, String)> {
        match &self.kind {
            Kind::Local(app) => {
                let r = app
                    .approve(a, now, v, env, role, emergency, comment)
                    .await?;
                Ok((r.release, r.role))
            }
            Kind::Remote(r) => {
                let b = wire::Approve {
                    env: env.to_string(),
                    role: role.map(String::from),
                    emergency,
                    comment,
                };
                let done: sluice_app::Approved = r
                    .post(&format!("/releases/{}/approvals", seg(v)), &b)
                    .await?;
                Ok((done.release, done.role))
            }
        }
    }

    pub async fn checklist(&self, v: &str) -> Result<ChecklistView> {
        both!(self, |app| app.checklist(v), |r| r
            .get(&format!("/releases/{}/checklist", seg(v))))
    }

    pub async fn tick(&self, a: &str, now: Timestamp, v: &str, id: &str) -> Result<ChecklistView> {
        both!(self, |app| app.tick(a, now, v, id), |r| r.post(
            &format!("/releases/{}/checklist/{}", seg(v), seg(id)),
            &serde_json::json!({})
        ))
    }

    pub async fn close_follow_up(
        &self,
        a: &str,
        now: Timestamp,
        v: &str,
        env: &str,
        comment: String,
    ) -> Result<Release> {
        both!(
            self,
            |app| app.close_follow_up(a, now, v, env, comment.clone()),
            |r| {
                let b = wire::FollowUp {
                    env: env.to_string(),
                    comment: comment.clone(),
                };
                async move { r.post(&format!("/releases/{}/follow-up", seg(v)), &b).await }
            }
        )
    }

    pub async fn release_notes(&self, v: &str, format: NotesFormat) -> Result<String> {
        both!(self, |app| app.release_notes(v, format), |r| {
            let f = match format {
                NotesFormat::Markdown => "md",
                NotesFormat::Html => "html",
                NotesFormat::Text => "text",
                NotesFormat::Slack => "slack",
            };
            let path = format!("/releases/{}/notes?format={f}", seg(v));
            async move { r.get(&path).await }
        })
    }

    pub async fn edit_notes(
        &self,
        a: &str,
        now: Timestamp,
        v: &str,
        text: &str,
    ) -> Result<Release> {
        both!(self, |app| app.edit_notes(a, now, v, text), |r| r.call(
            Method::PUT,
            &format!("/releases/{}/notes", seg(v)),
            Some(&wire::Notes {
                text: text.to_string()
            })
        ))
    }

    pub async fn promote(
        &self,
        a: &str,
        now: Timestamp,
        v: &str,
        env: &str,
        emergency_reason: Option<&str>,
    ) -> Result<PromoteOutcome> {
        both!(
            self,
            |app| app.promote(a, now, v, env, emergency_reason),
            |r| {
                let b = wire::Promote {
                    to: env.to_string(),
                    emergency_reason: emergency_reason.map(String::from),
                };
                async move {
                    r.post(&format!("/releases/{}/promotions", seg(v)), &b)
                        .await
                }
            }
        )
    }

    pub async fn rollback(
        &self,
        a: &str,
        now: Timestamp,
        env: &str,
        to: Option<&str>,
    ) -> Result<RollbackOutcome> {
        both!(self, |app| app.rollback(a, now, env, to), |r| r.post(
            &format!("/environments/{}/rollback", seg(env)),
            &wire::Rollback {
                to: to.map(String::from)
            }
        ))
    }

    pub async fn status(&self) -> Result<Vec<EnvStatus>> {
        both!(self, |app| app.status(), |r| r.get("/status"))
    }

    pub async fn audit(
        &self,
        subject: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<AuditReport> {
        both!(self, |app| app.audit(subject, after, limit), |r| {
            let path = format!(
                "/audit{}",
                query(&[
                    ("subject", subject.map(String::from)),
                    ("after", Some(after.to_string())),
                    ("limit", Some(limit.to_string())),
                ])
            );
            async move { r.get(&path).await }
        })
    }

    pub async fn audit_verify(&self) -> Result<AuditVerify> {
        both!(self, |app| app.audit_verify(), |r| r.get("/audit/verify"))
    }

    pub async fn audit_against_git(&self) -> Result<sluice_app::AnchorReport> {
        both!(self, |app| app.audit_verify_against_git(), |r| r
            .get("/audit/anchors"))
    }

    pub async fn audit_anchor(&self, now: Timestamp) -> Result<sluice_app::Anchored> {
        both!(self, |app| app.audit_anchor(now), |r| r
            .post("/audit/anchor", &serde_json::json!({})))
    }

    pub async fn flush_notifications(
        &self,
        a: &str,
        now: Timestamp,
        max: usize,
    ) -> Result<FlushReport> {
        both!(self, |app| app.flush_notifications(a, now, max), |r| r
            .post("/notifications/flush", &wire::Flush { max: Some(max) }))
    }

    pub async fn notifications(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        both!(self, |app| app.notifications(status, limit), |r| {
            let s = status.map(|s| match s {
                OutboxStatus::Pending => "pending".to_string(),
                OutboxStatus::Delivered => "delivered".to_string(),
                OutboxStatus::Dead => "dead".to_string(),
            });
            let path = format!(
                "/notifications{}",
                query(&[("status", s), ("limit", Some(limit.to_string()))])
            );
            async move { r.get(&path).await }
        })
    }

    pub async fn notification_counts(&self) -> Result<Vec<OutboxCount>> {
        both!(self, |app| app.notification_counts(), |r| r
            .get("/notifications/status"))
    }

    pub async fn retry_notification(&self, a: &str, id: &str, now: Timestamp) -> Result<String> {
        match &self.kind {
            Kind::Local(app) => Ok(app.retry_notification(a, id, now).await?.to_string()),
            Kind::Remote(r) => {
                r.post(
                    &format!("/notifications/{}/retry", seg(id)),
                    &serde_json::json!({}),
                )
                .await
            }
        }
    }

    pub async fn open_incident(
        &self,
        a: &str,
        now: Timestamp,
        i: sluice_core::decide::IncidentInput,
    ) -> Result<sluice_core::model::Incident> {
        both!(self, |app| app.open_incident(a, now, i.clone()), |r| {
            let b = wire::OpenIncident {
                env: i.env.clone(),
                title: i.title.clone(),
                service: i.service.clone(),
                severity: i.severity.clone(),
                url: i.url.clone(),
            };
            async move { r.post("/incidents", &b).await }
        })
    }

    pub async fn resolve_incident(
        &self,
        a: &str,
        now: Timestamp,
        id: i64,
        comment: Option<String>,
    ) -> Result<sluice_core::model::Incident> {
        both!(
            self,
            |app| app.resolve_incident(a, now, id, comment.clone()),
            |r| {
                let b = wire::ResolveIncident {
                    comment: comment.clone(),
                };
                async move { r.post(&format!("/incidents/{id}/resolve"), &b).await }
            }
        )
    }

    pub async fn incidents(
        &self,
        q: sluice_app::IncidentQuery,
    ) -> Result<Vec<sluice_core::model::Incident>> {
        both!(self, |app| app.incidents(q.clone()), |r| {
            let path = format!(
                "/incidents{}",
                query(&[
                    ("open", q.open.then(|| "true".to_string())),
                    ("env", q.env.clone()),
                    ("release", q.release.clone()),
                    ("limit", Some(q.limit.to_string())),
                ])
            );
            async move { r.get(&path).await }
        })
    }

    pub async fn incident(&self, id: i64) -> Result<sluice_app::IncidentView> {
        both!(self, |app| app.incident(id), |r| r
            .get(&format!("/incidents/{id}")))
    }
}
