//! `sluice-bench ui`: every web page of `sluice serve`, rendered over a large
//! history — 10,000 releases, 100,000 patches and 100,000 audit events by
//! default — on SQLite and PostgreSQL. A few releases go through the real
//! commands (so the board has candidates with gates, deployments and a real
//! audit trail); the bulk is inserted directly, cloned from a real release and
//! chained with the real hash function, so `audit verify` still passes.
//!
//! The server runs in this process on 127.0.0.1:0; each page is fetched with a
//! signed-in session, a few times to warm up, then `--samples` times. The time
//! is the whole request over loopback (HTTP included), so it bounds the
//! server-side render time from above.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use sluice_core::model::{Release, ReleaseStatus};
use sluice_store::{Backend, Store};

use crate::args::HistoryArgs;
use crate::db::{Scratch, name, open_app};
use crate::fixture::PROCESS;
use crate::history::{NewEvent, append_events, real_release};
use crate::seed::seed;
use crate::stats::Samples;

pub const USAGE: &str = "sluice-bench ui [--backend sqlite|postgres|both] [--releases N] [--patches N] [--events N] [--samples N]";

/// The options of `sluice-bench ui`.
pub(crate) type UiConfig = HistoryArgs;

/// Parses the options of `sluice-bench ui` over its defaults.
pub(crate) fn parse(args: impl Iterator<Item = String>) -> Result<UiConfig> {
    HistoryArgs::parse(
        args,
        HistoryArgs {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            releases: 10_000,
            patches: 100_000,
            events: 100_000,
            samples: 50,
        },
        USAGE,
    )
}

