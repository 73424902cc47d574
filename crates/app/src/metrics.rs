//! `sluice metrics`, `GET /api/v1/metrics`, the metrics page and the
//! Prometheus endpoint: the period's facts read through indexed queries, the
//! numbers computed by `sluice_core::metrics`.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sluice_core::metrics::{self, Metrics, Scope};

use crate::wire::MetricsQuery;
use crate::{App, AppError, Result};

/// One week of the four keys, for the charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WeekKeys {
    #[schemars(with = "String")]
    pub since: Timestamp,
    pub deployments: u64,
    pub lead_time_median_seconds: Option<i64>,
    pub change_failure_rate: Option<f64>,
    pub recovery_median_seconds: Option<i64>,
}

impl App {
    /// Resolves the period: `until` defaults to `now`, `since` to 30 days
    /// before `until`. Each is an RFC 3339 time, a date (its start in the
    /// process time zone) or, for `since`, a duration back from `until`
    /// (`12w`, `30d`).
    pub fn metrics_scope(
        &self,
        now: Timestamp,
        ask: &MetricsQuery,
    ) -> Result<(String, Timestamp, Timestamp)> {
        let p = &self.process;
        let env = match &ask.env {
            Some(e) => {
                p.known_environment(e).map_err(AppError::Invalid)?;
                e.clone()
            }
            None => p
                .environments
                .last()
                .map(|e| e.name.clone())
                .ok_or_else(|| AppError::Invalid("the process has no environment".into()))?,
        };
        let until = match &ask.until {
            Some(s) => self.parse_time("until", s)?,
            None => now,
        };
        let since = match &ask.since {
            None => metrics::default_since(until),
            Some(s) => match sluice_core::process::parse_duration(s) {
                Ok(d) => until.checked_sub(d).map_err(|e| {
                    AppError::Invalid(format!("since: `{s}` reaches too far back: {e}"))
                })?,
                Err(_) => self.parse_time("since", s)?,
            },
        };
        if since >= until {
            return Err(AppError::Invalid(format!(
                "since ({since}) must be before until ({until})"
            )));
        }
        Ok((env, since, until))
    }

    fn parse_time(&self, what: &str, s: &str) -> Result<Timestamp> {
        if let Ok(t) = s.parse::<Timestamp>() {
            return Ok(t);
        }
        if let Ok(d) = s.parse::<jiff::civil::Date>() {
            return d
                .to_zoned_datetime(self.process.cadence.timezone.clone())
                .map(|z| z.timestamp())
                .map_err(|e| AppError::Invalid(format!("{what}: {e}")));
        }
        Err(AppError::Invalid(format!(
            "{what}: `{s}` is not a time; write an RFC 3339 time (2026-11-01T09:00:00Z), a date (2026-11-01){}",
            if what == "since" {
                " or a duration back from until (30d, 12w)"
            } else {
                ""
            }
        )))
    }

    /// Every metric of one environment over one period.
    pub async fn metrics(&self, now: Timestamp, ask: &MetricsQuery) -> Result<Metrics> {
        let (env, since, until) = self.metrics_scope(now, ask)?;
        let facts = self
            .store
            .metrics_facts(
                since.as_millisecond(),
                until.as_millisecond(),
                now.as_millisecond(),
            )
            .await?;
        Ok(metrics::compute(
            &self.process,
            &facts,
            Scope {
                env: &env,
                since,
                until,
            },
        ))
    }

    /// The four keys week by week, `weeks` weeks up to `until`, oldest first:
    /// one read of the whole span, then one computation per week.
    pub async fn metrics_by_week(
        &self,
        now: Timestamp,
        env: &str,
        until: Timestamp,
        weeks: u32,
    ) -> Result<Vec<WeekKeys>> {
        let week = SignedDuration::from_hours(24 * 7);
        let span = SignedDuration::from_hours(24 * 7 * i64::from(weeks));
        let start = until.checked_sub(span).unwrap_or(until);
        let facts = self
            .store
            .metrics_facts(
                start.as_millisecond(),
                until.as_millisecond(),
                now.as_millisecond(),
            )
            .await?;
        let mut out = Vec::new();
        let mut from = start;
        while from < until {
            let to = from.checked_add(week).unwrap_or(until).min(until);
            let m = metrics::compute(
                &self.process,
                &facts,
                Scope {
                    env,
                    since: from,
                    until: to,
                },
            );
            out.push(WeekKeys {
                since: from,
                deployments: m.deployment_frequency.deployments,
                lead_time_median_seconds: m.lead_time_for_changes.changes.median_seconds,
                change_failure_rate: m.change_failure_rate.rate,
                recovery_median_seconds: m.failed_deployment_recovery_time.durations.median_seconds,
            });
            from = to;
        }
        Ok(out)
    }

