//! Writing the planned history ([`crate::metrics_plan`]) into the store:
//! patches through [`crate::seed::seed_with`], the audit log through
//! [`crate::history::append_events`], releases cloned from a template release
//! made through the commands, their deployment records and the incidents, in
//! multi-row inserts.

use anyhow::{Context, Result};
use jiff::{SignedDuration, Timestamp};
use sluice_core::model::{
    Approval, ChecklistTick, Deployment, DeploymentAction, LinkedCommit, Outcome, Release,
    ReleaseGit, ReleaseStatus, ScopeOverride, TestRun, Watch, WatchEnd,
};
use sluice_store::Store;

use crate::history::{append_events, insert_batched};
use crate::metrics_events::{dep_id, thin_or_fill};
use crate::metrics_plan::{ENVS, PROD, Plan, Run, SUITES, Seeded, TEST, WATCH, adjust};
use crate::seed::{Rng, seed_with};

/// How much was written, for the report.
#[derive(Debug, Default, Clone)]
pub(crate) struct Seeding {
    pub(crate) releases: usize,
    pub(crate) candidates: usize,
    pub(crate) rolled_back: usize,
    pub(crate) emergency: usize,
    pub(crate) patches: usize,
    pub(crate) linked: usize,
    pub(crate) deployments: usize,
    pub(crate) failed_deploys: usize,
    pub(crate) incidents: usize,
    pub(crate) events: i64,
    pub(crate) reopened_events: usize,
    /// Events the facts imply, before thinning or topping up.
    pub(crate) implied_events: usize,
    pub(crate) scope_overrides: usize,
    /// (phase, seconds).
    pub(crate) phases: Vec<(&'static str, f64)>,
}

impl Plan {
    /// Writes the patches, then the audit log. The releases, deployments and
    /// incidents follow with [`Plan::write_releases`], once the template
    /// release exists (it is cut from ready patches, so it must come after
    /// the patches and before the seeded releases).
    pub(crate) async fn write_patches_and_events(
        &mut self,
        store: &Store,
        now: Timestamp,
        events: usize,
        s: &mut Seeding,
    ) -> Result<()> {
        let t = std::time::Instant::now();
        let n = self.fates.len();
        let mut rng = Rng(0x94D0_49BB_1331_11EB);
        let (releases, fates) = (&self.releases, &self.fates);
        let seeded = &mut self.seeded;
        seed_with(store, n, |p| {
            adjust(&mut rng, releases, fates, now, p);
            seeded[p.number as usize - 1] = Some(Seeded {
                reported: p.reported_at,
                status: p.status,
                triaged: p.triaged_at,
                reviewed: p.reviews.first().map(|r| r.at),
            });
        })
        .await?;
        s.patches = n;
        s.linked = self.fates.iter().filter(|f| f.first.is_some()).count();
        s.phases.push(("patches", t.elapsed().as_secs_f64()));

        let t = std::time::Instant::now();
        let mut list = self.events();
        s.implied_events = list.len();
        thin_or_fill(&mut rng, &mut list, events, &self.releases, self.end);
        list.sort_by_key(|e| e.at_ms);
        s.reopened_events = list.iter().filter(|e| e.kind == "patch.reopened").count();
        s.scope_overrides = list
            .iter()
            .filter(|e| e.kind == "release.scope_overridden")
            .count();
        s.phases.push(("events planned", t.elapsed().as_secs_f64()));
        let t = std::time::Instant::now();
        s.events = append_events(store, list).await?;
        s.phases.push(("events", t.elapsed().as_secs_f64()));
        Ok(())
    }

