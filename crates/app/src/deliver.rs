//! Delivering the outbox: the transports (Slack incoming webhooks, generic
//! webhooks as signed CloudEvents, an in-memory one for tests) and the
//! dispatcher that takes due messages, sends them and records the outcome
//! with exponential backoff, jitter and a maximum age.
//!
//! Secrets (webhook URLs, signing keys) are read from the environment
//! variables the process file names, at send time, and never appear in
//! errors: a missing variable is reported by its name only.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;
use sluice_core::process::Process;
use sluice_store::OutboxRow;

use crate::{App, Result};

/// A failed send. Retryable failures are tried again later; the others make
/// the message dead at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub retryable: bool,
    pub message: String,
}

impl DeliveryError {
    pub fn retry(m: impl Into<String>) -> Self {
        DeliveryError {
            retryable: true,
            message: m.into(),
        }
    }
    pub fn fatal(m: impl Into<String>) -> Self {
        DeliveryError {
            retryable: false,
            message: m.into(),
        }
    }
}

/// Something that can deliver an outbox message.
pub trait Transport: Sync {
    fn send(
        &self,
        msg: &OutboxRow,
    ) -> impl Future<Output = std::result::Result<(), DeliveryError>> + Send;
}

/// Records what it is given and answers as scripted (then `Ok`), for tests.
#[derive(Debug, Default)]
pub struct MemoryTransport {
    pub sent: Mutex<Vec<OutboxRow>>,
    pub script: Mutex<VecDeque<std::result::Result<(), DeliveryError>>>,
}

impl MemoryTransport {
    pub fn scripted(answers: Vec<std::result::Result<(), DeliveryError>>) -> Self {
        MemoryTransport {
            sent: Mutex::new(Vec::new()),
            script: Mutex::new(answers.into()),
        }
    }
}

impl Transport for MemoryTransport {
    fn send(
        &self,
        msg: &OutboxRow,
    ) -> impl Future<Output = std::result::Result<(), DeliveryError>> + Send {
        self.sent.lock().unwrap().push(msg.clone());
        let answer = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
        std::future::ready(answer)
    }
}

/// The HTTP client for outbound deliveries. Installs the ring crypto provider
/// first (idempotent): with `rustls-no-provider` reqwest panics without one.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client configuration is static")
}

/// Looks up an environment variable by name.
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Slack and generic webhooks over HTTP; email is not configured yet.
pub struct HttpTransport {
    client: reqwest::Client,
    project: String,
    /// Channel name -> its `secret` reference.
    secrets: Vec<(String, String)>,
    env: EnvLookup,
}

impl HttpTransport {
    /// A transport reading secrets from the process environment.
    pub fn new(p: &Process) -> Self {
        Self::with_env(p, Box::new(|k| std::env::var(k).ok()))
    }

    pub fn with_env(p: &Process, env: EnvLookup) -> Self {
        HttpTransport {
            client: http_client(),
            project: p.project.name.clone(),
            secrets: p
                .channels
                .iter()
                .filter_map(|c| c.secret.clone().map(|s| (c.name.clone(), s)))
                .collect(),
            env,
        }
    }

