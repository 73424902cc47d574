//! `sluice-bench load`: `sluice serve` under many concurrent clients.
//!
//! Per backend, in one run: the durable-insert floor of the core benchmark
//! (before the server starts, so the two never compete), then a real
//! `sluice serve` child process on 127.0.0.1:0 over a fresh database, seeded
//! through its API with one release per client in `local`, then for each
//! client count C: C concurrent clients, each sending a bounded number of
//! requests in a closed loop (no think time) under a time cap. Every second
//! request is a write (`POST /releases/{v}/tests`, the qa user, results
//! alternating pass/fail), the others reads alternating between
//! `GET /releases/{v}` and `GET /status`. Reported: throughput, p50/p99 per
//! kind, errors, the server's RSS at idle and its peak (VmHWM, reset before
//! each client count), and its CPU time. The server is stopped with SIGTERM
//! and must exit 0.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use sluice_store::Backend;
use tokio::io::AsyncBufReadExt;

use crate::db::{Scratch, name};
use crate::floor::FloorResult;
use crate::stats::{Samples, ms};

pub struct LoadConfig {
    pub backends: Vec<Backend>,
    pub clients: Vec<usize>,
    /// Requests per client per client count.
    pub requests: usize,
    /// Each client count stops issuing requests after this long.
    pub time_cap: Duration,
    pub floor_ops: usize,
    pub sluice: Option<PathBuf>,
}

pub const USAGE: &str = "usage: sluice-bench load [--backend sqlite|postgres|both] [--clients 1,16,64] [--requests N] [--time-cap SECS] [--floor-ops N] [--sluice PATH]";

