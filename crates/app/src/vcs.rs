//! Sluice in a git repository: patch branches cut from the right release,
//! commits linked to patches, the scope guard, annotated tags whose message is
//! the release notes, the evidence note under `refs/notes/sluice`, the
//! changelog, and porting a fix to another line. Without a repository (or one
//! with no commits yet) Sluice works as before and these steps are skipped.

use serde::Serialize;
use sluice_core::commits;
use sluice_core::decide::{self, Plan, Unmet};
use sluice_core::model::{LinkedCommit, Patch, Release, ReleaseGit, Target};
use sluice_core::process::{Line, Process};
use sluice_git::{CommitId, GitError, Repo, TagTemplate};

use crate::{AppError, Result};

/// Where Sluice keeps the evidence of a release in git.
pub const NOTES_REF: &str = "refs/notes/sluice";

impl From<GitError> for AppError {
    fn from(e: GitError) -> AppError {
        match e {
            GitError::Dirty { root } => AppError::Refused {
                summary: format!(
                    "the working tree at {} has uncommitted changes",
                    root.display()
                ),
                unmet: vec![Unmet::new(
                    "a clean working tree (commit or stash your changes)",
                )],
            },
            e => AppError::Io(format!("git: {e}")),
        }
    }
}

/// What a release would hold in git.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct GitPlan {
    /// The revision the release is cut from, as given or defaulted.
    pub target_ref: String,
    pub target: String,
    pub previous_tag: Option<String>,
    pub tag: String,
    pub commits: Vec<LinkedCommit>,
    /// Commits that link to no patch in the release.
    pub unlinked: Vec<LinkedCommit>,
    /// Out-of-scope commits of a patch release.
    pub scope: Vec<Unmet>,
}

pub(crate) fn template(p: &Process) -> Result<TagTemplate> {
    TagTemplate::parse(&p.project.tag).map_err(|e| AppError::Config(format!("[project] tag: {e}")))
}

fn release_branch(p: &Process, line: Line) -> String {
    decide::fill(
        &p.project.release_branch,
        &[
            ("major", &line.major.to_string()),
            ("minor", &line.minor.to_string()),
        ],
    )
}

/// Is there anything to work with: a repository whose HEAD has a commit?
pub(crate) fn usable(repo: &Repo) -> bool {
    repo.resolve("HEAD").is_ok()
}

/// `patch start`: the base (latest stable release of the patch's line) and the branch.
pub(crate) fn start_branch(
    p: &Process,
    repo: &Repo,
    patch: &Patch,
    branch: &str,
) -> Result<Option<(String, CommitId)>> {
    if !usable(repo) {
        return Ok(None);
    }
    let t = template(p)?;
    let target = patch.targets.first().copied().unwrap_or(Target::Main);
    let base = match target {
        Target::Line(l) => repo.latest_stable(t.as_str(), Some((l.major, l.minor)))?.ok_or_else(|| AppError::Refused {
            summary: format!("{} cannot start: line {l} has no release yet", patch.key),
            unmet: vec![Unmet::new(format!(
                "a stable release tag on line {l} (like {}) to branch from; patch branches never start from main",
                t.render(&semver::Version::new(l.major, l.minor, 0))
            ))
            .hint(format!("tag the line's last release, e.g. git tag {} <commit>", t.render(&semver::Version::new(l.major, l.minor, 0))))],
        })?,
        Target::Main => match repo.latest_stable(t.as_str(), None)? {
            Some(tag) => tag,
            None => {
                // No release at all yet: the first fixes start where the code is.
                if repo.is_dirty()? {
                    return Err(GitError::Dirty { root: repo.root().to_path_buf() }.into());
                }
                let head = repo.resolve("HEAD")?;
                repo.create_branch(branch, &head, true)?;
                return Ok(Some(("HEAD".into(), head)));
            }
        },
    };
    if repo.is_dirty()? {
        return Err(GitError::Dirty {
            root: repo.root().to_path_buf(),
        }
        .into());
    }
    repo.create_branch(branch, &base.commit, true)?;
    Ok(Some((base.name, base.commit)))
}

