//! Errors on their way out as HTTP answers. The envelope, its codes and the
//! status of each code are the application's wire contract
//! ([`sluice_app::wire::ErrorCode`]); this module only turns them into responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sluice_app::wire::{ErrorBody, ErrorCode, ErrorEnvelope};
use sluice_app::{AppError, AuthError};

pub use sluice_app::wire::ErrorEnvelope as Envelope;

/// An error on its way out as an HTTP answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    /// An answer with `code`, at the status the contract gives it.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(code.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: ErrorBody {
                code,
                message: message.into(),
                unmet: Vec::new(),
            },
        }
    }

    /// The database cannot be reached: try again later (503, `internal`).
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..ApiError::new(ErrorCode::Internal, message)
        }
    }

    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Malformed, message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Invalid, message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        if matches!(
            e,
            AppError::Config(_) | AppError::Store(_) | AppError::Io(_)
        ) {
            tracing::error!(error = %e, "request failed");
        }
        let body = ErrorBody::from(e);
        ApiError {
            status: StatusCode::from_u16(body.code.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::Store(m) => ApiError::unavailable(m),
            e => ApiError::new(ErrorCode::Unauthorized, e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(ErrorEnvelope { error: self.body })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"sluice\""),
            );
        }
        r
    }
}
