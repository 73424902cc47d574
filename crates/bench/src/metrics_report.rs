//! How `sluice-bench metrics` prints its results: Markdown tables on stdout,
//! each series with its median, 90th percentile and maximum, against the
//! goal where the issue sets one.

use std::time::Duration;

use crate::db::name;
use crate::metrics::{Outcome, Row};
use crate::metrics_probe::Probe;
use crate::stats::{Samples, ms};

fn verdict(s: &Samples, goal: Option<Duration>) -> String {
    match goal {
        None => "-".into(),
        Some(g) if s.pct(90.0) < g => format!("< {} ms: met", g.as_millis()),
        Some(g) if s.pct(50.0) < g => {
            format!("< {} ms: met at the median, not at p90", g.as_millis())
        }
        Some(g) => format!("< {} ms: NOT met", g.as_millis()),
    }
}

fn print_rows(rows: &[Row]) {
    println!(
        "| measurement | period | runs | median ms | p90 ms | max ms | goal |\n|---|---|--:|--:|--:|--:|---|"
    );
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.what,
            r.period,
            r.samples.0.len(),
            ms(r.samples.pct(50.0)),
            ms(r.samples.pct(90.0)),
            ms(r.samples.max()),
            verdict(&r.samples, r.goal)
        );
    }
}

/// The queries' table, then the whole plans PostgreSQL gave.
fn print_probes(probes: &[Probe]) {
    println!(
        "| query | period | statements | rows | fetch median ms | decode ms | plan |\n|---|---|--:|--:|--:|--:|---|"
    );
    for p in probes {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            p.query,
            p.period,
            p.statements,
            p.rows,
            ms(p.fetch.pct(50.0)),
            p.decode.map_or("-".into(), ms),
            p.plan.first().cloned().unwrap_or_default()
        );
    }
    let detailed: Vec<&Probe> = probes.iter().filter(|p| p.plan.len() > 1).collect();
    if !detailed.is_empty() {
        println!("\nPlans (first statement of each query; long lines cut):\n\n```");
        for p in detailed {
            println!("-- {} ({})", p.query, p.period);
            for l in &p.plan[1..] {
                println!("{l}");
            }
        }
        println!("```");
    }
}

pub(crate) fn print(o: &Outcome) {
    let s = &o.seeding;
    println!("### {}\n\n{}\n", name(o.backend), o.version);
    let phases: Vec<String> = s
        .phases
        .iter()
        .map(|(p, t)| format!("{p} {t:.1} s"))
        .collect();
    println!(
        "- Seeded in {:.0} s ({}): {} releases ({} still candidates, {} rolled back, {} emergency), {} patches ({} in releases), {} deployment records ({} failed deploys), {} incidents, {} audit events ({} implied by these facts, the rest CI re-runs; {} `patch.reopened`, {} scope overrides).",
        o.seed_secs,
        phases.join(", "),
        s.releases,
        s.candidates,
        s.rolled_back,
        s.emergency,
        s.patches,
        s.linked,
        s.deployments,
        s.failed_deploys,
        s.incidents,
        s.events,
        s.implied_events.min(s.events as usize),
        s.reopened_events,
        s.scope_overrides
    );
    for c in &o.checks {
        println!("- {c}");
    }
    println!();
    print_rows(&o.rows);
    println!(
        "\nEach query on its own (5 runs after one warm-up; the read's queries in the order `Store::metrics_facts` runs them, one statement per 500 keys):\n"
    );
    print_probes(&o.probes);
    let (rows, probes) = &o.experiment;
    println!(
        "\nAn experiment on this scratch database after the measurements above, on a new pool: the read as migrated, then after {} (indexes that are not in Sluice's migrations), one right after the other.\n",
        crate::metrics_experiment::CANDIDATES
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    print_rows(rows);
    println!();
    print_probes(probes);
    println!();
}
