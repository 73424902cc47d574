//! Fresh, isolated databases for tests and benchmarks: a new SQLite file in a
//! directory the caller owns, or a new PostgreSQL database per call.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Connection, Executor};

use crate::Result;

/// The PostgreSQL server tests use: `SLUICE_TEST_POSTGRES`, else the local one.
pub fn postgres_admin_url() -> String {
    std::env::var("SLUICE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Creates an empty database with a unique name on the test server and returns its URL.
pub async fn fresh_postgres_url() -> Result<String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    sqlx::any::install_default_drivers();
    let admin = postgres_admin_url();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!(
        "sluice_t_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::AnyConnection::connect(&admin).await?;
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    conn.close().await?;
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin);
    Ok(format!("{base}/{name}"))
}

/// The URL of a new SQLite file inside `dir`.
pub fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("sluice.db").display())
}
