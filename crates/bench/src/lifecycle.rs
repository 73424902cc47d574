//! Measurement 2: full patch lifecycles per second, report to verified in
//! production, through the bench process, whose environments run no deploy
//! command.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use sluice_app::PatchQuery;
use sluice_core::decide::TriageInput;
use sluice_core::model::{PatchStatus, Target};
use sluice_store::Backend;

use crate::db::{Scratch, name, open_app};
use crate::fixture::report_input;
use crate::stats::{Samples, ms};

pub(crate) struct LifecycleResult {
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

pub(crate) async fn lifecycles(
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

pub(crate) fn print_lifecycles(rs: &[LifecycleResult]) {
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
