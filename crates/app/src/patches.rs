//! Patch commands: report, triage, start, review, ready, reject, defer, list, show.

use jiff::Timestamp;
use serde::Serialize;
use sluice_core::audit::StoredEvent;
use sluice_core::decide::{self, ReportInput, TriageInput};
use sluice_core::event::Event;
use sluice_core::model::Patch;
use sluice_store::PatchQuery;

use crate::{App, AppError, Result, not_found_patch};

/// A patch with its history.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PatchView {
    pub patch: Patch,
    pub overdue: bool,
    pub events: Vec<StoredEvent>,
}

/// A page of `patch list`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PatchList {
    pub patches: Vec<Patch>,
    /// How many matched in all, when known (see `PatchQuery::count`).
    pub total: Option<i64>,
    pub overdue: Vec<String>,
}

impl App {
    /// `patch report`.
    pub async fn report_patch(
        &self,
        actor: &str,
        now: Timestamp,
        input: ReportInput,
    ) -> Result<Patch> {
        // An action of a retrospective names one that exists.
        if let Some(s) = &input.source
            && s.kind == sluice_core::model::SourceKind::Retro
        {
            let id = s.reference.as_deref().unwrap_or_default();
            if id.is_empty() {
                return Err(AppError::Invalid(
                    "a patch from a retrospective names it: --from-retro ID".into(),
                ));
            }
            self.retro(now, id).await?;
        }
        let ctx = self.ctx(actor, now);
        let done = self
            .store
            .commit_new_patch(|n| {
                let (p, e) = decide::report(&ctx, n, input)?;
                let mut c = self.change(actor, now);
                c.patches.push((p, None));
                c.events.push(e);
                Ok::<_, decide::Denied>(self.with_outbox(c))
            })
            .await?;
        let (c, _) = done?;
        Ok(c.patches
            .into_iter()
            .next()
            .map(|(p, _)| p)
            .expect("the change holds the new patch"))
    }

    pub(crate) async fn patch_rev(&self, key: &str) -> Result<(Patch, i64)> {
        self.store
            .patch(&self.canonical_key(key))
            .await?
            .ok_or_else(|| not_found_patch(key))
    }

    /// A patch key as Sluice writes it: `shop-12` and ` SHOP-12 ` are `SHOP-12`
    /// (the project's key, as the process file spells it, then the number).
    pub(crate) fn canonical_key(&self, key: &str) -> String {
        let key = key.trim();
        let project = &self.process.project.key;
        match key.rsplit_once('-') {
            Some((prefix, n))
                if prefix.eq_ignore_ascii_case(project)
                    && n.bytes().all(|b| b.is_ascii_digit()) =>
            {
                format!("{project}-{n}")
            }
            _ => key.to_string(),
        }
    }

    /// One patch command: read the patch, let the decider rule, save the result
    /// with its event.
    async fn step(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        decide: impl FnOnce(&decide::Ctx, &Patch) -> decide::Decision<(Patch, Event)>,
    ) -> Result<Patch> {
        let (p, rev) = self.patch_rev(key).await?;
        let (n, e) = decide(&self.ctx(actor, now), &p)?;
        self.save_patch(actor, now, n, rev, e).await
    }

    async fn save_patch(
        &self,
        actor: &str,
        now: Timestamp,
        p: Patch,
        rev: i64,
        e: Event,
    ) -> Result<Patch> {
        let mut c = self.change(actor, now);
        c.patches.push((p.clone(), Some(rev)));
        c.events.push(e);
        self.commit(c).await?;
        Ok(p)
    }

