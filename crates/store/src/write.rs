//! One command, one transaction: state rows with revision guards, the events
//! chained onto the log, and the chain head, committed together.

use sluice_core::audit::{self, StoredEvent};
use sluice_core::event::Event;
use sluice_core::model::{Deployment, EnvState, Incident, Patch, Release};

use crate::outbox::{self, OutboxMessage};
use crate::{Result, Store, StoreError};

/// Everything one command writes.
#[derive(Debug, Default, Clone)]
pub struct Change {
    pub actor: String,
    pub at_ms: i64,
    pub events: Vec<Event>,
    /// Each with the revision it was read at; `None` inserts a new patch.
    pub patches: Vec<(Patch, Option<i64>)>,
    pub releases: Vec<(Release, Option<i64>)>,
    /// Inserted, or replaced by id.
    pub deployments: Vec<Deployment>,
    /// Each with the revision it was read at; `None` when the row was absent.
    pub environments: Vec<(EnvState, Option<i64>)>,
    /// Notifications caused by `events`, enqueued in the same transaction.
    pub outbox: Vec<OutboxMessage>,
    /// API tokens inserted, or revoked by id.
    pub tokens: Vec<crate::ApiToken>,
    /// Each with the revision it was read at; `None` inserts a new incident.
    pub incidents: Vec<(Incident, Option<i64>)>,
    /// The webhook delivery this change carries out: recorded first, and a
    /// delivery recorded before makes the whole change a
    /// [`StoreError::Duplicate`].
    pub delivery: Option<Delivery>,
    /// The identity of the webhook payload this change carries out (a CI run,
    /// an alert firing), recorded like `delivery`: one recorded before makes
    /// the whole change a [`StoreError::Duplicate`].
    pub payload: Option<Delivery>,
    /// The idempotency claim (actor, key) of the API request this change
    /// carries out: marked committed in the same transaction, so a request
    /// whose server died before answering is never carried out twice.
    pub claim: Option<(String, String)>,
}

/// One inbound webhook delivery, identified by its source and the sender's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub source: String,
    pub id: String,
    pub received_ms: i64,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("model values always serialize")
}

fn ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

