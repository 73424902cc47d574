//! Promotion, deployment outcomes, rollback, test results, approvals and the
//! checklist: everything that moves a release through the environments.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::gate::evaluate_gate;
use super::{Ctx, Decision, Denied, Unmet, require_step};
use crate::event::Event;
use crate::model::{
    Approval, ApprovalKind, ChecklistTick, Deployment, DeploymentAction, FollowUp, InFlight,
    Incident, Outcome, Patch, PatchStatus, Release, ReleaseStatus, TestRun,
};
use crate::process::{Environment, Step};

fn env<'p>(ctx: &Ctx<'p>, name: &str) -> Decision<(usize, &'p Environment)> {
    ctx.process.known_environment(name).map_err(Denied::Invalid)
}

/// Runs of one suite in one environment a release keeps (the latest counts;
/// all of them are in the audit log).
pub const TEST_RUNS_KEPT: usize = 20;

/// Does any patch in the release have a severity that opens the emergency lane?
pub fn emergency_eligible(ctx: &Ctx, patches: &[&Patch]) -> bool {
    patches.iter().any(|p| {
        p.severity
            .as_deref()
            .and_then(|s| ctx.process.severity(s))
            .is_some_and(|s| s.emergency)
    })
}

/// `promote`, first half: checks the gate and marks the promotion as running.
pub fn start_promotion(
    ctx: &Ctx,
    r: &Release,
    patches: &[&Patch],
    incidents: &[Incident],
    to: &str,
    emergency_reason: Option<&str>,
    deployment_id: &str,
) -> Decision<(Release, Deployment, Event)> {
    require_step(ctx, Step::Release, "promote releases")?;
    let (_, e) = env(ctx, to)?;
    // A promotion whose process died long ago no longer blocks.
    let mut base = r.clone();
    if base
        .in_flight
        .as_ref()
        .is_some_and(|f| f.expires_at < ctx.now)
    {
        base.in_flight = None;
    }
    if emergency_reason.is_some_and(|s| s.trim().is_empty()) {
        return Err(Denied::Invalid(
            "the emergency lane needs a --reason".into(),
        ));
    }
    let gate = evaluate_gate(
        ctx,
        &base,
        e,
        emergency_reason.is_some(),
        emergency_eligible(ctx, patches),
        incidents,
    );
    if !gate.is_open() {
        return Err(Denied::refused(
            format!("{} may not enter `{to}` yet", r.version),
            gate.unmet,
        ));
    }
    let v = r.version.to_string();
    let timeout = e.deploy_timeout;
    let mut n = base;
    n.in_flight = Some(InFlight {
        deployment: deployment_id.to_string(),
        env: to.to_string(),
        actor: ctx.actor.to_string(),
        started_at: ctx.now,
        expires_at: ctx
            .now
            .checked_add(timeout.checked_mul(2).unwrap_or(SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX),
    });
    n.updated_at = ctx.now;
    let d = Deployment {
        emergency: emergency_reason.is_some(),
        reason: emergency_reason.map(str::to_string),
        in_window: gate.in_window,
        ..deployment(ctx, deployment_id, &v, to, DeploymentAction::Deploy)
    };
    let ev = Event::new(
        "release.promotion_started",
        &v,
        json!({"env": to, "deployment": deployment_id, "emergency": d.emergency, "reason": d.reason, "in_window": d.in_window}),
    );
    Ok((n, d, ev))
}

/// What ran, as the shell reports it.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub outcome: Option<Outcome>,
    pub command: Option<Vec<String>>,
    pub exit_code: Option<i32>,
    pub output: Option<String>,
}

/// The state changes a finished promotion produces.
#[derive(Debug, Clone)]
pub struct Finished {
    pub release: Release,
    pub deployment: Deployment,
    pub patches: Vec<Patch>,
    pub events: Vec<Event>,
}

