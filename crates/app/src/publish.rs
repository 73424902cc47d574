//! Publishing a release in git, and checking one from git alone: the annotated
//! tag (its message is the release notes), the changelog section, and the
//! evidence note that `sluice verify` reads offline.

use jiff::Timestamp;
use serde::Serialize;
use sluice_core::changelog::{self, Group, Links, Section};
use sluice_core::decide;
use sluice_core::event::Event;
use sluice_core::model::{Patch, Release};
use sluice_core::process::Process;
use sluice_git::{CommitId, Repo};

use crate::notes::NotesFormat;
use crate::vcs::{self, Evidence, NOTES_REF};
use crate::{App, AppError, Result};

/// The changelog section of a release, from its notes context.
fn section(ctx: &crate::notes::NotesContext) -> Section {
    Section {
        version: ctx.version.clone(),
        date: ctx.date.parse().unwrap_or(jiff::civil::date(1970, 1, 1)),
        groups: ctx
            .sections
            .iter()
            .map(|s| Group {
                heading: s.heading.clone(),
                entries: s
                    .entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{}{} ({})",
                            if e.breaking { "**BREAKING:** " } else { "" },
                            e.title,
                            e.key
                        )
                    })
                    .collect(),
            })
            .collect(),
        yanked: false,
    }
}

/// Compare links in the changelog's own terms: versions as its headings write them.
fn links(p: &Process) -> Option<Links> {
    let t = p.changelog.compare_url.as_ref()?;
    let tag = |v: &str| decide::fill(&p.project.tag, &[("version", v)]);
    Some(Links {
        compare: decide::fill(
            t,
            &[
                ("previous_tag", &tag("{previous}")),
                ("tag", &tag("{version}")),
            ],
        ),
    })
}

impl App {
    /// After `release cut`: the changelog commit (when the target is checked out
    /// and clean), the annotated tag, and the evidence note.
    pub(crate) async fn publish_in_git(
        &self,
        actor: &str,
        now: Timestamp,
        release: Release,
    ) -> Result<Release> {
        let (Some(repo), Some(g)) = (self.git_at(now), release.git.clone()) else {
            return Ok(release);
        };
        let repo = &repo;
        let patches: Vec<Patch> = self
            .release_patches(&release)
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let ctx = crate::notes::context(&self.process, &release, &patches);
        let notes = crate::notes::render(&self.process, &self.root, NotesFormat::Markdown, &ctx)?;
        let target: CommitId = g
            .target
            .parse()
            .map_err(|_| AppError::Io(format!("bad commit id {}", g.target)))?;
        let mut tagged = target.clone();
        let mut changelog_written = false;
        let head = repo.resolve("HEAD").ok();
        if head.as_ref() == Some(&target) && repo.current_branch()?.is_some() && !repo.is_dirty()? {
            let path = crate::repo_file(&self.root, &self.process.changelog.file)
                .map_err(|e| AppError::Config(format!("[changelog] file: {e}")))?;
            let existing = std::fs::read_to_string(&path).unwrap_or_default();
            let sec = section(&ctx);
            let text = if existing.trim().is_empty() {
                let mut d = changelog::document(None, None, std::slice::from_ref(&sec));
                if !d.ends_with('\n') {
                    d.push('\n');
                }
                d
            } else {
                changelog::insert_release(&existing, &sec, links(&self.process).as_ref()).map_err(
                    |e| AppError::Config(format!("{}: {e}", self.process.changelog.file)),
                )?
            };
            let rel = path
                .strip_prefix(repo.root())
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            tagged =
                repo.commit_file(&rel, text.as_bytes(), &format!("chore(release): {}", g.tag))?;
            changelog_written = true;
        } else {
            eprintln!(
                "warning: {} not updated: the release target {} is not the clean, checked-out HEAD",
                self.process.changelog.file,
                target.short()
            );
        }
        repo.create_annotated_tag(&g.tag, &tagged, &notes)?;
        let (mut r, rev) = self.release_rev(&release.version.to_string()).await?;
        if let Some(rg) = r.git.as_mut() {
            rg.target = tagged.to_string();
        }
        r.updated_at = now;
        let e = Event::new(
            "release.tagged",
            r.version.to_string(),
            serde_json::json!({"tag": g.tag, "commit": tagged.to_string(), "changelog": changelog_written}),
        );
        let mut c = self.change(actor, now);
        c.releases.push((r.clone(), Some(rev)));
        c.events.push(e);
        self.commit(c).await?;
        if let Some(mut ev) = vcs::evidence(&self.process, &r, &patches) {
            ev.audit_head = Some(self.audit_head(now).await?);
            vcs::write_evidence(repo, &ev)?;
        }
        Ok(r)
    }

