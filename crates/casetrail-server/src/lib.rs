//! The casetrail HTTP server: the JSON API of API.md, the web UI, authentication,
//! and the group-commit ingest [`writer`].
//!
//! The server knows storage only as `Arc<dyn Store>`; the binary picks the backend.
//! [`serve`] takes an already-bound listener and a shutdown signal, so tests bind
//! `127.0.0.1:0` and need no sleeps:
//!
//! ```no_run
//! # async fn run(store: std::sync::Arc<dyn casetrail_store::Store>) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! casetrail_server::serve(listener, store, casetrail_server::ServerConfig::default(), std::future::pending()).await
//! # }
//! ```
//!
//! Modules: [`api`] (the `/api/v1` handlers and the OpenAPI document), [`auth`] (keys,
//! sessions, roles), [`web`] (sign-in and pages), [`provision`] (accounts with their
//! first admin and keys), [`error`] (the one error type).
#![forbid(unsafe_code)]

pub mod api;
mod audit;
pub mod auth;
pub mod error;
pub mod export;
pub mod integrity;
mod limiter;
pub mod provision;
pub mod retention;
pub mod signing;
mod state;
mod tasks;
pub mod web;
pub mod writer;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use casetrail_store::Store;
use tokio::net::TcpListener;

pub use state::{AppState, ServerConfig};

/// Serves until `shutdown` resolves, then lets in-flight requests finish and waits
/// for the writer to commit everything it accepted.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (writer, writer_task) = writer::Writer::start(store.clone(), config.keys.clone(), config.checkpoint_every);
    let state = AppState::new(store, writer, config);
    let background = tasks::spawn(state.clone());
    let app = router(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    // The periodic tasks hold a writer handle too; stop them so the writer can drain.
    background.abort();
    let _ = background.await;
    // Every handle to the writer went with the router; the task drains and ends.
    if let Err(err) = writer_task.await {
        tracing::error!(error = ?err, "the ingest writer ended abnormally");
    }
    Ok(())
}

/// The whole application: API, UI and health check, with the common layers.
pub fn router(state: AppState) -> axum::Router {
    use axum::routing::get;
    use tower_http::catch_panic::CatchPanicLayer;
    use tower_http::trace::TraceLayer;

    let (api, _) = api::routes().split_for_parts();
    axum::Router::new()
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .merge(api)
        .merge(web::routes())
        .fallback(api::not_found)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(CatchPanicLayer::custom(api::panic_response))
        .layer(TraceLayer::new_for_http())
        .layer(tower_http::sensitive_headers::SetSensitiveHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
            axum::http::header::COOKIE,
            axum::http::header::SET_COOKIE,
        ]))
        .with_state(state)
}
