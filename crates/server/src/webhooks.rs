//! `/webhooks/{source}`: GitHub, GitLab, Alertmanager, Grafana and Sentry
//! deliveries, handed whole (headers and raw body, for the signature) to the
//! application layer, which authenticates, de-duplicates and acts. No bearer
//! token: each source proves itself with its own secret.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sluice_app::wire::ErrorCode;
use sluice_app::{InboundRequest, WebhookSource};

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
        Err(m) => return ApiError::new(ErrorCode::NotFound, m).into_response(),
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
            tracing::warn!(source = source.as_str(), status = e.status(), error = %e, "webhook refused");
            ApiError::new(e.code(), e.to_string()).into_response()
        }
    }
}
