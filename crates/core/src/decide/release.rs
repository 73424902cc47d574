//! Release planning: which ready patches ship next on a line, at which version,
//! and whether the process allows them in that release.

use semver::Version;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Ctx, Decision, Denied, Unmet, require_step};
use crate::audit::hex;
use crate::event::Event;
use crate::model::{Patch, PatchStatus, Release, ReleaseStatus, Target};
use crate::process::{Bump, Line, Step};

/// A patch in a plan that the rules do not allow there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Violation {
    pub patch: String,
    pub kind: String,
    pub rule: String,
}

/// What the next release on a target would be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Plan {
    pub target: Target,
    pub line: Line,
    pub version: Version,
    pub previous: Option<Version>,
    pub bump: Bump,
    /// A patch release holds only patch-level changes.
    pub patch_release: bool,
    pub patches: Vec<String>,
    pub violations: Vec<Violation>,
}

/// Does the patch wait for a release on `target`: ready and in no release there,
/// either as its own fix or as a port to that line?
pub fn ships_on(p: &Patch, target: Target) -> bool {
    let own =
        p.status == PatchStatus::Ready && p.release.is_none() && p.targets.first() == Some(&target);
    let own_other_line = p.status == PatchStatus::Ready
        && p.release.is_none()
        && p.targets.contains(&target)
        && p.ports.iter().all(|x| x.target != target);
    let ported = matches!(
        p.status,
        PatchStatus::Ready | PatchStatus::Released | PatchStatus::Verified
    ) && p
        .ports
        .iter()
        .any(|x| x.target == target && x.release.is_none());
    own || own_other_line || ported
}

/// Binds a patch to a release on `target`: its own release, or its port's.
pub fn bind(p: &Patch, target: Target, version: &str) -> Patch {
    let mut n = p.clone();
    match n
        .ports
        .iter_mut()
        .find(|x| x.target == target && x.release.is_none())
    {
        Some(port) if p.release.is_some() || p.targets.first() != Some(&target) => {
            port.release = Some(version.to_string())
        }
        _ => n.release = Some(version.to_string()),
    }
    n
}

/// The highest version already used on a line (any status: versions are never reused).
pub fn previous_on_line(releases: &[Version], line: Line) -> Option<Version> {
    releases
        .iter()
        .filter(|v| Line::of(v) == line)
        .max()
        .cloned()
}

fn bump(v: &Version, b: Bump) -> Version {
    match b {
        Bump::Patch => Version::new(v.major, v.minor, v.patch + 1),
        Bump::Minor => Version::new(v.major, v.minor + 1, 0),
        Bump::Major => Version::new(v.major + 1, 0, 0),
    }
}

/// What git says was released, as [`plan_tagged`] reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tagged {
    /// The version of every release tag in the repository, on any branch: a version is
    /// never planned at or below one of these on its line.
    pub all: Vec<Version>,
    /// The versions whose tags the target contains (the base of a release from main).
    pub reachable: Vec<Version>,
}

/// Computes the next release on `target` from the ready patches that target it.
/// `existing` holds every version already recorded.
pub fn plan(ctx: &Ctx, target: Target, candidates: &[&Patch], existing: &[Version]) -> Plan {
    plan_tagged(ctx, target, candidates, existing, &Tagged::default())
}

