//! Release commands: plan, cut, amend, import, show, list, test results,
//! approvals, the checklist and follow-up reviews.

use jiff::Timestamp;
use semver::Version;
use serde::Serialize;
use sluice_core::decide::{self, GateReport, Plan, evaluate_gate, next_env};
use sluice_core::event::Event;
use sluice_core::model::{Deployment, Patch, Release, ReleaseStatus, Target};

use crate::{App, AppError, Result, not_found_patch, not_found_release};

/// `release plan`: the would-be release and what its first gate still needs.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PlanView {
    pub plan: Plan,
    pub patches: Vec<Patch>,
    /// Problems that stop `release cut`.
    pub refusal: Option<Vec<decide::Unmet>>,
    /// The first gate the release will meet once cut.
    pub next_gate: Option<GateReport>,
    /// Candidates already cut on this line, each with its next gate.
    pub open_releases: Vec<GateReport>,
    /// The release's commits in git, when the repository has any.
    pub git: Option<crate::vcs::GitPlan>,
}

/// Options of `release cut`.
#[derive(Debug, Clone, Default)]
pub struct CutOptions {
    /// The revision to release [default: the line's release branch, or HEAD for main].
    pub target: Option<String>,
    /// Let out-of-scope commits into a patch release, for this recorded reason.
    pub allow_scope: Option<String>,
    /// Refuse, rather than create, a maintained line's missing release branch.
    pub no_assemble: bool,
}

/// The refusal for a release whose target lacks some of its patches' commits.
fn missing_refusal(plan: &Plan, g: &crate::vcs::GitPlan) -> AppError {
    AppError::Refused {
        summary: format!(
            "release {} would claim fixes that {} does not contain; nothing was tagged",
            plan.version, g.target_ref
        ),
        unmet: g.missing.clone(),
    }
}

/// `release show`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ReleaseView {
    pub release: Release,
    pub patches: Vec<Patch>,
    pub next_gate: Option<GateReport>,
    pub deployments: Vec<Deployment>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ChecklistLine {
    pub id: String,
    pub text: String,
    pub by: Option<String>,
    pub before: String,
    pub done_by: Option<String>,
    #[schemars(with = "Option<String>")]
    pub done_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ChecklistView {
    pub release: String,
    pub items: Vec<ChecklistLine>,
}

pub(crate) fn parse_version(v: &str) -> Result<Version> {
    let v = v.strip_prefix('v').unwrap_or(v);
    Version::parse(v).map_err(|e| {
        AppError::Invalid(format!(
            "`{v}` is not a SemVer version ({e}); write MAJOR.MINOR.PATCH, for example 1.2.4"
        ))
    })
}

/// What `approve` did: the release, and the role the approval was given as.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Approved {
    pub release: Release,
    pub role: String,
}

impl App {
    pub(crate) async fn release_rev(&self, v: &str) -> Result<(Release, i64)> {
        let v = parse_version(v)?.to_string();
        self.store
            .release(&v)
            .await?
            .ok_or_else(|| not_found_release(&v))
    }

    pub(crate) async fn release_patches(&self, r: &Release) -> Result<Vec<(Patch, i64)>> {
        self.store
            .patches_by_key(&r.patches)
            .await
            .map_err(Into::into)
    }

    pub(crate) fn gate_for(
        &self,
        now: Timestamp,
        r: &Release,
        patches: &[&Patch],
        incidents: &[sluice_core::model::Incident],
    ) -> Option<GateReport> {
        let ctx = self.ctx("", now);
        let env = next_env(&ctx, r)?;
        Some(evaluate_gate(
            &ctx,
            r,
            env,
            false,
            decide::emergency_eligible(&ctx, patches),
            incidents,
        ))
    }

    fn check_target(&self, target: Target) -> Result<()> {
        decide::check_targets(&self.ctx("", Timestamp::UNIX_EPOCH), &[target]).map_err(Into::into)
    }

