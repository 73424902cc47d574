//! The patch state machine.

use serde_json::json;

use super::{Ctx, Decision, Denied, Unmet, fill, require_step, slug};
use crate::event::Event;
use crate::model::{Patch, PatchReview, PatchStatus, Source, Target};
use crate::process::Step;

/// What a reporter knows.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub title: String,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub severity: Option<String>,
    pub source: Option<Source>,
    pub targets: Vec<Target>,
}

/// What triage decides; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct TriageInput {
    pub severity: Option<String>,
    pub kind: Option<String>,
    pub priority: Option<String>,
    pub owner: Option<String>,
    pub targets: Vec<Target>,
}

fn check_kind(ctx: &Ctx, kind: &str) -> Decision<()> {
    if ctx.process.kind(kind).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = ctx.process.kinds.iter().map(|k| k.name.as_str()).collect();
    Err(Denied::Invalid(format!(
        "unknown kind `{kind}`; the process defines: {}",
        known.join(", ")
    )))
}

fn check_severity(ctx: &Ctx, sev: &str) -> Decision<()> {
    if ctx.process.severity(sev).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = ctx
        .process
        .severities
        .iter()
        .map(|k| k.name.as_str())
        .collect();
    Err(Denied::Invalid(format!(
        "unknown severity `{sev}`; the process defines: {}",
        known.join(", ")
    )))
}