/// `promote`, second half: records the outcome of the deploy command.
pub fn finish_promotion(
    ctx: &Ctx,
    r: &Release,
    d: &Deployment,
    patches: &[&Patch],
    run: RunResult,
) -> Decision<Finished> {
    let outcome = run.outcome.unwrap_or(Outcome::Succeeded);
    let v = r.version.to_string();
    let mut n = r.clone();
    if n.in_flight.as_ref().is_some_and(|f| f.deployment == d.id) {
        n.in_flight = None;
    }
    n.updated_at = ctx.now;
    let mut dep = d.clone();
    dep.finished_at = Some(ctx.now);
    dep.outcome = outcome;
    dep.command = run.command;
    dep.exit_code = run.exit_code;
    dep.output = run.output;
    let mut events = Vec::new();
    let mut changed = Vec::new();
    if outcome == Outcome::Succeeded {
        n.reached.push(d.env.clone());
        let watch_until = super::watch::open_watch(ctx, &mut n, &d.env);
        if d.emergency {
            n.follow_ups.push(FollowUp {
                env: d.env.clone(),
                reason: d.reason.clone().unwrap_or_default(),
                opened_by: ctx.actor.to_string(),
                opened_at: ctx.now,
                closed_by: None,
                closed_at: None,
                comment: None,
            });
        }
        events.push(Event::new(
            "release.deployed",
            &v,
            json!({"env": d.env, "deployment": d.id, "emergency": d.emergency, "in_window": d.in_window, "exit_code": dep.exit_code, "watch_until": watch_until}),
        ));
        if d.emergency {
            let why = format!(
                "emergency promotion into `{}`: {}",
                d.env,
                d.reason.as_deref().unwrap_or_default()
            );
            events.extend(super::open_retro(
                ctx,
                &mut n,
                super::Cause::Emergency,
                &d.env,
                why,
            ));
        }
        let last = ctx.process.environments.last().map(|e| e.name.as_str());
        if last == Some(d.env.as_str()) {
            n.status = ReleaseStatus::Released;
            let shipped: Vec<&Patch> = patches
                .iter()
                .copied()
                .filter(|p| p.release.as_deref() == Some(v.as_str()))
                .collect();
            events.extend(super::severity_retro(ctx, &mut n, &shipped, &d.env));
            // A fix ported here was released on its own line already.
            for p in patches.iter().filter(|p| {
                p.release.as_deref() == Some(v.as_str()) && p.status == PatchStatus::Ready
            }) {
                let mut x = (*p).clone();
                x.status = PatchStatus::Released;
                x.updated_at = ctx.now;
                events.push(Event::new("patch.released", &p.key, json!({"release": v})));
                changed.push(x);
            }
        }
    } else {
        events.push(Event::new(
            "release.failed",
            &v,
            json!({"env": d.env, "deployment": d.id, "outcome": outcome, "exit_code": dep.exit_code}),
        ));
    }
    Ok(Finished {
        release: n,
        deployment: dep,
        patches: changed,
        events,
    })
}

/// `release import V --env E`: records that `r`, a release made before Sluice, ran in
/// `E` (an audited deployment record without a command), so the first rollback after
/// adopting Sluice has somewhere to go. `holds` is what the environment holds now; when
/// it holds nothing, it holds `r` from now on; when it holds a release deployed through
/// Sluice, the record only adds `r` to the environment's history (the rollback target).
pub fn baseline(
    ctx: &Ctx,
    r: &Release,
    env_name: &str,
    holds: Option<&str>,
    id: &str,
) -> Decision<(Release, Deployment, Event)> {
    require_step(ctx, Step::Release, "record what runs in an environment")?;
    env(ctx, env_name)?;
    let v = r.version.to_string();
    if !r.imported {
        return Err(Denied::state(format!(
            "{v} was released through Sluice: its deployments are recorded already"
        )));
    }
    match holds {
        Some(h) if h == v => {
            return Err(Denied::state(format!("`{env_name}` already holds {v}")));
        }
        _ => {}
    }
    let mut n = r.clone();
    if !n.has_reached(env_name) {
        n.reached.push(env_name.to_string());
    }
    n.updated_at = ctx.now;
    let dep = Deployment {
        finished_at: Some(ctx.now),
        outcome: Outcome::Succeeded,
        reason: Some("baseline: running before Sluice".to_string()),
        ..deployment(ctx, id, &v, env_name, DeploymentAction::Deploy)
    };
    let e = Event::new(
        "release.baseline_recorded",
        &v,
        json!({"env": env_name, "deployment": id}),
    );
    Ok((n, dep, e))
}

