//! The history `sluice-bench metrics` measures, planned in memory first
//! (deterministic); [`crate::metrics_seed`] writes it into the store.
//!
//! Releases are cut evenly over two years up to ten minutes ago, one every
//! ~105 minutes at 10,000 releases, and go `local → dev → test → prod` with
//! realistic waits (tests after each entry, the qa approval before `test`,
//! the product owner's approval and the checklist tick before `prod`); an
//! emergency release (3%) waits a sixth as long. 3% have a failed deploy into
//! `prod` before the good one, 2% into `test`. 5% are rolled back out of
//! `prod` inside their two-hour watch (30% of them by the scheduler after a
//! failed canary run, half of them after a critical incident): their patches
//! are reopened (`patch.reopened`) and go out again in the next release, half
//! of the time alone (a release that only fixes what failed). Patches are
//! linked both ways (`Release::patches`, `Patch::release`), reported before
//! the release holding them by a time that depends on their severity, each
//! with a commit time for lead times. Incidents (3 per 10 releases) open at
//! random times on the release running in that environment then, 10% on
//! none. The audit log gets the events these facts imply, topped up with
//! further test reports (CI re-runs) to the number asked for.

use jiff::{SignedDuration, Timestamp};
use semver::Version;
use sluice_core::model::{Incident, Patch, PatchReview, PatchStatus, Target};

use crate::seed::Rng;

/// The environments of the bench process, in order, and the suite run in each.
pub(crate) const ENVS: [&str; 4] = ["local", "dev", "test", "prod"];
pub(crate) const SUITES: [&str; 4] = ["unit", "integration", "smoke", "canary"];
pub(crate) const TEST: usize = 2;
pub(crate) const PROD: usize = 3;
/// The history spans two years.
const SPAN: SignedDuration = SignedDuration::from_hours(730 * 24);
/// `monitor_for` of `prod` in the metrics process.
pub(crate) const WATCH: SignedDuration = SignedDuration::from_hours(2);

/// A deploy (or rollback) command: when it started and ended.
#[derive(Clone, Copy)]
pub(crate) struct Run {
    pub(crate) env: usize,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
}

pub(crate) struct Rollback {
    pub(crate) run: Run,
    pub(crate) automatic: bool,
    pub(crate) to: String,
}

/// One release as planned.
pub(crate) struct Planned {
    pub(crate) version: Version,
    pub(crate) cut: Timestamp,
    /// Patch numbers.
    pub(crate) holds: Vec<i64>,
    /// Successful deploys, in environment order, those that happened by the end.
    pub(crate) entries: Vec<Run>,
    /// (env, when, passed).
    pub(crate) tests: Vec<(usize, Timestamp, bool)>,
    pub(crate) qa_at: Option<Timestamp>,
    pub(crate) po_at: Option<Timestamp>,
    pub(crate) tick_at: Option<Timestamp>,
    pub(crate) failed: Option<Run>,
    pub(crate) rollback: Option<Rollback>,
    pub(crate) emergency: bool,
    pub(crate) scope_override: Option<Timestamp>,
}

impl Planned {
    pub(crate) fn entered(&self, env: usize) -> Option<&Run> {
        self.entries.iter().find(|r| r.env == env)
    }
    pub(crate) fn canary_passed(&self) -> bool {
        self.tests.iter().any(|(e, _, ok)| *e == PROD && *ok)
    }
}

/// What the plan made of one patch: the first and last release holding it,
/// and when rollbacks reopened it.
#[derive(Default, Clone)]
pub(crate) struct Fate {
    pub(crate) first: Option<usize>,
    pub(crate) last: Option<usize>,
    pub(crate) reopened: Vec<Timestamp>,
}

/// What the events need to know of a seeded patch.
#[derive(Clone)]
pub(crate) struct Seeded {
    pub(crate) reported: Timestamp,
    pub(crate) status: PatchStatus,
    pub(crate) triaged: Option<Timestamp>,
    pub(crate) reviewed: Option<Timestamp>,
}

pub(crate) struct Plan {
    pub(crate) end: Timestamp,
    pub(crate) releases: Vec<Planned>,
    pub(crate) fates: Vec<Fate>,
    pub(crate) incidents: Vec<Incident>,
    pub(crate) seeded: Vec<Option<Seeded>>,
}

fn fix_within(severity: Option<&str>) -> Option<SignedDuration> {
    match severity {
        Some("critical") => Some(SignedDuration::from_hours(24)),
        Some("major") => Some(SignedDuration::from_hours(5 * 24)),
        Some("minor") => Some(SignedDuration::from_hours(30 * 24)),
        _ => None,
    }
}

