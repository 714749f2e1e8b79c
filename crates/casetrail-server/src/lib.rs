//! The casetrail HTTP server: the JSON API, the web UI and authentication, as thin
//! adapters over the application's operations (`casetrail-app`).
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
//! sessions, roles), [`web`] (sign-in and pages), [`error`] (the one error type),
//! [`health`] (`/healthz` asks the database, cached; `/livez` does not). What
//! the handlers *do* lives in `casetrail-app`; they parse, authorize and answer.
//! [`serve`] registers the server's signing key in the database, runs the
//! application's background tasks (`casetrail_app::tasks`, and the watch on the key
//! file) and, on shutdown, lets them and any export being written finish before the
//! ingest writer drains.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
mod connections;
pub mod error;
pub mod health;
mod limiter;
pub mod metrics;
mod state;
mod timeouts;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use casetrail_store::Store;
use tokio::net::TcpListener;

pub use state::{AppState, ServerConfig, Timeouts};

/// Serves until `shutdown` resolves, then lets in-flight requests finish and waits
/// for the writer to commit everything it accepted.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The key is in the database's ring before it signs anything, so whatever this
    // server signs verifies on every server.
    casetrail_app::signing::register(store.as_ref(), &config.keys).await.map_err(std::io::Error::other)?;
    let (app, writer_task) = casetrail_app::App::start(store, config.keys.clone(), config.checkpoint_every);
    let schedule = casetrail_app::tasks::Schedule {
        retention_every: config.retention_every,
        retention_first_after: config.retention_first_after,
        ..casetrail_app::tasks::Schedule::default()
    };
    let key_source = config.key_source.clone().map(|source| (source, config.key_poll));
    let state = AppState::new(app.clone(), config);
    let background = state.background.clone();
    let stop = state.stop.clone();
    if let Some((source, every)) = key_source {
        background.spawn(casetrail_app::signing::watch::follow(app.clone(), source, every, stop.clone()));
    }
    let streams = state.config.stream_options();
    background.spawn(casetrail_app::streams::deliver::run(app.clone(), streams, stop.clone()));
    background.spawn(casetrail_app::tasks::run(app, schedule, stop.clone()));
    let timeouts = state.config.timeouts;
    connections::serve_connections(listener, router(state), timeouts, shutdown).await;
    // The periodic work and any export still being written hold writer handles:
    // they stop at their next safe point (a purge batch finishes and is recorded).
    stop.cancel();
    background.close();
    background.wait().await;
    // Every handle to the writer went with the router and the tasks; it drains and ends.
    if let Err(err) = writer_task.await {
        tracing::error!(error = ?err, "the ingest writer ended abnormally");
    }
    Ok(())
}

/// The largest form body any page accepts; the biggest real one (a hold with its
/// 2000-character reason, percent-encoded) is far below it.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The whole application: API, UI and health check, with the common layers.
pub fn router(state: AppState) -> axum::Router {
    use axum::http::{HeaderValue, header};
    use axum::routing::get;
    use tower_http::catch_panic::CatchPanicLayer;
    use tower_http::set_header::SetResponseHeaderLayer;
    use tower_http::trace::TraceLayer;

    let https_only = state.config.secure_cookies;
    // API answers carry log data: no cache may keep them, no browser may sniff them
    // into something else.
    let (api, _) = api::routes().split_for_parts();
    let api = api
        .layer(axum::middleware::map_response(api::errors_in_the_api_shape))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")));
    let mut router = axum::Router::new()
        .route("/healthz", get(health::healthz))
        .route("/livez", get(health::livez))
        .route("/metrics", get(metrics::metrics))
        .merge(api)
        .merge(web::routes())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        // Forms (sign-in, the admin's pages) are read whole before anything checks
        // them, so they get a small cap; `JsonBody` reads the API's bodies with its
        // own 1 MiB cap and answers 413 in the API's error shape.
        .layer(axum::extract::DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.config.timeouts.handler, timeouts::limit_handler_time))
        .layer(CatchPanicLayer::custom(api::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.app.metrics.clone(), metrics::count_requests))
        .layer(TraceLayer::new_for_http())
        .layer(tower_http::sensitive_headers::SetSensitiveHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
            axum::http::header::COOKIE,
            axum::http::header::SET_COOKIE,
        ]))
        .with_state(state);
    if https_only {
        // Served over TLS (that is what `secure_cookies` says): browsers must not
        // try plain HTTP again, where a cookie or a log page could be read on the way.
        let hsts = HeaderValue::from_static("max-age=31536000");
        router = router.layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, hsts));
    }
    router
}
