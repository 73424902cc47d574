//! `/api/v1`: one table of operations. Each row is a route, its handler and
//! what the OpenAPI document says about it; the router and the document are
//! both built from this table, so neither can drift from the other. Every
//! handler is a thin call into the application layer.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, get, post, put};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use sluice_app::notes::NotesFormat;
use sluice_app::wire;
use sluice_app::{CutOptions, PatchQuery};
use sluice_core::decide::{ReportInput, TriageInput};
use sluice_core::model::{Source, SourceKind};

use crate::Shared;
use crate::error::ApiError;
use crate::extract::{Actor, Body, Query};

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

/// An operation answering with a `T`.
fn op<T: JsonSchema>(
    method: Method,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    route: MethodRouter<Shared>,
) -> Op {
    Op {
        method,
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

impl Op {
    fn body<T: JsonSchema>(mut self) -> Op {
        self.body = Some(|g| g.subschema_for::<T>());
        self
    }
    fn query<T: JsonSchema>(mut self) -> Op {
        self.query = Some(|g| g.root_schema_for::<T>());
        self
    }
    fn created(mut self) -> Op {
        self.created = true;
        self
    }
}

/// Every operation of the API.
pub fn ops() -> Vec<Op> {
    use Method as M;
    vec![
        op::<wire::WhoAmI>(
            M::GET,
            "/whoami",
            "whoami",
            "The user the token acts for, and their roles",
            get(whoami),
        ),
        op::<wire::ProcessFile>(
            M::GET,
            "/process",
            "getProcess",
            "The process file the server enforces",
            get(process),
        ),
        op::<Vec<sluice_app::EnvStatus>>(
            M::GET,
            "/status",
            "status",
            "What every environment holds and what waits to enter it",
            get(status),
        ),
        op::<sluice_core::model::Patch>(
            M::POST,
            "/patches",
            "reportPatch",
            "Report a patch",
            post(report_patch),
        )
        .body::<wire::ReportPatch>()
        .created(),
        op::<sluice_app::PatchList>(
            M::GET,
            "/patches",
            "listPatches",
            "Open patches, overdue first",
            get(list_patches),
        )
        .query::<wire::PatchFilter>(),
        op::<sluice_app::PatchView>(
            M::GET,
            "/patches/{key}",
            "showPatch",
            "One patch and its history",
            get(show_patch),
        ),
        op::<sluice_core::model::Patch>(
            M::POST,
            "/patches/{key}/triage",
            "triagePatch",
            "Set severity, kind, priority, owner and lines",
            post(triage_patch),
        )
        .body::<wire::TriagePatch>(),
        op::<sluice_core::model::Patch>(
            M::POST,
            "/patches/{key}/start",
            "startPatch",
            "Begin work: take ownership and create the branch",
            post(start_patch),
        ),
        op::<sluice_core::model::Patch>(
            M::POST,
            "/patches/{key}/review",
            "reviewPatch",
            "Ask for review, or give one",
            post(review_patch),
        )
        .body::<wire::ReviewPatch>(),
        op::<sluice_core::model::Patch>(
            M::POST,
            "/patches/{key}/ready",
            "readyPatch",
            "Mark a reviewed patch ready to ship",
            post(ready_patch),
        ),
        op::<sluice_core::model::Patch>(
            M::POST,
            "/patches/{key}/reject",
            "rejectPatch",
            "Close a patch that will not be fixed",
            post(reject_patch),
        )
        .body::<wire::Reason>(),
        op::<sluice_core::model::Patch>(
            M::POST,
            "/patches/{key}/defer",
            "deferPatch",
            "Put a patch aside",
            post(defer_patch),
        )
        .body::<wire::Reason>(),
        op::<sluice_core::model::Patch>(
            M::POST,
            "/patches/{key}/port",
            "portPatch",
            "Carry a patch's commits to another line",
            post(port_patch),
        )
        .body::<wire::PortPatch>(),
        op::<sluice_app::PlanView>(
            M::POST,
            "/releases/plan",
            "planRelease",
            "What the next release of a line would hold",
            post(plan_release),
        )
        .body::<wire::CutRelease>(),
        op::<sluice_core::model::Release>(
            M::POST,
            "/releases",
            "cutRelease",
            "Cut the next release of a line",
            post(cut_release),
        )
        .body::<wire::CutRelease>()
        .created(),
        op::<Vec<sluice_core::model::Release>>(
            M::GET,
            "/releases",
            "listReleases",
            "Every release",
            get(list_releases),
        ),
        op::<sluice_core::model::Release>(
            M::POST,
            "/releases/import",
            "importRelease",
            "Record an existing tag as a baseline release",
            post(import_release),
        )
        .body::<wire::ImportRelease>()
        .created(),
        op::<sluice_app::ReleaseView>(
            M::GET,
            "/releases/{version}",
            "showRelease",
            "A release, its patches and its next gate",
            get(show_release),
        ),
        op::<sluice_core::model::Release>(
            M::POST,
            "/releases/{version}/amend",
            "amendRelease",
            "Add or remove patches (voids approvals)",
            post(amend_release),
        )
        .body::<wire::AmendRelease>(),
        op::<String>(
            M::GET,
            "/releases/{version}/notes",
            "releaseNotes",
            "The release notes, rendered",
            get(release_notes),
        )
        .query::<wire::NotesQuery>(),
        op::<sluice_core::model::Release>(
            M::PUT,
            "/releases/{version}/notes",
            "editNotes",
            "Replace the release notes with a person's text",
            put(edit_notes),
        )
        .body::<wire::Notes>(),
        op::<sluice_core::model::Release>(
            M::POST,
            "/releases/{version}/tests",
            "reportTest",
            "Record a suite's result in an environment",
            post(report_test),
        )
        .body::<wire::ReportTest>(),
        op::<sluice_app::Approved>(
            M::POST,
            "/releases/{version}/approvals",
            "approve",
            "Approve a release into an environment as a role",
            post(approve),
        )
        .body::<wire::Approve>(),
        op::<sluice_app::ChecklistView>(
            M::GET,
            "/releases/{version}/checklist",
            "checklist",
            "The release's checklist",
            get(checklist),
        ),
        op::<sluice_app::ChecklistView>(
            M::POST,
            "/releases/{version}/checklist/{item}",
            "tickChecklist",
            "Mark a checklist item done",
            post(tick),
        ),
        op::<sluice_app::PromoteOutcome>(
            M::POST,
            "/releases/{version}/promotions",
            "promote",
            "Move a release into an environment through its gate",
            post(promote),
        )
        .body::<wire::Promote>(),
        op::<sluice_core::model::Release>(
            M::POST,
            "/releases/{version}/follow-up",
            "closeFollowUp",
            "Close an emergency change's follow-up review",
            post(follow_up),
        )
        .body::<wire::FollowUp>(),
        op::<sluice_app::RollbackOutcome>(
            M::POST,
            "/environments/{env}/rollback",
            "rollback",
            "Return an environment to an earlier release",
            post(rollback),
        )
        .body::<wire::Rollback>(),
        op::<sluice_core::model::Incident>(
            M::POST,
            "/incidents",
            "openIncident",
            "Open an incident on what an environment holds",
            post(open_incident),
        )
        .body::<wire::OpenIncident>()
        .created(),
        op::<Vec<sluice_core::model::Incident>>(
            M::GET,
            "/incidents",
            "listIncidents",
            "Incidents, newest first",
            get(list_incidents),
        )
        .query::<wire::IncidentFilter>(),
        op::<sluice_app::IncidentView>(
            M::GET,
            "/incidents/{id}",
            "showIncident",
            "One incident and its history",
            get(show_incident),
        ),
        op::<sluice_core::model::Incident>(
            M::POST,
            "/incidents/{id}/resolve",
            "resolveIncident",
            "Resolve an incident",
            post(resolve_incident),
        )
        .body::<wire::ResolveIncident>(),
        op::<sluice_app::AuditReport>(M::GET, "/audit", "audit", "The audit log", get(audit))
            .query::<wire::AuditQuery>(),
        op::<sluice_app::AuditVerify>(
            M::GET,
            "/audit/verify",
            "auditVerify",
            "Recompute the hash chain",
            get(audit_verify),
        ),
        op::<sluice_app::AnchorReport>(
            M::GET,
            "/audit/anchors",
            "auditAnchors",
            "Check the chain against the heads git witnessed",
            get(audit_anchors),
        ),
        op::<sluice_app::Anchored>(
            M::POST,
            "/audit/anchor",
            "auditAnchor",
            "Write the chain's head into git (refs/notes/sluice-audit)",
            post(audit_anchor),
        ),
        op::<Vec<sluice_app::OutboxRow>>(
            M::GET,
            "/notifications",
            "listNotifications",
            "Outbox messages",
            get(notifications),
        )
        .query::<wire::NotificationQuery>(),
        op::<Vec<sluice_app::dispatch::OutboxCount>>(
            M::GET,
            "/notifications/status",
            "notificationStatus",
            "Outbox counts per status and channel",
            get(notification_counts),
        ),
        op::<sluice_app::dispatch::FlushReport>(
            M::POST,
            "/notifications/flush",
            "flushNotifications",
            "Deliver due messages now",
            post(flush),
        )
        .body::<wire::Flush>(),
        op::<String>(
            M::POST,
            "/notifications/{id}/retry",
            "retryNotification",
            "Revive a dead or failing message",
            post(retry),
        ),
    ]
}

type Res<T> = Result<Json<T>, ApiError>;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

async fn whoami(State(s): State<Shared>, Actor(a): Actor) -> Res<wire::WhoAmI> {
    let roles = s
        .app
        .process
        .roles_of(&a)
        .into_iter()
        .map(String::from)
        .collect();
    Ok(Json(wire::WhoAmI { user: a, roles }))
}

async fn process(State(s): State<Shared>) -> Res<wire::ProcessFile> {
    Ok(Json(s.process_file.clone()))
}

async fn status(State(s): State<Shared>) -> Res<Vec<sluice_app::EnvStatus>> {
    Ok(Json(s.app.status().await?))
}

async fn report_patch(
    State(s): State<Shared>,
    Actor(a): Actor,
    Body(b): Body<wire::ReportPatch>,
) -> Result<(StatusCode, Json<sluice_core::model::Patch>), ApiError> {
    let input = ReportInput {
        title: b.title,
        description: b.description,
        kind: b.kind,
        severity: b.severity,
        source: Some(Source {
            kind: b.source.unwrap_or(SourceKind::Bug),
            reference: b.reference,
        }),
        targets: b.lines,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.report_patch(&a, now(), input).await?),
    ))
}