/// [`plan`], with the release tags git holds:
///
/// - on a line, the previous release is the highest stable version of the line that is
///   recorded or tagged anywhere, and the next is its patch successor (X.Y.0 when the line
///   has none);
/// - from main, the base is the highest stable version recorded or tagged in the target's
///   history, raised by the patches' highest bump, and at least the release version of a
///   pre-release tagged above the base (`2.0.0-rc.1` → `2.0.0`);
/// - never at or below a version recorded or tagged on the same line: such a plan moves to
///   that version's patch successor, so an existing tag is never reused.
pub fn plan_tagged(
    ctx: &Ctx,
    target: Target,
    candidates: &[&Patch],
    existing: &[Version],
    tagged: &Tagged,
) -> Plan {
    let mut patches: Vec<&Patch> = candidates
        .iter()
        .copied()
        .filter(|p| ships_on(p, target))
        .collect();
    patches.sort_by_key(|p| p.number);
    let mut max_bump = Bump::Patch;
    let mut violations = Vec::new();
    for p in &patches {
        let kind = p.kind.as_deref().unwrap_or("");
        let Some(def) = ctx.process.kind(kind) else {
            violations.push(Violation {
                patch: p.key.clone(),
                kind: kind.into(),
                rule: "its kind is not defined by the process".into(),
            });
            continue;
        };
        let effective = if def.patch_release {
            def.bump
        } else {
            def.bump.max(Bump::Minor)
        };
        max_bump = max_bump.max(effective);
        if matches!(target, Target::Line(_)) && !def.patch_release {
            violations.push(Violation {
                patch: p.key.clone(),
                kind: kind.into(),
                rule: format!(
                    "kind `{kind}` ({} bump) is not allowed in a patch release",
                    def.bump
                ),
            });
        }
    }
    let known: Vec<Version> = existing
        .iter()
        .chain(&tagged.all)
        .filter(|v| v.pre.is_empty())
        .cloned()
        .collect();
    let (line, previous, version, bump_used) = match target {
        Target::Line(line) => {
            let prev = previous_on_line(&known, line);
            let v = match &prev {
                Some(p) => bump(p, Bump::Patch),
                None => Version::new(line.major, line.minor, 0),
            };
            (line, prev, v, Bump::Patch)
        }
        Target::Main => {
            let prev = existing
                .iter()
                .chain(&tagged.reachable)
                .filter(|v| v.pre.is_empty())
                .max()
                .cloned();
            let mut v = match &prev {
                Some(p) => bump(p, max_bump),
                None => Version::new(0, 1, 0),
            };
            // A pre-release tagged above the base previews the next release.
            if let Some(floor) = tagged
                .reachable
                .iter()
                .filter(|x| !x.pre.is_empty() && prev.as_ref().is_none_or(|p| *x > p))
                .map(|x| Version::new(x.major, x.minor, x.patch))
                .max()
                && floor > v
            {
                v = floor;
            }
            // Never at or below what the line already released (or reuse its tag).
            if let Some(top) = previous_on_line(&known, Line::of(&v))
                && top >= v
            {
                v = bump(&top, Bump::Patch);
            }
            // The bump the version actually makes, once raised by the rules above.
            let made = match &prev {
                Some(p) if v.major > p.major => Bump::Major,
                Some(p) if v.major == p.major && v.minor > p.minor => Bump::Minor,
                Some(_) => Bump::Patch,
                None => max_bump,
            };
            (Line::of(&v), prev, v, made.max(max_bump))
        }
    };
    Plan {
        target,
        line,
        version,
        previous,
        bump: bump_used,
        patch_release: bump_used == Bump::Patch,
        patches: patches.iter().map(|p| p.key.clone()).collect(),
        violations,
    }
}

/// The hash that binds approvals to a release's exact content.
pub fn content_hash(version: &Version, patches: &[&Patch]) -> String {
    content_hash_with_commits(version, patches, &[])
}

/// The content hash, covering the release's commits too when it has them.
pub fn content_hash_with_commits(
    version: &Version,
    patches: &[&Patch],
    commits: &[&str],
) -> String {
    let parts: Vec<(&str, &str, &str)> = patches
        .iter()
        .map(|p| {
            (
                p.key.as_str(),
                p.kind.as_deref().unwrap_or(""),
                p.title.as_str(),
            )
        })
        .collect();
    content_hash_of(version, &parts, commits)
}

/// The content hash from its parts: (key, kind, title) of each patch, and commit
/// ids. `sluice verify` recomputes it from the evidence kept in git.
pub fn content_hash_of(
    version: &Version,
    patches: &[(&str, &str, &str)],
    commits: &[&str],
) -> String {
    let mut keys: Vec<(&str, &str, &str)> = patches.to_vec();
    keys.sort();
    let mut h = Sha256::new();
    h.update(version.to_string().as_bytes());
    for (k, kind, title) in keys {
        h.update(b"\n");
        h.update(k.as_bytes());
        h.update(b"\0");
        h.update(kind.as_bytes());
        h.update(b"\0");
        h.update(title.as_bytes());
    }
    let mut ids: Vec<&str> = commits.to_vec();
    ids.sort();
    for id in ids {
        h.update(b"\ncommit ");
        h.update(id.as_bytes());
    }
    hex(&h.finalize())
}

/// Why a plan may not be cut, if it may not.
pub fn plan_refusal(plan: &Plan) -> Option<Denied> {
    if plan.patches.is_empty() {
        return Some(Denied::one(
            format!("nothing to release on {}", plan.target),
            Unmet::new(format!(
                "at least one ready patch that targets {}",
                plan.target
            ))
            .hint("sluice patch list --status ready"),
        ));
    }
    if !plan.violations.is_empty() {
        return Some(Denied::refused(
            format!(
                "{} {} may hold only patch-level changes",
                if plan.patch_release {
                    "patch release"
                } else {
                    "release"
                },
                plan.version
            ),
            plan.violations
                .iter()
                .map(|v| {
                    Unmet::new(format!("{} ({}): {}", v.patch, v.kind, v.rule))
                        .hint(format!("sluice patch triage {} --line main", v.patch))
                })
                .collect(),
        ));
    }
    None
}

