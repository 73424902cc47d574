//! The one error envelope of the API: `{"error": {"code", "message", "unmet"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sluice_app::{AppError, AuthError};
use sluice_core::decide::Unmet;

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Envelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// Machine-readable: refused, conflict, not_found, invalid, malformed,
    /// unauthorized, too_large, idempotency_in_progress, idempotency_key_reused,
    /// unsupported_media_type, internal.
    pub code: String,
    pub message: String,
    /// For `refused`: each requirement not met, who can meet it, the command that would.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmet: Vec<Unmet>,
}

/// An error on its way out as an HTTP answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_string(),
                message: message.into(),
                unmet: Vec::new(),
            },
        }
    }

    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            // Refused by the process: the request is well-formed, the state of
            // the patch or release does not allow it yet.
            AppError::Refused { summary, unmet } => ApiError {
                status: StatusCode::CONFLICT,
                body: ErrorBody {
                    code: "refused".into(),
                    message: summary,
                    unmet,
                },
            },
            AppError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            AppError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            AppError::Invalid(m) => ApiError::invalid(m),
            e @ (AppError::Config(_) | AppError::Store(_) | AppError::Io(_)) => {
                tracing::error!(error = %e, "request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::Store(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "internal", m),
            e => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(Envelope { error: self.body })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"sluice\""),
            );
        }
        r
    }
}
