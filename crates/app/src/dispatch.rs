//! The outbox dispatcher: takes due messages under a lease, applies the
//! maximum age and the per-channel rate limits, sends through a
//! [`Transport`] and records the outcome with exponential backoff and
//! jitter. `notify flush` runs one pass ([`App::flush_notifications`]);
//! `sluice serve` runs [`dispatch_loop`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use sluice_core::notify::Transport as NotifyTransport;
use sluice_core::process::Process;
use sluice_store::OutboxRow;

use crate::deliver::{Outbound, Transport};
use crate::messages::Templates;
use crate::{App, AppError, Result};

/// What one flush did.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct FlushReport {
    pub delivered: usize,
    /// Failed this time, to be retried later.
    pub failed: usize,
    pub dead: usize,
    /// Over their channel's rate limit: still pending, due at their turn.
    pub deferred: usize,
}

impl FlushReport {
    /// Messages taken from the outbox.
    pub fn taken(&self) -> usize {
        self.delivered + self.failed + self.dead + self.deferred
    }
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
    /// The default timing with the process file's maximum age.
    pub fn for_process(p: &Process) -> Backoff {
        Backoff {
            max_age_ms: p.delivery.max_age.as_millis() as i64,
            ..Backoff::default()
        }
    }

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
    #[expect(
        clippy::should_implement_trait,
        reason = "not an iterator: it never ends"
    )]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn transport_of(name: &str) -> Option<NotifyTransport> {
    match name {
        "slack" => Some(NotifyTransport::Slack),
        "email" => Some(NotifyTransport::Email),
        "webhook" => Some(NotifyTransport::Webhook),
        _ => None,
    }
}

/// A dispatcher: a transport, its retry timing and jitter. Rate limits are
/// kept in the database ([`sluice_store::Store::pace`]), so they hold across
/// passes and across every server's dispatcher.
pub struct Dispatcher<T> {
    pub transport: T,
    pub backoff: Backoff,
    rng: XorShift,
}

impl<T: Transport> Dispatcher<T> {
    pub fn new(transport: T, backoff: Backoff, seed: u64) -> Self {
        Dispatcher {
            transport,
            backoff,
            rng: XorShift::seeded(seed),
        }
    }
}

/// How many messages one `due_messages` call takes.
const BATCH: usize = 32;
/// Messages one pass of [`dispatch_loop`] takes at most.
const LOOP_BATCH: usize = 256;
/// The longest [`dispatch_loop`] sleeps before looking again.
const POLL_MS: i64 = 1_000;

impl App {
    /// The dispatcher with the real transports and the process file's
    /// templates (read from the repository root) and maximum age.
    pub fn dispatcher(&self) -> Result<Dispatcher<Outbound>> {
        let templates = Templates::load(&self.process, &self.root)
            .map_err(|d| AppError::Config(d.to_string()))?;
        let t = Outbound::new(&self.process, Arc::new(templates));
        let seed = Timestamp::now().as_nanosecond() as u64 ^ u64::from(std::process::id());
        Ok(Dispatcher::new(
            t,
            Backoff::for_process(&self.process),
            seed,
        ))
    }

    /// Runs the dispatcher once with the real transports (`notify flush`):
    /// at most `max` messages due at `now` are taken.
    /// Gated like everything said about a release
    /// ([`sluice_core::decide::require_communicate`]).
    pub async fn flush_notifications(
        &self,
        actor: &str,
        now: Timestamp,
        max: usize,
    ) -> Result<FlushReport> {
        sluice_core::decide::require_communicate(&self.ctx(actor, now), "flush notifications")?;
        let mut d = self.dispatcher()?;
        self.dispatch_once(&mut d, now, max).await
    }

    /// One pass of a fresh dispatcher over any transport.
    pub async fn flush_with<T: Transport>(
        &self,
        t: T,
        now: Timestamp,
        max: usize,
        backoff: Backoff,
    ) -> Result<FlushReport> {
        let seed = now.as_nanosecond() as u64 ^ u64::from(std::process::id());
        let mut d = Dispatcher::new(t, backoff, seed);
        self.dispatch_once(&mut d, now, max).await
    }

    /// One pass: takes at most `max` messages due at `now` (under a lease),
    /// and for each one: dead if older than the maximum age; deferred to its
    /// slot if over its channel's rate limit; else sent, then marked
    /// delivered, or failed with backoff, or dead on an error that will not
    /// heal or once the next try would pass the maximum age. `now` is the
    /// caller's clock (tests pass their own).
    pub async fn dispatch_once<T: Transport>(
        &self,
        d: &mut Dispatcher<T>,
        now: Timestamp,
        max: usize,
    ) -> Result<FlushReport> {
        let now_ms = now.as_millisecond();
        let backoff = d.backoff;
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
                let rate =
                    transport_of(&m.transport).and_then(|t| self.process.rate_for(&m.channel, t));
                // The limit is the database's, so it holds across every
                // server's dispatcher, not per process.
                if let Some(r) = &rate
                    && let Some(_at) = self
                        .store
                        .pace(
                            &m.id,
                            &m.channel,
                            &m.transport,
                            r.count,
                            r.per.as_millis() as i64,
                            now_ms,
                        )
                        .await?
                {
                    report.deferred += 1;
                    continue;
                }
                match d.transport.send(&m).await {
                    Ok(()) => {
                        self.store.mark_delivered(&m.id, now_ms).await?;
                        report.delivered += 1;
                    }
                    Err(e) => {
                        let next = now_ms + backoff.delay_ms(m.attempts + 1, &mut d.rng);
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

/// Delivers the outbox until `shutdown` completes: the dispatcher of
/// `sluice serve`. Each pass takes the due messages (several servers on one
/// PostgreSQL share the work through leases, without duplicates), then
/// sleeps until the next message is due, at most a second; `shutdown` is
/// honoured between passes, never in the middle of a send. `on_pass` sees
/// every pass's report or error (for logs); errors do not stop the loop.
pub async fn dispatch_loop(
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
    mut on_pass: impl FnMut(std::result::Result<&FlushReport, &AppError>),
) -> Result<()> {
    let mut d = app.dispatcher()?;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let now = Timestamp::now();
        let wait_ms = match app.dispatch_once(&mut d, now, LOOP_BATCH).await {
            Ok(r) => {
                on_pass(Ok(&r));
                if r.taken() >= LOOP_BATCH {
                    0
                } else {
                    match app.store.next_due_ms().await {
                        Ok(Some(t)) => (t - Timestamp::now().as_millisecond()).clamp(0, POLL_MS),
                        Ok(None) => POLL_MS,
                        Err(e) => {
                            on_pass(Err(&AppError::from(e)));
                            POLL_MS
                        }
                    }
                }
            }
            Err(e) => {
                on_pass(Err(&e));
                POLL_MS
            }
        };
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
        }
    }
}

/// Message counts for one status, channel and transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
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
    pub async fn retry_notification(
        &self,
        actor: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<&'static str> {
        sluice_core::decide::require_communicate(&self.ctx(actor, now), "retry a notification")?;
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
    use crate::deliver::{DeliveryError, MemoryTransport};
    use serde_json::json;

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
                dead: 1,
                deferred: 0,
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
