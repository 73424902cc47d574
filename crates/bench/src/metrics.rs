//! `sluice-bench metrics`: `sluice metrics` and `GET /metrics` over a large
//! history — 10,000 releases deployed through four environments over two
//! years, 100,000 patches and 1,000,000 audit events by default — on SQLite
//! and PostgreSQL (the history: [`crate::metrics_plan`]).
//!
//! Per backend, after checking that the seeded history gives plausible
//! figures: `App::metrics` over 30 days (the command's computation), 12 weeks
//! and a year, each split into the read (`Store::metrics_facts`) and the
//! computation (`sluice_core::metrics::compute`); `App::metrics_every_env`
//! (what a scrape computes when its cache is cold); `App::metric_counters`
//! (what every scrape counts); `GET /metrics` over HTTP against `sluice serve`
//! in this process, first (cold) and warm; the whole `sluice metrics --json`
//! process. Then each query of the read on its own, with its plan
//! ([`crate::metrics_probe`]), to show where the time goes.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use sluice_app::wire::MetricsQuery;
use sluice_core::metrics::Scope;
use sluice_store::Backend;

use crate::args::HistoryArgs;
use crate::db::{Scratch, name, open_app, versions};
use crate::fixture::metrics_process;
use crate::history::real_release;
use crate::metrics_plan::Plan;
use crate::metrics_probe::{Probe, counter_queries, fact_queries};
use crate::metrics_seed::Seeding;
use crate::stats::Samples;

pub(crate) const USAGE: &str = "sluice-bench metrics [--backend sqlite|postgres|both] [--releases N] [--patches N] [--events N] [--samples N]";

/// The goals of the metrics issue.
pub(crate) const COMPUTE_GOAL: Duration = Duration::from_millis(200);
const SCRAPE_GOAL: Duration = Duration::from_millis(50);
/// A series stops early once its runs took this long (after at least 5).
const SERIES_CAP: Duration = Duration::from_secs(45);

/// Parses the options of `sluice-bench metrics` over its defaults.
pub(crate) fn parse(args: impl Iterator<Item = String>) -> Result<HistoryArgs> {
    HistoryArgs::parse(
        args,
        HistoryArgs {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            releases: 10_000,
            patches: 100_000,
            events: 1_000_000,
            samples: 30,
        },
        USAGE,
    )
}

/// One timed series.
pub(crate) struct Row {
    pub(crate) what: String,
    pub(crate) period: &'static str,
    pub(crate) samples: Samples,
    pub(crate) goal: Option<Duration>,
}

pub(crate) struct Outcome {
    /// With the candidate indexes (after everything else).
    pub(crate) experiment: (Vec<Row>, Vec<Probe>),
    pub(crate) backend: Backend,
    pub(crate) version: String,
    pub(crate) seeding: Seeding,
    pub(crate) seed_secs: f64,
    pub(crate) checks: Vec<String>,
    pub(crate) rows: Vec<Row>,
    pub(crate) probes: Vec<Probe>,
}

/// Two uncounted runs, then up to `n` timed ones (fewer once the series
/// passed [`SERIES_CAP`], never fewer than 5).
pub(crate) async fn series<T, F, Fut>(n: usize, mut f: F) -> Result<Samples>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for _ in 0..2 {
        f().await?;
    }
    let started = Instant::now();
    let mut s = Samples::default();
    for i in 0..n {
        if i >= 5 && started.elapsed() > SERIES_CAP {
            break;
        }
        let t = Instant::now();
        f().await?;
        s.push(t.elapsed());
    }
    Ok(s)
}

pub(crate) fn ask(since: Option<&str>) -> MetricsQuery {
    MetricsQuery {
        since: since.map(str::to_string),
        ..Default::default()
    }
}

pub(crate) const PERIODS: [(&str, Option<&str>); 3] = [
    ("30 days (default)", None),
    ("12 weeks", Some("12w")),
    ("1 year", Some("365d")),
];

