//! `GET/POST /api/v1/api-keys`, `DELETE /api/v1/api-keys/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_core::{FieldError, RecordType, Related};
use casetrail_store::{ApiKey, NewApiKey, Scope};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{JsonBody, object_body, raw_json};
use crate::AppState;
use crate::audit::AuditEvent;
use crate::auth::{Principal, new_key_secret, token_hash};
use crate::error::{ApiError, ApiResult};

pub fn key_json(k: &ApiKey) -> Value {
    let scopes: Vec<&str> = k.scopes.iter().map(|s| s.key()).collect();
    json!({"id": k.id, "name": k.name, "scopes": scopes, "created_at": k.created_at,
           "last_used_at": k.last_used_at, "revoked_at": k.revoked_at})
}

fn key_record(k: &ApiKey) -> Related {
    Related {
        kind: RecordType::Setting,
        id: format!("api_key:{}", k.id),
        name: Some(format!("API key \"{}\"", k.name)),
    }
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "settings", responses((status = 200, description = "The account's keys, without secrets")))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let keys: Vec<Value> = state.store.api_keys(principal.account_id).await?.iter().map(key_json).collect();
    Ok(raw_json(StatusCode::OK, json!({ "api_keys": keys }).to_string()))
}

/// Parses `{"name", "scopes"}`.
fn parse_new_key(body: &Value) -> ApiResult<(String, Vec<Scope>)> {
    let obj = object_body(body, &["name", "scopes"])?;
    let mut errors = Vec::new();
    let name = match obj.get("name").and_then(Value::as_str).map(str::trim) {
        Some(n) if !n.is_empty() && n.chars().count() <= 200 => n.to_string(),
        _ => {
            errors.push(FieldError::new("name", "is required: a string of 1 to 200 characters"));
            String::new()
        }
    };
    let mut scopes = Vec::new();
    match obj.get("scopes").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            for (i, s) in list.iter().enumerate() {
                match s.as_str().and_then(Scope::from_key) {
                    Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
                    Some(_) => {}
                    None => {
                        errors.push(FieldError::new(format!("scopes[{i}]"), "must be \"events:write\" or \"admin\""))
                    }
                }
            }
        }
        _ => errors
            .push(FieldError::new("scopes", "is required: a non-empty array of \"events:write\" and/or \"admin\"")),
    }
    scopes.sort();
    if errors.is_empty() { Ok((name, scopes)) } else { Err(ApiError::validation(errors)) }
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "settings",
    responses((status = 201, description = "The key, with its secret shown this once as `key`"), (status = 422, description = "Invalid")))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let (name, scopes) = parse_new_key(&body)?;
    let secret = new_key_secret();
    let key = state
        .store
        .create_api_key(NewApiKey { account_id: principal.account_id, name, scopes, secret_hash: token_hash(&secret) })
        .await?;
    let scope_keys: Vec<&str> = key.scopes.iter().map(|s| s.key()).collect();
    let event = AuditEvent::new(
        principal.actor(),
        "settings.updated",
        format!("Created API key \"{}\" ({})", key.name, scope_keys.join(", ")),
    )
    .related(key_record(&key))
    .metadata("api_key_id", key.id.to_string())
    .metadata("scopes", scope_keys.clone())
    .build();
    state.record(principal.account_id, event).await?;
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
    let before = state
        .store
        .api_keys(principal.account_id)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if before.revoked_at.is_some() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let key =
        state.store.revoke_api_key(principal.account_id, id).await?.ok_or_else(|| ApiError::not_found("API key"))?;
    let event = AuditEvent::new(principal.actor(), "settings.updated", format!("Revoked API key \"{}\"", key.name))
        .related(key_record(&key))
        .metadata("api_key_id", key.id.to_string())
        .build();
    state.record(principal.account_id, event).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