/// `rollback`, first half: which release the environment returns to.
/// `history` holds the environment's successful deployments, oldest first, as versions;
/// `earlier_tag` is git's release below the current one, offered when the history has
/// nothing to go back to (a release made before Sluice that was never recorded there).
pub fn plan_rollback(
    ctx: &Ctx,
    env_name: &str,
    current: Option<&Release>,
    history: &[String],
    to: Option<&str>,
    earlier_tag: Option<&str>,
) -> Decision<String> {
    may_roll_back(ctx)?;
    plan_rollback_target(ctx, env_name, current, history, to, earlier_tag)
}

/// Whether the actor may roll back: a member of the release or monitor role.
pub fn may_roll_back(ctx: &Ctx) -> Decision<()> {
    let roles: Vec<String> = ctx
        .process
        .responsible(Step::Release)
        .iter()
        .chain(ctx.process.responsible(Step::Monitor))
        .cloned()
        .collect();
    if !roles.is_empty() && !roles.iter().any(|r| ctx.process.has_role(ctx.actor, r)) {
        return Err(Denied::one(
            format!("{} may not roll back", ctx.actor),
            Unmet::new("a rollback by the release or monitor role").by(&roles),
        ));
    }
    Ok(())
}

/// [`plan_rollback`] without asking who asks: the target an automatic
/// rollback (`auto_rollback`, decided by [`super::react`]) returns to.
pub fn plan_rollback_target(
    ctx: &Ctx,
    env_name: &str,
    current: Option<&Release>,
    history: &[String],
    to: Option<&str>,
    earlier_tag: Option<&str>,
) -> Decision<String> {
    env(ctx, env_name)?;
    let Some(cur) = current else {
        return Err(Denied::one(
            format!("`{env_name}` holds no release"),
            Unmet::new("a release deployed there"),
        ));
    };
    if cur.in_flight.is_some() {
        return Err(Denied::one(
            format!("{} is being promoted", cur.version),
            Unmet::new("wait for the promotion to finish"),
        ));
    }
    let cur_v = cur.version.to_string();
    if let Some(t) = to {
        if t == cur_v {
            return Err(Denied::state(format!(
                "{t} is what `{env_name}` already holds"
            )));
        }
        if !history.iter().any(|h| h == t) {
            return Err(Denied::one(
                format!("{t} was never deployed to `{env_name}`"),
                Unmet::new(format!(
                    "roll back to a release recorded in `{env_name}`; if {t} ran there before Sluice, record it first"
                ))
                .hint(format!("sluice release import {t} --env {env_name}")),
            ));
        }
        return Ok(t.to_string());
    }
    history
        .iter()
        .rev()
        .find(|h| **h != cur_v)
        .cloned()
        .ok_or_else(|| {
            let u = match earlier_tag {
                Some(prev) => Unmet::new(format!(
                    "an earlier release recorded in `{env_name}`: git's release before {cur_v} is {prev}; if it ran there before Sluice, record it, then roll back"
                ))
                .hint(format!("sluice release import {prev} --env {env_name}")),
                None => Unmet::new(format!(
                    "an earlier release recorded in `{env_name}` (git has no release tag below {cur_v})"
                )),
            };
            Denied::one(format!("nothing to roll `{env_name}` back to"), u)
        })
}

