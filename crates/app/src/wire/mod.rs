//! The request bodies of the HTTP API, shared by the server (which reads them)
//! and the CLI in remote mode (which sends them). Each names the arguments of
//! one application command; the JSON Schema of each is derived here, so the
//! OpenAPI document cannot drift from what the server accepts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sluice_core::model::{PatchStatus, SourceKind, Target};

pub mod command;
mod table;

pub use command::{Command, Input, Method};

/// Requests that carry nothing beyond their path.
macro_rules! empty_requests {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
            pub struct $name {}
        )*
    };
}

empty_requests!(
    /// `GET /status`.
    Status,
    /// `GET /patches/{key}`.
    ShowPatch,
    /// `POST /patches/{key}/start`.
    StartPatch,
    /// `POST /patches/{key}/ready`.
    ReadyPatch,
    /// `GET /releases`.
    ListReleases,
    /// `GET /releases/{version}`.
    ShowRelease,
    /// `GET /releases/{version}/checklist`.
    ShowChecklist,
    /// `POST /releases/{version}/checklist/{item}`.
    TickItem,
    /// `GET /incidents/{id}`.
    ShowIncident,
    /// `GET /audit/verify`.
    VerifyAudit,
    /// `GET /audit/anchors`.
    AuditAnchors,
    /// `POST /audit/anchor`.
    AnchorAudit,
    /// `GET /notifications/status`.
    NotificationCounts,
    /// `POST /notifications/{id}/retry`.
    RetryNotification,
    /// `POST /tick`.
    Tick,
    /// `GET /retros/{id}`.
    ShowRetro,
    /// `POST /retros/{id}/complete`.
    CompleteRetro,
    /// `GET /inbox`.
    ShowInbox,
);

/// `GET /retros` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetroFilter {
    /// Only open ones.
    #[serde(default)]
    pub open: bool,
}

/// `PUT /retros/{id}`: the team's text (Markdown).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetroText {
    pub text: String,
}

/// `POST /patches`: report a patch.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportPatch {
    /// What is wrong, in one line.
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    /// bug, feedback, alert, security, ... (default bug).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub source: Option<SourceKind>,
    /// Ticket key, URL or alert fingerprint of the source.
    #[serde(default)]
    pub reference: Option<String>,
    /// `main` or maintained lines `MAJOR.MINOR`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub lines: Vec<Target>,
}

/// `POST /patches/{key}/triage`; absent fields keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriagePatch {
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub lines: Vec<Target>,
}

/// `POST /patches/{key}/review`: ask for review (no verdict) or give one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewPatch {
    /// true approves, false requests changes, absent asks for review.
    #[serde(default)]
    pub approve: Option<bool>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /patches/{key}/reject`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectPatch {
    pub reason: String,
}

/// `POST /patches/{key}/defer`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeferPatch {
    pub reason: String,
}

/// `POST /patches/{key}/port`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortPatch {
    #[schemars(with = "String")]
    pub to: Target,
}

/// `GET /patches` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchFilter {
    /// Comma-separated statuses; absent means the open ones.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub all: bool,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub line: Option<String>,
    /// At most this many (0: all; default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub count: bool,
}

impl PatchFilter {
    pub fn statuses(&self) -> Result<Vec<PatchStatus>, String> {
        self.status
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect()
    }
}

/// `POST /releases/plan`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRelease {
    /// `main` or a maintained line `MAJOR.MINOR`.
    #[schemars(with = "String")]
    pub line: Target,
    /// The revision to release [default: the line's branch, or HEAD for main].
    #[serde(default)]
    pub target: Option<String>,
}

/// `POST /releases` (cut).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CutRelease {
    /// `main` or a maintained line `MAJOR.MINOR`.
    #[schemars(with = "String")]
    pub line: Target,
    /// The revision to release [default: the line's branch, or HEAD for main].
    #[serde(default)]
    pub target: Option<String>,
    /// Let out-of-scope commits into a patch release, for this recorded reason.
    #[serde(default)]
    pub allow_scope: Option<String>,
    /// Refuse rather than create a maintained line's missing release branch.
    #[serde(default)]
    pub no_assemble: bool,
}

/// `POST /releases/{version}/amend`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendRelease {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `POST /releases/import`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRelease {
    pub version: String,
    /// Also record that this release runs in this environment (a baseline for rollback).
    #[serde(default)]
    pub env: Option<String>,
}

/// `POST /releases/{version}/tests`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportTest {
    pub env: String,
    pub suite: String,
    pub passed: bool,
    #[serde(default)]
    pub url: Option<String>,
}

/// `POST /releases/{version}/approvals`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    pub env: String,
    /// The role approved as [default: the approver's one role that the gate asks for].
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub emergency: bool,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /releases/{version}/promotions`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    pub to: String,
    /// Use the emergency lane, for this reason.
    #[serde(default)]
    pub emergency_reason: Option<String>,
}

