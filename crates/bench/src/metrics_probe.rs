//! Each query of `Store::metrics_facts` and `Store::metric_counters` on its
//! own, timed, with the JSON decoding of its rows timed apart and the plan
//! the database chose (SQLite: `EXPLAIN QUERY PLAN`; PostgreSQL: `EXPLAIN
//! (ANALYZE, BUFFERS)`): where the time of a metrics read goes.
//!
//! The SQL is the store's (crates/store/src/metrics.rs), copied statement for
//! statement, with the same chunks of 500 keys. The caller compares the row
//! counts with what `metrics_facts` returns, so a drift between the two shows.

use std::time::{Duration, Instant};

use anyhow::Result;
use sluice_core::model::{Deployment, Incident, Patch, Release};
use sluice_store::{Backend, Store};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::history::AnyQuery;
use crate::stats::Samples;

/// One query, timed.
pub(crate) struct Probe {
    pub(crate) query: &'static str,
    pub(crate) period: &'static str,
    pub(crate) statements: usize,
    pub(crate) rows: usize,
    /// All its statements, per run.
    pub(crate) fetch: Samples,
    /// Decoding the rows' JSON into the model, once.
    pub(crate) decode: Option<Duration>,
    /// A one-line summary, then (PostgreSQL) the whole plan.
    pub(crate) plan: Vec<String>,
}

#[derive(Clone)]
enum Arg {
    I(i64),
    S(String),
}

type Statement = (String, Vec<Arg>);

fn bind(mut q: AnyQuery, args: &[Arg]) -> AnyQuery {
    for a in args {
        q = match a {
            Arg::I(i) => q.bind(*i),
            Arg::S(s) => q.bind(s.clone()),
        };
    }
    q
}

/// `select (…)` over `keys`, one statement per 500, as `Store::by_keys`.
fn keyed(select: &str, keys: &[String], first: usize, lead: &[Arg]) -> Vec<Statement> {
    keys.chunks(500)
        .map(|chunk| {
            let marks: Vec<String> = (first..first + chunk.len())
                .map(|i| format!("${i}"))
                .collect();
            let mut args = lead.to_vec();
            args.extend(chunk.iter().cloned().map(Arg::S));
            (format!("{select} ({})", marks.join(", ")), args)
        })
        .collect()
}

/// Runs the statements once (warm-up), then `runs` times; returns the
/// timings and the rows of the last run.
async fn fetch(store: &Store, stmts: &[Statement], runs: usize) -> Result<(Samples, Vec<AnyRow>)> {
    let mut s = Samples::default();
    let mut rows = Vec::new();
    for i in 0..=runs {
        rows.clear();
        let t = Instant::now();
        for (sql, args) in stmts {
            let q: AnyQuery = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            rows.extend(bind(q, args).fetch_all(store.pool()).await?);
        }
        if i > 0 {
            s.push(t.elapsed());
        }
    }
    Ok((s, rows))
}

/// The plan of the first statement.
async fn plan(store: &Store, stmts: &[Statement]) -> Result<Vec<String>> {
    let Some((sql, args)) = stmts.first() else {
        return Ok(vec!["(no statement: nothing to look up)".into()]);
    };
    let cut = |l: &str| {
        let l = l.trim_end();
        match l.char_indices().nth(180) {
            Some((i, _)) => format!("{}…", &l[..i]),
            None => l.to_string(),
        }
    };
    Ok(match store.backend() {
        Backend::Sqlite => {
            let q: AnyQuery = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
            let rows = bind(q, args).fetch_all(store.pool()).await?;
            let details: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<String, _>(3))
                .collect::<std::result::Result<_, _>>()?;
            vec![cut(&details.join("; "))]
        }
        Backend::Postgres => {
            let q: AnyQuery = sqlx::query(sqlx::AssertSqlSafe(format!(
                "EXPLAIN (ANALYZE, BUFFERS) {sql}"
            )));
            let rows = bind(q, args).fetch_all(store.pool()).await?;
            let lines: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<std::result::Result<_, _>>()?;
            // The summary: every scan, without its cost.
            let scans: Vec<String> = lines
                .iter()
                .filter(|l| l.contains("Scan") || l.contains("Aggregate") || l.contains("Sort  "))
                .map(|l| {
                    let l = l.trim().trim_start_matches("->").trim();
                    l.split("  (").next().unwrap_or(l).to_string()
                })
                .collect();
            let mut out = vec![cut(&scans.join("; "))];
            out.extend(lines.iter().map(|l| cut(l)));
            out
        }
    })
}

