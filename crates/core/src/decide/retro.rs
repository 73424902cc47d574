//! Retrospectives: opened on a release by what happened to it (a rollback, an
//! emergency promotion, a patch of a severity that asks for one reaching the
//! last environment; each switchable under `[retro]`), due `due_within` later,
//! owned by a role, written by the team, completed by the owner.

use serde_json::json;

use super::{Ctx, Decision, Denied, Unmet};
use crate::event::Event;
use crate::model::{Patch, Release, Retro};
use crate::process::Step;

/// Why a retrospective opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Rollback,
    Emergency,
    Severity,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Rollback => "rollback",
            Cause::Emergency => "emergency",
            Cause::Severity => "severity",
        }
    }
}

/// The role that owns retrospectives: `[retro] owner`, else the one
/// responsible for `monitor` (empty: anyone).
pub fn owner(ctx: &Ctx) -> String {
    let p = ctx.process;
    p.retro
        .owner
        .clone()
        .or_else(|| p.responsible(Step::Monitor).first().cloned())
        .unwrap_or_default()
}

/// Opens a retrospective on `r` for `cause`, if `[retro]` asks for one then.
pub fn open_retro(
    ctx: &Ctx,
    r: &mut Release,
    cause: Cause,
    env: &str,
    reason: String,
) -> Option<Event> {
    let s = &ctx.process.retro;
    let wanted = match cause {
        Cause::Rollback => s.on_rollback,
        Cause::Emergency => s.on_emergency,
        Cause::Severity => s.on_severity,
    };
    if !wanted {
        return None;
    }
    let v = r.version.to_string();
    let retro = Retro {
        id: format!("{v}-r{}", r.retros.len() + 1),
        release: v.clone(),
        cause: cause.as_str().to_string(),
        reason,
        env: Some(env.to_string()),
        owner: owner(ctx),
        opened_at: ctx.now,
        due: ctx.now.checked_add(s.due_within).unwrap_or(ctx.now),
        text: None,
        completed_by: None,
        completed_at: None,
    };
    let ev = Event::new(
        "retro.opened",
        &v,
        json!({"retro": retro.id, "cause": retro.cause, "reason": retro.reason, "env": env,
               "owner": retro.owner, "due": retro.due}),
    );
    r.retros.push(retro);
    Some(ev)
}

/// The retrospective a release's patches call for when they reach the last
/// environment: those of a severity with `retrospective = true`.
pub fn severity_retro(ctx: &Ctx, r: &mut Release, patches: &[&Patch], env: &str) -> Option<Event> {
    let asking: Vec<String> = patches
        .iter()
        .filter(|p| {
            p.severity
                .as_deref()
                .and_then(|s| ctx.process.severity(s))
                .is_some_and(|s| s.retrospective)
        })
        .map(|p| format!("{} ({})", p.key, p.severity.as_deref().unwrap_or_default()))
        .collect();
    if asking.is_empty() {
        return None;
    }
    let reason = format!("{} reached `{env}`", asking.join(", "));
    open_retro(ctx, r, Cause::Severity, env, reason)
}

fn find(r: &Release, id: &str) -> Decision<usize> {
    r.retros.iter().position(|x| x.id == id).ok_or_else(|| {
        Denied::Invalid(format!("release {} has no retrospective `{id}`", r.version))
    })
}

/// `retro edit`: the team's document replaces the generated one.
pub fn edit_retro(ctx: &Ctx, r: &Release, id: &str, text: &str) -> Decision<(Release, Event)> {
    let i = find(r, id)?;
    if text.trim().is_empty() {
        return Err(Denied::Invalid(
            "the retrospective is empty; write its text, or leave it as it is".into(),
        ));
    }
    if !r.retros[i].is_open() {
        return Err(Denied::state(format!("retrospective {id} is complete")));
    }
    let mut n = r.clone();
    n.retros[i].text = Some(text.to_string());
    n.updated_at = ctx.now;
    let ev = Event::new(
        "retro.edited",
        r.version.to_string(),
        json!({"retro": id, "bytes": text.len()}),
    );
    Ok((n, ev))
}

/// `retro complete`: by a member of the owner role (anyone when it has none),
/// once the team has written it.
pub fn complete_retro(ctx: &Ctx, r: &Release, id: &str) -> Decision<(Release, Event)> {
    let i = find(r, id)?;
    let x = &r.retros[i];
    if !x.is_open() {
        return Err(Denied::state(format!(
            "retrospective {id} is complete already ({} at {})",
            x.completed_by.as_deref().unwrap_or_default(),
            x.completed_at.map(|t| t.to_string()).unwrap_or_default()
        )));
    }
    let mut unmet = Vec::new();
    if !x.owner.is_empty() && !ctx.process.has_role(ctx.actor, &x.owner) {
        unmet.push(Unmet::new(format!("completed by the owner role `{}`", x.owner)).role(&x.owner));
    }
    if x.text.is_none() {
        unmet.push(
            Unmet::new("the team's text: causes, what went well, actions")
                .hint(format!("sluice retro edit {id}")),
        );
    }
    if !unmet.is_empty() {
        return Err(Denied::refused(
            format!("retrospective {id} may not be completed yet"),
            unmet,
        ));
    }
    let mut n = r.clone();
    n.retros[i].completed_by = Some(ctx.actor.to_string());
    n.retros[i].completed_at = Some(ctx.now);
    n.updated_at = ctx.now;
    let ev = Event::new(
        "retro.completed",
        r.version.to_string(),
        json!({"retro": id}),
    );
    Ok((n, ev))
}

