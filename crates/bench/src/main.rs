//! `sluice-bench`: the performance benchmark of Sluice, kept in the repository.
//!
//! Three measurements, on SQLite and/or PostgreSQL, printed as Markdown:
//! 1. the durable-insert floor (`BEGIN; INSERT; COMMIT` on a scratch table, same
//!    pool and durability settings) against one command (`App::report_patch`),
//!    interleaved in alternating batches in the same run;
//! 2. full patch lifecycles per second, report to verified in production, through
//!    a bench process whose environments run no deploy command;
//! 3. `patch list` over 100,000 seeded patches, through `App::list_patches` and
//!    through the whole `sluice` binary.
//!
//! 4. with `--notify`, only the notification benchmark (`notify.rs`).
//!
//! Usage: `sluice-bench [--quick] [--notify] [--backend sqlite|postgres|both]`.
//! `sluice-bench load ...` measures `sluice serve` under concurrent clients
//! instead (see [`load`]).
//! Only a loopback PostgreSQL is used (`SLUICE_TEST_POSTGRES`, else
//! postgres://postgres@127.0.0.1:5432/postgres); every database it creates is a
//! fresh one and is dropped at the end.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jiff::{SignedDuration, Timestamp};
use sluice_app::{App, PatchQuery};
use sluice_core::decide::{self, Ctx, ReportInput, TriageInput};
use sluice_core::model::{Patch, PatchReview, PatchStatus, Source, SourceKind, Target};
use sluice_store::{Backend, Store};
use sqlx::{Connection, Executor};

mod load;
mod notify;
mod ui;

/// The bench process: four environments, none with a deploy command, every
/// window always open, one role per step so that every actor below is allowed.
const PROCESS: &str = r#"
[project]
name = "bench"
key = "BENCH"

[kinds]
fix = { bump = "patch", section = "Fixed" }
security = { bump = "patch", section = "Security" }
perf = { bump = "patch", section = "Changed" }

[severities]
critical = { fix_within = "24h", emergency = true }
major = { fix_within = "5d" }
minor = { fix_within = "30d" }

[roles]
dev_lead = ["lead"]
developer = ["dev1", "dev2"]
qa = ["qa"]
product_owner = ["po"]
release_manager = ["rm"]
devops = ["ops"]

[responsibilities]
identify = "dev_lead"
develop = "developer"
review = "developer"
test = "qa"
approve = "product_owner"
release = "release_manager"
monitor = "devops"

[review]
min_approvals = 1
author_may_approve = false

[[environments]]
name = "local"
tests = ["unit"]
windows = ["mon-sun 00:00-24:00"]

[[environments]]
name = "dev"
tests = ["integration"]
windows = ["mon-sun 00:00-24:00"]

[[environments]]
name = "test"
tests = ["smoke"]
approvals = ["qa"]
windows = ["mon-sun 00:00-24:00"]

[[environments]]
name = "prod"
approvals = ["product_owner"]
windows = ["mon-sun 00:00-24:00"]
after_deploy_tests = ["canary"]

[[checklist]]
id = "notes"
text = "Release notes reviewed"
by = "release_manager"
before = "prod"
"#;

struct Config {
    quick: bool,
    /// Only the notification benchmark.
    notify: bool,
    backends: Vec<Backend>,
    /// Timed operations per series in the floor comparison.
    floor_ops: usize,
    /// Operations per batch before switching series.
    floor_batch: usize,
    /// (patches per release, releases) for each lifecycle run.
    lifecycle_runs: Vec<(usize, usize)>,
    list_patches: usize,
    list_runs: usize,
    cli_runs: usize,
}

