//! Gates: what a release needs to enter an environment, evaluated from recorded
//! facts. The same evaluation serves `release plan`/`show` (to list what is
//! missing) and `promote` (to refuse).

use serde::Serialize;

use super::{Action, Ctx, Unmet};
use crate::model::{ApprovalKind, Incident, Release, ReleaseStatus};
use crate::process::{Environment, Step};
use crate::window::check_time;

/// The state of one gate for one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GateReport {
    pub release: String,
    pub env: String,
    pub emergency: bool,
    /// Inside a window and outside freezes (recorded on the deployment).
    pub in_window: bool,
    pub unmet: Vec<Unmet>,
}

impl GateReport {
    pub fn is_open(&self) -> bool {
        self.unmet.is_empty()
    }
}

/// The first environment the release has not entered yet.
pub fn next_env<'p>(ctx: &Ctx<'p>, r: &Release) -> Option<&'p Environment> {
    ctx.process
        .environments
        .iter()
        .find(|e| !r.has_reached(&e.name))
}

/// Distinct approvers that count for a role on this gate.
pub fn counted_approvers(
    ctx: &Ctx,
    r: &Release,
    env: &str,
    role: &str,
    kind: ApprovalKind,
) -> Vec<String> {
    let mut who: Vec<String> = r
        .valid_approvals()
        .filter(|a| a.env == env && a.role == role && a.kind == kind)
        .filter(|a| ctx.process.has_role(&a.approver, role))
        .filter(|a| ctx.process.review.author_may_approve || !r.authors.contains(&a.approver))
        .map(|a| a.approver.clone())
        .collect();
    who.sort();
    who.dedup();
    who
}

/// ` --as USER` for a hint when the one who must act is not the one typing: the actor
/// holds none of `roles`, and exactly one person does.
fn as_for(ctx: &Ctx, roles: &[String]) -> String {
    let p = ctx.process;
    if roles.is_empty() || roles.iter().any(|r| p.has_role(ctx.actor, r)) {
        return String::new();
    }
    let mut people: Vec<&String> = roles.iter().flat_map(|r| p.members(r)).collect();
    people.sort();
    people.dedup();
    match people.as_slice() {
        [one] => format!(" --as {one}"),
        _ => String::new(),
    }
}

/// Whether an incident holds a release back: open, on that release, and of a
/// severity with `block_promotion`.
pub fn blocks_promotion(ctx: &Ctx, i: &Incident, version: &str) -> bool {
    i.is_open()
        && i.release.as_deref() == Some(version)
        && i.severity
            .as_deref()
            .and_then(|s| ctx.process.severity(s))
            .is_some_and(|s| s.block_promotion)
}