/// The release a plan would create, without checking that it may be cut
/// (`release plan` shows its first gate).
pub fn draft(ctx: &Ctx, plan: &Plan, members: &[&Patch]) -> Release {
    let mut authors: Vec<String> = members.iter().map(|p| p.author().to_string()).collect();
    authors.sort();
    authors.dedup();
    Release {
        version: plan.version.clone(),
        line: plan.line,
        target: plan.target,
        status: ReleaseStatus::Candidate,
        previous: plan.previous.clone(),
        patches: plan.patches.clone(),
        authors,
        content_hash: content_hash(&plan.version, members),
        imported: false,
        created_by: ctx.actor.to_string(),
        created_at: ctx.now,
        reached: Vec::new(),
        approvals: Vec::new(),
        tests: Vec::new(),
        checklist: Vec::new(),
        in_flight: None,
        follow_ups: Vec::new(),
        updated_at: ctx.now,
        notes: None,
        git: None,
        watches: Vec::new(),
        retros: Vec::new(),
    }
}

/// `release cut`: creates the release a plan describes. Returns the release and the
/// patches now bound to it.
pub fn cut(
    ctx: &Ctx,
    plan: &Plan,
    patches: &[&Patch],
) -> Decision<(Release, Vec<Patch>, Vec<Event>)> {
    require_step(ctx, Step::Release, "cut releases")?;
    if let Some(d) = plan_refusal(plan) {
        return Err(d);
    }
    let members: Vec<&Patch> = patches
        .iter()
        .copied()
        .filter(|p| plan.patches.contains(&p.key))
        .collect();
    let release = draft(ctx, plan, &members);
    let v = release.version.to_string();
    let bound: Vec<Patch> = members
        .iter()
        .map(|p| {
            let mut n = bind(p, plan.target, &v);
            n.updated_at = ctx.now;
            n
        })
        .collect();
    let e = Event::new(
        "release.cut",
        &v,
        json!({"line": release.line.to_string(), "target": release.target, "previous": release.previous, "patches": release.patches, "content_hash": release.content_hash}),
    );
    Ok((release, bound, vec![e]))
}

/// `release import`: records a version that shipped before Sluice, as a baseline.
pub fn import(ctx: &Ctx, version: Version, existing: &[Version]) -> Decision<(Release, Event)> {
    require_step(ctx, Step::Release, "import releases")?;
    if existing.contains(&version) {
        return Err(Denied::state(format!(
            "release {version} is already recorded"
        )));
    }
    if !version.pre.is_empty() {
        return Err(Denied::Invalid(format!(
            "{version} is a pre-release; import stable releases only"
        )));
    }
    let line = Line::of(&version);
    let baseline = Plan {
        target: Target::Line(line),
        line,
        version,
        previous: None,
        bump: Bump::Patch,
        patch_release: true,
        patches: Vec::new(),
        violations: Vec::new(),
    };
    let mut r = draft(ctx, &baseline, &[]);
    r.status = ReleaseStatus::Released;
    r.imported = true;
    let e = Event::new(
        "release.imported",
        r.version.to_string(),
        json!({"line": r.line.to_string()}),
    );
    Ok((r, e))
}

