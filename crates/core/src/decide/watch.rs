//! After the release: the monitoring window an environment's `monitor_for`
//! opens, how it ends, and what a critical signal inside it sets off.
//!
//! Entering an environment with `monitor_for` opens a window (`watch`). It
//! closes clean when it ends with the environment's after-deploy suites passed
//! and no incident of a blocking severity opened on the release meanwhile;
//! only then, in the last environment, are the release's patches verified.
//! Inside it, such an incident or a failed after-deploy suite is a trigger:
//! with `auto_rollback` the environment is rolled back at once, else the
//! monitor role is told to.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::Ctx;
use crate::event::Event;
use crate::model::{Incident, Patch, Release, ReleaseStatus, Watch, WatchEnd};
use crate::process::Step;

/// Opens the window entering `env` opens, if the environment watches.
pub fn open_watch(ctx: &Ctx, r: &mut Release, env: &str) -> Option<Timestamp> {
    let (_, e) = ctx.process.environment(env)?;
    let d = e.monitor_for?;
    let until = ctx.now.checked_add(d).unwrap_or(Timestamp::MAX);
    r.watches.push(Watch {
        env: env.to_string(),
        from: ctx.now,
        until,
        ended: None,
    });
    Some(until)
}

/// Ends the window still open in `env` (a rollback, or a newer deployment).
pub fn end_watch(ctx: &Ctx, r: &mut Release, env: &str, problem: &str) {
    for w in r
        .watches
        .iter_mut()
        .filter(|w| w.env == env && w.ended.is_none())
    {
        w.ended = Some(WatchEnd {
            at: ctx.now,
            clean: false,
            problems: vec![problem.to_string()],
        });
    }
}

/// What a finished window leaves: the release with the window closed, patches
/// verified (a clean window in the last environment), and the events.
#[derive(Debug, Clone)]
pub struct Closed {
    pub release: Release,
    pub patches: Vec<Patch>,
    pub events: Vec<Event>,
    /// Names this closing once and for all.
    pub key: String,
}

/// Closes the first window of `r` whose time is up at `ctx.now`; `incidents`
/// are those opened on the release.
pub fn close_watch(
    ctx: &Ctx,
    r: &Release,
    patches: &[&Patch],
    incidents: &[Incident],
) -> Option<Closed> {
    let i = r
        .watches
        .iter()
        .position(|w| w.ended.is_none() && w.until <= ctx.now)?;
    let w = &r.watches[i];
    let v = r.version.to_string();
    let (idx, e) = ctx.process.environment(&w.env)?;
    let mut problems = Vec::new();
    for suite in &e.after_deploy_tests {
        match r.latest_test(&w.env, suite) {
            Some(t) if t.passed => {}
            Some(_) => problems.push(format!("after-deploy suite `{suite}` failed")),
            None => problems.push(format!("after-deploy suite `{suite}` has no result")),
        }
    }
    for x in incidents
        .iter()
        .filter(|x| x.env == w.env && x.opened_at >= w.from && x.opened_at < w.until)
        .filter(|x| x.release.as_deref() == Some(v.as_str()) && severe(ctx, x))
    {
        problems.push(format!("incident {} ({})", x.id, x.title));
    }
    if r.status == ReleaseStatus::RolledBack {
        problems.push("rolled back".to_string());
    }
    let clean = problems.is_empty();
    let mut n = r.clone();
    n.watches[i].ended = Some(WatchEnd {
        at: ctx.now,
        clean,
        problems: problems.clone(),
    });
    n.updated_at = ctx.now;
    let mut events = vec![Event::new(
        "release.watch_ended",
        &v,
        json!({"env": w.env, "from": w.from, "until": w.until, "clean": clean, "problems": problems}),
    )];
    let mut changed = Vec::new();
    let last = idx + 1 == ctx.process.environments.len();
    if clean && last && n.status == ReleaseStatus::Released {
        (changed, events) = super::promote::verify(ctx, patches, &v, &w.env, events);
    }
    Some(Closed {
        key: format!(
            "release.watch_ended:{v}:{}:{}",
            w.env,
            w.from.as_millisecond()
        ),
        release: n,
        patches: changed,
        events,
    })
}

/// An incident whose severity blocks promotion (whether or not it is still open).
fn severe(ctx: &Ctx, i: &Incident) -> bool {
    i.severity
        .as_deref()
        .and_then(|s| ctx.process.severity(s))
        .is_some_and(|s| s.block_promotion)
}

/// A critical signal about a release in an environment.
#[derive(Debug, Clone)]
pub enum Trigger<'a> {
    Incident(&'a Incident),
    /// An after-deploy suite's result was a failure, reported at `at`.
    FailedTest {
        env: &'a str,
        suite: &'a str,
        at: Timestamp,
    },
}