    /// What the Prometheus endpoint counts, now.
    pub async fn metric_counters(&self, now: Timestamp) -> Result<sluice_store::Counters> {
        Ok(self.store.metric_counters(now.as_millisecond()).await?)
    }
}

impl App {
    /// The last 30 days of every environment, from one read of the facts.
    pub async fn metrics_every_env(&self, now: Timestamp) -> Result<Vec<Metrics>> {
        let since = metrics::default_since(now);
        let facts = self
            .store
            .metrics_facts(
                since.as_millisecond(),
                now.as_millisecond(),
                now.as_millisecond(),
            )
            .await?;
        Ok(self
            .process
            .environments
            .iter()
            .map(|e| {
                metrics::compute(
                    &self.process,
                    &facts,
                    Scope {
                        env: &e.name,
                        since,
                        until: now,
                    },
                )
            })
            .collect())
    }
}

/// The Prometheus text exposition (format 0.0.4) of the counters (all time)
/// and of each environment's last 30 days.
pub fn prometheus_text(c: &sluice_store::Counters, window: &[Metrics]) -> String {
    let mut out = Exposition::default();
    let none = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());

    out.family(
        "sluice_deployments_total",
        "counter",
        "Deploy and rollback commands recorded, by environment, action and outcome.",
    );
    for r in &c.deployments {
        out.sample(
            "sluice_deployments_total",
            &[
                ("env", none(&r.labels[0])),
                ("action", none(&r.labels[1])),
                ("outcome", none(&r.labels[2])),
            ],
            r.count as f64,
        );
    }
    let mut opened: std::collections::BTreeMap<(String, String), i64> = Default::default();
    let mut open: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for r in &c.incidents {
        let k = (none(&r.labels[0]), none(&r.labels[1]));
        *opened.entry(k.clone()).or_default() += r.count;
        if r.labels[2].as_deref() == Some("open") {
            *open.entry(k).or_default() += r.count;
        }
    }
    out.family(
        "sluice_incidents_opened_total",
        "counter",
        "Incidents opened, by environment and severity.",
    );
    for ((env, sev), n) in &opened {
        out.sample(
            "sluice_incidents_opened_total",
            &[("env", env.clone()), ("severity", sev.clone())],
            *n as f64,
        );
    }
    out.family(
        "sluice_incidents_open",
        "gauge",
        "Incidents open now, by environment and severity.",
    );
    for (env, sev) in opened.keys() {
        let n = open.get(&(env.clone(), sev.clone())).copied().unwrap_or(0);
        out.sample(
            "sluice_incidents_open",
            &[("env", env.clone()), ("severity", sev.clone())],
            n as f64,
        );
    }
    let mut reported: std::collections::BTreeMap<String, i64> = Default::default();
    let mut open_p: std::collections::BTreeMap<String, i64> = Default::default();
    for r in &c.patches {
        let s = none(&r.labels[0]);
        *reported.entry(s.clone()).or_default() += r.count;
        if r.labels[1].as_deref() == Some("open") {
            *open_p.entry(s).or_default() += r.count;
        }
    }
    out.family(
        "sluice_patches_reported_total",
        "counter",
        "Patches reported, by severity (none: not triaged).",
    );
    for (s, n) in &reported {
        out.sample(
            "sluice_patches_reported_total",
            &[("severity", s.clone())],
            *n as f64,
        );
    }
    out.family(
        "sluice_patches_open",
        "gauge",
        "Patches open now, by severity.",
    );
    for s in reported.keys() {
        out.sample(
            "sluice_patches_open",
            &[("severity", s.clone())],
            open_p.get(s).copied().unwrap_or(0) as f64,
        );
    }
    out.family(
        "sluice_patches_overdue",
        "gauge",
        "Open patches past their deadline now, by severity.",
    );
    for s in reported.keys() {
        let n = c
            .overdue
            .iter()
            .find(|r| none(&r.labels[0]) == *s)
            .map_or(0, |r| r.count);
        out.sample(
            "sluice_patches_overdue",
            &[("severity", s.clone())],
            n as f64,
        );
    }
    out.family(
        "sluice_audit_events_total",
        "counter",
        "Events in the audit log.",
    );
    out.sample("sluice_audit_events_total", &[], c.events as f64);

    // The last 30 days, per environment.
    let env = |m: &Metrics| ("env", m.env.clone());
    out.family(
        "sluice_deployments_per_week",
        "gauge",
        "Deployments per week over the last 30 days (docs/METRICS.md).",
    );
    for m in window {
        out.sample(
            "sluice_deployments_per_week",
            &[env(m)],
            m.deployment_frequency.per_week,
        );
    }
    for (name, help, pick) in [
        (
            "sluice_change_failure_ratio",
            "Change failure rate over the last 30 days (0-1; absent without deployments).",
            (|m: &Metrics| m.change_failure_rate.rate) as fn(&Metrics) -> Option<f64>,
        ),
        (
            "sluice_deployment_rework_ratio",
            "Deployment rework rate over the last 30 days (0-1).",
            |m: &Metrics| m.deployment_rework_rate.rate,
        ),
        (
            "sluice_patch_success_ratio",
            "Patch success rate over the last 30 days (0-1).",
            |m: &Metrics| m.patch_success_rate.rate,
        ),
    ] {
        out.family(name, "gauge", help);
        for m in window {
            if let Some(v) = pick(m) {
                out.sample(name, &[env(m)], v);
            }
        }
    }
    out.family(
        "sluice_deadline_met_ratio",
        "gauge",
        "Patches that entered the environment by their deadline over the last 30 days (0-1), by severity.",
    );
    for m in window {
        for d in &m.deadline_compliance {
            if let Some(r) = d.rate {
                out.sample(
                    "sluice_deadline_met_ratio",
                    &[env(m), ("severity", d.severity.clone())],
                    r,
                );
            }
        }
    }
    let summaries: [(&str, &str, SummaryPick); 3] = [
        (
            "sluice_lead_time_for_changes_seconds",
            "From the first commit of a release's patches to its deployment, last 30 days.",
            |m| vec![(vec![], m.lead_time_for_changes.changes.clone())],
        ),
        (
            "sluice_failed_deployment_recovery_seconds",
            "From a deployment's failure to a good release running again, last 30 days.",
            |m| vec![(vec![], m.failed_deployment_recovery_time.durations.clone())],
        ),
        (
            "sluice_patch_lead_time_seconds",
            "From a patch's report to its release entering the environment, last 30 days, by severity.",
            |m| {
                m.lead_time_for_changes
                    .patches
                    .iter()
                    .map(|s| (vec![("severity", s.severity.clone())], s.durations.clone()))
                    .collect()
            },
        ),
    ];
    for (name, help, pick) in summaries {
        out.family(name, "summary", help);
        for m in window {
            for (extra, d) in pick(m) {
                let mut labels = vec![env(m)];
                labels.extend(extra);
                for (q, v) in [("0.5", d.median_seconds), ("0.9", d.p90_seconds)] {
                    if let Some(v) = v {
                        let mut l = labels.clone();
                        l.push(("quantile", q.into()));
                        out.sample(name, &l, v as f64);
                    }
                }
                out.sample(&format!("{name}_sum"), &labels, d.total_seconds as f64);
                out.sample(&format!("{name}_count"), &labels, d.count as f64);
            }
        }
    }
    out.text
}

