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
use sluice_core::decide::TriageInput;
use sluice_core::model::{Release, ReleaseStatus, Target};
use sluice_store::{Backend, Store};

use crate::db::{Scratch, name, open_app};
use crate::fixture::{PROCESS, report_input};
use crate::seed::seed;
use crate::stats::Samples;

pub const USAGE: &str = "sluice-bench ui [--backend sqlite|postgres|both] [--releases N] [--patches N] [--events N] [--samples N]";

pub struct UiConfig {
    backends: Vec<Backend>,
    releases: usize,
    patches: usize,
    events: usize,
    samples: usize,
}

impl UiConfig {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<UiConfig> {
        let mut c = UiConfig {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            releases: 10_000,
            patches: 100_000,
            events: 100_000,
            samples: 50,
        };
        while let Some(a) = args.next() {
            let mut num = |what: &str| -> Result<usize> {
                args.next()
                    .with_context(|| format!("{what} needs a number"))?
                    .parse()
                    .with_context(|| format!("{what} needs a number"))
            };
            match a.as_str() {
                "--backend" => {
                    c.backends = match args.next().as_deref() {
                        Some("sqlite") => vec![Backend::Sqlite],
                        Some("postgres") => vec![Backend::Postgres],
                        Some("both") => vec![Backend::Sqlite, Backend::Postgres],
                        other => bail!("--backend must be sqlite, postgres or both, not {other:?}"),
                    }
                }
                "--releases" => c.releases = num("--releases")?,
                "--patches" => c.patches = num("--patches")?,
                "--events" => c.events = num("--events")?,
                "--samples" => c.samples = num("--samples")?.max(1),
                "-h" | "--help" => {
                    println!("usage: {USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`\nusage: {USAGE}"),
            }
        }
        Ok(c)
    }
}

/// One real release through every command; `stop` leaves it in that environment.
async fn real_release(
    app: &sluice_app::App,
    seq: &mut usize,
    stop: Option<&str>,
) -> Result<String> {
    let now = Timestamp::now;
    for _ in 0..3 {
        *seq += 1;
        let p = app.report_patch("dev1", now(), report_input(*seq)).await?;
        let k = p.key.as_str();
        let triage = TriageInput {
            owner: Some("dev1".into()),
            targets: vec![Target::Main],
            ..Default::default()
        };
        app.triage_patch("lead", now(), k, triage).await?;
        app.start_patch("dev1", now(), k).await?;
        app.review_patch("dev2", now(), k, Some(true), None).await?;
        app.ready_patch("dev1", now(), k).await?;
    }
    let r = app
        .cut_release("rm", now(), Target::Main, Default::default())
        .await?;
    let v = r.version.to_string();
    let steps: [(&str, &[&str]); 4] = [
        ("local", &["unit"]),
        ("dev", &["integration"]),
        ("test", &["smoke"]),
        ("prod", &["canary"]),
    ];
    for (env, suites) in steps {
        if env == "test" {
            app.approve("qa", now(), &v, "test", Some("qa"), false, None)
                .await?;
        }
        if env == "prod" {
            app.approve("po", now(), &v, "prod", Some("product_owner"), false, None)
                .await?;
            app.tick("rm", now(), &v, "notes").await?;
        }
        app.promote("rm", now(), &v, env, None).await?;
        for s in suites {
            app.report_test("qa", now(), &v, env, s, true, None).await?;
        }
        if stop == Some(env) {
            break;
        }
    }
    Ok(v)
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
    use sqlx::Row;
    const ROWS: usize = 500;
    let pool = store.pool();
    let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let (mut seq, mut hash): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
    let kinds = [
        "patch.reported",
        "patch.triaged",
        "release.test_reported",
        "release.approved",
    ];
    let mut left = n;
    let mut tx = pool.begin().await?;
    while left > 0 {
        let rows = ROWS.min(left);
        let sql = format!(
            "INSERT INTO events (seq, at_ms, actor, kind, subject, payload, prev_hash, hash) VALUES {}",
            sluice_store::values_rows(rows, 8, "")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for _ in 0..rows {
            let k = kinds[(seq % 4) as usize];
            let subject = format!("BENCH-{}", 1 + seq % 100_000);
            let e = sluice_core::audit::chain(
                Some((&hash, seq)),
                Timestamp::now().as_millisecond(),
                "dev1",
                k,
                &subject,
                "{\"bench\":true}".to_string(),
            );
            seq = e.seq;
            hash = e.hash.clone();
            q = q
                .bind(e.seq)
                .bind(e.at_ms)
                .bind(e.actor)
                .bind(e.kind)
                .bind(e.subject)
                .bind(e.payload)
                .bind(e.prev_hash)
                .bind(e.hash);
        }
        q.execute(&mut *tx).await?;
        left -= rows;
    }
    sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
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
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(sluice_server::serve(
        server.clone(),
        "127.0.0.1:0".parse()?,
        move |addr| {
            let _ = tx.send(addr);
        },
    ));
    let addr = rx.await.context("the server did not start")?;
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