impl Trigger<'_> {
    /// Names the trigger once and for all (one reaction per trigger).
    pub fn id(&self) -> String {
        match self {
            Trigger::Incident(i) => format!("incident-{}", i.id),
            Trigger::FailedTest { env, suite, at } => {
                format!("test:{env}:{suite}:{}", at.as_millisecond())
            }
        }
    }

    fn env(&self) -> &str {
        match self {
            Trigger::Incident(i) => &i.env,
            Trigger::FailedTest { env, .. } => env,
        }
    }

    fn describe(&self) -> String {
        match self {
            Trigger::Incident(i) => format!(
                "incident {} ({}, {}): {}",
                i.id,
                i.severity.as_deref().unwrap_or_default(),
                i.source,
                i.title
            ),
            Trigger::FailedTest { suite, .. } => format!("after-deploy suite `{suite}` failed"),
        }
    }
}

/// What a trigger calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum Reaction {
    /// Nothing: outside any window, or not a critical signal.
    Nothing,
    /// Roll the environment back now (`auto_rollback`).
    RollBack {
        env: String,
        trigger: String,
        reason: String,
    },
    /// Tell the monitor role to roll back, with the command.
    Advise { event: Event, trigger: String },
}

/// What `trigger` about `r` calls for at `ctx.now`.
pub fn react(ctx: &Ctx, r: &Release, trigger: &Trigger) -> Reaction {
    let env = trigger.env();
    let v = r.version.to_string();
    let at = match trigger {
        Trigger::Incident(i) => i.opened_at,
        Trigger::FailedTest { at, .. } => *at,
    };
    if r.status == ReleaseStatus::RolledBack || r.watching(env, at).is_none() {
        return Reaction::Nothing;
    }
    let Some((_, e)) = ctx.process.environment(env) else {
        return Reaction::Nothing;
    };
    let critical = match trigger {
        Trigger::Incident(i) => i.release.as_deref() == Some(v.as_str()) && severe(ctx, i),
        Trigger::FailedTest { suite, .. } => e.after_deploy_tests.iter().any(|s| s == suite),
    };
    if !critical {
        return Reaction::Nothing;
    }
    let reason = format!(
        "{} inside the monitoring window of {v} in `{env}`",
        trigger.describe()
    );
    if e.auto_rollback {
        return Reaction::RollBack {
            env: env.to_string(),
            trigger: trigger.id(),
            reason,
        };
    }
    let roles = ctx.process.responsible(Step::Monitor);
    Reaction::Advise {
        trigger: trigger.id(),
        event: Event::new(
            "release.rollback_needed",
            &v,
            json!({"env": env, "trigger": trigger.id(), "reason": reason, "roles": roles,
                   "command": format!("sluice rollback --env {env}")}),
        ),
    }
}

/// Time left in a window at `now` (zero once it is up).
pub fn time_left(w: &Watch, now: Timestamp) -> SignedDuration {
    w.until.duration_since(now).max(SignedDuration::ZERO)
}

#[cfg(test)]
mod table {
    //! Whether a signal rolls back, and how a window ends, as tables.
    use super::*;
    use crate::model::PatchStatus;
    use crate::process::{self, Process};

    /// The default process (prod watches for 2h, smoke after deploy), with
    /// prod's `auto_rollback` as given.
    fn process(auto: bool) -> Process {
        let text = process::DEFAULT_PROCESS.replace(
            "monitor_for = \"2h\"",
            &format!("monitor_for = \"2h\"\nauto_rollback = {auto}"),
        );
        process::load("sluice.toml", &text).expect("the process")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Release 1.2.3, released, watched in prod from 10:00 to 12:00.
    fn release(status: &str, smoke: Option<bool>) -> Release {
        let tests: Vec<serde_json::Value> = smoke
            .map(|passed| {
                vec![
                    json!({"env": "prod", "suite": "smoke", "passed": passed, "url": null,
                    "reporter": "ci", "at": "2026-11-03T10:10:00Z", "content_hash": "h"}),
                ]
            })
            .unwrap_or_default();
        serde_json::from_value(json!({
            "version": "1.2.3", "line": "1.2", "target": "main", "status": status,
            "previous": null, "patches": ["SHOP-1"], "authors": [], "content_hash": "h",
            "imported": false, "created_by": "bob@example.com", "created_at": "2026-11-03T09:00:00Z",
            "reached": ["local", "dev", "test", "prod"], "approvals": [], "tests": tests,
            "checklist": [], "in_flight": null, "follow_ups": [], "updated_at": "2026-11-03T10:00:00Z",
            "watches": [{"env": "prod", "from": "2026-11-03T10:00:00Z",
                         "until": "2026-11-03T12:00:00Z", "ended": null}],
        }))
        .expect("a release")
    }

    fn incident(severity: &str, opened: &str, release: &str) -> Incident {
        Incident {
            id: 7,
            env: "prod".into(),
            service: None,
            release: Some(release.into()),
            title: "Errors up".into(),
            severity: Some(severity.into()),
            source: "alertmanager".into(),
            fingerprint: None,
            url: None,
            opened_by: "webhook:alertmanager".into(),
            opened_at: at(opened),
            resolved_by: None,
            resolved_at: None,
            comment: None,
        }
    }

    fn kind(r: &Reaction) -> &'static str {
        match r {
            Reaction::Nothing => "nothing",
            Reaction::RollBack { .. } => "roll back",
            Reaction::Advise { .. } => "advise",
        }
    }