async fn list_patches(
    State(s): State<Shared>,
    Query(f): Query<wire::PatchFilter>,
) -> Res<sluice_app::PatchList> {
    let statuses = f.statuses().map_err(ApiError::invalid)?;
    if let Some(l) = f.line.as_deref() {
        l.parse::<sluice_core::model::Target>()
            .map_err(|e| ApiError::invalid(format!("line: {e}")))?;
    }
    let q = PatchQuery {
        statuses,
        all: f.all,
        kind: f.kind,
        severity: f.severity,
        owner: f.owner,
        target: f.line,
        now_ms: 0,
        limit: f.limit.unwrap_or(100),
        count: f.count,
    };
    Ok(Json(s.app.list_patches(now(), q).await?))
}

async fn show_patch(
    State(s): State<Shared>,
    Path(key): Path<String>,
) -> Res<sluice_app::PatchView> {
    Ok(Json(s.app.show_patch(now(), &key).await?))
}

type PatchRes = Res<sluice_core::model::Patch>;

async fn triage_patch(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(key): Path<String>,
    Body(b): Body<wire::TriagePatch>,
) -> PatchRes {
    let input = TriageInput {
        severity: b.severity,
        kind: b.kind,
        priority: b.priority,
        owner: b.owner,
        targets: b.lines,
    };
    Ok(Json(s.app.triage_patch(&a, now(), &key, input).await?))
}