async fn one_backend(cfg: &HistoryArgs, backend: Backend, root: &Path) -> Result<Outcome> {
    let b = name(backend);
    let db = Scratch::new(backend).await?;
    let mut app = open_app(&db.url, root).await?;
    app.detach_git();
    let version = versions(app.store()).await?;

    // Seeding.
    let started = Instant::now();
    let now = Timestamp::now();
    let mut plan = Plan::new(now, cfg.releases, cfg.patches);
    let mut seeding = Seeding::default();
    eprintln!(
        "[metrics] {b}: seeding {} patches and {} events",
        cfg.patches, cfg.events
    );
    plan.write_patches_and_events(app.store(), now, cfg.events, &mut seeding)
        .await?;
    eprintln!("[metrics] {b}: the template release, through the commands");
    let t = Instant::now();
    let v = real_release(&app, &mut 0, None).await?;
    let template = app
        .store()
        .release(&v)
        .await?
        .map(|(r, _)| r)
        .context("the template release")?;
    seeding
        .phases
        .push(("template release (commands)", t.elapsed().as_secs_f64()));
    eprintln!(
        "[metrics] {b}: seeding {} releases, deployments, incidents",
        cfg.releases
    );
    plan.write_releases(app.store(), &template, &mut seeding)
        .await?;
    if backend == Backend::Postgres {
        // What autovacuum does to a table after bulk inserts: statistics, and
        // the visibility map that index-only scans need.
        let t = Instant::now();
        sqlx::query("VACUUM ANALYZE")
            .execute(app.store().pool())
            .await?;
        seeding
            .phases
            .push(("VACUUM ANALYZE", t.elapsed().as_secs_f64()));
    }
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!("[metrics] {b}: seeded in {seed_secs:.1} s");

    let mut checks = Vec::new();
    let t = Instant::now();
    if let Err(e) = app.store().verify_chain().await? {
        bail!("the seeded chain does not verify: {e:?}");
    }
    checks.push(format!(
        "audit chain verified ({} events) in {:.1} s",
        seeding.events,
        t.elapsed().as_secs_f64()
    ));
    // What the server's scheduler records at its first pass (overdue patches),
    // recorded now so that the measured server does not write it meanwhile.
    let t = Instant::now();
    let tick = app.timed_pass(Timestamp::now()).await?;
    checks.push(format!(
        "a scheduler pass recorded {} timed facts in {:.1} s before measuring",
        tick.recorded.len(),
        t.elapsed().as_secs_f64()
    ));
    checks.push(sanity(&app, cfg).await?);

    // The command's computation, over three periods, and its two halves.
    let mut rows = Vec::new();
    let process = app.process().clone();
    for (period, since) in PERIODS {
        eprintln!("[metrics] {b}: App::metrics over {period}");
        let a = ask(since);
        let s = series(cfg.samples, || async {
            Ok(app.metrics(Timestamp::now(), &a).await?)
        })
        .await?;
        rows.push(Row {
            what: "`App::metrics` (the command's computation)".into(),
            period,
            samples: s,
            goal: since.is_none().then_some(COMPUTE_GOAL),
        });
        let (env, from, until) = app.metrics_scope(Timestamp::now(), &a)?;
        let (f_ms, u_ms) = (from.as_millisecond(), until.as_millisecond());
        let s = series(cfg.samples, || async {
            Ok(app.store().metrics_facts(f_ms, u_ms, u_ms).await?)
        })
        .await?;
        rows.push(Row {
            what: "… of which the read, `Store::metrics_facts`".into(),
            period,
            samples: s,
            goal: None,
        });
        let facts = app.store().metrics_facts(f_ms, u_ms, u_ms).await?;
        let scope = Scope {
            env: &env,
            since: from,
            until,
        };
        let s = series(cfg.samples, || async {
            Ok(sluice_core::metrics::compute(&process, &facts, scope))
        })
        .await?;
        rows.push(Row {
            what: format!(
                "… of which the computation, `core::metrics::compute` ({} deployment records, {} releases, {} patches read)",
                facts.deployments.len(),
                facts.releases.len(),
                facts.patches.len()
            ),
            period,
            samples: s,
            goal: None,
        });
        if since.is_none() {
            let envs: Vec<&str> = process
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            let s = series(cfg.samples, || async {
                Ok(envs
                    .iter()
                    .map(|env| {
                        sluice_core::metrics::compute(&process, &facts, Scope { env, ..scope })
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
            rows.push(Row {
                what: format!(
                    "… the computation for each of the {} environments (what `metrics_every_env` adds to the read)",
                    envs.len()
                ),
                period,
                samples: s,
                goal: None,
            });
        }
    }
    eprintln!("[metrics] {b}: every environment, counters");
    let s = series(cfg.samples, || async {
        Ok(app.metrics_every_env(Timestamp::now()).await?)
    })
    .await?;
    rows.push(Row {
        what: format!(
            "`App::metrics_every_env` ({} environments; what a cold scrape computes)",
            process.environments.len()
        ),
        period: "30 days",
        samples: s,
        goal: None,
    });
    let s = series(cfg.samples, || async {
        Ok(app.metric_counters(Timestamp::now()).await?)
    })
    .await?;
    rows.push(Row {
        what: "`App::metric_counters` (counted at every scrape)".into(),
        period: "all time",
        samples: s,
        goal: None,
    });

    // Where the time goes: each query of the read on its own.
    eprintln!("[metrics] {b}: each query on its own");
    let mut probes = Vec::new();
    for (period, since) in [PERIODS[0], PERIODS[2]] {
        let (_, from, until) = app.metrics_scope(Timestamp::now(), &ask(since))?;
        let (f_ms, u_ms) = (from.as_millisecond(), until.as_millisecond());
        let ps = fact_queries(app.store(), period, f_ms, u_ms, 5).await?;
        // The copied queries must read what the store reads.
        let facts = app.store().metrics_facts(f_ms, u_ms, u_ms).await?;
        let rows = |q: &str| ps.iter().find(|p| p.query == q).map_or(0, |p| p.rows);
        let same = [
            (
                "every deployment of those releases",
                facts.deployments.len(),
            ),
            ("those releases", facts.releases.len()),
            ("their patches", facts.patches.len()),
        ];
        for (q, n) in same {
            if rows(q) != n {
                bail!(
                    "the copied query `{q}` read {} rows, Store::metrics_facts {n}: crates/bench/src/metrics_probe.rs is out of step with the store",
                    rows(q)
                );
            }
        }
        probes.extend(ps);
    }
    probes.extend(counter_queries(app.store(), Timestamp::now().as_millisecond(), 5).await?);

    // The endpoint, over HTTP.
    eprintln!("[metrics] {b}: GET /metrics");
    let server = Arc::new(sluice_server::Server::new(
        app,
        sluice_app::wire::ProcessFile {
            label: "sluice.toml".into(),
            text: metrics_process(),
        },
    ));
    rows.extend(scrape(&server, cfg.samples).await?);
    server.app.store().close().await;

    // The whole process.
    let bin = std::env::current_exe()?.with_file_name("sluice");
    if bin.is_file() {
        eprintln!("[metrics] {b}: sluice metrics --json");
        let mut s = Samples::default();
        for i in 0..4 {
            let t = Instant::now();
            let out = std::process::Command::new(&bin)
                .arg("--config")
                .arg(root.join("sluice.toml"))
                .args(["--db", &db.url, "--as", "rm", "--json", "metrics"])
                .stdin(std::process::Stdio::null())
                .output()?;
            let d = t.elapsed();
            if !out.status.success() {
                bail!(
                    "{} metrics failed: {}",
                    bin.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let json: serde_json::Value = serde_json::from_slice(&out.stdout)
                .context("sluice metrics --json printed no JSON")?;
            if json.pointer("/deployment_frequency/deployments").is_none() {
                bail!("sluice metrics --json has no deployment_frequency.deployments");
            }
            if i >= 1 {
                s.push(d);
            }
        }
        rows.push(Row {
            what: "`sluice metrics --json` (whole process: start, process file, pool, migration check, read, compute, print)".into(),
            period: "30 days (default)",
            samples: s,
            goal: None,
        });
    } else {
        checks.push(format!(
            "the whole process was not timed: {} not found (`cargo build --release -p sluice-cli`)",
            bin.display()
        ));
    }
    eprintln!("[metrics] {b}: the candidate indexes (experiment)");
    let experiment = crate::metrics_experiment::run(&db.url, root, backend, cfg.samples).await?;
    db.drop_db().await?;
    Ok(Outcome {
        experiment,
        backend,
        version,
        seeding,
        seed_secs,
        checks,
        rows,
        probes,
    })
}

/// The seeded history must give plausible figures before anything is timed.
async fn sanity(app: &sluice_app::App, cfg: &HistoryArgs) -> Result<String> {
    let m = app.metrics(Timestamp::now(), &ask(None)).await?;
    let f = &m.deployment_frequency;
    let expected = cfg.releases * 30 / 730;
    let enough = if expected >= 200 { 100 } else { expected / 2 };
    if f.deployments == 0 || (f.deployments as usize) < enough {
        bail!(
            "implausible history: {} deployments into {} in the last 30 days, expected about {expected}",
            f.deployments,
            m.env
        );
    }
    let cfr = &m.change_failure_rate;
    let rec = &m.failed_deployment_recovery_time;
    if cfg.releases >= 1_000 && (cfr.numerator == 0 || rec.durations.count == 0) {
        bail!("implausible history: no change failure or no recovery in the last 30 days");
    }
    let rate = |r: Option<f64>| r.map_or("-".into(), |r| format!("{r:.3}"));
    Ok(format!(
        "`{}`, last 30 days: {} deployments ({:.1}/day, {}), change failure rate {} ({}/{}), recovery median {} s over {} failures, rework rate {} ({}), patch success {} ({} arrivals), lead time median {} s, {} incidents, {} manual and {} automatic rollbacks, {} failed deploys, {} open overdue patches",
        m.env,
        f.deployments,
        f.per_day,
        f.bucket,
        rate(cfr.rate),
        cfr.numerator,
        cfr.denominator,
        rec.durations.median_seconds.unwrap_or(0),
        rec.failures,
        rate(m.deployment_rework_rate.rate),
        m.deployment_rework_rate.numerator,
        rate(m.patch_success_rate.rate),
        m.patch_success_rate.denominator,
        m.lead_time_for_changes.changes.median_seconds.unwrap_or(0),
        m.counts.incidents.iter().map(|c| c.count).sum::<u64>(),
        m.counts.rollbacks_manual,
        m.counts.rollbacks_automatic,
        m.counts.failed_deployments,
        m.deadline_compliance
            .iter()
            .map(|d| d.open_overdue)
            .sum::<u64>(),
    ))
}

/// `GET /metrics` against the server in this process: the first scrape
/// computes the 30-day window, the next ones find it cached.
async fn scrape(server: &Arc<sluice_server::Server>, n: usize) -> Result<Vec<Row>> {
    let (task, addr) = crate::fixture::serve_here(server).await?;
    // The server verifies the audit chain once at start, in the background;
    // this waits for that to finish so that it does not share the cores.
    server.ui.warm_chain(&server.app).await;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let url = format!("http://{addr}/metrics");
    let get = || async {
        let r = http.get(&url).send().await?;
        let status = r.status();
        let body = r.text().await?;
        if !status.is_success() || !body.contains("sluice_deployments_total") {
            bail!("GET /metrics answered {status}: {body}");
        }
        Ok(body.len())
    };
    let t = Instant::now();
    let cold_at = Instant::now();
    let bytes = get().await?;
    let mut cold = Samples::default();
    cold.push(t.elapsed());
    let warm = series(n, get).await?;
    if cold_at.elapsed() >= sluice_server::prometheus::WINDOW_STALE {
        bail!(
            "the warm scrapes outlasted the cache ({:?})",
            cold_at.elapsed()
        );
    }
    // A scrape that finds no window (only the first after start, or after
    // the background refresh failed for WINDOW_STALE): it computes again.
    let expired = series(n, || async {
        *server.metrics_cache.lock().await = None;
        get().await
    })
    .await?;
    task.abort();
    Ok(vec![
        Row {
            what: format!(
                "`GET /metrics`, first scrape (cold: counts and computes the window; {bytes} bytes)"
            ),
            period: "all time + 30 days",
            samples: cold,
            goal: Some(SCRAPE_GOAL),
        },
        Row {
            what: "`GET /metrics`, warm (counts; the window kept by the background refresh)".into(),
            period: "all time + 30 days",
            samples: warm,
            goal: Some(SCRAPE_GOAL),
        },
        Row {
            what: "`GET /metrics`, no window kept (counts and computes it: only the first scrape after start, or the refresh failing for 5 min)".into(),
            period: "all time + 30 days",
            samples: expired,
            goal: Some(SCRAPE_GOAL),
        },
    ])
}

pub(crate) async fn run(cfg: HistoryArgs) -> Result<()> {
    let root = tempfile::Builder::new()
        .prefix("sluice-bench-metrics")
        .tempdir()?;
    std::fs::write(root.path().join("sluice.toml"), metrics_process())?;
    println!(
        "Started {} (UTC); {} releases, {} patches, {} events seeded per backend; {} timed runs per series after 2 warm-ups (fewer when a series passes {} s).\n",
        Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        cfg.releases,
        cfg.patches,
        cfg.events,
        cfg.samples,
        SERIES_CAP.as_secs()
    );
    for b in &cfg.backends {
        let o = one_backend(&cfg, *b, root.path()).await?;
        crate::metrics_report::print(&o);
    }
    Ok(())
}
