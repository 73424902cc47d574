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
        // A refusal, a conflict, a failure or a bad value shows on the page
        // it came from, with the reasons and the way on.
        Err(
            e @ (AppError::Refused { .. }
            | AppError::Conflict(_)
            | AppError::Failed(_)
            | AppError::Invalid(_)),
        ) => flash_redirect(&back, "bad", &refusal_text(e)),
        Err(e) => error_page(s, session, e, &back),
    }
}

/// A refusal as the banner shows it: what was refused, then each unmet
/// requirement with who can meet it. At most 1,200 characters (a cookie
/// carries it).
fn refusal_text(e: AppError) -> String {
    let mut out = match e {
        AppError::Refused { summary, unmet } => {
            let mut t = format!("Refused: {}", summary.replace('`', ""));
            for u in unmet {
                t.push_str(&format!("\n• {}", u.requirement.replace('`', "")));
                if !u.responsible.is_empty() {
                    t.push_str(&format!(" ({})", u.responsible.join(", ")));
                }
            }
            t
        }
        e => e.to_string(),
    };
    if let Some((at, _)) = out.char_indices().nth(1200) {
        out.truncate(at);
        out.push('…');
    }
    out
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
    #[serde(default)]
    env: String,
    #[serde(default)]
    suite: String,
    /// `ENV/SUITE`, as the release page's suite list sends it.
    #[serde(default)]
    run: String,
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
    let (env, suite) = match f.run.split_once('/') {
        Some((e, s)) => (e.to_string(), s.to_string()),
        None => (f.env.clone(), f.suite.clone()),
    };
    let res = s
        .app
        .report_test(
            &session.user,
            jiff::Timestamp::now(),
            &v,
            &env,
            suite.trim(),
            passed,
            None,
        )
        .await
        .map(|_| {
            format!(
                "Recorded {} {} in {}",
                suite.trim(),
                if passed { "passed" } else { "failed" },
                env
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