    /// Writes the releases (cloned from `template`, a release made through
    /// every command), their deployments and the incidents.
    pub(crate) async fn write_releases(
        &self,
        store: &Store,
        template: &Release,
        s: &mut Seeding,
    ) -> Result<()> {
        let t = std::time::Instant::now();
        let rows: Vec<Release> = (0..self.releases.len())
            .map(|i| self.release(template, i))
            .collect::<Result<_>>()?;
        s.releases = rows.len();
        s.candidates = rows
            .iter()
            .filter(|r| r.status == ReleaseStatus::Candidate)
            .count();
        s.rolled_back = rows
            .iter()
            .filter(|r| r.status == ReleaseStatus::RolledBack)
            .count();
        s.emergency = self.releases.iter().filter(|p| p.emergency).count();
        insert_batched(
            store,
            "INSERT INTO releases (version, major, minor, patch, status, created_ms, data, rev)",
            7,
            ", 1",
            &rows,
            250,
            |q, r| {
                Ok(q.bind(r.version.to_string())
                    .bind(r.version.major as i64)
                    .bind(r.version.minor as i64)
                    .bind(r.version.patch as i64)
                    .bind(r.status.as_str())
                    .bind(r.created_at.as_millisecond())
                    .bind(serde_json::to_string(r)?))
            },
        )
        .await?;
        s.phases.push(("releases", t.elapsed().as_secs_f64()));

        let t = std::time::Instant::now();
        let deps = self.deployments();
        s.deployments = deps.len();
        s.failed_deploys = deps.iter().filter(|d| d.outcome == Outcome::Failed).count();
        insert_batched(
            store,
            "INSERT INTO deployments (id, release, env, action, outcome, started_ms, finished_ms, data)",
            8,
            "",
            &deps,
            1000,
            |q, d| {
                Ok(q.bind(d.id.clone())
                    .bind(d.release.clone())
                    .bind(d.env.clone())
                    .bind(d.action.as_str())
                    .bind(d.outcome.as_str())
                    .bind(d.started_at.as_millisecond())
                    .bind(d.finished_at.map(|t| t.as_millisecond()))
                    .bind(serde_json::to_string(d)?))
            },
        )
        .await?;
        s.incidents = self.incidents.len();
        insert_batched(
            store,
            "INSERT INTO incidents (id, env, release, source, fingerprint, is_open, opened_ms, data, severity, rev)",
            9,
            ", 1",
            &self.incidents,
            1000,
            |q, i| {
                Ok(q.bind(i.id)
                    .bind(i.env.clone())
                    .bind(i.release.clone())
                    .bind(i.source.clone())
                    .bind(i.fingerprint.clone())
                    .bind(i64::from(i.is_open()))
                    .bind(i.opened_at.as_millisecond())
                    .bind(serde_json::to_string(i)?)
                    .bind(i.severity.clone()))
            },
        )
        .await?;
        s.phases
            .push(("deployments and incidents", t.elapsed().as_secs_f64()));
        Ok(())
    }

