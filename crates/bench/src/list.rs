//! Measurement 3: `patch list` over 100,000 seeded patches, through
//! `App::list_patches` and through the whole `sluice` binary.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use jiff::Timestamp;
use sluice_app::PatchQuery;
use sluice_store::Backend;
use sqlx::Executor;

use crate::db::{Scratch, name, open_app};
use crate::seed::seed;
use crate::stats::{Samples, ms};
use crate::suite::Config;

pub(crate) struct ListResult {
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

pub(crate) async fn list(cfg: &Config, backend: Backend, root: &Path) -> Result<ListResult> {
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

pub(crate) fn print_list(rs: &[ListResult], cfg: &Config) {
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
