//! `/api/v1`: the application's command table ([`sluice_app::wire::table`]),
//! served. Every command becomes one route with one generic handler, and one
//! entry of the OpenAPI document; the two connection operations (`whoami`,
//! `process`) are the server's own.

use axum::extract::{FromRequestParts, RawPathParams, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, on};
use axum::{Extension, Json};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use sluice_app::App;
use sluice_app::wire::{self, Command, ErrorCode, Input};

use crate::Shared;
use crate::error::ApiError;
use crate::extract::{Actor, Body, Query};
use crate::layers::Claimed;

/// One operation of the API.
pub struct Op {
    pub method: Method,
    /// Under `/api/v1`, with `{name}` path parameters.
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub body: Option<fn(&mut SchemaGenerator) -> Schema>,
    pub query: Option<fn(&mut SchemaGenerator) -> Schema>,
    /// The JSON Schema of the answer, derived from the type the handler returns.
    pub response: fn(&mut SchemaGenerator) -> Schema,
    /// 201 for operations that create.
    pub created: bool,
    pub route: MethodRouter<Shared>,
}

/// The route and document entry of a command.
fn command<C: Command>() -> Op {
    let (method, filter) = match C::METHOD {
        wire::Method::Get => (Method::GET, axum::routing::MethodFilter::GET),
        wire::Method::Post => (Method::POST, axum::routing::MethodFilter::POST),
        wire::Method::Put => (Method::PUT, axum::routing::MethodFilter::PUT),
    };
    let route = match C::INPUT {
        Input::Body => on(filter, with_body::<C>),
        Input::Query => on(filter, with_query::<C>),
        Input::Nothing => on(filter, with_nothing::<C>),
    };
    Op {
        method,
        path: C::PATH,
        id: C::ID,
        summary: C::SUMMARY,
        body: (C::INPUT == Input::Body).then_some(|g: &mut SchemaGenerator| g.subschema_for::<C>()),
        query: (C::INPUT == Input::Query)
            .then_some(|g: &mut SchemaGenerator| g.root_schema_for::<C>()),
        response: |g| g.subschema_for::<C::Output>(),
        created: C::CREATED,
        route,
    }
}

/// The path parameters of the matched route, decoded, in order.
pub struct PathArgs(pub Vec<String>);

impl<S: Send + Sync> FromRequestParts<S> for PathArgs {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PathArgs, ApiError> {
        use axum::extract::rejection::RawPathParamsRejection as R;
        match RawPathParams::from_request_parts(parts, state).await {
            Ok(p) => Ok(PathArgs(p.iter().map(|(_, v)| v.to_string()).collect())),
            Err(R::MissingPathParams(_)) => Ok(PathArgs(Vec::new())),
            Err(e) => Err(ApiError::malformed(e.body_text())),
        }
    }
}

async fn answer<C: Command>(
    s: Shared,
    claimed: Option<Extension<Claimed>>,
    actor: &str,
    args: &[String],
    req: C,
) -> Response {
    // With an idempotency key, the application that records its claim.
    let app: &App = claimed.as_ref().map_or(&s.app, |Extension(Claimed(a))| a);
    match req.run(app, actor, jiff::Timestamp::now(), args).await {
        Ok(out) => {
            let status = if C::CREATED {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(out)).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn with_body<C: Command>(
    State(s): State<Shared>,
    Actor(a): Actor,
    PathArgs(p): PathArgs,
    claimed: Option<Extension<Claimed>>,
    Body(b): Body<C>,
) -> Response {
    answer(s, claimed, &a, &p, b).await
}

async fn with_query<C: Command>(
    State(s): State<Shared>,
    Actor(a): Actor,
    PathArgs(p): PathArgs,
    claimed: Option<Extension<Claimed>>,
    Query(q): Query<C>,
) -> Response {
    answer(s, claimed, &a, &p, q).await
}

/// A command that takes nothing beyond its path: any body is ignored.
async fn with_nothing<C: Command>(
    State(s): State<Shared>,
    Actor(a): Actor,
    PathArgs(p): PathArgs,
    claimed: Option<Extension<Claimed>>,
) -> Response {
    match serde_json::from_value::<C>(serde_json::json!({})) {
        Ok(req) => answer(s, claimed, &a, &p, req).await,
        Err(e) => ApiError::new(ErrorCode::Internal, e.to_string()).into_response(),
    }
}

/// An operation of the server's own, answering with a `T`.
fn own<T: JsonSchema>(
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    route: MethodRouter<Shared>,
) -> Op {
    Op {
        method: Method::GET,
        path,
        id,
        summary,
        body: None,
        query: None,
        response: |g| g.subschema_for::<T>(),
        created: false,
        route,
    }
}

/// Every operation of the API.
pub fn ops() -> Vec<Op> {
    use wire::*;
    vec![
        own::<WhoAmI>(
            "/whoami",
            "whoami",
            "The user the token acts for, and their roles",
            get(whoami),
        ),
        own::<ProcessFile>(
            "/process",
            "getProcess",
            "The process file the server enforces",
            get(process),
        ),
        command::<Status>(),
        command::<ReportPatch>(),
        command::<PatchFilter>(),
        command::<ShowPatch>(),
        command::<TriagePatch>(),
        command::<StartPatch>(),
        command::<ReviewPatch>(),
        command::<ReadyPatch>(),
        command::<RejectPatch>(),
        command::<DeferPatch>(),
        command::<PortPatch>(),
        command::<PlanRelease>(),
        command::<CutRelease>(),
        command::<ListReleases>(),
        command::<ImportRelease>(),
        command::<ShowRelease>(),
        command::<AmendRelease>(),
        command::<NotesQuery>(),
        command::<Notes>(),
        command::<ReportTest>(),
        command::<Approve>(),
        command::<ShowChecklist>(),
        command::<TickItem>(),
        command::<Promote>(),
        command::<FollowUp>(),
        command::<Rollback>(),
        command::<OpenIncident>(),
        command::<IncidentFilter>(),
        command::<ShowIncident>(),
        command::<ResolveIncident>(),
        command::<AuditQuery>(),
        command::<VerifyAudit>(),
        command::<AuditAnchors>(),
        command::<AnchorAudit>(),
        command::<NotificationQuery>(),
        command::<NotificationCounts>(),
        command::<Flush>(),
        command::<RetryNotification>(),
        command::<Tick>(),
        command::<RetroFilter>(),
        command::<ShowRetro>(),
        command::<RetroText>(),
        command::<CompleteRetro>(),
        command::<ShowInbox>(),
    ]
}

type Res<T> = Result<Json<T>, ApiError>;

async fn whoami(State(s): State<Shared>, Actor(a): Actor) -> Res<wire::WhoAmI> {
    Ok(Json(s.app.whoami(&a)))
}

async fn process(State(s): State<Shared>) -> Res<wire::ProcessFile> {
    Ok(Json(s.process_file.clone()))
}
