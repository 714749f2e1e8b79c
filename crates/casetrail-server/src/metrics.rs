//! `GET /metrics` (docs/API.md §13) and the layer that counts every request by its
//! route *template* (axum's `MatchedPath`), never by its path: a path carries ids,
//! and no label may name an account, a user, a key or event content.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use casetrail_app::metrics::{CONTENT_TYPE, Metrics};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The token `/metrics` asks for (`metrics_token`); never shown in `Debug`.
#[derive(Clone)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// `None` for an empty token: that would let anyone in.
    pub fn new(token: &str) -> Option<MetricsToken> {
        let token = token.trim();
        (!token.is_empty()).then(|| MetricsToken(token.to_string()))
    }

    fn admits(&self, sent: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.as_bytes().ct_eq(sent.as_bytes()))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// The label of requests that matched no route (the 404 fallback).
const UNMATCHED: &str = "unmatched";

/// Counts each answered request by route template and status, with its duration.
pub async fn count_requests(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or(UNMATCHED);
    metrics.answered(route, response.status().as_u16(), started.elapsed());
    response
}

/// The metrics in the text format Prometheus scrapes.
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> ApiResult<Response> {
    if let Some(token) = &state.config.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        if !sent.is_some_and(|t| token.admits(t)) {
            return Err(ApiError::unauthenticated());
        }
    }
    let gauges = casetrail_app::streams::gauges(&state).await?;
    let text = state.app.metrics.render(&gauges);
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE), (header::CACHE_CONTROL, "no-store")], text)
        .into_response())
}
