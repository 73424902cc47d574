//! The transports the outbox is delivered through: Slack incoming webhooks,
//! generic webhooks as signed CloudEvents (Sluice's own events, or CDEvents
//! for a channel with `format = "cdevents"`: `crate::cdevents`), email
//! (`crate::email`), and an in-memory one for tests. The dispatcher is
//! `crate::dispatch`.
//!
//! Secrets (webhook URLs, signing keys, SMTP credentials) are read from the
//! environment variables the process file names, at send time, and never
//! appear in errors: a missing variable is reported by its name only.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::Sha256;
use sluice_core::process::{Process, WebhookFormat};
use sluice_store::OutboxRow;

use crate::email::EmailTransport;
use crate::messages::{MessageContext, Rendered, Templates};
use crate::sending::resolve;
pub use crate::sending::{DeliveryError, EnvLookup};

/// Something that can deliver an outbox message.
pub trait Transport: Sync {
    fn send(
        &self,
        msg: &OutboxRow,
    ) -> impl Future<Output = std::result::Result<(), DeliveryError>> + Send;
}

impl<T: Transport> Transport for &T {
    fn send(
        &self,
        msg: &OutboxRow,
    ) -> impl Future<Output = std::result::Result<(), DeliveryError>> + Send {
        (**self).send(msg)
    }
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

/// The real transports: Slack incoming webhooks and generic webhooks over
/// HTTP, email over SMTP; every message rendered through the templates.
pub struct Outbound {
    client: reqwest::Client,
    project: String,
    /// Channel name -> its `secret` reference.
    secrets: Vec<(String, String)>,
    /// Channel name -> what its webhook sends.
    formats: Vec<(String, WebhookFormat)>,
    env: Arc<EnvLookup>,
    templates: Arc<Templates>,
    email: EmailTransport,
}

impl Outbound {
    /// Transports reading secrets from the process environment.
    pub fn new(p: &Process, templates: Arc<Templates>) -> Self {
        Self::with_env(p, templates, Box::new(|k| std::env::var(k).ok()))
    }

    pub fn with_env(p: &Process, templates: Arc<Templates>, env: EnvLookup) -> Self {
        let env = Arc::new(env);
        Outbound {
            client: http_client(),
            project: p.project.name.clone(),
            secrets: p
                .channels
                .iter()
                .filter_map(|c| c.secret.clone().map(|s| (c.name.clone(), s)))
                .collect(),
            formats: p
                .channels
                .iter()
                .map(|c| (c.name.clone(), c.format))
                .collect(),
            email: EmailTransport::new(p.smtp.clone(), env.clone()),
            env,
            templates,
        }
    }

    fn resolve(
        &self,
        what: &str,
        channel: &str,
        value: &str,
    ) -> std::result::Result<String, DeliveryError> {
        resolve(&self.env, what, &format!("channel `{channel}`"), value)
    }

