//! Inbound webhooks: authenticate a delivery, recognise a repeated one, read
//! it into intents (`sluice_core::inbound`), and carry each intent out
//! through the ordinary commands (`report_patch`, `review_patch`,
//! `ready_patch`, `report_test`, `open_incident`, `resolve_incident`), so no
//! rule is implemented twice. The HTTP layer only passes the raw request in
//! and maps [`WebhookError::status`] to its answer.
//!
//! Each source acts as the user `webhook:SOURCE`; what it may do is what the
//! process lets that user do (list it in a role to give it that role).
//!
//! A delivery with an id (GitHub `X-GitHub-Delivery`, GitLab
//! `Idempotency-Key` or `X-Gitlab-Event-UUID`, Sentry `Request-ID`) is
//! recorded in the transaction of its first effect, or alone when it has
//! none; a repeat is answered as a duplicate and does nothing.

use crate::Origin;

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_core::decide::{IncidentInput, ReportInput};
use sluice_core::inbound::{self, InboundError, Intent};
use sluice_core::model::{PatchStatus, Source, SourceKind};
use sluice_store::{Change, Delivery, StoreError};

use crate::{App, AppError};

/// The largest body accepted, in bytes.
pub const MAX_WEBHOOK_BODY: usize = 1024 * 1024;

/// Where a delivery comes from (the last segment of `/webhooks/SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookSource {
    GitHub,
    GitLab,
    Alertmanager,
    Grafana,
    Sentry,
}

impl WebhookSource {
    pub const ALL: [WebhookSource; 5] = [
        WebhookSource::GitHub,
        WebhookSource::GitLab,
        WebhookSource::Alertmanager,
        WebhookSource::Grafana,
        WebhookSource::Sentry,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookSource::GitHub => "github",
            WebhookSource::GitLab => "gitlab",
            WebhookSource::Alertmanager => "alertmanager",
            WebhookSource::Grafana => "grafana",
            WebhookSource::Sentry => "sentry",
        }
    }
    /// The user the source acts as: `webhook:github`.
    pub fn actor(self) -> String {
        format!("webhook:{}", self.as_str())
    }
}

impl std::fmt::Display for WebhookSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for WebhookSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        WebhookSource::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!("unknown webhook source `{s}`; sources are: github, gitlab, alertmanager, grafana, sentry")
            })
    }
}

/// A delivery as received: header names lower-case, the body untouched.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    pub source: WebhookSource,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl InboundRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Why a delivery was refused. Nothing was written for it.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The source has no `[webhooks.SOURCE]` table, or its secret variable is unset.
    #[error("{0}")]
    NotConfigured(String),
    /// Missing or wrong signature or token.
    #[error("{0}")]
    Unauthorized(String),
    #[error("the body is {0} bytes; at most {MAX_WEBHOOK_BODY} are accepted")]
    TooLarge(usize),
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    UnknownEvent(String),
    /// The database failed; the sender should retry.
    #[error("{0}")]
    Internal(String),
}

impl WebhookError {
    /// The HTTP status of the answer.
    /// The error code of the answer (its HTTP status follows from the code).
    pub fn code(&self) -> crate::wire::ErrorCode {
        use crate::wire::ErrorCode as C;
        match self {
            WebhookError::NotConfigured(_) => C::NotConfigured,
            WebhookError::Unauthorized(_) => C::Unauthorized,
            WebhookError::TooLarge(_) => C::TooLarge,
            WebhookError::Malformed(_) => C::Malformed,
            WebhookError::UnknownEvent(_) => C::UnknownEvent,
            WebhookError::Internal(_) => C::Internal,
        }
    }

    pub fn status(&self) -> u16 {
        self.code().status()
    }
}

impl From<InboundError> for WebhookError {
    fn from(e: InboundError) -> Self {
        match e {
            InboundError::Malformed(_) => WebhookError::Malformed(e.to_string()),
            InboundError::UnknownEvent(_) => WebhookError::UnknownEvent(e.to_string()),
        }
    }
}

