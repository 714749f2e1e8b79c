//! Retention policy, legal holds and purging (API.md §6 "Retention").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::holds::{holdable, lift_hold, parse_hold, place_hold};
use casetrail_app::retention::{parse_retention_days, run_account, set_legal_hold, set_retention};
use casetrail_core::{FieldError, Timestamp};
use casetrail_store::{Account, Hold};
use serde_json::{Value, json};

use super::{JsonBody, QueryPairs, object_body, raw_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

fn hold_json(h: &Hold) -> Value {
    json!({"type": h.kind.key(), "id": h.id, "reason": h.reason, "created_by": h.created_by, "created_at": h.created_at})
}

async fn retention_json(state: &AppState, account: &Account) -> ApiResult<String> {
    let holds: Vec<Value> = state.store.holds(account.id).await?.iter().map(hold_json).collect();
    Ok(json!({"retention_days": account.retention_days, "legal_hold": account.legal_hold, "holds": holds}).to_string())
}

#[utoipa::path(get, path = "/api/v1/settings/retention", tag = "retention",
    responses((status = 200, description = "retention_days, legal_hold, holds")))]
pub async fn get(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let account = state.account(principal.account_id).await?;
    Ok(raw_json(StatusCode::OK, retention_json(&state, &account).await?))
}

#[utoipa::path(put, path = "/api/v1/settings/retention", tag = "retention",
    responses((status = 200, description = "The policy"), (status = 422, description = "Not 90 to 3650 or null")))]
pub async fn put(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["retention_days"])?;
    let days = parse_retention_days(obj.get("retention_days")).map_err(|e| ApiError::validation(vec![e]))?;
    let after = set_retention(&state, &principal.actor(), principal.account_id, days).await?;
    Ok(raw_json(StatusCode::OK, retention_json(&state, &after).await?))
}

#[utoipa::path(put, path = "/api/v1/settings/legal-hold", tag = "retention",
    responses((status = 200, description = "The policy"), (status = 422, description = "legal_hold is not a boolean")))]
pub async fn put_legal_hold(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["legal_hold"])?;
    let on = obj
        .get("legal_hold")
        .and_then(Value::as_bool)
        .ok_or_else(|| ApiError::field("legal_hold", "must be true or false"))?;
    let after = set_legal_hold(&state, &principal.actor(), principal.account_id, on).await?;
    Ok(raw_json(StatusCode::OK, retention_json(&state, &after).await?))
}

#[utoipa::path(post, path = "/api/v1/holds", tag = "retention",
    responses((status = 201, description = "The hold"), (status = 409, description = "Already held"), (status = 422, description = "Invalid")))]
pub async fn add_hold(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["type", "id", "reason"])?;
    let text = |key: &str| obj.get(key).and_then(Value::as_str);
    let parsed = parse_hold(text("type"), text("id"), text("reason"));
    let reason_is_text = matches!(obj.get("reason"), None | Some(Value::Null | Value::String(_)));
    let request = match parsed {
        Ok(request) if reason_is_text => request,
        outcome => {
            let mut errors = outcome.err().unwrap_or_default();
            if !reason_is_text {
                errors.push(FieldError::new("reason", "must be a string of at most 2000 characters"));
            }
            return Err(ApiError::validation(errors));
        }
    };
    let hold = place_hold(&state, &principal.actor(), principal.account_id, request).await?;
    Ok(raw_json(StatusCode::CREATED, hold_json(&hold).to_string()))
}

#[utoipa::path(delete, path = "/api/v1/holds/{type}/{id}", tag = "retention",
    params(("type" = String, Path, description = "case or client"), ("id" = String, Path, description = "record id")),
    responses((status = 204, description = "Lifted"), (status = 404, description = "No such hold")))]
pub async fn remove_hold(
    State(state): State<AppState>,
    principal: Principal,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let kind = holdable(&kind).ok_or_else(|| ApiError::not_found("hold"))?;
    lift_hold(&state, &principal.actor(), principal.account_id, kind, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/retention/run", tag = "retention",
    responses((status = 200, description = "{\"purged\": N}")))]
pub async fn run(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let account = state.account(principal.account_id).await?;
    let purged = run_account(state.store.as_ref(), &state.keys, &account, principal.actor(), &state.stop)
        .await
        .map_err(ApiError::internal)?;
    Ok(raw_json(StatusCode::OK, json!({ "purged": purged }).to_string()))
}

/// What a purge would remove now, or under another `retention_days` (a dry run).
#[utoipa::path(get, path = "/api/v1/retention/preview", tag = "retention",
    params(("retention_days" = Option<String>, Query, description = "a policy to try instead of the current one")),
    responses((status = 200, description = "events, oldest, newest, cutoff")))]
pub async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let mut account = state.account(principal.account_id).await?;
    for (key, value) in &params {
        match key.as_str() {
            "retention_days" => {
                let parsed: Value = serde_json::from_str(value).unwrap_or(Value::String(value.clone()));
                account.retention_days =
                    parse_retention_days(Some(&parsed)).map_err(|e| ApiError::bad_request(e.message))?;
            }
            other => return Err(ApiError::bad_request(format!("{other}: unknown query parameter"))),
        }
    }
    let Some(cutoff) = account.purge_cutoff(Timestamp::now()) else {
        let body =
            json!({"events": 0, "oldest": null, "newest": null, "cutoff": null, "legal_hold": account.legal_hold});
        return Ok(raw_json(StatusCode::OK, body.to_string()));
    };
    let p = state.store.purge_preview(account.id, cutoff).await?;
    let body = json!({"events": p.events, "oldest": p.oldest, "newest": p.newest, "cutoff": cutoff, "legal_hold": account.legal_hold});
    Ok(raw_json(StatusCode::OK, body.to_string()))
}
