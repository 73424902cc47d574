//! Signing in and out: the session cookie, the CSRF token of every form,
//! the cross-site check of form posts, and where a sign-in may lead.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sluice_app::{SESSION_HOURS, Session};

use super::*;
use crate::Shared;

/// A page that needs a signed-in user; otherwise the answer is a redirect to sign in.
pub struct SignedIn(pub Session);

impl FromRequestParts<Shared> for SignedIn {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<SignedIn, Response> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/board".into());
        let to_login =
            || Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response();
        let Some(id) = cookie(&parts.headers, COOKIE) else {
            return Err(to_login());
        };
        // Unexpired, and the token behind it still live.
        match s.app.session(jiff::Timestamp::now(), &id).await {
            Ok(Some(session)) => Ok(SignedIn(session)),
            Ok(None) => Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "cannot read a session");
                Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sessions cannot be read now; try again",
                )
                    .into_response())
            }
        }
    }
}

/// The value of the cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Whether the browser reached the server over HTTPS (a proxy in front says so).
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session cookie: sent to this site only, never to scripts, and over
/// HTTPS only when the request came that way; `None` ends the session.
fn session_cookie(id: Option<&str>, secure: bool) -> HeaderValue {
    let c = cookie::Cookie::build((COOKIE, id.unwrap_or_default().to_string()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(match id {
            Some(_) => SESSION_HOURS * 3600,
            None => 0,
        }))
        .build();
    HeaderValue::from_str(&c.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("sluice_session=; Path=/; Max-Age=0"))
}

/// Only a path of this site may be redirected to after sign-in: one leading
/// `/` followed by anything but `/` or `\`, and no control character,
/// space or backslash anywhere (browsers drop tabs and newlines and read `\`
/// as `/`, so `/<TAB>/evil.example` would leave the site). Else the inbox.
pub fn safe_next(next: &str) -> &str {
    let mut chars = next.chars();
    let local = chars.next() == Some('/')
        && chars.next().is_none_or(|c| c != '/')
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    if local { next } else { "/inbox" }
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

pub(crate) async fn login_page(
    State(s): State<Shared>,
    fl: Flash,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (flash, kind) = fl.parts();
    // After sign-in: what waits on the user, unless they came for a page.
    let next = q.get("next").cloned().unwrap_or_else(|| "/inbox".into());
    let ctx = context! { ..base(&s, None, "login", "Sign in"), ..context! {
        next => safe_next(&next), flash => flash, flash_kind => kind,
    }};
    fl.shown(page(&s, StatusCode::OK, "login.html", ctx))
}

/// Whether a form post came from another site. Browsers say so in
/// `Sec-Fetch-Site` (only `same-origin`, or `none` for a typed address, may
/// post); older ones send `Origin`, which must name the host the request was
/// sent to. A client that sends neither (curl, scripts) is not a browser
/// carrying someone else's cookies.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (get("origin"), get("host")) {
        (Some(origin), Some(host)) => {
            let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or("");
            !authority.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
        _ => false,
    }
}

pub(crate) fn cross_site_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html("<!doctype html><title>Refused</title><p>This form was sent from another site. Open Sluice's own sign-in page and sign in there.</p>".to_string()),
    )
        .into_response()
}

pub(crate) async fn login(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    // Login CSRF: a form on another site must not sign this browser in as
    // someone else.
    if cross_site(&headers) {
        return cross_site_refused();
    }
    let now = jiff::Timestamp::now();
    let id = match s.app.open_session(now, &f.token).await {
        Ok((id, _)) => id,
        Err(e @ sluice_app::AuthError::Store(_)) => {
            tracing::error!(error = %e, "cannot open a session");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "sessions cannot be made now; try again",
            )
                .into_response();
        }
        Err(e) => {
            let ctx = context! { ..base(&s, None, "login", "Sign in"), ..context! {
                next => safe_next(&f.next), flash => e.to_string(), flash_kind => "bad",
            }};
            return page(&s, StatusCode::UNAUTHORIZED, "login.html", ctx);
        }
    };
    let secure = over_https(&headers);
    let mut r = Redirect::to(safe_next(&f.next)).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(Some(&id), secure));
    r
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

pub(crate) fn csrf_ok(session: &Session, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    // `ct_eq` of slices of different lengths is false, at once: the length of
    // a CSRF token is no secret.
    !session.csrf.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(given.as_bytes()))
}

pub(crate) fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html("<!doctype html><title>Refused</title><p>The form is stale or did not come from this site; reload the page and try again.</p>".to_string()),
    )
        .into_response()
}

pub(crate) async fn logout(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&session, &f.csrf) {
        return csrf_refused();
    }
    if let Some(id) = cookie(&headers, COOKIE)
        && let Err(e) = s.app.close_session(&id).await
    {
        tracing::error!(error = %e, "cannot end a session");
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(None, over_https(&headers)),
    );
    r
}