use sluice_core::metrics::Durations;

/// The durations a summary reports for one environment, with extra labels.
type SummaryPick = fn(&Metrics) -> Vec<(Vec<(&'static str, String)>, Durations)>;

/// Writes the text format: `# HELP`, `# TYPE`, then samples with escaped labels.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        use std::fmt::Write;
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, String)], v: f64) {
        use std::fmt::Write;
        self.text.push_str(name);
        if !labels.is_empty() {
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| {
                    let v = v
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n");
                    format!("{k}=\"{v}\"")
                })
                .collect();
            let _ = write!(self.text, "{{{}}}", l.join(","));
        }
        let _ = writeln!(self.text, " {v}");
    }
}

impl App {
    /// The bearer token Prometheus must send to `/metrics` (`[server]
    /// metrics_token`), resolved from the environment like every `${VAR}`
    /// of the process file; `None` when the process sets none, an error
    /// naming the variable when it is not set.
    pub fn metrics_token(&self) -> Option<std::result::Result<String, String>> {
        let reference = self.process.server.metrics_token.as_ref()?;
        let env: crate::sending::EnvLookup = Box::new(|k| std::env::var(k).ok());
        Some(
            crate::sending::resolve(&env, "metrics_token", "[server]", reference)
                .map_err(|e| e.message),
        )
    }
}
