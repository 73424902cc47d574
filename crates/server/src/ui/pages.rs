//! The pages: board, patch queue, release, calendar and its iCalendar feed,
//! audit log.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use sluice_app::views::human_secs as human;
use sluice_app::{AppError, PatchQuery};
use sluice_core::process::Step;

use super::*;
use crate::Shared;

pub(crate) async fn board(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    fl: Flash,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = jiff::Timestamp::now();
    let b = match s.app.board(now, 10).await {
        Ok(b) => b,
        Err(e) => return error_page(&s, &session, e, "/board"),
    };
    let (flash, kind) = fl.parts();
    let ctx = context! { ..base(&s, Some(&session), "board", "Board"), ..context! {
        board => ser(&b), flash => flash, flash_kind => kind,
        may_promote => may(&s, &session.user, Step::Release),
        may_roll_back => sluice_core::decide::may_roll_back(&ctx_of(&s, &session.user)).is_ok(),
    }};
    if q.contains_key("fragment") {
        return page(&s, StatusCode::OK, "board_columns.html", ctx);
    }
    fl.shown(page(&s, StatusCode::OK, "board.html", ctx))
}

/// The release page's forms for this user: only those they may use, only
/// when they apply, with choices from the process file and the next gate's
/// environment first.
fn release_forms(s: &Shared, user: &str, r: &sluice_app::views::ReleasePage) -> Value {
    let p = s.app.process();
    let mine = p.roles_of(user);
    let candidate = r.release.status == sluice_core::model::ReleaseStatus::Candidate;
    let next = r.gates.first().map(|g| g.env.clone());
    // Approve: the environments ahead whose approvals (or emergency
    // approvals) name one of the user's roles, with those roles.
    let mut approve: Vec<Value> = Vec::new();
    let mut all_roles: Vec<String> = Vec::new();
    if candidate {
        for g in &r.gates {
            let Some((_, e)) = p.environment(&g.env) else {
                continue;
            };
            let mut roles: Vec<String> = e
                .approvals
                .iter()
                .chain(&e.emergency_approvals)
                .filter(|x| mine.contains(&x.as_str()))
                .cloned()
                .collect();
            roles.dedup();
            all_roles.extend(roles.iter().cloned());
            if !roles.is_empty() {
                approve.push(context! { env => g.env.clone(), roles => roles,
                emergency => e.emergency_approvals.iter().any(|x| mine.contains(&x.as_str())) });
            }
        }
    }
    all_roles.sort();
    all_roles.dedup();
    // Record a test result: the suites of the process (each environment's
    // gate suites and after-deploy suites), for the test role; the one the
    // next gate misses first.
    let mut suites: Vec<Value> = Vec::new();
    if may(s, user, Step::Test) {
        for e in &p.environments {
            for suite in e.tests.iter().chain(&e.after_deploy_tests) {
                suites.push(context! { env => e.name.clone(), suite => suite.clone() });
            }
        }
    }
    let wanted = r.gates.first().and_then(|g| {
        g.unmet
            .iter()
            .filter_map(|u| u.action.as_ref())
            .find(|a| a.kind == "test")
            .map(|a| {
                format!(
                    "{}/{}",
                    a.env.clone().unwrap_or_default(),
                    a.suite.clone().unwrap_or_default()
                )
            })
    });
    let promote = candidate && may(s, user, Step::Release);
    let ticks: Vec<String> = p
        .checklist
        .iter()
        .filter(|c| c.by.as_ref().is_none_or(|b| mine.contains(&b.as_str())))
        .map(|c| c.id.clone())
        .collect();
    context! {
        approve => approve, approve_roles => all_roles, next => next,
        suites => suites, wanted_suite => wanted,
        promote => promote, ticks => ticks,
    }
}