/// Evaluates the gate into `env` for `r`; `emergency` asks for the emergency
/// lane; `incidents` are those opened on the release (an open one of a
/// blocking severity closes every gate, the emergency lane's too).
pub fn evaluate_gate(
    ctx: &Ctx,
    r: &Release,
    env: &Environment,
    emergency: bool,
    severities_emergency: bool,
    incidents: &[Incident],
) -> GateReport {
    let p = ctx.process;
    let v = r.version.to_string();
    let mut unmet = Vec::new();
    let release_roles = p.responsible(Step::Release);

    if r.status != ReleaseStatus::Candidate {
        unmet.push(Unmet::new(format!(
            "the release must be a candidate (it is {})",
            r.status
        )));
    }
    if r.has_reached(&env.name) {
        unmet.push(Unmet::new(format!(
            "{v} has already entered `{}`",
            env.name
        )));
    }
    if let Some(f) = &r.in_flight {
        unmet.push(Unmet::new(format!(
            "no other promotion running ({} is promoting it to `{}` since {})",
            f.actor, f.env, f.started_at
        )));
    }
    let idx = p
        .environments
        .iter()
        .position(|e| e.name == env.name)
        .unwrap_or(0);
    if idx > 0 {
        let prev = &p.environments[idx - 1];
        if !r.has_reached(&prev.name) {
            unmet.push(
                Unmet::new(format!("{v} must first be in `{}`", prev.name))
                    .by(release_roles)
                    .act(Action::new("promote").env(&prev.name))
                    .hint(format!(
                        "sluice promote {v} --to {}{}",
                        prev.name,
                        as_for(ctx, release_roles)
                    )),
            );
        }
        for suite in &prev.tests {
            let latest = r.latest_test(&prev.name, suite);
            let void = r
                .tests
                .iter()
                .any(|t| t.env == prev.name && t.suite == *suite && t.content_hash.is_some());
            let state = match latest {
                None if void => {
                    "earlier results void: the release content changed since".to_string()
                }
                None => "no result yet".to_string(),
                Some(t) if t.passed => continue,
                Some(t) => format!(
                    "latest result failed, reported by {} at {}",
                    t.reporter, t.at
                ),
            };
            unmet.push(
                Unmet::new(format!(
                    "suite `{suite}` passed in `{}` ({state})",
                    prev.name
                ))
                .by(p.responsible(Step::Test))
                .act(Action::new("test").env(&prev.name).suite(suite))
                .hint(format!(
                    "sluice test report {v} --env {} --suite {suite} --pass{}",
                    prev.name,
                    as_for(ctx, p.responsible(Step::Test))
                )),
            );
        }
    }
    for role in &env.approvals {
        let have = counted_approvers(ctx, r, &env.name, role, ApprovalKind::Standard);
        if have.len() < env.quorum as usize {
            let stale = r
                .approvals
                .iter()
                .filter(|a| {
                    a.env == env.name && a.role == *role && a.content_hash != r.content_hash
                })
                .count();
            let mut text = format!(
                "approval by `{role}` for `{}` ({} of {})",
                env.name,
                have.len(),
                env.quorum
            );
            if stale > 0 {
                text.push_str(&format!(
                    "; {stale} earlier approval(s) void: the release content changed since"
                ));
            }
            if !p.review.author_may_approve && !r.authors.is_empty() {
                text.push_str(&format!(
                    "; not by an author of its patches ({})",
                    r.authors.join(", ")
                ));
            }
            unmet.push(
                Unmet::new(text)
                    .role(role)
                    .act(Action::new("approve").env(&env.name).role(role))
                    .hint(format!(
                        "sluice approve {v} --env {} --role {role}{}",
                        env.name,
                        as_for(ctx, std::slice::from_ref(role))
                    )),
            );
        }
    }
    for item in p.checklist.iter().filter(|c| c.before == env.name) {
        if !r.checklist.iter().any(|t| t.id == item.id) {
            let mut u =
                Unmet::new(format!("checklist `{}`: {}", item.id, item.text)).hint(format!(
                    "sluice checklist {v} --tick {}{}",
                    item.id,
                    item.by
                        .as_ref()
                        .map(|r| as_for(ctx, std::slice::from_ref(r)))
                        .unwrap_or_default()
                ));
            if let Some(by) = &item.by {
                u = u.role(by);
            }
            unmet.push(u.act(Action::new("tick").item(&item.id)));
        }
    }
    let monitor = p.responsible(Step::Monitor);
    for i in incidents.iter().filter(|i| blocks_promotion(ctx, i, &v)) {
        unmet.push(
            Unmet::new(format!(
                "incident {} resolved: {} in `{}` since {}, {} (an open {} incident holds the release)",
                i.id,
                i.title,
                i.env,
                i.opened_at.strftime("%Y-%m-%d %H:%M UTC"),
                i.source,
                i.severity.as_deref().unwrap_or_default()
            ))
            .by(monitor)
            .act(Action::new("resolve").item(&i.id.to_string()))
            .hint(format!(
                "sluice incident resolve {} --comment TEXT{}",
                i.id,
                as_for(ctx, monitor)
            )),
        );
    }
    let time = check_time(env, &p.cadence.timezone, ctx.now);
    let in_window = time.is_ok();
    if emergency {
        if env.emergency_approvals.is_empty() {
            unmet.push(Unmet::new(format!(
                "an emergency lane into `{}` (the process defines no emergency_approvals for it)",
                env.name
            )));
        }
        if !severities_emergency {
            unmet.push(Unmet::new(
                "a patch whose severity allows the emergency lane (emergency = true)".to_string(),
            ));
        }
        for role in &env.emergency_approvals {
            if counted_approvers(ctx, r, &env.name, role, ApprovalKind::Emergency).is_empty() {
                unmet.push(
                    Unmet::new(format!("emergency approval by `{role}` for `{}`", env.name))
                        .role(role)
                        .hint(format!(
                            "sluice approve {v} --env {} --role {role} --emergency{}",
                            env.name,
                            as_for(ctx, std::slice::from_ref(role))
                        )),
                );
            }
        }
    } else if let Err(why) = time {
        // Waiting is not a command, and nobody can meet it: a window or freeze is on no
        // one (it says when it opens). The emergency lane is offered only to a release
        // whose patches' severity allows it, starting with the emergency approvals it
        // lacks; that is on the release roles, who can take it now.
        let opens = Action {
            at: crate::window::next_opening(env, &p.cadence.timezone, ctx.now),
            ..Action::new("wait").env(&env.name)
        };
        let u = if env.emergency_approvals.is_empty() || !severities_emergency {
            Unmet::new(why).act(opens)
        } else {
            let promote = format!(
                "sluice promote {v} --to {} --emergency --reason TEXT{}",
                env.name,
                as_for(ctx, release_roles)
            );
            let lacking: Vec<&String> = env
                .emergency_approvals
                .iter()
                .filter(|role| {
                    counted_approvers(ctx, r, &env.name, role, ApprovalKind::Emergency).is_empty()
                })
                .collect();
            let mut steps: Vec<String> = lacking
                .iter()
                .map(|role| format!("emergency approval by `{role}`"))
                .collect();
            steps.push("`promote --emergency --reason`".to_string());
            Unmet::new(format!(
                "{why}; or the emergency lane, which this release's severity allows: {}",
                steps.join(", then ")
            ))
            .by(release_roles)
            .hint(match lacking.first() {
                Some(role) => format!(
                    "sluice approve {v} --env {} --role {role} --emergency{}",
                    env.name,
                    as_for(ctx, std::slice::from_ref(role))
                ),
                None => promote,
            })
        };
        unmet.push(u);
    }
    GateReport {
        release: v,
        env: env.name.clone(),
        emergency,
        in_window,
        unmet,
    }
}

