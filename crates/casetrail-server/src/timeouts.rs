//! The handler's time limit: a request still being worked on after
//! [`Timeouts::handler`](crate::Timeouts) is dropped and answered `503` — in the API's
//! error shape under `/api/`, as a page elsewhere. The limit ends with the answer's
//! headers, so a download that is already streaming (the export) runs on.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Routes whose work must not be cut short halfway: a purge run by hand removes
/// batch after batch, and the caller should learn what it removed.
const UNBOUNDED: &[&str] = &["/api/v1/retention/run"];

pub(crate) async fn limit_handler_time(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if UNBOUNDED.contains(&path.as_str()) {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(path, limit_secs = limit.as_secs(), "a request took too long and was dropped");
            if path.starts_with("/api/") {
                ApiError::timed_out(limit).into_response()
            } else {
                crate::web::timed_out_page(limit)
            }
        }
    }
}
