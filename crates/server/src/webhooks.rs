//! `/webhooks/{source}`: GitHub, GitLab, Alertmanager, Grafana and Sentry
//! deliveries, handed whole (headers and raw body, for the signature) to the
//! application layer, which authenticates, de-duplicates and acts. No bearer
//! token: each source proves itself with its own secret.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sluice_app::{InboundRequest, WebhookError, WebhookSource};

use crate::Shared;
use crate::error::ApiError;

pub async fn receive(
    State(s): State<Shared>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let source: WebhookSource = match source.parse() {
        Ok(x) => x,
        Err(m) => return ApiError::new(StatusCode::NOT_FOUND, "not_found", m).into_response(),
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))
        })
        .collect();
    let req = InboundRequest {
        source,
        headers: &headers,
        body: &body,
    };
    match s.app.receive_webhook(jiff::Timestamp::now(), req).await {
        Ok(outcome) => {
            let status = if outcome.duplicate {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            tracing::info!(
                source = source.as_str(),
                duplicate = outcome.duplicate,
                effects = outcome.effects.len(),
                "webhook"
            );
            (status, axum::Json(outcome)).into_response()
        }
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let code = match &e {
                WebhookError::NotConfigured(_) => "not_configured",
                WebhookError::Unauthorized(_) => "unauthorized",
                WebhookError::TooLarge(_) => "too_large",
                WebhookError::Malformed(_) => "malformed",
                WebhookError::UnknownEvent(_) => "unknown_event",
                WebhookError::Internal(_) => "internal",
            };
            tracing::warn!(source = source.as_str(), status = status.as_u16(), error = %e, "webhook refused");
            ApiError::new(status, code, e.to_string()).into_response()
        }
    }
}
