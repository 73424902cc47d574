//! The scheduler's pass: reads what time could have made true, asks the core
//! which facts are due (`decide::due`), and records each one exactly once as
//! an event routed through the stakeholder matrix like any other. `sluice
//! serve` runs a pass every [`TICK_EVERY`]; `sluice tick` runs one (cron).

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sluice_core::decide::{self, Clock, Waiting, next_env};
use sluice_core::model::{Outcome, Patch, ReleaseStatus};
use sluice_store::{Delivery, PatchQuery, StoreError};

use crate::{App, Result};

/// How often `sluice serve` runs a scheduler pass.
pub const TICK_EVERY: Duration = Duration::from_secs(30);

/// The actor timed events are recorded as.
pub const SCHEDULER: &str = sluice_core::decide::SCHEDULER;

/// The source under which timed facts are recorded once: the fact's key is
/// the delivery id, unique in the store, written in the event's transaction.
pub(crate) const TIMER: &str = "timer";

/// What one pass did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TickReport {
    /// The facts this pass recorded, as `kind subject`.
    pub recorded: Vec<String>,
    /// Facts due that an earlier pass (or another server) had recorded.
    pub already: usize,
}

impl App {
    /// One scheduler pass at `now`.
    pub async fn timed_pass(&self, now: Timestamp) -> Result<TickReport> {
        let ctx = self.ctx(SCHEDULER, now);
        let patches: Vec<Patch> = self
            .store
            .patches(&PatchQuery {
                limit: 0,
                ..Default::default()
            })
            .await?
            .patches;
        let candidates = self
            .store
            .releases_with_status(ReleaseStatus::Candidate, 0)
            .await?;
        let released = self
            .store
            .releases_with_status(ReleaseStatus::Released, 500)
            .await?;
        let mut waiting_on = Vec::new();
        for r in &candidates {
            let Some(env) = next_env(&ctx, r) else {
                continue;
            };
            let v = r.version.to_string();
            // Waiting since it last entered an environment, or since it was cut.
            let since = self
                .store
                .deployments(None, Some(&v))
                .await?
                .iter()
                .filter(|d| d.outcome == Outcome::Succeeded)
                .filter_map(|d| d.finished_at)
                .max()
                .unwrap_or(r.created_at);
            let ps = self.release_patches(r).await?;
            let refs: Vec<&Patch> = ps.iter().map(|(p, _)| p).collect();
            let incidents = self.open_incidents_on(&v).await?;
            let mut roles: Vec<String> = self
                .gate_for(now, r, &refs, &incidents)
                .map(|g| g.unmet.into_iter().flat_map(|u| u.responsible).collect())
                .unwrap_or_default();
            roles.sort();
            roles.dedup();
            waiting_on.push((r, env.name.as_str(), since, roles));
        }
        let waiting: Vec<Waiting> = waiting_on
            .into_iter()
            .map(|(release, env, since, waiting_on)| Waiting {
                release,
                env,
                since,
                waiting_on,
            })
            .collect();
        let mut releases = candidates.clone();
        releases.extend(released);
        // Rolled-back releases still owe their retrospectives.
        releases.extend(
            self.store
                .releases_with_status(ReleaseStatus::RolledBack, 500)
                .await?,
        );
        let clock = Clock {
            patches: &patches,
            waiting: &waiting,
            releases: &releases,
        };
        let mut report = TickReport {
            recorded: self.watch_pass(now, &releases).await?,
            already: 0,
        };
        for d in decide::due(&ctx, &clock) {
            if self.store.delivery_seen(TIMER, &d.key).await? {
                report.already += 1;
                continue;
            }
            let what = format!("{} {}", d.event.kind, d.event.subject);
            let mut c = self.change(SCHEDULER, now);
            c.events.push(d.event);
            c.delivery = Some(Delivery {
                source: TIMER.to_string(),
                id: d.key,
                received_ms: now.as_millisecond(),
            });
            match self.commit(c).await {
                Ok(_) => report.recorded.push(what),
                // Another server's pass recorded it first.
                Err(StoreError::Duplicate(_)) => report.already += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }
}
