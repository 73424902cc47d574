//! Measurement 1: the durable-insert floor (`BEGIN; INSERT; COMMIT` on a
//! scratch table, same pool and durability settings) against one command
//! (`App::report_patch`), interleaved in alternating batches in the same run.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use jiff::Timestamp;
use sluice_core::decide::{self, Ctx};
use sluice_store::Backend;
use sqlx::Executor;

use crate::db::{Scratch, name, open_app, versions};
use crate::fixture::report_input;
use crate::stats::{Samples, ms, ratio};
use crate::suite::Config;

pub(crate) struct FloorResult {
    pub(crate) backend: Backend,
    pub(crate) settings: String,
    pub(crate) floor: Samples,
    pub(crate) commit: Samples,
    pub(crate) command: Samples,
}

pub(crate) async fn floor(cfg: &Config, backend: Backend, root: &Path) -> Result<FloorResult> {
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

pub(crate) fn print_floor(rs: &[FloorResult], cfg: &Config) {
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
