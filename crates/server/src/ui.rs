//! The web UI: server-rendered pages from templates compiled into the binary
//! (board, patch queue, release page, calendar, audit), a sign-in that turns
//! an API token into a session cookie, and CSRF-protected forms whose actions
//! call the same application layer as the CLI and the API. Pages read without
//! JavaScript; one small script refreshes the board.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Deserialize;
use sluice_app::{AppError, PatchQuery};
use sluice_core::audit::Verifier;

use crate::Shared;

const COOKIE: &str = "sluice_session";
use sluice_app::{SESSION_HOURS, Session};

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
fn ser<T: serde::Serialize>(v: T) -> Value {
    Value::from(Serde(v))
}

impl Ui {
    pub fn new() -> Ui {
        let mut env = Environment::new();
        for (name, src) in [
            ("base.html", include_str!("../templates/base.html")),
            ("macros.html", include_str!("../templates/macros.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("board.html", include_str!("../templates/board.html")),
            (
                "board_columns.html",
                include_str!("../templates/board_columns.html"),
            ),
            ("patches.html", include_str!("../templates/patches.html")),
            ("release.html", include_str!("../templates/release.html")),
            ("calendar.html", include_str!("../templates/calendar.html")),
            ("audit.html", include_str!("../templates/audit.html")),
            ("error.html", include_str!("../templates/error.html")),
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
        .route("/", get(|| async { Redirect::to("/board") }))
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
        .route(
            "/static/sluice.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=3600"),
                    ],
                    include_str!("../static/sluice.css"),
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
                    include_str!("../static/live.js"),
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

fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Everything but unreserved characters and `/`, percent-encoded (for a path
/// or a query value).
const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ENCODED).to_string()
}

/// Only a path of this site may be redirected to after sign-in: one leading
/// `/` followed by anything but `/` or `\`, and no control character,
/// space or backslash anywhere (browsers drop tabs and newlines and read `\`
/// as `/`, so `/<TAB>/evil.example` would leave the site). Else the board.
pub fn safe_next(next: &str) -> &str {
    let mut chars = next.chars();
    let local = chars.next() == Some('/')
        && chars.next().is_none_or(|c| c != '/')
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    if local { next } else { "/board" }
}

fn base(s: &Shared, session: Option<&Session>, page: &str, title: &str) -> Value {
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

fn page(s: &Shared, status: StatusCode, name: &str, ctx: Value) -> Response {
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

fn flash(q: &HashMap<String, String>) -> (Option<String>, &'static str) {
    if let Some(m) = q.get("ok") {
        (Some(m.clone()), "ok")
    } else if let Some(m) = q.get("err") {
        (Some(m.clone()), "bad")
    } else {
        (None, "")
    }
}

fn error_page(s: &Shared, session: &Session, e: AppError, back: &str) -> Response {
    let (status, heading) = match &e {
        AppError::Refused { .. } => (StatusCode::CONFLICT, "Refused"),
        AppError::Conflict(_) => (StatusCode::CONFLICT, "Changed meanwhile"),
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

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    #[serde(default)]
    next: String,
}

async fn login_page(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (flash, kind) = flash(&q);
    let next = q.get("next").cloned().unwrap_or_else(|| "/board".into());
    let ctx = context! { ..base(&s, None, "login", "Sign in"), ..context! {
        next => safe_next(&next), flash => flash, flash_kind => kind,
    }};
    page(&s, StatusCode::OK, "login.html", ctx)
}

/// Whether a form post came from another site. Browsers say so in
/// `Sec-Fetch-Site` (only `same-origin`, or `none` for a typed address, may
/// post); older ones send `Origin`, which must name the host the request was
/// sent to. A client that sends neither (curl, scripts) is not a browser
/// carrying someone else's cookies.
fn cross_site(headers: &HeaderMap) -> bool {
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

fn cross_site_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html("<!doctype html><title>Refused</title><p>This form was sent from another site. Open Sluice's own sign-in page and sign in there.</p>".to_string()),
    )
        .into_response()
}

async fn login(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
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
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    );
    let mut r = Redirect::to(safe_next(&f.next)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn csrf_ok(session: &Session, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    // `ct_eq` of slices of different lengths is false, at once: the length of
    // a CSRF token is no secret.
    !session.csrf.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(given.as_bytes()))
}

fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html("<!doctype html><title>Refused</title><p>The form is stale or did not come from this site; reload the page and try again.</p>".to_string()),
    )
        .into_response()
}

async fn logout(
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
        HeaderValue::from_static("sluice_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

async fn board(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = jiff::Timestamp::now();
    let b = match s.app.board(now, 10).await {
        Ok(b) => b,
        Err(e) => return error_page(&s, &session, e, "/board"),
    };
    let (flash, kind) = flash(&q);
    let ctx = context! { ..base(&s, Some(&session), "board", "Board"), ..context! {
        board => ser(&b), flash => flash, flash_kind => kind,
    }};
    if q.contains_key("fragment") {
        return page(&s, StatusCode::OK, "board_columns.html", ctx);
    }
    page(&s, StatusCode::OK, "board.html", ctx)
}

/// Time left or overdue, to the minute, in the process file's notation.
fn human(d: jiff::SignedDuration) -> String {
    let minutes = d.as_secs().unsigned_abs() / 60;
    sluice_core::process::format_duration(jiff::SignedDuration::from_mins(minutes as i64))
}

async fn patches(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = jiff::Timestamp::now();
    let get = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
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
            let left = p.deadline.map(|d| human(d.duration_since(now))).unwrap_or_default();
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

async fn release(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Path(v): Path<String>,
    Query(q): Query<HashMap<String, String>>,
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
    let (flash, kind) = flash(&q);
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
    page(&s, StatusCode::OK, "release.html", ctx)
}

fn after_action(s: &Shared, session: &Session, v: &str, res: Result<String, AppError>) -> Response {
    let back = format!("/releases/{v}");
    match res {
        Ok(msg) => Redirect::to(&format!("{back}?ok={}", urlencode(&msg))).into_response(),
        Err(e) => error_page(s, session, e, &back),
    }
}

#[derive(Deserialize)]
struct ApproveForm {
    #[serde(default)]
    csrf: String,
    env: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    emergency: Option<String>,
}

async fn approve(
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
    after_action(&s, &session, &v, res)
}

#[derive(Deserialize)]
struct TickForm {
    #[serde(default)]
    csrf: String,
    item: String,
}

async fn tick(
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
    after_action(&s, &session, &v, res)
}

#[derive(Deserialize)]
struct TestForm {
    #[serde(default)]
    csrf: String,
    env: String,
    suite: String,
    result: String,
}

async fn test_result(
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
    after_action(&s, &session, &v, res)
}

#[derive(Deserialize)]
struct PromoteForm {
    #[serde(default)]
    csrf: String,
    env: String,
}

async fn promote(
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
    after_action(&s, &session, &v, res)
}

#[derive(Deserialize)]
struct RollbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
}

async fn rollback(
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
        Ok(o) => Redirect::to(&format!(
            "/board?ok={}",
            urlencode(&format!(
                "{env} rolled back from {} to {}",
                o.release.version, o.to
            ))
        ))
        .into_response(),
        Err(e) => error_page(&s, &session, e, "/board"),
    }
}

async fn calendar(State(s): State<Shared>, SignedIn(session): SignedIn) -> Response {
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
async fn calendar_ics(State(s): State<Shared>) -> Response {
    let body = sluice_core::calendar::ics(s.app.process(), jiff::Timestamp::now(), 400);
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

async fn audit(
    State(s): State<Shared>,
    SignedIn(session): SignedIn,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
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
