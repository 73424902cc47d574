//! What the metrics read: a period's facts through indexed queries (never a
//! scan of the event log), and the counters the Prometheus endpoint reports
//! from covering indexes.

use std::collections::BTreeMap;

use sluice_core::metrics::Facts;
use sluice_core::model::{Deployment, Incident, Patch, Release};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, decode};

/// One row of a grouped count: the group's labels and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub labels: Vec<Option<String>>,
    pub count: i64,
}

/// Everything the Prometheus endpoint counts, now.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// (env, action, outcome) -> deployments and rollbacks ever recorded.
    pub deployments: Vec<Count>,
    /// (env, severity, is_open) -> incidents.
    pub incidents: Vec<Count>,
    /// (severity, is_open) -> patches.
    pub patches: Vec<Count>,
    /// (severity) -> open patches past their deadline.
    pub overdue: Vec<Count>,
    /// Events in the audit log (its chain head).
    pub events: i64,
}

impl Store {
    /// The facts of the period `[since_ms, until_ms)`: deployments that
    /// finished in it (or, unfinished, started in it), every deployment of
    /// the releases they name, those releases and their patches, incidents on
    /// them or opened in the period, scope overrides given in it, and the open
    /// patches past their deadline at `now_ms`.
    pub async fn metrics_facts(&self, since_ms: i64, until_ms: i64, now_ms: i64) -> Result<Facts> {
        let rows = sqlx::query(
            "SELECT release FROM deployments WHERE finished_ms >= $1 AND finished_ms < $2
             UNION SELECT release FROM deployments WHERE finished_ms IS NULL AND started_ms >= $1 AND started_ms < $2",
        )
        .bind(since_ms)
        .bind(until_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut versions: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<_, _>>()?;
        versions.sort();
        versions.dedup();

        let mut f = Facts::default();
        for r in self
            .by_keys::<Deployment>(
                "SELECT id, data FROM deployments WHERE release IN",
                &versions,
                "deployment",
            )
            .await?
        {
            f.deployments.push(r);
        }
        f.deployments
            .sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        for r in self
            .by_keys::<Release>(
                "SELECT version, data FROM releases WHERE version IN",
                &versions,
                "release",
            )
            .await?
        {
            f.releases.insert(r.version.to_string(), r);
        }
        let mut keys: Vec<String> = f
            .releases
            .values()
            .flat_map(|r| r.patches.iter().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        for p in self
            .by_keys::<Patch>("SELECT key, data FROM patches WHERE key IN", &keys, "patch")
            .await?
        {
            f.patches.insert(p.key.clone(), p);
        }
        let mut incidents: BTreeMap<i64, Incident> = BTreeMap::new();
        for i in self
            .by_keys::<Incident>(
                "SELECT id, data FROM incidents WHERE release IN",
                &versions,
                "incident",
            )
            .await?
        {
            incidents.insert(i.id, i);
        }
        let rows =
            sqlx::query("SELECT id, data FROM incidents WHERE opened_ms >= $1 AND opened_ms < $2")
                .bind(since_ms)
                .bind(until_ms)
                .fetch_all(&self.pool)
                .await?;
        for r in &rows {
            let i: Incident = decode_row(r, "incident")?;
            incidents.insert(i.id, i);
        }
        f.incidents = incidents.into_values().collect();
        let rows = sqlx::query(
            "SELECT at_ms, subject FROM events WHERE kind = 'release.scope_overridden'
             AND at_ms >= $1 AND at_ms < $2",
        )
        .bind(since_ms)
        .bind(until_ms)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let at: i64 = r.try_get(0)?;
            let at = jiff::Timestamp::from_millisecond(at)
                .map_err(|e| StoreError::Corrupt(format!("event time {at}: {e}")))?;
            f.scope_overrides.push((at, r.try_get(1)?));
        }
        for chunk in keys.chunks(500) {
            let marks: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT subject, at_ms FROM events WHERE kind = $1 AND subject IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind("patch.reopened");
            for k in chunk {
                q = q.bind(k.clone());
            }
            for r in q.fetch_all(&self.pool).await? {
                let at: i64 = r.try_get(1)?;
                let at = jiff::Timestamp::from_millisecond(at)
                    .map_err(|e| StoreError::Corrupt(format!("event time {at}: {e}")))?;
                f.reopened.entry(r.try_get(0)?).or_default().push(at);
            }
        }
        let rows = sqlx::query(
            "SELECT severity, COUNT(*) FROM patches WHERE is_open = 1 AND deadline_ms < $1 GROUP BY severity",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let s: Option<String> = r.try_get(0)?;
            let n: i64 = r.try_get(1)?;
            f.open_overdue
                .insert(s.unwrap_or_else(|| "none".into()), n as u64);
        }
        Ok(f)
    }

    /// Rows whose key column is one of `keys`, decoded from their `data`
    /// (the second column); one query per 500 keys.
    async fn by_keys<T: serde::de::DeserializeOwned>(
        &self,
        select: &str,
        keys: &[String],
        what: &str,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("{select} ({})", marks.join(", "));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for k in chunk {
                q = q.bind(k.clone());
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(decode_row(&r, what)?);
            }
        }
        Ok(out)
    }

    /// The counters of the Prometheus endpoint: grouped counts on covering
    /// indexes, whatever the size of the log.
    pub async fn metric_counters(&self, now_ms: i64) -> Result<Counters> {
        let grouped = |sql: &'static str, n: usize| async move {
            let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| {
                    let mut labels = Vec::with_capacity(n);
                    for i in 0..n {
                        labels.push(r.try_get::<Option<String>, _>(i)?);
                    }
                    Ok(Count {
                        labels,
                        count: r.try_get(n)?,
                    })
                })
                .collect::<Result<Vec<Count>>>()
        };
        let deployments = grouped(
            "SELECT env, action, outcome, COUNT(*) FROM deployments GROUP BY env, action, outcome",
            3,
        )
        .await?;
        let incidents = grouped(
            "SELECT env, severity, CASE WHEN is_open = 1 THEN 'open' ELSE 'resolved' END, COUNT(*)
             FROM incidents GROUP BY env, severity, is_open",
            3,
        )
        .await?;
        let patches = grouped(
            "SELECT severity, CASE WHEN is_open = 1 THEN 'open' ELSE 'closed' END, COUNT(*)
             FROM patches GROUP BY severity, is_open",
            2,
        )
        .await?;
        let rows = sqlx::query(
            "SELECT severity, COUNT(*) FROM patches WHERE is_open = 1 AND deadline_ms < $1 GROUP BY severity",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        let overdue = rows
            .iter()
            .map(|r| {
                Ok(Count {
                    labels: vec![r.try_get::<Option<String>, _>(0)?],
                    count: r.try_get(1)?,
                })
            })
            .collect::<Result<Vec<Count>>>()?;
        let (events, _) = self.chain_head().await?;
        Ok(Counters {
            deployments,
            incidents,
            patches,
            overdue,
            events,
        })
    }
}

fn decode_row<T: serde::de::DeserializeOwned>(r: &AnyRow, what: &str) -> Result<T> {
    let key: String = match r.try_get::<String, _>(0) {
        Ok(k) => k,
        Err(_) => r.try_get::<i64, _>(0)?.to_string(),
    };
    decode(&format!("{what} {key}"), &r.try_get::<String, _>(1)?)
}