/// `rollback`, second half: records the outcome. On success the release is rolled
/// back and its patches reopen.
pub fn finish_rollback(
    ctx: &Ctx,
    cur: &Release,
    to: &str,
    d: &Deployment,
    patches: &[&Patch],
    run: RunResult,
) -> Finished {
    let outcome = run.outcome.unwrap_or(Outcome::Succeeded);
    let v = cur.version.to_string();
    let mut dep = d.clone();
    dep.finished_at = Some(ctx.now);
    dep.outcome = outcome;
    dep.command = run.command;
    dep.exit_code = run.exit_code;
    dep.output = run.output;
    let mut n = cur.clone();
    let mut events = Vec::new();
    let mut changed = Vec::new();
    if outcome == Outcome::Succeeded {
        n.status = ReleaseStatus::RolledBack;
        n.updated_at = ctx.now;
        super::watch::end_watch(ctx, &mut n, &d.env, "rolled back");
        let why = format!("`{}` rolled back from {v} to {to}", d.env);
        let opened = super::open_retro(ctx, &mut n, super::Cause::Rollback, &d.env, why);
        events.push(Event::new(
            "release.rolled_back",
            &v,
            json!({"env": d.env, "to": to, "deployment": d.id}),
        ));
        events.extend(opened);
        for p in patches {
            let mut x = (*p).clone();
            if p.release.as_deref() == Some(v.as_str()) {
                x.status = PatchStatus::InProgress;
                x.release = None;
                x.reopened += 1;
            } else if let Some(port) = x
                .ports
                .iter_mut()
                .find(|o| o.release.as_deref() == Some(v.as_str()))
            {
                // A port: the fix goes back to waiting on that line only.
                port.release = None;
            } else {
                continue;
            }
            x.updated_at = ctx.now;
            events.push(Event::new(
                "patch.reopened",
                &p.key,
                json!({"release": v, "env": d.env}),
            ));
            changed.push(x);
        }
    } else {
        events.push(Event::new(
            "release.rollback_failed",
            &v,
            json!({"env": d.env, "to": to, "deployment": d.id, "outcome": outcome, "exit_code": dep.exit_code}),
        ));
    }
    Finished {
        release: n,
        deployment: dep,
        patches: changed,
        events,
    }
}

/// `rollback`, first half (after [`plan_rollback`] chose `to`): the release
/// in `env` gets an in-flight claim that counts as abandoned after twice the
/// deploy timeout, as a promotion's does, and a running deployment record.
pub fn start_rollback(
    ctx: &Ctx,
    cur: &Release,
    env_name: &str,
    to: &str,
    id: &str,
) -> Decision<(Release, Deployment, Event)> {
    let (_, e) = env(ctx, env_name)?;
    let dep = rollback_deployment(ctx, cur, env_name, to, id);
    let mut n = cur.clone();
    n.in_flight = Some(InFlight {
        deployment: id.to_string(),
        env: env_name.to_string(),
        actor: ctx.actor.to_string(),
        started_at: ctx.now,
        expires_at: ctx
            .now
            .checked_add(
                e.deploy_timeout
                    .checked_mul(2)
                    .unwrap_or(SignedDuration::MAX),
            )
            .unwrap_or(Timestamp::MAX),
    });
    n.updated_at = ctx.now;
    let ev = Event::new(
        "release.rollback_started",
        cur.version.to_string(),
        json!({"env": env_name, "to": to, "deployment": id}),
    );
    Ok((n, dep, ev))
}

/// The rollback deployment record, before its command runs.
pub fn rollback_deployment(ctx: &Ctx, cur: &Release, env: &str, to: &str, id: &str) -> Deployment {
    Deployment {
        to_release: Some(to.to_string()),
        ..deployment(
            ctx,
            id,
            &cur.version.to_string(),
            env,
            DeploymentAction::Rollback,
        )
    }
}

/// A deployment record started now by the actor: running, in a window, no command yet.
fn deployment(
    ctx: &Ctx,
    id: &str,
    release: &str,
    env: &str,
    action: DeploymentAction,
) -> Deployment {
    Deployment {
        id: id.to_string(),
        release: release.to_string(),
        env: env.to_string(),
        action,
        to_release: None,
        actor: ctx.actor.to_string(),
        started_at: ctx.now,
        finished_at: None,
        outcome: Outcome::Running,
        emergency: false,
        reason: None,
        in_window: true,
        command: None,
        exit_code: None,
        output: None,
    }
}

fn live(r: &Release) -> Decision<()> {
    if r.status == ReleaseStatus::Aborted || r.status == ReleaseStatus::RolledBack || r.imported {
        return Err(Denied::one(
            format!(
                "release {} is {}",
                r.version,
                if r.imported {
                    "an imported baseline".to_string()
                } else {
                    r.status.to_string()
                }
            ),
            Unmet::new("a release that is still moving through the environments"),
        ));
    }
    Ok(())
}

/// `test report`: the latest result per suite counts. In the last environment,
/// when every after-deploy suite passes, the release's patches become verified.
pub fn report_test(
    ctx: &Ctx,
    r: &Release,
    patches: &[&Patch],
    env_name: &str,
    suite: &str,
    passed: bool,
    url: Option<String>,
) -> Decision<(Release, Vec<Patch>, Vec<Event>)> {
    report_test_run(ctx, r, patches, env_name, suite, passed, url, None)
}

