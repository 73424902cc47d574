//! The web UI: server-rendered pages from templates compiled into the binary
//! (board, patch queue, release page, calendar, audit), a sign-in that turns
//! an API token into a session cookie, and CSRF-protected forms whose actions
//! call the same application layer as the CLI and the API. Pages read without
//! JavaScript; one small script refreshes the board.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use sluice_app::AppError;
use sluice_core::audit::Verifier;

use crate::Shared;

mod actions;
mod charts;
mod pages;
mod session;

use actions::*;
use pages::*;
use session::*;
pub use session::{SignedIn, safe_next};

pub(crate) const COOKIE: &str = "sluice_session";
use sluice_app::Session;

/// Templates and the audit-chain check the UI keeps between requests. The
/// sessions live in the database (`App::open_session`), so every server on
/// it knows them.
pub struct Ui {
    env: Environment<'static>,
    chain: tokio::sync::Mutex<Option<(Verifier, Result<u64, String>)>>,
}

impl Default for Ui {
    fn default() -> Self {
        Ui::new()
    }
}

/// Any serializable value, for a template.
pub(crate) fn ser<T: serde::Serialize>(v: T) -> Value {
    Value::from(Serde(v))
}

impl Ui {
    pub fn new() -> Ui {
        let mut env = Environment::new();
        for (name, src) in [
            ("base.html", include_str!("../../templates/base.html")),
            ("macros.html", include_str!("../../templates/macros.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("board.html", include_str!("../../templates/board.html")),
            (
                "board_columns.html",
                include_str!("../../templates/board_columns.html"),
            ),
            ("patches.html", include_str!("../../templates/patches.html")),
            ("release.html", include_str!("../../templates/release.html")),
            (
                "calendar.html",
                include_str!("../../templates/calendar.html"),
            ),
            ("audit.html", include_str!("../../templates/audit.html")),
            ("retros.html", include_str!("../../templates/retros.html")),
            ("inbox.html", include_str!("../../templates/inbox.html")),
            (
                "incidents.html",
                include_str!("../../templates/incidents.html"),
            ),
            ("error.html", include_str!("../../templates/error.html")),
            ("metrics.html", include_str!("../../templates/metrics.html")),
        ] {
            env.add_template(name, src)
                .unwrap_or_else(|e| panic!("embedded template {name}: {e}"));
        }
        env.add_filter("when", |v: Value| -> String {
            v.as_str()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        });
        env.add_filter("when_ms", |v: i64| -> String {
            jiff::Timestamp::from_millisecond(v)
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default()
        });
        // Links from people, CI and alert sources become `href`s only when they
        // are http(s) addresses (the rule they are accepted by, applied again for
        // anything stored before it).
        env.add_filter("web_link", |v: Option<String>| -> Option<String> {
            v.filter(|u| sluice_core::link::renderable(u))
        });
        Ui {
            env,
            chain: tokio::sync::Mutex::new(None),
        }
    }

    /// Verifies the whole audit chain once, so the first view of the audit
    /// page only checks what was added since. Run in the background at start.
    pub async fn warm_chain(&self, app: &sluice_app::App) {
        let mut cached = self.chain.lock().await;
        if cached.is_some() {
            return;
        }
        match app.audit_verify_from(Verifier::default()).await {
            Ok((v, res)) => {
                if let Err(b) = &res {
                    tracing::error!(seq = b.seq, problem = %b.problem, "the audit chain is broken");
                }
                *cached = Some((
                    v,
                    res.map_err(|b| format!("event {}: {}", b.seq, b.problem)),
                ));
            }
            Err(e) => tracing::warn!(error = %e, "cannot verify the audit chain at start"),
        }
    }

    fn render(&self, name: &str, ctx: Value) -> Result<String, String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| format!("{e:#}"))
    }
}

/// The routes of the UI.
pub fn routes() -> axum::Router<Shared> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/board", get(board))
        .route("/patches", get(patches))
        .route("/releases/{version}", get(release))
        .route("/releases/{version}/approve", post(approve))
        .route("/releases/{version}/tick", post(tick))
        .route("/releases/{version}/test", post(test_result))
        .route("/releases/{version}/promote", post(promote))
        .route("/environments/{env}/rollback", post(rollback))
        .route("/calendar", get(calendar))
        .route("/calendar.ics", get(calendar_ics))
        .route("/audit", get(audit))
        .route("/incidents", get(incidents))
        .route("/inbox", get(inbox))
        .route("/insights", get(insights))
        .route("/retros", get(retros))
        .route("/retros/{id}", get(retro))
        .route("/retros/{id}/edit", post(edit_retro))
        .route("/retros/{id}/complete", post(complete_retro))
        .route(
            "/static/sluice.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=3600"),
                    ],
                    include_str!("../../static/sluice.css"),
                )
            }),
        )
        .route(
            "/static/live.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=3600"),
                    ],
                    include_str!("../../static/live.js"),
                )
            }),
        )
}