    fn render(&self, m: &OutboxRow) -> std::result::Result<Rendered, DeliveryError> {
        self.templates
            .render(&MessageContext::of_row(m))
            .map_err(|e| DeliveryError::fatal(e.to_string()))
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
        let body = slack_body(&self.render(m)?).to_string();
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
        let summary = self.render(m)?.subject;
        let format = self
            .formats
            .iter()
            .find(|(c, _)| *c == m.channel)
            .map_or(WebhookFormat::default(), |(_, f)| *f);
        let body = match format {
            WebhookFormat::CloudEvents => cloudevent(&self.project, m, &summary),
            WebhookFormat::CdEvents => crate::cdevents::cloudevent(&self.project, m, &summary)?,
        }
        .to_string();
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

impl Transport for Outbound {
    async fn send(&self, m: &OutboxRow) -> std::result::Result<(), DeliveryError> {
        match m.transport.as_str() {
            "slack" => self.slack(m).await,
            "webhook" => self.webhook(m).await,
            "email" => {
                let r = self.render(m)?;
                self.email.send(m, &r).await
            }
            other => Err(DeliveryError::fatal(format!("unknown transport `{other}`"))),
        }
    }
}

/// A Slack incoming-webhook body: a Block Kit section in mrkdwn and the
/// subject as the text fallback (notifications, screen readers). Slack reads
/// the fallback as mrkdwn too, so it is escaped: a title holding `<!channel>`
/// must not ping everyone.
pub fn slack_body(r: &Rendered) -> Value {
    json!({
        "text": crate::messages::slack_escape(&r.subject),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": r.slack}}
        ],
    })
}

/// The CloudEvents `type` a webhook of this format sends for an event:
/// `dev.sluice.EVENT`, or the CDEvents type (none when the event has no
/// CDEvents equivalent, and such a webhook is not sent it).
pub fn event_type(format: WebhookFormat, event: &str) -> Option<String> {
    match format {
        WebhookFormat::CloudEvents => Some(format!("dev.sluice.{event}")),
        WebhookFormat::CdEvents => sluice_core::cdevents::event_type(event).map(str::to_string),
    }
}

/// When the event happened (the payload's `at_ms`, else when the message
/// was written), as an RFC 3339 UTC time.
pub(crate) fn event_time(payload: &Value, m: &OutboxRow) -> String {
    let at = payload
        .get("at_ms")
        .and_then(Value::as_i64)
        .unwrap_or(m.created_ms);
    Timestamp::from_millisecond(at)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The CloudEvents `source` of a project's events: the relative URI
/// reference `sluice/<project>`, the name percent-encoded as one path
/// segment, since a project name may hold spaces, `/` or any letter.
pub fn event_source(project: &str) -> String {
    format!("sluice/{}", crate::wire::command::encode_segment(project))
}

/// A CloudEvents 1.0 structured-mode event for an outbox message; its `id` is
/// the message id, the same on every retry. `data` is the outbox payload
/// with the rendered subject line as `summary`. An event with a CDEvents
/// equivalent names its CDEvents type in the `cdeventstype` extension.
pub fn cloudevent(project: &str, m: &OutboxRow, summary: &str) -> Value {
    let mut p: Value = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
    if let Some(o) = p.as_object_mut() {
        o.insert("summary".to_string(), json!(summary));
    }
    let time = event_time(&p, m);
    let mut ev = json!({
        "specversion": "1.0",
        "id": m.id,
        "source": event_source(project),
        "type": format!("dev.sluice.{}", m.event_kind),
        "time": time,
        "datacontenttype": "application/json",
        "subject": p.get("subject").cloned().unwrap_or(Value::Null),
        "data": p,
    });
    if let Some(t) = sluice_core::cdevents::event_type(&m.event_kind) {
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
        let ev = cloudevent(
            "shop",
            &row("release.deployed"),
            "[shop] release 1.2.0 deployed",
        );
        assert_eq!(ev["data"]["summary"], "[shop] release 1.2.0 deployed");
        assert_eq!(ev["specversion"], "1.0");
        assert_eq!(ev["id"], "msg-1-2-3");
        assert_eq!(ev["source"], "sluice/shop");
        assert_eq!(ev["type"], "dev.sluice.release.deployed");
        assert_eq!(ev["time"], "2025-11-24T16:00:00Z");
        assert_eq!(ev["cdeventstype"], "dev.cdevents.service.deployed.0.2.0");
        let ev = cloudevent("shop", &row("release.rolled_back"), "");
        assert_eq!(ev["cdeventstype"], "dev.cdevents.service.rolledback.0.2.0");
        let ev = cloudevent("shop", &row("incident.opened"), "");
        assert_eq!(ev["cdeventstype"], "dev.cdevents.incident.detected.0.2.0");
        assert_eq!(ev["type"], "dev.sluice.incident.opened");
        assert!(
            cloudevent("shop", &row("release.cut"), "")
                .get("cdeventstype")
                .is_none()
        );
    }

    #[test]
    fn the_source_is_a_uri_reference_whatever_the_project_name() {
        assert_eq!(event_source("shop"), "sluice/shop");
        assert_eq!(
            event_source("Boutique en ligne \u{e9}t\u{e9}"),
            "sluice/Boutique%20en%20ligne%20%C3%A9t%C3%A9"
        );
        assert_eq!(event_source("a/b:c?d#e%"), "sluice/a%2Fb%3Ac%3Fd%23e%25");
        for name in [
            "shop",
            "My Shop",
            "Boutique en ligne \u{e9}t\u{e9}",
            "\u{65e5}\u{672c}\u{306e}\u{5e97}",
            "a/b:c?d#e%",
            "x:y",
            " ",
            "{shop} [eu] <test> \"q\" \\ ^`|",
        ] {
            let s = event_source(name);
            assert!(
                crate::uri_reference::is_uri_reference(&s),
                "{name:?} -> {s}"
            );
            let ev = cloudevent(name, &row("release.deployed"), "");
            assert_eq!(ev["source"], s.as_str());
        }
    }

    #[test]
    fn slack_message_has_blocks_and_fallback() {
        let r = Templates::embedded()
            .render(&MessageContext::of_row(&row("release.deployed")))
            .unwrap();
        let b = slack_body(&r);
        assert_eq!(
            b["text"],
            "[shop] release 1.2.0 deployed to prod by bob@example.com"
        );
        assert_eq!(
            b["blocks"][0]["text"]["text"],
            "[shop] release *1.2.0* deployed to prod by bob@example.com"
        );
    }

    #[test]
    fn slack_fallback_text_pings_nobody() {
        let r = Rendered {
            subject: "[shop] incident <!channel> & <@U123> <https://x.example|click>".into(),
            text: String::new(),
            html: String::new(),
            slack: String::new(),
        };
        assert_eq!(
            slack_body(&r)["text"],
            "[shop] incident &lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://x.example|click&gt;"
        );
    }

    #[tokio::test]
    async fn missing_variables_are_named_never_resolved() {
        let p = sluice_core::process::load("sluice.toml", DEFAULT_PROCESS).unwrap();
        let t = Outbound::with_env(&p, Arc::new(Templates::embedded()), Box::new(|_| None));
        let e = t.send(&row("release.deployed")).await.unwrap_err();
        assert!(!e.retryable);
        assert!(
            e.message.contains("HOOK") && e.message.contains("not set"),
            "{}",
            e.message
        );
        // SMTP credentials too, and before any connection is made.
        let mut m = row("release.deployed");
        m.transport = "email".into();
        m.address = "stakeholders@example.com".into();
        let e = t.send(&m).await.unwrap_err();
        assert!(!e.retryable);
        assert!(
            e.message.contains("SMTP_USERNAME") && e.message.contains("[smtp]"),
            "{}",
            e.message
        );
        // Without [smtp], email is dead at once with the fix named.
        let mut p = p;
        p.smtp = None;
        let t = Outbound::with_env(&p, Arc::new(Templates::embedded()), Box::new(|_| None));
        let e = t.send(&m).await.unwrap_err();
        assert!(
            !e.retryable && e.message.contains("add [smtp]"),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_type_follows_the_channel_format() {
        use WebhookFormat::*;
        let t = |f, e| event_type(f, e);
        assert_eq!(
            t(CloudEvents, "release.cut").as_deref(),
            Some("dev.sluice.release.cut")
        );
        assert_eq!(t(CdEvents, "release.cut"), None);
        assert_eq!(
            t(CdEvents, "incident.resolved").as_deref(),
            Some("dev.cdevents.incident.resolved.0.2.0")
        );
        assert_eq!(
            t(CdEvents, "patch.ready").as_deref(),
            Some("dev.cdevents.change.merged.0.2.0")
        );
    }

    /// A message a CDEvents channel cannot send (written before its format
    /// changed) is dead at once, before any connection, not retried.
    #[tokio::test]
    async fn a_cdevents_channel_refuses_an_event_without_an_equivalent() {
        let text = DEFAULT_PROCESS.to_string()
            + "\n[channels.hooks]\nwebhook = \"${HOOK}\"\nformat = \"cdevents\"\n";
        let p = match sluice_core::process::load("sluice.toml", &text) {
            Ok(p) => p,
            Err(d) => panic!("{d}"),
        };
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{closed}/hook");
        let t = Outbound::with_env(
            &p,
            Arc::new(Templates::embedded()),
            Box::new(move |k| (k == "HOOK").then(|| url.clone())),
        );
        let e = t.send(&row("release.cut")).await.unwrap_err();
        assert!(!e.retryable, "{}", e.message);
        assert!(
            e.message.contains("no CDEvents equivalent"),
            "{}",
            e.message
        );
        // An event it can send goes out (here to a closed port: retried).
        let e = t.send(&row("release.deployed")).await.unwrap_err();
        assert!(e.retryable, "{}", e.message);
    }

    const DEFAULT_PROCESS: &str = include_str!("../../core/src/process/default.toml");
}