    /// A `${VAR}` reference resolved, or a literal value as is.
    fn resolve(
        &self,
        what: &str,
        channel: &str,
        value: &str,
    ) -> std::result::Result<String, DeliveryError> {
        match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
            None => Ok(value.to_string()),
            Some(var) => match (self.env)(var) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(DeliveryError::fatal(format!(
                    "environment variable {var} is not set (the {what} of channel `{channel}`)"
                ))),
            },
        }
    }

    async fn post(
        &self,
        url: &str,
        body: String,
        headers: Vec<(&'static str, String)>,
    ) -> std::result::Result<(), DeliveryError> {
        let mut req = self.client.post(url).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.map_err(|e| {
            // Never show the URL: it is a secret.
            let e = e.without_url();
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            DeliveryError::retry(format!("{kind}: {e}"))
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let m = format!("the receiver answered HTTP {}", status.as_u16());
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(DeliveryError::retry(m))
        } else {
            Err(DeliveryError::fatal(m))
        }
    }

    async fn slack(&self, m: &OutboxRow) -> std::result::Result<(), DeliveryError> {
        let url = self.resolve("Slack webhook", &m.channel, &m.address)?;
        let p: Value = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
        let body = slack_body(&p).to_string();
        self.post(
            &url,
            body,
            vec![("content-type", "application/json".into())],
        )
        .await
    }

    async fn webhook(&self, m: &OutboxRow) -> std::result::Result<(), DeliveryError> {
        let url = self.resolve("webhook", &m.channel, &m.address)?;
        let secret = match self.secrets.iter().find(|(c, _)| *c == m.channel) {
            Some((_, s)) => Some(self.resolve("webhook secret", &m.channel, s)?),
            None => None,
        };
        let body = cloudevent(&self.project, m).to_string();
        let ts = Timestamp::now().as_second();
        let mut headers = vec![
            ("content-type", "application/cloudevents+json".to_string()),
            ("webhook-id", m.id.clone()),
            ("webhook-timestamp", ts.to_string()),
        ];
        if let Some(s) = secret {
            headers.push(("webhook-signature", sign(&s, &m.id, ts, &body)?));
        }
        self.post(&url, body, headers).await
    }
}

impl Transport for HttpTransport {
    async fn send(&self, m: &OutboxRow) -> std::result::Result<(), DeliveryError> {
        match m.transport.as_str() {
            "slack" => self.slack(m).await,
            "webhook" => self.webhook(m).await,
            "email" => Err(DeliveryError::retry("email transport not configured yet")),
            other => Err(DeliveryError::fatal(format!("unknown transport `{other}`"))),
        }
    }
}

/// One line about an event, as plain text or Slack mrkdwn.
pub fn summary(p: &Value, mrkdwn: bool) -> String {
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (project, event, subject, actor) = (s("project"), s("event"), s("subject"), s("actor"));
    let env = p.get("env").and_then(Value::as_str);
    let b = |x: &str| {
        if mrkdwn {
            format!("*{x}*")
        } else {
            x.to_string()
        }
    };
    let what = match event.as_str() {
        "patch.reported" => format!("patch {} reported", b(&subject)),
        "patch.triaged" => format!("patch {} triaged", b(&subject)),
        "patch.released" => format!("patch {} released", b(&subject)),
        "patch.reopened" => format!("patch {} reopened", b(&subject)),
        "release.cut" => format!("release {} cut", b(&subject)),
        "release.approved" => format!("release {} approved", b(&subject)),
        "release.deployed" => format!("release {} deployed", b(&subject)),
        "release.failed" => format!("release {} failed to deploy", b(&subject)),
        "release.rolled_back" => format!("release {} rolled back", b(&subject)),
        other => format!("{other} {}", b(&subject)),
    };
    let env = env.map(|e| format!(" to {e}")).unwrap_or_default();
    let env = if event == "release.approved" || event.starts_with("patch.") {
        env.replacen(" to ", " in ", 1)
    } else {
        env
    };
    format!("[{project}] {what}{env} by {actor}")
}

/// A Slack incoming-webhook body: a Block Kit section and a text fallback.
pub fn slack_body(p: &Value) -> Value {
    json!({
        "text": summary(p, false),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": summary(p, true)}}
        ],
    })
}

/// The CDEvents type carried by deployed and rolled-back events.
pub fn cdevents_type(event: &str) -> Option<&'static str> {
    match event {
        "release.deployed" => Some("dev.cdevents.service.deployed.0.2.0"),
        "release.rolled_back" => Some("dev.cdevents.service.rolledback.0.2.0"),
        _ => None,
    }
}