impl Plan {
    /// Plans `releases` releases over the two years before `now`, holding
    /// 70% of `patches` patches between them.
    pub(crate) fn new(now: Timestamp, releases: usize, patches: usize) -> Plan {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let end = now - SignedDuration::from_mins(10);
        let start = end - SPAN;
        let step = SPAN.as_millis() as i64 / releases.max(1) as i64;
        let per = (patches * 7 / 10 / releases.max(1)).max(1);
        let linked = patches.min(per * releases);
        let mut fates = vec![Fate::default(); patches];
        let mut next = 1i64;
        let (mut carry, mut backlog): (Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new());
        let mut last_good: Option<String> = None;
        let mut out = Vec::with_capacity(releases);
        let mut incidents = Vec::new();
        for i in 0..releases {
            let cut = start
                + SignedDuration::from_millis(i as i64 * step)
                + SignedDuration::from_millis(rng.below((step / 2).max(1) as u64) as i64);
            let own: Vec<i64> = (0..per)
                .map_while(|_| {
                    (next as usize <= linked).then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect();
            let holds = if !carry.is_empty() && rng.chance(500) {
                backlog.extend(own);
                std::mem::take(&mut carry)
            } else {
                let mut h = std::mem::take(&mut carry);
                h.append(&mut backlog);
                h.extend(own);
                h
            };
            let mut p = plan_release(&mut rng, i, cut, end, holds);
            if let Some(prod) = p.entered(PROD).copied() {
                let rb_start = prod.end + rng.mins(10, 100);
                match (&last_good, rng.chance(50)) {
                    (Some(to), true) if rb_start < end => {
                        let automatic = rng.chance(300);
                        if automatic {
                            p.tests.retain(|(e, _, _)| *e != PROD);
                            p.tests.push((PROD, prod.end + rng.mins(3, 9), false));
                        }
                        if rng.chance(500) {
                            let opened = prod.end + rng.mins(2, 9);
                            incidents.push(incident(
                                &mut rng,
                                incidents.len() as i64 + 1,
                                PROD,
                                Some(&p.version.to_string()),
                                Some("critical"),
                                opened,
                                end,
                            ));
                        }
                        p.rollback = Some(Rollback {
                            run: Run {
                                env: PROD,
                                start: rb_start,
                                end: rb_start + rng.mins(1, 3),
                            },
                            automatic,
                            to: to.clone(),
                        });
                    }
                    _ => {
                        last_good = Some(p.version.to_string());
                        // A blocking incident inside the watch, no rollback.
                        if rng.chance(10) {
                            let opened = prod.end + rng.mins(15, 110);
                            incidents.push(incident(
                                &mut rng,
                                incidents.len() as i64 + 1,
                                PROD,
                                Some(&p.version.to_string()),
                                Some("critical"),
                                opened,
                                end,
                            ));
                        }
                    }
                }
            }
            for k in &p.holds {
                let f = &mut fates[*k as usize - 1];
                f.first.get_or_insert(i);
                f.last = Some(i);
                if let Some(rb) = &p.rollback {
                    f.reopened.push(rb.run.end);
                }
            }
            if p.rollback.is_some() {
                carry = p.holds.clone();
            }
            out.push(p);
        }
        // Incidents at random times, on the release running there then.
        let mut timeline: [Vec<(Timestamp, usize)>; 4] = Default::default();
        for (i, p) in out.iter().enumerate() {
            for r in &p.entries {
                timeline[r.env].push((r.end, i));
            }
        }
        for t in &mut timeline {
            t.sort();
        }
        let want = releases * 3 / 10;
        while incidents.len() < want {
            let at = start + SignedDuration::from_millis(rng.below(SPAN.as_millis() as u64) as i64);
            let env = if rng.chance(800) { PROD } else { TEST };
            let running = timeline[env]
                .partition_point(|(t, _)| *t <= at)
                .checked_sub(1)
                .map(|j| out[timeline[env][j].1].version.to_string())
                .filter(|_| !rng.chance(100));
            let severity = match rng.below(100) {
                0..=2 => Some("critical"),
                3..=32 => Some("major"),
                33..=82 => Some("minor"),
                _ => None,
            };
            let id = incidents.len() as i64 + 1;
            incidents.push(incident(
                &mut rng,
                id,
                env,
                running.as_deref(),
                severity,
                at,
                end,
            ));
        }
        Plan {
            end,
            releases: out,
            fates,
            incidents,
            seeded: vec![None; patches],
        }
    }
}

/// The gates and deploys of release `i` cut at `cut`, up to `end`.
fn plan_release(
    rng: &mut Rng,
    i: usize,
    cut: Timestamp,
    end: Timestamp,
    holds: Vec<i64>,
) -> Planned {
    let emergency = rng.chance(30);
    let slow = |d: SignedDuration| if emergency { d / 6 } else { d };
    let version = Version::new(1, (i / 100) as u64, (i % 100) as u64);
    let mut p = Planned {
        version,
        cut,
        holds,
        entries: Vec::new(),
        tests: Vec::new(),
        qa_at: None,
        po_at: None,
        tick_at: None,
        failed: None,
        rollback: None,
        emergency,
        scope_override: rng.chance(10).then(|| cut + rng.mins(5, 30)),
    };
    let fail_in = match rng.below(1000) {
        0..=29 => Some(PROD),
        30..=49 => Some(TEST),
        _ => None,
    };
    // When the gate into each environment opened, then the deploy.
    let mut ready = cut + slow(rng.mins(5, 30));
    for env in 0..ENVS.len() {
        if env == TEST {
            let qa = ready + slow(rng.mins(10, 240));
            p.qa_at = (qa < end).then_some(qa);
            ready = qa + slow(rng.mins(5, 60));
        }
        if env == PROD {
            let po = ready + slow(rng.mins(30, 1200));
            let tick = ready + slow(rng.mins(10, 1200));
            p.po_at = (po < end).then_some(po);
            p.tick_at = (tick < end).then_some(tick);
            ready = po.max(tick) + slow(rng.mins(5, 180));
        }
        if fail_in == Some(env) {
            let f = Run {
                env,
                start: ready,
                end: ready + rng.mins(1, 5),
            };
            if f.start < end {
                p.failed = Some(f);
            }
            ready = f.end + rng.mins(20, 60);
        }
        let run = Run {
            env,
            start: ready,
            end: ready
                + rng.mins(
                    if env == PROD { 2 } else { 1 },
                    if env == PROD { 8 } else { 4 },
                ),
        };
        if run.start >= end {
            break;
        }
        p.entries.push(run);
        let test = run.end + slow(rng.mins(5, 30));
        if test < end {
            p.tests.push((env, test, true));
        }
        ready = test + slow(rng.mins(10, 120));
    }
    p
}

fn incident(
    rng: &mut Rng,
    id: i64,
    env: usize,
    release: Option<&str>,
    severity: Option<&str>,
    opened: Timestamp,
    end: Timestamp,
) -> Incident {
    let alert = rng.chance(600);
    let resolved = opened + rng.mins(10, 480);
    let resolved = (resolved < end
        && !(opened > end - SignedDuration::from_hours(24) && rng.chance(500)))
    .then_some(resolved);
    Incident {
        id,
        env: ENVS[env].into(),
        service: alert.then(|| "checkout".into()),
        release: release.map(str::to_string),
        title: format!("Checkout error rate above 2% ({id})"),
        severity: severity.map(str::to_string),
        source: if alert { "alertmanager" } else { "manual" }.into(),
        fingerprint: alert.then(|| format!("alert-{id}")),
        url: alert.then(|| format!("https://alerts.example.com/{id}")),
        opened_by: if alert { "sluice" } else { "ops" }.into(),
        opened_at: opened,
        resolved_by: resolved.map(|_| "ops".into()),
        resolved_at: resolved,
        comment: None,
    }
}

/// Makes the generated patch fit the plan: a linked patch is reported before
/// the release that first holds it (sooner for a severe one), reviewed, and
/// ends where its last release left it; the others stay open or closed
/// without a release, the open ones mostly within their deadline.
pub(crate) fn adjust(
    rng: &mut Rng,
    releases: &[Planned],
    fates: &[Fate],
    now: Timestamp,
    p: &mut Patch,
) {
    let fate = &fates[p.number as usize - 1];
    let (Some(first), Some(last)) = (fate.first, fate.last) else {
        p.release = None;
        p.status = match p.status {
            PatchStatus::Released | PatchStatus::Verified if rng.chance(850) => {
                PatchStatus::Rejected
            }
            PatchStatus::Released | PatchStatus::Verified => PatchStatus::Deferred,
            PatchStatus::Ready => PatchStatus::InReview,
            s => s,
        };
        if p.status.is_open() {
            let within =
                fix_within(p.severity.as_deref()).unwrap_or(SignedDuration::from_hours(60 * 24));
            let back = SignedDuration::from_millis(
                rng.below((within.as_millis() as u64) * 11 / 10 + 1) as i64,
            );
            shift(p, now - back);
        }
        p.deadline = fix_within(p.severity.as_deref()).map(|d| p.reported_at + d);
        return;
    };
    let (a, b) = (&releases[first], &releases[last]);
    if a.emergency && a.holds.first() == Some(&p.number) {
        p.severity = Some("critical".into());
    }
    let back = match p.severity.as_deref() {
        Some("critical") => rng.mins(180, 720),
        Some("major") => rng.mins(360, 7 * 24 * 60),
        Some("minor") => rng.mins(24 * 60, 30 * 24 * 60),
        _ => rng.mins(24 * 60, 60 * 24 * 60),
    };
    shift(p, a.cut - back);
    p.kind.get_or_insert_with(|| "fix".into());
    p.priority.get_or_insert_with(|| "p2".into());
    p.owner.get_or_insert_with(|| "dev1".into());
    p.targets = vec![Target::Main];
    p.triaged_at = Some(p.reported_at + SignedDuration::from_mins(30));
    p.deadline = fix_within(p.severity.as_deref()).map(|d| p.reported_at + d);
    p.branch = Some(format!("hotfix/{}", p.key));
    p.reviews = vec![PatchReview {
        reviewer: "dev2".into(),
        approved: true,
        comment: Some("LGTM".into()),
        at: p.reported_at + back / 2,
    }];
    p.resolution = None;
    p.reopened = fate.reopened.len() as u32;
    p.status = if b.rollback.is_some() {
        PatchStatus::InProgress
    } else if b.entered(PROD).is_some() {
        if b.canary_passed() {
            PatchStatus::Verified
        } else {
            PatchStatus::Released
        }
    } else {
        PatchStatus::Ready
    };
    p.release = (p.status != PatchStatus::InProgress).then(|| b.version.to_string());
    p.updated_at = [
        b.entries.last().map(|e| e.end),
        b.rollback.as_ref().map(|r| r.run.end),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(b.cut);
}

/// Moves every time of `p` so that it is reported at `at`.
fn shift(p: &mut Patch, at: Timestamp) {
    let d = at.duration_since(p.reported_at);
    p.reported_at = at;
    p.triaged_at = p.triaged_at.map(|t| t + d);
    p.updated_at += d;
    for r in &mut p.reviews {
        r.at += d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_consistent() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let plan = Plan::new(now, 2_000, 20_000);
        let rs = &plan.releases;
        assert_eq!(rs.len(), 2_000);
        // About 1/24 of the releases enter prod in the last 30 days; 5% are
        // rolled back.
        let month = now - SignedDuration::from_hours(30 * 24);
        let recent = rs
            .iter()
            .filter(|p| p.entered(PROD).is_some_and(|e| e.end >= month))
            .count();
        assert!((60..=110).contains(&recent), "{recent} in the last 30 days");
        let rolled = rs.iter().filter(|p| p.rollback.is_some()).count();
        assert!((60..=140).contains(&rolled), "{rolled} rolled back");
        for (i, p) in rs.iter().enumerate() {
            let mut last = p.cut;
            for (n, e) in p.entries.iter().enumerate() {
                assert_eq!(e.env, n, "{}: environments in order", p.version);
                assert!(e.start >= last && e.end > e.start && e.start < plan.end);
                last = e.end;
            }
            if let Some(rb) = &p.rollback {
                let prod = p.entered(PROD).unwrap();
                assert!(rb.run.start > prod.end && rb.run.start < prod.end + WATCH);
                // Its patches go out again in the next release.
                if let Some(next) = rs.get(i + 1) {
                    assert!(p.holds.iter().all(|k| next.holds.contains(k)));
                }
            }
        }
        // 70% of the patches are linked; each reopened once per rolled-back
        // release that held it.
        let linked = plan.fates.iter().filter(|f| f.first.is_some()).count();
        assert_eq!(linked, 14_000);
        for (n, f) in plan.fates.iter().enumerate() {
            let k = n as i64 + 1;
            let (Some(a), Some(b)) = (f.first, f.last) else {
                assert!(f.reopened.is_empty());
                continue;
            };
            assert!(a <= b);
            let rolled = rs[a..=b]
                .iter()
                .filter(|p| p.rollback.is_some() && p.holds.contains(&k))
                .count();
            assert_eq!(f.reopened.len(), rolled, "BENCH-{k}");
        }
        // Incidents: 3 per 10 releases, numbered from 1, each on a release
        // that had entered that environment when it opened (or on none).
        assert_eq!(plan.incidents.len(), 600);
        for (n, x) in plan.incidents.iter().enumerate() {
            assert_eq!(x.id, n as i64 + 1);
            if let Some(v) = &x.release {
                let p = rs.iter().find(|p| p.version.to_string() == *v).unwrap();
                let env = ENVS.iter().position(|e| *e == x.env).unwrap();
                assert!(p.entered(env).is_some_and(|e| e.end <= x.opened_at));
            }
        }
        assert!(plan.incidents.iter().any(|x| x.release.is_none()));
    }
}
