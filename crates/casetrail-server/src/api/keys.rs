//! `GET/POST /api/v1/api-keys`, `DELETE /api/v1/api-keys/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::keys::{create_key, parse_new_key, revoke_key};
use casetrail_core::Timestamp;
use casetrail_store::{ApiKey, KeyId};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{ErrorResponse, NewApiKey};
use super::{JsonBody, object_body, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

// Members are declared in alphabetical order: that is the order `json!` wrote them in
// (serde_json sorts an object's keys), so the bytes on the wire did not change.

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyBody<'a> {
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Uuid)]
    pub id: KeyId,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub last_used_at: Option<Timestamp>,
    pub name: &'a str,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub revoked_at: Option<Timestamp>,
    /// `events:write` and/or `admin`.
    pub scopes: Vec<&'static str>,
}

impl<'a> From<&'a ApiKey> for ApiKeyBody<'a> {
    fn from(k: &'a ApiKey) -> Self {
        ApiKeyBody {
            created_at: k.created_at,
            id: k.id,
            last_used_at: k.last_used_at,
            name: &k.name,
            revoked_at: k.revoked_at,
            scopes: k.scopes.iter().map(|s| s.key()).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList<'a> {
    pub api_keys: Vec<ApiKeyBody<'a>>,
}

/// A new key, with its secret: shown this once, never stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey<'a> {
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Uuid)]
    pub id: KeyId,
    /// The secret, starting with `ctk_`; send it as `Authorization: Bearer <key>`.
    pub key: &'a str,
    pub name: &'a str,
    pub scopes: Vec<&'static str>,
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "settings",
    responses((status = 200, description = "The account's keys, without secrets", body = ApiKeyList)))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let keys = state.store.api_keys(principal.account_id).await?;
    typed_json(StatusCode::OK, &ApiKeyList { api_keys: keys.iter().map(ApiKeyBody::from).collect() })
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "settings",
    request_body = NewApiKey,
    responses(
        (status = 201, description = "The key, with its secret shown this once as `key`", body = CreatedApiKey),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 422, description = "Invalid", body = ErrorResponse),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["name", "scopes"])?;
    let (name, scopes) = parse_new_key(obj).map_err(ApiError::validation)?;
    let (key, secret) = create_key(&state, &principal.actor(), principal.account_id, name, scopes).await?;
    let created = CreatedApiKey {
        created_at: key.created_at,
        id: key.id,
        key: &secret,
        name: &key.name,
        scopes: key.scopes.iter().map(|s| s.key()).collect(),
    };
    typed_json(StatusCode::CREATED, &created)
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "settings",
    params(("id" = String, Path, description = "key id")),
    responses(
        (status = 204, description = "Revoked; it stops working at once"),
        (status = 404, description = "No such key", body = ErrorResponse),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let id = id.parse::<KeyId>().map_err(|_| ApiError::not_found("API key"))?;
    revoke_key(&state, &principal.actor(), principal.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