fn link(
    c: &sluice_git::CommitInfo,
    prefix: &str,
    by_branch: &[(String, Vec<String>)],
) -> LinkedCommit {
    let mut keys = commits::patch_keys(&c.message, prefix);
    for (key, ids) in by_branch {
        if ids.iter().any(|i| i == c.id.as_str()) && !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    let parsed = commits::parse(&c.message).ok();
    LinkedCommit {
        id: c.id.to_string(),
        summary: c.summary.clone(),
        patches: keys,
        kind: parsed.as_ref().map(|x| x.kind.to_ascii_lowercase()),
        breaking: parsed.as_ref().is_some_and(|x| x.breaking),
        merge: c.parents > 1,
    }
}

/// The commits a planned release holds, linked to patches by a `Patch:` trailer,
/// a key in the subject, or the patch's branch; and what the scope guard says.
pub(crate) fn plan_commits(
    p: &Process,
    repo: &Repo,
    ctx: &decide::Ctx,
    plan: &Plan,
    patches: &[&Patch],
    target_rev: Option<&str>,
) -> Result<Option<GitPlan>> {
    if !usable(repo) {
        return Ok(None);
    }
    let t = template(p)?;
    let target_ref = match (target_rev, plan.target) {
        (Some(r), _) => r.to_string(),
        (None, Target::Line(l)) => release_branch(p, l),
        (None, Target::Main) => "HEAD".to_string(),
    };
    let target = repo
        .resolve(&target_ref)
        .map_err(|e| match (target_rev, plan.target) {
            (None, Target::Line(l)) => AppError::Refused {
                summary: format!("line {l} has no release branch `{target_ref}`"),
                unmet: vec![
                    Unmet::new(format!(
                        "a branch `{target_ref}` holding the fixes for {l}, or a --target revision"
                    ))
                    .hint(format!(
                        "git branch {target_ref} {}  (then merge the patch branches into it)",
                        t.render(
                            plan.previous
                                .as_ref()
                                .unwrap_or(&semver::Version::new(l.major, l.minor, 0))
                        )
                    )),
                ],
            },
            _ => AppError::from(e),
        })?;
    let previous_tag = plan.previous.as_ref().map(|v| t.render(v));
    let mut exclude = Vec::new();
    if let Some(pt) = &previous_tag
        && let Ok(id) = repo.resolve(pt)
    {
        exclude.push(id);
    }
    // Commits reachable from a patch's branch but not from where it started.
    let mut by_branch = Vec::new();
    for x in patches {
        let ported = x
            .ports
            .iter()
            .filter(|o| o.target == plan.target)
            .map(|o| &o.branch);
        for b in x.branch.iter().chain(ported) {
            if let Ok(tip) = repo.resolve(b) {
                let ids = repo
                    .commits(&tip, &exclude)?
                    .into_iter()
                    .map(|c| c.id.to_string())
                    .collect();
                by_branch.push((x.key.clone(), ids));
            }
        }
    }
    let prefix = &p.project.key;
    let mut linked = Vec::new();
    for c in repo.commits(&target, &exclude)? {
        // Sluice's own changelog commits are not content.
        if c.summary.starts_with("chore(release): ") {
            continue;
        }
        let mut l = link(&c, prefix, &by_branch);
        if l.merge
            && l.patches.is_empty()
            && let Some(k) = commits::key_in_branch(&c.summary, prefix)
        {
            l.patches.push(k);
        }
        linked.push(l);
    }
    let keys: Vec<&str> = patches.iter().map(|x| x.key.as_str()).collect();
    let unlinked = linked
        .iter()
        .filter(|c| !c.merge && !c.patches.iter().any(|k| keys.contains(&k.as_str())))
        .cloned()
        .collect();
    let scope = decide::scope_guard(
        ctx,
        matches!(plan.target, Target::Line(_)),
        &linked,
        patches,
    );
    Ok(Some(GitPlan {
        target_ref,
        target: target.to_string(),
        previous_tag,
        tag: t.render(&plan.version),
        commits: linked,
        unlinked,
        scope,
    }))
}

impl GitPlan {
    pub(crate) fn facts(
        &self,
        scope_override: Option<sluice_core::model::ScopeOverride>,
    ) -> ReleaseGit {
        ReleaseGit {
            target: self.target.clone(),
            tag: self.tag.clone(),
            previous_tag: self.previous_tag.clone(),
            commits: self.commits.clone(),
            scope_override,
        }
    }
}

/// The evidence of a release, as attached to its tagged commit.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    pub sluice_evidence: u32,
    pub project: String,
    pub version: String,
    pub tag: String,
    pub target: String,
    pub content_hash: String,
    pub status: String,
    pub patches: Vec<EvidencePatch>,
    pub commits: Vec<String>,
    pub reached: Vec<String>,
    pub approvals: Vec<sluice_core::model::Approval>,
    pub tests: Vec<sluice_core::model::TestRun>,
    pub checklist: Vec<sluice_core::model::ChecklistTick>,
    pub scope_override: Option<sluice_core::model::ScopeOverride>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct EvidencePatch {
    pub key: String,
    pub kind: String,
    pub title: String,
    pub severity: Option<String>,
}

pub(crate) fn evidence(p: &Process, r: &Release, patches: &[Patch]) -> Option<Evidence> {
    let g = r.git.as_ref()?;
    Some(Evidence {
        sluice_evidence: 1,
        project: p.project.name.clone(),
        version: r.version.to_string(),
        tag: g.tag.clone(),
        target: g.target.clone(),
        content_hash: r.content_hash.clone(),
        status: r.status.to_string(),
        patches: patches
            .iter()
            .map(|x| EvidencePatch {
                key: x.key.clone(),
                kind: x.kind.clone().unwrap_or_default(),
                title: x.title.clone(),
                severity: x.severity.clone(),
            })
            .collect(),
        commits: g.commits.iter().map(|c| c.id.clone()).collect(),
        reached: r.reached.clone(),
        approvals: r.approvals.clone(),
        tests: r.tests.clone(),
        checklist: r.checklist.clone(),
        scope_override: g.scope_override.clone(),
    })
}

/// Writes (or rewrites) the evidence note of a release.
pub(crate) fn write_evidence(repo: &Repo, e: &Evidence) -> Result<()> {
    let target: CommitId = e
        .target
        .parse()
        .map_err(|_| AppError::Io(format!("bad commit id {}", e.target)))?;
    let text = serde_json::to_string_pretty(e).expect("evidence serializes") + "\n";
    repo.add_note(NOTES_REF, &target, &text)?;
    Ok(())
}
