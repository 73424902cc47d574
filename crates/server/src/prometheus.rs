//! `GET /metrics`: the Prometheus text exposition. Counters and gauges come
//! from grouped counts on covering indexes at every scrape; the 30-day
//! figures (rates, lead and recovery times) are recomputed in the
//! background every [`WINDOW_EVERY`] (`refresh`, from the server's sweeper),
//! so a scrape only reads them; only the very first scrape after start, or
//! one finding them older than [`WINDOW_STALE`], computes them itself.
//!
//! Prometheus scrapes without a user token: `[server] metrics_token =
//! "${VAR}"` sets the bearer token it must send; unset, the endpoint is open
//! only when the server listens on a loopback address.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sluice_core::metrics::Metrics;
use subtle::ConstantTimeEq;

use crate::Shared;

/// How often the server recomputes the 30-day figures in the background.
pub const WINDOW_EVERY: Duration = Duration::from_secs(30);
/// Older than this (the background refresh failing), a scrape recomputes them.
pub const WINDOW_STALE: Duration = Duration::from_secs(300);

/// The 30-day figures and when they were computed.
pub type Cache = tokio::sync::Mutex<Option<(Instant, Vec<Metrics>)>>;

fn plain(status: StatusCode, msg: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg + "\n",
    )
        .into_response()
}

/// The refusal, when this request may not read the metrics; it says how to.
fn refusal(s: &Shared, headers: &HeaderMap) -> Option<Response> {
    match s.app.metrics_token() {
        Some(Err(why)) => Some(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{why}; set it in the server's environment and restart"),
        )),
        Some(Ok(want)) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if bool::from(given.as_bytes().ct_eq(want.as_bytes())) {
                None
            } else {
                Some((
                    StatusCode::UNAUTHORIZED,
                    [
                        (header::WWW_AUTHENTICATE, "Bearer realm=\"sluice metrics\""),
                        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    ],
                    "send the metrics token ([server] metrics_token) as Authorization: Bearer TOKEN\n",
                )
                    .into_response())
            }
        }
        None if s.bound.get().is_some_and(|a| a.ip().is_loopback()) => None,
        None => Some(plain(
            StatusCode::FORBIDDEN,
            "this server listens beyond loopback and [server] metrics_token is not set: set metrics_token = \"${SLUICE_METRICS_TOKEN}\" in the process file and give Prometheus that token".into(),
        )),
    }
}

/// Recomputes the 30-day figures into the cache (the sweeper calls this
/// every [`WINDOW_EVERY`]); the lock is held only to swap them in.
pub async fn refresh(s: &Shared) -> Result<(), sluice_app::AppError> {
    let w = s.app.metrics_every_env(jiff::Timestamp::now()).await?;
    *s.metrics_cache.lock().await = Some((Instant::now(), w));
    Ok(())
}

pub async fn metrics(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = refusal(&s, &headers) {
        return r;
    }
    let now = jiff::Timestamp::now();
    let counters = match s.app.metric_counters(now).await {
        Ok(c) => c,
        Err(e) => {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot count: {e}"),
            );
        }
    };
    let window = {
        let mut cache = s.metrics_cache.lock().await;
        match cache.as_ref() {
            Some((at, w)) if at.elapsed() < WINDOW_STALE => w.clone(),
            _ => match s.app.metrics_every_env(now).await {
                Ok(w) => {
                    *cache = Some((Instant::now(), w.clone()));
                    w
                }
                Err(e) => {
                    return plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("cannot compute the 30-day metrics: {e}"),
                    );
                }
            },
        }
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        sluice_app::metrics::prometheus_text(&counters, &window),
    )
        .into_response()
}
