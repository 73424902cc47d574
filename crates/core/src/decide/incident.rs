//! Incidents: opened by an alert or by hand on the release deployed in an
//! environment, resolved by the source that opened them or by the role
//! responsible for monitoring.

use serde_json::json;

use super::{Ctx, Decision, Denied, Unmet, require_step};
use crate::event::Event;
use crate::model::Incident;
use crate::process::Step;

/// What is known when an incident opens.
#[derive(Debug, Clone, Default)]
pub struct IncidentInput {
    pub env: String,
    pub service: Option<String>,
    pub title: String,
    pub severity: Option<String>,
    /// `manual` or the webhook source.
    pub source: String,
    pub fingerprint: Option<String>,
    pub url: Option<String>,
}

/// `incident open`: anyone (a person or an alert source) may open one.
/// `release` is what `env` holds now.
pub fn open_incident(
    ctx: &Ctx,
    id: i64,
    release: Option<String>,
    input: IncidentInput,
) -> Decision<(Incident, Event)> {
    ctx.process
        .known_environment(&input.env)
        .map_err(Denied::Invalid)?;
    let title = input.title.trim();
    if title.is_empty() {
        return Err(Denied::Invalid("an incident needs a title".into()));
    }
    if let Some(s) = &input.severity
        && ctx.process.severity(s).is_none()
    {
        let known: Vec<&str> = ctx
            .process
            .severities
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        return Err(Denied::Invalid(format!(
            "unknown severity `{s}`; the process defines: {}",
            known.join(", ")
        )));
    }
    let url = crate::link::optional(input.url).map_err(Denied::Invalid)?;
    let i = Incident {
        id,
        env: input.env,
        service: input.service,
        release,
        title: title.to_string(),
        severity: input.severity,
        source: input.source,
        fingerprint: input.fingerprint,
        url,
        opened_by: ctx.actor.to_string(),
        opened_at: ctx.now,
        resolved_by: None,
        resolved_at: None,
        comment: None,
    };
    let e = Event::new(
        "incident.opened",
        i.subject(),
        json!({
            "id": i.id, "env": i.env, "release": i.release, "service": i.service,
            "title": i.title, "severity": i.severity, "source": i.source,
            "fingerprint": i.fingerprint, "url": i.url,
        }),
    );
    Ok((i, e))
}

/// `incident resolve`: by whoever opened it (an alert source resolving its own
/// alert), or by the role responsible for the `monitor` step.
pub fn resolve_incident(
    ctx: &Ctx,
    i: &Incident,
    comment: Option<String>,
) -> Decision<(Incident, Event)> {
    if !i.is_open() {
        return Err(Denied::one(
            format!("incident {} is already resolved", i.id),
            Unmet::new(format!(
                "an open incident (resolved by {} at {})",
                i.resolved_by.as_deref().unwrap_or("?"),
                i.resolved_at.map(|t| t.to_string()).unwrap_or_default()
            )),
        ));
    }
    if i.opened_by != ctx.actor {
        require_step(ctx, Step::Monitor, "resolve incidents")?;
    }
    let mut n = i.clone();
    n.resolved_by = Some(ctx.actor.to_string());
    n.resolved_at = Some(ctx.now);
    n.comment = comment;
    let e = Event::new(
        "incident.resolved",
        i.subject(),
        json!({
            "id": i.id, "env": i.env, "release": i.release, "service": i.service,
            "title": i.title, "severity": i.severity, "source": i.source,
            "fingerprint": i.fingerprint, "comment": n.comment,
            "open_for_ms": ctx.now.as_millisecond() - i.opened_at.as_millisecond(),
        }),
    );
    Ok((n, e))
}

#[cfg(test)]
mod table {
    //! Opening and resolving incidents, as a table of who, what and the answer.
    use super::*;
    use crate::process::{self, Process};

    fn process() -> Process {
        process::load("sluice.toml", process::DEFAULT_PROCESS).expect("the default process")
    }

    fn input(env: &str, title: &str, severity: Option<&str>, url: Option<&str>) -> IncidentInput {
        IncidentInput {
            env: env.into(),
            title: title.into(),
            severity: severity.map(String::from),
            source: "manual".into(),
            url: url.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn opening() {
        let p = process();
        let now: jiff::Timestamp = "2026-11-03T08:00:00Z".parse().unwrap();
        // Anyone may open one; what they give must make sense.
        let ctx = Ctx {
            process: &p,
            actor: "someone@example.com",
            now,
        };
        let cases: &[(IncidentInput, Result<(), &str>)] = &[
            (input("prod", "Errors up", None, None), Ok(())),
            (
                input(
                    "prod",
                    "Errors up",
                    Some("critical"),
                    Some("https://a.example/1"),
                ),
                Ok(()),
            ),
            (
                input("staging", "x", None, None),
                Err("unknown environment `staging`"),
            ),
            (input("prod", "   ", None, None), Err("needs a title")),
            (
                input("prod", "x", Some("sev9"), None),
                Err("unknown severity `sev9`"),
            ),
            (
                input("prod", "x", None, Some("javascript:alert(1)")),
                Err("http:// or https://"),
            ),
        ];
        for (i, (given, want)) in cases.iter().enumerate() {
            let got = open_incident(&ctx, i as i64 + 1, Some("1.2.3".into()), given.clone());
            match (want, got) {
                (Ok(()), Ok((inc, e))) => {
                    assert_eq!(e.kind, "incident.opened");
                    assert!(inc.is_open());
                    assert_eq!(inc.title, given.title.trim());
                }
                (Err(needle), Err(Denied::Invalid(m))) => {
                    assert!(m.contains(needle), "case {i}: {m}")
                }
                (want, got) => panic!("case {i}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn resolving() {
        let p = process();
        let now: jiff::Timestamp = "2026-11-03T08:00:00Z".parse().unwrap();
        let opener = Ctx {
            process: &p,
            actor: "webhook:alertmanager",
            now,
        };
        let (open, _) =
            open_incident(&opener, 1, None, input("prod", "Errors up", None, None)).unwrap();
        // (actor, allowed): whoever opened it, or the monitor role (devops).
        for (actor, allowed) in [
            ("webhook:alertmanager", true),
            ("dave@example.com", true),
            ("erin@example.com", false),
            ("nobody@example.com", false),
        ] {
            let ctx = Ctx {
                process: &p,
                actor,
                now,
            };
            let got = resolve_incident(&ctx, &open, Some("fixed".into()));
            assert_eq!(got.is_ok(), allowed, "{actor}: {got:?}");
            if let Ok((closed, e)) = got {
                assert_eq!(e.kind, "incident.resolved");
                assert!(!closed.is_open());
                // Resolved once: a second time is refused, by anyone.
                assert!(resolve_incident(&ctx, &closed, None).is_err());
            }
        }
    }
}