async fn start_patch(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(key): Path<String>,
) -> PatchRes {
    Ok(Json(s.app.start_patch(&a, now(), &key).await?))
}

async fn review_patch(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(key): Path<String>,
    Body(b): Body<wire::ReviewPatch>,
) -> PatchRes {
    Ok(Json(
        s.app
            .review_patch(&a, now(), &key, b.approve, b.comment)
            .await?,
    ))
}

async fn ready_patch(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(key): Path<String>,
) -> PatchRes {
    Ok(Json(s.app.ready_patch(&a, now(), &key).await?))
}

async fn reject_patch(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(key): Path<String>,
    Body(b): Body<wire::Reason>,
) -> PatchRes {
    Ok(Json(s.app.reject_patch(&a, now(), &key, b.reason).await?))
}

async fn defer_patch(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(key): Path<String>,
    Body(b): Body<wire::Reason>,
) -> PatchRes {
    Ok(Json(s.app.defer_patch(&a, now(), &key, b.reason).await?))
}

async fn port_patch(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(key): Path<String>,
    Body(b): Body<wire::PortPatch>,
) -> PatchRes {
    Ok(Json(s.app.port_patch(&a, now(), &key, b.to).await?))
}

async fn plan_release(
    State(s): State<Shared>,
    Actor(a): Actor,
    Body(b): Body<wire::CutRelease>,
) -> Res<sluice_app::PlanView> {
    Ok(Json(
        s.app
            .plan_release(&a, now(), b.line, b.target.as_deref())
            .await?,
    ))
}