/// What one intent did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    PatchReported {
        key: String,
    },
    /// The issue was reported before, as this patch.
    AlreadyReported {
        key: String,
    },
    PatchMoved {
        key: String,
        status: PatchStatus,
    },
    /// The process refused to move it, or there is no such patch.
    PatchNotMoved {
        key: String,
        reason: String,
    },
    TestReported {
        version: String,
        env: String,
        suite: String,
        passed: bool,
    },
    TestNotReported {
        env: String,
        suite: String,
        reason: String,
    },
    IncidentOpened {
        id: i64,
        env: String,
        release: Option<String>,
    },
    /// The alert's incident is open already.
    IncidentAlreadyOpen {
        id: i64,
    },
    IncidentResolved {
        id: i64,
    },
    IncidentNotResolved {
        fingerprint: String,
        reason: String,
    },
    Ignored {
        reason: String,
    },
    /// The same CI run or alert firing was carried out before, under another
    /// delivery: nothing was done.
    Replayed {
        identity: String,
    },
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::PatchReported { key } => write!(f, "reported patch {key}"),
            Effect::AlreadyReported { key } => write!(f, "already reported as {key}"),
            Effect::PatchMoved { key, status } => write!(f, "{key} is now {status}"),
            Effect::PatchNotMoved { key, reason } => write!(f, "{key} not moved: {reason}"),
            Effect::TestReported {
                version,
                env,
                suite,
                passed,
            } => write!(
                f,
                "{suite} {} for {version} in {env}",
                if *passed { "passed" } else { "failed" }
            ),
            Effect::TestNotReported { env, suite, reason } => {
                write!(f, "{suite} in {env} not recorded: {reason}")
            }
            Effect::IncidentOpened { id, env, release } => match release {
                Some(r) => write!(f, "incident {id} opened on {r} in {env}"),
                None => write!(
                    f,
                    "incident {id} opened in {env} (no release deployed there)"
                ),
            },
            Effect::IncidentAlreadyOpen { id } => write!(f, "incident {id} is already open"),
            Effect::IncidentResolved { id } => write!(f, "incident {id} resolved"),
            Effect::IncidentNotResolved {
                fingerprint,
                reason,
            } => write!(f, "alert {fingerprint}: {reason}"),
            Effect::Ignored { reason } => write!(f, "ignored: {reason}"),
            Effect::Replayed { identity } => {
                write!(f, "{identity} was carried out before; nothing done")
            }
        }
    }
}

/// The answer to an accepted delivery.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookOutcome {
    pub source: WebhookSource,
    /// The sender's delivery id, when it sends one.
    pub delivery: Option<String>,
    /// Handled before: nothing was done this time.
    pub duplicate: bool,
    pub effects: Vec<Effect>,
}

/// HMAC-SHA256 of `body` under `secret`, compared in constant time with the
/// hex digest `sig`.
fn hmac_ok(secret: &str, body: &[u8], sig: &str) -> bool {
    let Ok(want) = hex::decode(sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&want).is_ok()
}

/// Equality in constant time (for any lengths): compares digests.
fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.as_slice().ct_eq(y.as_slice()).into()
}

fn refused(what: &str) -> WebhookError {
    WebhookError::Unauthorized(what.to_string())
}

fn internal(e: impl std::fmt::Display) -> WebhookError {
    WebhookError::Internal(format!("the delivery could not be stored: {e}"))
}

impl App {
    /// Handles one webhook delivery, with secrets from the process environment.
    pub async fn receive_webhook(
        &self,
        now: Timestamp,
        req: InboundRequest<'_>,
    ) -> Result<WebhookOutcome, WebhookError> {
        self.receive_webhook_with(now, req, &|k| std::env::var(k).ok())
            .await
    }