/// Decodes the `data` column (the second) of every row with `f`, timed.
fn decode<T>(
    rows: &[AnyRow],
    f: impl Fn(&str) -> serde_json::Result<T>,
) -> Result<(Vec<T>, Duration)> {
    let t = Instant::now();
    let v = rows
        .iter()
        .map(|r| Ok(f(&r.try_get::<String, _>(1)?)?))
        .collect::<Result<Vec<T>>>()?;
    Ok((v, t.elapsed()))
}

async fn probe(
    store: &Store,
    query: &'static str,
    period: &'static str,
    stmts: Vec<Statement>,
    runs: usize,
) -> Result<(Probe, Vec<AnyRow>)> {
    let (fetch, rows) = fetch(store, &stmts, runs).await?;
    let plan = plan(store, &stmts).await?;
    Ok((
        Probe {
            query,
            period,
            statements: stmts.len(),
            rows: rows.len(),
            fetch,
            decode: None,
            plan,
        },
        rows,
    ))
}

/// The queries of `Store::metrics_facts(since_ms, until_ms, until_ms)`.
pub(crate) async fn fact_queries(
    store: &Store,
    period: &'static str,
    since_ms: i64,
    until_ms: i64,
    runs: usize,
) -> Result<Vec<Probe>> {
    let mut out = Vec::new();
    let span = vec![Arg::I(since_ms), Arg::I(until_ms)];
    let (p, rows) = probe(
        store,
        "deployments finished in the period (their releases)",
        period,
        vec![(
            "SELECT release FROM deployments WHERE finished_ms >= $1 AND finished_ms < $2
             UNION SELECT release FROM deployments WHERE finished_ms IS NULL AND started_ms >= $1 AND started_ms < $2"
                .into(),
            span.clone(),
        )],
        runs,
    )
    .await?;
    out.push(p);
    let mut versions: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<std::result::Result<_, _>>()?;
    versions.sort();
    versions.dedup();

    let (mut p, rows) = probe(
        store,
        "every deployment of those releases",
        period,
        keyed(
            "SELECT id, data FROM deployments WHERE release IN",
            &versions,
            1,
            &[],
        ),
        runs,
    )
    .await?;
    p.decode = Some(decode(&rows, |s| serde_json::from_str::<Deployment>(s))?.1);
    out.push(p);

    let (mut p, rows) = probe(
        store,
        "those releases",
        period,
        keyed(
            "SELECT version, data FROM releases WHERE version IN",
            &versions,
            1,
            &[],
        ),
        runs,
    )
    .await?;
    let (releases, d) = decode(&rows, |s| serde_json::from_str::<Release>(s))?;
    p.decode = Some(d);
    out.push(p);
    let mut keys: Vec<String> = releases
        .iter()
        .flat_map(|r| r.patches.iter().cloned())
        .collect();
    keys.sort();
    keys.dedup();

    let (mut p, rows) = probe(
        store,
        "their patches",
        period,
        keyed("SELECT key, data FROM patches WHERE key IN", &keys, 1, &[]),
        runs,
    )
    .await?;
    p.decode = Some(decode(&rows, |s| serde_json::from_str::<Patch>(s))?.1);
    out.push(p);

    let (mut p, rows) = probe(
        store,
        "incidents on those releases",
        period,
        keyed(
            "SELECT id, data FROM incidents WHERE release IN",
            &versions,
            1,
            &[],
        ),
        runs,
    )
    .await?;
    p.decode = Some(decode_incidents(&rows)?);
    out.push(p);

    let (mut p, rows) = probe(
        store,
        "incidents opened in the period",
        period,
        vec![(
            "SELECT id, data FROM incidents WHERE opened_ms >= $1 AND opened_ms < $2".into(),
            span.clone(),
        )],
        runs,
    )
    .await?;
    p.decode = Some(decode_incidents(&rows)?);
    out.push(p);

    let (p, _) = probe(
        store,
        "scope overrides given in the period (events)",
        period,
        vec![(
            "SELECT at_ms, subject FROM events WHERE kind = 'release.scope_overridden'
             AND at_ms >= $1 AND at_ms < $2"
                .into(),
            span.clone(),
        )],
        runs,
    )
    .await?;
    out.push(p);

    let (p, _) = probe(
        store,
        "`patch.reopened` events of those patches",
        period,
        keyed(
            "SELECT subject, at_ms FROM events WHERE kind = $1 AND subject IN",
            &keys,
            2,
            &[Arg::S("patch.reopened".into())],
        ),
        runs,
    )
    .await?;
    out.push(p);

    let (p, _) = probe(
        store,
        "open patches past their deadline, by severity",
        period,
        vec![(
            "SELECT severity, COUNT(*) FROM patches WHERE is_open = 1 AND deadline_ms < $1 GROUP BY severity".into(),
            vec![Arg::I(until_ms)],
        )],
        runs,
    )
    .await?;
    out.push(p);
    Ok(out)
}

