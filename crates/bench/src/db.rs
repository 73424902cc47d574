//! The databases a benchmark runs on: a fresh one per measurement, the `App`
//! over it, and the backend's name and durability settings as printed.

use std::path::Path;

use anyhow::{Context, Result, bail};
use sluice_app::App;
use sluice_store::{Backend, Store};
use sqlx::{Connection, Executor};

pub(crate) fn name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

/// A fresh database, removed by [`Scratch::drop_db`].
pub(crate) struct Scratch {
    pub(crate) url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub(crate) async fn new(backend: Backend) -> Result<Scratch> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new().prefix("sluice-bench").tempdir()?;
                Ok(Scratch {
                    url: sluice_store::testing::sqlite_url(dir.path()),
                    pg_name: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let admin = sluice_store::testing::postgres_admin_url();
                check_loopback(&admin)?;
                let url = sluice_store::testing::fresh_postgres_url()
                    .await
                    .context("cannot create a PostgreSQL database (is it running on 127.0.0.1:5432? set SLUICE_TEST_POSTGRES)")?;
                let pg_name = url.rsplit_once('/').map(|(_, n)| n.to_string());
                Ok(Scratch {
                    url,
                    pg_name,
                    _dir: None,
                })
            }
        }
    }

    pub(crate) async fn drop_db(self) -> Result<()> {
        if let Some(db) = &self.pg_name {
            let mut c =
                sqlx::AnyConnection::connect(&sluice_store::testing::postgres_admin_url()).await?;
            c.execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .await?;
            c.close().await?;
        }
        Ok(())
    }
}

/// Refuses anything but a loopback PostgreSQL.
fn check_loopback(url: &str) -> Result<()> {
    let host = url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(url)
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or_else(|| url.split_once("://").map(|(_, r)| r).unwrap_or(url));
    let host = host.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    if matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") {
        Ok(())
    } else {
        bail!("the benchmark only uses a loopback PostgreSQL, not `{host}`")
    }
}

pub(crate) async fn open_app(url: &str, root: &Path) -> Result<App> {
    let process = sluice_app::load_process(&root.join("sluice.toml"))
        .map_err(|e| anyhow::anyhow!("bench process: {e}"))?;
    Ok(App::open(process, url, root.to_path_buf()).await?)
}

pub(crate) async fn versions(store: &Store) -> Result<String> {
    Ok(match store.backend() {
        Backend::Sqlite => {
            let v: String = sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(store.pool())
                .await?;
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(store.pool())
                .await?;
            let jm: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(store.pool())
                .await?;
            format!("SQLite {v}, journal_mode={jm}, synchronous={sync} (2 = FULL)")
        }
        Backend::Postgres => {
            let v: String = sqlx::query_scalar("SHOW server_version")
                .fetch_one(store.pool())
                .await?;
            let sc: String = sqlx::query_scalar("SHOW synchronous_commit")
                .fetch_one(store.pool())
                .await?;
            let fsync: String = sqlx::query_scalar("SHOW fsync")
                .fetch_one(store.pool())
                .await?;
            format!("PostgreSQL {v}, synchronous_commit={sc}, fsync={fsync}")
        }
    })
}