impl Config {
    fn parse() -> Result<Config> {
        let mut quick = false;
        let mut notify = false;
        let mut backend = "both".to_string();
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => quick = true,
                "--notify" => notify = true,
                "--backend" => backend = args.next().context("--backend needs a value")?,
                s if s.starts_with("--backend=") => backend = s["--backend=".len()..].to_string(),
                "-h" | "--help" => {
                    println!(
                        "usage: sluice-bench [--quick] [--notify] [--backend sqlite|postgres|both]"
                    );
                    println!("       {}", load::USAGE);
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`; see --help"),
            }
        }
        let backends = match backend.as_str() {
            "sqlite" => vec![Backend::Sqlite],
            "postgres" => vec![Backend::Postgres],
            "both" => vec![Backend::Sqlite, Backend::Postgres],
            other => bail!("--backend must be sqlite, postgres or both, not `{other}`"),
        };
        Ok(if quick {
            Config {
                quick,
                notify,
                backends,
                floor_ops: 100,
                floor_batch: 20,
                lifecycle_runs: vec![(1, 5), (10, 2)],
                list_patches: 5_000,
                list_runs: 5,
                cli_runs: 2,
            }
        } else {
            Config {
                quick,
                notify,
                backends,
                floor_ops: 2_000,
                floor_batch: 50,
                lifecycle_runs: vec![(1, 100), (10, 20)],
                list_patches: 100_000,
                list_runs: 30,
                cli_runs: 5,
            }
        })
    }
}

fn name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

// ---------------------------------------------------------------- statistics

#[derive(Default, Clone)]
struct Samples(Vec<Duration>);

impl Samples {
    fn push(&mut self, d: Duration) {
        self.0.push(d);
    }
    fn sorted(&self) -> Vec<Duration> {
        let mut v = self.0.clone();
        v.sort();
        v
    }
    fn mean(&self) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.iter().sum::<Duration>() / self.0.len() as u32
    }
    /// Nearest-rank percentile.
    fn pct(&self, p: f64) -> Duration {
        let v = self.sorted();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }
    fn max(&self) -> Duration {
        self.0.iter().max().copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1000.0;
    if m >= 100.0 {
        format!("{m:.0}")
    } else if m >= 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.2}")
    }
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "-".into();
    }
    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
}

// ----------------------------------------------------------------- databases

/// A fresh database, removed by [`Scratch::drop_db`].
struct Scratch {
    url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    async fn new(backend: Backend) -> Result<Scratch> {
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

    async fn drop_db(self) -> Result<()> {
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

async fn open_app(url: &str, root: &Path) -> Result<App> {
    let process = sluice_app::load_process(&root.join("sluice.toml"))
        .map_err(|e| anyhow::anyhow!("bench process: {e}"))?;
    Ok(App::open(process, url, root.to_path_buf()).await?)
}

async fn versions(store: &Store) -> Result<String> {
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

// ------------------------------------------------------------ 1. the floor

struct FloorResult {
    backend: Backend,
    settings: String,
    floor: Samples,
    commit: Samples,
    command: Samples,
}

fn report_input(i: usize) -> ReportInput {
    ReportInput {
        title: format!("Checkout total is wrong when a coupon is applied twice ({i})"),
        description: Some(
            "Applying the same coupon code twice in the basket doubles the discount; seen in production logs."
                .into(),
        ),
        kind: Some("fix".into()),
        severity: Some(["critical", "major", "minor"][i % 3].into()),
        source: Some(Source {
            kind: SourceKind::Bug,
            reference: Some(format!("JIRA-{}", 4000 + i)),
        }),
        targets: vec![Target::Main],
    }
}

async fn floor(cfg: &Config, backend: Backend, root: &Path) -> Result<FloorResult> {
    let db = Scratch::new(backend).await?;
    let app = open_app(&db.url, root).await?;
    let settings = versions(app.store()).await?;
    let pool = app.store().pool().clone();
    pool.execute("CREATE TABLE bench_floor (id BIGINT PRIMARY KEY, payload TEXT)")
        .await?;
    // The bare insert writes a row as large as the patch row a report writes.
    let sample = decide::report(
        &Ctx {
            process: app.process(),
            actor: "dev1",
            now: Timestamp::now(),
        },
        1,
        report_input(0),
    )?
    .0;
    let payload = serde_json::to_string(&sample)?;

    let mut next_id: i64 = 0;
    let mut seq = 0usize;
    let mut res = FloorResult {
        backend,
        settings,
        floor: Samples::default(),
        commit: Samples::default(),
        command: Samples::default(),
    };
    // Warm-up (not counted), then rounds; the order of the three series rotates
    // every round so that drift and noise hit all of them alike.
    let warm = cfg.floor_batch.min(20);
    let rounds = cfg.floor_ops.div_ceil(cfg.floor_batch);
    for round in 0..=rounds {
        let n = if round == 0 { warm } else { cfg.floor_batch };
        let mut sink = (Samples::default(), Samples::default(), Samples::default());
        for k in 0..3 {
            match (round + k) % 3 {
                0 => {
                    for _ in 0..n {
                        next_id += 1;
                        let t = Instant::now();
                        let mut tx = pool.begin().await?;
                        sqlx::query("INSERT INTO bench_floor (id, payload) VALUES ($1, $2)")
                            .bind(next_id)
                            .bind(payload.clone())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        sink.0.push(t.elapsed());
                    }
                }
                1 => {
                    for _ in 0..n {
                        seq += 1;
                        let t = Instant::now();
                        app.report_patch("dev1", Timestamp::now(), report_input(seq))
                            .await?;
                        sink.2.push(t.elapsed());
                    }
                }
                _ => {
                    // The same change a report writes, without the read that
                    // picks its number: Store::commit alone.
                    for _ in 0..n {
                        seq += 1;
                        let number = app.store().next_patch_number().await?;
                        let now = Timestamp::now();
                        let ctx = Ctx {
                            process: app.process(),
                            actor: "dev1",
                            now,
                        };
                        let (p, e) = decide::report(&ctx, number, report_input(seq))?;
                        let change = sluice_store::Change {
                            actor: "dev1".into(),
                            at_ms: now.as_millisecond(),
                            events: vec![e],
                            patches: vec![(p, None)],
                            ..Default::default()
                        };
                        let t = Instant::now();
                        app.store().commit(&change).await?;
                        sink.1.push(t.elapsed());
                    }
                }
            }
        }
        if round > 0 {
            res.floor.0.extend(sink.0.0);
            res.commit.0.extend(sink.1.0);
            res.command.0.extend(sink.2.0);
        }
    }
    match app.store().verify_chain().await? {
        Ok(_) => {}
        Err(b) => bail!("the audit chain broke during the benchmark: {b:?}"),
    }
    app.store().close().await;
    db.drop_db().await?;
    Ok(res)
}

// ------------------------------------------------------- 2. lifecycles

struct LifecycleResult {
    backend: Backend,
    per_release: usize,
    releases: usize,
    patches: usize,
    commands: usize,
    elapsed: Duration,
    by_command: BTreeMap<&'static str, Samples>,
}

async fn timed<T>(
    stats: &mut BTreeMap<&'static str, Samples>,
    label: &'static str,
    f: impl Future<Output = sluice_app::Result<T>>,
) -> Result<T> {
    let t = Instant::now();
    let out = f.await.with_context(|| format!("{label} failed"))?;
    stats.entry(label).or_default().push(t.elapsed());
    Ok(out)
}

async fn lifecycles(
    backend: Backend,
    root: &Path,
    per_release: usize,
    releases: usize,
) -> Result<LifecycleResult> {
    let db = Scratch::new(backend).await?;
    let app = open_app(&db.url, root).await?;
    let mut s: BTreeMap<&'static str, Samples> = BTreeMap::new();
    let now = Timestamp::now;
    let start = Instant::now();
    let mut seq = 0;
    for _ in 0..releases {
        for _ in 0..per_release {
            seq += 1;
            let p = timed(
                &mut s,
                "patch report",
                app.report_patch("dev1", now(), report_input(seq)),
            )
            .await?;
            let k = p.key.as_str();
            let triage = TriageInput {
                priority: Some("p2".into()),
                owner: Some("dev1".into()),
                targets: vec![Target::Main],
                ..Default::default()
            };
            timed(
                &mut s,
                "patch triage",
                app.triage_patch("lead", now(), k, triage),
            )
            .await?;
            timed(&mut s, "patch start", app.start_patch("dev1", now(), k)).await?;
            timed(
                &mut s,
                "patch review (ask)",
                app.review_patch("dev1", now(), k, None, None),
            )
            .await?;
            timed(
                &mut s,
                "patch review --approve",
                app.review_patch("dev2", now(), k, Some(true), Some("LGTM".into())),
            )
            .await?;
            timed(&mut s, "patch ready", app.ready_patch("dev1", now(), k)).await?;
        }
        let r = timed(
            &mut s,
            "release cut",
            app.cut_release("rm", now(), Target::Main, Default::default()),
        )
        .await?;
        if r.patches.len() != per_release {
            bail!(
                "release {} holds {} patches, expected {per_release}",
                r.version,
                r.patches.len()
            );
        }
        let v = r.version.to_string();
        let v = v.as_str();
        timed(
            &mut s,
            "promote",
            app.promote("rm", now(), v, "local", None),
        )
        .await?;
        timed(
            &mut s,
            "test report",
            app.report_test("qa", now(), v, "local", "unit", true, None),
        )
        .await?;
        timed(&mut s, "promote", app.promote("rm", now(), v, "dev", None)).await?;
        timed(
            &mut s,
            "test report",
            app.report_test("qa", now(), v, "dev", "integration", true, None),
        )
        .await?;
        timed(
            &mut s,
            "approve",
            app.approve("qa", now(), v, "test", Some("qa"), false, None),
        )
        .await?;
        timed(&mut s, "promote", app.promote("rm", now(), v, "test", None)).await?;
        timed(
            &mut s,
            "test report",
            app.report_test("qa", now(), v, "test", "smoke", true, None),
        )
        .await?;
        timed(
            &mut s,
            "approve",
            app.approve("po", now(), v, "prod", Some("product_owner"), false, None),
        )
        .await?;
        timed(
            &mut s,
            "checklist --tick",
            app.tick("rm", now(), v, "notes"),
        )
        .await?;
        timed(&mut s, "promote", app.promote("rm", now(), v, "prod", None)).await?;
        timed(
            &mut s,
            "test report",
            app.report_test("qa", now(), v, "prod", "canary", true, None),
        )
        .await?;
    }
    let elapsed = start.elapsed();
    // Every patch must have gone all the way.
    let q = PatchQuery {
        statuses: vec![PatchStatus::Verified],
        limit: 1,
        count: true,
        ..Default::default()
    };
    let verified = app
        .list_patches(Timestamp::now(), q)
        .await?
        .total
        .unwrap_or(0);
    if verified != (per_release * releases) as i64 {
        bail!(
            "{verified} patches verified, expected {}",
            per_release * releases
        );
    }
    match app.store().verify_chain().await? {
        Ok(_) => {}
        Err(b) => bail!("the audit chain broke during the benchmark: {b:?}"),
    }
    let commands = s.values().map(|x| x.0.len()).sum();
    app.store().close().await;
    db.drop_db().await?;
    Ok(LifecycleResult {
        backend,
        per_release,
        releases,
        patches: per_release * releases,
        commands,
        elapsed,
        by_command: s,
    })
}

// ------------------------------------------------------- 3. patch list

/// A small deterministic generator (xorshift64*), so every run seeds the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// The seeded status mix, per mille: 20% open, 80% closed.
const STATUS_MIX: &[(PatchStatus, u64)] = &[
    (PatchStatus::Reported, 40),
    (PatchStatus::Triaged, 40),
    (PatchStatus::InProgress, 60),
    (PatchStatus::InReview, 30),
    (PatchStatus::Ready, 30),
    (PatchStatus::Released, 50),
    (PatchStatus::Verified, 600),
    (PatchStatus::Rejected, 100),
    (PatchStatus::Deferred, 50),
];

fn seed_patch(rng: &mut Rng, number: i64, now: Timestamp) -> Patch {
    let mut roll = rng.below(1000);
    let status = STATUS_MIX
        .iter()
        .find(|(_, w)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map(|(s, _)| *s)
        .unwrap_or(PatchStatus::Verified);
    // Closed patches were reported over the last two years, open ones in the
    // last 60 days: a share of the open ones is overdue.
    let age_h = if status.is_open() {
        rng.below(60 * 24)
    } else {
        rng.below(2 * 365 * 24)
    } as i64;
    let reported_at = now - SignedDuration::from_hours(age_h);
    let triaged = status != PatchStatus::Reported;
    let severity = match rng.below(10) {
        0 => Some("critical"),
        1..=4 => Some("major"),
        5..=8 => Some("minor"),
        _ => None,
    }
    .filter(|_| triaged || rng.below(2) == 0);
    let fix_within_h = match severity {
        Some("critical") => Some(24),
        Some("major") => Some(5 * 24),
        Some("minor") => Some(30 * 24),
        _ => None,
    };
    let started = matches!(
        status,
        PatchStatus::InProgress
            | PatchStatus::InReview
            | PatchStatus::Ready
            | PatchStatus::Released
            | PatchStatus::Verified
    );
    let reviewed = started && status != PatchStatus::InProgress;
    let key = format!("BENCH-{number}");
    let title = format!(
        "{} {} {} ({number})",
        rng.pick(&[
            "Checkout", "Login", "Search", "Invoice", "Basket", "Payment", "Export", "Profile"
        ]),
        rng.pick(&[
            "fails when",
            "is slow when",
            "shows the wrong total when",
            "crashes if",
            "times out after"
        ]),
        rng.pick(&[
            "a coupon is applied twice",
            "the session expires",
            "the locale is Norwegian",
            "more than 100 items are selected",
            "the user has no address",
        ])
    );
    let owner = triaged.then(|| rng.pick(&["dev1", "dev2", "lead"]).to_string());
    let release = matches!(status, PatchStatus::Released | PatchStatus::Verified)
        .then(|| format!("1.{}.{}", number / 500, number % 7));
    Patch {
        key: key.clone(),
        number,
        title,
        description: (rng.below(10) < 7).then(|| {
            "Steps to reproduce: open the page, repeat the action, compare with the expected result. Seen by several customers."
                .to_string()
        }),
        kind: triaged.then(|| rng.pick(&["fix", "fix", "fix", "security", "perf"]).to_string()),
        severity: severity.map(str::to_string),
        priority: triaged.then(|| rng.pick(&["p1", "p2", "p3"]).to_string()),
        source: Source {
            kind: [
                SourceKind::Bug,
                SourceKind::Feedback,
                SourceKind::Alert,
                SourceKind::Advisory,
            ][rng.below(4) as usize],
            reference: Some(format!("JIRA-{}", 10_000 + number)),
        },
        reporter: rng.pick(&["qa", "po", "dev1", "support"]).to_string(),
        owner,
        targets: if triaged { vec![Target::Main] } else { vec![] },
        branch: started.then(|| format!("hotfix/{key}-checkout-fails")),
        reviews: if reviewed {
            vec![PatchReview {
                reviewer: "dev2".into(),
                approved: true,
                comment: Some("LGTM".into()),
                at: reported_at + SignedDuration::from_hours(2),
            }]
        } else {
            vec![]
        },
        status,
        release,
        resolution: matches!(status, PatchStatus::Rejected | PatchStatus::Deferred)
            .then(|| "not reproducible on the current version".to_string()),
        reopened: 0,
        reported_at,
        triaged_at: triaged.then(|| reported_at + SignedDuration::from_mins(30)),
        deadline: fix_within_h.map(|h| reported_at + SignedDuration::from_hours(h)),
        updated_at: reported_at + SignedDuration::from_hours(3),
        ports: Vec::new(),
        base_commit: None,
        started_by: None,
    }
}

/// Inserts `n` patches in multi-row INSERTs, the columns filled the way
/// `Store::commit` fills them. Returns the number of open ones.
async fn seed(store: &Store, n: usize) -> Result<usize> {
    const ROWS: usize = 500;
    const STMTS_PER_TX: usize = 20;
    let now = Timestamp::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut open = 0;
    let mut number = 0i64;
    let pool = store.pool();
    while (number as usize) < n {
        let mut tx = pool.begin().await?;
        for _ in 0..STMTS_PER_TX {
            let rows = ROWS.min(n - number as usize);
            if rows == 0 {
                break;
            }
            // `rev` (the 12th column) is the constant 1: `data` moves before it.
            let sql = format!(
                "INSERT INTO patches (key, number, status, is_open, severity, kind, owner, targets, release, deadline_ms, reported_ms, data, rev) VALUES {}",
                sluice_store::values_rows(rows, 12, ", 1")
            );
            let patches: Vec<Patch> = (0..rows)
                .map(|_| {
                    number += 1;
                    seed_patch(&mut rng, number, now)
                })
                .collect();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for p in &patches {
                open += usize::from(p.status.is_open());
                let targets: Vec<String> = p.targets.iter().map(|t| t.to_string()).collect();
                q = q
                    .bind(p.key.clone())
                    .bind(p.number)
                    .bind(p.status.as_str())
                    .bind(i64::from(p.status.is_open()))
                    .bind(p.severity.clone())
                    .bind(p.kind.clone())
                    .bind(p.owner.clone())
                    .bind(targets.join(","))
                    .bind(p.release.clone())
                    .bind(p.deadline.map(|d| d.as_millisecond()))
                    .bind(p.reported_at.as_millisecond())
                    .bind(serde_json::to_string(p)?);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(open)
}

struct ListResult {
    backend: Backend,
    patches: usize,
    open: usize,
    seed: Duration,
    /// (label, rows returned, samples)
    app: Vec<(String, usize, Samples)>,
    /// (label, samples); empty when the binary is missing.
    cli: Vec<(String, Samples)>,
    cli_note: Option<String>,
}

async fn list(cfg: &Config, backend: Backend, root: &Path) -> Result<ListResult> {
    let db = Scratch::new(backend).await?;
    let app = open_app(&db.url, root).await?;
    let t = Instant::now();
    let open = seed(app.store(), cfg.list_patches).await?;
    if backend == Backend::Postgres {
        // What autovacuum does within a minute of such an insert.
        app.store().pool().execute("ANALYZE patches").await?;
    }
    let seed_time = t.elapsed();
    let mut res = ListResult {
        backend,
        patches: cfg.list_patches,
        open,
        seed: seed_time,
        app: vec![],
        cli: vec![],
        cli_note: None,
    };
    for (label, limit, all) in [
        ("`list_patches` limit 100 (CLI default)", 100u32, false),
        ("`list_patches` limit 0 (all open)", 0, false),
        ("`list_patches` --all limit 100", 100, true),
    ] {
        let q = PatchQuery {
            limit,
            all,
            ..Default::default()
        };
        let mut s = Samples::default();
        let mut rows = 0;
        for i in 0..cfg.list_runs + 2 {
            let t = Instant::now();
            let l = app.list_patches(Timestamp::now(), q.clone()).await?;
            let d = t.elapsed();
            rows = l.patches.len();
            if i >= 2 {
                s.push(d);
            }
        }
        res.app.push((label.to_string(), rows, s));
    }
    app.store().close().await;

    let bin = std::env::current_exe()?.with_file_name("sluice");
    if bin.is_file() {
        for (label, extra) in [
            ("`sluice patch list` (whole process)", &[][..]),
            (
                "`sluice patch list --limit 0` (whole process)",
                &["--limit", "0"][..],
            ),
        ] {
            let mut s = Samples::default();
            for i in 0..cfg.cli_runs + 1 {
                let t = Instant::now();
                let out = std::process::Command::new(&bin)
                    .arg("--config")
                    .arg(root.join("sluice.toml"))
                    .arg("--db")
                    .arg(&db.url)
                    .args(["patch", "list"])
                    .args(extra)
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .output()?;
                let d = t.elapsed();
                if !out.status.success() {
                    bail!(
                        "{} failed: {}",
                        bin.display(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                if i >= 1 {
                    s.push(d);
                }
            }
            res.cli.push((label.to_string(), s));
        }
    } else {
        res.cli_note = Some(format!(
            "{} not found; build it with `cargo build --release -p sluice-cli`",
            bin.display()
        ));
    }
    db.drop_db().await?;
    Ok(res)
}

// ------------------------------------------------------------------- output

fn print_floor(rs: &[FloorResult], cfg: &Config) {
    println!("## 1. One durable command against the durable-insert floor\n");
    println!(
        "{} timed operations per series, in batches of {}, the order of the series rotating every round (warm-up not counted).\n",
        cfg.floor_ops.div_ceil(cfg.floor_batch) * cfg.floor_batch,
        cfg.floor_batch
    );
    for r in rs {
        println!("- {}: {}", name(r.backend), r.settings);
    }
    println!();
    println!(
        "| backend | operation | mean ms | p50 ms | p99 ms | max ms | ops/s | mean vs floor | p50 vs floor |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|");
    for r in rs {
        for (label, s) in [
            ("bare `BEGIN; INSERT; COMMIT` (floor)", &r.floor),
            ("`Store::commit` of a report's change", &r.commit),
            ("`App::report_patch` (one command)", &r.command),
        ] {
            println!(
                "| {} | {label} | {} | {} | {} | {} | {:.0} | {} | {} |",
                name(r.backend),
                ms(s.mean()),
                ms(s.pct(50.0)),
                ms(s.pct(99.0)),
                ms(s.max()),
                1.0 / s.mean().as_secs_f64().max(1e-9),
                ratio(s.mean(), r.floor.mean()),
                ratio(s.pct(50.0), r.floor.pct(50.0)),
            );
        }
    }
    println!();
}

fn print_lifecycles(rs: &[LifecycleResult]) {
    println!("## 2. Full patch lifecycles\n");
    println!(
        "report → triage → start → review (ask) → review --approve (another developer) → ready → release cut → promote local → test unit → promote dev → test integration → approve test (qa) → promote test → test smoke → approve prod (product_owner) → checklist tick → promote prod (patches released) → test canary in prod (patches verified). No deploy commands; one client, commands in sequence.\n"
    );
    println!(
        "| backend | patches per release | releases | patches | commands | seconds | lifecycles/s | commands/s | mean ms per command |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in rs {
        let secs = r.elapsed.as_secs_f64();
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.1} | {:.0} | {} |",
            name(r.backend),
            r.per_release,
            r.releases,
            r.patches,
            r.commands,
            secs,
            r.patches as f64 / secs,
            r.commands as f64 / secs,
            ms(r.elapsed / r.commands.max(1) as u32),
        );
    }
    println!();
    println!("Per command (all lifecycle runs of a backend together):\n");
    let mut labels: Vec<&'static str> = Vec::new();
    for r in rs {
        for k in r.by_command.keys() {
            if !labels.contains(k) {
                labels.push(k);
            }
        }
    }
    let backends: Vec<Backend> = {
        let mut b: Vec<Backend> = rs.iter().map(|r| r.backend).collect();
        b.dedup();
        b
    };
    print!("| command |");
    for b in &backends {
        print!(" {} n | mean ms | p50 ms | p99 ms |", name(*b));
    }
    println!();
    print!("|---|");
    for _ in &backends {
        print!("--:|--:|--:|--:|");
    }
    println!();
    for l in labels {
        print!("| {l} |");
        for b in &backends {
            let mut all = Samples::default();
            for r in rs.iter().filter(|r| r.backend == *b) {
                if let Some(s) = r.by_command.get(l) {
                    all.0.extend(&s.0);
                }
            }
            print!(
                " {} | {} | {} | {} |",
                all.0.len(),
                ms(all.mean()),
                ms(all.pct(50.0)),
                ms(all.pct(99.0))
            );
        }
        println!();
    }
    println!();
}

fn print_list(rs: &[ListResult], cfg: &Config) {
    println!("## 3. `patch list` over {} patches\n", cfg.list_patches);
    for r in rs {
        println!(
            "- {}: {} patches seeded in {:.1} s ({:.0}/s), {} open ({:.0}%); {} timed runs per query after 2 warm-up runs{}",
            name(r.backend),
            r.patches,
            r.seed.as_secs_f64(),
            r.patches as f64 / r.seed.as_secs_f64(),
            r.open,
            100.0 * r.open as f64 / r.patches.max(1) as f64,
            cfg.list_runs,
            if r.backend == Backend::Postgres {
                " (ANALYZE run after seeding)"
            } else {
                " (no ANALYZE: Store never runs it)"
            }
        );
        if let Some(n) = &r.cli_note {
            println!("  - CLI not measured: {n}");
        }
    }
    println!();
    println!(
        "| backend | query | rows | p50 ms | p99 ms | mean ms | max ms | goal < 100 ms (p99) |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|---|");
    for r in rs {
        for (label, rows, s) in &r.app {
            let goal = if label.contains("limit 100") && !label.contains("--all") {
                if s.pct(99.0) < Duration::from_millis(100) {
                    "met"
                } else {
                    "NOT met"
                }
            } else {
                "-"
            };
            println!(
                "| {} | {label} | {rows} | {} | {} | {} | {} | {goal} |",
                name(r.backend),
                ms(s.pct(50.0)),
                ms(s.pct(99.0)),
                ms(s.mean()),
                ms(s.max())
            );
        }
        for (label, s) in &r.cli {
            println!(
                "| {} | {label} | - | {} | {} | {} | {} | - |",
                name(r.backend),
                ms(s.pct(50.0)),
                ms(s.pct(99.0)),
                ms(s.mean()),
                ms(s.max())
            );
        }
    }
    println!();
}

async fn run(cfg: Config) -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("sluice-bench-root")
        .tempdir()?;
    let root: PathBuf = dir.path().to_path_buf();
    std::fs::write(root.join("sluice.toml"), PROCESS)?;
    // Fail early on a bad process file.
    sluice_app::load_process(&root.join("sluice.toml"))
        .map_err(|e| anyhow::anyhow!("bench process: {e}"))?;

    println!(
        "# sluice-bench{}\n\nStarted {} (UTC); temporary files under {}.\n",
        if cfg.quick { " --quick" } else { "" },
        Timestamp::now().round(jiff::Unit::Second)?,
        std::env::temp_dir().display()
    );

    if cfg.notify {
        let mut rs = Vec::new();
        for b in &cfg.backends {
            eprintln!("[bench] {}: notifications", name(*b));
            rs.push(notify::run(&cfg, *b, &root).await?);
        }
        notify::print(&rs, &cfg);
        return Ok(());
    }

    let mut floors = Vec::new();
    for b in &cfg.backends {
        eprintln!("[bench] {}: floor vs command", name(*b));
        floors.push(floor(&cfg, *b, &root).await?);
    }
    print_floor(&floors, &cfg);

    let mut lcs = Vec::new();
    for b in &cfg.backends {
        for (per, n) in &cfg.lifecycle_runs {
            eprintln!("[bench] {}: {n} releases of {per} patch(es)", name(*b));
            lcs.push(lifecycles(*b, &root, *per, *n).await?);
        }
    }
    print_lifecycles(&lcs);

    let mut lists = Vec::new();
    for b in &cfg.backends {
        eprintln!(
            "[bench] {}: seeding {} patches and listing",
            name(*b),
            cfg.list_patches
        );
        lists.push(list(&cfg, *b, &root).await?);
    }
    print_list(&lists, &cfg);
    Ok(())
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("ui") {
        let cfg = match ui::UiConfig::parse(std::env::args().skip(2)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        // The server and the client share the process: a worker per core.
        return match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => match rt.block_on(ui::run(cfg)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(1)
                }
            },
            Err(e) => {
                eprintln!("error: cannot start: {e}");
                ExitCode::from(2)
            }
        };
    }
    if std::env::args().nth(1).as_deref() == Some("load") {
        let cfg = match load::LoadConfig::parse(std::env::args().skip(2)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        return block_on(load::run(cfg));
    }
    let cfg = match Config::parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    block_on(run(cfg))
}

fn block_on(f: impl Future<Output = Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