    /// Handles one webhook delivery, reading secret variables through `env`.
    pub async fn receive_webhook_with(
        &self,
        now: Timestamp,
        req: InboundRequest<'_>,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<WebhookOutcome, WebhookError> {
        if req.body.len() > MAX_WEBHOOK_BODY {
            return Err(WebhookError::TooLarge(req.body.len()));
        }
        let w = &self.process.webhooks;
        let src = req.source;
        let not_configured = || {
            WebhookError::NotConfigured(format!(
                "{src} webhooks are not configured; add [webhooks.{src}] to sluice.toml"
            ))
        };
        let secret_ref = match src {
            WebhookSource::GitHub => w.github.as_ref().map(|f| &f.secret),
            WebhookSource::GitLab => w.gitlab.as_ref().map(|f| &f.secret),
            WebhookSource::Alertmanager => w.alertmanager.as_ref().map(|a| &a.secret),
            WebhookSource::Grafana => w.grafana.as_ref().map(|a| &a.secret),
            WebhookSource::Sentry => w.sentry.as_ref().map(|a| &a.secret),
        }
        .ok_or_else(not_configured)?;
        let var = secret_ref
            .strip_prefix("${")
            .and_then(|v| v.strip_suffix('}'))
            .unwrap_or(secret_ref);
        let secret = env(var).filter(|s| !s.is_empty()).ok_or_else(|| {
            WebhookError::NotConfigured(format!(
                "{src} webhooks are not usable: the environment variable {var} is not set"
            ))
        })?;
        let authorized = match src {
            WebhookSource::GitHub => {
                let sig = req
                    .header("x-hub-signature-256")
                    .ok_or_else(|| refused("missing X-Hub-Signature-256"))?;
                let hex = sig
                    .strip_prefix("sha256=")
                    .ok_or_else(|| refused("X-Hub-Signature-256 is not `sha256=...`"))?;
                hmac_ok(&secret, req.body, hex)
            }
            WebhookSource::GitLab => {
                let t = req
                    .header("x-gitlab-token")
                    .ok_or_else(|| refused("missing X-Gitlab-Token"))?;
                same(t, &secret)
            }
            WebhookSource::Alertmanager | WebhookSource::Grafana => {
                let h = req
                    .header("authorization")
                    .ok_or_else(|| refused("missing Authorization: Bearer TOKEN"))?;
                let t = h
                    .strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
                    .ok_or_else(|| refused("Authorization is not `Bearer TOKEN`"))?;
                same(t.trim(), &secret)
            }
            WebhookSource::Sentry => {
                let sig = req
                    .header("sentry-hook-signature")
                    .ok_or_else(|| refused("missing Sentry-Hook-Signature"))?;
                hmac_ok(&secret, req.body, sig)
            }
        };
        if !authorized {
            return Err(refused("the signature or token does not match"));
        }

        let delivery_id = match src {
            WebhookSource::GitHub => req.header("x-github-delivery"),
            WebhookSource::GitLab => req
                .header("idempotency-key")
                .or_else(|| req.header("x-gitlab-event-uuid")),
            WebhookSource::Sentry => req.header("request-id"),
            WebhookSource::Alertmanager | WebhookSource::Grafana => None,
        }
        .map(|s| s.chars().take(200).collect::<String>());
        let mut outcome = WebhookOutcome {
            source: src,
            delivery: delivery_id.clone(),
            duplicate: false,
            effects: Vec::new(),
        };
        if let Some(id) = &delivery_id
            && self
                .store
                .delivery_seen(src.as_str(), id)
                .await
                .map_err(internal)?
        {
            outcome.duplicate = true;
            return Ok(outcome);
        }

        let p = &self.process;
        let intents = match src {
            WebhookSource::GitHub => {
                let event = req
                    .header("x-github-event")
                    .ok_or_else(|| WebhookError::Malformed("missing X-GitHub-Event".into()))?;
                inbound::github(
                    p,
                    w.github.as_ref().ok_or_else(not_configured)?,
                    event,
                    req.body,
                )?
            }
            WebhookSource::GitLab => {
                inbound::gitlab(p, w.gitlab.as_ref().ok_or_else(not_configured)?, req.body)?
            }
            WebhookSource::Alertmanager => inbound::alertmanager(
                w.alertmanager.as_ref().ok_or_else(not_configured)?,
                req.body,
            )?,
            WebhookSource::Grafana => {
                inbound::grafana(w.grafana.as_ref().ok_or_else(not_configured)?, req.body)?
            }
            WebhookSource::Sentry => inbound::sentry(
                w.sentry.as_ref().ok_or_else(not_configured)?,
                req.header("sentry-hook-resource"),
                req.body,
            )?,
        };

        let pending = delivery_id.map(|id| Delivery {
            source: src.as_str().to_string(),
            id,
            received_ms: now.as_millisecond(),
        });
        let actor = src.actor();
        // Every change the intents make records the delivery (the first one
        // that commits) and the identity of its own intent.
        let app = self.with_origin(Origin::delivery(pending));
        let mut effects = Vec::with_capacity(intents.len());
        let mut duplicate = false;
        for intent in intents {
            // The payload's own identity: a replay under a new (or no)
            // delivery id is recognised, not carried out again.
            let identity = intent
                .identity()
                .map(|i| i.chars().take(400).collect::<String>());
            if let Some(id) = &identity
                && self
                    .store
                    .delivery_seen(src.as_str(), id)
                    .await
                    .map_err(internal)?
            {
                effects.push(Effect::Replayed {
                    identity: id.clone(),
                });
                continue;
            }
            app.origin()
                .set_payload(identity.clone().map(|id| Delivery {
                    source: src.as_str().to_string(),
                    id,
                    received_ms: now.as_millisecond(),
                }));
            let effect = app.carry_out(&actor, src, now, intent).await;
            app.origin().set_payload(None);
            match (effect, identity) {
                (Ok(e), _) => effects.push(e),
                // The same run, carried out by a concurrent delivery first.
                (Err(WebhookError::Internal(m)), Some(id)) if m.contains("raced") => {
                    effects.push(Effect::Replayed { identity: id })
                }
                (Err(e), _) => return Err(e),
            }
        }
        // A delivery no effect recorded is recorded alone.
        if let Some(rest) = app.origin().take_delivery() {
            let c = Change {
                delivery: Some(rest),
                ..Default::default()
            };
            match self.store.commit(&c).await {
                Err(StoreError::Duplicate(_)) => duplicate = true,
                other => {
                    other.map_err(internal)?;
                }
            }
        }
        outcome.effects = effects;
        outcome.duplicate = duplicate;
        Ok(outcome)
    }

