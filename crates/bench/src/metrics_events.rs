//! The audit log of the planned history: the events its facts imply (every
//! patch's report, triage, review, release and reopening; every release's
//! cut, approvals, ticks, deploys, tests and rollback; incidents), thinned or
//! topped up with CI re-runs to the number asked for.

use jiff::{SignedDuration, Timestamp};
use sluice_core::model::PatchStatus;

use crate::history::NewEvent;
use crate::metrics_plan::{ENVS, PROD, Plan, Planned, Run, SUITES, WATCH};
use crate::seed::Rng;

impl Plan {
    /// The events the planned facts imply, in no particular order.
    pub(crate) fn events(&self) -> Vec<NewEvent> {
        let mut out = Vec::new();
        let ev = |at: Timestamp, actor, kind, subject: String, payload: String| NewEvent {
            at_ms: at.as_millisecond(),
            actor,
            kind,
            subject,
            payload,
        };
        for (n, s) in self.seeded.iter().enumerate() {
            let Some(s) = s else { continue };
            let key = format!("BENCH-{}", n + 1);
            out.push(ev(
                s.reported,
                "qa",
                "patch.reported",
                key.clone(),
                "{}".into(),
            ));
            if let Some(t) = s.triaged {
                out.push(ev(t, "lead", "patch.triaged", key.clone(), "{}".into()));
            }
            if let Some(t) = s.reviewed {
                let started = s.reported + t.duration_since(s.reported) / 2;
                out.push(ev(
                    started,
                    "dev1",
                    "patch.started",
                    key.clone(),
                    "{}".into(),
                ));
                out.push(ev(
                    t,
                    "dev2",
                    "patch.reviewed",
                    key.clone(),
                    "{\"approved\":true}".into(),
                ));
            }
            let fate = &self.fates[n];
            match (fate.first, s.status) {
                (Some(first), _) => {
                    let cut = self.releases[first].cut;
                    out.push(ev(
                        cut - SignedDuration::from_mins(20),
                        "dev1",
                        "patch.ready",
                        key.clone(),
                        "{}".into(),
                    ));
                }
                (None, PatchStatus::Rejected) => {
                    out.push(ev(
                        s.reported + SignedDuration::from_hours(48),
                        "lead",
                        "patch.rejected",
                        key.clone(),
                        "{}".into(),
                    ));
                }
                (None, PatchStatus::Deferred) => {
                    out.push(ev(
                        s.reported + SignedDuration::from_hours(48),
                        "lead",
                        "patch.deferred",
                        key.clone(),
                        "{}".into(),
                    ));
                }
                _ => {}
            }
        }
        for (i, p) in self.releases.iter().enumerate() {
            let v = p.version.to_string();
            out.push(ev(
                p.cut,
                "rm",
                "release.cut",
                v.clone(),
                format!("{{\"patches\":{}}}", p.holds.len()),
            ));
            if let Some(t) = p.scope_override {
                out.push(ev(
                    t,
                    "lead",
                    "release.scope_overridden",
                    v.clone(),
                    "{\"commits\":1}".into(),
                ));
            }
            for (at, role, who) in [(p.qa_at, "qa", "qa"), (p.po_at, "product_owner", "po")] {
                if let Some(at) = at {
                    out.push(ev(
                        at,
                        who,
                        "release.approved",
                        v.clone(),
                        format!("{{\"role\":\"{role}\"}}"),
                    ));
                }
            }
            if let Some(t) = p.tick_at {
                out.push(ev(
                    t,
                    "rm",
                    "release.checklist_ticked",
                    v.clone(),
                    "{\"id\":\"notes\"}".into(),
                ));
            }
            if let Some(f) = &p.failed {
                let pl = format!(
                    "{{\"env\":\"{}\",\"deployment\":\"{}\"}}",
                    ENVS[f.env],
                    dep_id(i, 9, f)
                );
                out.push(ev(
                    f.start,
                    "rm",
                    "release.promotion_started",
                    v.clone(),
                    pl.clone(),
                ));
                out.push(ev(f.end, "rm", "release.failed", v.clone(), pl));
            }
            for (n, e) in p.entries.iter().enumerate() {
                let pl = format!(
                    "{{\"env\":\"{}\",\"deployment\":\"{}\"}}",
                    ENVS[e.env],
                    dep_id(i, n, e)
                );
                out.push(ev(
                    e.start,
                    "rm",
                    "release.promotion_started",
                    v.clone(),
                    pl.clone(),
                ));
                out.push(ev(e.end, "rm", "release.deployed", v.clone(), pl));
                if e.env == PROD {
                    for k in &p.holds {
                        out.push(ev(
                            e.end,
                            "rm",
                            "patch.released",
                            format!("BENCH-{k}"),
                            format!("{{\"release\":\"{v}\"}}"),
                        ));
                    }
                }
            }
            for (env, at, passed) in &p.tests {
                let pl = format!(
                    "{{\"env\":\"{}\",\"suite\":\"{}\",\"passed\":{passed}}}",
                    ENVS[*env], SUITES[*env]
                );
                out.push(ev(*at, "qa", "release.test_reported", v.clone(), pl));
                if *env == PROD && *passed && p.rollback.is_none() {
                    for k in &p.holds {
                        out.push(ev(
                            *at,
                            "qa",
                            "patch.verified",
                            format!("BENCH-{k}"),
                            "{}".into(),
                        ));
                    }
                }
            }
            if let Some(rb) = &p.rollback {
                let actor = if rb.automatic { "sluice" } else { "rm" };
                let pl = format!(
                    "{{\"env\":\"prod\",\"to\":\"{}\",\"deployment\":\"{}\"}}",
                    rb.to,
                    dep_id(i, 8, &rb.run)
                );
                out.push(ev(
                    rb.run.start,
                    actor,
                    "release.rollback_started",
                    v.clone(),
                    pl.clone(),
                ));
                out.push(ev(rb.run.end, actor, "release.rolled_back", v.clone(), pl));
                for k in &p.holds {
                    out.push(ev(
                        rb.run.end,
                        actor,
                        "patch.reopened",
                        format!("BENCH-{k}"),
                        format!("{{\"release\":\"{v}\",\"env\":\"prod\"}}"),
                    ));
                }
            } else if let Some(e) = p.entered(PROD)
                && e.end + WATCH <= self.end
            {
                out.push(ev(
                    e.end + WATCH,
                    "sluice",
                    "release.watch_ended",
                    v.clone(),
                    "{\"env\":\"prod\",\"clean\":true}".into(),
                ));
            }
        }
        for i in &self.incidents {
            let subject = i.subject();
            let pl = format!(
                "{{\"env\":\"{}\",\"release\":{}}}",
                i.env,
                serde_json::json!(i.release)
            );
            out.push(ev(
                i.opened_at,
                "ops",
                "incident.opened",
                subject.clone(),
                pl.clone(),
            ));
            if let Some(t) = i.resolved_at {
                out.push(ev(t, "ops", "incident.resolved", subject, pl));
            }
        }
        out
    }
}