    /// The plan for a target, its patches, and what it would hold in git.
    ///
    /// The version reads the release tags in git as well as the recorded releases
    /// (`vcs::release_tags`, reachability from the target), so it never goes below or
    /// reuses a tag made before Sluice.
    async fn planned(
        &self,
        ctx: &decide::Ctx<'_>,
        target: Target,
        target_rev: Option<&str>,
        assemble: bool,
    ) -> Result<(Plan, Vec<Patch>, Option<crate::vcs::GitPlan>)> {
        self.check_target(target)?;
        if target_rev.is_some_and(|t| t.trim().is_empty()) {
            return Err(AppError::Invalid(
                "--target is empty; give a branch, tag or commit, or leave it out".into(),
            ));
        }
        let ready = self.store.ready_patches().await?;
        let refs: Vec<&Patch> = ready.iter().collect();
        let versions = self.store.versions().await?;
        let tags = crate::vcs::release_tags(
            &self.process,
            self.git.as_ref(),
            target_rev.unwrap_or("HEAD"),
        )?;
        let plan = decide::plan_tagged(ctx, target, &refs, &versions, &crate::vcs::tagged(&tags));
        let patches: Vec<Patch> = ready
            .into_iter()
            .filter(|p| plan.patches.contains(&p.key))
            .collect();
        let git = match &self.git {
            Some(repo) if !plan.patches.is_empty() && crate::vcs::usable(repo) => {
                let members: Vec<&Patch> = patches.iter().collect();
                let source =
                    crate::vcs::source(&self.process, repo, &tags, target, target_rev, assemble)?;
                crate::vcs::plan_commits(&self.process, repo, ctx, &plan, &members, &tags, &source)?
            }
            _ => None,
        };
        Ok((plan, patches, git))
    }

    /// `release plan`: the next release on a target, its version, its commits in
    /// git (unlinked and out-of-scope ones named) and the first gate it will meet.
    pub async fn plan_release(
        &self,
        actor: &str,
        now: Timestamp,
        target: Target,
        target_rev: Option<&str>,
    ) -> Result<PlanView> {
        let ctx = self.ctx(actor, now);
        let (plan, patches, git) = match self.planned(&ctx, target, target_rev, true).await {
            Ok(x) => x,
            // A missing release branch is part of the plan's answer, not a failure to plan.
            Err(AppError::Refused { unmet, .. }) => {
                let (plan, patches, _) = self
                    .planned(&ctx, target, Some("HEAD"), true)
                    .await
                    .map(|(a, b, _)| (a, b, ()))?;
                let members: Vec<&Patch> = patches.iter().collect();
                let draft = decide::draft(&ctx, &plan, &members);
                let next_gate = self.gate_for(now, &draft, &members, &[]);
                return Ok(PlanView {
                    plan,
                    patches,
                    refusal: Some(unmet),
                    next_gate,
                    open_releases: vec![],
                    git: None,
                });
            }
            Err(e) => return Err(e),
        };
        let members: Vec<&Patch> = patches.iter().collect();
        let mut refusal: Vec<decide::Unmet> = match decide::plan_refusal(&plan) {
            None => Vec::new(),
            Some(decide::Denied::Refused { unmet, .. }) => unmet,
            Some(decide::Denied::Invalid(m)) => vec![decide::Unmet::new(m)],
        };
        if let Some(g) = &git {
            refusal.extend(g.missing.iter().cloned());
            refusal.extend(g.scope.iter().cloned());
        }
        let draft = decide::draft(&ctx, &plan, &members);
        let next_gate = if plan.patches.is_empty() {
            None
        } else {
            self.gate_for(now, &draft, &members, &[])
        };
        let mut open_releases = Vec::new();
        for r in self.store.releases().await? {
            if r.status == ReleaseStatus::Candidate && r.target == target {
                let ps = self.release_patches(&r).await?;
                let refs: Vec<&Patch> = ps.iter().map(|(p, _)| p).collect();
                let incidents = self.open_incidents_on(&r.version.to_string()).await?;
                if let Some(g) = self.gate_for(now, &r, &refs, &incidents) {
                    open_releases.push(g);
                }
            }
        }
        Ok(PlanView {
            plan,
            patches,
            refusal: (!refusal.is_empty()).then_some(refusal),
            next_gate,
            open_releases,
            git,
        })
    }