    /// `patch triage`.
    pub async fn triage_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        input: TriageInput,
    ) -> Result<Patch> {
        self.step(actor, now, key, |ctx, p| decide::triage(ctx, p, input))
            .await
    }

    /// `patch start`.
    /// In a git repository the branch is created from the latest stable release of
    /// the patch's line and checked out; a dirty tree or a line without a release refuses.
    pub async fn start_patch(&self, actor: &str, now: Timestamp, key: &str) -> Result<Patch> {
        let (p, rev) = self.patch_rev(key).await?;
        crate::vcs::require_commit(self.git.as_ref(), &format!("{} cannot start", p.key))?;
        let (mut n, mut e) = decide::start(&self.ctx(actor, now), &p)?;
        if let (Some(repo), Some(branch)) = (&self.git, n.branch.clone())
            && let Some((base, commit)) =
                crate::vcs::start_branch(&self.process, repo, &n, &branch)?
        {
            e.payload["base"] = serde_json::json!(base);
            e.payload["base_commit"] = serde_json::json!(commit.to_string());
            n.base_commit = Some(commit.to_string());
        }
        self.save_patch(actor, now, n, rev, e).await
    }

    /// `patch review`: `verdict` None asks for review.
    pub async fn review_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        verdict: Option<bool>,
        comment: Option<String>,
    ) -> Result<Patch> {
        let authors = match verdict {
            Some(_) => self.commit_authors(key).await?,
            None => Vec::new(),
        };
        self.step(actor, now, key, |ctx, p| {
            decide::review(ctx, p, verdict, comment, &authors)
        })
        .await
    }

    /// The authors (emails and names) of the commits on a patch's branch beyond
    /// the commit it was started from; none outside a git repository.
    async fn commit_authors(&self, key: &str) -> Result<Vec<String>> {
        let (p, _) = self.patch_rev(key).await?;
        let (Some(repo), Some(branch)) = (&self.git, p.branch.as_deref()) else {
            return Ok(Vec::new());
        };
        let Ok(tip) = repo.resolve(&format!("refs/heads/{branch}")) else {
            return Ok(Vec::new());
        };
        let base: Vec<sluice_git::CommitId> = p
            .base_commit
            .as_deref()
            .and_then(|b| b.parse().ok())
            .into_iter()
            .collect();
        let mut out: Vec<String> = Vec::new();
        for c in repo.commits(&tip, &base)? {
            for who in [c.author_email, c.author_name] {
                if !who.is_empty() && !out.contains(&who) {
                    out.push(who);
                }
            }
        }
        Ok(out)
    }

    /// `patch ready`.
    pub async fn ready_patch(&self, actor: &str, now: Timestamp, key: &str) -> Result<Patch> {
        self.step(actor, now, key, decide::ready).await
    }

    /// `patch reject`.
    pub async fn reject_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        reason: String,
    ) -> Result<Patch> {
        self.step(actor, now, key, |ctx, p| decide::reject(ctx, p, reason))
            .await
    }

    /// `patch defer`.
    pub async fn defer_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        reason: String,
    ) -> Result<Patch> {
        self.step(actor, now, key, |ctx, p| decide::defer(ctx, p, reason))
            .await
    }

    /// `patch list`: overdue first.
    pub async fn list_patches(&self, now: Timestamp, mut q: PatchQuery) -> Result<PatchList> {
        q.now_ms = now.as_millisecond();
        let page = self.store.patches(&q).await?;
        let overdue = page
            .patches
            .iter()
            .filter(|p| p.is_overdue(now))
            .map(|p| p.key.clone())
            .collect();
        Ok(PatchList {
            patches: page.patches,
            total: page.total,
            overdue,
        })
    }

    /// `patch show`.
    pub async fn show_patch(&self, now: Timestamp, key: &str) -> Result<PatchView> {
        let (p, _) = self.patch_rev(key).await?;
        let events = self.store.events(Some(&p.key), 0, 1000).await?;
        Ok(PatchView {
            overdue: p.is_overdue(now),
            patch: p,
            events,
        })
    }
}

