//! `GET/POST /api/v1/streams`, `GET/PATCH/DELETE /api/v1/streams/{id}`,
//! `POST /api/v1/streams/{id}/replay` (docs/API.md §13), over `casetrail_app::streams`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::streams::settings::{CREATE_MEMBERS, PATCH_MEMBERS, parse_replay};
use casetrail_app::streams::{self, StreamOptions, view};
use casetrail_store::{Stream, StreamKind};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::schema::ErrorResponse;
use super::{JsonBody, object_body, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// A stream, as every answer shows it (documentation of the body's members).
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamObject {
    pub id: String,
    pub name: String,
    /// `webhook`, `splunk_hec` or `syslog`.
    pub kind: String,
    pub url: String,
    /// `json` or `ocsf`.
    pub format: String,
    /// Lists under `activity`, `actor`, `case`, `client`.
    #[schema(value_type = Object)]
    pub filters: Value,
    pub enabled: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The highest seq the receiver acknowledged (or the filters passed over).
    pub delivered_seq: u64,
    #[schema(format = DateTime, required = true)]
    pub last_delivery_at: Option<String>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// Consecutive failed deliveries.
    pub failures: u32,
    /// A webhook's signing secret: only in the answer that set it.
    #[schema(required = false)]
    pub secret: Option<String>,
    /// A Splunk HEC token: only in the answer that set it.
    #[schema(required = false)]
    pub token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StreamList {
    pub streams: Vec<StreamObject>,
}

fn options(state: &AppState) -> StreamOptions {
    state.config.stream_options()
}

/// The stream's view, with its secret or token when this answer set it.
fn with_secret(stream: &Stream, show_secret: bool) -> Value {
    let mut body = view(stream);
    if show_secret && let Some(secret) = &stream.settings.secret {
        let member = if stream.settings.kind == StreamKind::SplunkHec { "token" } else { "secret" };
        body[member] = json!(secret);
    }
    body
}

#[utoipa::path(get, path = "/api/v1/streams", tag = "streams",
    responses((status = 200, description = "The account's streams, without secrets", body = StreamList)))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let streams = state.store.streams(principal.account_id).await?;
    let body = json!({"streams": streams.iter().map(view).collect::<Vec<_>>()});
    typed_json(StatusCode::OK, &body)
}

#[utoipa::path(post, path = "/api/v1/streams", tag = "streams",
    request_body(content = Object, description = "name, kind, url, and optionally format, filters, enabled, secret, token, ca_cert, from_seq"),
    responses(
        (status = 201, description = "The stream, with its secret or token shown this once", body = StreamObject),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 422, description = "Invalid; every bad member named", body = ErrorResponse),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &CREATE_MEMBERS)?;
    let stream = streams::create(&state, options(&state), &principal.actor(), principal.account_id, obj).await?;
    typed_json(StatusCode::CREATED, &with_secret(&stream, true))
}

#[utoipa::path(get, path = "/api/v1/streams/{id}", tag = "streams",
    params(("id" = String, Path, description = "stream id")),
    responses(
        (status = 200, description = "The stream", body = StreamObject),
        (status = 404, description = "No such stream in your account", body = ErrorResponse),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let stream = streams::find(&state, principal.account_id, &id).await?;
    typed_json(StatusCode::OK, &view(&stream))
}

#[utoipa::path(patch, path = "/api/v1/streams/{id}", tag = "streams",
    params(("id" = String, Path, description = "stream id")),
    request_body(content = Object, description = "any of name, url, format, filters, enabled, secret, token, ca_cert"),
    responses(
        (status = 200, description = "The stream as changed", body = StreamObject),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 404, description = "No such stream in your account", body = ErrorResponse),
        (status = 422, description = "Invalid; every bad member named", body = ErrorResponse),
    ))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &PATCH_MEMBERS)?;
    let new_secret = obj.contains_key("secret") || obj.contains_key("token");
    let stream = streams::update(&state, options(&state), &principal.actor(), principal.account_id, &id, obj).await?;
    typed_json(StatusCode::OK, &with_secret(&stream, new_secret))
}

#[utoipa::path(delete, path = "/api/v1/streams/{id}", tag = "streams",
    params(("id" = String, Path, description = "stream id")),
    responses(
        (status = 204, description = "Deleted; delivery stops"),
        (status = 404, description = "No such stream in your account", body = ErrorResponse),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    streams::delete(&state, &principal.actor(), principal.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/streams/{id}/replay", tag = "streams",
    params(("id" = String, Path, description = "stream id")),
    request_body(content = Object, description = "{\"from_seq\": N}"),
    responses(
        (status = 200, description = "The stream, its position moved", body = StreamObject),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 404, description = "No such stream in your account", body = ErrorResponse),
        (status = 422, description = "from_seq missing or not a whole number of 1 or more", body = ErrorResponse),
    ))]
pub async fn replay(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["from_seq"])?;
    let from_seq = parse_replay(obj).map_err(ApiError::validation)?;
    let stream = streams::replay(&state, &principal.actor(), principal.account_id, &id, from_seq).await?;
    typed_json(StatusCode::OK, &view(&stream))
}