    /// `release cut`: records the release; in a git repository also tags its target
    /// commit (the tag's message is the release notes), attaches the evidence note,
    /// and adds the version to the changelog.
    pub async fn cut_release(
        &self,
        actor: &str,
        now: Timestamp,
        target: Target,
        opts: CutOptions,
    ) -> Result<Release> {
        crate::vcs::require_commit(self.git.as_ref(), "no release can be cut")?;
        let ctx = self.ctx(actor, now);
        let (plan, patches, mut git) = self
            .planned(&ctx, target, opts.target.as_deref(), !opts.no_assemble)
            .await?;
        let refs: Vec<&Patch> = patches.iter().collect();
        // The process's refusals come before anything is written to git.
        decide::cut(&ctx, &plan, &refs)?;
        let mut assembled = None;
        if let (Some(repo), Some(a)) = (&self.git, git.as_ref().and_then(|g| g.assemble.clone())) {
            let g = git.as_ref().expect("assembly comes with a git plan");
            if !g.missing.is_empty() {
                return Err(missing_refusal(&plan, g));
            }
            let back = match repo.current_branch()? {
                Some(b) => b,
                None => repo.resolve("HEAD")?.to_string(),
            };
            let base: sluice_git::CommitId = repo.resolve(&format!("refs/tags/{}", a.base))?;
            match self
                .dated(repo, now)
                .assemble_branch(&g.target_ref, &base, &a.merge)?
            {
                sluice_git::MergeOutcome::Conflict { branch, files } => {
                    return Err(AppError::Refused {
                        summary: format!(
                            "{branch} does not merge cleanly onto {}: nothing was changed (`{}` was not created)",
                            a.base, g.target_ref
                        ),
                        unmet: files
                            .iter()
                            .map(|f| decide::Unmet::new(format!("conflict in {f}")))
                            .chain(std::iter::once(
                                decide::Unmet::new(format!(
                                    "`{}` built by hand from {}: merge {}, resolve the conflicts, then cut again (sluice release cut --line {})",
                                    g.target_ref,
                                    a.base,
                                    a.merge.join(", "),
                                    plan.line
                                ))
                                .hint(format!("git checkout -b {} {}", g.target_ref, a.base)),
                            ))
                            .collect(),
                    });
                }
                sluice_git::MergeOutcome::Merged { .. } => {}
            }
            assembled = Some((g.target_ref.clone(), back));
            // Plan again on the branch as built: its exact commits, merges included.
            let again = self
                .planned(&ctx, target, Some(&g.target_ref.clone()), false)
                .await;
            match again {
                Ok((_, _, g2)) => git = g2,
                Err(e) => {
                    self.undo_assembly(assembled.take());
                    return Err(e);
                }
            }
        }
        let version = plan.version.to_string();
        let result = self
            .cut_planned(actor, now, &ctx, plan, patches, git, &opts)
            .await;
        if let (Some(repo), Some((branch, back))) = (&self.git, assembled) {
            // A cut refused before it was recorded leaves nothing behind; once recorded,
            // the branch holds the release and stays.
            let recorded = matches!(self.store.release(&version).await, Ok(Some(_)));
            if result.is_err() && !recorded {
                self.undo_assembly(Some((branch, back)));
            } else if let Err(e) = repo.switch_to(&back) {
                eprintln!("warning: stayed on {branch}: {e}");
            }
        }
        result
    }