/// The process's environments, in promotion order.
fn env_names(s: &Shared) -> Vec<String> {
    s.app
        .process()
        .environments
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

/// `user` acting now, for asking the core's rules what they may do.
fn ctx_of<'a>(s: &'a Shared, user: &'a str) -> sluice_core::decide::Ctx<'a> {
    sluice_core::decide::Ctx {
        process: s.app.process(),
        actor: user,
        now: jiff::Timestamp::now(),
    }
}

/// Whether `user` holds the step, by the rule the commands themselves apply.
fn may(s: &Shared, user: &str, step: Step) -> bool {
    sluice_core::decide::require_step(&ctx_of(s, user), step, "").is_ok()
}

pub(crate) async fn patches(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = jiff::Timestamp::now();
    let get = |k: &str| param(&q, k);
    let mut statuses = Vec::new();
    if let Some(st) = get("status") {
        match st.parse() {
            Ok(x) => statuses.push(x),
            Err(e) => return error_page(&s, &session, AppError::Invalid(e), "/patches"),
        }
    }
    let query = PatchQuery {
        all: false,
        statuses,
        kind: get("kind"),
        severity: None,
        owner: get("owner"),
        target: get("line"),
        now_ms: 0,
        limit: 200,
        count: true,
    };
    let list = match s.app.list_patches(now, query).await {
        Ok(l) => l,
        Err(e) => return error_page(&s, &session, e, "/patches"),
    };
    let rows: Vec<Value> = list
        .patches
        .iter()
        .map(|p| {
            let overdue = p.is_overdue(now);
            // Time left or overdue, to the minute.
            let left = p
                .deadline
                .map(|d| sluice_app::views::age(d.duration_since(now).abs()))
                .unwrap_or_default();
            let lines: Vec<String> = p.targets.iter().map(|t| t.to_string()).collect();
            context! {
                key => p.key.clone(), severity => p.severity.clone(), status => p.status.to_string(),
                kind => p.kind.clone(), owner => p.owner.clone(), title => p.title.clone(),
                deadline => p.deadline.map(|d| d.to_string()), overdue => overdue, left => left,
                lines => lines.join(", "),
            }
        })
        .collect();
    let statuses: Vec<&str> = sluice_core::model::PatchStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let kinds: Vec<String> = s
        .app
        .process()
        .kinds
        .iter()
        .map(|k| k.name.clone())
        .collect();
    let ctx = context! { ..base(&s, Some(&session), "patches", "Patches"), ..context! {
        list => ser(&list), rows => rows, statuses => statuses, kinds => kinds,
        filter => context! { status => get("status"), kind => get("kind"), line => get("line"), owner => get("owner") },
    }};
    page(&s, StatusCode::OK, "patches.html", ctx)
}

pub(crate) async fn release(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    fl: Flash,
    Path(v): Path<String>,
) -> Response {
    let now = jiff::Timestamp::now();
    let r = match s.app.release_page(now, &v).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &session, e, "/board"),
    };
    let envs = env_names(&s);
    let (flash, kind) = fl.parts();
    let incidents = s
        .app
        .incidents(sluice_app::IncidentQuery {
            release: Some(v.clone()),
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let forms = release_forms(&s, &session.user, &r);
    let ctx = context! { ..base(&s, Some(&session), "release", &format!("Release {v}")), ..context! {
        r => ser(&r), envs => envs, envs_reached => !r.release.reached.is_empty(),
        flash => flash, flash_kind => kind, incidents => ser(&incidents),
        forms => forms,
    }};
    fl.shown(page(&s, StatusCode::OK, "release.html", ctx))
}

pub(crate) async fn calendar(State(s): State<Shared>, SignedIn(session): SignedIn) -> Response {
    let days = 28;
    let entries: Vec<Value> = sluice_core::calendar::entries(s.app.process(), jiff::Timestamp::now(), days)
        .into_iter()
        .map(|e| {
            let same_day = e.start.date() == e.end.date();
            context! {
                kind => format!("{:?}", e.kind).to_lowercase(),
                day => e.start.strftime("%a %Y-%m-%d").to_string(),
                from => e.start.strftime("%H:%M").to_string(),
                to => if same_day { e.end.strftime("%H:%M").to_string() } else { e.end.strftime("%a %Y-%m-%d %H:%M").to_string() },
                title => e.title,
            }
        })
        .collect();
    let ctx = context! { ..base(&s, Some(&session), "calendar", "Calendar"), ..context! {
        entries => entries, days => days, tz => s.app.process().cadence.timezone_name.clone(),
    }};
    page(&s, StatusCode::OK, "calendar.html", ctx)
}

/// The iCalendar feed. It holds only what the process file says about time
/// (cadence, windows, freezes), so calendar apps may subscribe without a token.
pub(crate) async fn calendar_ics(State(s): State<Shared>) -> Response {
    // Three years of trains and windows, with the time-zone rules for all of them.
    let body = sluice_core::calendar::ics(s.app.process(), jiff::Timestamp::now(), 3 * 366);
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"sluice.ics\"",
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn audit(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| param(&q, k);
    let before: i64 = get("before").and_then(|b| b.parse().ok()).unwrap_or(0);
    let events = match s
        .app
        .audit_newest(
            get("subject").as_deref(),
            get("kind").as_deref(),
            before,
            100,
        )
        .await
    {
        Ok(e) => e,
        Err(e) => return error_page(&s, &session, e, "/audit"),
    };
    // The chain is checked incrementally: each view verifies only the events
    // added since the last one; "verify the whole chain" starts over.
    let chain = {
        let mut cached = s.ui.chain.lock().await;
        let start = match (&*cached, get("full").is_some()) {
            (Some((v, Ok(_))), false) => v.clone(),
            _ => Verifier::default(),
        };
        let full = start.last_seq() == 0;
        match s.app.audit_verify_from(start).await {
            Ok((v, res)) => {
                let res = res.map_err(|b| format!("event {}: {}", b.seq, b.problem));
                *cached = Some((v, res.clone()));
                match res {
                    Ok(n) => context! { ok => true, text => format!(
                        "Chain intact: {n} events verified{}.",
                        if full { " from the first" } else { " (new events checked since the last full check)" }
                    )},
                    Err(m) => context! { ok => false, text => format!("Chain BROKEN at {m}") },
                }
            }
            Err(e) => context! { ok => false, text => format!("Cannot verify: {e}") },
        }
    };
    let older = events.last().map(|e| e.seq).filter(|s| *s > 1);
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            context! {
                seq => e.seq, at_ms => e.at_ms, actor => e.actor.clone(), kind => e.kind.clone(),
                subject => e.subject.clone(), hash => e.hash.clone(),
                release => semver::Version::parse(&e.subject).is_ok(),
            }
        })
        .collect();
    let ctx = context! { ..base(&s, Some(&session), "audit", "Audit"), ..context! {
        events => rows, chain => chain, older => older, kinds => ser(sluice_core::event::KINDS),
        filter => context! { subject => get("subject"), kind => get("kind") },
    }};
    page(&s, StatusCode::OK, "audit.html", ctx)
}