/// [`report_test`] of a CI run that names itself: results are ordered by the
/// run's own time, so a run that finished before one already recorded (a late
/// or replayed delivery) is kept in the record but never becomes the latest.
#[expect(
    clippy::too_many_arguments,
    reason = "report_test's arguments and the run"
)]
pub fn report_test_run(
    ctx: &Ctx,
    r: &Release,
    patches: &[&Patch],
    env_name: &str,
    suite: &str,
    passed: bool,
    url: Option<String>,
    run: Option<&crate::inbound::RunRef>,
) -> Decision<(Release, Vec<Patch>, Vec<Event>)> {
    require_step(ctx, Step::Test, "report test results")?;
    let url = crate::link::optional(url).map_err(Denied::Invalid)?;
    let (idx, e) = env(ctx, env_name)?;
    live(r)?;
    let known = ctx.process.environments.iter().any(|e| {
        e.tests
            .iter()
            .chain(&e.after_deploy_tests)
            .any(|s| s == suite)
    });
    if !known {
        let mut all: Vec<&str> = ctx
            .process
            .environments
            .iter()
            .flat_map(|e| e.tests.iter().chain(&e.after_deploy_tests))
            .map(String::as_str)
            .collect();
        all.sort();
        all.dedup();
        return Err(Denied::Invalid(format!(
            "unknown suite `{suite}`; the process names: {}",
            all.join(", ")
        )));
    }
    if !r.has_reached(env_name) {
        return Err(Denied::one(
            format!("{} has not entered `{env_name}`", r.version),
            Unmet::new(format!(
                "promote it to `{env_name}` before testing it there"
            ))
            .hint(format!("sluice promote {} --to {env_name}", r.version)),
        ));
    }
    let v = r.version.to_string();
    let mut n = r.clone();
    let same = |t: &TestRun| t.env == env_name && t.suite == suite;
    let run_at = run.and_then(|x| x.at);
    let newer = run_at.and_then(|at| {
        n.tests
            .iter()
            .position(|t| same(t) && t.run_at.is_some_and(|x| x > at))
    });
    let entry = TestRun {
        env: env_name.into(),
        suite: suite.into(),
        passed,
        url: url.clone(),
        reporter: ctx.actor.into(),
        at: ctx.now,
        content_hash: Some(r.content_hash.clone()),
        run_id: run.map(|x| x.id.clone()),
        run_at,
    };
    match newer {
        // A newer run is recorded already: this one goes before it.
        Some(i) => n.tests.insert(i, entry),
        None => n.tests.push(entry),
    }
    // The release keeps the last runs of each suite in each environment, so
    // it stays small however often CI reports; every run is in the audit log.
    let extra = n
        .tests
        .iter()
        .filter(|t| same(t))
        .count()
        .saturating_sub(TEST_RUNS_KEPT);
    if extra > 0 {
        let mut drop = extra;
        n.tests.retain(|t| {
            if drop > 0 && same(t) {
                drop -= 1;
                false
            } else {
                true
            }
        });
    }
    n.updated_at = ctx.now;
    let mut events = vec![Event::new(
        "release.test_reported",
        &v,
        json!({
            "env": env_name, "suite": suite, "passed": passed, "url": url,
            "run": run.map(|x| &x.id), "run_at": run_at.map(|t| t.to_string()),
            "superseded": newer.is_some(),
        }),
    )];
    let mut changed = Vec::new();
    // With a monitoring window, the patches are verified when it closes clean
    // (`watch::close_watch`), not at the first passing run.
    let is_last = idx + 1 == ctx.process.environments.len();
    if is_last
        && e.monitor_for.is_none()
        && n.status == ReleaseStatus::Released
        && !e.after_deploy_tests.is_empty()
        && e.after_deploy_tests
            .iter()
            .all(|s| n.latest_test(env_name, s).is_some_and(|t| t.passed))
    {
        (changed, events) = verify(ctx, patches, &v, env_name, events);
    }
    Ok((n, changed, events))
}

