//! Middleware: bearer-token authentication, idempotency keys for writes, and
//! one structured log line per request.

use sluice_app::wire::ErrorCode;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sluice_app::{Claim, Replay};

use crate::error::ApiError;
use crate::extract::{Actor, too_large};
use crate::{BODY_LIMIT, Shared};

/// Every `/api/v1` request needs a live bearer token; the user it names becomes the actor.
pub async fn authenticate(
    State(s): State<Shared>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let secret = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or("");
    let user = s.app.authenticate(jiff::Timestamp::now(), secret).await?;
    req.extensions_mut().insert(Actor(user.clone()));
    let mut resp = next.run(req).await;
    resp.extensions_mut().insert(Actor(user));
    Ok(resp)
}

/// A write with an `Idempotency-Key` runs once per (user, key): a repeat gets
/// the first answer back (with `Idempotent-Replayed: true`) and changes nothing.
pub async fn idempotency(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let is_write = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty());
    let (Some(key), true) = (key, is_write) else {
        return next.run(req).await;
    };
    if key.len() > 255 {
        return ApiError::invalid("the Idempotency-Key is longer than 255 characters")
            .into_response();
    }
    let Some(Actor(actor)) = req.extensions().get::<Actor>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return too_large().into_response(),
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("")
            .as_bytes(),
    );
    h.update(b"\n");
    h.update(&bytes);
    let hash = sluice_core::audit::hex(&h.finalize());
    let now = jiff::Timestamp::now().as_millisecond();
    let claim = match s.app.idempotency_claim(&actor, &key, &hash, now).await {
        Ok(c) => c,
        Err(e) => {
            return ApiError::unavailable(e.to_string()).into_response();
        }
    };
    match claim {
        Claim::Replay(Replay { status, body }) => {
            let mut r = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Claim::InProgress => ApiError::new(
            ErrorCode::IdempotencyInProgress,
            format!("a request with Idempotency-Key `{key}` is still running; try again shortly"),
        )
        .into_response(),
        Claim::Mismatch => ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            format!(
                "Idempotency-Key `{key}` was already used for a different request; use a new key"
            ),
        )
        .into_response(),
        Claim::Fresh => {
            // The claim's lease is renewed while the request runs; if this
            // server dies, another request with the key takes it over once
            // the lease lapses (or is told the write already committed).
            let renew = {
                let (s, actor, key) = (s.clone(), actor.clone(), key.clone());
                tokio::spawn(async move {
                    let every = std::time::Duration::from_millis(
                        (sluice_app::IDEMPOTENCY_LEASE_MS / 3) as u64,
                    );
                    loop {
                        tokio::time::sleep(every).await;
                        let now = jiff::Timestamp::now().as_millisecond();
                        if let Err(e) = s.app.idempotency_renew(&actor, &key, now).await {
                            tracing::warn!(error = %e, "cannot renew an idempotency claim");
                        }
                    }
                })
            };
            // The handler's changes mark the claim committed in their own
            // transaction: it runs on an application that carries the claim.
            let mut req = Request::from_parts(parts, Body::from(bytes));
            req.extensions_mut()
                .insert(Claimed(std::sync::Arc::new(s.app.with_origin(
                    sluice_app::Origin::claim(actor.clone(), key.clone()),
                ))));
            let resp = next.run(req).await;
            renew.abort();
            let (rparts, rbody) = resp.into_parts();
            let rbytes = axum::body::to_bytes(rbody, usize::MAX)
                .await
                .unwrap_or_default();
            let stored = s
                .app
                .idempotency_settle(
                    &actor,
                    &key,
                    rparts.status.as_u16(),
                    &String::from_utf8_lossy(&rbytes),
                )
                .await;
            if let Err(e) = stored {
                tracing::error!(error = %e, "cannot record the answer to an idempotency key");
            }
            Response::from_parts(rparts, Body::from(rbytes))
        }
    }
}

/// The application a request with an idempotency key runs on: every change
/// it commits records the claim.
#[derive(Clone)]
pub struct Claimed(pub std::sync::Arc<sluice_app::App>);

/// The Content-Security-Policy of every answer: the UI loads only its own
/// stylesheet and one script, fetches only from itself, posts forms only to
/// itself and is never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Security headers on every answer, pages and API alike.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// A request body must arrive within [`crate::BODY_TIMEOUT`]; a client that
/// trickles it gets a 408 and the connection is closed. The body is read here
/// (at most the largest any route accepts) and handed on whole.
pub async fn body_timeout(req: Request, next: Next) -> Response {
    use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
    let has_body = req.headers().contains_key(TRANSFER_ENCODING)
        || req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if !has_body {
        return next.run(req).await;
    }
    let limit = BODY_LIMIT.max(sluice_app::MAX_WEBHOOK_BODY) + 1;
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(crate::BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => too_large().into_response(),
        Err(_) => {
            let mut r = ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "the request body did not arrive within {} s",
                    crate::BODY_TIMEOUT.as_secs()
                ),
            )
            .into_response();
            r.headers_mut().insert(
                axum::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
            r
        }
    }
}

/// One log line per request: method, route, status, time taken, actor.
pub async fn log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let resp = next.run(req).await;
    let actor = resp
        .extensions()
        .get::<Actor>()
        .map(|a| a.0.clone())
        .unwrap_or_default();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = resp.status().as_u16();
    if status >= 500 {
        tracing::error!(%method, route, status, ms, actor, "request");
    } else if status >= 400 {
        tracing::warn!(%method, route, status, ms, actor, "request");
    } else {
        tracing::info!(%method, route, status, ms, actor, "request");
    }
    resp
}