    async fn carry_out(
        &self,
        actor: &str,
        src: WebhookSource,
        now: Timestamp,
        intent: Intent,
    ) -> Result<Effect, WebhookError> {
        // A refusal by the process is an answer, not a failure; the store
        // failing is.
        fn answer<T>(r: crate::Result<T>) -> Result<Result<T, String>, WebhookError> {
            match r {
                Ok(x) => Ok(Ok(x)),
                Err(AppError::Store(StoreError::Duplicate(d))) => {
                    Err(WebhookError::Internal(format!("delivery {d} raced")))
                }
                Err(AppError::Store(e)) => Err(internal(e)),
                Err(e) => Ok(Err(e.to_string())),
            }
        }
        Ok(match intent {
            Intent::Ignored { reason } => Effect::Ignored { reason },
            Intent::ReportPatch {
                source_ref,
                title,
                description,
                severity,
                kind,
            } => {
                if let Some(p) = self
                    .store
                    .patch_by_source(&source_ref)
                    .await
                    .map_err(internal)?
                {
                    return Ok(Effect::AlreadyReported { key: p.key });
                }
                let input = ReportInput {
                    title,
                    description,
                    kind,
                    severity,
                    source: Some(Source {
                        kind: SourceKind::Bug,
                        reference: Some(source_ref),
                    }),
                    targets: Vec::new(),
                };
                match answer(self.report_patch(actor, now, input).await)? {
                    Ok(p) => Effect::PatchReported { key: p.key },
                    Err(reason) => Effect::Ignored { reason },
                }
            }
            Intent::PatchProgress { key, .. } => {
                let Some((p, _)) = self.store.patch(&key).await.map_err(internal)? else {
                    return Ok(Effect::PatchNotMoved {
                        reason: format!("there is no patch {key}"),
                        key,
                    });
                };
                let mut status = p.status;
                if status == PatchStatus::InProgress {
                    match answer(self.review_patch(actor, now, &key, None, None).await)? {
                        Ok(n) => status = n.status,
                        Err(reason) => return Ok(Effect::PatchNotMoved { key, reason }),
                    }
                }
                match answer(self.ready_patch(actor, now, &key).await)? {
                    Ok(n) => Effect::PatchMoved {
                        key,
                        status: n.status,
                    },
                    Err(_) if status != p.status => Effect::PatchMoved { key, status },
                    Err(reason) => Effect::PatchNotMoved { key, reason },
                }
            }
            Intent::TestReport {
                suite,
                env,
                git_ref,
                sha,
                passed,
                url,
                run,
            } => {
                // A link CI sends that is not http(s) is dropped, not a refusal.
                let url = url.filter(|u| sluice_core::link::renderable(u));
                let version = self
                    .tested_release(&env, git_ref.as_deref(), sha.as_deref())
                    .await
                    .map_err(internal)?;
                let Some(version) = version else {
                    return Ok(Effect::TestNotReported {
                        reason: format!(
                            "no release matches the run's commit or ref, and {env} holds none"
                        ),
                        env,
                        suite,
                    });
                };
                match answer(
                    self.report_test_run(
                        actor,
                        now,
                        &version,
                        &env,
                        &suite,
                        passed,
                        url,
                        run.as_ref(),
                    )
                    .await,
                )? {
                    Ok(_) => Effect::TestReported {
                        version,
                        env,
                        suite,
                        passed,
                    },
                    Err(reason) => Effect::TestNotReported { env, suite, reason },
                }
            }
            Intent::IncidentFiring {
                env,
                service,
                fingerprint,
                title,
                severity,
                url,
                since: _,
            } => {
                let url = url.filter(|u| sluice_core::link::renderable(u));
                if let Some((i, _)) = self
                    .store
                    .open_incident_for(src.as_str(), &fingerprint)
                    .await
                    .map_err(internal)?
                {
                    return Ok(Effect::IncidentAlreadyOpen { id: i.id });
                }
                let input = IncidentInput {
                    env: env.clone(),
                    service,
                    title,
                    // Only a severity the process knows is kept.
                    severity: severity.filter(|s| self.process.severity(s).is_some()),
                    source: src.as_str().to_string(),
                    fingerprint: Some(fingerprint.clone()),
                    url,
                };
                match self.open_incident(actor, now, input).await {
                    Ok(i) => Effect::IncidentOpened {
                        id: i.id,
                        env: i.env,
                        release: i.release,
                    },
                    // Another delivery opened it first.
                    Err(AppError::Conflict(_)) => {
                        match self
                            .store
                            .open_incident_for(src.as_str(), &fingerprint)
                            .await
                            .map_err(internal)?
                        {
                            Some((i, _)) => Effect::IncidentAlreadyOpen { id: i.id },
                            None => Effect::Ignored {
                                reason: format!("alert {fingerprint} changed while handled"),
                            },
                        }
                    }
                    Err(AppError::Store(e)) => return Err(internal(e)),
                    Err(e) => Effect::Ignored {
                        reason: e.to_string(),
                    },
                }
            }
            Intent::IncidentResolved { fingerprint } => {
                let Some((i, _)) = self
                    .store
                    .open_incident_for(src.as_str(), &fingerprint)
                    .await
                    .map_err(internal)?
                else {
                    return Ok(Effect::IncidentNotResolved {
                        fingerprint,
                        reason: "no open incident for this alert".into(),
                    });
                };
                match answer(self.resolve_incident(actor, now, i.id, None).await)? {
                    Ok(i) => Effect::IncidentResolved { id: i.id },
                    Err(reason) => Effect::IncidentNotResolved {
                        fingerprint,
                        reason,
                    },
                }
            }
        })
    }