/// Inserts `n` released releases cloned from `template`, versions 100.x.y upwards.
async fn seed_releases(store: &Store, template: &Release, n: usize, patches: usize) -> Result<()> {
    const ROWS: usize = 250;
    let pool = store.pool();
    let mut done = 0;
    while done < n {
        let rows = ROWS.min(n - done);
        let sql = format!(
            "INSERT INTO releases (version, major, minor, patch, status, created_ms, data, rev) VALUES {}",
            sluice_store::values_rows(rows, 7, ", 1")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for i in done..done + rows {
            let mut r = template.clone();
            r.version = semver::Version::new(
                100 + (i / 1000) as u64,
                ((i / 10) % 100) as u64,
                (i % 10) as u64,
            );
            r.status = ReleaseStatus::Released;
            r.in_flight = None;
            r.patches = (0..5)
                .map(|j| format!("BENCH-{}", 1 + (i * 5 + j) % patches.max(1)))
                .collect();
            let created = Timestamp::now().as_millisecond() - ((n - i) as i64) * 3_600_000;
            q = q
                .bind(r.version.to_string())
                .bind(r.version.major as i64)
                .bind(r.version.minor as i64)
                .bind(r.version.patch as i64)
                .bind(r.status.as_str())
                .bind(created)
                .bind(serde_json::to_string(&r)?);
        }
        q.execute(pool).await?;
        done += rows;
    }
    Ok(())
}

/// Appends `n` events to the chain with the real hash function.
async fn seed_events(store: &Store, n: usize) -> Result<()> {
    let kinds = [
        "patch.reported",
        "patch.triaged",
        "release.test_reported",
        "release.approved",
    ];
    let (seq, _) = store.chain_head().await?;
    let events = (seq + 1..=seq + n as i64).map(|s| NewEvent {
        at_ms: Timestamp::now().as_millisecond(),
        actor: "dev1",
        kind: kinds[((s - 1) % 4) as usize],
        subject: format!("BENCH-{}", 1 + (s - 1) % 100_000),
        payload: "{\"bench\":true}".to_string(),
    });
    append_events(store, events).await?;
    Ok(())
}

struct PageResult {
    path: String,
    bytes: usize,
    samples: Samples,
    first: Duration,
}

async fn one_backend(cfg: &UiConfig, backend: Backend, root: &Path) -> Result<Vec<PageResult>> {
    let db = Scratch::new(backend).await?;
    let mut app = open_app(&db.url, root).await?;
    app.detach_git();
    let t = Instant::now();
    eprintln!("[ui] {}: seeding {} patches", name(backend), cfg.patches);
    seed(app.store(), cfg.patches).await?;
    eprintln!("[ui] {}: real releases through the commands", name(backend));
    let mut seq = 0;
    let mut real = Vec::new();
    for _ in 0..12 {
        real.push(real_release(&app, &mut seq, None).await?);
    }
    let mut candidates = Vec::new();
    for stop in ["local", "dev", "test"] {
        candidates.push(real_release(&app, &mut seq, Some(stop)).await?);
    }
    let template = app
        .store()
        .release(&real[0])
        .await?
        .map(|(r, _)| r)
        .context("the first release")?;
    eprintln!("[ui] {}: seeding {} releases", name(backend), cfg.releases);
    seed_releases(app.store(), &template, cfg.releases, cfg.patches).await?;
    eprintln!("[ui] {}: seeding {} events", name(backend), cfg.events);
    seed_events(app.store(), cfg.events).await?;
    eprintln!(
        "[ui] {}: seeded in {:.1} s",
        name(backend),
        t.elapsed().as_secs_f64()
    );
    if let Err(b) = app.store().verify_chain().await? {
        bail!("the seeded chain does not verify: {b:?}");
    }
    let token = app
        .create_token("bench", Timestamp::now(), "rm", None)
        .await?;
    let server = Arc::new(sluice_server::Server::new(
        app,
        sluice_app::wire::ProcessFile {
            label: "sluice.toml".into(),
            text: PROCESS.into(),
        },
    ));
    let (task, addr) = crate::fixture::serve_here(&server).await?;
    let base = format!("http://{addr}");
    let _ = sluice_app::deliver::http_client();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = http
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}&next=/board", token.secret))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no session cookie")?
        .to_string();
    let old = "100.5.3".to_string();
    let pages = vec![
        "/board".to_string(),
        "/patches".to_string(),
        "/patches?status=released".to_string(),
        format!("/releases/{}", candidates[2]),
        format!("/releases/{old}"),
        "/calendar".to_string(),
        "/calendar.ics".to_string(),
        "/audit".to_string(),
        format!("/audit?subject={}", real[3]),
    ];
    // The server verifies the whole audit chain once at start, in the
    // background; wait for that (the audit page waits on it) so it does not
    // share the cores with the measured pages.
    http.get(format!("{base}/audit"))
        .header("cookie", &cookie)
        .send()
        .await?
        .bytes()
        .await?;
    let mut out = Vec::new();
    for path in pages {
        let get = || {
            http.get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
        };
        let t = Instant::now();
        let r = get().await?;
        let status = r.status();
        let bytes = r.bytes().await?.len();
        let first = t.elapsed();
        if !status.is_success() {
            bail!("{path} answered {status}");
        }
        for _ in 0..3 {
            get().await?.bytes().await?;
        }
        let mut s = Samples(Vec::new());
        for _ in 0..cfg.samples {
            let t = Instant::now();
            get().await?.bytes().await?;
            s.push(t.elapsed());
        }
        out.push(PageResult {
            path,
            bytes,
            samples: s,
            first,
        });
    }
    task.abort();
    server.app.store().close().await;
    Ok(out)
}

pub async fn run(cfg: UiConfig) -> Result<()> {
    let root = tempfile::Builder::new()
        .prefix("sluice-bench-ui")
        .tempdir()?;
    std::fs::write(root.path().join("sluice.toml"), PROCESS)?;
    println!("| backend | page | bytes | first | p50 | p99 | max |\n|---|---|--:|--:|--:|--:|--:|");
    for b in &cfg.backends {
        let rs = one_backend(&cfg, *b, root.path()).await?;
        for r in rs {
            println!(
                "| {} | `{}` | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
                name(*b),
                r.path,
                r.bytes,
                r.first.as_secs_f64() * 1e3,
                r.samples.pct(50.0).as_secs_f64() * 1e3,
                r.samples.pct(99.0).as_secs_f64() * 1e3,
                r.samples.max().as_secs_f64() * 1e3,
            );
        }
    }
    println!(
        "\n{} releases, {} patches, {} events seeded per backend; {} samples per page after 3 warm-ups.",
        cfg.releases, cfg.patches, cfg.events, cfg.samples
    );
    Ok(())
}
