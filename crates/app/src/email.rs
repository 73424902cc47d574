//! Email over SMTP (lettre, rustls on ring): one multipart message (plain
//! text and HTML, both from the templates) per outbox row, through the relay
//! of the process file's `[smtp]`. STARTTLS is required when configured
//! (never skipped), `tls` is implicit TLS, `none` is for a local relay.
//!
//! Credentials are `${VAR}` references resolved when the first message is
//! sent; neither they nor the relay's answers to the login appear in errors
//! beyond the SMTP status code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sluice_core::process::{Smtp, SmtpTls};
use sluice_store::OutboxRow;

use crate::messages::Rendered;
use crate::sending::{DeliveryError, EnvLookup, resolve};

type Mailer = AsyncSmtpTransport<Tokio1Executor>;

/// Sends email through the configured relay; the connection pool is built
/// on first use.
pub struct EmailTransport {
    smtp: Option<Smtp>,
    env: Arc<EnvLookup>,
    mailer: Mutex<Option<Mailer>>,
}

impl EmailTransport {
    pub fn new(smtp: Option<Smtp>, env: Arc<EnvLookup>) -> Self {
        EmailTransport {
            smtp,
            env,
            mailer: Mutex::new(None),
        }
    }

    fn mailer(&self, smtp: &Smtp) -> Result<Mailer, DeliveryError> {
        if let Some(m) = self.mailer.lock().unwrap().as_ref() {
            return Ok(m.clone());
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls_err = |e: lettre::transport::smtp::Error| {
            DeliveryError::fatal(format!("cannot set up TLS for {}: {e}", smtp.host))
        };
        let builder = match smtp.tls {
            SmtpTls::Starttls => Mailer::starttls_relay(&smtp.host).map_err(tls_err)?,
            SmtpTls::Tls => Mailer::relay(&smtp.host).map_err(tls_err)?,
            SmtpTls::None => Mailer::builder_dangerous(smtp.host.clone()),
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(10)));
        if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
            let user = resolve(&self.env, "SMTP username", "[smtp]", u)?;
            let pass = resolve(&self.env, "SMTP password", "[smtp]", p)?;
            builder = builder.credentials(Credentials::new(user, pass));
        }
        let m = builder.build();
        *self.mailer.lock().unwrap() = Some(m.clone());
        Ok(m)
    }

    /// Sends one rendered message to the row's address.
    pub async fn send(&self, m: &OutboxRow, r: &Rendered) -> Result<(), DeliveryError> {
        let Some(smtp) = &self.smtp else {
            return Err(DeliveryError::fatal(
                "email needs an SMTP relay: add [smtp] to the process file, then `notify retry`",
            ));
        };
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|e| DeliveryError::fatal(format!("bad [smtp] from `{}`: {e}", smtp.from)))?;
        let to: Mailbox = m
            .address
            .parse()
            .map_err(|e| DeliveryError::fatal(format!("bad address `{}`: {e}", m.address)))?;
        let email = Message::builder()
            .message_id(Some(format!("<{}@sluice>", m.id)))
            .from(from)
            .to(to)
            .subject(r.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                r.text.clone(),
                r.html.clone(),
            ))
            .map_err(|e| DeliveryError::fatal(format!("cannot build the email: {e}")))?;
        let mailer = self.mailer(smtp)?;
        match mailer.send(email).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // Drop the pool: the next try connects afresh.
                *self.mailer.lock().unwrap() = None;
                Err(classify(&smtp.host, smtp.port, &e))
            }
        }
    }
}

/// A 5xx answer will not heal (dead at once); anything else is retried.
fn classify(host: &str, port: u16, e: &lettre::transport::smtp::Error) -> DeliveryError {
    let code = e.status().map(|c| c.to_string());
    let m = match &code {
        Some(c) => format!("the SMTP relay {host}:{port} answered {c}"),
        None if e.is_timeout() => format!("the SMTP relay {host}:{port} timed out"),
        None if e.is_tls() => format!("TLS with the SMTP relay {host}:{port} failed: {e}"),
        None => format!("the SMTP relay {host}:{port} cannot be reached: {e}"),
    };
    if e.is_permanent() {
        DeliveryError::fatal(m)
    } else {
        DeliveryError::retry(m)
    }
}
