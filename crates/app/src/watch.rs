//! After the release, in the application: acting on a critical signal inside
//! a monitoring window (`decide::react`) wherever it is recorded — opening an
//! incident from the CLI, the API or an alert webhook, or recording a failed
//! after-deploy suite — and, as a safety net, on every scheduler pass; and
//! closing windows whose time is up (`decide::close_watch`). Each trigger is
//! acted on once: its id is recorded as a delivery of source `trigger` in the
//! transaction of the rollback it starts (or of the advice it announces).

use jiff::Timestamp;
use sluice_core::decide::{self, Reaction, Trigger};
use sluice_core::model::{Incident, Patch, Release};
use sluice_store::{Delivery, StoreError};

use crate::timed::SCHEDULER;
use crate::{App, AppError, Origin, Result};

/// The source under which a trigger's id is recorded once.
pub(crate) const TRIGGER: &str = "trigger";

/// What a reaction did, for logs and answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reacted {
    Nothing,
    /// Acted on before (here or by another server).
    Already,
    RolledBack {
        env: String,
        to: String,
    },
    /// The rollback command ran and failed; the release still runs there.
    RollbackFailed {
        env: String,
        why: String,
    },
    Advised {
        env: String,
    },
}

impl App {
    /// Acts on `trigger` about release `version`, once. A failure to act is
    /// logged and reported, never a failure of what recorded the trigger.
    pub(crate) async fn react(
        &self,
        now: Timestamp,
        version: &str,
        trigger: &Trigger<'_>,
    ) -> Reacted {
        // Its own changes, not part of the request's (which recorded the trigger).
        let app = self.with_origin(Origin::default());
        match app.react_inner(now, version, trigger).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(release = version, trigger = %trigger.id(), error = %e, "cannot act on a critical signal");
                Reacted::RollbackFailed {
                    env: String::new(),
                    why: e.to_string(),
                }
            }
        }
    }

    async fn react_inner(
        &self,
        now: Timestamp,
        version: &str,
        trigger: &Trigger<'_>,
    ) -> Result<Reacted> {
        let Some((r, _)) = self.store.release(version).await? else {
            return Ok(Reacted::Nothing);
        };
        let ctx = self.ctx(SCHEDULER, now);
        let reaction = decide::react(&ctx, &r, trigger);
        if reaction != Reaction::Nothing && self.store.delivery_seen(TRIGGER, &trigger.id()).await?
        {
            return Ok(Reacted::Already);
        }
        match reaction {
            Reaction::Nothing => Ok(Reacted::Nothing),
            Reaction::RollBack {
                env,
                trigger,
                reason,
            } => {
                tracing::warn!(release = version, env, trigger, reason, "rolling back");
                match self
                    .rollback_as(SCHEDULER, now, &env, None, Some((&trigger, &reason)))
                    .await
                {
                    Ok(o) => Ok(Reacted::RolledBack { env, to: o.to }),
                    Err(AppError::Store(StoreError::Duplicate(_))) => Ok(Reacted::Already),
                    Err(AppError::Failed(why)) => {
                        tracing::error!(
                            release = version,
                            env,
                            why,
                            "the automatic rollback failed"
                        );
                        Ok(Reacted::RollbackFailed { env, why })
                    }
                    Err(AppError::Refused { summary, unmet }) => {
                        let why = std::iter::once(summary)
                            .chain(unmet.into_iter().map(|u| u.requirement))
                            .collect::<Vec<_>>()
                            .join("; ");
                        tracing::error!(
                            release = version,
                            env,
                            why,
                            "the automatic rollback did not happen"
                        );
                        Ok(Reacted::RollbackFailed { env, why })
                    }
                    Err(e) => Err(e),
                }
            }
            Reaction::Advise { event, trigger } => {
                let env = event.payload["env"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let mut c = self.change(SCHEDULER, now);
                c.events.push(event);
                c.delivery = Some(Delivery {
                    source: TRIGGER.to_string(),
                    id: trigger,
                    received_ms: now.as_millisecond(),
                });
                match self.commit(c).await {
                    Ok(_) => Ok(Reacted::Advised { env }),
                    Err(StoreError::Duplicate(_)) => Ok(Reacted::Already),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The scheduler's part: closes windows whose time is up and acts on any
    /// trigger inside an open one that was not acted on where it was recorded.
    /// Returns what it recorded, as `kind subject`.
    pub(crate) async fn watch_pass(
        &self,
        now: Timestamp,
        releases: &[Release],
    ) -> Result<Vec<String>> {
        let mut done = Vec::new();
        for r in releases
            .iter()
            .filter(|r| r.watches.iter().any(|w| w.ended.is_none()))
        {
            let v = r.version.to_string();
            let incidents = self.incidents_on(&v, false).await?;
            // Safety net: triggers inside open windows.
            for w in r.watches.iter().filter(|w| w.ended.is_none()) {
                for i in incidents
                    .iter()
                    .filter(|i| i.env == w.env && i.opened_at >= w.from && i.opened_at < w.until)
                {
                    if let Reacted::RolledBack { env, .. } =
                        self.react(now, &v, &Trigger::Incident(i)).await
                    {
                        done.push(format!("release.rolled_back {v} in {env}"));
                    }
                }
                for t in r
                    .tests
                    .iter()
                    .filter(|t| t.env == w.env && !t.passed && t.at >= w.from && t.at < w.until)
                {
                    let trigger = Trigger::FailedTest {
                        env: &t.env,
                        suite: &t.suite,
                        at: t.at,
                    };
                    if let Reacted::RolledBack { env, .. } = self.react(now, &v, &trigger).await {
                        done.push(format!("release.rolled_back {v} in {env}"));
                    }
                }
            }
            if let Some(what) = self.close_watch(now, &v, &incidents).await? {
                done.push(what);
            }
        }
        Ok(done)
    }

    /// Closes the window of release `v` whose time is up, once.
    async fn close_watch(
        &self,
        now: Timestamp,
        v: &str,
        incidents: &[Incident],
    ) -> Result<Option<String>> {
        // Read again: a rollback above may have changed it.
        let Some((r, rev)) = self.store.release(v).await? else {
            return Ok(None);
        };
        let ps = self.release_patches(&r).await?;
        let refs: Vec<&Patch> = ps.iter().map(|(p, _)| p).collect();
        let ctx = self.ctx(SCHEDULER, now);
        let Some(closed) = decide::close_watch(&ctx, &r, &refs, incidents) else {
            return Ok(None);
        };
        if self
            .store
            .delivery_seen(crate::timed::TIMER, &closed.key)
            .await?
        {
            return Ok(None);
        }
        let clean = closed.events[0].payload["clean"].as_bool().unwrap_or(false);
        let mut c = self.change(SCHEDULER, now);
        c.releases.push((closed.release, Some(rev)));
        for p in closed.patches {
            let rev = ps
                .iter()
                .find(|(x, _)| x.key == p.key)
                .map(|(_, r)| *r)
                .unwrap_or(0);
            c.patches.push((p, Some(rev)));
        }
        c.events = closed.events;
        c.delivery = Some(Delivery {
            source: crate::timed::TIMER.to_string(),
            id: closed.key,
            received_ms: now.as_millisecond(),
        });
        match self.commit(c).await {
            Ok(_) => Ok(Some(format!(
                "release.watch_ended {v} ({})",
                if clean { "clean" } else { "not clean" }
            ))),
            // Another server's pass closed it, or the release changed meanwhile:
            // the next pass looks again.
            Err(StoreError::Duplicate(_) | StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
