//! What time alone makes true: a patch passing its deadline, a release
//! waiting at a gate longer than the process allows, a freeze about to start,
//! an emergency follow-up review falling overdue. A pure function of state and
//! `now`; each fact carries a key that names it once and for all, so the
//! application records it exactly once however many schedulers run it.

use jiff::{SignedDuration, Timestamp, civil::Time};
use serde_json::json;

use super::Ctx;
use crate::event::Event;
use crate::model::{Patch, Release};

/// A release waiting at the gate into `env`, and since when (it entered the
/// environment before, or was cut).
#[derive(Debug, Clone)]
pub struct Waiting<'a> {
    pub release: &'a Release,
    pub env: &'a str,
    pub since: Timestamp,
    /// The roles the gate waits on (empty: only on the promotion itself).
    pub waiting_on: Vec<String>,
}

/// The state a scheduler pass looks at.
#[derive(Debug, Clone, Default)]
pub struct Clock<'a> {
    /// Open patches.
    pub patches: &'a [Patch],
    /// Candidate releases and the gate each waits at.
    pub waiting: &'a [Waiting<'a>],
    /// Releases that may owe follow-up reviews.
    pub releases: &'a [Release],
}

/// A fact that is due, with the key it is recorded under exactly once.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub key: String,
    pub event: Event,
}

/// Every timed fact true at `ctx.now`. Facts already recorded come back too:
/// the caller skips keys it has recorded (the key makes that a lookup).
pub fn due(ctx: &Ctx, c: &Clock) -> Vec<Due> {
    let now = ctx.now;
    let p = ctx.process;
    let mut out = Vec::new();
    for x in c.patches.iter().filter(|x| x.is_overdue(now)) {
        let Some(deadline) = x.deadline else { continue };
        out.push(Due {
            // A new deadline (re-triage) is a new fact.
            key: format!("patch.overdue:{}:{}", x.key, deadline.as_millisecond()),
            event: Event::new(
                "patch.overdue",
                &x.key,
                json!({"deadline": deadline, "severity": x.severity, "owner": x.owner, "title": x.title}),
            ),
        });
    }
    for w in c.waiting {
        let Some((_, e)) = p.environment(w.env) else {
            continue;
        };
        if w.release.in_flight.is_some() || since(w.since, now) < e.gate_waiting_after {
            continue;
        }
        let v = w.release.version.to_string();
        out.push(Due {
            key: format!("gate.waiting:{v}:{}", w.env),
            event: Event::new(
                "gate.waiting",
                &v,
                json!({"env": w.env, "release": v, "since": w.since, "waiting_on": w.waiting_on}),
            ),
        });
    }
    let tz = &p.cadence.timezone;
    for e in &p.environments {
        for f in &e.freezes {
            let Ok(start) = f
                .from
                .to_datetime(Time::midnight())
                .to_zoned_datetime(tz.clone())
            else {
                continue;
            };
            let start = start.timestamp();
            if start > now && since(now, start) <= e.freeze_notice {
                out.push(Due {
                    key: format!("freeze.starting:{}:{}", e.name, f.from),
                    event: Event::new(
                        "freeze.starting",
                        format!("{}:{}", e.name, f.from),
                        json!({"env": e.name, "from": f.from, "to": f.to, "reason": f.reason, "starts_at": start}),
                    ),
                });
            }
        }
    }
    for r in c.releases {
        for x in r.retros.iter().filter(|x| x.is_open() && x.due < now) {
            out.push(Due {
                key: format!("retro.overdue:{}", x.id),
                event: Event::new(
                    "retro.overdue",
                    r.version.to_string(),
                    json!({"retro": x.id, "owner": x.owner, "due": x.due, "reason": x.reason, "env": x.env}),
                ),
            });
        }
    }
    let within = p.emergency.follow_up_within;
    for r in c.releases {
        for f in r.follow_ups.iter().filter(|f| f.closed_at.is_none()) {
            if since(f.opened_at, now) <= within {
                continue;
            }
            let v = r.version.to_string();
            out.push(Due {
                key: format!(
                    "release.follow_up_overdue:{v}:{}:{}",
                    f.env,
                    f.opened_at.as_millisecond()
                ),
                event: Event::new(
                    "release.follow_up_overdue",
                    &v,
                    json!({"env": f.env, "reason": f.reason, "opened_at": f.opened_at,
                           "due": f.opened_at.checked_add(within).unwrap_or(Timestamp::MAX)}),
                ),
            });
        }
    }
    out
}

/// How long from `a` to `b` (zero if `b` is earlier).
fn since(a: Timestamp, b: Timestamp) -> SignedDuration {
    b.duration_since(a).max(SignedDuration::ZERO)
}

#[cfg(test)]
mod table {
    //! Which timed facts are due at `now`, as a table.
    use super::*;
    use crate::process::{self, Process};