    /// The release a CI run tested: the one whose commit is the run's, else
    /// the one whose tag is the run's ref, else the one `env` holds now.
    async fn tested_release(
        &self,
        env: &str,
        git_ref: Option<&str>,
        sha: Option<&str>,
    ) -> sluice_store::Result<Option<String>> {
        let releases = self.store.releases().await?;
        let live = |r: &&sluice_core::model::Release| {
            r.status == sluice_core::model::ReleaseStatus::Candidate
                || r.status == sluice_core::model::ReleaseStatus::Released
        };
        if let Some(sha) = sha.filter(|s| s.len() >= 7)
            && let Some(r) = releases.iter().filter(live).find(|r| {
                r.git
                    .as_ref()
                    .is_some_and(|g| g.target.starts_with(sha) || sha.starts_with(&g.target))
            })
        {
            return Ok(Some(r.version.to_string()));
        }
        if let Some(git_ref) = git_ref {
            let name = git_ref.strip_prefix("refs/tags/").unwrap_or(git_ref);
            if let Some(r) = releases
                .iter()
                .filter(live)
                .find(|r| crate::notes::tag_name(&self.process, &r.version) == name)
            {
                return Ok(Some(r.version.to_string()));
            }
        }
        Ok(self
            .store
            .environment(env)
            .await?
            .and_then(|(e, _)| e.release))
    }
}
