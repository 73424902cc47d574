//! The transactional outbox: messages written by [`crate::Store::commit`] in the
//! same transaction as their events, taken by dispatchers under a lease, and
//! marked delivered, failed (retried later) or dead.
//!
//! On PostgreSQL, [`Store::due_messages`] locks the rows it takes with
//! `FOR UPDATE SKIP LOCKED` and pushes their `next_at_ms` forward by
//! [`LEASE_MS`] before committing, so two dispatchers never take the same
//! message. SQLite has one writer at a time, which gives the same guarantee.

use serde::Serialize;
use sqlx::Row;

use crate::{Backend, Result, Store};

/// How long a taken message is hidden from other dispatchers.
pub const LEASE_MS: i64 = 60_000;

/// A message to enqueue with a [`crate::Change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Stable message id, reused on every retry.
    pub id: String,
    /// Which event of the change causes it (0-based index into `Change::events`).
    pub event_index: usize,
    pub event_kind: String,
    pub channel: String,
    /// `slack`, `email` or `webhook`.
    pub transport: String,
    /// The `${VAR}` reference or email address; never a resolved secret.
    pub address: String,
    /// JSON of what the transports need to render the message.
    pub payload: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    Pending,
    Delivered,
    Dead,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Dead => "dead",
        }
    }
}

/// A stored outbox message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OutboxRow {
    pub id: String,
    pub event_seq: i64,
    pub event_kind: String,
    pub channel: String,
    pub transport: String,
    pub address: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_at_ms: i64,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "id, event_seq, event_kind, channel, transport, address, payload, status, attempts, next_at_ms, created_ms, delivered_ms, last_error";

fn row(r: &sqlx::any::AnyRow) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.try_get(0)?,
        event_seq: r.try_get(1)?,
        event_kind: r.try_get(2)?,
        channel: r.try_get(3)?,
        transport: r.try_get(4)?,
        address: r.try_get(5)?,
        payload: r.try_get(6)?,
        status: r.try_get(7)?,
        attempts: r.try_get(8)?,
        next_at_ms: r.try_get(9)?,
        created_ms: r.try_get(10)?,
        delivered_ms: r.try_get(11)?,
        last_error: r.try_get(12)?,
    })
}

