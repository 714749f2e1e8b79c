//! `GET/POST /api/v1/api-keys`, `DELETE /api/v1/api-keys/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::keys::{create_key, parse_new_key, revoke_key};
use casetrail_store::ApiKey;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{JsonBody, object_body, raw_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

pub fn key_json(k: &ApiKey) -> Value {
    let scopes: Vec<&str> = k.scopes.iter().map(|s| s.key()).collect();
    json!({"id": k.id, "name": k.name, "scopes": scopes, "created_at": k.created_at,
           "last_used_at": k.last_used_at, "revoked_at": k.revoked_at})
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "settings", responses((status = 200, description = "The account's keys, without secrets")))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let keys: Vec<Value> = state.store.api_keys(principal.account_id).await?.iter().map(key_json).collect();
    Ok(raw_json(StatusCode::OK, json!({ "api_keys": keys }).to_string()))
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "settings",
    responses((status = 201, description = "The key, with its secret shown this once as `key`"), (status = 422, description = "Invalid")))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["name", "scopes"])?;
    let (name, scopes) = parse_new_key(obj).map_err(ApiError::validation)?;
    let (key, secret) = create_key(&state, &principal.actor(), principal.account_id, name, scopes).await?;
    let scope_keys: Vec<&str> = key.scopes.iter().map(|s| s.key()).collect();
    let body =
        json!({"id": key.id, "name": key.name, "scopes": scope_keys, "created_at": key.created_at, "key": secret});
    Ok(raw_json(StatusCode::CREATED, body.to_string()))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "settings",
    params(("id" = String, Path, description = "key id")),
    responses((status = 204, description = "Revoked; it stops working at once"), (status = 404, description = "No such key")))]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("API key"))?;
    revoke_key(&state, &principal.actor(), principal.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