pub(crate) async fn retros(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    fl: Flash,
) -> Response {
    let list = match s.app.retros(false).await {
        Ok(l) => l,
        Err(e) => return error_page(&s, &session, e, "/board"),
    };
    let now = jiff::Timestamp::now();
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|x| {
            let mut v = serde_json::to_value(x).unwrap_or_default();
            v["overdue"] = (x.is_open() && x.due < now).into();
            v
        })
        .collect();
    let (flash, kind) = fl.parts();
    let ctx = context! { ..base(&s, Some(&session), "retros", "Retrospectives"), ..context! {
        retros => ser(&rows), flash => flash, flash_kind => kind,
    }};
    fl.shown(page(&s, StatusCode::OK, "retros.html", ctx))
}

pub(crate) async fn retro(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    fl: Flash,
    Path(id): Path<String>,
) -> Response {
    let view = match s.app.retro(jiff::Timestamp::now(), &id).await {
        Ok(v) => v,
        Err(e) => return error_page(&s, &session, e, "/retros"),
    };
    let (flash, kind) = fl.parts();
    let ctx = context! { ..base(&s, Some(&session), "retros", &format!("Retrospective {id}")), ..context! {
        view => ser(&view), flash => flash, flash_kind => kind,
    }};
    fl.shown(page(&s, StatusCode::OK, "retros.html", ctx))
}