/// Refuses a target line the process does not maintain.
pub fn check_targets(ctx: &Ctx, targets: &[Target]) -> Decision<()> {
    for t in targets {
        if let Target::Line(l) = t
            && !ctx.process.project.maintained_lines.contains(l)
        {
            let known: Vec<String> = ctx
                .process
                .project
                .maintained_lines
                .iter()
                .map(|l| l.to_string())
                .collect();
            return Err(Denied::Invalid(format!(
                "line {l} is not maintained; maintained lines: {} (add it to `maintained_lines` in sluice.toml, or use `main`)",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    Ok(())
}

fn deadline(ctx: &Ctx, p: &Patch) -> Option<jiff::Timestamp> {
    let sev = ctx.process.severity(p.severity.as_deref()?)?;
    p.reported_at.checked_add(sev.fix_within?).ok()
}

fn wrong_status(p: &Patch, doing: &str, allowed: &[PatchStatus], hint: Option<String>) -> Denied {
    let allowed: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    let mut u = Unmet::new(format!(
        "the patch must be {} (it is {})",
        allowed.join(" or "),
        p.status
    ));
    u.hint = hint;
    Denied::one(format!("{} cannot be {doing} now", p.key), u)
}

/// `patch report`: a new patch from a bug report, feedback, an alert or an advisory.
pub fn report(ctx: &Ctx, number: i64, input: ReportInput) -> Decision<(Patch, Event)> {
    if input.title.trim().is_empty() {
        return Err(Denied::Invalid("a patch needs a title".into()));
    }
    if let Some(k) = &input.kind {
        check_kind(ctx, k)?;
    }
    if let Some(s) = &input.severity {
        check_severity(ctx, s)?;
    }
    check_targets(ctx, &input.targets)?;
    let key = format!("{}-{number}", ctx.process.project.key);
    let mut p = Patch {
        key: key.clone(),
        number,
        title: input.title.trim().to_string(),
        description: input.description,
        kind: input.kind,
        severity: input.severity,
        priority: None,
        source: input.source.unwrap_or(Source {
            kind: crate::model::SourceKind::Bug,
            reference: None,
        }),
        reporter: ctx.actor.to_string(),
        owner: None,
        targets: input.targets,
        branch: None,
        reviews: Vec::new(),
        status: PatchStatus::Reported,
        release: None,
        resolution: None,
        reopened: 0,
        reported_at: ctx.now,
        triaged_at: None,
        deadline: None,
        updated_at: ctx.now,
        ports: Vec::new(),
        base_commit: None,
        started_by: None,
    };
    p.deadline = deadline(ctx, &p);
    let e = Event::new(
        "patch.reported",
        key,
        json!({"title": p.title, "kind": p.kind, "severity": p.severity, "source": p.source, "targets": p.targets, "deadline": p.deadline}),
    );
    Ok((p, e))
}

/// `patch triage`: severity, kind, priority, owner and target lines.
pub fn triage(ctx: &Ctx, p: &Patch, input: TriageInput) -> Decision<(Patch, Event)> {
    require_step(ctx, Step::Identify, "triage patches")?;
    let allowed = [
        PatchStatus::Reported,
        PatchStatus::Triaged,
        PatchStatus::Deferred,
    ];
    if !allowed.contains(&p.status) {
        return Err(wrong_status(p, "triaged", &allowed, None));
    }
    if let Some(k) = &input.kind {
        check_kind(ctx, k)?;
    }
    if let Some(s) = &input.severity {
        check_severity(ctx, s)?;
    }
    check_targets(ctx, &input.targets)?;
    let mut n = p.clone();
    n.severity = input.severity.or(n.severity);
    n.kind = input.kind.or(n.kind);
    n.priority = input.priority.or(n.priority);
    n.owner = input.owner.or(n.owner);
    if !input.targets.is_empty() {
        n.targets = input.targets;
    }
    let mut missing = Vec::new();
    if n.severity.is_none() {
        missing.push(
            Unmet::new("a severity").hint(format!("sluice patch triage {} --severity NAME", p.key)),
        );
    }
    if n.kind.is_none() {
        missing
            .push(Unmet::new("a kind").hint(format!("sluice patch triage {} --kind NAME", p.key)));
    }
    if !missing.is_empty() {
        return Err(Denied::refused(
            format!("{} cannot be triaged without", p.key),
            missing,
        ));
    }
    if n.targets.is_empty() {
        n.targets.push(Target::Main);
    }
    n.status = PatchStatus::Triaged;
    n.triaged_at = Some(ctx.now);
    n.deadline = deadline(ctx, &n);
    n.resolution = None;
    n.updated_at = ctx.now;
    let e = Event::new(
        "patch.triaged",
        &p.key,
        json!({"severity": n.severity, "kind": n.kind, "priority": n.priority, "owner": n.owner, "targets": n.targets, "deadline": n.deadline}),
    );
    Ok((n, e))
}

/// The branch name the process gives a patch.
pub fn branch_name(ctx: &Ctx, p: &Patch) -> String {
    let line = p
        .targets
        .first()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "main".into());
    fill(
        &ctx.process.project.patch_branch,
        &[
            ("key", &p.key),
            ("slug", &slug(&p.title, 40)),
            ("line", &line),
        ],
    )
}

/// `patch start`: work begins; the actor becomes the owner if there is none.
pub fn start(ctx: &Ctx, p: &Patch) -> Decision<(Patch, Event)> {
    require_step(ctx, Step::Develop, "start patches")?;
    if p.status != PatchStatus::Triaged {
        return Err(wrong_status(
            p,
            "started",
            &[PatchStatus::Triaged],
            (p.status == PatchStatus::Reported).then(|| format!("sluice patch triage {}", p.key)),
        ));
    }
    let mut n = p.clone();
    n.owner.get_or_insert_with(|| ctx.actor.to_string());
    n.started_by = Some(ctx.actor.to_string());
    n.branch = Some(branch_name(ctx, &n));
    n.status = PatchStatus::InProgress;
    n.updated_at = ctx.now;
    let e = Event::new(
        "patch.started",
        &p.key,
        json!({"owner": n.owner, "branch": n.branch}),
    );
    Ok((n, e))
}

/// `patch review`: without a verdict, asks for review; with one, records it.
/// `commit_authors` are the authors (email or name) of the commits on the
/// patch's branch: with `author_may_approve = false`, none of them, nor its
/// owner, nor whoever started it, may review it.
pub fn review(
    ctx: &Ctx,
    p: &Patch,
    verdict: Option<bool>,
    comment: Option<String>,
    commit_authors: &[String],
) -> Decision<(Patch, Event)> {
    let allowed = [PatchStatus::InProgress, PatchStatus::InReview];
    if !allowed.contains(&p.status) {
        return Err(wrong_status(p, "reviewed", &allowed, None));
    }
    let mut n = p.clone();
    n.updated_at = ctx.now;
    let Some(approved) = verdict else {
        n.status = PatchStatus::InReview;
        return Ok((
            n,
            Event::new("patch.reviewed", &p.key, json!({"requested_by": ctx.actor})),
        ));
    };
    require_step(ctx, Step::Review, "review patches")?;
    let why = if p.author() == ctx.actor {
        Some("they are its author")
    } else if p.started_by.as_deref() == Some(ctx.actor) {
        Some("they started it")
    } else if commit_authors.iter().any(|a| a == ctx.actor) {
        Some("they wrote commits on its branch")
    } else {
        None
    };
    if let (false, Some(why)) = (ctx.process.review.author_may_approve, why) {
        return Err(Denied::one(
            format!("{} may not review {}: {why}", ctx.actor, p.key),
            Unmet::new(
                "a review by someone who did not write or start it (the process sets author_may_approve = false)",
            ),
        ));
    }
    n.reviews.push(PatchReview {
        reviewer: ctx.actor.to_string(),
        approved,
        comment: comment.clone(),
        at: ctx.now,
    });
    n.status = if approved {
        PatchStatus::InReview
    } else {
        PatchStatus::InProgress
    };
    Ok((
        n,
        Event::new(
            "patch.reviewed",
            &p.key,
            json!({"approved": approved, "comment": comment}),
        ),
    ))
}

/// Distinct reviewers whose latest verdict approves, the author excluded when the process says so.
pub fn review_approvals(ctx: &Ctx, p: &Patch) -> Vec<String> {
    let mut latest: Vec<(&str, bool)> = Vec::new();
    for r in &p.reviews {
        match latest.iter_mut().find(|(who, _)| *who == r.reviewer) {
            Some(slot) => slot.1 = r.approved,
            None => latest.push((&r.reviewer, r.approved)),
        }
    }
    latest
        .into_iter()
        .filter(|(who, ok)| {
            *ok && (ctx.process.review.author_may_approve || !p.makers().contains(who))
        })
        .map(|(who, _)| who.to_string())
        .collect()
}

/// `patch ready`: reviewed enough to ship.
pub fn ready(ctx: &Ctx, p: &Patch) -> Decision<(Patch, Event)> {
    let allowed = [PatchStatus::InProgress, PatchStatus::InReview];
    if !allowed.contains(&p.status) {
        return Err(wrong_status(p, "made ready", &allowed, None));
    }
    let approvals = review_approvals(ctx, p);
    let need = ctx.process.review.min_approvals as usize;
    if approvals.len() < need {
        return Err(Denied::one(
            format!("{} is not ready", p.key),
            Unmet::new(format!(
                "{need} approving review(s) by someone other than the author; it has {}",
                approvals.len()
            ))
            .by(ctx.process.responsible(Step::Review))
            .hint(format!("sluice patch review {} --approve", p.key)),
        ));
    }
    let mut n = p.clone();
    n.status = PatchStatus::Ready;
    n.updated_at = ctx.now;
    Ok((
        n,
        Event::new("patch.ready", &p.key, json!({"reviewers": approvals})),
    ))
}

fn close(
    ctx: &Ctx,
    p: &Patch,
    status: PatchStatus,
    kind: &'static str,
    reason: String,
) -> Decision<(Patch, Event)> {
    require_step(
        ctx,
        Step::Identify,
        &format!(
            "{} patches",
            if status == PatchStatus::Rejected {
                "reject"
            } else {
                "defer"
            }
        ),
    )?;
    let allowed = [
        PatchStatus::Reported,
        PatchStatus::Triaged,
        PatchStatus::InProgress,
        PatchStatus::InReview,
        PatchStatus::Ready,
    ];
    let deferred_to_rejected = status == PatchStatus::Rejected && p.status == PatchStatus::Deferred;
    if !allowed.contains(&p.status) && !deferred_to_rejected {
        return Err(wrong_status(p, &format!("{status}"), &allowed, None));
    }
    if let Some(r) = &p.release {
        return Err(Denied::one(
            format!("{} is part of release {r}", p.key),
            Unmet::new(format!("remove it from {r} first"))
                .hint(format!("sluice release amend {r} --remove {}", p.key)),
        ));
    }
    if reason.trim().is_empty() {
        return Err(Denied::Invalid("give a --reason".into()));
    }
    let mut n = p.clone();
    n.status = status;
    n.resolution = Some(reason.clone());
    n.updated_at = ctx.now;
    Ok((n, Event::new(kind, &p.key, json!({"reason": reason}))))
}

/// `patch reject`.
pub fn reject(ctx: &Ctx, p: &Patch, reason: String) -> Decision<(Patch, Event)> {
    close(ctx, p, PatchStatus::Rejected, "patch.rejected", reason)
}

/// `patch defer`.
pub fn defer(ctx: &Ctx, p: &Patch, reason: String) -> Decision<(Patch, Event)> {
    close(ctx, p, PatchStatus::Deferred, "patch.deferred", reason)
}

#[cfg(test)]
mod transitions {
    //! Every patch status against every transition, as a table: what each
    //! status allows, and that each allowed move lands where it should.
    use super::*;
    use crate::model::{Source, SourceKind};
    use crate::process::{self, Process};
    use PatchStatus::*;

    fn process() -> Process {
        process::load("sluice.toml", process::DEFAULT_PROCESS).expect("the default process")
    }

    fn patch(status: PatchStatus) -> Patch {
        let at: jiff::Timestamp = "2026-11-02T08:00:00Z".parse().unwrap();
        Patch {
            key: "SHOP-1".into(),
            number: 1,
            title: "Cart empties".into(),
            description: None,
            kind: Some("fix".into()),
            severity: Some("major".into()),
            priority: None,
            source: Source {
                kind: SourceKind::Bug,
                reference: None,
            },
            reporter: "alice@example.com".into(),
            owner: Some("erin@example.com".into()),
            targets: vec![crate::model::Target::Main],
            branch: None,
            reviews: vec![PatchReview {
                reviewer: "frank@example.com".into(),
                approved: true,
                comment: None,
                at,
            }],
            status,
            release: None,
            resolution: None,
            reopened: 0,
            reported_at: at,
            triaged_at: Some(at),
            deadline: None,
            updated_at: at,
            ports: vec![],
            base_commit: None,
            started_by: Some("erin@example.com".into()),
        }
    }

    type Move = fn(&Ctx, &Patch) -> Decision<(Patch, Event)>;

    /// (transition, actor, the statuses it is allowed from, where it leads).
    const TABLE: &[(&str, &str, &[PatchStatus], Option<PatchStatus>)] = &[
        (
            "triage",
            "bob@example.com",
            &[Reported, Triaged, Deferred],
            Some(Triaged),
        ),
        ("start", "erin@example.com", &[Triaged], Some(InProgress)),
        (
            "ask review",
            "erin@example.com",
            &[InProgress, InReview],
            Some(InReview),
        ),
        (
            "approve",
            "frank@example.com",
            &[InProgress, InReview],
            Some(InReview),
        ),
        (
            "request changes",
            "frank@example.com",
            &[InProgress, InReview],
            Some(InProgress),
        ),
        (
            "ready",
            "erin@example.com",
            &[InProgress, InReview],
            Some(Ready),
        ),
        (
            "reject",
            "bob@example.com",
            &[Reported, Triaged, InProgress, InReview, Ready, Deferred],
            Some(Rejected),
        ),
        (
            "defer",
            "bob@example.com",
            &[Reported, Triaged, InProgress, InReview, Ready],
            Some(Deferred),
        ),
    ];

    fn mover(name: &str) -> Move {
        match name {
            "triage" => |c, p| triage(c, p, TriageInput::default()),
            "start" => start,
            "ask review" => |c, p| review(c, p, None, None, &[]),
            "approve" => |c, p| review(c, p, Some(true), None, &[]),
            "request changes" => |c, p| review(c, p, Some(false), None, &[]),
            "ready" => ready,
            "reject" => |c, p| reject(c, p, "not a bug".into()),
            "defer" => |c, p| defer(c, p, "after the holidays".into()),
            other => panic!("no transition {other}"),
        }
    }

    #[test]
    fn every_status_against_every_transition() {
        let p = process();
        let now: jiff::Timestamp = "2026-11-03T08:00:00Z".parse().unwrap();
        for (name, actor, from, to) in TABLE {
            let ctx = Ctx {
                process: &p,
                actor,
                now,
            };
            for &status in PatchStatus::ALL {
                let got = mover(name)(&ctx, &patch(status));
                if from.contains(&status) {
                    let (n, e) = got.unwrap_or_else(|d| {
                        panic!("{name} from {status} should be allowed: {d:?}")
                    });
                    assert_eq!(Some(n.status), *to, "{name} from {status}");
                    assert!(e.kind.starts_with("patch."), "{name}: {}", e.kind);
                } else {
                    assert!(got.is_err(), "{name} from {status} should be refused");
                }
            }
        }
    }

    #[test]
    fn who_may_move_a_patch() {
        let p = process();
        let now: jiff::Timestamp = "2026-11-03T08:00:00Z".parse().unwrap();
        // (transition, actor, from, allowed): roles and separation of duties.
        let cases: &[(&str, &str, PatchStatus, bool)] = &[
            ("triage", "alice@example.com", Reported, false),
            ("start", "carol@example.com", Triaged, false),
            ("approve", "erin@example.com", InReview, false),
            ("approve", "alice@example.com", InReview, false),
            ("approve", "bob@example.com", InReview, true),
            ("reject", "erin@example.com", Triaged, false),
        ];
        for (name, actor, status, allowed) in cases {
            let ctx = Ctx {
                process: &p,
                actor,
                now,
            };
            let got = mover(name)(&ctx, &patch(*status));
            assert_eq!(
                got.is_ok(),
                *allowed,
                "{name} by {actor} from {status}: {got:?}"
            );
        }
        // A commit author on the patch's branch may not approve it either.
        let ctx = Ctx {
            process: &p,
            actor: "frank@example.com",
            now,
        };
        let got = review(
            &ctx,
            &patch(InReview),
            Some(true),
            None,
            &["frank@example.com".to_string()],
        );
        assert!(got.is_err(), "{got:?}");
    }
}
