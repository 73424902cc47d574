//! The pages: board, patch queue, release, calendar and its iCalendar feed,
//! audit log.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use sluice_app::{AppError, PatchQuery};

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
    }};
    if q.contains_key("fragment") {
        return page(&s, StatusCode::OK, "board_columns.html", ctx);
    }
    fl.shown(page(&s, StatusCode::OK, "board.html", ctx))
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
    let envs: Vec<String> = s
        .app
        .process()
        .environments
        .iter()
        .map(|e| e.name.clone())
        .collect();
    let (flash, kind) = fl.parts();
    let incidents = s
        .app
        .incidents(sluice_app::IncidentQuery {
            release: Some(v.clone()),
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let ctx = context! { ..base(&s, Some(&session), "release", &format!("Release {v}")), ..context! {
        r => ser(&r), envs => envs, envs_reached => !r.release.reached.is_empty(),
        flash => flash, flash_kind => kind, incidents => ser(&incidents),
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
    let envs: Vec<String> = s
        .app
        .process()
        .environments
        .iter()
        .map(|e| e.name.clone())
        .collect();
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