    /// Removes a release branch that `release cut` built, and goes back to where the
    /// user was. Best effort: failures are reported, the cut's own error is what counts.
    fn undo_assembly(&self, assembled: Option<(String, String)>) {
        let (Some(repo), Some((branch, back))) = (&self.git, assembled) else {
            return;
        };
        if let Err(e) = repo
            .switch_to(&back)
            .and_then(|()| repo.delete_branch(&branch))
        {
            eprintln!(
                "warning: the release branch {branch} built for this cut could not be removed: {e}"
            );
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the steps of one cut, split for clean-up"
    )]
    async fn cut_planned(
        &self,
        actor: &str,
        now: Timestamp,
        ctx: &decide::Ctx<'_>,
        plan: Plan,
        patches: Vec<Patch>,
        git: Option<crate::vcs::GitPlan>,
        opts: &CutOptions,
    ) -> Result<Release> {
        let refs: Vec<&Patch> = patches.iter().collect();
        let (mut release, bound, mut events) = decide::cut(ctx, &plan, &refs)?;
        if let Some(g) = &git {
            if !g.missing.is_empty() {
                return Err(missing_refusal(&plan, g));
            }
            let over = match (&opts.allow_scope, g.scope.is_empty()) {
                (_, true) => None,
                (None, false) => {
                    return Err(AppError::Refused {
                        summary: format!(
                            "patch release {} holds commits that are not patches",
                            plan.version
                        ),
                        unmet: g.scope.clone(),
                    });
                }
                (Some(reason), false) if reason.trim().is_empty() => {
                    return Err(AppError::Invalid("--allow-scope needs a --reason".into()));
                }
                (Some(reason), false) => Some(sluice_core::model::ScopeOverride {
                    by: actor.to_string(),
                    reason: reason.clone(),
                    commits: g.scope.iter().map(|u| u.requirement.clone()).collect(),
                }),
            };
            if let Some(repo) = &self.git
                && repo.resolve(&format!("refs/tags/{}", g.tag)).is_ok()
            {
                return Err(AppError::Refused {
                    summary: format!("tag {} already exists", g.tag),
                    unmet: vec![decide::Unmet::new(format!(
                        "version {} is not yet tagged in git",
                        plan.version
                    ))],
                });
            }
            if let Some(o) = &over {
                events.push(sluice_core::event::Event::new(
                    "release.scope_overridden",
                    plan.version.to_string(),
                    serde_json::json!({"reason": o.reason, "commits": o.commits}),
                ));
            }
            release.git = Some(g.facts(over));
            let ids: Vec<&str> = g.commits.iter().map(|c| c.id.as_str()).collect();
            release.content_hash = decide::content_hash_with_commits(&release.version, &refs, &ids);
            if let Some(e) = events.iter_mut().find(|e| e.kind == "release.cut") {
                e.payload["content_hash"] = serde_json::json!(release.content_hash);
                e.payload["tag"] = serde_json::json!(g.tag);
                e.payload["target"] = serde_json::json!(g.target);
                e.payload["commits"] = serde_json::json!(ids);
                e.payload["unlinked"] =
                    serde_json::json!(g.unlinked.iter().map(|c| &c.id).collect::<Vec<_>>());
            }
        }
        if release.git.is_some() {
            // What publishing needs is checked before anything is recorded, so
            // a bad changelog path or notes template cannot leave a release
            // recorded without its tag.
            crate::repo_file(&self.root, &self.process.changelog.file)
                .map_err(|e| AppError::Config(format!("[changelog] file: {e}")))?;
            let ctx = crate::notes::context(&self.process, &release, &patches);
            crate::notes::render(
                &self.process,
                &self.root,
                crate::notes::NotesFormat::Markdown,
                &ctx,
            )?;
        }
        let mut c = self.change(actor, now);
        let keys: Vec<String> = bound.iter().map(|p| p.key.clone()).collect();
        let revs = self.store.patches_by_key(&keys).await?;
        for p in bound {
            let rev = revs
                .iter()
                .find(|(x, _)| x.key == p.key)
                .map(|(_, r)| *r)
                .ok_or_else(|| not_found_patch(&p.key))?;
            c.patches.push((p, Some(rev)));
        }
        c.releases.push((release.clone(), None));
        c.events = events;
        self.commit(c).await?;
        if release.git.is_some() {
            release = self.publish_in_git(actor, now, release).await?;
        }
        Ok(release)
    }