/// Incident ids are numbers; `decode` reads only the data column.
fn decode_incidents(rows: &[AnyRow]) -> Result<Duration> {
    Ok(decode(rows, |s| serde_json::from_str::<Incident>(s))?.1)
}

/// The queries of `Store::metric_counters(now_ms)`.
pub(crate) async fn counter_queries(store: &Store, now_ms: i64, runs: usize) -> Result<Vec<Probe>> {
    let mut out = Vec::new();
    for (query, sql, args) in [
        (
            "counter: deployments by env, action, outcome",
            "SELECT env, action, outcome, COUNT(*) FROM deployments GROUP BY env, action, outcome",
            vec![],
        ),
        (
            "counter: incidents by env, severity, open",
            "SELECT env, severity, CASE WHEN is_open = 1 THEN 'open' ELSE 'resolved' END, COUNT(*)
             FROM incidents GROUP BY env, severity, is_open",
            vec![],
        ),
        (
            "counter: patches by severity, open",
            "SELECT severity, CASE WHEN is_open = 1 THEN 'open' ELSE 'closed' END, COUNT(*)
             FROM patches GROUP BY severity, is_open",
            vec![],
        ),
        (
            "counter: open patches past their deadline",
            "SELECT severity, COUNT(*) FROM patches WHERE is_open = 1 AND deadline_ms < $1 GROUP BY severity",
            vec![Arg::I(now_ms)],
        ),
        (
            "counter: events (the chain head)",
            "SELECT seq, hash FROM chain_head WHERE id = 1",
            vec![],
        ),
    ] {
        let (p, _) = probe(
            store,
            query,
            "all time",
            vec![(sql.to_string(), args)],
            runs,
        )
        .await?;
        out.push(p);
    }
    Ok(out)
}

/// PostgreSQL only: "every deployment of those releases" (30 days) on one
/// connection with `enable_seqscan = off`, to compare the sequential scan the
/// planner picks with the `deployments_release` index it passes over.
pub(crate) async fn deployments_without_seqscan(
    store: &Store,
    since_ms: i64,
    until_ms: i64,
    runs: usize,
) -> Result<Probe> {
    let rows = sqlx::query(
        "SELECT DISTINCT release FROM deployments WHERE finished_ms >= $1 AND finished_ms < $2",
    )
    .bind(since_ms)
    .bind(until_ms)
    .fetch_all(store.pool())
    .await?;
    let mut versions: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<std::result::Result<_, _>>()?;
    versions.sort();
    let stmts = keyed(
        "SELECT id, data FROM deployments WHERE release IN",
        &versions,
        1,
        &[],
    );
    let mut c = store.pool().acquire().await?;
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *c)
        .await?;
    let mut fetch = Samples::default();
    let mut n = 0;
    for i in 0..=runs {
        let t = Instant::now();
        n = 0;
        for (sql, args) in &stmts {
            let q: AnyQuery = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            n += bind(q, args).fetch_all(&mut *c).await?.len();
        }
        if i > 0 {
            fetch.push(t.elapsed());
        }
    }
    let mut plan = Vec::new();
    if let Some((sql, args)) = stmts.first() {
        let q: AnyQuery = sqlx::query(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE, BUFFERS) {sql}"
        )));
        for r in bind(q, args).fetch_all(&mut *c).await? {
            let l: String = r.try_get(0)?;
            plan.push(l.chars().take(180).collect());
        }
    }
    sqlx::query("RESET enable_seqscan").execute(&mut *c).await?;
    let summary = plan.first().map_or(String::new(), |l: &String| {
        l.split("  (").next().unwrap_or(l).trim().to_string()
    });
    plan.insert(0, summary);
    Ok(Probe {
        query: "every deployment of those releases, `enable_seqscan = off`",
        period: "30 days (default)",
        statements: stmts.len(),
        rows: n,
        fetch,
        decode: None,
        plan,
    })
}