async fn cut_release(
    State(s): State<Shared>,
    Actor(a): Actor,
    Body(b): Body<wire::CutRelease>,
) -> Result<(StatusCode, Json<sluice_core::model::Release>), ApiError> {
    let opts = CutOptions {
        target: b.target,
        allow_scope: b.allow_scope,
        no_assemble: b.no_assemble,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.cut_release(&a, now(), b.line, opts).await?),
    ))
}

type ReleaseRes = Res<sluice_core::model::Release>;

async fn list_releases(State(s): State<Shared>) -> Res<Vec<sluice_core::model::Release>> {
    Ok(Json(s.app.list_releases().await?))
}

async fn import_release(
    State(s): State<Shared>,
    Actor(a): Actor,
    Body(b): Body<wire::ImportRelease>,
) -> Result<(StatusCode, Json<sluice_core::model::Release>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .import_release(&a, now(), &b.version, b.env.as_deref())
                .await?,
        ),
    ))
}

async fn show_release(
    State(s): State<Shared>,
    Path(v): Path<String>,
) -> Res<sluice_app::ReleaseView> {
    Ok(Json(s.app.show_release(now(), &v).await?))
}

async fn amend_release(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(v): Path<String>,
    Body(b): Body<wire::AmendRelease>,
) -> ReleaseRes {
    Ok(Json(
        s.app
            .amend_release(&a, now(), &v, &b.add, &b.remove)
            .await?,
    ))
}

async fn release_notes(
    State(s): State<Shared>,
    Path(v): Path<String>,
    Query(q): Query<wire::NotesQuery>,
) -> Res<String> {
    let format = match q.format.as_deref().unwrap_or("md") {
        "md" | "markdown" => NotesFormat::Markdown,
        "html" => NotesFormat::Html,
        "text" => NotesFormat::Text,
        "slack" => NotesFormat::Slack,
        other => {
            return Err(ApiError::invalid(format!(
                "unknown notes format `{other}`; use md, html, text or slack"
            )));
        }
    };
    Ok(Json(s.app.release_notes(&v, format).await?))
}

async fn edit_notes(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(v): Path<String>,
    Body(b): Body<wire::Notes>,
) -> ReleaseRes {
    Ok(Json(s.app.edit_notes(&a, now(), &v, &b.text).await?))
}

async fn report_test(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(v): Path<String>,
    Body(b): Body<wire::ReportTest>,
) -> ReleaseRes {
    Ok(Json(
        s.app
            .report_test(&a, now(), &v, &b.env, &b.suite, b.passed, b.url)
            .await?,
    ))
}

async fn approve(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(v): Path<String>,
    Body(b): Body<wire::Approve>,
) -> Res<sluice_app::Approved> {
    Ok(Json(
        s.app
            .approve(
                &a,
                now(),
                &v,
                &b.env,
                b.role.as_deref(),
                b.emergency,
                b.comment,
            )
            .await?,
    ))
}

async fn checklist(
    State(s): State<Shared>,
    Path(v): Path<String>,
) -> Res<sluice_app::ChecklistView> {
    Ok(Json(s.app.checklist(&v).await?))
}

async fn tick(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path((v, item)): Path<(String, String)>,
) -> Res<sluice_app::ChecklistView> {
    Ok(Json(s.app.tick(&a, now(), &v, &item).await?))
}

async fn promote(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(v): Path<String>,
    Body(b): Body<wire::Promote>,
) -> Res<sluice_app::PromoteOutcome> {
    Ok(Json(
        s.app
            .promote(&a, now(), &v, &b.to, b.emergency_reason.as_deref())
            .await?,
    ))
}