/// A CloudEvents 1.0 structured-mode event for an outbox message; its `id` is
/// the message id, the same on every retry.
pub fn cloudevent(project: &str, m: &OutboxRow) -> Value {
    let p: Value = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
    let at = p
        .get("at_ms")
        .and_then(Value::as_i64)
        .unwrap_or(m.created_ms);
    let time = Timestamp::from_millisecond(at)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut ev = json!({
        "specversion": "1.0",
        "id": m.id,
        "source": format!("sluice/{project}"),
        "type": format!("dev.sluice.{}", m.event_kind),
        "time": time,
        "datacontenttype": "application/json",
        "subject": p.get("subject").cloned().unwrap_or(Value::Null),
        "data": p,
    });
    if let Some(t) = cdevents_type(&m.event_kind) {
        ev["cdeventstype"] = json!(t);
    }
    ev
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` per Standard
/// Webhooks; a `whsec_` secret is base64 after the prefix.
pub fn sign(
    secret: &str,
    id: &str,
    ts: i64,
    body: &str,
) -> std::result::Result<String, DeliveryError> {
    let key = match secret.strip_prefix("whsec_") {
        Some(b) => B64.decode(b).map_err(|_| {
            DeliveryError::fatal("the webhook secret starts with whsec_ but is not base64 after it")
        })?,
        None => secret.as_bytes().to_vec(),
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|_| DeliveryError::fatal("the webhook secret cannot be used as an HMAC key"))?;
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// What one flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FlushReport {
    pub delivered: usize,
    /// Failed this time, to be retried later.
    pub failed: usize,
    pub dead: usize,
}

/// Retry timing and the maximum age.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base_ms: i64,
    pub cap_ms: i64,
    pub max_age_ms: i64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 30_000,
            cap_ms: 3_600_000,
            max_age_ms: 24 * 3_600_000,
        }
    }
}

impl Backoff {
    /// The delay before the next try after `attempts` failed ones (1 = the
    /// first failure): base x 2^(attempts-1), plus up to a quarter of jitter,
    /// capped.
    pub fn delay_ms(&self, attempts: i64, rng: &mut XorShift) -> i64 {
        let exp = (attempts - 1).clamp(0, 30) as u32;
        let d = self.base_ms.saturating_mul(1i64 << exp).min(self.cap_ms);
        let jitter = (rng.next() % (d as u64 / 4 + 1)) as i64;
        (d + jitter).min(self.cap_ms)
    }
}

/// A small xorshift generator for jitter (no `rand` needed).
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn seeded(seed: u64) -> Self {
        XorShift(seed | 1)
    }
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// How many messages one `due_messages` call takes.
const BATCH: usize = 32;

impl App {
    /// Runs the dispatcher once with the HTTP transports: at most `max`
    /// messages due at `now` are sent.
    pub async fn flush_notifications(&self, now: Timestamp, max: usize) -> Result<FlushReport> {
        let t = HttpTransport::new(&self.process);
        self.flush_with(&t, now, max, Backoff::default()).await
    }

    /// The dispatcher over any transport.
    pub async fn flush_with<T: Transport>(
        &self,
        t: &T,
        now: Timestamp,
        max: usize,
        backoff: Backoff,
    ) -> Result<FlushReport> {
        let now_ms = now.as_millisecond();
        let mut rng = XorShift::seeded(now.as_nanosecond() as u64 ^ u64::from(std::process::id()));
        let mut report = FlushReport::default();
        let mut taken = 0;
        while taken < max {
            let batch = self
                .store
                .due_messages(now_ms, BATCH.min(max - taken))
                .await?;
            if batch.is_empty() {
                break;
            }
            taken += batch.len();
            for m in batch {
                if now_ms - m.created_ms > backoff.max_age_ms {
                    let why = match &m.last_error {
                        Some(e) => format!("older than the maximum age; last error: {e}"),
                        None => "older than the maximum age".to_string(),
                    };
                    self.store
                        .mark_failed(&m.id, now_ms, &why, now_ms, true)
                        .await?;
                    report.dead += 1;
                    continue;
                }
                match t.send(&m).await {
                    Ok(()) => {
                        self.store.mark_delivered(&m.id, now_ms).await?;
                        report.delivered += 1;
                    }
                    Err(e) => {
                        let next = now_ms + backoff.delay_ms(m.attempts + 1, &mut rng);
                        let dead = !e.retryable || next - m.created_ms > backoff.max_age_ms;
                        self.store
                            .mark_failed(&m.id, now_ms, &e.message, next, dead)
                            .await?;
                        if dead {
                            report.dead += 1;
                        } else {
                            report.failed += 1;
                        }
                    }
                }
            }
        }
        Ok(report)
    }
}

/// Message counts for one status, channel and transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OutboxCount {
    pub status: String,
    pub channel: String,
    pub transport: String,
    pub count: i64,
}

impl App {
    /// Outbox messages, newest first, optionally of one status.
    pub async fn notifications(
        &self,
        status: Option<sluice_store::OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        Ok(self.store.outbox(status, limit).await?)
    }

    /// Counts per status, channel and transport.
    pub async fn notification_counts(&self) -> Result<Vec<OutboxCount>> {
        Ok(self
            .store
            .outbox_counts()
            .await?
            .into_iter()
            .map(|(status, channel, transport, count)| OutboxCount {
                status,
                channel,
                transport,
                count,
            })
            .collect())
    }

    /// Revives a dead message (same id, fresh age) or makes a pending one due
    /// now. Returns the message's status before.
    pub async fn retry_notification(&self, id: &str, now: Timestamp) -> Result<&'static str> {
        let ms = now.as_millisecond();
        if self.store.revive(id, ms).await? {
            return Ok("dead");
        }
        if self.store.retry_now(id, ms).await? {
            return Ok("pending");
        }
        Err(crate::AppError::NotFound(format!(
            "no dead or pending notification `{id}`; see `sluice notify list`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str) -> OutboxRow {
        OutboxRow {
            id: "msg-1-2-3".into(),
            event_seq: 7,
            event_kind: kind.into(),
            channel: "hooks".into(),
            transport: "webhook".into(),
            address: "${HOOK}".into(),
            payload: json!({"project": "shop", "event": kind, "subject": "1.2.0", "actor": "bob@example.com",
                "at_ms": 1_764_000_000_000i64, "env": "prod", "data": {"env": "prod"}})
            .to_string(),
            status: "pending".into(),
            attempts: 0,
            next_at_ms: 0,
            created_ms: 1_764_000_000_000,
            delivered_ms: None,
            last_error: None,
        }
    }

    #[test]
    fn standard_webhooks_test_vector() {
        // The example of the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(!sign("whsec_!!", "a", 1, "b").unwrap_err().retryable);
    }

    #[test]
    fn cloudevents_carry_cdevents_types() {
        let ev = cloudevent("shop", &row("release.deployed"));
        assert_eq!(ev["specversion"], "1.0");
        assert_eq!(ev["id"], "msg-1-2-3");
        assert_eq!(ev["source"], "sluice/shop");
        assert_eq!(ev["type"], "dev.sluice.release.deployed");
        assert_eq!(ev["time"], "2025-11-24T16:00:00Z");
        assert_eq!(ev["cdeventstype"], "dev.cdevents.service.deployed.0.2.0");
        let ev = cloudevent("shop", &row("release.rolled_back"));
        assert_eq!(ev["cdeventstype"], "dev.cdevents.service.rolledback.0.2.0");
        assert!(
            cloudevent("shop", &row("release.cut"))
                .get("cdeventstype")
                .is_none()
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let b = Backoff::default();
        let mut rng = XorShift::seeded(42);
        for (attempt, base) in [(1, 30_000), (2, 60_000), (3, 120_000), (6, 960_000)] {
            for _ in 0..50 {
                let d = b.delay_ms(attempt, &mut rng);
                assert!(d >= base && d <= base + base / 4, "{attempt}: {d}");
            }
        }
        let spread: std::collections::HashSet<i64> =
            (0..20).map(|_| b.delay_ms(1, &mut rng)).collect();
        assert!(spread.len() > 10, "jitter spreads retries");
        for a in [8, 20, 100] {
            assert!(b.delay_ms(a, &mut rng) <= 3_600_000);
        }
    }

    #[test]
    fn slack_message_has_blocks_and_fallback() {
        let p: Value = serde_json::from_str(&row("release.deployed").payload).unwrap();
        let b = slack_body(&p);
        assert_eq!(
            b["text"],
            "[shop] release 1.2.0 deployed to prod by bob@example.com"
        );
        assert_eq!(
            b["blocks"][0]["text"]["text"],
            "[shop] release *1.2.0* deployed to prod by bob@example.com"
        );
    }

    #[tokio::test]
    async fn missing_variables_are_named_never_resolved() {
        let p = sluice_core::process::load("sluice.toml", DEFAULT_PROCESS).unwrap();
        let t = HttpTransport::with_env(&p, Box::new(|_| None));
        let e = t.send(&row("release.deployed")).await.unwrap_err();
        assert!(!e.retryable);
        assert!(
            e.message.contains("HOOK") && e.message.contains("not set"),
            "{}",
            e.message
        );
        let mut m = row("release.deployed");
        m.transport = "email".into();
        let e = t.send(&m).await.unwrap_err();
        assert!(e.retryable && e.message.contains("email transport not configured"));
    }

    #[tokio::test]
    async fn dispatcher_backs_off_and_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = sluice_core::process::load("sluice.toml", DEFAULT_PROCESS).unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let app = App::open(p, &url, dir.path().to_path_buf()).await.unwrap();
        let t0: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        let msg = |id: &str| sluice_store::OutboxMessage {
            id: id.into(),
            event_index: 0,
            event_kind: "release.cut".into(),
            channel: "releases".into(),
            transport: "webhook".into(),
            address: "${HOOK}".into(),
            payload: "{}".into(),
        };
        let c = sluice_store::Change {
            actor: "bob@example.com".into(),
            at_ms: t0.as_millisecond(),
            events: vec![sluice_core::event::Event::new(
                "release.cut",
                "1.0.0",
                json!({}),
            )],
            outbox: vec![msg("a"), msg("b"), msg("c")],
            ..Default::default()
        };
        app.store.commit(&c).await.unwrap();
        let t = MemoryTransport::scripted(vec![
            Err(DeliveryError::retry("HTTP 500")),
            Err(DeliveryError::fatal("HTTP 404")),
            Ok(()),
        ]);
        let b = Backoff::default();
        let r = app.flush_with(&t, t0, 100, b).await.unwrap();
        assert_eq!(
            r,
            FlushReport {
                delivered: 1,
                failed: 1,
                dead: 1
            }
        );
        // Nothing is due again before the backoff, bounded by `max`.
        let r = app.flush_with(&t, t0, 100, b).await.unwrap();
        assert_eq!(r, FlushReport::default());
        let pending = app
            .notifications(Some(sluice_store::OutboxStatus::Pending), 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1);
        let wait = pending[0].next_at_ms - t0.as_millisecond();
        assert!((30_000..=37_500).contains(&wait), "{wait}");
        // Receiver down for longer than the maximum age: dead, same id kept.
        let script: Vec<_> = (0..40).map(|_| Err(DeliveryError::retry("down"))).collect();
        let t = MemoryTransport::scripted(script);
        let mut now = t0;
        let mut dead = 0;
        for _ in 0..40 {
            now = now
                .checked_add(jiff::SignedDuration::from_hours(1))
                .unwrap();
            dead += app.flush_with(&t, now, 100, b).await.unwrap().dead;
        }
        assert_eq!(dead, 1);
        let sent = t.sent.lock().unwrap().clone();
        assert!(sent.iter().all(|m| m.id == pending[0].id));
        assert!(sent.len() >= 20, "retried about hourly: {}", sent.len());
        let dead = app
            .notifications(Some(sluice_store::OutboxStatus::Dead), 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 2);
    }

    const DEFAULT_PROCESS: &str = include_str!("../../core/src/process/default.toml");
}