impl App {
    /// `patch port`: cherry-picks a patch's commits onto another maintained line
    /// (or main) on a new branch, and tracks the fix on that line.
    pub async fn port_patch(
        &self,
        actor: &str,
        now: Timestamp,
        key: &str,
        to: sluice_core::model::Target,
    ) -> Result<Patch> {
        use sluice_core::model::{Port, Target};
        let repo = self
            .git
            .as_ref()
            .ok_or_else(|| crate::AppError::Invalid("porting needs a git repository".into()))?;
        let (p, rev) = self.patch_rev(key).await?;
        sluice_core::decide::require_step(
            &self.ctx(actor, now),
            sluice_core::process::Step::Develop,
            "port patches",
        )?;
        if let Target::Line(l) = to
            && !self.process.project.maintained_lines.contains(&l)
        {
            return Err(crate::AppError::Invalid(format!(
                "line {l} is not maintained"
            )));
        }
        if p.targets.first() == Some(&to) || p.ports.iter().any(|x| x.target == to) {
            return Err(crate::AppError::Invalid(format!(
                "{key} already targets {to}"
            )));
        }
        let Some(branch) = p.branch.clone() else {
            return Err(crate::AppError::Refused {
                summary: format!("{key} has no branch to port from"),
                unmet: vec![
                    sluice_core::decide::Unmet::new("a started patch")
                        .hint(format!("sluice patch start {key}")),
                ],
            });
        };
        // The commits of the fix: on its branch since the release it started from.
        let tip = repo.resolve(&branch)?;
        let base = match &p.base_commit {
            Some(b) => Some(b.clone()),
            // Patches started before the base was kept on the patch: read it from the log.
            None => self
                .store
                .events(Some(key), 0, 1000)
                .await?
                .iter()
                .filter(|e| e.kind == "patch.started")
                .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.payload).ok())
                .filter_map(|v| v["base_commit"].as_str().map(str::to_string))
                .next_back(),
        };
        let exclude: Vec<sluice_git::CommitId> =
            base.iter().filter_map(|b| b.parse().ok()).collect();
        let mut picks: Vec<sluice_git::CommitInfo> = repo
            .commits(&tip, &exclude)?
            .into_iter()
            .filter(|c| c.parents <= 1)
            .collect();
        picks.reverse();
        if picks.is_empty() {
            return Err(crate::AppError::Refused {
                summary: format!("{key} has no commits on {branch} to port"),
                unmet: vec![sluice_core::decide::Unmet::new(format!(
                    "commits on {branch}"
                ))],
            });
        }
        let tags = crate::vcs::release_tags(&self.process, Some(repo), "HEAD")?;
        let onto = match to {
            Target::Line(l) => tags
                .latest_on_line(l.major, l.minor)
                .map(|r| r.commit.clone())
                .ok_or_else(|| crate::AppError::Refused {
                    summary: format!("line {l} has no release to port onto"),
                    unmet: vec![sluice_core::decide::Unmet::new(format!(
                        "a stable release tag on line {l}"
                    ))],
                })?,
            Target::Main => repo.resolve("main").or_else(|_| repo.resolve("HEAD"))?,
        };
        let new_branch = if self.process.project.patch_branch.contains("{line}") {
            let mut q = p.clone();
            q.targets = vec![to];
            sluice_core::decide::branch_name(&self.ctx(actor, now), &q)
        } else {
            format!("{branch}-{to}")
        };
        let ids: Vec<sluice_git::CommitId> = picks.iter().map(|c| c.id.clone()).collect();
        match self.dated(repo, now).cherry_pick_onto(&new_branch, &onto, &ids)? {
            sluice_git::PickOutcome::Conflict { commit, files } => Err(crate::AppError::Refused {
                summary: format!("{key} does not apply cleanly to {to}: commit {} conflicts; nothing was changed", commit.short()),
                unmet: files
                    .iter()
                    .map(|f| sluice_core::decide::Unmet::new(format!("conflict in {f}")))
                    .chain(std::iter::once(
                        sluice_core::decide::Unmet::new("port it by hand on a branch from the line's release, then link the commits with a `Patch:` trailer"),
                    ))
                    .collect(),
            }),
            sluice_git::PickOutcome::Picked { branch: b, commits } => {
                let mut n = p.clone();
                n.ports.push(Port {
                    target: to,
                    branch: b.clone(),
                    commits: commits.iter().map(|c| c.to_string()).collect(),
                    by: actor.to_string(),
                    at: now,
                    release: None,
                });
                if !n.targets.contains(&to) {
                    n.targets.push(to);
                }
                n.updated_at = now;
                let e = Event::new(
                    "patch.ported",
                    key,
                    serde_json::json!({"to": to, "branch": b, "commits": n.ports.last().map(|x| &x.commits)}),
                );
                self.save_patch(actor, now, n, rev, e).await
            }
        }
    }
}