/// `release amend`: adds or removes patches before the release ships. The content
/// hash changes, so every approval given so far stops counting.
pub fn amend(
    ctx: &Ctx,
    r: &Release,
    current: &[&Patch],
    add: &[&Patch],
    remove: &[&Patch],
) -> Decision<(Release, Vec<Patch>, Event)> {
    require_step(ctx, Step::Release, "amend releases")?;
    if r.status != ReleaseStatus::Candidate || r.in_flight.is_some() {
        return Err(Denied::one(
            format!("release {} can no longer change", r.version),
            Unmet::new(format!(
                "a candidate release with no promotion running (it is {})",
                r.status
            )),
        ));
    }
    if let Some(g) = &r.git {
        let cut = match r.target {
            Target::Line(l) => format!("sluice release cut --line {l}"),
            Target::Main => "sluice release cut".to_string(),
        };
        return Err(Denied::one(
            format!(
                "release {} is tagged {}: its content is frozen at the tag",
                r.version, g.tag
            ),
            Unmet::new(
                "a release that is not tagged yet; changes ship in the next version".to_string(),
            )
            .by(ctx.process.responsible(Step::Release))
            .hint(cut),
        ));
    }
    let mut problems = Vec::new();
    for p in add {
        if p.status != PatchStatus::Ready || p.release.is_some() {
            problems.push(Unmet::new(format!(
                "{} must be ready and in no release (it is {})",
                p.key, p.status
            )));
        }
        let def = p.kind.as_deref().and_then(|k| ctx.process.kind(k));
        if matches!(r.target, Target::Line(_)) && !def.is_some_and(|d| d.patch_release) {
            problems.push(Unmet::new(format!(
                "{} ({}): kind `{}` is not allowed in a patch release",
                p.key,
                p.kind.as_deref().unwrap_or("?"),
                p.kind.as_deref().unwrap_or("?")
            )));
        }
    }
    for p in remove {
        if !r.patches.contains(&p.key) {
            problems.push(Unmet::new(format!(
                "{} is not in release {}",
                p.key, r.version
            )));
        }
    }
    if !problems.is_empty() {
        return Err(Denied::refused(
            format!("release {} cannot be amended", r.version),
            problems,
        ));
    }
    let v = r.version.to_string();
    let mut members: Vec<&Patch> = current
        .iter()
        .copied()
        .filter(|p| !remove.iter().any(|x| x.key == p.key))
        .collect();
    members.extend(add.iter().copied());
    if members.is_empty() {
        return Err(Denied::one(
            format!("release {} would be empty", r.version),
            Unmet::new("at least one patch; abort the release instead"),
        ));
    }
    let mut n = r.clone();
    n.patches = members.iter().map(|p| p.key.clone()).collect();
    n.patches.sort_by_key(|k| {
        k.rsplit('-')
            .next()
            .and_then(|x| x.parse::<i64>().ok())
            .unwrap_or(0)
    });
    let mut authors: Vec<String> = members.iter().map(|p| p.author().to_string()).collect();
    authors.sort();
    authors.dedup();
    n.authors = authors;
    let ids: Vec<&str> = r
        .git
        .iter()
        .flat_map(|g| g.commits.iter().map(|c| c.id.as_str()))
        .collect();
    n.content_hash = content_hash_with_commits(&r.version, &members, &ids);
    n.updated_at = ctx.now;
    let voided = r
        .approvals
        .iter()
        .filter(|a| a.content_hash == r.content_hash)
        .count();
    let mut changed = Vec::new();
    for p in add {
        let mut x = (*p).clone();
        x.release = Some(v.clone());
        x.updated_at = ctx.now;
        changed.push(x);
    }
    for p in remove {
        let mut x = (*p).clone();
        x.release = None;
        x.updated_at = ctx.now;
        changed.push(x);
    }
    let e = Event::new(
        "release.amended",
        &v,
        json!({
            "added": add.iter().map(|p| &p.key).collect::<Vec<_>>(),
            "removed": remove.iter().map(|p| &p.key).collect::<Vec<_>>(),
            "content_hash": n.content_hash,
            "approvals_voided": voided,
        }),
    );
    Ok((n, changed, e))
}

/// The scope guard: in a patch release, commits that do not belong in a patch —
/// a `feat`, a breaking change, or a commit linked to a patch whose kind may not
/// ship in a patch release — each named with why.
pub fn scope_guard(
    ctx: &Ctx,
    patch_release: bool,
    commits: &[crate::model::LinkedCommit],
    patches: &[&Patch],
) -> Vec<Unmet> {
    if !patch_release {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in commits.iter().filter(|c| !c.merge) {
        let short = &c.id[..c.id.len().min(10)];
        let mut why = Vec::new();
        if c.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("feat"))
        {
            why.push("a `feat` commit".to_string());
        }
        if c.breaking {
            why.push("a breaking change (`!` or `BREAKING CHANGE:`)".to_string());
        }
        for key in &c.patches {
            if let Some(p) = patches.iter().find(|p| &p.key == key) {
                let kind = p.kind.as_deref().unwrap_or("");
                if !ctx.process.kind(kind).is_some_and(|k| k.patch_release) {
                    why.push(format!(
                        "linked to {key}, of kind `{kind}`, which may not ship in a patch release"
                    ));
                }
            }
        }
        if !why.is_empty() {
            out.push(
                Unmet::new(format!(
                    "commit {short} \"{}\" is out of scope for a patch release: {}",
                    c.summary,
                    why.join("; ")
                ))
                .by(ctx.process.responsible(Step::Release))
                .hint("move it to main, or: sluice release cut --allow-scope --reason TEXT"),
            );
        }
    }
    out
}
