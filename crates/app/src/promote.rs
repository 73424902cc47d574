//! `promote` and `rollback`: gate check, the environment's command, and the
//! recorded outcome. Each is two transactions around the command: the first
//! claims the release (so a second promotion conflicts instead of deploying
//! twice), the second records what happened.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sluice_core::decide::{self, RunResult};
use sluice_core::model::{
    Deployment, DeploymentAction, EnvState, Outcome, Patch, Release, ReleaseStatus,
};
use sluice_store::StoreError;

use crate::runner::{self, expand, run_command};

/// A running deployment not heard of for this long is abandoned: the process
/// running it renews it every quarter of this.
pub const DEPLOY_LEASE_MS: i64 = 20_000;

/// Who records the end of a deployment whose own process died.
pub const SYSTEM_ACTOR: &str = "sluice";
use crate::{App, AppError, Result};

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PromoteOutcome {
    pub release: Release,
    pub deployment: Deployment,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RollbackOutcome {
    pub release: Release,
    pub to: String,
    pub deployment: Deployment,
}

pub(crate) fn deployment_id(now: Timestamp) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "D{}-{}-{}",
        now.as_millisecond(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// How a deploy or rollback command that did not succeed ended.
fn how_it_ended(d: &Deployment, timeout: jiff::SignedDuration) -> String {
    match (d.outcome, d.exit_code) {
        (Outcome::TimedOut, _) => format!(
            "timed out: still running after the deploy_timeout of {}, so it was stopped",
            sluice_core::process::format_duration(timeout)
        ),
        (_, Some(c)) => format!("failed with exit status {c}"),
        (_, None) => "failed: the command could not run or was killed".to_string(),
    }
}

/// The last lines of a command's output for a message.
fn output_tail(d: &Deployment) -> String {
    match command_output(d, 20, "    ") {
        Some(t) => format!("\n  {t}"),
        None => "\n  (the command printed nothing)".to_string(),
    }
}

/// What a deploy or rollback command printed, at most its last `n` lines, each
/// indented: `its output:` (or `its output, last N of M lines:`) and the
/// lines; `None` when it printed nothing. The CLI shows the same after a
/// success.
pub fn command_output(d: &Deployment, n: usize, indent: &str) -> Option<String> {
    let out = d.output.as_deref().unwrap_or("").trim_end();
    if out.is_empty() {
        return None;
    }
    let lines: Vec<&str> = out.lines().collect();
    let tail = &lines[lines.len().saturating_sub(n)..];
    let head = if lines.len() > tail.len() {
        format!("its output, last {} of {} lines:", tail.len(), lines.len())
    } else {
        "its output:".to_string()
    };
    let body: Vec<String> = tail.iter().map(|l| format!("{indent}{l}")).collect();
    Some(format!("{head}\n{}", body.join("\n")))
}

/// When a command that started at `now` (on the caller's clock) finished:
/// `now` plus the time the run took, measured, so that a command given its
/// time (a script replaying a history, a test) stays on that clock.
fn later(now: Timestamp, run: std::time::Instant) -> Timestamp {
    SignedDuration::try_from(run.elapsed())
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(now)
}

fn conflict(what: &str, e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(_) => AppError::Conflict(format!(
            "conflict: {what} changed while this command ran (another promotion, approval or change came first); nothing was deployed and nothing written. See `sluice release show`, then run it again if it still applies"
        )),
        e => e.into(),
    }
}

/// The environment's row written back unchanged with the revision it was
/// read at: of two deployments started into one environment at once, the
/// second one's commit conflicts, so they never overlap.
fn env_lock(env: &str, row: &Option<(EnvState, i64)>) -> (EnvState, Option<i64>) {
    match row {
        Some((s, rev)) => (s.clone(), Some(*rev)),
        None => (
            EnvState {
                env: env.to_string(),
                release: None,
                since: None,
            },
            None,
        ),
    }
}

impl App {
    /// Reads `env`'s row for a deployment about to start (after the abandoned
    /// ones were ended); refuses while another deployment into `env` runs.
    async fn environment_free(&self, env: &str) -> Result<Option<(EnvState, i64)>> {
        let running = self.store.running_deployments().await?;
        if let Some((d, _, _)) = running.iter().find(|(d, _, _)| d.env == env) {
            return Err(AppError::Refused {
                summary: format!("a deployment into `{env}` is running"),
                unmet: vec![
                    decide::Unmet::new(format!(
                        "{} {} into `{env}`, started by {} at {}, to finish first (it ends by {}s after its start at the latest)",
                        d.action.as_str(),
                        d.release,
                        d.actor,
                        d.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                        self.process
                            .environment(env)
                            .map(|(_, e)| e.deploy_timeout.as_secs())
                            .unwrap_or(0)
                    ))
                    .hint(format!("sluice status    # then run this again once `{env}` is free")),
                ],
            });
        }
        Ok(self.store.environment(env).await?)
    }

    /// Ends every deployment whose process is gone: its runner on this host has
    /// exited, or it has not been heard of for [`DEPLOY_LEASE_MS`]. What is left
    /// of its command here is killed, and it is recorded as failed with the
    /// reason, so no deployment stays `running` after its server crashed.
    /// Returns the ids it ended. Runs when a server starts, every few seconds
    /// while it serves, and before any deployment starts.
    pub async fn resolve_abandoned(&self, now: Timestamp) -> Result<Vec<String>> {
        let mut ended = Vec::new();
        for (d, runner, heard_ms) in self.store.running_deployments().await? {
            let exited = runner.as_deref().is_some_and(runner::runner_gone);
            let silent = now.as_millisecond() - heard_ms > DEPLOY_LEASE_MS;
            if !exited && !silent {
                continue;
            }
            let killed = runner::kill_leftovers(&d.id);
            let heard = Timestamp::from_millisecond(heard_ms)
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            let why = format!(
                "[sluice: the process running this {} stopped before it finished ({}; last heard of at {heard}); {killed} left-over process(es) of its command killed. Check what `{}` runs before trying again.]",
                d.action.as_str(),
                if exited {
                    "it exited"
                } else {
                    "no word from it"
                },
                d.env
            );
            match self.abandon(&d, why, now).await {
                Ok(()) => ended.push(d.id.clone()),
                // Another server ended it first.
                Err(AppError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ended)
    }

    async fn abandon(&self, d: &Deployment, why: String, now: Timestamp) -> Result<()> {
        let (mut r, rev) = self.release_rev(&d.release).await?;
        let ps = self.release_patches(&r).await?;
        let refs: Vec<&Patch> = ps.iter().map(|(p, _)| p).collect();
        let run = RunResult {
            outcome: Some(Outcome::Failed),
            command: None,
            exit_code: None,
            output: Some(why),
        };
        let ctx = self.ctx(SYSTEM_ACTOR, now);
        let (f, holds) = match d.action {
            DeploymentAction::Deploy => (
                decide::finish_promotion(&ctx, &r, d, &refs, run)?,
                d.release.clone(),
            ),
            DeploymentAction::Rollback => {
                let to = d.to_release.clone().unwrap_or_default();
                if r.in_flight.as_ref().is_some_and(|f| f.deployment == d.id) {
                    r.in_flight = None;
                }
                (decide::finish_rollback(&ctx, &r, &to, d, &refs, run), to)
            }
        };
        self.record_finished(SYSTEM_ACTOR, now, &f, rev, &ps, &d.env, &holds)
            .await
    }

    /// What an environment ran, oldest first, from its deployments: each
    /// release a deploy brought or a rollback returned to, leaving out the
    /// releases that were rolled back. Rollback targets come from it.
    pub(crate) fn env_history(
        deps: &[Deployment],
        rolled_back: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        deps.iter()
            .filter(|d| d.outcome == Outcome::Succeeded)
            .filter_map(|d| match d.action {
                DeploymentAction::Deploy => Some(d.release.clone()),
                DeploymentAction::Rollback => d.to_release.clone(),
            })
            .filter(|v| !rolled_back(v))
            .collect()
    }

    /// Runs an environment's deploy or rollback command, if it has one, with
    /// only the variables the environment passes, saying every few seconds
    /// that this process still runs deployment `id` (see [`App::resolve_abandoned`]).
    async fn run_env_command(
        &self,
        id: &str,
        template: Option<&sluice_core::process::CommandTemplate>,
        version: &str,
        previous: &str,
        e: &sluice_core::process::Environment,
    ) -> RunResult {
        let Some(t) = template else {
            return RunResult::default();
        };
        let env = e.name.as_str();
        let argv = expand(
            t,
            &[("version", version), ("previous", previous), ("env", env)],
        );
        let vars = runner::command_env(
            &e.env,
            &[
                ("SLUICE_VERSION", version),
                ("SLUICE_PREVIOUS", previous),
                ("SLUICE_ENV", env),
                ("SLUICE_DEPLOYMENT", id),
            ],
        );
        let timeout = Duration::from_secs(e.deploy_timeout.as_secs().max(1) as u64);
        let me = runner::this_runner().unwrap_or_else(|| format!("pid {}", std::process::id()));
        let heartbeat = async {
            loop {
                let now = Timestamp::now().as_millisecond();
                if let Err(err) = self.store.deployment_heartbeat(id, &me, now).await {
                    eprintln!("warning: cannot record that deployment {id} still runs: {err}");
                }
                tokio::time::sleep(Duration::from_millis((DEPLOY_LEASE_MS / 4) as u64)).await;
            }
        };
        let out = tokio::select! {
            out = run_command(argv, &self.root, &vars, timeout, self.output.as_deref()) => out,
            never = heartbeat => never,
        };
        RunResult {
            outcome: Some(out.outcome),
            command: Some(out.argv),
            exit_code: out.exit_code,
            output: Some(out.output),
        }
    }

    /// Records a finished promotion or rollback: the release, the deployment, the
    /// patches it changed and, on success, what the environment now holds.
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one finished deployment"
    )]
    async fn record_finished(
        &self,
        actor: &str,
        done: Timestamp,
        f: &decide::Finished,
        rev: i64,
        patch_revs: &[(Patch, i64)],
        env: &str,
        holds: &str,
    ) -> Result<()> {
        let mut c = self.change(actor, done);
        c.releases.push((f.release.clone(), Some(rev)));
        c.deployments.push(f.deployment.clone());
        for p in &f.patches {
            let rev = patch_revs
                .iter()
                .find(|(x, _)| x.key == p.key)
                .map(|(_, r)| *r)
                .unwrap_or(0);
            c.patches.push((p.clone(), Some(rev)));
        }
        if f.deployment.outcome == Outcome::Succeeded {
            let env_rev = self.store.environment(env).await?.map(|(_, r)| r);
            c.environments.push((
                EnvState {
                    env: env.to_string(),
                    release: Some(holds.to_string()),
                    since: Some(done),
                },
                env_rev,
            ));
        }
        c.events = f.events.clone();
        self.commit(c).await?;
        Ok(())
    }

    /// `promote`: checks the gate into `env`, runs its deploy command and records the outcome.
    pub async fn promote(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        env: &str,
        emergency_reason: Option<&str>,
    ) -> Result<PromoteOutcome> {
        // A promotion its crashed server left behind must not hold this one.
        self.resolve_abandoned(now).await?;
        let (r, rev) = self.release_rev(version).await?;
        let ps = self.release_patches(&r).await?;
        let refs: Vec<&Patch> = ps.iter().map(|(p, _)| p).collect();
        let incidents = self.open_incidents_on(&r.version.to_string()).await?;
        let id = deployment_id(now);
        let ctx = self.ctx(actor, now);
        let (claimed, dep, ev) =
            decide::start_promotion(&ctx, &r, &refs, &incidents, env, emergency_reason, &id)?;
        let v = r.version.to_string();
        let env_row = self.environment_free(env).await?;
        let mut c = self.change(actor, now);
        c.releases.push((claimed, Some(rev)));
        c.deployments.push(dep.clone());
        c.events.push(ev);
        c.environments.push(env_lock(env, &env_row));
        self.commit(c)
            .await
            .map_err(|e| conflict(&format!("release {v}"), e))?;

        let (_, e) = self
            .process
            .environment(env)
            .expect("checked by the decider");
        let previous = env_row
            .as_ref()
            .and_then(|(s, _)| s.release.clone())
            .unwrap_or_default();
        let t0 = std::time::Instant::now();
        let run = self
            .run_env_command(&id, e.deploy.as_ref(), &v, &previous, e)
            .await;
        let done = later(now, t0);
        let (r2, rev2) = self.release_rev(&v).await?;
        let ps2 = self.release_patches(&r2).await?;
        let refs2: Vec<&Patch> = ps2.iter().map(|(p, _)| p).collect();
        let f = decide::finish_promotion(&self.ctx(actor, done), &r2, &dep, &refs2, run)?;
        self.record_finished(actor, done, &f, rev2, &ps2, env, &v)
            .await?;
        self.refresh_evidence(&v).await;
        if f.deployment.outcome != Outcome::Succeeded {
            return Err(AppError::Failed(format!(
                "deploying {v} to `{env}` {}; {v} stays where it was{}",
                how_it_ended(&f.deployment, e.deploy_timeout),
                output_tail(&f.deployment)
            )));
        }
        Ok(PromoteOutcome {
            release: f.release,
            deployment: f.deployment,
        })
    }

    /// `rollback`: returns `env` to an earlier release by its rollback command; the
    /// rolled-back release's patches reopen.
    pub async fn rollback(
        &self,
        actor: &str,
        now: Timestamp,
        env: &str,
        to: Option<&str>,
    ) -> Result<RollbackOutcome> {
        self.rollback_as(actor, now, env, to, None).await
    }

    /// [`App::rollback`], or with `auto` (trigger id, reason) the rollback a
    /// critical signal inside a monitoring window sets off: no role is asked
    /// for, the trigger is recorded with it, and the trigger's key makes it
    /// one attempt per trigger.
    pub(crate) async fn rollback_as(
        &self,
        actor: &str,
        now: Timestamp,
        env: &str,
        to: Option<&str>,
        auto: Option<(&str, &str)>,
    ) -> Result<RollbackOutcome> {
        self.resolve_abandoned(now).await?;
        let to = to
            .map(crate::releases::parse_version)
            .transpose()?
            .map(|v| v.to_string());
        let state = self.store.environment(env).await?;
        let current = match state.as_ref().and_then(|(s, _)| s.release.clone()) {
            Some(v) => Some(self.release_rev(&v).await?),
            None => None,
        };
        let deps = self.store.deployments(Some(env), None).await?;
        let releases = self.store.releases().await?;
        let history = Self::env_history(&deps, |v| {
            releases
                .iter()
                .any(|r| r.version.to_string() == v && r.status == ReleaseStatus::RolledBack)
        });
        let ctx = self.ctx(actor, now);
        // Git's release below the current one, for the refusal's hint when the history
        // has nothing to go back to.
        let earlier = match &current {
            Some((r, _)) => crate::vcs::release_tags(&self.process, self.git.as_ref(), "HEAD")?
                .stable_below(&r.version)
                .map(|t| t.version.to_string()),
            None => None,
        };
        // A person must hold the role; the automatic rollback a trigger
        // sets off (decided by `decide::react`) asks no one.
        if auto.is_none() {
            decide::may_roll_back(&ctx)?;
        }
        let target = decide::plan_rollback_target(
            &ctx,
            env,
            current.as_ref().map(|(r, _)| r),
            &history,
            to.as_deref(),
            earlier.as_deref(),
        )?;
        let with_trigger = |e: &mut sluice_core::event::Event| {
            if let (Some((trigger, reason)), Some(o)) = (auto, e.payload.as_object_mut()) {
                o.insert("trigger".into(), trigger.into());
                o.insert("reason".into(), reason.into());
            }
        };
        let (cur, rev) = current.expect("plan_rollback refuses an empty environment");
        let v = cur.version.to_string();
        let id = deployment_id(now);
        let (claimed, dep, mut ev) = decide::start_rollback(&ctx, &cur, env, &target, &id)?;
        with_trigger(&mut ev);
        let env_row = self.environment_free(env).await?;
        let mut c = self.change(actor, now);
        if let Some((trigger, _)) = auto {
            c.delivery = Some(sluice_store::Delivery {
                source: crate::watch::TRIGGER.to_string(),
                id: trigger.to_string(),
                received_ms: now.as_millisecond(),
            });
        }
        c.releases.push((claimed, Some(rev)));
        c.deployments.push(dep.clone());
        c.events.push(ev);
        c.environments.push(env_lock(env, &env_row));
        self.commit(c)
            .await
            .map_err(|e| conflict(&format!("release {v}"), e))?;

        let (_, e) = self
            .process
            .environment(env)
            .expect("checked by the decider");
        let t0 = std::time::Instant::now();
        let run = self
            .run_env_command(&id, e.rollback.as_ref(), &v, &target, e)
            .await;
        let done = later(now, t0);
        let (mut r2, rev2) = self.release_rev(&v).await?;
        r2.in_flight = None;
        let ps = self.release_patches(&r2).await?;
        let refs: Vec<&Patch> = ps.iter().map(|(p, _)| p).collect();
        let mut f = decide::finish_rollback(&self.ctx(actor, done), &r2, &target, &dep, &refs, run);
        f.events.iter_mut().for_each(with_trigger);
        self.record_finished(actor, done, &f, rev2, &ps, env, &target)
            .await?;
        self.refresh_evidence(&v).await;
        if f.deployment.outcome != Outcome::Succeeded {
            return Err(AppError::Failed(format!(
                "rolling back `{env}` from {v} to {target} {}; `{env}` still holds {v}{}",
                how_it_ended(&f.deployment, e.deploy_timeout),
                output_tail(&f.deployment)
            )));
        }
        Ok(RollbackOutcome {
            release: f.release,
            to: target,
            deployment: f.deployment,
        })
    }
}