/// Incidents, open ones first, filtered by environment, release, or open only.
pub(crate) async fn incidents(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| param(&q, k);
    let (env, release, open) = (get("env"), get("release"), get("open").is_some());
    let list = match s
        .app
        .incidents(sluice_app::IncidentQuery {
            open,
            env: env.clone(),
            release: release.clone(),
            limit: 500,
        })
        .await
    {
        Ok(l) => l,
        Err(e) => return error_page(&s, &session, e, "/incidents"),
    };
    let now = jiff::Timestamp::now();
    let mut rows: Vec<(bool, serde_json::Value)> = list
        .iter()
        .map(|i| {
            let mut v = serde_json::to_value(i).unwrap_or_default();
            v["age"] = sluice_app::views::age(now.duration_since(i.opened_at)).into();
            (i.is_open(), v)
        })
        .collect();
    // Open first; newest first within each (the store's order).
    rows.sort_by_key(|(open, _)| !*open);
    let rows: Vec<serde_json::Value> = rows.into_iter().map(|(_, v)| v).collect();
    let envs = env_names(&s);
    let ctx = context! { ..base(&s, Some(&session), "incidents", "Incidents"), ..context! {
        incidents => ser(&rows), envs => envs, env => env, release => release, open => open,
    }};
    page(&s, StatusCode::OK, "incidents.html", ctx)
}

/// What waits on the signed-in user.
pub(crate) async fn inbox(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    fl: Flash,
) -> Response {
    let inbox = match s.app.inbox(&session.user, jiff::Timestamp::now()).await {
        Ok(i) => i,
        Err(e) => return error_page(&s, &session, e, "/board"),
    };
    let (flash, kind) = fl.parts();
    let ctx = context! { ..base(&s, Some(&session), "inbox", "Inbox"), ..context! {
        inbox => ser(&inbox), flash => flash, flash_kind => kind,
    }};
    fl.shown(page(&s, StatusCode::OK, "inbox.html", ctx))
}