    /// Release `i` as the store holds it.
    fn release(&self, template: &Release, i: usize) -> Result<Release> {
        let p = &self.releases[i];
        let approval = template
            .approvals
            .first()
            .context("the template has no approval")?;
        let test = template
            .tests
            .first()
            .context("the template has no test run")?;
        let tick = template
            .checklist
            .first()
            .context("the template has no tick")?;
        let mut r = template.clone();
        r.version = p.version.clone();
        r.previous = i.checked_sub(1).map(|j| self.releases[j].version.clone());
        r.patches = p.holds.iter().map(|k| format!("BENCH-{k}")).collect();
        r.created_at = p.cut;
        r.created_by = "rm".into();
        r.reached = p.entries.iter().map(|e| ENVS[e.env].to_string()).collect();
        r.status = match (&p.rollback, p.entered(PROD)) {
            (Some(_), _) => ReleaseStatus::RolledBack,
            (None, Some(_)) => ReleaseStatus::Released,
            (None, None) => ReleaseStatus::Candidate,
        };
        r.approvals = [
            (TEST, "qa", "qa", p.qa_at),
            (PROD, "product_owner", "po", p.po_at),
        ]
        .into_iter()
        .filter_map(|(env, role, who, at)| {
            Some(Approval {
                env: ENVS[env].into(),
                role: role.into(),
                approver: who.into(),
                at: at?,
                ..approval.clone()
            })
        })
        .collect();
        r.tests = p
            .tests
            .iter()
            .map(|(env, at, passed)| TestRun {
                env: ENVS[*env].into(),
                suite: SUITES[*env].into(),
                passed: *passed,
                at: *at,
                ..test.clone()
            })
            .collect();
        r.checklist = p
            .tick_at
            .map(|at| ChecklistTick { at, ..tick.clone() })
            .into_iter()
            .collect();
        r.in_flight = None;
        r.follow_ups = Vec::new();
        r.retros = Vec::new();
        r.watches = p
            .entered(PROD)
            .map(|e| {
                let until = e.end + WATCH;
                let ended = match &p.rollback {
                    Some(rb) => Some(WatchEnd {
                        at: rb.run.end,
                        clean: false,
                        problems: vec!["rolled back".into()],
                    }),
                    None => (until <= self.end).then(|| WatchEnd {
                        at: until,
                        clean: p.canary_passed(),
                        problems: Vec::new(),
                    }),
                };
                Watch {
                    env: "prod".into(),
                    from: e.end,
                    until,
                    ended,
                }
            })
            .into_iter()
            .collect();
        let last = [
            p.entries.last().map(|e| e.end),
            p.rollback.as_ref().map(|r| r.run.end),
            p.tests.last().map(|t| t.1),
        ];
        r.updated_at = last.into_iter().flatten().max().unwrap_or(p.cut);
        let commits = p
            .holds
            .iter()
            .map(|k| {
                let reported = self.seeded[*k as usize - 1]
                    .as_ref()
                    .map_or(p.cut, |s| s.reported);
                // Committed between the report and the cut.
                let at =
                    reported + (p.cut.duration_since(reported) * 3 / 4).max(SignedDuration::ZERO);
                LinkedCommit {
                    id: format!("{:040x}", (*k as u128) * 0x9E37_79B9_7F4A_7C15),
                    summary: format!("fix: checkout total with a coupon applied twice (BENCH-{k})"),
                    patches: vec![format!("BENCH-{k}")],
                    kind: Some("fix".into()),
                    breaking: false,
                    merge: false,
                    at: Some(at),
                }
            })
            .collect();
        r.git = Some(ReleaseGit {
            target: format!("{:040x}", (i as u128 + 1) * 0xC2B2_AE3D_27D4_EB4F),
            tag: format!("v{}", p.version),
            previous_tag: r.previous.as_ref().map(|v| format!("v{v}")),
            commits,
            scope_override: p.scope_override.map(|_| ScopeOverride {
                by: "lead".into(),
                reason: "a dependency bump the fix needs".into(),
                commits: vec![format!("{:040x}", i as u128 + 7)],
            }),
        });
        Ok(r)
    }

    fn deployments(&self) -> Vec<Deployment> {
        let mut out = Vec::new();
        for (i, p) in self.releases.iter().enumerate() {
            let v = p.version.to_string();
            let dep = |n: usize, r: &Run, action, outcome, actor: &str| Deployment {
                id: dep_id(i, n, r),
                release: v.clone(),
                env: ENVS[r.env].into(),
                action,
                to_release: None,
                actor: actor.into(),
                started_at: r.start,
                finished_at: Some(r.end),
                outcome,
                emergency: p.emergency && r.env == PROD,
                reason: (p.emergency && r.env == PROD).then(|| "critical fix".into()),
                in_window: true,
                command: None,
                exit_code: None,
                output: None,
            };
            if let Some(f) = &p.failed {
                out.push(Deployment {
                    command: Some(vec!["./deploy.sh".into(), v.clone(), ENVS[f.env].into()]),
                    exit_code: Some(1),
                    output: Some("error: health check failed after 60s".into()),
                    ..dep(9, f, DeploymentAction::Deploy, Outcome::Failed, "rm")
                });
            }
            for (n, e) in p.entries.iter().enumerate() {
                out.push(dep(
                    n,
                    e,
                    DeploymentAction::Deploy,
                    Outcome::Succeeded,
                    "rm",
                ));
            }
            if let Some(rb) = &p.rollback {
                let actor = if rb.automatic {
                    sluice_core::decide::SCHEDULER
                } else {
                    "rm"
                };
                out.push(Deployment {
                    to_release: Some(rb.to.clone()),
                    emergency: false,
                    reason: Some("canary failed".into()),
                    ..dep(
                        8,
                        &rb.run,
                        DeploymentAction::Rollback,
                        Outcome::Succeeded,
                        actor,
                    )
                });
            }
        }
        out
    }
}
