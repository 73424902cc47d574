//! Incidents and webhook deliveries: reads, and the incident row written
//! inside a change's transaction.

use sluice_core::model::{Incident, Patch};
use sqlx::Row;

use crate::{Result, Store, StoreError, decode};

/// Which incidents `incident list` shows.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    /// Only open ones.
    pub open: bool,
    pub env: Option<String>,
    /// Only those opened on this release.
    pub release: Option<String>,
    /// At most this many, newest first (0: no limit).
    pub limit: u32,
}

/// Inserts (`rev` None) or updates an incident on its revision.
pub(crate) async fn write(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    i: &Incident,
    rev: Option<i64>,
) -> Result<()> {
    let data = serde_json::to_string(i).expect("model values always serialize");
    let open = i64::from(i.is_open());
    let done = match rev {
        None => sqlx::query(
            "INSERT INTO incidents (id, env, release, source, fingerprint, is_open, opened_ms, rev, data, severity)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(i.id)
        .bind(i.env.clone())
        .bind(i.release.clone())
        .bind(i.source.clone())
        .bind(i.fingerprint.clone())
        .bind(open)
        .bind(i.opened_at.as_millisecond())
        .bind(data)
        .bind(i.severity.clone())
        .execute(&mut **tx)
        .await?
        .rows_affected(),
        Some(rev) => sqlx::query(
            "UPDATE incidents SET is_open = $1, data = $2, severity = $5, rev = rev + 1 WHERE id = $3 AND rev = $4",
        )
        .bind(open)
        .bind(data)
        .bind(i.id)
        .bind(rev)
        .bind(i.severity.clone())
        .execute(&mut **tx)
        .await?
        .rows_affected(),
    };
    if done != 1 {
        return Err(StoreError::Conflict(match &i.fingerprint {
            Some(f) if rev.is_none() => format!("the open incident for alert {f}"),
            _ => format!("incident {}", i.id),
        }));
    }
    Ok(())
}

impl Store {
    /// An incident and the revision it was read at.
    pub async fn incident(&self, id: i64) -> Result<Option<(Incident, i64)>> {
        let row = sqlx::query("SELECT rev, data FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok((
                decode(&format!("incident {id}"), &r.try_get::<String, _>(1)?)?,
                r.try_get(0)?,
            ))
        })
        .transpose()
    }

    /// The open incident an alert opened, if any.
    pub async fn open_incident_for(
        &self,
        source: &str,
        fingerprint: &str,
    ) -> Result<Option<(Incident, i64)>> {
        let row = sqlx::query(
            "SELECT id, rev, data FROM incidents WHERE source = $1 AND fingerprint = $2 AND is_open = 1",
        )
        .bind(source.to_string())
        .bind(fingerprint.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let id: i64 = r.try_get(0)?;
            Ok((
                decode(&format!("incident {id}"), &r.try_get::<String, _>(2)?)?,
                r.try_get(1)?,
            ))
        })
        .transpose()
    }

    /// Incidents, newest first.
    pub async fn incidents(&self, q: &IncidentQuery) -> Result<Vec<Incident>> {
        let mut sql = String::from("SELECT id, data FROM incidents WHERE 1 = 1");
        if q.open {
            sql.push_str(" AND is_open = 1");
        }
        let mut binds = Vec::new();
        for (col, v) in [("env", &q.env), ("release", &q.release)] {
            if let Some(v) = v {
                binds.push(v.clone());
                sql.push_str(&format!(" AND {col} = ${}", binds.len()));
            }
        }
        sql.push_str(" ORDER BY id DESC");
        if q.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", q.limit));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        let mut out = Vec::new();
        for r in query.fetch_all(&self.pool).await? {
            let id: i64 = r.try_get(0)?;
            out.push(decode(
                &format!("incident {id}"),
                &r.try_get::<String, _>(1)?,
            )?);
        }
        Ok(out)
    }

    /// The patch reported from this source reference (a ticket URL), if any.
    pub async fn patch_by_source(&self, reference: &str) -> Result<Option<Patch>> {
        let row = sqlx::query(
            "SELECT key, data FROM patches WHERE source_ref = $1 ORDER BY number LIMIT 1",
        )
        .bind(reference.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .transpose()
    }

    /// Every patch reported from this source reference, oldest first (the
    /// actions filed from one retrospective).
    pub async fn patches_by_source(&self, reference: &str) -> Result<Vec<Patch>> {
        let rows =
            sqlx::query("SELECT key, data FROM patches WHERE source_ref = $1 ORDER BY number")
                .bind(reference.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| decode(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?))
            .collect()
    }

    /// Was this webhook delivery handled before?
    pub async fn delivery_seen(&self, source: &str, id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE source = $1 AND delivery = $2",
        )
        .bind(source.to_string())
        .bind(id.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}