/// The metrics page: the period's numbers, each linking to what it counted;
/// the four keys week by week over the last 12 weeks; deadlines and patch
/// success by severity; where releases wait. Charts are SVG drawn here.
pub(crate) async fn insights(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    use super::charts::{Bar, bars, columns};
    use sluice_app::wire::MetricsQuery;
    let now = jiff::Timestamp::now();
    let ask = MetricsQuery {
        env: param(&q, "env"),
        since: param(&q, "since"),
        until: param(&q, "until"),
    };
    let m = match s.app.metrics(now, &ask).await {
        Ok(m) => m,
        Err(e) => return error_page(&s, &session, e, "/insights"),
    };
    let weeks = match s.app.metrics_by_week(now, &m.env, m.until, 12).await {
        Ok(w) => w,
        Err(e) => return error_page(&s, &session, e, "/insights"),
    };
    let env = m.env.clone();
    let hours = |secs: Option<i64>| secs.map_or(0.0, |x| x as f64 / 3600.0);
    let dur = |secs: Option<i64>| secs.map_or("-".to_string(), human);
    let pct = |r: Option<f64>| r.map_or("-".to_string(), |x| format!("{:.0}%", x * 100.0));
    let week_link = |w: &sluice_app::metrics::WeekKeys| {
        let to = w
            .since
            .checked_add(jiff::SignedDuration::from_hours(24 * 7))
            .unwrap_or(w.since);
        Some(format!("/insights?env={env}&since={}&until={to}", w.since))
    };
    let label = |w: &sluice_app::metrics::WeekKeys| w.since.strftime("%m-%d").to_string();
    let week_chart = |title: &str, f: &dyn Fn(&sluice_app::metrics::WeekKeys) -> (f64, String)| {
        let b: Vec<Bar> = weeks
            .iter()
            .map(|w| {
                let (value, shown) = f(w);
                Bar {
                    label: label(w),
                    value,
                    shown,
                    href: week_link(w),
                }
            })
            .collect();
        columns(title, &b)
    };
    let charts = vec![
        context! { title => "Deployments per week", svg => week_chart("Deployments per week", &|w| (w.deployments as f64, w.deployments.to_string())) },
        context! { title => "Lead time for changes, median (hours)", svg => week_chart("Lead time for changes, median", &|w| (hours(w.lead_time_median_seconds), dur(w.lead_time_median_seconds))) },
        context! { title => "Change failure rate", svg => week_chart("Change failure rate", &|w| (w.change_failure_rate.unwrap_or(0.0), pct(w.change_failure_rate))) },
        context! { title => "Failed deployment recovery time, median (hours)", svg => week_chart("Failed deployment recovery time, median", &|w| (hours(w.recovery_median_seconds), dur(w.recovery_median_seconds))) },
    ];
    let severity_bars: Vec<Bar> = m
        .deadline_compliance
        .iter()
        .filter(|d| d.total > 0)
        .map(|d| Bar {
            label: format!("deadline met, {}", d.severity),
            value: d.rate.unwrap_or(0.0),
            shown: format!("{} ({}/{})", pct(d.rate), d.met, d.total),
            href: Some(format!("#deadline-{}", d.severity)),
        })
        .chain(std::iter::once(Bar {
            label: "patch success".into(),
            value: m.patch_success_rate.rate.unwrap_or(0.0),
            shown: format!(
                "{} ({}/{})",
                pct(m.patch_success_rate.rate),
                m.patch_success_rate.numerator,
                m.patch_success_rate.denominator
            ),
            href: Some("#stayed".into()),
        }))
        .collect();
    let wait_bars: Vec<Bar> = {
        let mut r: Vec<&sluice_core::metrics::RequirementWait> = m
            .waiting
            .requirements
            .iter()
            .filter(|r| r.durations.total_seconds > 0)
            .collect();
        r.sort_by_key(|r| std::cmp::Reverse(r.durations.total_seconds));
        r.iter()
            .map(|r| Bar {
                label: format!("into {}: {} {}", r.env, r.kind, r.name),
                value: r.durations.total_seconds as f64,
                shown: format!(
                    "{} in all, median {}",
                    human(r.durations.total_seconds),
                    dur(r.durations.median_seconds)
                ),
                href: Some(format!("#gate-{}", r.env)),
            })
            .collect()
    };
    let who_bars: Vec<Bar> = m
        .waiting
        .waited_on
        .iter()
        .map(|w| Bar {
            label: w.who.clone(),
            value: w.durations.total_seconds as f64,
            shown: human(w.durations.total_seconds),
            href: None,
        })
        .collect();
    let envs = env_names(&s);
    let ctx = context! { ..base(&s, Some(&session), "insights", "Metrics"), ..context! {
        m => ser(&m), envs => envs,
        since_in => ask.since.unwrap_or_default(), until_in => ask.until.unwrap_or_default(),
        from => m.since.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        to => m.until.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        lead => dur(m.lead_time_for_changes.changes.median_seconds),
        lead_p90 => dur(m.lead_time_for_changes.changes.p90_seconds),
        recovery => dur(m.failed_deployment_recovery_time.durations.median_seconds),
        cfr => pct(m.change_failure_rate.rate),
        rework => pct(m.deployment_rework_rate.rate),
        success => pct(m.patch_success_rate.rate),
        charts => charts,
        severity_chart => bars("Deadlines met and patch success", &severity_bars),
        wait_chart => bars("Where releases wait", &wait_bars),
        who_chart => bars("Who releases waited on", &who_bars),
        has_waits => !wait_bars.is_empty(),
        per_week => format!("{:.2}", m.deployment_frequency.per_week),
        fix_within => m.deadline_compliance.iter().map(|d| d.fix_within_seconds.map(human).unwrap_or("-".into())).collect::<Vec<_>>(),
        gate_waits => m.waiting.gates.iter().map(|g| (dur(g.durations.median_seconds), dur(g.durations.p90_seconds))).collect::<Vec<_>>(),
    }};
    page(&s, StatusCode::OK, "metrics.html", ctx)
}
