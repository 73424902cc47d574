//! `metrics`: the four DORA keys, rework, patch success, deadlines by
//! severity and where releases wait, over a period (docs/METRICS.md).

use jiff::Timestamp;
use sluice_app::views::human_secs as human;
use sluice_app::wire;
use sluice_core::metrics::{Durations, Metrics, Rate};

use crate::backend::Backend;
use crate::output::{self, Failure};
use crate::{Cli, context};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment (default: the last one, production).
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Start of the period: an RFC 3339 time, a date (its start in the process
    /// time zone), or a duration back from --until (30d, 12w). Default: 30d.
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// End of the period (excluded): an RFC 3339 time or a date. Default: now.
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
}

fn durations(d: &Durations) -> String {
    match (d.median_seconds, d.p90_seconds) {
        (Some(m), Some(p)) => format!(
            "median {}, p90 {} ({} measured)",
            human(m),
            human(p),
            d.count
        ),
        _ => "none measured".into(),
    }
}

fn rate(r: &Rate) -> String {
    match r.rate {
        Some(x) => format!("{:.1}% ({}/{})", x * 100.0, r.numerator, r.denominator),
        None => "none (0/0)".into(),
    }
}

pub async fn run(cli: &Cli, app: &Backend, now: Timestamp, a: &Args) -> Result<(), Failure> {
    let actor = context::actor(cli, app)?;
    let q = wire::MetricsQuery {
        env: a.env.clone(),
        since: a.since.clone(),
        until: a.until.clone(),
    };
    let m = app.run(&actor, now, &[], q).await?;
    if cli.json {
        output::json(&m);
        return Ok(());
    }
    print(&m);
    Ok(())
}

fn print(m: &Metrics) {
    let day = |t: Timestamp| t.strftime("%Y-%m-%d %H:%M UTC").to_string();
    outln!(
        "metrics of `{}` from {} to {}",
        m.env,
        day(m.since),
        day(m.until)
    );
    let f = &m.deployment_frequency;
    let mut t = output::table(&["metric", "value"]);
    t.add_row(vec![
        "deployment frequency".into(),
        format!(
            "{} deployments, {:.2}/week ({})",
            f.deployments, f.per_week, f.bucket
        ),
    ]);
    t.add_row(vec![
        "lead time for changes".into(),
        durations(&m.lead_time_for_changes.changes),
    ]);
    t.add_row(vec![
        "change failure rate".into(),
        rate(&m.change_failure_rate),
    ]);
    let r = &m.failed_deployment_recovery_time;
    t.add_row(vec![
        "failed deployment recovery time".into(),
        format!("{}; {} unrecovered", durations(&r.durations), r.unrecovered),
    ]);
    t.add_row(vec![
        "deployment rework rate".into(),
        rate(&m.deployment_rework_rate),
    ]);
    t.add_row(vec![
        "patch success rate".into(),
        rate(&m.patch_success_rate),
    ]);
    let c = &m.counts;
    t.add_row(vec![
        "rollbacks".into(),
        format!(
            "{} manual, {} automatic",
            c.rollbacks_manual, c.rollbacks_automatic
        ),
    ]);
    t.add_row(vec![
        "emergency promotions".into(),
        format!(
            "{} ({} outside a window or in a freeze)",
            c.emergency_promotions, c.freeze_overrides
        ),
    ]);
    t.add_row(vec![
        "scope overrides".into(),
        c.scope_overrides.to_string(),
    ]);
    t.add_row(vec![
        "failed deployments".into(),
        c.failed_deployments.to_string(),
    ]);
    let incidents: Vec<String> = c
        .incidents
        .iter()
        .map(|s| format!("{} {}", s.count, s.severity))
        .collect();
    t.add_row(vec![
        "incidents".into(),
        if incidents.is_empty() {
            "none".into()
        } else {
            format!(
                "{} ({} on no release)",
                incidents.join(", "),
                c.incidents_without_release
            )
        },
    ]);
    output::print_table(&t);

    if !m.deadline_compliance.is_empty() || !m.lead_time_for_changes.patches.is_empty() {
        outln!();
        outln!("by severity:");
        let mut t = output::table(&[
            "severity",
            "fix within",
            "deadline met",
            "open, overdue",
            "report to environment",
        ]);
        for d in &m.deadline_compliance {
            let lead = m
                .lead_time_for_changes
                .patches
                .iter()
                .find(|s| s.severity == d.severity)
                .map(|s| durations(&s.durations))
                .unwrap_or_default();
            t.add_row(vec![
                d.severity.clone(),
                d.fix_within_seconds.map(human).unwrap_or("-".into()),
                match d.rate {
                    Some(x) => format!("{:.1}% ({}/{})", x * 100.0, d.met, d.total),
                    None => "-".into(),
                },
                d.open_overdue.to_string(),
                lead,
            ]);
        }
        output::print_table(&t);
    }
    if !m.waiting.requirements.is_empty() {
        outln!();
        outln!("where releases wait:");
        let mut t = output::table(&["gate", "waiting for", "total", "median"]);
        for r in m
            .waiting
            .requirements
            .iter()
            .filter(|r| r.durations.total_seconds > 0)
        {
            t.add_row(vec![
                format!("into {}", r.env),
                format!("{} {}", r.kind, r.name),
                human(r.durations.total_seconds),
                r.durations.median_seconds.map(human).unwrap_or_default(),
            ]);
        }
        output::print_table(&t);
        let who: Vec<String> = m
            .waiting
            .waited_on
            .iter()
            .take(5)
            .map(|w| format!("{} {}", w.who, human(w.durations.total_seconds)))
            .collect();
        if !who.is_empty() {
            outln!("waited on most: {}", who.join(", "));
        }
    }
}