    #[test]
    fn signals() {
        let r = release("released", None);
        let critical = incident("critical", "2026-11-03T10:30:00Z", "1.2.3");
        let major = incident("major", "2026-11-03T10:30:00Z", "1.2.3");
        let late = incident("critical", "2026-11-03T12:00:00Z", "1.2.3");
        let other = incident("critical", "2026-11-03T10:30:00Z", "1.2.2");
        let smoke = Trigger::FailedTest {
            env: "prod",
            suite: "smoke",
            at: at("2026-11-03T10:30:00Z"),
        };
        let unit = Trigger::FailedTest {
            env: "prod",
            suite: "unit",
            at: at("2026-11-03T10:30:00Z"),
        };
        // (auto_rollback, trigger, release, answer)
        let rolled = release("rolled_back", None);
        let cases: Vec<(bool, Trigger, &Release, &str)> = vec![
            (true, Trigger::Incident(&critical), &r, "roll back"),
            (false, Trigger::Incident(&critical), &r, "advise"),
            (true, Trigger::Incident(&major), &r, "nothing"),
            (true, Trigger::Incident(&late), &r, "nothing"),
            (true, Trigger::Incident(&other), &r, "nothing"),
            (true, smoke.clone(), &r, "roll back"),
            (false, smoke.clone(), &r, "advise"),
            (true, unit, &r, "nothing"),
            (true, smoke, &rolled, "nothing"),
        ];
        for (i, (auto, trigger, rel, want)) in cases.into_iter().enumerate() {
            let p = process(auto);
            let ctx = Ctx {
                process: &p,
                actor: "sluice",
                now: at("2026-11-03T10:31:00Z"),
            };
            let got = react(&ctx, rel, &trigger);
            assert_eq!(kind(&got), want, "case {i}: {got:?}");
            if let Reaction::Advise { event, .. } = &got {
                assert_eq!(event.kind, "release.rollback_needed");
                assert_eq!(event.payload["command"], "sluice rollback --env prod");
            }
        }
    }

    #[test]
    fn windows_end() {
        let p = process(false);
        let ctx = |now: &str| Ctx {
            process: &p,
            actor: "sluice",
            now: at(now),
        };
        let patch: Patch = serde_json::from_value(json!({
            "key": "SHOP-1", "number": 1, "title": "t", "description": null, "kind": "fix",
            "severity": "major", "priority": null, "status": "released",
            "source": {"kind": "bug", "reference": null}, "reporter": "erin@example.com",
            "owner": null, "targets": ["main"], "branch": null, "reviews": [], "release": "1.2.3",
            "reported_at": "2026-11-01T08:00:00Z", "triaged_at": null, "deadline": null,
            "updated_at": "2026-11-01T08:00:00Z", "resolution": null, "reopened": 0, "ports": [],
        }))
        .unwrap();
        let clean = release("released", Some(true));
        // Not before its time.
        assert!(close_watch(&ctx("2026-11-03T11:59:59Z"), &clean, &[&patch], &[]).is_none());
        // Smoke passed, no incident: clean, the patch verified.
        let c = close_watch(&ctx("2026-11-03T12:00:00Z"), &clean, &[&patch], &[]).unwrap();
        assert_eq!(c.events[0].payload["clean"], true);
        assert_eq!(c.patches.len(), 1);
        assert_eq!(c.patches[0].status, PatchStatus::Verified);
        assert!(c.release.watches[0].ended.as_ref().is_some_and(|e| e.clean));
        // No smoke result, a failed one, or a critical incident: not clean, nothing verified.
        let crit = incident("critical", "2026-11-03T11:00:00Z", "1.2.3");
        for (i, (r, incidents)) in [
            (release("released", None), vec![]),
            (release("released", Some(false)), vec![]),
            (clean.clone(), vec![crit]),
        ]
        .into_iter()
        .enumerate()
        {
            let c = close_watch(&ctx("2026-11-03T12:00:00Z"), &r, &[&patch], &incidents).unwrap();
            assert_eq!(c.events[0].payload["clean"], false, "case {i}");
            assert!(c.patches.is_empty(), "case {i}");
        }
    }
}
