//! Queries over the current state and the event log.

use semver::Version;
use sluice_core::audit::{Break, StoredEvent, Verifier};
use sluice_core::model::{Deployment, EnvState, Patch, PatchStatus, Release};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, decode};

/// Which patches `patch list` shows.
#[derive(Debug, Clone, Default)]
pub struct PatchQuery {
    /// Only these statuses; empty means the open ones.
    pub statuses: Vec<PatchStatus>,
    pub all: bool,
    pub kind: Option<String>,
    pub severity: Option<String>,
    pub owner: Option<String>,
    /// A target as written (`main`, `1.2`).
    pub target: Option<String>,
    /// Deadlines before this are overdue (Unix ms).
    pub now_ms: i64,
    /// At most this many rows (0: no limit).
    pub limit: u32,
    /// Count every match even when the page is full (a second query).
    pub count: bool,
}

/// A page of patches and how many matched in all.
#[derive(Debug, Clone)]
pub struct PatchPage {
    pub patches: Vec<Patch>,
    /// How many matched in all: exact when the page holds them all or `count`
    /// was asked; `None` when there are more and nobody asked how many.
    pub total: Option<i64>,
}

fn event(row: &AnyRow) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        at_ms: row.try_get("at_ms")?,
        actor: row.try_get("actor")?,
        kind: row.try_get("kind")?,
        subject: row.try_get("subject")?,
        payload: row.try_get("payload")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

impl Store {
    /// A patch and the revision it was read at.
    pub async fn patch(&self, key: &str) -> Result<Option<(Patch, i64)>> {
        let row = sqlx::query("SELECT rev, data FROM patches WHERE key = $1")
            .bind(key.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((decode(key, &r.try_get::<String, _>(1)?)?, r.try_get(0)?)))
            .transpose()
    }