/// Inserts a change's messages with as few statements as possible: one
/// multi-row `INSERT` per [`INSERT_CHUNK`] messages, so a notifying command
/// costs one round trip more, not one per recipient.
pub(crate) async fn insert_all(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rows: &[(&OutboxMessage, i64)],
    at_ms: i64,
) -> Result<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO outbox (id, event_seq, event_kind, channel, transport, address, payload, next_at_ms, created_ms, status, attempts) VALUES {}",
            crate::values_rows(chunk.len(), 9, ", 'pending', 0")
        );
        // Only placeholders are formatted into the text; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (m, seq) in chunk {
            q = q
                .bind(m.id.clone())
                .bind(*seq)
                .bind(m.event_kind.clone())
                .bind(m.channel.clone())
                .bind(m.transport.clone())
                .bind(m.address.clone())
                .bind(m.payload.clone())
                .bind(at_ms)
                .bind(at_ms);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Messages per `INSERT` (9 parameters each, far below either backend's limit).
const INSERT_CHUNK: usize = 50;

impl Store {
    /// Takes up to `limit` pending messages due at `now_ms`, oldest first, and
    /// leases them for [`LEASE_MS`]: no other dispatcher gets them meanwhile.
    pub async fn due_messages(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Sqlite {
            // Take the write lock first, so the lease update cannot fail on a
            // stale read snapshot.
            sqlx::query("UPDATE chain_head SET seq = seq WHERE id = 1")
                .execute(&mut *tx)
                .await?;
        }
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND next_at_ms <= $1
             ORDER BY next_at_ms, id LIMIT $2{lock}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms)
            .bind(limit as i64)
            .fetch_all(&mut *tx)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m = row(r)?;
            m.next_at_ms = now_ms + LEASE_MS;
            sqlx::query("UPDATE outbox SET next_at_ms = $1 WHERE id = $2")
                .bind(m.next_at_ms)
                .bind(m.id.clone())
                .execute(&mut *tx)
                .await?;
            out.push(m);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records a successful delivery.
    pub async fn mark_delivered(&self, id: &str, now_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE outbox SET status = 'delivered', delivered_ms = $1, attempts = attempts + 1, last_error = NULL
             WHERE id = $2 AND status = 'pending'",
        )
        .bind(now_ms)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records a failed attempt: retried at `next_at_ms`, or dead.
    pub async fn mark_failed(
        &self,
        id: &str,
        _now_ms: i64,
        error: &str,
        next_at_ms: i64,
        dead: bool,
    ) -> Result<bool> {
        let status = if dead { "dead" } else { "pending" };
        let r = sqlx::query(
            "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2, next_at_ms = $3
             WHERE id = $4 AND status = 'pending'",
        )
        .bind(status)
        .bind(error.to_string())
        .bind(next_at_ms)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Rate limiting shared by every dispatcher on the database (a generic
    /// cell rate algorithm): message `id` on (`channel`, `transport`), which
    /// take `count` messages at once and then one every `per_ms / count`.
    /// `None`: send it now; `Some(t)`: over the limit, it waits for slot `t`
    /// (kept on the message, so coming back at its slot it is sent without
    /// being counted again). One transaction, serialized per channel.
    pub async fn pace(
        &self,
        id: &str,
        channel: &str,
        transport: &str,
        count: u32,
        per_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        // A write first: it takes SQLite's lock and the row's lock on PostgreSQL.
        sqlx::query(
            "INSERT INTO rate_limits (channel, transport, tat_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(channel.to_string())
        .bind(transport.to_string())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE rate_limits SET tat_ms = tat_ms WHERE channel = $1 AND transport = $2")
            .bind(channel.to_string())
            .bind(transport.to_string())
            .execute(&mut *tx)
            .await?;
        let slot: Option<i64> = sqlx::query_scalar("SELECT slot_ms FROM outbox WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
        if let Some(slot) = slot {
            if slot <= now_ms {
                sqlx::query("UPDATE outbox SET slot_ms = NULL WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(None);
            }
            tx.commit().await?;
            return Ok(Some(slot));
        }
        let tat: i64 = sqlx::query_scalar(
            "SELECT tat_ms FROM rate_limits WHERE channel = $1 AND transport = $2",
        )
        .bind(channel.to_string())
        .bind(transport.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let interval = (per_ms / i64::from(count.max(1))).max(1);
        let tolerance = per_ms - interval;
        let tat = tat.max(now_ms);
        sqlx::query("UPDATE rate_limits SET tat_ms = $1 WHERE channel = $2 AND transport = $3")
            .bind(tat + interval)
            .bind(channel.to_string())
            .bind(transport.to_string())
            .execute(&mut *tx)
            .await?;
        let at = tat - tolerance;
        let out = if at <= now_ms {
            None
        } else {
            sqlx::query("UPDATE outbox SET slot_ms = $1, next_at_ms = $1 WHERE id = $2")
                .bind(at)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            Some(at)
        };
        tx.commit().await?;
        Ok(out)
    }

    /// When the next pending message is due, if any.
    pub async fn next_due_ms(&self) -> Result<Option<i64>> {
        let r: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_at_ms) FROM outbox WHERE status = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(r)
    }

    /// Messages, newest first, optionally of one status.
    pub async fn outbox(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        let rows = match status {
            Some(s) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM outbox WHERE status = $1 ORDER BY created_ms DESC, id DESC LIMIT $2"
                )))
                .bind(s.as_str())
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM outbox ORDER BY created_ms DESC, id DESC LIMIT $1"
                )))
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(row).collect()
    }

    /// Message counts per (status, channel, transport).
    pub async fn outbox_counts(&self) -> Result<Vec<(String, String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT status, channel, transport, COUNT(*) FROM outbox
             GROUP BY status, channel, transport ORDER BY status, channel, transport",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }

    /// Makes a dead message pending again, due at `now_ms`, with a fresh age
    /// (`created_ms` becomes `now_ms`) and its attempts reset. The id is kept.
    /// Returns false when there is no dead message with this id.
    pub async fn revive(&self, id: &str, now_ms: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_at_ms = $1, created_ms = $1
             WHERE id = $2 AND status = 'dead'",
        )
        .bind(now_ms)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Makes a pending message due at `now_ms` (skipping its backoff).
    /// Returns false when there is no pending message with this id.
    pub async fn retry_now(&self, id: &str, now_ms: i64) -> Result<bool> {
        let r =
            sqlx::query("UPDATE outbox SET next_at_ms = $1 WHERE id = $2 AND status = 'pending'")
                .bind(now_ms)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected() == 1)
    }
}
