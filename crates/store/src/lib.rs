//! Sluice storage: the append-only, hash-chained event log and the current-state
//! tables, on SQLite (embedded default, one file in WAL mode) or PostgreSQL,
//! through one portable schema and one code path.
//!
//! Invariants:
//! - every [`Store::commit`] is one transaction: events, state rows and the chain
//!   head move together or not at all;
//! - commits are serialized on the `chain_head` row, so the chain is linear;
//! - a state row is updated only if its `rev` is the one the caller read
//!   (optimistic concurrency): zero rows updated is a [`StoreError::Conflict`];
//! - outbox messages are written in the same transaction as the events that
//!   cause them, and a message id never changes across retries.

mod api;
mod incidents;
mod metrics;
mod outbox;
mod read;
pub mod testing;
mod write;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Connection, Executor};

pub use api::{ApiToken, Claim, IDEMPOTENCY_LEASE_MS, Replay, StoredSession};
pub use incidents::IncidentQuery;
pub use metrics::{Count, Counters};
pub use outbox::{LEASE_MS, OutboxMessage, OutboxRow, OutboxStatus};
pub use read::{PatchPage, PatchQuery};
pub use write::{Change, Delivery};

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else changed the same thing first; nothing was written.
    #[error("conflict: {0} changed while this command ran; nothing was written, run it again")]
    Conflict(String),
    #[error("the database URL `{0}` is not supported; use sqlite://PATH or postgres://...")]
    BadUrl(String),
    #[error("cannot open the database {url}: {reason}")]
    Open { url: String, reason: String },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// This webhook delivery was handled before; nothing was written.
    #[error("delivery {0} was already handled")]
    Duplicate(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A handle on one Sluice database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// A stored row's JSON `data` as the value it holds; a row that does not
/// decode is corrupt, named by `what`.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(what: &str, data: &str) -> Result<T> {
    serde_json::from_str(data).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Append-only: add a file per backend and a line here; never edit a shipped one.
fn migrator(backend: Backend) -> Migrator {
    let files: Vec<(i64, &str, &'static str)> = match backend {
        Backend::Sqlite => vec![
            (
                1,
                "init",
                include_str!("../migrations/sqlite/0001_init.sql"),
            ),
            (
                2,
                "outbox",
                include_str!("../migrations/sqlite/0002_outbox.sql"),
            ),
            (
                4,
                "incidents",
                include_str!("../migrations/sqlite/0004_incidents.sql"),
            ),
            (5, "api", include_str!("../migrations/sqlite/0005_api.sql")),
            (
                6,
                "leases",
                include_str!("../migrations/sqlite/0006_leases.sql"),
            ),
            (
                7,
                "sessions",
                include_str!("../migrations/sqlite/0007_sessions.sql"),
            ),
            (
                8,
                "metrics",
                include_str!("../migrations/sqlite/0008_metrics.sql"),
            ),
        ],
        Backend::Postgres => vec![
            (
                1,
                "init",
                include_str!("../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                "outbox",
                include_str!("../migrations/postgres/0002_outbox.sql"),
            ),
            (
                4,
                "incidents",
                include_str!("../migrations/postgres/0004_incidents.sql"),
            ),
            (
                5,
                "api",
                include_str!("../migrations/postgres/0005_api.sql"),
            ),
            (
                6,
                "leases",
                include_str!("../migrations/postgres/0006_leases.sql"),
            ),
            (
                7,
                "sessions",
                include_str!("../migrations/postgres/0007_sessions.sql"),
            ),
            (
                8,
                "metrics",
                include_str!("../migrations/postgres/0008_metrics.sql"),
            ),
        ],
    };
    Migrator::with_migrations(
        files
            .into_iter()
            .map(|(v, name, sql)| {
                Migration::new(
                    v,
                    name.into(),
                    MigrationType::Simple,
                    sqlx::SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    /// SQLite: `sqlite://PATH`; PostgreSQL: `postgres://...` or `postgresql://...`.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::BadUrl(url.to_string()));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let shown = redact(&url);
        let open_err = |e: sqlx::Error| {
            let mut reason = match &e {
                sqlx::Error::Database(d) => d.message().to_string(),
                other => other.to_string(),
            };
            if backend == Backend::Sqlite {
                reason.push_str(" (does its directory exist and is it writable?)");
            }
            StoreError::Open {
                url: shown.clone(),
                reason,
            }
        };
        let opts: AnyConnectOptions = url.parse().map_err(open_err)?;
        // One direct connection first: it fails at once with the real reason
        // (refused, unknown database, bad password) instead of a pool timeout.
        sqlx::AnyConnection::connect_with(&opts)
            .await
            .map_err(open_err)?
            .close()
            .await
            .map_err(open_err)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never block the writer. FULL: every commit is
                        // on disk when it returns. The busy timeout lets concurrent
                        // writers queue instead of failing.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(open_err)?;
        let store = Store { pool, backend };
        migrator(backend).run(&store.pool).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for tools and tests that need raw SQL.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.pool.acquire().await?;
        c.ping().await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The `VALUES` list of a multi-row `INSERT`: `rows` tuples of `cols`
/// numbered placeholders each (`$1`, `$2`, ... on both backends), each tuple
/// ending with `tail` (constant SQL such as `, 'pending', 0`, never a value).
pub fn values_rows(rows: usize, cols: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * cols + c + 1));
        }
        sql.push_str(tail);
        sql.push(')');
    }
    sql
}

/// A database URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((cred, host)) = rest.split_once('@')
        && let Some((user, _)) = cred.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_rows_numbers_every_placeholder_once() {
        assert_eq!(
            super::values_rows(2, 3, ", 'pending'"),
            "($1, $2, $3, 'pending'), ($4, $5, $6, 'pending')"
        );
        assert_eq!(super::values_rows(1, 1, ""), "($1)");
    }
}