    /// Patches by key, with revisions, in the order asked; missing keys are skipped.
    pub async fn patches_by_key(&self, keys: &[String]) -> Result<Vec<(Patch, i64)>> {
        let mut out: Vec<(Patch, i64)> = Vec::with_capacity(keys.len());
        // One query per chunk (bind limits differ between backends; 500 fits both).
        for chunk in keys.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT key, rev, data FROM patches WHERE key IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for k in chunk {
                q = q.bind(k.clone());
            }
            for r in q.fetch_all(&self.pool).await? {
                let key: String = r.try_get(0)?;
                out.push((decode(&key, &r.try_get::<String, _>(2)?)?, r.try_get(1)?));
            }
        }
        out.sort_by_key(|(p, _)| keys.iter().position(|k| *k == p.key));
        Ok(out)
    }

    /// The next free patch number.
    pub async fn next_patch_number(&self) -> Result<i64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT MAX(number) FROM patches")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unwrap_or(0) + 1)
    }

    /// Patches for `patch list`: overdue first, then by deadline, then by number.
    pub async fn patches(&self, q: &PatchQuery) -> Result<PatchPage> {
        let mut filter = String::from(" WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if !q.all {
            if q.statuses.is_empty() {
                filter.push_str(" AND is_open = 1");
            } else {
                let marks: Vec<String> = q
                    .statuses
                    .iter()
                    .map(|s| {
                        binds.push(s.as_str().to_string());
                        format!("${}", binds.len())
                    })
                    .collect();
                filter.push_str(&format!(" AND status IN ({})", marks.join(", ")));
            }
        }
        for (col, val) in [
            ("kind", &q.kind),
            ("severity", &q.severity),
            ("owner", &q.owner),
        ] {
            if let Some(v) = val {
                binds.push(v.clone());
                filter.push_str(&format!(" AND {col} = ${}", binds.len()));
            }
        }
        if let Some(t) = &q.target {
            binds.push(format!("%{t}%"));
            filter.push_str(&format!(" AND targets LIKE ${}", binds.len()));
        }
        let open_only = !q.all && q.statuses.is_empty();
        let closed_only =
            !q.all && !q.statuses.is_empty() && q.statuses.iter().all(|s| !s.is_open());
        let rows = if closed_only {
            // Closed patches have no deadline that matters: newest first, on
            // the (status, number) index.
            self.patch_rows(&filter, "", "number DESC", &binds, q.limit, None)
                .await?
        } else if open_only {
            // Open patches: earliest deadline first puts the overdue ones first,
            // and both halves follow the (is_open, deadline_ms, number) index.
            let mut rows = self
                .patch_rows(
                    &filter,
                    " AND deadline_ms IS NOT NULL",
                    "deadline_ms, number",
                    &binds,
                    q.limit,
                    None,
                )
                .await?;
            if q.limit == 0 || (rows.len() as u32) < q.limit {
                let rest = if q.limit == 0 {
                    0
                } else {
                    q.limit - rows.len() as u32
                };
                rows.extend(
                    self.patch_rows(
                        &filter,
                        " AND deadline_ms IS NULL",
                        "number",
                        &binds,
                        rest,
                        None,
                    )
                    .await?,
                );
            }
            rows
        } else {
            // Closed patches are never overdue: overdue open ones first, then by deadline.
            let order = format!(
                "CASE WHEN is_open = 1 AND deadline_ms IS NOT NULL AND deadline_ms < ${} THEN 0 ELSE 1 END,
                 CASE WHEN deadline_ms IS NULL THEN 1 ELSE 0 END, deadline_ms, number",
                binds.len() + 1
            );
            self.patch_rows(&filter, "", &order, &binds, q.limit, Some(q.now_ms))
                .await?
        };
        let patches = rows
            .iter()
            .map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .collect::<Result<Vec<Patch>>>()?;
        // Count only when the page is full: otherwise the page is everything.
        let total = if q.limit == 0 || (patches.len() as u32) < q.limit {
            Some(patches.len() as i64)
        } else if q.count {
            let count_sql = format!("SELECT COUNT(*) FROM patches{filter}");
            let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
            for b in &binds {
                count = count.bind(b.clone());
            }
            Some(count.fetch_one(&self.pool).await?)
        } else {
            None
        };
        Ok(PatchPage { patches, total })
    }

    async fn patch_rows(
        &self,
        filter: &str,
        extra: &str,
        order: &str,
        binds: &[String],
        limit: u32,
        now_ms: Option<i64>,
    ) -> Result<Vec<AnyRow>> {
        let mut sql = format!("SELECT key, data FROM patches{filter}{extra} ORDER BY {order}");
        if limit > 0 {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b.clone());
        }
        if let Some(now) = now_ms {
            query = query.bind(now);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Patches that may go into a release (the input of `release plan`): ready
    /// and in no release, or carried to another line by a port (the core decides
    /// which line each waits on).
    pub async fn ready_patches(&self) -> Result<Vec<Patch>> {
        let rows = sqlx::query(
            "SELECT key, data FROM patches WHERE (status = 'ready' AND release IS NULL)
               OR (status IN ('ready', 'released', 'verified') AND data LIKE '%\"ports\":[{%') ORDER BY number")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .collect()
    }

    /// A release and the revision it was read at.
    pub async fn release(&self, version: &str) -> Result<Option<(Release, i64)>> {
        let row = sqlx::query("SELECT rev, data FROM releases WHERE version = $1")
            .bind(version.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((decode(version, &r.try_get::<String, _>(1)?)?, r.try_get(0)?)))
            .transpose()
    }

    /// Every release, highest version first.
    pub async fn releases(&self) -> Result<Vec<Release>> {
        let rows = sqlx::query("SELECT version, data FROM releases ORDER BY major DESC, minor DESC, patch DESC, version DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .collect()
    }

    /// Releases of one status, highest version first, at most `limit` (0: all).
    pub async fn releases_with_status(
        &self,
        status: sluice_core::model::ReleaseStatus,
        limit: i64,
    ) -> Result<Vec<Release>> {
        let rows = sqlx::query("SELECT version, data FROM releases WHERE status = $1 ORDER BY major DESC, minor DESC, patch DESC, version DESC LIMIT $2")
            .bind(status.as_str())
            .bind(if limit <= 0 { i64::MAX } else { limit })
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .collect()
    }

    /// The most recently created releases, newest first.
    pub async fn recent_releases(&self, limit: i64) -> Result<Vec<Release>> {
        let rows = sqlx::query(
            "SELECT version, data FROM releases ORDER BY created_ms DESC, version DESC LIMIT $1",
        )
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .collect()
    }

    /// Every version recorded.
    pub async fn versions(&self) -> Result<Vec<Version>> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT version FROM releases")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|v| {
                Version::parse(v).map_err(|e| StoreError::Corrupt(format!("version {v}: {e}")))
            })
            .collect()
    }

    /// Deployments and rollbacks, oldest first, optionally of one environment or release.
    /// Deployments still `running`, each with the runner that claimed it
    /// (host/pid/start) and when that runner was last heard of (its heartbeat,
    /// else the start), oldest first.
    pub async fn running_deployments(&self) -> Result<Vec<(Deployment, Option<String>, i64)>> {
        let rows = sqlx::query(
            "SELECT id, data, runner, COALESCE(heartbeat_ms, started_ms) FROM deployments
             WHERE outcome = 'running' ORDER BY started_ms, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?)?,
                    r.try_get::<Option<String>, _>(2)?,
                    r.try_get::<i64, _>(3)?,
                ))
            })
            .collect()
    }

    /// Says that `runner` still runs deployment `id` (see [`Store::running_deployments`]).
    pub async fn deployment_heartbeat(&self, id: &str, runner: &str, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE deployments SET heartbeat_ms = $1, runner = $2 WHERE id = $3 AND outcome = 'running'",
        )
        .bind(now_ms)
        .bind(runner.to_string())
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn deployments(
        &self,
        env: Option<&str>,
        release: Option<&str>,
    ) -> Result<Vec<Deployment>> {
        // One statement per filter, each on its index.
        let q = match (env, release) {
            (Some(e), Some(r)) => sqlx::query(
                "SELECT id, data FROM deployments WHERE env = $1 AND release = $2 ORDER BY started_ms, id",
            )
            .bind(e.to_string())
            .bind(r.to_string()),
            (Some(e), None) => sqlx::query(
                "SELECT id, data FROM deployments WHERE env = $1 ORDER BY started_ms, id",
            )
            .bind(e.to_string()),
            (None, Some(r)) => sqlx::query(
                "SELECT id, data FROM deployments WHERE release = $1 ORDER BY started_ms, id",
            )
            .bind(r.to_string()),
            (None, None) => sqlx::query("SELECT id, data FROM deployments ORDER BY started_ms, id"),
        };
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .collect()
    }

    /// The last `limit` deployments and rollbacks of an environment, newest first.
    pub async fn recent_deployments(&self, env: &str, limit: i64) -> Result<Vec<Deployment>> {
        let rows = sqlx::query(
            "SELECT id, data FROM deployments WHERE env = $1 ORDER BY started_ms DESC, id DESC LIMIT $2",
        )
        .bind(env.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .collect()
    }

    /// What an environment holds, with the revision it was read at.
    pub async fn environment(&self, name: &str) -> Result<Option<(EnvState, i64)>> {
        let row =
            sqlx::query("SELECT name, release, since_ms, rev FROM environments WHERE name = $1")
                .bind(name.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| env_state(&r)).transpose()
    }

    /// What every recorded environment holds.
    pub async fn environments(&self) -> Result<Vec<EnvState>> {
        let rows = sqlx::query("SELECT name, release, since_ms, rev FROM environments")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| env_state(r).map(|(e, _)| e)).collect()
    }

    /// Events in order, optionally about one subject, after a sequence number.
    pub async fn events(
        &self,
        subject: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        // One statement per filter, so each can follow its index
        // (`events_subject` or the primary key) instead of scanning.
        let rows = match subject {
            Some(s) => sqlx::query(
                "SELECT seq, at_ms, actor, kind, subject, payload, prev_hash, hash FROM events
                 WHERE subject = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(s.to_string())
            .bind(after)
            .bind(limit),
            None => sqlx::query(
                "SELECT seq, at_ms, actor, kind, subject, payload, prev_hash, hash FROM events
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(limit),
        }
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event).collect()
    }

    /// Events of one kind in order, after a sequence number (the kind index).
    pub async fn events_of_kind(
        &self,
        kind: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, kind, subject, payload, prev_hash, hash FROM events
             WHERE kind = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(kind.to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event).collect()
    }

    /// Recomputes the whole chain; `Ok(n)` with the number of events checked, or the first break.
    pub async fn verify_chain(&self) -> Result<std::result::Result<u64, Break>> {
        Ok(self.verify_chain_from(Verifier::default()).await?.1)
    }

    /// Continues a verification from where `v` stopped (the events after its
    /// last one), and checks the recorded head. Returns the verifier advanced
    /// to the end, for the next call, and the outcome.
    ///
    /// A server keeps writing while the log is read, so the head is read first
    /// and the log up to it: an event and the head move in one transaction, so
    /// every event up to that head is there. Events past it must then be covered
    /// by a newer head (they were committed meanwhile: verified in the next
    /// round); events past a head that does not move were added outside Sluice.
    pub async fn verify_chain_from(
        &self,
        mut v: Verifier,
    ) -> Result<(Verifier, std::result::Result<u64, Break>)> {
        let mut head = self.chain_head().await?;
        // Bounded: under a steady stream of writes the verification ends at the
        // last head it verified up to, and the next call goes on from there.
        const ROUNDS: usize = 64;
        for round in 1..=ROUNDS {
            let mut after = v.last_seq();
            'pages: while after < head.0 {
                let page = self.events(None, after, 5000).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for e in &page {
                    if e.seq > head.0 {
                        break 'pages;
                    }
                    if let Err(b) = v.push(e) {
                        return Ok((v, Err(b)));
                    }
                }
            }
            let row = sqlx::query("SELECT MAX(seq) FROM events")
                .fetch_one(&self.pool)
                .await?;
            let newest: Option<i64> = row.try_get(0)?;
            if newest.unwrap_or(0) <= head.0 {
                break;
            }
            let newer = self.chain_head().await?;
            if newer.0 <= head.0 {
                return Ok((
                    v,
                    Err(Break {
                        seq: head.0 + 1,
                        problem: format!(
                            "the log goes on to event {} past the recorded head, event {} (events added outside Sluice)",
                            newest.unwrap_or(0),
                            head.0
                        ),
                    }),
                ));
            }
            if round == ROUNDS {
                break;
            }
            head = newer;
        }
        let out = v.finish(head.0, &head.1).map(|()| v.checked);
        Ok((v, out))
    }

    /// The chain head: the last event's sequence number and hash (0 and the
    /// genesis hash before any event).
    pub async fn chain_head(&self) -> Result<(i64, String)> {
        let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// The hash of event `seq`, if the log holds it.
    pub async fn event_hash(&self, seq: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT hash FROM events WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }

    /// The newest events first, optionally of one subject and kind, before a
    /// sequence number (0: from the newest).
    pub async fn events_newest(
        &self,
        subject: Option<&str>,
        kind: Option<&str>,
        before: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        let before = if before <= 0 { i64::MAX } else { before };
        let q = match (subject, kind) {
            (Some(s), Some(k)) => sqlx::query(
                "SELECT seq, at_ms, actor, kind, subject, payload, prev_hash, hash FROM events
                 WHERE subject = $1 AND kind = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4",
            )
            .bind(s.to_string())
            .bind(k.to_string()),
            (Some(s), None) => sqlx::query(
                "SELECT seq, at_ms, actor, kind, subject, payload, prev_hash, hash FROM events
                 WHERE subject = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
            )
            .bind(s.to_string()),
            (None, Some(k)) => sqlx::query(
                "SELECT seq, at_ms, actor, kind, subject, payload, prev_hash, hash FROM events
                 WHERE kind = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
            )
            .bind(k.to_string()),
            (None, None) => sqlx::query(
                "SELECT seq, at_ms, actor, kind, subject, payload, prev_hash, hash FROM events
                 WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
            ),
        };
        let rows = q.bind(before).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(event).collect()
    }
}

fn env_state(r: &AnyRow) -> Result<(EnvState, i64)> {
    let since: Option<i64> = r.try_get(2)?;
    Ok((
        EnvState {
            env: r.try_get(0)?,
            release: r.try_get(1)?,
            since: since.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()),
        },
        r.try_get(3)?,
    ))
}