/// Any page that does not exist: a 404 that says so and where to go.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    let path = uri
        .path()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Not found · Sluice</title>\
             <link rel=\"stylesheet\" href=\"/static/sluice.css\"><main id=\"main\"><h1>Not found</h1>\
             <p>There is no page at <code>{path}</code>.</p>\
             <p>Go to <a href=\"/board\">the board</a>, <a href=\"/patches\">the patches</a> or \
             <a href=\"/audit\">the audit log</a>. The API is under <code>/api/v1</code> \
             (<a href=\"/api/v1/openapi.json\">its description</a>).</p></main></html>"
        )),
    )
        .into_response()
}

/// Everything but unreserved characters and `/`, percent-encoded (for a path
/// or a query value).
pub(crate) const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

pub(crate) fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ENCODED).to_string()
}

pub(crate) fn base(s: &Shared, session: Option<&Session>, page: &str, title: &str) -> Value {
    let (user, roles, csrf) = match session {
        Some(x) => (
            Some(x.user.clone()),
            s.app
                .process()
                .roles_of(&x.user)
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>(),
            x.csrf.clone(),
        ),
        None => (None, vec![], String::new()),
    };
    context! {
        project => s.app.process().project.name.clone(),
        page => page,
        title => title,
        user => user,
        roles => roles,
        csrf => csrf,
    }
}

pub(crate) fn page(s: &Shared, status: StatusCode, name: &str, ctx: Value) -> Response {
    match s.ui.render(name, ctx) {
        Ok(html) => (
            status,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Html(html),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "render failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// A query parameter of a page, trimmed; empty counts as absent.
pub(crate) fn param(q: &std::collections::HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The cookie that carries the outcome of an action to the page it returns to.
const FLASH: &str = "sluice_flash";

/// The banner of a page: only a message the server itself set, in a cookie on
/// the redirect after an action, never text a link carries. Shown once.
pub(crate) struct Flash(Option<(String, &'static str)>);

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Flash, Self::Rejection> {
        let shown = cookie(&parts.headers, FLASH).and_then(|v| {
            let (kind, text) = v.split_once(':')?;
            let kind = match kind {
                "ok" => "ok",
                "bad" => "bad",
                _ => return None,
            };
            let text = percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .ok()?
                .into_owned();
            Some((text, kind))
        });
        Ok(Flash(shown))
    }
}

impl Flash {
    /// The message and its kind (`ok` or `bad`), for the template.
    pub(crate) fn parts(&self) -> (Option<String>, &'static str) {
        match &self.0 {
            Some((m, k)) => (Some(m.clone()), k),
            None => (None, ""),
        }
    }

    /// The page that showed the banner: the cookie is spent.
    pub(crate) fn shown(&self, mut r: Response) -> Response {
        if self.0.is_some() {
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static(
                    "sluice_flash=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
                ),
            );
        }
        r
    }
}

/// A redirect to `to` whose page shows `msg` (`kind`: `ok` or `bad`) once.
pub(crate) fn flash_redirect(to: &str, kind: &str, msg: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    let value = format!(
        "{FLASH}={kind}:{}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60",
        percent_encoding::utf8_percent_encode(msg, percent_encoding::NON_ALPHANUMERIC)
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub(crate) fn error_page(s: &Shared, session: &Session, e: AppError, back: &str) -> Response {
    let (status, heading) = match &e {
        AppError::Refused { .. } => (StatusCode::CONFLICT, "Refused"),
        AppError::Conflict(_) => (StatusCode::CONFLICT, "Changed meanwhile"),
        AppError::Failed(_) => (StatusCode::CONFLICT, "Failed"),
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Not accepted"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "Failed"),
    };
    let (message, unmet) = match e {
        AppError::Refused { summary, unmet } => (summary, unmet),
        e => (e.to_string(), vec![]),
    };
    let ctx = context! { ..base(s, Some(session), "", heading), ..context! {
        heading => heading, message => message, unmet => ser(&unmet), back => back,
    }};
    page(s, status, "error.html", ctx)
}
