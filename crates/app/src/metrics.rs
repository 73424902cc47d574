//! `sluice metrics`, `GET /api/v1/metrics`, the metrics page and the
//! Prometheus endpoint: the period's facts read through indexed queries, the
//! numbers computed by `sluice_core::metrics`.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sluice_core::metrics::{self, Metrics, Scope};

use crate::{App, AppError, Result};

/// The period and environment a metrics request asks for, as written.
#[derive(Debug, Clone, Default)]
pub struct MetricsAsk {
    pub env: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

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
        ask: &MetricsAsk,
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
    pub async fn metrics(&self, now: Timestamp, ask: &MetricsAsk) -> Result<Metrics> {
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