/// The release's released patches become verified (in `env`, the last one).
pub(crate) fn verify(
    ctx: &Ctx,
    patches: &[&Patch],
    v: &str,
    env: &str,
    mut events: Vec<Event>,
) -> (Vec<Patch>, Vec<Event>) {
    let mut changed = Vec::new();
    for p in patches.iter().filter(|p| p.status == PatchStatus::Released) {
        let mut x = (*p).clone();
        x.status = PatchStatus::Verified;
        x.updated_at = ctx.now;
        events.push(Event::new(
            "patch.verified",
            &p.key,
            json!({"release": v, "env": env}),
        ));
        changed.push(x);
    }
    (changed, events)
}

/// `approve`: an approval by a member of a role, bound to the current content.
pub fn approve(
    ctx: &Ctx,
    r: &Release,
    env_name: &str,
    role: &str,
    emergency: bool,
    comment: Option<String>,
) -> Decision<(Release, Event)> {
    let (_, e) = env(ctx, env_name)?;
    live(r)?;
    let v = r.version.to_string();
    let wanted = if emergency {
        &e.emergency_approvals
    } else {
        &e.approvals
    };
    if !ctx.process.roles.contains_key(role) {
        let known: Vec<&str> = ctx.process.roles.keys().map(String::as_str).collect();
        return Err(Denied::Invalid(format!(
            "unknown role `{role}`; the process defines: {}",
            known.join(", ")
        )));
    }
    if !wanted.iter().any(|w| w == role) {
        return Err(Denied::one(
            format!(
                "`{env_name}` needs no {}approval by `{role}`",
                if emergency { "emergency " } else { "" }
            ),
            Unmet::new(format!(
                "{}approvals for `{env_name}` come from: {}",
                if emergency { "emergency " } else { "" },
                if wanted.is_empty() {
                    "nobody".to_string()
                } else {
                    wanted.join(", ")
                }
            )),
        ));
    }
    if !ctx.process.has_role(ctx.actor, role) {
        return Err(Denied::one(
            format!("{} is not a member of `{role}`", ctx.actor),
            Unmet::new(format!(
                "an approval by a member of `{role}`: {}",
                ctx.process.members(role).join(", ")
            ))
            .role(role),
        ));
    }
    if !ctx.process.review.author_may_approve && r.authors.iter().any(|a| a == ctx.actor) {
        return Err(Denied::one(
            format!("{} may not approve {v}: they wrote a patch in it", ctx.actor),
            Unmet::new(format!("an approval by a member of `{role}` who wrote none of its patches (separation of duties)")).role(role),
        ));
    }
    if r.has_reached(env_name) {
        return Err(Denied::state(format!(
            "{v} has already entered `{env_name}`"
        )));
    }
    let kind = if emergency {
        ApprovalKind::Emergency
    } else {
        ApprovalKind::Standard
    };
    if r.valid_approvals()
        .any(|a| a.env == env_name && a.role == role && a.approver == ctx.actor && a.kind == kind)
    {
        // The state of the release, not a malformed request: a refusal.
        return Err(Denied::one(
            format!(
                "{} has already approved {v} for `{env_name}` as `{role}`",
                ctx.actor
            ),
            Unmet::new(format!(
                "an approval for `{env_name}` as `{role}` not yet given by {}",
                ctx.actor
            )),
        ));
    }
    let mut n = r.clone();
    n.approvals.push(Approval {
        env: env_name.into(),
        role: role.into(),
        approver: ctx.actor.into(),
        kind,
        content_hash: r.content_hash.clone(),
        comment: comment.clone(),
        at: ctx.now,
    });
    n.updated_at = ctx.now;
    Ok((
        n,
        Event::new(
            "release.approved",
            &v,
            json!({"env": env_name, "role": role, "kind": kind, "content_hash": r.content_hash, "comment": comment}),
        ),
    ))
}