    /// Rewrites a release's evidence note after its approvals, tests or
    /// deployments change. Best effort: the database is the record; a failure is reported.
    pub(crate) async fn refresh_evidence(&self, version: &str) {
        let Some(repo) = &self.git else { return };
        let Ok((r, _)) = self.release_rev(version).await else {
            return;
        };
        if r.git.is_none() {
            return;
        }
        let patches: Vec<Patch> = match self.release_patches(&r).await {
            Ok(ps) => ps.into_iter().map(|(p, _)| p).collect(),
            Err(_) => return,
        };
        let head = self.audit_head(jiff::Timestamp::now()).await.ok();
        if let Some(mut ev) = vcs::evidence(&self.process, &r, &patches)
            && let Err(e) = {
                ev.audit_head = head;
                vcs::write_evidence(repo, &ev)
            }
        {
            eprintln!("warning: the evidence note of {version} was not updated: {e}");
        }
    }

    /// Keeps the changelog's section of an edited release in step with its
    /// notes, as a commit of its own on the checked-out branch. The working
    /// tree is never left changed: when the checkout is not a clean branch
    /// (or the commit fails) nothing is written and a warning says why.
    pub(crate) fn changelog_replace(&self, now: Timestamp, version: &str, text: &str) {
        let Some(repo) = &self.git_at(now) else {
            return;
        };
        let file = &self.process.changelog.file;
        let path = match crate::repo_file(&self.root, file) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("warning: {file} not updated: {e}");
                return;
            }
        };
        let Ok(doc) = std::fs::read_to_string(&path) else {
            return;
        };
        let new = match changelog::replace_section(&doc, version, text.trim_end()) {
            Ok(new) if new != doc => new,
            _ => return,
        };
        let clean_branch =
            matches!(repo.current_branch(), Ok(Some(_))) && matches!(repo.is_dirty(), Ok(false));
        if !clean_branch {
            eprintln!(
                "warning: {file} not updated for the edited notes of {version}: the checkout is not a clean branch; \
                 run `sluice release notes {version} --edit` again from a clean checkout"
            );
            return;
        }
        let rel = path
            .strip_prefix(repo.root())
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let message = format!("docs(changelog): edited notes of {version}");
        if let Err(e) = repo.commit_file(&rel, new.as_bytes(), &message) {
            eprintln!("warning: {file} not updated: {e}");
            // commit_file writes before it commits: put the file back.
            let _ = repo.restore_file(&rel);
        }
    }
}

/// What `sluice verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub tag: String,
    pub commit: String,
    pub ok: bool,
    pub problems: Vec<String>,
    pub evidence: Option<Evidence>,
}