    /// `release import`: a version that shipped before Sluice, as a baseline; with `env`,
    /// also that it runs in that environment (so a rollback has somewhere to go). In a
    /// git repository the version must have a release tag: git is the record of what was
    /// released, and versions are read from the tags without any import.
    pub async fn import_release(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        env: Option<&str>,
    ) -> Result<Release> {
        let v = parse_version(version)?;
        if let Some(repo) = self.git.as_ref().filter(|r| crate::vcs::usable(r)) {
            let tags = crate::vcs::release_tags(&self.process, Some(repo), "HEAD")?;
            if tags.find(&v).is_none() {
                let tag = tags.template().render(&v);
                return Err(AppError::NotFound(format!(
                    "no tag {tag} in {}: import records releases git holds (tags named like `{}`); tag the commit that shipped {v} first (git tag {tag} COMMIT), or check the version",
                    repo.root().display(),
                    tags.template().as_str()
                )));
            }
        }
        let ctx = self.ctx(actor, now);
        let mut c = self.change(actor, now);
        let (mut r, rev) = match (self.store.release(&v.to_string()).await?, env) {
            (Some((r, rev)), Some(_)) => (r, Some(rev)),
            _ => {
                let versions = self.store.versions().await?;
                let (r, e) = decide::import(&ctx, v, &versions)?;
                c.events.push(e);
                (r, None)
            }
        };
        if let Some(env) = env {
            let state = self.store.environment(env).await?;
            let holds = state.as_ref().and_then(|(s, _)| s.release.clone());
            let id = crate::promote::deployment_id(now);
            let (n, dep, e) = decide::baseline(&ctx, &r, env, holds.as_deref(), &id)?;
            if holds.is_none() {
                c.environments.push((
                    sluice_core::model::EnvState {
                        env: env.to_string(),
                        release: Some(n.version.to_string()),
                        since: Some(now),
                    },
                    state.map(|(_, rev)| rev),
                ));
            }
            c.deployments.push(dep);
            c.events.push(e);
            r = n;
        }
        c.releases.push((r.clone(), rev));
        self.commit(c).await?;
        Ok(r)
    }

