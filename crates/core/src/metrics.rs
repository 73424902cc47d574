//! Metrics: the four DORA keys, the rework rate, and what a patch process
//! needs on top (patch success, deadlines met by severity, where releases
//! wait), computed from recorded facts over a period. One definition each;
//! `docs/METRICS.md` states every rule and the facts it reads.
//!
//! Pure: the application layer loads the facts (deployments of the period and
//! of the releases they deployed, those releases, their patches, incidents),
//! this module only counts.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::model::{Deployment, DeploymentAction, Incident, Outcome, Patch, Release, SourceKind};
use crate::process::{Environment, Process};

/// What the computation reads. Deployments may hold more than the period
/// (earlier entries of the same releases); the period filters.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Deployments and rollbacks, any environment, any outcome.
    pub deployments: Vec<Deployment>,
    /// The releases the deployments name, by version.
    pub releases: BTreeMap<String, Release>,
    /// The patches those releases hold, by key.
    pub patches: BTreeMap<String, Patch>,
    /// Incidents on those releases and incidents opened in the period.
    pub incidents: Vec<Incident>,
    /// Scope overrides given in the period: (when, release).
    pub scope_overrides: Vec<(Timestamp, String)>,
    /// Open patches past their deadline now, by severity (`none` for none).
    pub open_overdue: BTreeMap<String, u64>,
    /// When each of the patches was reopened by a rollback (`patch.reopened`).
    pub reopened: BTreeMap<String, Vec<Timestamp>>,
}

/// A fraction with what it is made of. `rate` is `None` when nothing was counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
    /// numerator / denominator, 0–1; null when the denominator is 0.
    pub rate: Option<f64>,
    /// What the numerator counted (release versions or patch keys, once per
    /// deployment).
    pub items: Vec<String>,
}

impl Rate {
    fn new(items: Vec<String>, numerator: u64, denominator: u64) -> Rate {
        Rate {
            numerator,
            denominator,
            rate: (denominator > 0).then(|| numerator as f64 / denominator as f64),
            items,
        }
    }
}

/// Median and 90th percentile of durations, in whole seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Durations {
    pub count: u64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub total_seconds: i64,
}

impl Durations {
    pub fn of(mut secs: Vec<i64>) -> Durations {
        secs.sort_unstable();
        Durations {
            count: secs.len() as u64,
            median_seconds: percentile(&secs, 0.5),
            p90_seconds: percentile(&secs, 0.9),
            total_seconds: secs.iter().sum(),
        }
    }
}