/// Checks a release from git alone: the tag, its evidence note, the content hash
/// recomputed from the listed patches and commits, approvals bound to that hash,
/// and — with the process file — that every environment it entered had its
/// approvals and the previous environment's suites passed.
pub fn verify(repo: &Repo, process: Option<&Process>, tag: &str) -> Result<Verification> {
    let commit = repo
        .resolve(&format!("refs/tags/{tag}"))
        .map_err(|_| AppError::NotFound(format!("no tag `{tag}` in {}", repo.root().display())))?;
    let mut problems = Vec::new();
    if repo.tag_message(tag)?.is_none() {
        problems.push(format!(
            "{tag} is a lightweight tag: a Sluice release tag is annotated with its notes"
        ));
    }
    let Some(text) = repo.note(NOTES_REF, &commit)? else {
        problems.push(format!(
            "no evidence note under {NOTES_REF} on {}",
            commit.short()
        ));
        return Ok(Verification {
            tag: tag.into(),
            commit: commit.to_string(),
            ok: false,
            problems,
            evidence: None,
        });
    };
    let ev: Evidence = match serde_json::from_str(&text) {
        Ok(e) => e,
        Err(e) => {
            problems.push(format!("the evidence note is not valid: {e}"));
            return Ok(Verification {
                tag: tag.into(),
                commit: commit.to_string(),
                ok: false,
                problems,
                evidence: None,
            });
        }
    };
    if ev.tag != tag {
        problems.push(format!("the evidence is for tag {}, not {tag}", ev.tag));
    }
    if ev.target != commit.as_str() {
        problems.push(format!(
            "the evidence names commit {} but the tag points at {}",
            ev.target, commit
        ));
    }
    match semver::Version::parse(&ev.version) {
        Err(e) => problems.push(format!(
            "the evidence's version `{}` is not SemVer: {e}",
            ev.version
        )),
        Ok(v) => {
            let parts: Vec<(&str, &str, &str)> = ev
                .patches
                .iter()
                .map(|p| (p.key.as_str(), p.kind.as_str(), p.title.as_str()))
                .collect();
            let ids: Vec<&str> = ev.commits.iter().map(String::as_str).collect();
            let h = decide::content_hash_of(&v, &parts, &ids);
            if h != ev.content_hash {
                problems.push(format!("the content hash does not match the listed patches and commits (recorded {}, computed {})", &ev.content_hash[..12.min(ev.content_hash.len())], &h[..12]));
            }
        }
    }
    let mut present = Vec::new();
    for id in &ev.commits {
        match id.parse::<sluice_git::CommitId>() {
            Ok(c) if repo.resolve(id).is_ok() => present.push(c),
            _ => problems.push(format!(
                "commit {id} of the release is not in this repository"
            )),
        }
    }
    // Everything the evidence claims must be in the tagged tree's history.
    let contained = repo.reachable_among(&commit, &present)?;
    for c in present.iter().filter(|c| !contained.contains(c)) {
        problems.push(format!(
            "commit {} of the release is not an ancestor of {tag}: the tag does not contain it",
            c.short()
        ));
    }
    if let Some(p) = process {
        for (i, env) in p.environments.iter().enumerate() {
            if !ev.reached.contains(&env.name) {
                continue;
            }
            for role in &env.approvals {
                let mut who: Vec<&str> = ev
                    .approvals
                    .iter()
                    .filter(|a| {
                        a.env == env.name && &a.role == role && a.content_hash == ev.content_hash
                    })
                    .filter(|a| p.has_role(&a.approver, role))
                    .map(|a| a.approver.as_str())
                    .collect();
                who.sort();
                who.dedup();
                if who.len() < env.quorum as usize {
                    problems.push(format!(
                        "`{}` was entered with {} of {} approvals by `{role}` for this content",
                        env.name,
                        who.len(),
                        env.quorum
                    ));
                }
            }
            if i > 0 {
                let prev = &p.environments[i - 1];
                for suite in &prev.tests {
                    let last = ev.tests.iter().rev().find(|t| {
                        t.env == prev.name && &t.suite == suite && t.tested(&ev.content_hash)
                    });
                    if !last.is_some_and(|t| t.passed) {
                        problems.push(format!(
                            "`{}` was entered without `{suite}` passing in `{}`",
                            env.name, prev.name
                        ));
                    }
                }
            }
        }
    }
    Ok(Verification {
        tag: tag.into(),
        commit: commit.to_string(),
        ok: problems.is_empty(),
        problems,
        evidence: Some(ev),
    })
}