/// `checklist --tick`.
pub fn tick(ctx: &Ctx, r: &Release, id: &str) -> Decision<(Release, Event)> {
    live(r)?;
    let Some(item) = ctx.process.checklist.iter().find(|c| c.id == id) else {
        let known: Vec<&str> = ctx
            .process
            .checklist
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        return Err(Denied::Invalid(format!(
            "unknown checklist item `{id}`; the process defines: {}",
            known.join(", ")
        )));
    };
    if let Some(by) = &item.by
        && !ctx.process.has_role(ctx.actor, by)
    {
        return Err(Denied::one(
            format!("{} may not tick `{id}`", ctx.actor),
            Unmet::new(format!(
                "`{id}` is ticked by `{by}`: {}",
                ctx.process.members(by).join(", ")
            ))
            .role(by),
        ));
    }
    if r.checklist.iter().any(|t| t.id == id) {
        return Err(Denied::state(format!(
            "`{id}` is already ticked for {}",
            r.version
        )));
    }
    let mut n = r.clone();
    n.checklist.push(ChecklistTick {
        id: id.into(),
        by: ctx.actor.into(),
        at: ctx.now,
    });
    n.updated_at = ctx.now;
    Ok((
        n,
        Event::new(
            "release.checklist_ticked",
            r.version.to_string(),
            json!({"id": id}),
        ),
    ))
}

/// Closes the follow-up review an emergency change owes.
pub fn close_follow_up(
    ctx: &Ctx,
    r: &Release,
    env_name: &str,
    comment: String,
) -> Decision<(Release, Event)> {
    require_step(ctx, Step::Release, "close follow-up reviews")?;
    let mut n = r.clone();
    let Some(f) = n
        .follow_ups
        .iter_mut()
        .find(|f| f.env == env_name && f.closed_at.is_none())
    else {
        return Err(Denied::state(format!(
            "{} has no open follow-up review for `{env_name}`",
            r.version
        )));
    };
    f.closed_by = Some(ctx.actor.into());
    f.closed_at = Some(ctx.now);
    f.comment = Some(comment.clone());
    n.updated_at = ctx.now;
    Ok((
        n,
        Event::new(
            "release.follow_up_closed",
            r.version.to_string(),
            json!({"env": env_name, "comment": comment}),
        ),
    ))
}

#[cfg(test)]
mod table {
    //! Rollback decisions as a table: who asks, what the environment holds and
    //! has held, what is asked for, and the answer.
    use super::*;
    use crate::process::{self, Process};

    fn process() -> Process {
        process::load("sluice.toml", process::DEFAULT_PROCESS).expect("the default process")
    }

    fn release(version: &str, in_flight: bool) -> Release {
        let at = "2026-11-03T08:00:00Z";
        let flight = in_flight.then(|| {
            json!({"deployment": "d-1", "env": "prod", "actor": "dave@example.com",
                   "started_at": at, "expires_at": "2026-11-03T09:00:00Z"})
        });
        serde_json::from_value(json!({
            "version": version, "line": "1.2", "target": "main", "status": "released",
            "previous": null, "patches": ["SHOP-1"], "authors": [], "content_hash": "h",
            "imported": false, "created_by": "bob@example.com", "created_at": at,
            "reached": ["local", "dev", "test", "prod"], "approvals": [], "tests": [],
            "checklist": [], "in_flight": flight, "follow_ups": [], "updated_at": at,
        }))
        .expect("a release")
    }