/// The continuous percentile of sorted values (linear interpolation between
/// the two nearest ranks, as SQL's `PERCENTILE_CONT`), rounded to the second.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = p * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let v = sorted[lo] as f64 + (sorted[hi] - sorted[lo]) as f64 * (rank - lo as f64);
    Some(v.round() as i64)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Frequency {
    pub deployments: u64,
    /// Length of the period in days.
    pub days: f64,
    pub per_day: f64,
    pub per_week: f64,
    /// The Four Keys bucket: `daily`, `weekly`, `monthly` or `yearly`
    /// (`none` without deployments).
    pub bucket: String,
    /// Releases deployed, oldest deployment first.
    pub items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SeverityDurations {
    pub severity: String,
    #[serde(flatten)]
    pub durations: Durations,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LeadTime {
    /// From the first commit of a release's patches to the release entering
    /// the environment, one value per deployment that knows its commits.
    #[serde(flatten)]
    pub changes: Durations,
    /// Deployments of releases with no commit time recorded (no git).
    pub without_commits: u64,
    /// From a patch's report to its release entering the environment.
    pub patches: Vec<SeverityDurations>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Recovery {
    /// Failed deployments of the period (the numerator of the change failure rate).
    pub failures: u64,
    pub recovered: u64,
    /// Failures after which the environment did not run a good release again
    /// before the end of the period.
    pub unrecovered: u64,
    #[serde(flatten)]
    pub durations: Durations,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Deadline {
    /// A severity of the process, or `none`.
    pub severity: String,
    pub fix_within_seconds: Option<i64>,
    /// Patches that entered the environment by their deadline (or have none).
    pub met: u64,
    pub total: u64,
    pub rate: Option<f64>,
    /// Patches that entered after their deadline.
    pub missed: Vec<String>,
    /// Open patches past their deadline now.
    pub open_overdue: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GateWait {
    pub env: String,
    /// Releases that passed this gate in the period.
    #[serde(flatten)]
    pub durations: Durations,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RequirementWait {
    pub env: String,
    /// `approval`, `tests`, `checklist`, `window` or `promotion`.
    pub kind: String,
    /// The role, suite or checklist item; `window` for windows and freezes;
    /// `promote` for the wait after everything was met.
    pub name: String,
    #[serde(flatten)]
    pub durations: Durations,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WhoWait {
    /// The person who met the requirement last waited on, or `window`.
    pub who: String,
    #[serde(flatten)]
    pub durations: Durations,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Waiting {
    pub gates: Vec<GateWait>,
    pub requirements: Vec<RequirementWait>,
    pub waited_on: Vec<WhoWait>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SeverityCount {
    pub severity: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Counts {
    /// Deploy commands into the environment that failed or timed out.
    pub failed_deployments: u64,
    pub emergency_promotions: u64,
    /// Emergency promotions made outside a release window or inside a freeze.
    pub freeze_overrides: u64,
    /// Scope-guard overrides (any release, any environment).
    pub scope_overrides: u64,
    pub rollbacks_manual: u64,
    pub rollbacks_automatic: u64,
    /// Incidents opened in the environment, by severity (`none` for none).
    pub incidents: Vec<SeverityCount>,
    /// Of those, the ones on no release (nothing was deployed there).
    pub incidents_without_release: u64,
}

/// Every metric of one environment over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Metrics {
    pub env: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub since: Timestamp,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub until: Timestamp,
    pub deployment_frequency: Frequency,
    pub lead_time_for_changes: LeadTime,
    pub change_failure_rate: Rate,
    pub failed_deployment_recovery_time: Recovery,
    pub deployment_rework_rate: Rate,
    pub patch_success_rate: Rate,
    pub deadline_compliance: Vec<Deadline>,
    pub waiting: Waiting,
    pub counts: Counts,
}

/// The period and environment asked for.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub env: &'a str,
    pub since: Timestamp,
    pub until: Timestamp,
}

fn in_period(s: &Scope, t: Timestamp) -> bool {
    s.since <= t && t < s.until
}

/// Whole seconds from `from` to `to`, rounded to the nearest.
fn secs(from: Timestamp, to: Timestamp) -> i64 {
    let ms = to.duration_since(from).as_millis();
    i64::try_from((ms + ms.signum() * 500) / 1000).unwrap_or(i64::MAX)
}

/// A successful deploy: the release entered the environment at `finished_at`.
fn entered(d: &Deployment) -> Option<Timestamp> {
    (d.action == DeploymentAction::Deploy && d.outcome == Outcome::Succeeded)
        .then_some(d.finished_at)
        .flatten()
}

/// One deployment of the period and what followed it.
struct Entry<'f> {
    dep: &'f Deployment,
    at: Timestamp,
    /// Until when what happens counts against it: its watch window's end, else
    /// the next deployment into the environment, else the end of the period.
    until: Timestamp,
}

/// What went wrong after a deployment, inside its window: the time of the
/// first failure signal, and whether it counts as a change failure.
struct Failure {
    at: Timestamp,
}

/// The facts indexed by release, so that looking up what happened to one
/// release costs its own records, not the whole period's.
struct Ix<'f> {
    facts: &'f Facts,
    deployments: std::collections::HashMap<&'f str, Vec<&'f Deployment>>,
    incidents: std::collections::HashMap<&'f str, Vec<&'f Incident>>,
}

impl<'f> Ix<'f> {
    fn new(facts: &'f Facts) -> Ix<'f> {
        let mut deployments: std::collections::HashMap<&str, Vec<&Deployment>> = Default::default();
        for d in &facts.deployments {
            deployments.entry(d.release.as_str()).or_default().push(d);
        }
        let mut incidents: std::collections::HashMap<&str, Vec<&Incident>> = Default::default();
        for i in &facts.incidents {
            if let Some(r) = &i.release {
                incidents.entry(r.as_str()).or_default().push(i);
            }
        }
        Ix {
            facts,
            deployments,
            incidents,
        }
    }
    /// Deployments and rollbacks of one release.
    fn of(&self, release: &str) -> impl Iterator<Item = &'f Deployment> + '_ {
        self.deployments.get(release).into_iter().flatten().copied()
    }
    /// Incidents on one release.
    fn incidents_on(&self, release: &str) -> impl Iterator<Item = &'f Incident> + '_ {
        self.incidents.get(release).into_iter().flatten().copied()
    }
}

/// Computes every metric of `scope`.
pub fn compute(p: &Process, facts: &Facts, scope: Scope) -> Metrics {
    let ix = Ix::new(facts);
    let env = scope.env;
    let deploys: Vec<&Deployment> = facts.deployments.iter().collect();
    // Entries into the environment, oldest first, up to the end of the period.
    let mut all: Vec<(&Deployment, Timestamp)> = deploys
        .iter()
        .filter(|d| d.env == env)
        .filter_map(|d| entered(d).map(|t| (*d, t)))
        .filter(|(_, t)| *t < scope.until)
        .collect();
    all.sort_by_key(|(d, t)| (*t, d.id.clone()));
    let entries: Vec<Entry> = all
        .iter()
        .enumerate()
        .filter(|(_, (_, t))| in_period(&scope, *t))
        .map(|(i, (d, t))| {
            let watch_end = facts.releases.get(&d.release).and_then(|r| {
                r.watches
                    .iter()
                    .filter(|w| w.env == env && w.from >= *t)
                    .min_by_key(|w| w.from)
                    .map(|w| w.until)
            });
            let next = all.get(i + 1).map(|(_, n)| *n);
            let until = watch_end.or(next).unwrap_or(scope.until).min(scope.until);
            Entry {
                dep: d,
                at: *t,
                until,
            }
        })
        .collect();

    let failures: Vec<Option<Failure>> = entries
        .iter()
        .map(|e| failure(p, &ix, env, e, true))
        .collect();

    Metrics {
        env: env.to_string(),
        since: scope.since,
        until: scope.until,
        deployment_frequency: frequency(&scope, &entries),
        lead_time_for_changes: lead_time(p, facts, &entries),
        change_failure_rate: Rate::new(
            entries
                .iter()
                .zip(&failures)
                .filter(|(_, f)| f.is_some())
                .map(|(e, _)| e.dep.release.clone())
                .collect(),
            failures.iter().filter(|f| f.is_some()).count() as u64,
            entries.len() as u64,
        ),
        failed_deployment_recovery_time: recovery(&scope, &ix, &all, &entries, &failures),
        deployment_rework_rate: rework(facts, &entries),
        patch_success_rate: patch_success(p, &ix, env, &entries),
        deadline_compliance: deadlines(p, facts, &entries),
        waiting: waiting(p, &ix, &scope),
        counts: counts(p, facts, &scope),
    }
}

/// The first sign that a deployment failed, inside its window: a rollback of
/// the release out of the environment, or an incident on it of a blocking
/// severity (`blocking`), or, with `blocking` false, any incident.
fn failure(p: &Process, ix: &Ix, env: &str, e: &Entry, blocking: bool) -> Option<Failure> {
    let facts = ix.facts;
    let v = &e.dep.release;
    let rollback = ix
        .of(v)
        .filter(|d| d.action == DeploymentAction::Rollback && d.env == env)
        .filter(|d| d.outcome == Outcome::Succeeded)
        .map(|d| d.started_at)
        .filter(|t| *t >= e.at && *t < e.until)
        .min();
    let incident = ix
        .incidents_on(v)
        .filter(|i| i.env == env)
        .filter(|i| {
            !blocking
                || i.severity
                    .as_deref()
                    .and_then(|s| p.severity(s))
                    .is_some_and(|s| s.block_promotion)
        })
        .map(|i| i.opened_at)
        .filter(|t| *t >= e.at && *t < e.until)
        .min();
    // A failed after-deploy suite starts the clock too, when a rollback or an
    // incident makes it a failure.
    let suite = facts.releases.get(v).and_then(|r| {
        r.tests
            .iter()
            .filter(|t| t.env == env && !t.passed && t.at >= e.at && t.at < e.until)
            .map(|t| t.at)
            .min()
    });
    let signal = rollback.into_iter().chain(incident).min()?;
    Some(Failure {
        at: suite.map_or(signal, |s| s.min(signal)),
    })
}

fn frequency(s: &Scope, entries: &[Entry]) -> Frequency {
    let days = secs(s.since, s.until).max(0) as f64 / 86_400.0;
    let n = entries.len() as u64;
    let (per_day, per_week) = if days > 0.0 {
        (n as f64 / days, n as f64 * 7.0 / days)
    } else {
        (0.0, 0.0)
    };
    Frequency {
        deployments: n,
        days,
        per_day,
        per_week,
        bucket: bucket(s, entries).to_string(),
        items: entries.iter().map(|e| e.dep.release.clone()).collect(),
    }
}

/// The Four Keys bucket. The period is cut into weeks of seven days counted
/// from its start (a shorter last week counts as a week), and into months of
/// four such weeks. Daily: the median number of days with a deployment per
/// week is at least 3. Weekly: most weeks have a deployment. Monthly: most
/// months have one. Yearly otherwise.
fn bucket(s: &Scope, entries: &[Entry]) -> &'static str {
    if entries.is_empty() {
        return "none";
    }
    let total = secs(s.since, s.until).max(1);
    let weeks = ((total + 7 * 86_400 - 1) / (7 * 86_400)) as usize;
    let mut days: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); weeks];
    for e in entries {
        let off = secs(s.since, e.at);
        days[(off / (7 * 86_400)) as usize].insert(off / 86_400);
    }
    let per_week: Vec<i64> = days.iter().map(|d| d.len() as i64).collect();
    let median = |mut v: Vec<i64>| {
        v.sort_unstable();
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2] as f64
        } else {
            (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
        }
    };
    if median(per_week.clone()) >= 3.0 {
        return "daily";
    }
    if median(per_week.iter().map(|d| i64::from(*d > 0)).collect()) >= 1.0 {
        return "weekly";
    }
    let months: Vec<i64> = per_week
        .chunks(4)
        .map(|c| c.iter().filter(|d| **d > 0).count() as i64)
        .collect();
    if median(months) >= 1.0 {
        return "monthly";
    }
    "yearly"
}

fn severity_name(p: &Patch) -> String {
    p.severity.clone().unwrap_or_else(|| "none".to_string())
}

/// Severities in the process file's order, then `none`, keeping those present.
fn severity_order(p: &Process, present: impl IntoIterator<Item = String>) -> Vec<String> {
    let present: BTreeSet<String> = present.into_iter().collect();
    let mut out: Vec<String> = p
        .severities
        .iter()
        .map(|s| s.name.clone())
        .filter(|s| present.contains(s))
        .collect();
    let rest: Vec<String> = present
        .iter()
        .filter(|s| !out.contains(s))
        .cloned()
        .collect();
    out.extend(rest);
    out
}

fn lead_time(p: &Process, facts: &Facts, entries: &[Entry]) -> LeadTime {
    let mut changes = Vec::new();
    let mut without = 0;
    let mut by_sev: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in entries {
        let Some(r) = facts.releases.get(&e.dep.release) else {
            continue;
        };
        let commits = r.git.as_ref().map(|g| g.commits.as_slice()).unwrap_or(&[]);
        let linked = commits.iter().filter(|c| !c.patches.is_empty());
        let first = linked
            .filter_map(|c| c.at)
            .min()
            .or_else(|| commits.iter().filter_map(|c| c.at).min());
        match first {
            Some(t) => changes.push(secs(t, e.at).max(0)),
            None => without += 1,
        }
        for k in &r.patches {
            if let Some(x) = facts.patches.get(k) {
                by_sev
                    .entry(severity_name(x))
                    .or_default()
                    .push(secs(x.reported_at, e.at).max(0));
            }
        }
    }
    let order = severity_order(p, by_sev.keys().cloned());
    LeadTime {
        changes: Durations::of(changes),
        without_commits: without,
        patches: order
            .into_iter()
            .map(|s| SeverityDurations {
                durations: Durations::of(by_sev.remove(&s).unwrap_or_default()),
                severity: s,
            })
            .collect(),
    }
}

fn recovery(
    s: &Scope,
    ix: &Ix,
    all: &[(&Deployment, Timestamp)],
    entries: &[Entry],
    failures: &[Option<Failure>],
) -> Recovery {
    let mut times = Vec::new();
    let mut unrecovered = 0;
    for (e, f) in entries.iter().zip(failures) {
        let Some(f) = f else { continue };
        // Restored: the release rolled back out of the environment, or another
        // release entered it, whichever came first after the failure.
        let rolled = ix
            .of(&e.dep.release)
            .filter(|d| d.action == DeploymentAction::Rollback && d.env == e.dep.env)
            .filter(|d| d.outcome == Outcome::Succeeded)
            .filter_map(|d| d.finished_at)
            .filter(|t| *t >= f.at)
            .min();
        // `all` is in time order: the first later entry of another release.
        let from = all.partition_point(|(_, t)| *t <= f.at);
        let next = all[from..]
            .iter()
            .find(|(d, _)| d.release != e.dep.release)
            .map(|(_, t)| *t);
        match rolled
            .into_iter()
            .chain(next)
            .filter(|t| *t < s.until)
            .min()
        {
            Some(t) => times.push(secs(f.at, t).max(0)),
            None => unrecovered += 1,
        }
    }
    let failures = failures.iter().filter(|f| f.is_some()).count() as u64;
    Recovery {
        failures,
        recovered: times.len() as u64,
        unrecovered,
        durations: Durations::of(times),
    }
}

fn rework(facts: &Facts, entries: &[Entry]) -> Rate {
    let mut items = Vec::new();
    for e in entries {
        let Some(r) = facts.releases.get(&e.dep.release) else {
            continue;
        };
        let ps: Vec<&Patch> = r
            .patches
            .iter()
            .filter_map(|k| facts.patches.get(k))
            .collect();
        let fix_of_failure = |x: &&Patch| {
            x.source.kind == SourceKind::Alert
                || facts
                    .reopened
                    .get(&x.key)
                    .is_some_and(|ts| ts.iter().any(|t| *t < e.at))
        };
        if !ps.is_empty() && ps.iter().all(fix_of_failure) {
            items.push(e.dep.release.clone());
        }
    }
    let n = items.len() as u64;
    Rate::new(items, n, entries.len() as u64)
}

fn patch_success(p: &Process, ix: &Ix, env: &str, entries: &[Entry]) -> Rate {
    let facts = ix.facts;
    let mut stayed = Vec::new();
    let mut arrivals = 0;
    for e in entries {
        let Some(r) = facts.releases.get(&e.dep.release) else {
            continue;
        };
        let bad = failure(p, ix, env, e, false).is_some();
        for k in &r.patches {
            arrivals += 1;
            if !bad {
                stayed.push(k.clone());
            }
        }
    }
    let ok = stayed.len() as u64;
    Rate::new(stayed, ok, arrivals)
}

fn deadlines(p: &Process, facts: &Facts, entries: &[Entry]) -> Vec<Deadline> {
    // Each patch once: its last entry in the period, when the fix finally
    // reached the environment (an entry rolled back later was not delivery).
    let mut last: BTreeMap<&str, Timestamp> = BTreeMap::new();
    for e in entries {
        if let Some(r) = facts.releases.get(&e.dep.release) {
            for k in &r.patches {
                last.insert(k, e.at);
            }
        }
    }
    let mut by_sev: BTreeMap<String, (u64, u64, Vec<String>)> = BTreeMap::new();
    for (k, at) in &last {
        let Some(x) = facts.patches.get(*k) else {
            continue;
        };
        let row = by_sev.entry(severity_name(x)).or_default();
        row.1 += 1;
        if x.deadline.is_none_or(|d| *at <= d) {
            row.0 += 1;
        } else {
            row.2.push(k.to_string());
        }
    }
    let order = severity_order(
        p,
        by_sev
            .keys()
            .cloned()
            .chain(facts.open_overdue.keys().cloned()),
    );
    order
        .into_iter()
        .map(|s| {
            let (met, total, missed) = by_sev.remove(&s).unwrap_or_default();
            Deadline {
                fix_within_seconds: p
                    .severity(&s)
                    .and_then(|d| d.fix_within)
                    .map(|d| d.as_secs()),
                met,
                total,
                rate: (total > 0).then(|| met as f64 / total as f64),
                missed,
                open_overdue: facts.open_overdue.get(&s).copied().unwrap_or(0),
                severity: s,
            }
        })
        .collect()
}

/// Where releases wait: for every release that entered an environment in
/// the period, from when it could start waiting at that gate (it entered the
/// environment before, or was cut) until its deploy started.
fn waiting(p: &Process, ix: &Ix, s: &Scope) -> Waiting {
    let facts = ix.facts;
    let mut gates: BTreeMap<usize, (Vec<i64>, Vec<String>)> = BTreeMap::new();
    let mut reqs: BTreeMap<(usize, String, String), Vec<i64>> = BTreeMap::new();
    let mut who: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let tz = &p.cadence.timezone;
    for d in &facts.deployments {
        let Some(at) = entered(d) else { continue };
        if !in_period(s, at) {
            continue;
        }
        let (Some((idx, env)), Some(r)) = (p.environment(&d.env), facts.releases.get(&d.release))
        else {
            continue;
        };
        let start = gate_start(p, ix, r, idx, d.started_at);
        let total = secs(start, d.started_at).max(0);
        let g = gates.entry(idx).or_default();
        g.0.push(total);
        g.1.push(d.release.clone());
        let mut met: Vec<(String, String, Option<String>, Timestamp)> =
            requirement_times(p, r, idx, env, d);
        met.sort_by_key(|m| m.3);
        let mut ready = start;
        for (kind, name, person, t) in &met {
            let w = secs(start, *t).clamp(0, total);
            reqs.entry((idx, kind.clone(), name.clone()))
                .or_default()
                .push(w);
            if w > 0 {
                let key = person.clone().unwrap_or_else(|| format!("role:{name}"));
                who.entry(key).or_default().push(w);
            }
            ready = ready.max((*t).min(d.started_at));
        }
        let mut open = ready;
        if !d.emergency && (!env.windows.is_empty() || !env.freezes.is_empty()) {
            if crate::window::check_time(env, tz, ready).is_err() {
                open = crate::window::next_opening(env, tz, ready)
                    .unwrap_or(d.started_at)
                    .min(d.started_at)
                    .max(ready);
            }
            let w = secs(ready, open);
            reqs.entry((idx, "window".into(), "window".into()))
                .or_default()
                .push(w);
            if w > 0 {
                who.entry("window".into()).or_default().push(w);
            }
        }
        let w = secs(open, d.started_at).max(0);
        reqs.entry((idx, "promotion".into(), "promote".into()))
            .or_default()
            .push(w);
        if w > 0 {
            who.entry(d.actor.clone()).or_default().push(w);
        }
    }
    let name = |i: usize| p.environments[i].name.clone();
    let mut waited_on: Vec<WhoWait> = who
        .into_iter()
        .map(|(w, v)| WhoWait {
            who: w,
            durations: Durations::of(v),
        })
        .collect();
    waited_on.sort_by(|a, b| {
        b.durations
            .total_seconds
            .cmp(&a.durations.total_seconds)
            .then_with(|| a.who.cmp(&b.who))
    });
    Waiting {
        gates: gates
            .into_iter()
            .map(|(i, (v, items))| GateWait {
                env: name(i),
                durations: Durations::of(v),
                items,
            })
            .collect(),
        requirements: reqs
            .into_iter()
            .map(|((i, kind, n), v)| RequirementWait {
                env: name(i),
                kind,
                name: n,
                durations: Durations::of(v),
            })
            .collect(),
        waited_on,
    }
}

/// When a release could start waiting at the gate of environment `idx`: when
/// it entered the environment before (the latest entry before `before`), or
/// when it was cut.
fn gate_start(p: &Process, ix: &Ix, r: &Release, idx: usize, before: Timestamp) -> Timestamp {
    let v = r.version.to_string();
    if idx == 0 {
        return r.created_at;
    }
    let prev = &p.environments[idx - 1].name;
    ix.of(&v)
        .filter(|d| &d.env == prev)
        .filter_map(entered)
        .filter(|t| *t <= before)
        .max()
        .unwrap_or(r.created_at)
}

/// When each requirement of the gate into `env` was met for `d`: (kind, name,
/// the person who met it, when).
fn requirement_times(
    p: &Process,
    r: &Release,
    idx: usize,
    env: &Environment,
    d: &Deployment,
) -> Vec<(String, String, Option<String>, Timestamp)> {
    let mut out = Vec::new();
    let (roles, kind) = if d.emergency {
        (
            &env.emergency_approvals,
            crate::model::ApprovalKind::Emergency,
        )
    } else {
        (&env.approvals, crate::model::ApprovalKind::Standard)
    };
    let quorum = env.quorum.max(1) as usize;
    for role in roles {
        let mut given: Vec<_> = r
            .approvals
            .iter()
            .filter(|a| a.env == env.name && &a.role == role && a.kind == kind)
            .filter(|a| a.at <= d.started_at)
            .collect();
        given.sort_by_key(|a| a.at);
        if let Some(a) = given.get(quorum - 1).or(given.last()) {
            out.push((
                "approval".into(),
                role.clone(),
                Some(a.approver.clone()),
                a.at,
            ));
        }
    }
    if idx > 0 {
        let prev = &p.environments[idx - 1];
        for suite in &prev.tests {
            if let Some(t) = r
                .tests
                .iter()
                .filter(|t| t.env == prev.name && &t.suite == suite && t.at <= d.started_at)
                .max_by_key(|t| t.at)
            {
                out.push((
                    "tests".into(),
                    suite.clone(),
                    Some(t.reporter.clone()),
                    t.at,
                ));
            }
        }
    }
    for item in p.checklist.iter().filter(|c| c.before == env.name) {
        if let Some(t) = r
            .checklist
            .iter()
            .filter(|t| t.id == item.id && t.at <= d.started_at)
            .max_by_key(|t| t.at)
        {
            out.push((
                "checklist".into(),
                item.id.clone(),
                Some(t.by.clone()),
                t.at,
            ));
        }
    }
    out
}

fn counts(p: &Process, facts: &Facts, s: &Scope) -> Counts {
    let env = s.env;
    let mut c = Counts::default();
    for d in facts.deployments.iter().filter(|d| d.env == env) {
        let Some(t) = d.finished_at.or(Some(d.started_at)) else {
            continue;
        };
        if !in_period(s, t) {
            continue;
        }
        match (d.action, d.outcome) {
            (DeploymentAction::Deploy, Outcome::Succeeded) if d.emergency => {
                c.emergency_promotions += 1;
                if !d.in_window {
                    c.freeze_overrides += 1;
                }
            }
            (DeploymentAction::Deploy, Outcome::Failed | Outcome::TimedOut) => {
                c.failed_deployments += 1
            }
            (DeploymentAction::Rollback, Outcome::Succeeded) => {
                // The scheduler's rollbacks are the automatic ones.
                if d.actor == crate::decide::SCHEDULER {
                    c.rollbacks_automatic += 1;
                } else {
                    c.rollbacks_manual += 1;
                }
            }
            _ => {}
        }
    }
    c.scope_overrides = facts
        .scope_overrides
        .iter()
        .filter(|(t, _)| in_period(s, *t))
        .count() as u64;
    let mut by_sev: BTreeMap<String, u64> = BTreeMap::new();
    for i in facts
        .incidents
        .iter()
        .filter(|i| i.env == env && in_period(s, i.opened_at))
    {
        *by_sev
            .entry(i.severity.clone().unwrap_or_else(|| "none".into()))
            .or_default() += 1;
        if i.release.is_none() {
            c.incidents_without_release += 1;
        }
    }
    c.incidents = severity_order(p, by_sev.keys().cloned())
        .into_iter()
        .map(|s| SeverityCount {
            count: by_sev[&s],
            severity: s,
        })
        .collect();
    c
}

/// The default period: the 30 days up to `now`.
pub fn default_since(now: Timestamp) -> Timestamp {
    now.checked_sub(SignedDuration::from_hours(24 * 30))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_percentile_cont() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[600, 1800], 0.5), Some(1200));
        assert_eq!(percentile(&[600, 1800], 0.9), Some(1680));
        assert_eq!(percentile(&[1, 2, 3, 4, 5], 0.5), Some(3));
        // Halves round away from zero.
        assert_eq!(percentile(&[1, 2], 0.5), Some(2));
    }

    #[test]
    fn seconds_round_to_the_nearest() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            secs(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:00:00.499Z")),
            0
        );
        assert_eq!(
            secs(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:00:00.5Z")),
            1
        );
        assert_eq!(
            secs(t("2026-01-01T00:00:01Z"), t("2026-01-01T00:00:00Z")),
            -1
        );
    }
}
