//! An experiment after the measurements, on the scratch database only: the
//! indexes the analysis of the read points at are created there, and the
//! same read is timed again. Nothing here is part of Sluice's migrations; it
//! shows what the store would gain from them.

use anyhow::Result;
use jiff::Timestamp;
use sluice_store::Backend;

use crate::db::open_app;
use crate::metrics::{PERIODS, Row, ask, series};
use crate::metrics_probe::{Probe, deployments_without_seqscan, fact_queries};

/// The candidate indexes: `patch.reopened` events looked up by kind and
/// subject (covering the time read), and the releases of a period's
/// deployments read from the index alone.
pub(crate) const CANDIDATES: [&str; 2] = [
    "CREATE INDEX bench_events_kind_subject ON events (kind, subject, at_ms)",
    "CREATE INDEX bench_deployments_finished_release ON deployments (finished_ms, release)",
];

/// The queries the candidates change.
const AFFECTED: [&str; 2] = [
    "deployments finished in the period (their releases)",
    "`patch.reopened` events of those patches",
];

/// The series compared before and after the indexes, on the same
/// connections, one right after the other (the machine may drift).
async fn timed(app: &sluice_app::App, samples: usize, with: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let a = ask(None);
    let s = series(samples, || async {
        Ok(app.metrics(Timestamp::now(), &a).await?)
    })
    .await?;
    rows.push(Row {
        what: format!("`App::metrics`, {with}"),
        period: PERIODS[0].0,
        samples: s,
        goal: Some(crate::metrics::COMPUTE_GOAL),
    });
    for (period, since) in [PERIODS[0], PERIODS[2]] {
        let (_, from, until) = app.metrics_scope(Timestamp::now(), &ask(since))?;
        let (f_ms, u_ms) = (from.as_millisecond(), until.as_millisecond());
        let s = series(samples, || async {
            Ok(app.store().metrics_facts(f_ms, u_ms, u_ms).await?)
        })
        .await?;
        rows.push(Row {
            what: format!("`Store::metrics_facts`, {with}"),
            period,
            samples: s,
            goal: None,
        });
    }
    let s = series(samples, || async {
        Ok(app.metrics_every_env(Timestamp::now()).await?)
    })
    .await?;
    rows.push(Row {
        what: format!("`App::metrics_every_env` (a cold scrape's computation), {with}"),
        period: "30 days",
        samples: s,
        goal: None,
    });
    Ok(rows)
}

pub(crate) async fn run(
    url: &str,
    root: &std::path::Path,
    backend: Backend,
    samples: usize,
) -> Result<(Vec<Row>, Vec<Probe>)> {
    let mut app = open_app(url, root).await?;
    app.detach_git();
    let store = app.store();
    let mut probes = Vec::new();
    if backend == Backend::Postgres {
        let (_, from, until) = app.metrics_scope(Timestamp::now(), &ask(None))?;
        probes.push(
            deployments_without_seqscan(store, from.as_millisecond(), until.as_millisecond(), 5)
                .await?,
        );
    }
    let mut rows = timed(&app, samples, "as migrated").await?;
    for sql in CANDIDATES {
        sqlx::query(sql).execute(store.pool()).await?;
    }
    if backend == Backend::Postgres {
        sqlx::query("VACUUM ANALYZE events, deployments")
            .execute(store.pool())
            .await?;
    }
    for (period, since) in [PERIODS[0], PERIODS[2]] {
        let (_, from, until) = app.metrics_scope(Timestamp::now(), &ask(since))?;
        let ps = fact_queries(
            store,
            period,
            from.as_millisecond(),
            until.as_millisecond(),
            5,
        )
        .await?;
        probes.extend(ps.into_iter().filter(|p| AFFECTED.contains(&p.query)));
    }
    rows.extend(timed(&app, samples, "with the candidate indexes").await?);
    app.store().close().await;
    Ok((rows, probes))
}
