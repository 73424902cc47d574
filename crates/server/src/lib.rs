//! `sluice serve`: the HTTP face of the application layer.
//!
//! - `/api/v1/...`: every CLI command (see [`api::ops`]), bearer-token
//!   authenticated, JSON in and out, one error envelope, idempotency keys on
//!   writes; `/api/v1/openapi.json` describes it.
//! - `/healthz` (the process answers) and `/readyz` (the database answers).
//! - `/metrics`: Prometheus (see [`prometheus`]).
//!
//! Handlers only translate HTTP to application calls; every rule, role check
//! and separation-of-duties check happens in `sluice_app`, the same code the
//! CLI runs in local mode.

pub mod api;
pub mod error;
pub mod extract;
pub mod layers;
pub mod openapi;
pub mod prometheus;
pub mod ui;
pub mod webhooks;

use sluice_app::wire::ErrorCode;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sluice_app::App;
use sluice_app::wire::ProcessFile;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// How often a server in a git checkout anchors the audit chain's head in git.
pub const ANCHOR_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// How long a client may take to send a request's head (line and headers).
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a client may take to send a request's body.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Connections served at once; more wait in the kernel's queue, costing no
/// file descriptor here, until one closes.
pub const MAX_CONNECTIONS: usize = 256;

/// What every request can reach.
pub struct Server {
    pub app: Arc<App>,
    /// The process file as read at start, for `GET /api/v1/process`.
    pub process_file: ProcessFile,
    pub ui: ui::Ui,
    /// The address it listens on, once bound.
    pub bound: std::sync::OnceLock<SocketAddr>,
    /// `/metrics`: the 30-day figures, kept for a minute.
    pub metrics_cache: prometheus::Cache,
}

impl Server {
    pub fn new(app: App, process_file: ProcessFile) -> Server {
        Server {
            app: Arc::new(app),
            process_file,
            ui: ui::Ui::new(),
            bound: std::sync::OnceLock::new(),
            metrics_cache: Default::default(),
        }
    }
}

pub type Shared = Arc<Server>;

/// The whole HTTP surface.
pub fn router(server: Shared) -> Router {
    let ops = api::ops();
    let mut doc = openapi::document(&ops);
    openapi::tighten(&mut doc, server.app.process());
    let doc = Arc::new(doc);
    let mut v1: Router<Shared> = Router::new();
    for op in ops {
        v1 = v1.route(op.path, op.route);
    }
    v1 = v1.route(
        "/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { axum::Json((*doc).clone()) }
        }),
    );
    let v1 = v1
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            layers::idempotency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            layers::authenticate,
        ))
        .fallback(|| async {
            error::ApiError::new(ErrorCode::NotFound, "no such API route; see /api/v1/openapi.json",
            )
        })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            error::ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} is not served on this route; see /api/v1/openapi.json for the methods it takes"),
            )
        });
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(prometheus::metrics))
        .nest("/api/v1", v1)
        .merge(ui::routes())
        .route(
            "/webhooks/{source}",
            axum::routing::post(webhooks::receive)
                .layer(DefaultBodyLimit::max(sluice_app::MAX_WEBHOOK_BODY + 1)),
        )
        .fallback(ui::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(layers::body_timeout))
        .layer(axum::middleware::from_fn(layers::security_headers))
        .layer(axum::middleware::from_fn(layers::log))
        .with_state(server)
}

async fn ready(State(s): State<Shared>) -> impl IntoResponse {
    match s.app.ping().await {
        Ok(()) => (StatusCode::OK, "ready".to_string()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}")),
    }
}

/// How `serve` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the log subscriber (`RUST_LOG` filters; default `info`).
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal, and never with NO_COLOR: a redirected log
    // holds no escape codes.
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Serves until SIGTERM or SIGINT, then stops accepting, finishes the
/// requests in flight and lets the outbox dispatcher end its pass. `ready` is
/// told the bound address (port 0 picks one). The dispatcher delivers
/// notifications while the server runs; several servers on one PostgreSQL
/// share the work without sending a message twice.
pub async fn serve(
    server: Shared,
    bind: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let _ = server.bound.set(addr);
    tracing::info!(%addr, "listening");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut dispatch_stop = stop_rx.clone();
    let dispatcher = tokio::spawn(sluice_app::dispatch::dispatch_loop(
        server.app.clone(),
        async move {
            let _ = dispatch_stop.wait_for(|s| *s).await;
        },
        |pass| match pass {
            Ok(r) if r.taken() > 0 => tracing::info!(
                delivered = r.delivered,
                failed = r.failed,
                dead = r.dead,
                deferred = r.deferred,
                "notifications"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "notification dispatch failed; retrying"),
        },
    ));
    let warm = server.clone();
    tokio::spawn(async move { warm.ui.warm_chain(&warm.app).await });
    // Deployments whose server died (this one, before a restart, or another
    // one sharing the database) are ended at start and then every few seconds.
    // In a git checkout the audit chain's head is anchored in git every
    // ANCHOR_EVERY when it moved (`sluice audit anchor` does it on demand).
    // The scheduler records what time made true at start and every
    // TICK_EVERY (each fact once, whichever server's pass gets there first).
    let sweeper = {
        let app = server.app.clone();
        let shared = server.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut last_anchor = tokio::time::Instant::now();
            let mut last_tick: Option<tokio::time::Instant> = None;
            let mut last_window: Option<tokio::time::Instant> = None;
            loop {
                if last_window.is_none_or(|t| t.elapsed() >= prometheus::WINDOW_EVERY) {
                    last_window = Some(tokio::time::Instant::now());
                    if let Err(e) = prometheus::refresh(&shared).await {
                        tracing::warn!(error = %e, "cannot compute the 30-day metrics");
                    }
                }
                if last_tick.is_none_or(|t| t.elapsed() >= sluice_app::TICK_EVERY) {
                    last_tick = Some(tokio::time::Instant::now());
                    match app.timed_pass(jiff::Timestamp::now()).await {
                        Ok(r) if !r.recorded.is_empty() => {
                            tracing::info!(recorded = ?r.recorded, "timed events")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "the scheduler pass failed"),
                    }
                }
                if app.has_git() && last_anchor.elapsed() >= ANCHOR_EVERY {
                    last_anchor = tokio::time::Instant::now();
                    match app.audit_anchor(jiff::Timestamp::now()).await {
                        Ok(a) if a.written => {
                            tracing::info!(seq = a.anchor.seq, "audit chain anchored in git")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot anchor the audit chain in git")
                        }
                    }
                }
                match app.resolve_abandoned(jiff::Timestamp::now()).await {
                    Ok(ended) if !ended.is_empty() => {
                        tracing::warn!(
                            ?ended,
                            "deployments whose process stopped were recorded as failed"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot check for abandoned deployments"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        })
    };
    ready(addr);
    let served = accept_loop(listener, router(server), async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    })
    .await;
    let _ = sweeper.await;
    match dispatcher.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "the notification dispatcher stopped"),
        Err(e) => tracing::warn!(error = %e, "the notification dispatcher failed"),
        Ok(Ok(())) => {}
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Serves HTTP/1 connections until `stop` resolves, then lets the requests in
/// flight finish. A client gets [`HEADER_TIMEOUT`] to send a request head (the
/// body timeout is a layer), and at most [`MAX_CONNECTIONS`] are served at once:
/// a flood of half-sent requests cannot exhaust the server's file descriptors.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    let service = hyper_util::service::TowerToHyperService::new(app);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(stop);
    loop {
        // A slot first: past the cap, connections wait in the listen queue.
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a little.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = http.serve_connection(TokioIo::new(stream), service.clone());
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
