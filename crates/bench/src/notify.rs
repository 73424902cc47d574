//! `sluice-bench --notify`: what notifications cost.
//!
//! 1. The extra cost a notification adds to the command that causes it:
//!    `App::report_patch` on two fresh databases of one backend, one whose
//!    process has no `[[notify]]` rule and one whose process sends every
//!    report to a webhook and an email address (two outbox rows written in
//!    the command's transaction), in alternating batches, same run.
//! 2. Messages per second from the outbox to a local receiver: N webhook
//!    messages, seeded by real reports, delivered by `App::dispatch_once`
//!    (lease, send through the real HTTP transport with CloudEvents body and
//!    Standard Webhooks signature, mark delivered) to a keep-alive HTTP/1.1
//!    receiver on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use jiff::Timestamp;
use sluice_app::deliver::Outbound;
use sluice_app::dispatch::{Backoff, Dispatcher};
use sluice_app::messages::Templates;
use sluice_store::Backend;

use crate::db::{Scratch, name, open_app};
use crate::fixture::{PROCESS, report_input};
use crate::stats::{Samples, ms, ratio};
use crate::suite::Config;

/// The bench process plus a rule that notifies every report.
fn notifying_process() -> String {
    format!(
        "{PROCESS}\n[channels]\nops = {{ webhook = \"${{BENCH_HOOK}}\", secret = \"${{BENCH_SECRET}}\", email = [\"ops@example.com\"] }}\n\n[[notify]]\non = [\"patch.reported\"]\nto = [\"ops\"]\n"
    )
}

/// A keep-alive HTTP/1.1 receiver answering 200 to every request; counts them.
fn receiver() -> Result<(u16, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let c = c.clone();
            std::thread::spawn(move || {
                let mut w = conn.try_clone().expect("socket clone");
                let mut r = BufReader::new(conn);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    c.fetch_add(1, Ordering::Relaxed);
                    if w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok((port, count))
}

pub(crate) struct NotifyResult {
    backend: Backend,
    without: Samples,
    with: Samples,
    messages: usize,
    elapsed: Duration,
}

pub(crate) async fn run(cfg: &Config, backend: Backend, root: &Path) -> Result<NotifyResult> {
    let quiet_root = root.join("quiet");
    let loud_root = root.join("loud");
    for (dir, text) in [
        (&quiet_root, PROCESS.to_string()),
        (&loud_root, notifying_process()),
    ] {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("sluice.toml"), text)?;
    }
    let (qdb, ldb) = (Scratch::new(backend).await?, Scratch::new(backend).await?);
    let quiet = open_app(&qdb.url, &quiet_root).await?;
    let loud = open_app(&ldb.url, &loud_root).await?;

    // 1. Command cost, alternating batches after an uncounted warm-up.
    let mut res = NotifyResult {
        backend,
        without: Samples::default(),
        with: Samples::default(),
        messages: 0,
        elapsed: Duration::ZERO,
    };
    let mut seq = 0usize;
    let rounds = cfg.floor_ops.div_ceil(cfg.floor_batch);
    for round in 0..=rounds {
        let n = if round == 0 { 20 } else { cfg.floor_batch };
        for k in 0..2 {
            let (app, into) = if (round + k) % 2 == 0 {
                (&quiet, &mut res.without)
            } else {
                (&loud, &mut res.with)
            };
            for _ in 0..n {
                seq += 1;
                let t = Instant::now();
                app.report_patch("dev1", Timestamp::now(), report_input(seq))
                    .await?;
                if round > 0 {
                    into.push(t.elapsed());
                }
            }
        }
    }
    let queued = loud
        .notifications(Some(sluice_store::OutboxStatus::Pending), usize::MAX >> 1)
        .await?
        .len();
    let reports = res.with.0.len() + 20;
    if queued != 2 * reports {
        bail!("expected {} outbox rows, found {queued}", 2 * reports);
    }
    // Only the webhooks are delivered below: drop the email rows.
    sqlx::query("DELETE FROM outbox WHERE transport = 'email'")
        .execute(loud.store().pool())
        .await?;

    // 2. Throughput of the dispatcher to a local receiver.
    let (port, count) = receiver()?;
    let vars = [
        ("BENCH_HOOK", format!("http://127.0.0.1:{port}/hook")),
        ("BENCH_SECRET", "a bench signing key".to_string()),
    ];
    let env = Box::new(move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let p = loud.process();
    let t = Outbound::with_env(p, Arc::new(Templates::embedded()), env);
    let mut d = Dispatcher::new(t, Backoff::for_process(p), 1);
    let start = Instant::now();
    let mut delivered = 0;
    for _ in 0..1000 {
        let r = loud.dispatch_once(&mut d, Timestamp::now(), 256).await?;
        if r.failed + r.dead > 0 {
            bail!("deliveries failed in the benchmark: {r:?}");
        }
        delivered += r.delivered;
        if r.taken() == 0 {
            break;
        }
    }
    res.elapsed = start.elapsed();
    res.messages = delivered;
    if delivered != reports || count.load(Ordering::Relaxed) != reports {
        bail!(
            "delivered {delivered}, received {}, expected {reports}",
            count.load(Ordering::Relaxed)
        );
    }
    quiet.store().close().await;
    loud.store().close().await;
    qdb.drop_db().await?;
    ldb.drop_db().await?;
    Ok(res)
}

pub(crate) fn print(rs: &[NotifyResult], cfg: &Config) {
    println!("### Notifications\n");
    println!(
        "{} timed `App::report_patch` per series, in batches of {}, the two series alternating (warm-up not counted). \
         \"with\": the process sends every report to a webhook and an email address, so the command also writes two outbox rows in its transaction.\n",
        cfg.floor_ops, cfg.floor_batch
    );
    println!(
        "| backend | command | mean ms | p50 ms | p99 ms | ops/s | mean vs without | p50 vs without | goal ≤ 1.20x |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|---|");
    for r in rs {
        for (label, s) in [
            ("without a matching rule", &r.without),
            ("with a matching rule (2 messages)", &r.with),
        ] {
            let mean = s.mean();
            let goal = if std::ptr::eq(s, &r.with) {
                if mean.as_secs_f64() <= 1.2 * r.without.mean().as_secs_f64() {
                    "met"
                } else {
                    "not met"
                }
            } else {
                "-"
            };
            println!(
                "| {} | `report_patch` {label} | {} | {} | {} | {:.0} | {} | {} | {goal} |",
                name(r.backend),
                ms(mean),
                ms(s.pct(50.0)),
                ms(s.pct(99.0)),
                1.0 / mean.as_secs_f64().max(1e-9),
                ratio(mean, r.without.mean()),
                ratio(s.pct(50.0), r.without.pct(50.0)),
            );
        }
    }
    println!();
    println!(
        "Outbox to a local receiver: webhook messages seeded by the reports above, delivered by `App::dispatch_once` (lease, CloudEvents body, Standard Webhooks signature, one HTTP/1.1 keep-alive connection to 127.0.0.1, mark delivered), one dispatcher.\n"
    );
    println!("| backend | messages | seconds | messages/s | mean ms per message |");
    println!("|---|--:|--:|--:|--:|");
    for r in rs {
        let s = r.elapsed.as_secs_f64();
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.2} |",
            name(r.backend),
            r.messages,
            s,
            r.messages as f64 / s.max(1e-9),
            s * 1000.0 / (r.messages.max(1) as f64)
        );
    }
    println!();
}
