//! The `/api/v1` endpoints. Each handler carries its `#[utoipa::path]`, and routes are
//! registered through `utoipa_axum`, so the OpenAPI document is built from the very
//! table that routes requests and cannot drift from it.

mod document;
mod events;
mod export;
mod feed;
pub mod history;
mod integrity;
mod keys;
mod masking;
mod pickers;
mod proofs;
pub mod retention;
pub mod schema;
mod settings;
mod streams;
mod users;

use std::any::Any;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

pub use casetrail_app::team::valid_email;
pub use events::{api_json, browse_query};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "casetrail", description = "The System Log of a law firm's account: a tamper-evident audit trail."),
    tags((name = "events"), (name = "settings"), (name = "team"), (name = "integrity"), (name = "retention"), (name = "streams"), (name = "meta"))
)]
struct ApiDoc;

/// Every `/api/v1` route with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(events::ingest, events::list))
        .routes(routes!(export::export))
        .routes(routes!(events::get_one))
        .routes(routes!(feed::feed))
        .routes(routes!(events::activity_types))
        .routes(routes!(pickers::actors))
        .routes(routes!(pickers::records))
        .routes(routes!(history::get))
        .routes(routes!(settings::get_account, settings::put_account))
        .routes(routes!(masking::get, masking::put))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update, users::remove))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::revoke))
        .routes(routes!(integrity::verify))
        .routes(routes!(integrity::create_checkpoint, integrity::list_checkpoints))
        .routes(routes!(integrity::public_key))
        .routes(routes!(integrity::public_keys))
        .routes(routes!(proofs::inclusion))
        .routes(routes!(proofs::consistency))
        .routes(routes!(retention::get, retention::put))
        .routes(routes!(retention::put_legal_hold))
        .routes(routes!(retention::add_hold))
        .routes(routes!(retention::remove_hold))
        .routes(routes!(retention::run))
        .routes(routes!(retention::preview))
        .routes(routes!(streams::list, streams::create))
        .routes(routes!(streams::get_one, streams::update, streams::remove))
        .routes(routes!(streams::replay))
        .routes(routes!(openapi_json))
}

/// The OpenAPI 3.1 description of every `/api/v1` endpoint.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
async fn openapi_json() -> Response {
    let (_, doc) = routes().split_for_parts();
    axum::Json(document::with_credentials(doc)).into_response()
}

/// Unknown paths: a JSON 404 in the contract's shape.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

/// Whatever the layers below the handlers refuse (a path segment that is not UTF-8,
/// a rejected extractor) answers in the error shape too, not in axum's plain text.
pub async fn errors_in_the_api_shape(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let mut shaped = ApiError::from_status(status).into_response();
        for name in [header::RETRY_AFTER, header::ALLOW] {
            if let Some(value) = response.headers().get(&name) {
                shaped.headers_mut().insert(name, value.clone());
            }
        }
        return shaped;
    }
    response
}

/// A known path with a method it does not serve: a JSON 405 in the error shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// A panic in a handler becomes a plain 500 without internals.
pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
}

/// A JSON request body: at most [`MAX_BODY_BYTES`] (413), well-formed UTF-8 JSON
/// (400). Rejections use the contract's error shape.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        // A body declared as something else (a form, text) is refused rather than
        // guessed at; no type at all is read as JSON, as clients that omit it expect.
        if let Some(kind) = req.headers().get(header::CONTENT_TYPE) {
            let essence = kind.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(ApiError::unsupported_media_type("send the body as application/json"));
            }
        }
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await.map_err(|err| {
            // A body cut off by the server's time limit, or one over the size limit.
            match crate::connections::is_body_timeout(&err) {
                Some(limit) => ApiError::request_timeout(limit),
                None => too_large(),
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("the request body is empty; send a JSON object"));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("malformed JSON at line {} column {}", e.line(), e.column())))
    }
}

fn too_large() -> ApiError {
    ApiError::too_large("the request body is over 1 MiB")
}

/// The query string as ordered pairs, repeated names kept.
#[derive(Debug, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryPairs(form_urlencoded::parse(query.as_bytes()).into_owned().collect()))
    }
}

/// A JSON text response that is already serialized.
pub fn raw_json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A typed JSON response.
pub fn typed_json<T: Serialize>(status: StatusCode, body: &T) -> ApiResult<Response> {
    let text = serde_json::to_string(body).map_err(ApiError::internal)?;
    Ok(raw_json(status, text))
}

/// Reads `{"field": ...}` members of an update body, refusing unknown ones.
pub fn object_body<'a>(body: &'a Value, known: &[&str]) -> Result<&'a serde_json::Map<String, Value>, ApiError> {
    let obj = body.as_object().ok_or_else(|| ApiError::field("body", "must be a JSON object"))?;
    let unknown: Vec<_> = obj
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| casetrail_core::FieldError::new(k.as_str(), "unknown member"))
        .collect();
    if unknown.is_empty() { Ok(obj) } else { Err(ApiError::validation(unknown)) }
}