impl LoadConfig {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<LoadConfig> {
        let mut cfg = LoadConfig {
            backends: vec![Backend::Sqlite, Backend::Postgres],
            clients: vec![1, 16, 64],
            requests: 400,
            time_cap: Duration::from_secs(60),
            floor_ops: 2_000,
            sluice: None,
        };
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            let (flag, inline) = crate::args::split_flag(&a);
            let mut value = |what: &str| -> Result<String> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => args.next().with_context(|| format!("{what} needs a value")),
                }
            };
            match flag.as_str() {
                "--backend" => cfg.backends = crate::args::backends(&value("--backend")?)?,
                "--clients" => {
                    cfg.clients = value("--clients")?
                        .split(',')
                        .map(|c| c.trim().parse::<usize>())
                        .collect::<Result<_, _>>()
                        .context("--clients is a list of counts such as 1,16,64")?;
                    if cfg.clients.is_empty() || cfg.clients.contains(&0) {
                        bail!("--clients needs counts of at least 1");
                    }
                }
                "--requests" => {
                    cfg.requests = value("--requests")?
                        .parse()
                        .context("--requests is a count")?;
                    if cfg.requests == 0 {
                        bail!("--requests must be at least 1");
                    }
                }
                "--time-cap" => {
                    cfg.time_cap = Duration::from_secs(
                        value("--time-cap")?
                            .parse()
                            .context("--time-cap is in seconds")?,
                    )
                }
                "--floor-ops" => {
                    cfg.floor_ops = value("--floor-ops")?
                        .parse()
                        .context("--floor-ops is a count")?
                }
                "--sluice" => cfg.sluice = Some(PathBuf::from(value("--sluice")?)),
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`; {USAGE}"),
            }
        }
        Ok(cfg)
    }

    fn releases(&self) -> usize {
        self.clients.iter().copied().max().unwrap_or(1)
    }
}

// ------------------------------------------------------------ the server

/// A `sluice serve` child process.
struct Served {
    child: tokio::process::Child,
    pid: u32,
    url: String,
    log: PathBuf,
}

struct Mem {
    rss_kb: u64,
    hwm_kb: u64,
}

impl Served {
    async fn start(bin: &Path, root: &Path, db: &str, tag: &str) -> Result<Served> {
        let log = root.join(format!("serve-{tag}.log"));
        let mut child = tokio::process::Command::new(bin)
            .current_dir(root)
            .env_remove("SLUICE_SERVER")
            .env_remove("SLUICE_TOKEN")
            .env_remove("SLUICE_USER")
            .env_remove("SLUICE_CONFIG")
            .env_remove("SLUICE_DATABASE_URL")
            .env_remove("RUST_LOG")
            .arg("--config")
            .arg(root.join("sluice.toml"))
            .arg("--db")
            .arg(db)
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("the server did not start within 30 s")??
            .unwrap_or_default();
        let Some(url) = first.strip_prefix("sluice serve: listening on ") else {
            bail!(
                "sluice serve did not start: {first:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let url = url.trim().to_string();
        if !url.starts_with("http://127.0.0.1:") {
            bail!("the server listens on {url}, not on loopback");
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Served {
            child,
            pid,
            url,
            log,
        })
    }

    fn status_field(&self, field: &str) -> Result<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        s.lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} in /proc/{}/status", self.pid))
    }

    fn mem(&self) -> Result<Mem> {
        Ok(Mem {
            rss_kb: self.status_field("VmRSS:")?,
            hwm_kb: self.status_field("VmHWM:")?,
        })
    }

    /// Resets VmHWM to the current RSS (Linux `clear_refs` value 5).
    fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// User + system CPU time so far.
    fn cpu(&self, tick: f64) -> Result<Duration> {
        let s = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name, which is in parentheses.
        let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let stime: f64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        Ok(Duration::from_secs_f64((utime + stime) / tick))
    }

    /// SIGTERM, then waits; returns the exit code.
    async fn stop(mut self) -> Result<Option<i32>> {
        let st = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()?;
        if !st.success() {
            bail!("kill -TERM {} failed", self.pid);
        }
        let st = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .context("the server did not stop within 30 s of SIGTERM")??;
        Ok(st.code())
    }
}

fn clock_tick() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn create_token(bin: &Path, root: &Path, db: &str, user: &str) -> Result<String> {
    let out = std::process::Command::new(bin)
        .current_dir(root)
        .env_remove("SLUICE_SERVER")
        .env_remove("SLUICE_TOKEN")
        .arg("--config")
        .arg(root.join("sluice.toml"))
        .arg("--db")
        .arg(db)
        .args(["--as", "rm", "token", "create", "--user", user, "--json"])
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        bail!(
            "token create --user {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: Value = serde_json::from_slice(&out.stdout)?;
    v["secret"]
        .as_str()
        .map(str::to_string)
        .context("token create printed no secret")
}

// ------------------------------------------------------------ the clients

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut rq = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            rq = rq.json(b);
        }
        let resp = rq.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            bail!(
                "{method} {path}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
    async fn post(&self, path: &str, token: &str, body: Value) -> Result<Value> {
        self.call(reqwest::Method::POST, path, token, Some(&body))
            .await
    }
}

struct Tokens {
    lead: String,
    dev1: String,
    dev2: String,
    rm: String,
    qa: String,
}

/// One ready patch, cut into a release and promoted to `local`, through the API.
async fn seed_release(api: &Api, t: &Tokens, i: usize) -> Result<String> {
    let p = api
        .post(
            "/patches",
            &t.dev1,
            json!({"title": format!("Load bench: checkout total wrong with two coupons ({i})"),
                   "kind": "fix", "severity": "minor", "reference": format!("LOAD-{i}")}),
        )
        .await?;
    let k = p["key"].as_str().context("no patch key")?.to_string();
    api.post(
        &format!("/patches/{k}/triage"),
        &t.lead,
        json!({"priority": "p2", "owner": "dev1", "lines": ["main"]}),
    )
    .await?;
    api.post(&format!("/patches/{k}/start"), &t.dev1, json!({}))
        .await?;
    api.post(&format!("/patches/{k}/review"), &t.dev1, json!({}))
        .await?;
    api.post(
        &format!("/patches/{k}/review"),
        &t.dev2,
        json!({"approve": true, "comment": "LGTM"}),
    )
    .await?;
    api.post(&format!("/patches/{k}/ready"), &t.dev1, json!({}))
        .await?;
    let r = api
        .post("/releases", &t.rm, json!({"line": "main"}))
        .await?;
    let v = r["version"].as_str().context("no version")?.to_string();
    api.post(
        &format!("/releases/{v}/promotions"),
        &t.rm,
        json!({"to": "local"}),
    )
    .await?;
    Ok(v)
}

#[derive(Default)]
struct ClientStats {
    write: Samples,
    show: Samples,
    status: Samples,
    errors: usize,
    first_error: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Write,
    Show,
    Status,
}

async fn client(
    http: reqwest::Client,
    base: Arc<str>,
    token: Arc<str>,
    version: String,
    requests: usize,
    deadline: Instant,
) -> ClientStats {
    let mut st = ClientStats::default();
    let tests = format!("{base}/api/v1/releases/{version}/tests");
    let show = format!("{base}/api/v1/releases/{version}");
    let status = format!("{base}/api/v1/status");
    let mut writes = 0usize;
    for k in 0..requests {
        if Instant::now() >= deadline {
            break;
        }
        let kind = match k % 4 {
            0 | 2 => Kind::Write,
            1 => Kind::Show,
            _ => Kind::Status,
        };
        let rq = match kind {
            Kind::Write => {
                writes += 1;
                http.post(&tests).json(&json!({
                    "env": "local",
                    "suite": "unit",
                    "passed": writes % 2 == 1,
                    "url": format!("https://ci.example.com/load/{version}/{writes}"),
                }))
            }
            Kind::Show => http.get(&show),
            Kind::Status => http.get(&status),
        }
        .bearer_auth(&*token);
        let t = Instant::now();
        let outcome = match rq.send().await {
            Ok(resp) => {
                let code = resp.status();
                match resp.bytes().await {
                    Ok(_) if code.is_success() => Ok(()),
                    Ok(b) => Err(format!("{code}: {}", String::from_utf8_lossy(&b))),
                    Err(e) => Err(format!("reading the answer: {e}")),
                }
            }
            Err(e) => Err(format!("{e}")),
        };
        let d = t.elapsed();
        match outcome {
            Ok(()) => match kind {
                Kind::Write => st.write.push(d),
                Kind::Show => st.show.push(d),
                Kind::Status => st.status.push(d),
            },
            Err(e) => {
                st.errors += 1;
                st.first_error.get_or_insert(e);
            }
        }
    }
    st
}

struct RunResult {
    clients: usize,
    elapsed: Duration,
    write: Samples,
    show: Samples,
    status: Samples,
    errors: usize,
    first_error: Option<String>,
    capped: bool,
    peak_kb: u64,
    peak_reset: bool,
    rss_after_kb: u64,
    server_cpu: Duration,
}

struct BackendResult {
    backend: Backend,
    floor: FloorResult,
    idle_kb: u64,
    runs: Vec<RunResult>,
    releases: usize,
    exit_code: Option<i32>,
    events: i64,
    test_runs: usize,
}

async fn one_backend(
    cfg: &LoadConfig,
    backend: Backend,
    root: &Path,
    bin: &Path,
) -> Result<BackendResult> {
    eprintln!("[load] {}: durable-insert floor", name(backend));
    let fcfg = crate::suite::Config {
        quick: false,
        notify: false,
        backends: vec![backend],
        floor_ops: cfg.floor_ops,
        floor_batch: 50.min(cfg.floor_ops),
        lifecycle_runs: vec![],
        list_patches: 0,
        list_runs: 0,
        cli_runs: 0,
    };
    let floor = crate::floor::floor(&fcfg, backend, root).await?;

    let db = Scratch::new(backend).await?;
    let tag = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    // The server migrates the fresh database on start; tokens are created
    // after that, with the CLI on the same database.
    let server = Served::start(bin, root, &db.url, tag).await?;
    eprintln!(
        "[load] {}: server pid {} at {}",
        name(backend),
        server.pid,
        server.url
    );
    let tok = |u: &str| create_token(bin, root, &db.url, u);
    let tokens = Tokens {
        lead: tok("lead")?,
        dev1: tok("dev1")?,
        dev2: tok("dev2")?,
        rm: tok("rm")?,
        qa: tok("qa")?,
    };
    let _ = sluice_app::deliver::http_client(); // installs the rustls provider
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(300))
        .build()?;
    let api = Api {
        http: http.clone(),
        base: server.url.clone(),
    };
    let n = cfg.releases();
    eprintln!(
        "[load] {}: seeding {n} releases into `local`",
        name(backend)
    );
    let mut versions = Vec::with_capacity(n);
    for i in 0..n {
        versions.push(seed_release(&api, &tokens, i + 1).await?);
    }
    // Idle: after seeding, nothing in flight.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_kb = server.mem()?.rss_kb;
    let tick = clock_tick();

    let base: Arc<str> = Arc::from(server.url.as_str());
    let qa: Arc<str> = Arc::from(tokens.qa.as_str());
    let mut runs = Vec::new();
    for &c in &cfg.clients {
        eprintln!(
            "[load] {}: {c} clients x {} requests",
            name(backend),
            cfg.requests
        );
        let peak_reset = server.reset_peak();
        let cpu0 = server.cpu(tick)?;
        let start = Instant::now();
        let deadline = start + cfg.time_cap;
        let mut tasks = Vec::with_capacity(c);
        for i in 0..c {
            tasks.push(tokio::spawn(client(
                http.clone(),
                base.clone(),
                qa.clone(),
                versions[i % n].clone(),
                cfg.requests,
                deadline,
            )));
        }
        let mut r = RunResult {
            clients: c,
            elapsed: Duration::ZERO,
            write: Samples::default(),
            show: Samples::default(),
            status: Samples::default(),
            errors: 0,
            first_error: None,
            capped: false,
            peak_kb: 0,
            peak_reset,
            rss_after_kb: 0,
            server_cpu: Duration::ZERO,
        };
        for t in tasks {
            let s = t.await?;
            r.write.0.extend(s.write.0);
            r.show.0.extend(s.show.0);
            r.status.0.extend(s.status.0);
            r.errors += s.errors;
            if r.first_error.is_none() {
                r.first_error = s.first_error;
            }
        }
        r.elapsed = start.elapsed();
        r.server_cpu = server.cpu(tick)?.saturating_sub(cpu0);
        let done = r.write.0.len() + r.show.0.len() + r.status.0.len() + r.errors;
        r.capped = done < c * cfg.requests;
        let m = server.mem()?;
        r.peak_kb = m.hwm_kb;
        r.rss_after_kb = m.rss_kb;
        if let Some(e) = &r.first_error {
            eprintln!("[load] {} errors; the first: {e}", r.errors);
        }
        runs.push(r);
    }

    // Everything the clients wrote is there, and the chain verifies.
    let verify = api
        .call(reqwest::Method::GET, "/audit/verify", &tokens.qa, None)
        .await?;
    let events = verify["checked"].as_i64().unwrap_or(-1);
    if verify["ok"].as_bool() != Some(true) {
        bail!("the audit chain does not verify after the load: {verify}");
    }
    let mut test_runs = 0;
    for v in &versions {
        // The release keeps its latest runs; the audit log keeps every one.
        let r = api
            .call(
                reqwest::Method::GET,
                &format!("/audit?subject={v}&limit=1000000"),
                &tokens.qa,
                None,
            )
            .await?;
        test_runs += r["events"]
            .as_array()
            .map(|es| {
                es.iter()
                    .filter(|e| e["kind"] == "release.test_reported")
                    .count()
            })
            .unwrap_or(0);
    }
    let written: usize = runs.iter().map(|r| r.write.0.len()).sum();
    if test_runs != written {
        bail!("{written} test reports answered 2xx but the audit log holds {test_runs}");
    }

    let log = server.log.clone();
    let exit_code = server.stop().await?;
    if exit_code != Some(0) {
        bail!(
            "the server exited with {exit_code:?} after SIGTERM; its log: {}",
            log.display()
        );
    }
    db.drop_db().await?;
    Ok(BackendResult {
        backend,
        floor,
        idle_kb,
        runs,
        releases: n,
        exit_code,
        events,
        test_runs,
    })
}

fn mib(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn per_s(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn print(cfg: &LoadConfig, rs: &[BackendResult]) {
    println!("## Server under load\n");
    println!(
        "`sluice serve` (release build, child process, 127.0.0.1, JSON logs to a file) over a fresh database per backend; {} releases seeded through the API and promoted to `local`; client i reports to release i. Each client: {} requests in a closed loop (no think time), time cap {} s per client count: write, show, write, status, … — writes are `POST /api/v1/releases/{{v}}/tests` as qa (pass/fail alternating), reads `GET /api/v1/releases/{{v}}` and `GET /api/v1/status`. One HTTP/1.1 keep-alive connection per client. Latency is per request, as the client sees it.\n",
        rs.first().map(|r| r.releases).unwrap_or(0),
        cfg.requests,
        cfg.time_cap.as_secs()
    );
    for r in rs {
        println!("- {}: {}", name(r.backend), r.floor.settings);
    }
    println!();
    println!(
        "| backend | durable-insert floor, one client | mean ms | p50 ms | p99 ms | ops/s | half the floor |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|");
    for r in rs {
        let f = &r.floor.floor;
        let ops = 1.0 / f.mean().as_secs_f64().max(1e-9);
        println!(
            "| {} | bare `BEGIN; INSERT; COMMIT`, {} ops | {} | {} | {} | {:.0} | {:.0} |",
            name(r.backend),
            f.0.len(),
            ms(f.mean()),
            ms(f.pct(50.0)),
            ms(f.pct(99.0)),
            ops,
            ops / 2.0
        );
    }
    println!();
    println!(
        "| backend | clients | requests | s | req/s | writes/s | reads/s | write p50 / p99 ms | show p50 / p99 ms | status p50 / p99 ms | all p99 ms | errors | server CPU | peak RSS MiB |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for b in rs {
        for r in &b.runs {
            let reads = r.show.0.len() + r.status.0.len();
            let mut all = Samples::default();
            all.0.extend(&r.write.0);
            all.0.extend(&r.show.0);
            all.0.extend(&r.status.0);
            println!(
                "| {} | {} | {}{} | {:.2} | {:.0} | {:.0} | {:.0} | {} / {} | {} / {} | {} / {} | {} | {} | {:.0}% | {}{} |",
                name(b.backend),
                r.clients,
                all.0.len() + r.errors,
                if r.capped { " (time cap)" } else { "" },
                r.elapsed.as_secs_f64(),
                per_s(all.0.len(), r.elapsed),
                per_s(r.write.0.len(), r.elapsed),
                per_s(reads, r.elapsed),
                ms(r.write.pct(50.0)),
                ms(r.write.pct(99.0)),
                ms(r.show.pct(50.0)),
                ms(r.show.pct(99.0)),
                ms(r.status.pct(50.0)),
                ms(r.status.pct(99.0)),
                ms(all.pct(99.0)),
                r.errors,
                100.0 * r.server_cpu.as_secs_f64() / r.elapsed.as_secs_f64().max(1e-9),
                mib(r.peak_kb),
                if r.peak_reset { "" } else { " (since start)" },
            );
        }
    }
    println!();
    for b in rs {
        println!(
            "- {}: server RSS at idle (after start and seeding) {} MiB, after the last client count {} MiB; {} test reports in the audit log (= the 2xx writes), audit chain verified ({} events); SIGTERM → exit code {}.",
            name(b.backend),
            mib(b.idle_kb),
            mib(b.runs.last().map(|r| r.rss_after_kb).unwrap_or(0)),
            b.test_runs,
            b.events,
            b.exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into()),
        );
    }
    println!();
    println!("### Against the goals\n");
    println!(
        "| backend | write throughput ≥ half the floor | p99 < 50 ms at 64 clients | peak RSS < 100 MB |"
    );
    println!("|---|---|---|---|");
    for b in rs {
        let floor_ops = 1.0 / b.floor.floor.mean().as_secs_f64().max(1e-9);
        let best = b
            .runs
            .iter()
            .map(|r| per_s(r.write.0.len(), r.elapsed))
            .fold(0.0, f64::max);
        let at64 = b.runs.iter().find(|r| r.clients == 64);
        let p99_64 = at64.map(|r| {
            let mut all = Samples::default();
            all.0.extend(&r.write.0);
            all.0.extend(&r.show.0);
            all.0.extend(&r.status.0);
            all.pct(99.0)
        });
        let peak = b.runs.iter().map(|r| r.peak_kb).max().unwrap_or(0);
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "| {} | {}: best {:.0} writes/s vs {:.0} | {} | {}: {} MiB ({:.0} MB) |",
            name(b.backend),
            verdict(best >= floor_ops / 2.0),
            best,
            floor_ops / 2.0,
            match p99_64 {
                Some(p) => format!("{}: {} ms", verdict(p < Duration::from_millis(50)), ms(p)),
                None => "- (no 64-client run)".into(),
            },
            verdict(peak * 1024 < 100_000_000),
            mib(peak),
            peak as f64 * 1024.0 / 1e6,
        );
    }
    println!();
}

pub async fn run(cfg: LoadConfig) -> Result<()> {
    let bin = match &cfg.sluice {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("sluice"),
    };
    if !bin.is_file() {
        bail!(
            "{} not found; build it first: cargo build --release -p sluice-cli -p sluice-bench (or pass --sluice PATH)",
            bin.display()
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("sluice-bench-load")
        .tempdir()?;
    let root = dir.path().to_path_buf();
    std::fs::write(root.join("sluice.toml"), crate::fixture::PROCESS)?;
    sluice_app::load_process(&root.join("sluice.toml"))
        .map_err(|e| anyhow::anyhow!("bench process: {e}"))?;
    println!(
        "# sluice-bench load\n\nStarted {} (UTC); server binary {}; temporary files under {}.\n",
        jiff::Timestamp::now().round(jiff::Unit::Second)?,
        bin.display(),
        std::env::temp_dir().display()
    );
    let mut rs = Vec::new();
    for b in &cfg.backends {
        rs.push(one_backend(&cfg, *b, &root, &bin).await?);
    }
    print(&cfg, &rs);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<LoadConfig> {
        LoadConfig::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_are_bounded() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.clients, vec![1, 16, 64]);
        assert_eq!(c.requests, 400);
        assert_eq!(c.time_cap, Duration::from_secs(60));
        assert_eq!(c.backends, vec![Backend::Sqlite, Backend::Postgres]);
        assert_eq!(c.releases(), 64);
    }

    #[test]
    fn options_in_both_spellings() {
        let c = parse(&[
            "--backend=postgres",
            "--clients",
            "2, 8",
            "--requests=10",
            "--time-cap",
            "5",
            "--sluice",
            "/x/sluice",
        ])
        .unwrap();
        assert_eq!(c.backends, vec![Backend::Postgres]);
        assert_eq!(c.clients, vec![2, 8]);
        assert_eq!(c.releases(), 8);
        assert_eq!(c.requests, 10);
        assert_eq!(c.time_cap, Duration::from_secs(5));
        assert_eq!(c.sluice.as_deref(), Some(Path::new("/x/sluice")));
    }

    #[test]
    fn bad_options_are_refused() {
        for bad in [
            &["--clients", "0"][..],
            &["--clients", "a,b"][..],
            &["--requests", "0"][..],
            &["--backend", "mysql"][..],
            &["--requests"][..],
            &["--frobnicate"][..],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