/// `POST /environments/{env}/rollback`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// The release to return to [default: the one deployed there before].
    #[serde(default)]
    pub to: Option<String>,
}

/// `POST /releases/{version}/follow-up`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub env: String,
    pub comment: String,
}

/// `PUT /releases/{version}/notes`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notes {
    pub text: String,
}

/// `GET /releases/{version}/notes` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotesQuery {
    /// md (default), html, text or slack.
    #[serde(default)]
    pub format: Option<String>,
}

/// `GET /audit` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    pub subject: Option<String>,
    /// Only events of this kind (`release.deployed`, ...).
    #[serde(default)]
    pub event: Option<String>,
    /// Oldest first, the events after this sequence number.
    #[serde(default)]
    pub after: Option<i64>,
    /// Newest first, the events before this sequence number (0: from the
    /// newest). Without `newest`, the order is oldest first from `after`.
    #[serde(default)]
    pub before: Option<i64>,
    /// Newest first (what the audit page shows).
    #[serde(default)]
    pub newest: bool,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /notifications` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// pending, delivered or dead; absent means all.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `POST /notifications/flush`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Flush {
    /// At most this many messages (default 100; at most 1,000,000).
    #[serde(default, deserialize_with = "whole_number")]
    pub max: Option<usize>,
}

/// `POST /incidents`: open an incident by hand.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenIncident {
    pub env: String,
    pub title: String,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `POST /incidents/{id}/resolve`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIncident {
    #[serde(default)]
    pub comment: Option<String>,
}

/// `GET /metrics` query: the period and environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// The environment (default: the last one).
    #[serde(default)]
    pub env: Option<String>,
    /// Start: an RFC 3339 time, a date (its start in the process time zone),
    /// or a duration back from `until` (`30d`, `12w`). Default: 30 days.
    #[serde(default)]
    pub since: Option<String>,
    /// End (excluded): an RFC 3339 time or a date. Default: now.
    #[serde(default)]
    pub until: Option<String>,
}

/// `GET /incidents` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentFilter {
    #[serde(default)]
    pub open: bool,
    #[serde(default)]
    pub env: Option<String>,
    /// Only those opened on this release.
    #[serde(default)]
    pub release: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `GET /process`: the process file the server enforces.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProcessFile {
    /// Where the server read it, for messages.
    pub label: String,
    pub text: String,
}

/// `GET /whoami`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WhoAmI {
    pub user: String,
    pub roles: Vec<String>,
}

impl crate::App {
    /// Who a token acts for, and the roles the process gives them.
    pub fn whoami(&self, user: &str) -> WhoAmI {
        WhoAmI {
            user: user.to_string(),
            roles: self
                .process
                .roles_of(user)
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }

    /// The role an approval is given as: the one asked for, else the approver's
    /// one role among those the gate asks for. Shared by every interface, so
    /// `approve` without `--role` behaves the same locally and remotely.
    pub(crate) fn approver_role(
        &self,
        actor: &str,
        env: &str,
        emergency: bool,
        role: Option<&str>,
    ) -> crate::Result<String> {
        if let Some(r) = role {
            return Ok(r.to_string());
        }
        let (_, e) = self
            .process
            .known_environment(env)
            .map_err(crate::AppError::Invalid)?;
        let wanted = if emergency {
            &e.emergency_approvals
        } else {
            &e.approvals
        };
        let mine: Vec<&String> = wanted
            .iter()
            .filter(|r| self.process.has_role(actor, r))
            .collect();
        match mine.as_slice() {
            [one] => Ok((*one).clone()),
            [] => {
                let mut msg = format!(
                    "{actor} holds none of the roles that approve into `{env}` ({})",
                    if wanted.is_empty() {
                        "none".to_string()
                    } else {
                        wanted.join(", ")
                    }
                );
                if self.process.roles.contains_key(actor) {
                    msg.push_str(&format!("\n  hint: `{actor}` is a role; act as one of its members with --as and pass --role {actor}"));
                }
                Err(crate::AppError::Refused {
                    summary: msg,
                    unmet: vec![],
                })
            }
            _ => Err(crate::AppError::Invalid(format!(
                "you hold several approving roles; pass --role (one of: {})",
                mine.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// The largest count a request may ask for.
pub const MAX_COUNT: u64 = 1_000_000;

/// A count that JSON may write as `250` or `250.0` (JSON Schema calls both
/// integers); a fraction or a negative number is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
            .map(|f| f as u64)
    });
    match whole {
        Some(w) if w <= MAX_COUNT => Ok(Some(w as usize)),
        _ => Err(serde::de::Error::custom(format!(
            "{n} is not a whole number from 0 to {MAX_COUNT}"
        ))),
    }
}

/// What went wrong, for a program: the `code` of every error answer. Each code
/// has one HTTP status ([`ErrorCode::status`]) and one meaning for a client
/// ([`ErrorBody::into_app_error`]); the server and the remote CLI share this
/// table, so the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The process does not allow it yet; `unmet` says what is missing.
    Refused,
    /// Someone else changed the same thing first.
    Conflict,
    /// It ran and failed (a deploy or rollback command); the outcome is recorded.
    Failed,
    NotFound,
    /// Well-formed, but a value is wrong.
    Invalid,
    /// Not the JSON the operation takes.
    Malformed,
    Unauthorized,
    TooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    MethodNotAllowed,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    /// A webhook source this server has no secret for.
    NotConfigured,
    /// A webhook event this source sends that Sluice does not take.
    UnknownEvent,
    Internal,
    /// A code from a newer server.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status of an answer with this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Refused
            | ErrorCode::Conflict
            | ErrorCode::Failed
            | ErrorCode::IdempotencyInProgress => 409,
            ErrorCode::NotFound | ErrorCode::NotConfigured => 404,
            ErrorCode::Invalid | ErrorCode::IdempotencyKeyReused | ErrorCode::UnknownEvent => 422,
            ErrorCode::Malformed => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::TooLarge => 413,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Internal | ErrorCode::Unknown => 500,
        }
    }

    /// The code the application's error is answered with.
    pub fn of(e: &crate::AppError) -> ErrorCode {
        use crate::AppError as E;
        match e {
            E::Refused { .. } => ErrorCode::Refused,
            E::Conflict(_) => ErrorCode::Conflict,
            E::Failed(_) => ErrorCode::Failed,
            E::NotFound(_) => ErrorCode::NotFound,
            E::Invalid(_) => ErrorCode::Invalid,
            E::Config(_) | E::Store(_) | E::Io(_) => ErrorCode::Internal,
        }
    }
}

/// The body of every error answer: `{"error": {"code", "message", "unmet"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// For `refused`: each requirement not met, who can meet it, the command that would.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmet: Vec<sluice_core::decide::Unmet>,
}

impl From<crate::AppError> for ErrorBody {
    fn from(e: crate::AppError) -> ErrorBody {
        let code = ErrorCode::of(&e);
        match e {
            crate::AppError::Refused { summary, unmet } => ErrorBody {
                code,
                message: summary,
                unmet,
            },
            e => ErrorBody {
                code,
                message: e.to_string(),
                unmet: Vec::new(),
            },
        }
    }
}

impl ErrorBody {
    /// The error a client reports for this answer: the same error (and exit
    /// code) the command gives when it runs locally.
    pub fn into_app_error(self) -> crate::AppError {
        use crate::AppError as E;
        match self.code {
            ErrorCode::Refused => E::Refused {
                summary: self.message,
                unmet: self.unmet,
            },
            ErrorCode::Conflict | ErrorCode::IdempotencyInProgress => E::Conflict(self.message),
            ErrorCode::Failed => E::Failed(
                self.message
                    .strip_prefix("failed: ")
                    .unwrap_or(&self.message)
                    .to_string(),
            ),
            ErrorCode::NotFound | ErrorCode::NotConfigured => E::NotFound(self.message),
            ErrorCode::Invalid
            | ErrorCode::Malformed
            | ErrorCode::TooLarge
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::UnsupportedMediaType
            | ErrorCode::MethodNotAllowed
            | ErrorCode::UnknownEvent => E::Invalid(self.message),
            ErrorCode::Unauthorized => E::Config(format!(
                "the server refused the token: {}\n  hint: check SLUICE_TOKEN",
                self.message
            )),
            ErrorCode::RequestTimeout | ErrorCode::Internal | ErrorCode::Unknown => {
                E::Io(format!("the server failed: {}", self.message))
            }
        }
    }
}