    /// What a case should give: the version returned to, or words of the refusal.
    #[derive(Debug)]
    enum Want {
        To(&'static str),
        Refused(&'static str),
        Invalid(&'static str),
    }

    #[test]
    fn planning_a_rollback() {
        let p = process();
        let now: Timestamp = "2026-11-03T10:00:00Z".parse().unwrap();
        let cur = release("1.2.3", false);
        let busy = release("1.2.3", true);
        let hist = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (actor, env, current, history, to, git's earlier tag, answer)
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<&'a Release>,
            Vec<String>,
            Option<&'a str>,
            Option<&'a str>,
            Want,
        );
        let devops = "dave@example.com";
        let cases: Vec<Case> = vec![
            // The newest earlier deployment is the default.
            (
                devops,
                "prod",
                Some(&cur),
                hist(&["1.2.1", "1.2.2", "1.2.3"]),
                None,
                None,
                Want::To("1.2.2"),
            ),
            // The release manager may too (the release step).
            (
                "bob@example.com",
                "prod",
                Some(&cur),
                hist(&["1.2.2", "1.2.3"]),
                None,
                None,
                Want::To("1.2.2"),
            ),
            // A re-deploy of the current release in between is skipped.
            (
                devops,
                "prod",
                Some(&cur),
                hist(&["1.2.1", "1.2.3", "1.2.3"]),
                None,
                None,
                Want::To("1.2.1"),
            ),
            // An explicit earlier release that ran there.
            (
                devops,
                "prod",
                Some(&cur),
                hist(&["1.2.1", "1.2.2", "1.2.3"]),
                Some("1.2.1"),
                None,
                Want::To("1.2.1"),
            ),
            // Neither release nor monitor role.
            (
                "alice@example.com",
                "prod",
                Some(&cur),
                hist(&["1.2.2", "1.2.3"]),
                None,
                None,
                Want::Refused("may not roll back"),
            ),
            (
                devops,
                "staging",
                Some(&cur),
                hist(&["1.2.2"]),
                None,
                None,
                Want::Invalid("unknown environment `staging`"),
            ),
            (
                devops,
                "prod",
                None,
                hist(&[]),
                None,
                None,
                Want::Refused("holds no release"),
            ),
            (
                devops,
                "prod",
                Some(&busy),
                hist(&["1.2.2", "1.2.3"]),
                None,
                None,
                Want::Refused("is being promoted"),
            ),
            (
                devops,
                "prod",
                Some(&cur),
                hist(&["1.2.2", "1.2.3"]),
                Some("1.2.3"),
                None,
                Want::Refused("already holds"),
            ),
            (
                devops,
                "prod",
                Some(&cur),
                hist(&["1.2.2", "1.2.3"]),
                Some("1.1.0"),
                None,
                Want::Refused("was never deployed"),
            ),
            // Nothing earlier: git's earlier tag is offered, with the import that records it.
            (
                devops,
                "prod",
                Some(&cur),
                hist(&["1.2.3"]),
                None,
                Some("1.2.2"),
                Want::Refused("nothing to roll `prod` back to"),
            ),
            (
                devops,
                "prod",
                Some(&cur),
                hist(&["1.2.3"]),
                None,
                None,
                Want::Refused("nothing to roll `prod` back to"),
            ),
        ];
        for (i, (actor, env, current, history, to, earlier, want)) in cases.into_iter().enumerate()
        {
            let ctx = Ctx {
                process: &p,
                actor,
                now,
            };
            let got = plan_rollback(&ctx, env, current, &history, to, earlier);
            match (&want, &got) {
                (Want::To(v), Ok(t)) => assert_eq!(t, v, "case {i}"),
                (Want::Refused(needle), Err(Denied::Refused { summary, .. })) => {
                    assert!(summary.contains(needle), "case {i}: {summary}")
                }
                (Want::Invalid(needle), Err(Denied::Invalid(m))) => {
                    assert!(m.contains(needle), "case {i}: {m}")
                }
                _ => panic!("case {i}: wanted {want:?}, got {got:?}"),
            }
            // With git's earlier tag, the refusal says how to record it.
            if let (Some(prev), Err(Denied::Refused { unmet, .. })) = (earlier, &got) {
                let hint = unmet
                    .iter()
                    .filter_map(|u| u.hint.as_deref())
                    .collect::<Vec<_>>();
                assert!(
                    hint.iter()
                        .any(|h| h.contains(&format!("sluice release import {prev} --env prod"))),
                    "case {i}: {hint:?}"
                );
            }
        }
    }

    #[test]
    fn a_started_rollback_claims_the_release_for_twice_the_deploy_timeout() {
        let p = process();
        let now: Timestamp = "2026-11-03T10:00:00Z".parse().unwrap();
        let ctx = Ctx {
            process: &p,
            actor: "dave@example.com",
            now,
        };
        let (r, dep, ev) =
            start_rollback(&ctx, &release("1.2.3", false), "prod", "1.2.2", "d-9").unwrap();
        let f = r.in_flight.expect("claimed");
        let timeout = p.environment("prod").unwrap().1.deploy_timeout;
        assert_eq!(f.deployment, "d-9");
        assert_eq!(
            f.expires_at,
            now.checked_add(timeout.checked_mul(2).unwrap()).unwrap()
        );
        assert_eq!(dep.to_release.as_deref(), Some("1.2.2"));
        assert_eq!(ev.kind, "release.rollback_started");
        assert!(start_rollback(&ctx, &release("1.2.3", false), "nowhere", "1.2.2", "d-9").is_err());
    }
}
