//! The one error type of the HTTP layer. It logs the whole cause chain and gives
//! the client only the docs/API.md §2 shape: `{"error": {"code", "message", "details"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use casetrail_app::AppError;
use casetrail_core::FieldError;
use casetrail_store::StoreError;
use serde::Serialize;

/// The `Retry-After` of a `503`: the pool opens a new connection on the next request,
/// so a client may try again as soon as the database is back.
pub const UNAVAILABLE_RETRY_SECS: u64 = 1;

/// A refusal or failure, already in the words of docs/API.md §2.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    pub retry_after: Option<u64>,
    /// The underlying cause, for the log only.
    pub source: Option<anyhow::Error>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), details: Vec::new(), retry_after: None, source: None }
    }

    /// The error shape for a refusal made below the handlers (the router, an axum
    /// extractor), from its status alone.
    pub fn from_status(status: StatusCode) -> ApiError {
        let code = match status {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::REQUEST_TIMEOUT => "request_timeout",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "bad_request",
        };
        let message = status.canonical_reason().unwrap_or("the request was refused").to_lowercase();
        ApiError::new(status, code, message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "missing or invalid credentials")
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "that method is not allowed here")
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
    }

    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn rate_limited(retry_after: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many attempts; try again later");
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// A 422 naming every bad field; the message is the first problem.
    pub fn validation(details: Vec<FieldError>) -> ApiError {
        let message = match details.first() {
            Some(first) => format!("{}: {}", first.field, first.message),
            None => "invalid request".to_string(),
        };
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message);
        e.details = details;
        e
    }

    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::validation(vec![FieldError::new(field, message)])
    }

    /// The database is out of reach: nothing was done (or, for a write cut off
    /// mid-commit, nothing was acknowledged), and the same request may succeed in a
    /// moment. The cause goes to the log only.
    pub fn unavailable(source: impl Into<anyhow::Error>) -> ApiError {
        let message = "the service cannot use its database just now; try again shortly";
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        e.retry_after = Some(UNAVAILABLE_RETRY_SECS);
        e.source = Some(source.into());
        e
    }

    /// The client sent its body too slowly; the rest of it is not waited for.
    pub fn request_timeout(limit: std::time::Duration) -> ApiError {
        let message = format!("the request body did not arrive within {}", in_seconds(limit));
        ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", message)
    }

    /// The server could not answer within its time limit; what it was doing was
    /// dropped (a write not yet committed was not acknowledged), and the same
    /// request may succeed in a moment.
    pub fn timed_out(limit: std::time::Duration) -> ApiError {
        let message = format!("the server could not answer within {}; try again shortly", in_seconds(limit));
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        e.retry_after = Some(UNAVAILABLE_RETRY_SECS);
        e
    }

    /// Something failed on our side; the cause goes to the log only.
    pub fn internal(source: impl Into<anyhow::Error>) -> ApiError {
        let mut e = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; it has been logged");
        e.source = Some(source.into());
        e
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::Conflict(code) => ApiError::conflict(code.message()),
            StoreError::UnknownAccount => ApiError::not_found("account"),
            unreachable @ StoreError::Unavailable(_) => ApiError::unavailable(unreachable),
            other => ApiError::internal(other),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> ApiError {
        match err {
            AppError::Invalid(errors) => ApiError::validation(errors),
            AppError::NotFound(what) => ApiError::not_found(what),
            AppError::Conflict(message) => ApiError::conflict(message),
            AppError::Store(err) => err.into(),
            AppError::Internal(err) => ApiError::internal(err),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    details: &'a [FieldError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.source {
            // One line per refused request during an outage: a warning, not an error.
            Some(source) if self.status == StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(code = self.code, error = ?source, "request refused: the database is unreachable");
            }
            Some(source) => tracing::error!(code = self.code, error = ?source, "request failed"),
            None => {}
        }
        let body = Body { error: Inner { code: self.code, message: &self.message, details: &self.details } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A time limit in words: "1 second", "30 seconds".
pub(crate) fn in_seconds(limit: std::time::Duration) -> String {
    match limit.as_secs() {
        1 => "1 second".to_string(),
        n => format!("{n} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use casetrail_app::writer::WriteError;

    use super::*;

    fn refused() -> StoreError {
        StoreError::unavailable(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "secret-host:5432 refused"))
    }

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// The whole 503 a client sees, and that nothing of the cause reaches it.
    async fn assert_unavailable_answer(response: Response) {
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let body = body_of(response).await;
        assert_eq!(body["error"]["code"], "unavailable");
        assert_eq!(body["error"]["message"], "the service cannot use its database just now; try again shortly");
        assert_eq!(body["error"]["details"], serde_json::json!([]));
        assert!(!body.to_string().contains("secret-host"), "{body}");
    }

    #[tokio::test]
    async fn an_unreachable_store_answers_503_in_the_error_shape() {
        assert_unavailable_answer(ApiError::from(refused()).into_response()).await;
        assert_unavailable_answer(ApiError::from(AppError::from(refused())).into_response()).await;
    }

    #[tokio::test]
    async fn an_ingest_the_writer_could_not_commit_for_want_of_a_database_answers_503() {
        let write = WriteError::Store(Arc::new(refused()));
        assert_unavailable_answer(ApiError::from(AppError::from(write)).into_response()).await;
    }

    #[tokio::test]
    async fn other_store_failures_stay_500_without_retry_after() {
        for err in [StoreError::backend(std::io::Error::other("disk")), StoreError::Corrupt("row 3".into())] {
            let response = ApiError::from(err).into_response();
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(response.headers().get(header::RETRY_AFTER).is_none());
            assert_eq!(body_of(response).await["error"]["code"], "internal");
        }
        let stopped = ApiError::from(AppError::from(WriteError::Stopped)).into_response();
        assert_eq!(stopped.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_bare_503_from_below_the_handlers_is_named_unavailable() {
        assert_eq!(ApiError::from_status(StatusCode::SERVICE_UNAVAILABLE).code, "unavailable");
    }
}