async fn follow_up(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(v): Path<String>,
    Body(b): Body<wire::FollowUp>,
) -> ReleaseRes {
    Ok(Json(
        s.app
            .close_follow_up(&a, now(), &v, &b.env, b.comment)
            .await?,
    ))
}

async fn rollback(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(env): Path<String>,
    Body(b): Body<wire::Rollback>,
) -> Res<sluice_app::RollbackOutcome> {
    Ok(Json(
        s.app.rollback(&a, now(), &env, b.to.as_deref()).await?,
    ))
}

async fn audit(
    State(s): State<Shared>,
    Query(q): Query<wire::AuditQuery>,
) -> Res<sluice_app::AuditReport> {
    Ok(Json(
        s.app
            .audit(
                q.subject.as_deref(),
                q.after.unwrap_or(0),
                q.limit.unwrap_or(1000),
            )
            .await?,
    ))
}

async fn audit_verify(State(s): State<Shared>) -> Res<sluice_app::AuditVerify> {
    Ok(Json(s.app.audit_verify().await?))
}

async fn audit_anchors(State(s): State<Shared>) -> Res<sluice_app::AnchorReport> {
    Ok(Json(s.app.audit_verify_against_git().await?))
}

async fn audit_anchor(State(s): State<Shared>) -> Res<sluice_app::Anchored> {
    Ok(Json(s.app.audit_anchor(now()).await?))
}

async fn notifications(
    State(s): State<Shared>,
    Query(q): Query<wire::NotificationQuery>,
) -> Res<Vec<sluice_app::OutboxRow>> {
    let status = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
        Some("pending") => Some(sluice_app::OutboxStatus::Pending),
        Some("delivered") => Some(sluice_app::OutboxStatus::Delivered),
        Some("dead") => Some(sluice_app::OutboxStatus::Dead),
        Some(x) => {
            return Err(ApiError::invalid(format!(
                "unknown status `{x}`; use pending, delivered or dead"
            )));
        }
    };
    Ok(Json(
        s.app
            .notifications(status, q.limit.unwrap_or(100).max(0) as usize)
            .await?,
    ))
}

async fn notification_counts(
    State(s): State<Shared>,
) -> Res<Vec<sluice_app::dispatch::OutboxCount>> {
    Ok(Json(s.app.notification_counts().await?))
}

async fn flush(
    State(s): State<Shared>,
    Actor(a): Actor,
    Body(b): Body<wire::Flush>,
) -> Res<sluice_app::dispatch::FlushReport> {
    Ok(Json(
        s.app
            .flush_notifications(&a, now(), b.max.unwrap_or(100))
            .await?,
    ))
}

async fn retry(State(s): State<Shared>, Actor(a): Actor, Path(id): Path<String>) -> Res<String> {
    Ok(Json(
        s.app.retry_notification(&a, &id, now()).await?.to_string(),
    ))
}

fn incident_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no incident `{id}`; incident ids are numbers"),
        )
    })
}

async fn open_incident(
    State(s): State<Shared>,
    Actor(a): Actor,
    Body(b): Body<wire::OpenIncident>,
) -> Result<(StatusCode, Json<sluice_core::model::Incident>), ApiError> {
    let input = sluice_core::decide::IncidentInput {
        env: b.env,
        service: b.service,
        title: b.title,
        severity: b.severity,
        source: "manual".into(),
        fingerprint: None,
        url: b.url,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.open_incident(&a, now(), input).await?),
    ))
}

async fn list_incidents(
    State(s): State<Shared>,
    Query(q): Query<wire::IncidentFilter>,
) -> Res<Vec<sluice_core::model::Incident>> {
    Ok(Json(
        s.app
            .incidents(sluice_app::IncidentQuery {
                open: q.open,
                env: q.env,
                release: q.release,
                limit: q.limit.unwrap_or(100),
            })
            .await?,
    ))
}

async fn show_incident(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> Res<sluice_app::IncidentView> {
    Ok(Json(s.app.incident(incident_id(&id)?).await?))
}

async fn resolve_incident(
    State(s): State<Shared>,
    Actor(a): Actor,
    Path(id): Path<String>,
    Body(b): Body<wire::ResolveIncident>,
) -> Res<sluice_core::model::Incident> {
    Ok(Json(
        s.app
            .resolve_incident(&a, now(), incident_id(&id)?, b.comment)
            .await?,
    ))
}
