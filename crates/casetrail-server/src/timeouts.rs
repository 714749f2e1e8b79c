//! The handler's time limit: a request still being worked on after
//! [`Timeouts::handler`](crate::Timeouts) is dropped and answered `503` — in the API's
//! error shape under `/api/`, as a page elsewhere. The limit ends with the answer's
//! headers, so a download that is already streaming (the export) runs on.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Routes whose work must not be cut short halfway, as it grows with the log and the
/// caller asked for all of it: a purge run by hand removes batch after batch, and the
/// caller should learn what it removed; a verification walks the whole chain (a
/// minute or more for a few million events on a busy machine), and one cut short
/// tells the admin nothing. A client that gives up closes its connection, which
/// drops the work all the same.
const UNBOUNDED: &[&str] = &["/api/v1/retention/run", "/api/v1/integrity", crate::web::integrity::INTEGRITY_PATH];

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

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::{get, post};
    use tower::ServiceExt as _;

    use super::*;

    /// Every route answers after `work`, under a limit of `limit`.
    fn app(work: Duration, limit: Duration) -> Router {
        let slow = move || async move {
            tokio::time::sleep(work).await;
            "done"
        };
        Router::new()
            .route("/api/v1/events", get(slow))
            .route("/api/v1/integrity", get(slow))
            .route("/api/v1/integrity/checkpoints", get(slow))
            .route("/api/v1/retention/run", post(slow))
            .route(crate::web::integrity::INTEGRITY_PATH, post(slow))
            .layer(axum::middleware::from_fn_with_state(limit, limit_handler_time))
    }

    async fn status(app: &Router, method: &str, path: &str) -> StatusCode {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn only_whole_log_work_outlives_the_handler_limit() {
        let app = app(Duration::from_millis(300), Duration::from_millis(50));
        for (method, path) in [
            ("GET", "/api/v1/integrity"),
            ("POST", "/api/v1/retention/run"),
            ("POST", crate::web::integrity::INTEGRITY_PATH),
        ] {
            assert_eq!(status(&app, method, path).await, StatusCode::OK, "{method} {path}");
        }
        for (method, path) in [("GET", "/api/v1/events"), ("GET", "/api/v1/integrity/checkpoints")] {
            assert_eq!(status(&app, method, path).await, StatusCode::SERVICE_UNAVAILABLE, "{method} {path}");
        }
    }
}