    /// `release amend`: add or remove patches; approvals given so far stop counting.
    pub async fn amend_release(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<Release> {
        let (r, rev) = self.release_rev(version).await?;
        let current = self.release_patches(&r).await?;
        let mut adds = Vec::new();
        for k in add {
            adds.push(self.patch_rev(k).await?);
        }
        let mut removes = Vec::new();
        for k in remove {
            removes.push(self.patch_rev(k).await?);
        }
        let cur_refs: Vec<&Patch> = current.iter().map(|(p, _)| p).collect();
        let add_refs: Vec<&Patch> = adds.iter().map(|(p, _)| p).collect();
        let rm_refs: Vec<&Patch> = removes.iter().map(|(p, _)| p).collect();
        let (n, changed, e) =
            decide::amend(&self.ctx(actor, now), &r, &cur_refs, &add_refs, &rm_refs)?;
        let mut c = self.change(actor, now);
        for p in changed {
            let rev = adds
                .iter()
                .chain(&removes)
                .find(|(x, _)| x.key == p.key)
                .map(|(_, rev)| *rev);
            c.patches.push((p, rev));
        }
        c.releases.push((n.clone(), Some(rev)));
        c.events.push(e);
        self.commit(c).await?;
        Ok(n)
    }

    /// `release show`.
    pub async fn show_release(&self, now: Timestamp, version: &str) -> Result<ReleaseView> {
        let (r, _) = self.release_rev(version).await?;
        let patches: Vec<Patch> = self
            .release_patches(&r)
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let refs: Vec<&Patch> = patches.iter().collect();
        let next_gate = if r.status == ReleaseStatus::Candidate {
            let incidents = self.open_incidents_on(&r.version.to_string()).await?;
            self.gate_for(now, &r, &refs, &incidents)
        } else {
            None
        };
        let deployments = self
            .store
            .deployments(None, Some(&r.version.to_string()))
            .await?;
        Ok(ReleaseView {
            release: r,
            patches,
            next_gate,
            deployments,
        })
    }

    /// `release list`: highest version first.
    pub async fn list_releases(&self) -> Result<Vec<Release>> {
        Ok(self.store.releases().await?)
    }

    pub(crate) async fn save_release(
        &self,
        actor: &str,
        now: Timestamp,
        r: Release,
        rev: i64,
        patches: Vec<(Patch, i64)>,
        events: Vec<Event>,
    ) -> Result<Release> {
        let mut c = self.change(actor, now);
        c.releases.push((r.clone(), Some(rev)));
        c.patches = patches.into_iter().map(|(p, rev)| (p, Some(rev))).collect();
        c.events = events;
        self.commit(c).await?;
        self.refresh_evidence(&r.version.to_string()).await;
        Ok(r)
    }

    /// `test report`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per field of the CLI and API request"
    )]
    pub async fn report_test(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        env: &str,
        suite: &str,
        passed: bool,
        url: Option<String>,
    ) -> Result<Release> {
        self.report_test_run(actor, now, version, env, suite, passed, url, None)
            .await
    }

    /// `test report` of a CI run that names itself (from a webhook): ordered
    /// by the run's own time ([`decide::report_test_run`]).
    #[expect(
        clippy::too_many_arguments,
        reason = "report_test's arguments and the run"
    )]
    pub async fn report_test_run(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        env: &str,
        suite: &str,
        passed: bool,
        url: Option<String>,
        run: Option<&sluice_core::inbound::RunRef>,
    ) -> Result<Release> {
        let (r, rev) = self.release_rev(version).await?;
        let ps = self.release_patches(&r).await?;
        let refs: Vec<&Patch> = ps.iter().map(|(p, _)| p).collect();
        let (n, changed, events) = decide::report_test_run(
            &self.ctx(actor, now),
            &r,
            &refs,
            env,
            suite,
            passed,
            url,
            run,
        )?;
        let changed = changed.into_iter().map(|p| {
            let rev = ps
                .iter()
                .find(|(x, _)| x.key == p.key)
                .map(|(_, r)| *r)
                .unwrap_or(0);
            (p, rev)
        });
        let saved = self
            .save_release(actor, now, n, rev, changed.collect(), events)
            .await?;
        // Inside a monitoring window, a failed after-deploy suite is acted on at once.
        if !passed
            && let Some(t) = saved
                .tests
                .iter()
                .rev()
                .find(|t| t.env == env && t.suite == suite)
        {
            let trigger = decide::Trigger::FailedTest {
                env,
                suite,
                at: t.at,
            };
            if self.react(now, version, &trigger).await != crate::watch::Reacted::Nothing {
                // What the reaction changed (a rollback) is what the caller sees.
                return Ok(self.release_rev(version).await?.0);
            }
        }
        Ok(saved)
    }

    /// `approve`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per field of the CLI and API request"
    )]
    /// `role`: the one asked for, else the approver's one role among those
    /// the gate asks for ([`App::approver_role`]); the answer says which.
    pub async fn approve(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        env: &str,
        role: Option<&str>,
        emergency: bool,
        comment: Option<String>,
    ) -> Result<Approved> {
        let role = self.approver_role(actor, env, emergency, role)?;
        let (r, rev) = self.release_rev(version).await?;
        let (n, e) = decide::approve(&self.ctx(actor, now), &r, env, &role, emergency, comment)?;
        let release = self
            .save_release(actor, now, n, rev, vec![], vec![e])
            .await?;
        Ok(Approved { release, role })
    }

    /// `checklist`: the items and who ticked them.
    pub async fn checklist(&self, version: &str) -> Result<ChecklistView> {
        let (r, _) = self.release_rev(version).await?;
        let items = self
            .process
            .checklist
            .iter()
            .map(|c| {
                let t = r.checklist.iter().find(|t| t.id == c.id);
                ChecklistLine {
                    id: c.id.clone(),
                    text: c.text.clone(),
                    by: c.by.clone(),
                    before: c.before.clone(),
                    done_by: t.map(|t| t.by.clone()),
                    done_at: t.map(|t| t.at),
                }
            })
            .collect();
        Ok(ChecklistView {
            release: r.version.to_string(),
            items,
        })
    }

    /// `checklist --tick`.
    pub async fn tick(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        id: &str,
    ) -> Result<ChecklistView> {
        let (r, rev) = self.release_rev(version).await?;
        let (n, e) = decide::tick(&self.ctx(actor, now), &r, id)?;
        self.save_release(actor, now, n, rev, vec![], vec![e])
            .await?;
        self.checklist(version).await
    }

    /// `release follow-up`: closes the review an emergency change owes.
    pub async fn close_follow_up(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        env: &str,
        comment: String,
    ) -> Result<Release> {
        let (r, rev) = self.release_rev(version).await?;
        let (n, e) = decide::close_follow_up(&self.ctx(actor, now), &r, env, comment)?;
        self.save_release(actor, now, n, rev, vec![], vec![e]).await
    }
}

