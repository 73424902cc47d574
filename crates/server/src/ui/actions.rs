//! What the forms of the release page and the board do: approve, tick,
//! record a test, promote, roll back. Each calls the application layer, then
//! returns to the page with what happened.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use sluice_app::{AppError, Session};

use super::*;
use crate::Shared;

pub(crate) fn after_action(
    s: &Shared,
    session: &Session,
    v: &str,
    back: &str,
    res: Result<String, AppError>,
) -> Response {
    // Only pages of our own: never a redirect to anywhere a form names.
    let back = match back {
        "/board" | "/inbox" => back.to_string(),
        _ => format!("/releases/{v}"),
    };
    match res {
        Ok(msg) => flash_redirect(&back, "ok", &msg),
        Err(e) => error_page(s, session, e, &back),
    }
}

#[derive(Deserialize)]
pub(crate) struct ApproveForm {
    #[serde(default)]
    csrf: String,
    /// The page to return to: the board or the inbox, else the release page.
    #[serde(default)]
    back: String,
    env: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    emergency: Option<String>,
}

pub(crate) async fn approve(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Path(v): Path<String>,
    Form(f): Form<ApproveForm>,
) -> Response {
    if !csrf_ok(&session, &f.csrf) {
        return csrf_refused();
    }
    let emergency = f.emergency.is_some();
    let role = Some(f.role.trim()).filter(|r| !r.is_empty());
    let now = jiff::Timestamp::now();
    let res = async {
        let done = s
            .app
            .approve(&session.user, now, &v, &f.env, role, emergency, None)
            .await?;
        Ok(format!("Approved {v} for {} as {}", f.env, done.role))
    }
    .await;
    after_action(&s, &session, &v, &f.back, res)
}

#[derive(Deserialize)]
pub(crate) struct TickForm {
    #[serde(default)]
    csrf: String,
    /// The page to return to: the board or the inbox, else the release page.
    #[serde(default)]
    back: String,
    item: String,
}

pub(crate) async fn tick(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Path(v): Path<String>,
    Form(f): Form<TickForm>,
) -> Response {
    if !csrf_ok(&session, &f.csrf) {
        return csrf_refused();
    }
    let res = s
        .app
        .tick(&session.user, jiff::Timestamp::now(), &v, &f.item)
        .await
        .map(|_| format!("Ticked {}", f.item));
    after_action(&s, &session, &v, &f.back, res)
}

#[derive(Deserialize)]
pub(crate) struct TestForm {
    #[serde(default)]
    csrf: String,
    /// The page to return to: the board or the inbox, else the release page.
    #[serde(default)]
    back: String,
    env: String,
    suite: String,
    result: String,
}

pub(crate) async fn test_result(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Path(v): Path<String>,
    Form(f): Form<TestForm>,
) -> Response {
    if !csrf_ok(&session, &f.csrf) {
        return csrf_refused();
    }
    let passed = f.result == "pass";
    let res = s
        .app
        .report_test(
            &session.user,
            jiff::Timestamp::now(),
            &v,
            &f.env,
            f.suite.trim(),
            passed,
            None,
        )
        .await
        .map(|_| {
            format!(
                "Recorded {} {} in {}",
                f.suite.trim(),
                if passed { "passed" } else { "failed" },
                f.env
            )
        });
    after_action(&s, &session, &v, &f.back, res)
}

#[derive(Deserialize)]
pub(crate) struct PromoteForm {
    #[serde(default)]
    csrf: String,
    /// The page to return to: the board or the inbox, else the release page.
    #[serde(default)]
    back: String,
    env: String,
}

pub(crate) async fn promote(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Path(v): Path<String>,
    Form(f): Form<PromoteForm>,
) -> Response {
    if !csrf_ok(&session, &f.csrf) {
        return csrf_refused();
    }
    let res = s
        .app
        .promote(&session.user, jiff::Timestamp::now(), &v, &f.env, None)
        .await
        .map(|o| format!("{} entered {}", o.release.version, f.env));
    after_action(&s, &session, &v, &f.back, res)
}

#[derive(Deserialize)]
pub(crate) struct RollbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
}

pub(crate) async fn rollback(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Path(env): Path<String>,
    Form(f): Form<RollbackForm>,
) -> Response {
    if !csrf_ok(&session, &f.csrf) {
        return csrf_refused();
    }
    let to = Some(f.to.trim()).filter(|t| !t.is_empty());
    match s
        .app
        .rollback(&session.user, jiff::Timestamp::now(), &env, to)
        .await
    {
        Ok(o) => flash_redirect(
            "/board",
            "ok",
            &format!("{env} rolled back from {} to {}", o.release.version, o.to),
        ),
        Err(e) => error_page(&s, &session, e, "/board"),
    }
}

#[derive(Deserialize)]
pub(crate) struct RetroForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// Back to the retrospective's page, with what happened or why not.
fn after_retro(s: &Shared, session: &Session, id: &str, res: Result<String, AppError>) -> Response {
    match res {
        Ok(msg) => flash_redirect(&format!("/retros/{id}"), "ok", &msg),
        Err(e) => error_page(s, session, e, &format!("/retros/{id}")),
    }
}

pub(crate) async fn edit_retro(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<RetroForm>,
) -> Response {
    if !csrf_ok(&session, &f.csrf) {
        return csrf_refused();
    }
    // Browsers send textarea lines with CRLF; the document keeps LF.
    let text = f.text.replace("\r\n", "\n");
    let res = s
        .app
        .edit_retro(&session.user, jiff::Timestamp::now(), &id, &text)
        .await
        .map(|_| "Saved".to_string());
    after_retro(&s, &session, &id, res)
}

pub(crate) async fn complete_retro(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&session, &f.csrf) {
        return csrf_refused();
    }
    let res = s
        .app
        .complete_retro(&session.user, jiff::Timestamp::now(), &id)
        .await
        .map(|_| "Completed".to_string());
    after_retro(&s, &session, &id, res)
}