/// The release version a retrospective id names (`1.4.2-r1` → `1.4.2`).
pub fn retro_release(id: &str) -> Option<&str> {
    let (v, n) = id.rsplit_once("-r")?;
    n.parse::<u32>().ok().map(|_| v)
}

#[cfg(test)]
mod table {
    //! Opening, editing and completing retrospectives, as tables.
    use super::*;
    use crate::process::{self, Process};

    fn release() -> Release {
        serde_json::from_value(json!({
            "version": "1.2.3", "line": "1.2", "target": "main", "status": "released",
            "previous": null, "patches": ["SHOP-1"], "authors": [], "content_hash": "h",
            "imported": false, "created_by": "bob@example.com", "created_at": "2026-11-03T09:00:00Z",
            "reached": ["local", "dev", "test", "prod"], "approvals": [], "tests": [],
            "checklist": [], "in_flight": null, "follow_ups": [], "updated_at": "2026-11-03T10:00:00Z",
        }))
        .expect("a release")
    }

    fn ctx<'a>(p: &'a Process, actor: &'a str) -> Ctx<'a> {
        Ctx {
            process: p,
            actor,
            now: "2026-11-03T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn opening_follows_the_retro_settings() {
        let on = process::load("sluice.toml", process::DEFAULT_PROCESS).unwrap();
        let off = process::load(
            "sluice.toml",
            &process::DEFAULT_PROCESS.replace("on_rollback = true", "on_rollback = false"),
        )
        .unwrap();
        let mut r = release();
        let e = open_retro(
            &ctx(&on, "sluice"),
            &mut r,
            Cause::Rollback,
            "prod",
            "x".into(),
        )
        .expect("opened");
        assert_eq!(e.kind, "retro.opened");
        assert_eq!(r.retros[0].id, "1.2.3-r1");
        assert_eq!(r.retros[0].owner, "devops", "the monitor role by default");
        assert_eq!(
            r.retros[0].due.to_string(),
            "2026-11-08T10:00:00Z",
            "due 5d later"
        );
        assert!(
            open_retro(
                &ctx(&off, "sluice"),
                &mut r,
                Cause::Rollback,
                "prod",
                "x".into()
            )
            .is_none()
        );
        assert!(
            open_retro(
                &ctx(&off, "sluice"),
                &mut r,
                Cause::Emergency,
                "prod",
                "x".into()
            )
            .is_some()
        );
        assert_eq!(r.retros[1].id, "1.2.3-r2");
        assert_eq!(retro_release("1.2.3-r2"), Some("1.2.3"));
        assert_eq!(retro_release("1.2.3-rc.1"), None);
    }

    #[test]
    fn completing_needs_the_owner_and_the_text() {
        let p = process::load("sluice.toml", process::DEFAULT_PROCESS).unwrap();
        let mut r = release();
        open_retro(
            &ctx(&p, "sluice"),
            &mut r,
            Cause::Rollback,
            "prod",
            "x".into(),
        );
        let dave = "dave@example.com"; // devops
        let bob = "bob@example.com";
        // Not written yet; and Bob does not own it.
        match complete_retro(&ctx(&p, bob), &r, "1.2.3-r1") {
            Err(Denied::Refused { unmet, .. }) => assert_eq!(unmet.len(), 2, "{unmet:?}"),
            other => panic!("{other:?}"),
        }
        assert!(edit_retro(&ctx(&p, bob), &r, "1.2.3-r1", "  ").is_err());
        let (r, e) = edit_retro(&ctx(&p, bob), &r, "1.2.3-r1", "## Causes\nA typo.").unwrap();
        assert_eq!(e.kind, "retro.edited");
        assert!(complete_retro(&ctx(&p, bob), &r, "1.2.3-r1").is_err());
        let (r, e) = complete_retro(&ctx(&p, dave), &r, "1.2.3-r1").unwrap();
        assert_eq!(e.kind, "retro.completed");
        assert!(!r.retros[0].is_open());
        assert!(complete_retro(&ctx(&p, dave), &r, "1.2.3-r1").is_err());
        assert!(edit_retro(&ctx(&p, dave), &r, "1.2.3-r1", "late").is_err());
        assert!(matches!(
            complete_retro(&ctx(&p, dave), &r, "1.2.3-r9"),
            Err(Denied::Invalid(_))
        ));
    }
}