impl Store {
    /// Writes a change atomically and returns the events as stored.
    pub async fn commit(&self, change: &Change) -> Result<Vec<StoredEvent>> {
        let (mut tx, seq, hash) = self.begin_locked().await?;
        let stored = apply(&mut tx, seq, hash, change).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Commits a change that needs a new patch number. The number is taken inside
    /// the transaction, after the lock, so it is never taken twice and costs no
    /// extra round trip; `build` may still refuse, and then nothing is written.
    pub async fn commit_new_patch<E>(
        &self,
        build: impl FnOnce(i64) -> std::result::Result<Change, E>,
    ) -> Result<std::result::Result<(Change, Vec<StoredEvent>), E>> {
        self.commit_numbered("SELECT MAX(number) FROM patches", build)
            .await
    }

    /// Commits a change that opens a new incident, its id taken like a
    /// patch number (see [`Store::commit_new_patch`]).
    pub async fn commit_new_incident<E>(
        &self,
        build: impl FnOnce(i64) -> std::result::Result<Change, E>,
    ) -> Result<std::result::Result<(Change, Vec<StoredEvent>), E>> {
        self.commit_numbered("SELECT MAX(id) FROM incidents", build)
            .await
    }

    async fn commit_numbered<E>(
        &self,
        max_sql: &'static str,
        build: impl FnOnce(i64) -> std::result::Result<Change, E>,
    ) -> Result<std::result::Result<(Change, Vec<StoredEvent>), E>> {
        let (mut tx, seq, hash) = self.begin_locked().await?;
        let max: Option<i64> = sqlx::query_scalar(max_sql).fetch_one(&mut *tx).await?;
        let change = match build(max.unwrap_or(0) + 1) {
            Ok(c) => c,
            Err(e) => {
                tx.rollback().await?;
                return Ok(Err(e));
            }
        };
        let stored = apply(&mut tx, seq, hash, &change).await?;
        tx.commit().await?;
        Ok(Ok((change, stored)))
    }

    async fn begin_locked(&self) -> Result<(sqlx::Transaction<'static, sqlx::Any>, i64, String)> {
        let mut tx = self.pool.begin().await?;
        // Writing first takes the write lock at once (SQLite) or the row lock
        // (PostgreSQL): commits queue here instead of failing later. The same
        // statement reads the head, one round trip instead of two.
        let (seq, hash): (i64, String) = {
            use sqlx::Row;
            let row =
                sqlx::query("UPDATE chain_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
                    .fetch_one(&mut *tx)
                    .await?;
            (row.try_get(0)?, row.try_get(1)?)
        };
        Ok((tx, seq, hash))
    }
}

async fn apply(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    mut seq: i64,
    mut hash: String,
    change: &Change,
) -> Result<Vec<StoredEvent>> {
    for d in change.delivery.iter().chain(&change.payload) {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (source, delivery, received_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(d.source.clone())
        .bind(d.id.clone())
        .bind(d.received_ms)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Err(StoreError::Duplicate(format!("{} {}", d.source, d.id)));
        }
    }
    if let Some((actor, key)) = &change.claim {
        sqlx::query(
            "UPDATE idempotency SET committed_ms = $1 WHERE actor = $2 AND idem_key = $3 AND committed_ms IS NULL",
        )
        .bind(change.at_ms)
        .bind(actor.clone())
        .bind(key.clone())
        .execute(&mut **tx)
        .await?;
    }
    for (p, rev) in &change.patches {
        let targets: Vec<String> = p.targets.iter().map(|t| t.to_string()).collect();
        let args = (
            p.status.as_str(),
            i64::from(p.status.is_open()),
            p.severity.clone(),
            p.kind.clone(),
            p.owner.clone(),
            targets.join(","),
            p.release.clone(),
            p.deadline.map(ms),
            json(p),
            p.source.reference.clone(),
        );
        let done = match rev {
            None => {
                let r = sqlx::query(
                        "INSERT INTO patches (key, number, status, is_open, severity, kind, owner, targets, release, deadline_ms, reported_ms, rev, data, source_ref)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(p.key.clone())
                    .bind(p.number)
                    .bind(args.0)
                    .bind(args.1)
                    .bind(args.2)
                    .bind(args.3)
                    .bind(args.4)
                    .bind(args.5)
                    .bind(args.6)
                    .bind(args.7)
                    .bind(ms(p.reported_at))
                    .bind(args.8)
                    .bind(args.9.clone())
                    .execute(&mut **tx)
                    .await?;
                r.rows_affected()
            }
            Some(rev) => {
                let r = sqlx::query(
                        "UPDATE patches SET status = $1, is_open = $2, severity = $3, kind = $4, owner = $5, targets = $6,
                         release = $7, deadline_ms = $8, data = $9, source_ref = $12, rev = rev + 1 WHERE key = $10 AND rev = $11",
                    )
                    .bind(args.0)
                    .bind(args.1)
                    .bind(args.2)
                    .bind(args.3)
                    .bind(args.4)
                    .bind(args.5)
                    .bind(args.6)
                    .bind(args.7)
                    .bind(args.8)
                    .bind(p.key.clone())
                    .bind(*rev)
                    .bind(args.9.clone())
                    .execute(&mut **tx)
                    .await?;
                r.rows_affected()
            }
        };
        if done != 1 {
            return Err(StoreError::Conflict(format!("patch {}", p.key)));
        }
    }

    for (r, rev) in &change.releases {
        let v = r.version.to_string();
        let done = match rev {
                None => sqlx::query(
                    "INSERT INTO releases (version, major, minor, patch, status, created_ms, rev, data)
                     VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT DO NOTHING",
                )
                .bind(v.clone())
                .bind(r.version.major as i64)
                .bind(r.version.minor as i64)
                .bind(r.version.patch as i64)
                .bind(r.status.as_str())
                .bind(ms(r.created_at))
                .bind(json(r))
                .execute(&mut **tx)
                .await?
                .rows_affected(),
                Some(rev) => sqlx::query("UPDATE releases SET status = $1, data = $2, rev = rev + 1 WHERE version = $3 AND rev = $4")
                    .bind(r.status.as_str())
                    .bind(json(r))
                    .bind(v.clone())
                    .bind(*rev)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
            };
        if done != 1 {
            return Err(StoreError::Conflict(format!("release {v}")));
        }
    }

    for d in &change.deployments {
        sqlx::query(
                "INSERT INTO deployments (id, release, env, action, outcome, started_ms, finished_ms, data)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, finished_ms = excluded.finished_ms, data = excluded.data",
            )
            .bind(d.id.clone())
            .bind(d.release.clone())
            .bind(d.env.clone())
            .bind(d.action.as_str())
            .bind(d.outcome.as_str())
            .bind(ms(d.started_at))
            .bind(d.finished_at.map(ms))
            .bind(json(d))
            .execute(&mut **tx)
            .await?;
    }

    for (e, rev) in &change.environments {
        let done = match rev {
                None => sqlx::query("INSERT INTO environments (name, release, since_ms, rev) VALUES ($1, $2, $3, 1) ON CONFLICT DO NOTHING")
                    .bind(e.env.clone())
                    .bind(e.release.clone())
                    .bind(e.since.map(ms))
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
                Some(rev) => sqlx::query("UPDATE environments SET release = $1, since_ms = $2, rev = rev + 1 WHERE name = $3 AND rev = $4")
                    .bind(e.release.clone())
                    .bind(e.since.map(ms))
                    .bind(e.env.clone())
                    .bind(*rev)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected(),
            };
        if done != 1 {
            return Err(StoreError::Conflict(format!("environment {}", e.env)));
        }
    }

    for t in &change.tokens {
        crate::api::upsert_token(tx, t).await?;
    }
    for (i, rev) in &change.incidents {
        crate::incidents::write(tx, i, *rev).await?;
    }

    let mut stored = Vec::with_capacity(change.events.len());
    for e in &change.events {
        let ev = audit::chain(
            Some((&hash, seq)),
            change.at_ms,
            &change.actor,
            e.kind,
            &e.subject,
            json(&e.payload),
        );
        sqlx::query(
                "INSERT INTO events (seq, at_ms, actor, kind, subject, payload, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(ev.seq)
            .bind(ev.at_ms)
            .bind(ev.actor.clone())
            .bind(ev.kind.clone())
            .bind(ev.subject.clone())
            .bind(ev.payload.clone())
            .bind(ev.prev_hash.clone())
            .bind(ev.hash.clone())
            .execute(&mut **tx)
            .await?;
        seq = ev.seq;
        hash = ev.hash.clone();
        stored.push(ev);
    }
    let mut rows = Vec::with_capacity(change.outbox.len());
    for m in &change.outbox {
        let ev = stored.get(m.event_index).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "outbox message {} names event {} of a change with {}",
                m.id,
                m.event_index,
                stored.len()
            ))
        })?;
        rows.push((m, ev.seq));
    }
    outbox::insert_all(tx, &rows, change.at_ms).await?;
    sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(stored)
}