pub(crate) fn dep_id(i: usize, n: usize, r: &Run) -> String {
    format!("D{}-bench-{i}-{n}", r.start.as_millisecond())
}

/// Drops events (never `patch.reopened` nor scope overrides) evenly until
/// `want` are left, or adds CI re-runs (`release.test_reported`) of released
/// suites until there are `want`.
pub(crate) fn thin_or_fill(
    rng: &mut Rng,
    list: &mut Vec<NewEvent>,
    want: usize,
    releases: &[Planned],
    end: Timestamp,
) {
    let keep = |e: &NewEvent| matches!(e.kind, "patch.reopened" | "release.scope_overridden");
    if list.len() > want {
        let must = list.iter().filter(|e| keep(e)).count();
        let other = list.len() - must;
        if other == 0 {
            return;
        }
        let room = want.saturating_sub(must);
        let mut seen = 0usize;
        list.retain(|e| {
            if keep(e) {
                return true;
            }
            seen += 1;
            // Keep the j-th of the others when the share passes a whole one.
            (seen * room) / other > ((seen - 1) * room) / other
        });
        return;
    }
    let with_tests: Vec<&Planned> = releases.iter().filter(|p| !p.tests.is_empty()).collect();
    if with_tests.is_empty() {
        return;
    }
    while list.len() < want {
        let p = with_tests[rng.below(with_tests.len() as u64) as usize];
        let (env, at, _) = p.tests[rng.below(p.tests.len() as u64) as usize];
        let at = (at + rng.mins(-30, 30)).min(end);
        list.push(NewEvent {
            at_ms: at.as_millisecond(),
            actor: "qa",
            kind: "release.test_reported",
            subject: p.version.to_string(),
            payload: format!(
                "{{\"env\":\"{}\",\"suite\":\"{}\",\"passed\":true,\"rerun\":true}}",
                ENVS[env], SUITES[env]
            ),
        });
    }
}