impl App {
    /// `release notes`: the notes of a release in a format. Markdown is the edited
    /// text when someone edited it.
    pub async fn release_notes(
        &self,
        version: &str,
        format: crate::notes::NotesFormat,
    ) -> Result<String> {
        let (r, _) = self.release_rev(version).await?;
        if format == crate::notes::NotesFormat::Markdown
            && let Some(text) = &r.notes
        {
            return Ok(text.clone());
        }
        self.generated_notes(&r, format).await
    }

    pub(crate) async fn generated_notes(
        &self,
        r: &Release,
        format: crate::notes::NotesFormat,
    ) -> Result<String> {
        let patches: Vec<Patch> = self
            .release_patches(r)
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let ctx = crate::notes::context(&self.process, r, &patches);
        crate::notes::render(&self.process, &self.root, format, &ctx)
    }

    /// `release notes --edit`: keeps a person's text as the release's notes; it
    /// replaces the generated notes from then on. Empty text goes back to generated notes.
    pub async fn edit_notes(
        &self,
        actor: &str,
        now: Timestamp,
        version: &str,
        text: &str,
    ) -> Result<Release> {
        let (r, rev) = self.release_rev(version).await?;
        sluice_core::decide::require_communicate(&self.ctx(actor, now), "edit release notes")?;
        let mut n = r.clone();
        let text = text.trim_end();
        n.notes = if text.is_empty() {
            None
        } else {
            Some(format!("{text}\n"))
        };
        n.updated_at = now;
        if n.notes == r.notes {
            return Ok(r);
        }
        let e = Event::new(
            "release.notes_edited",
            r.version.to_string(),
            serde_json::json!({"cleared": n.notes.is_none(), "bytes": n.notes.as_ref().map_or(0, |t| t.len())}),
        );
        let saved = self
            .save_release(actor, now, n, rev, vec![], vec![e])
            .await?;
        let text = match &saved.notes {
            Some(t) => t.clone(),
            None => {
                self.generated_notes(&saved, crate::notes::NotesFormat::Markdown)
                    .await?
            }
        };
        self.changelog_replace(now, &saved.version.to_string(), &text);
        Ok(saved)
    }
}
