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
use sluice_git::{CommitId, GitError, ReleaseTags, Repo, TagTemplate};

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
    /// Patches the target does not hold in full, or that have no commit: the cut is
    /// refused (no override), the tag never claims a fix it lacks.
    #[serde(default)]
    pub missing: Vec<Unmet>,
    /// Set when the line's release branch does not exist yet and `release cut` will
    /// create it.
    #[serde(default)]
    pub assemble: Option<Assembly>,
}

/// How `release cut` will build a missing release branch.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Assembly {
    /// The line's last release tag the branch starts from.
    pub base: String,
    /// The patch branches merged into it, in order.
    pub merge: Vec<String>,
}

pub(crate) fn template(p: &Process) -> Result<TagTemplate> {
    TagTemplate::parse(&p.project.tag).map_err(|e| AppError::Config(format!("[project] tag: {e}")))
}

pub(crate) fn release_branch(p: &Process, line: Line) -> String {
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

/// A git repository without a commit yet: no branch can start and no tag be
/// made. `what` is refused, with the first commit as the way on.
pub(crate) fn require_commit(repo: Option<&Repo>, what: &str) -> Result<()> {
    match repo {
        Some(r) if !usable(r) => Err(AppError::Refused {
            summary: format!(
                "{what}: the git repository at {} has no commit yet",
                r.root().display()
            ),
            unmet: vec![
                Unmet::new("a first commit (branches start from one, tags point at one)")
                    .hint("git add sluice.toml && git commit -m \"Adopt Sluice\""),
            ],
        }),
        _ => Ok(()),
    }
}

/// The one view of release tags every process-mode command reads: the process file's
/// template, lightweight and annotated tags alike, reachability from `from` (a revision;
/// `HEAD` when it does not resolve). Empty without a usable repository.
pub(crate) fn release_tags(p: &Process, repo: Option<&Repo>, from: &str) -> Result<ReleaseTags> {
    let t = template(p)?;
    let Some(repo) = repo.filter(|r| usable(r)) else {
        return Ok(ReleaseTags::empty(t));
    };
    let at = repo.resolve(from).or_else(|_| repo.resolve("HEAD"))?;
    Ok(repo.release_tags_from(&t, &at)?)
}

/// What `release plan` and `release cut` give the core planner from git.
pub(crate) fn tagged(tags: &ReleaseTags) -> decide::Tagged {
    decide::Tagged {
        all: tags.versions(),
        reachable: tags.reachable().map(|t| t.version.clone()).collect(),
    }
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
    let tags = release_tags(p, Some(repo), "HEAD")?;
    let t = tags.template();
    let target = patch.targets.first().copied().unwrap_or(Target::Main);
    let base = match target {
        Target::Line(l) => tags.latest_on_line(l.major, l.minor).cloned().ok_or_else(|| AppError::Refused {
            summary: format!("{} cannot start: line {l} has no release yet", patch.key),
            unmet: vec![Unmet::new(format!(
                "a stable release tag on line {l} (like {}) to branch from; patch branches never start from main",
                t.render(&semver::Version::new(l.major, l.minor, 0))
            ))
            .hint(format!("tag the line's last release, e.g. git tag {} <commit>", t.render(&semver::Version::new(l.major, l.minor, 0))))],
        })?,
        Target::Main => match tags.latest_stable(None) {
            Some(tag) => tag.clone(),
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

fn link(c: &sluice_git::CommitInfo, prefix: &str, by_branch: &[PatchCommits]) -> LinkedCommit {
    let mut keys = commits::patch_keys(&c.message, prefix);
    for b in by_branch {
        if b.commits.iter().any(|i| i.id == c.id) && !keys.contains(&b.key) {
            keys.push(b.key.clone());
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
        at: jiff::Timestamp::from_second(c.time_secs).ok(),
    }
}

/// The commits a patch's branch holds beyond where it started.
struct PatchCommits {
    key: String,
    branch: String,
    commits: Vec<sluice_git::CommitInfo>,
}

/// Where a release's content comes from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A revision that holds it: `--target`, the line's release branch, or `HEAD`.
    Rev(String),
    /// The line has no release branch yet: `release cut` creates it from `base` and merges
    /// the patch branches into it.
    Assemble {
        branch: String,
        base: sluice_git::ReleaseTag,
    },
}

/// Where the content of a release on `target` comes from, or why it cannot be found.
pub(crate) fn source(
    p: &Process,
    repo: &Repo,
    tags: &ReleaseTags,
    target: Target,
    target_rev: Option<&str>,
    assemble: bool,
) -> Result<Source> {
    let line = match (target_rev, target) {
        (Some(r), _) => {
            if repo.resolve(r).is_err() {
                return Err(AppError::NotFound(format!(
                    "no revision `{r}` in {}; give a branch, tag or commit that exists (git rev-parse {r})",
                    repo.root().display()
                )));
            }
            return Ok(Source::Rev(r.to_string()));
        }
        (None, Target::Main) => return Ok(Source::Rev("HEAD".into())),
        (None, Target::Line(l)) => l,
    };
    let branch = release_branch(p, line);
    if repo.resolve(&branch).is_ok() {
        return Ok(Source::Rev(branch));
    }
    let t = tags.template();
    let Some(base) = tags.latest_on_line(line.major, line.minor).cloned() else {
        return Err(AppError::Refused {
            summary: format!("line {line} has no release branch `{branch}` and no release tag"),
            unmet: vec![
                Unmet::new(format!(
                    "a stable release tag on line {line} (like {}) to build `{branch}` from",
                    t.render(&semver::Version::new(line.major, line.minor, 0))
                ))
                .hint(format!(
                    "git tag {} <commit of the line's last release>",
                    t.render(&semver::Version::new(line.major, line.minor, 0))
                )),
            ],
        });
    };
    if assemble {
        return Ok(Source::Assemble { branch, base });
    }
    Err(AppError::Refused {
        summary: format!("line {line} has no release branch `{branch}`"),
        unmet: vec![
            Unmet::new(format!(
                "a branch `{branch}` holding the fixes for {line}, or a --target revision; without --no-assemble, `release cut` creates it from {} (the line's last release) and merges the patch branches into it",
                base.name
            ))
            .hint(format!("sluice release cut --line {line}")),
        ],
    })
}

/// The branches whose commits make up each patch on `target`: its own branch, or its port
/// branch to that line.
fn patch_branches(patches: &[&Patch], target: Target) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for x in patches {
        let port = x
            .ports
            .iter()
            .find(|o| o.target == target)
            .map(|o| o.branch.clone());
        let own = (x.targets.first() == Some(&target) || port.is_none())
            .then(|| x.branch.clone())
            .flatten();
        for b in own.into_iter().chain(port) {
            out.push((x.key.clone(), b));
        }
    }
    out
}

/// The branches `release cut` merges into a new release branch, in patch order.
fn branches_to_merge(patches: &[&Patch], target: Target) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, b) in patch_branches(patches, target) {
        if !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

/// The commits a planned release holds, linked to patches by a `Patch:` trailer, a key
/// in the subject, or the patch's own branch (its commits beyond where it started); what
/// the scope guard says; and — the release must contain exactly what it claims — each
/// patch whose commits the target does not hold, or that has no commit at all.
pub(crate) fn plan_commits(
    p: &Process,
    repo: &Repo,
    ctx: &decide::Ctx,
    plan: &Plan,
    patches: &[&Patch],
    tags: &ReleaseTags,
    source: &Source,
) -> Result<Option<GitPlan>> {
    if !usable(repo) {
        return Ok(None);
    }
    let t = tags.template();
    let previous_tag = plan.previous.as_ref().map(|v| {
        tags.find(v)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| t.render(v))
    });
    let mut exclude = Vec::new();
    if let Some(pt) = &previous_tag
        && let Ok(id) = repo.resolve(&format!("refs/tags/{pt}"))
    {
        exclude.push(id);
    }
    // Each patch's own commits: on its branch, beyond the commit it started from (or the
    // previous release when that was not recorded).
    let mut by_branch = Vec::new();
    for (key, b) in patch_branches(patches, plan.target) {
        let Ok(tip) = repo.resolve(&format!("refs/heads/{b}")) else {
            continue;
        };
        // The recorded start is that of the patch's own branch, not of a port branch.
        let started: Vec<CommitId> = patches
            .iter()
            .find(|x| x.key == key && x.branch.as_deref() == Some(b.as_str()))
            .and_then(|x| x.base_commit.as_deref())
            .and_then(|c| c.parse().ok())
            .into_iter()
            .collect();
        let since = if started.is_empty() {
            &exclude
        } else {
            &started
        };
        if since.is_empty() {
            continue; // nothing tells where the branch began: link by trailer and key only
        }
        let commits = repo
            .commits(&tip, since)?
            .into_iter()
            .filter(|c| !c.summary.starts_with("chore(release): "))
            .collect();
        by_branch.push(PatchCommits {
            key,
            branch: b,
            commits,
        });
    }
    let (target_ref, target, walked) = match source {
        Source::Rev(r) => {
            let id = repo.resolve(r)?;
            let walked = repo.commits(&id, &exclude)?;
            (r.clone(), id.to_string(), walked)
        }
        Source::Assemble { branch, base } => {
            // What the branch will hold: the line's last release and the patch branches.
            let mut seen = std::collections::HashSet::new();
            let mut walked = Vec::new();
            for b in &by_branch {
                for c in &b.commits {
                    if seen.insert(c.id.clone()) {
                        walked.push(c.clone());
                    }
                }
            }
            walked.sort_by_key(|c| std::cmp::Reverse(c.time_secs));
            (branch.clone(), base.commit.to_string(), walked)
        }
    };
    let prefix = &p.project.key;
    let mut linked = Vec::new();
    for c in &walked {
        // Sluice's own changelog commits are not content.
        if c.summary.starts_with("chore(release): ") {
            continue;
        }
        let mut l = link(c, prefix, &by_branch);
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
    let mut missing = Vec::new();
    if let Source::Rev(_) = source {
        let target_id: CommitId = target.parse()?;
        for b in &by_branch {
            let ids: Vec<CommitId> = b.commits.iter().map(|c| c.id.clone()).collect();
            let held = repo.reachable_among(&target_id, &ids)?;
            let lacking: Vec<&sluice_git::CommitInfo> =
                b.commits.iter().filter(|c| !held.contains(&c.id)).collect();
            if lacking.is_empty() {
                continue;
            }
            let list = lacking
                .iter()
                .take(5)
                .map(|c| format!("{} \"{}\"", c.id.short(), c.summary))
                .collect::<Vec<_>>()
                .join(", ");
            let more = if lacking.len() > 5 {
                format!(" and {} more", lacking.len() - 5)
            } else {
                String::new()
            };
            missing.push(
                Unmet::new(format!(
                    "{}'s commits on `{}` are in {target_ref}: {} of {} missing ({list}{more})",
                    b.key,
                    b.branch,
                    lacking.len(),
                    b.commits.len()
                ))
                .by(p.responsible(sluice_core::process::Step::Release))
                .hint(if target_ref == "HEAD" {
                    format!("git merge {}", b.branch)
                } else {
                    format!("git checkout {target_ref} && git merge {}", b.branch)
                }),
            );
        }
    }
    for x in patches {
        let has = linked.iter().any(|c| c.patches.contains(&x.key))
            || by_branch
                .iter()
                .any(|b| b.key == x.key && !b.commits.is_empty());
        if !has {
            let (how, next) = match &x.branch {
                Some(b) => (
                    format!(
                        "commit the fix on `{b}`, or add a `Patch: {}` trailer to its commit",
                        x.key
                    ),
                    format!("git checkout {b}"),
                ),
                None => (
                    "start it, then commit the fix on its branch".to_string(),
                    format!("sluice patch start {}", x.key),
                ),
            };
            missing.push(
                Unmet::new(format!(
                    "{} has a commit in the release: none found on its branch, with `Patch: {}` or with {} in a subject; {how}",
                    x.key, x.key, x.key
                ))
                .hint(next),
            );
        }
    }
    Ok(Some(GitPlan {
        target_ref,
        target,
        previous_tag,
        tag: t.render(&plan.version),
        commits: linked,
        unlinked,
        scope,
        missing,
        assemble: match source {
            Source::Assemble { base, .. } => Some(Assembly {
                base: base.name.clone(),
                merge: branches_to_merge(patches, plan.target)
                    .into_iter()
                    .filter(|b| repo.resolve(&format!("refs/heads/{b}")).is_ok())
                    .collect(),
            }),
            Source::Rev(_) => None,
        },
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
    /// The audit chain's head when this note was written: a witness outside
    /// the database (see `sluice audit verify --against-git`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::audit::Anchor>,
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
        audit_head: None,
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

/// What `sluice check` says about adopting Sluice on the repository at `dir`: where
/// versions continue from, whether the process file's tag template fits the tags git
/// holds, and how to record what runs where. Empty outside a repository with commits.
pub fn adoption(p: &Process, dir: &std::path::Path) -> Vec<String> {
    let Ok(repo) = Repo::discover(dir) else {
        return Vec::new();
    };
    let Ok(tags) = release_tags(p, Some(&repo), "HEAD") else {
        return Vec::new();
    };
    if !usable(&repo) {
        return Vec::new();
    }
    let template = tags.template().as_str();
    let mut out = Vec::new();
    match (tags.current(), tags.latest_stable(None)) {
        (Some(current), stable) => {
            out.push(format!(
                "versions: {} release tag(s) match `{template}` ({} in HEAD's history, the latest {}); releases continue from them, nothing to import",
                tags.all().len(),
                tags.reachable().count(),
                current.name
            ));
            let v = stable.unwrap_or(current).version.to_string();
            let last = p.environments.last().map_or("prod", |e| e.name.as_str());
            out.push(format!(
                "environments: record what runs where before Sluice, so a first rollback has somewhere to go: sluice release import {v} --env {last}"
            ));
        }
        (None, _) => {
            let names: Vec<String> = repo
                .tags()
                .map(|t| t.into_iter().map(|t| t.name).collect())
                .unwrap_or_default();
            match sluice_git::detect_shape(names.iter().map(String::as_str)) {
                Some((shape, n)) => out.push(format!(
                    "versions: no tag matches `{template}`, but {n} tag(s) are named like `{}`: set tag = \"{}\" under [project]",
                    shape.render(&semver::Version::new(1, 2, 3)),
                    shape.as_str()
                )),
                None => out.push(format!(
                    "versions: no release tags yet (`{template}`); the first release is 0.1.0"
                )),
            }
        }
    }
    out.push(
        "maintained lines: a fix triaged with --line X.Y starts from the line's last tag; `release cut --line X.Y` builds the release branch".to_string(),
    );
    out
}