    fn process() -> Process {
        process::load("sluice.toml", process::DEFAULT_PROCESS).expect("the default process")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn patch(key: &str, status: &str, deadline: Option<&str>) -> Patch {
        serde_json::from_value(json!({
            "key": key, "number": 1, "title": "Checkout total is wrong", "description": null,
            "kind": "bug", "severity": "critical", "priority": null, "status": status,
            "source": {"kind": "bug", "reference": null}, "reporter": "erin@example.com",
            "owner": null, "targets": ["main"], "branch": null, "reviews": [], "release": null,
            "reported_at": "2026-11-01T08:00:00Z", "triaged_at": null, "deadline": deadline,
            "updated_at": "2026-11-01T08:00:00Z", "resolution": null, "reopened": 0,
            "ports": [], "base_commit": null, "started_by": null,
        }))
        .expect("a patch")
    }

    fn release(version: &str, follow_up: Option<(&str, bool)>, in_flight: bool) -> Release {
        let t = "2026-11-01T08:00:00Z";
        let follow_ups = follow_up
            .map(|(opened, closed)| {
                vec![
                    json!({"env": "prod", "reason": "outage", "opened_by": "bob@example.com",
                 "opened_at": opened, "closed_by": closed.then_some("carol@example.com"),
                 "closed_at": closed.then_some(opened), "comment": null}),
                ]
            })
            .unwrap_or_default();
        let flight = in_flight.then(|| {
            json!({"deployment": "d-1", "env": "test", "actor": "bob@example.com",
                   "started_at": t, "expires_at": "2026-11-01T09:00:00Z"})
        });
        serde_json::from_value(json!({
            "version": version, "line": "1.2", "target": "main", "status": "candidate",
            "previous": null, "patches": [], "authors": [], "content_hash": "h",
            "imported": false, "created_by": "bob@example.com", "created_at": t,
            "reached": ["local", "dev"], "approvals": [], "tests": [], "checklist": [],
            "in_flight": flight, "follow_ups": follow_ups, "updated_at": t,
        }))
        .expect("a release")
    }

    fn keys(p: &Process, now: &str, c: &Clock) -> Vec<String> {
        let ctx = Ctx {
            process: p,
            actor: "sluice",
            now: at(now),
        };
        due(&ctx, c).into_iter().map(|d| d.key).collect()
    }

    #[test]
    fn overdue_patches() {
        let p = process();
        let patches = [
            patch("SHOP-1", "in_progress", Some("2026-11-02T08:00:00Z")),
            patch("SHOP-2", "triaged", Some("2026-11-09T08:00:00Z")),
            patch("SHOP-3", "released", Some("2026-11-02T08:00:00Z")),
            patch("SHOP-4", "reported", None),
        ];
        let c = Clock {
            patches: &patches,
            ..Clock::default()
        };
        // Before any deadline, nothing; after SHOP-1's, SHOP-1 only (a released
        // patch is past caring, one without a deadline never falls due).
        assert!(keys(&p, "2026-11-02T07:59:59Z", &c).is_empty());
        let k = keys(&p, "2026-11-03T00:00:00Z", &c);
        let ms = at("2026-11-02T08:00:00Z").as_millisecond();
        assert_eq!(k, [format!("patch.overdue:SHOP-1:{ms}")]);
        assert_eq!(keys(&p, "2026-11-10T00:00:00Z", &c).len(), 2);
    }

    #[test]
    fn waiting_at_a_gate() {
        let p = process(); // gate_waiting_after: 4h by default
        let (r, busy) = (release("1.2.3", None, false), release("1.2.4", None, true));
        let since = at("2026-11-03T08:00:00Z");
        let waiting = [
            Waiting {
                release: &r,
                env: "test",
                since,
                waiting_on: vec!["qa".into()],
            },
            Waiting {
                release: &busy,
                env: "test",
                since,
                waiting_on: vec![],
            },
        ];
        let c = Clock {
            waiting: &waiting,
            ..Clock::default()
        };
        assert!(keys(&p, "2026-11-03T11:59:59Z", &c).is_empty());
        // A release being promoted is not waiting.
        assert_eq!(
            keys(&p, "2026-11-03T12:00:00Z", &c),
            ["gate.waiting:1.2.3:test"]
        );
    }

    #[test]
    fn freezes_starting() {
        // The default prod freeze starts 2026-12-20 00:00 Europe/Oslo
        // (23:00 UTC the day before), announced 24h ahead.
        let p = process();
        let c = Clock::default();
        assert!(keys(&p, "2026-12-18T22:59:59Z", &c).is_empty());
        assert_eq!(
            keys(&p, "2026-12-18T23:00:00Z", &c),
            ["freeze.starting:prod:2026-12-20"]
        );
        assert!(keys(&p, "2026-12-19T23:00:00Z", &c).is_empty(), "started");
    }

    #[test]
    fn follow_ups_fall_overdue() {
        let p = process(); // follow_up_within: 2d
        let open = release("1.2.3", Some(("2026-11-03T08:00:00Z", false)), false);
        let closed = release("1.2.2", Some(("2026-11-01T08:00:00Z", true)), false);
        let releases = [open, closed];
        let c = Clock {
            releases: &releases,
            ..Clock::default()
        };
        assert!(keys(&p, "2026-11-05T08:00:00Z", &c).is_empty());
        let ms = at("2026-11-03T08:00:00Z").as_millisecond();
        assert_eq!(
            keys(&p, "2026-11-05T08:00:01Z", &c),
            [format!("release.follow_up_overdue:1.2.3:prod:{ms}")]
        );
    }
}