#[cfg(test)]
mod table {
    //! Which incidents hold a release: open, on it, of a blocking severity.
    use super::*;
    use crate::process::{self, Process};

    fn incident(release: &str, severity: Option<&str>, resolved: bool) -> Incident {
        let at: jiff::Timestamp = "2026-11-03T08:00:00Z".parse().unwrap();
        Incident {
            id: 1,
            env: "prod".into(),
            service: None,
            release: Some(release.into()),
            title: "Errors up".into(),
            severity: severity.map(String::from),
            source: "alertmanager".into(),
            fingerprint: None,
            url: None,
            opened_by: "webhook:alertmanager".into(),
            opened_at: at,
            resolved_by: resolved.then(|| "dave@example.com".into()),
            resolved_at: resolved.then_some(at),
            comment: None,
        }
    }

    #[test]
    fn blocking_incidents() {
        let p: Process =
            process::load("sluice.toml", process::DEFAULT_PROCESS).expect("the default process");
        let ctx = Ctx {
            process: &p,
            actor: "",
            now: "2026-11-03T09:00:00Z".parse().unwrap(),
        };
        // (incident, blocks 1.2.3?) — the default file blocks on `critical` only.
        let cases = [
            (incident("1.2.3", Some("critical"), false), true),
            (incident("1.2.3", Some("critical"), true), false),
            (incident("1.2.4", Some("critical"), false), false),
            (incident("1.2.3", Some("major"), false), false),
            (incident("1.2.3", None, false), false),
            (incident("1.2.3", Some("sev9"), false), false),
        ];
        for (i, (inc, want)) in cases.iter().enumerate() {
            assert_eq!(blocks_promotion(&ctx, inc, "1.2.3"), *want, "case {i}");
        }
    }
}
