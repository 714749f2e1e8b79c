//! Retention policy, legal holds and purging (API.md §6 "Retention").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_core::{Change, FieldError, RecordType, Related, Timestamp};
use casetrail_store::{Account, Hold};
use serde_json::{Value, json};

use super::{JsonBody, QueryPairs, object_body, raw_json};
use crate::AppState;
use crate::audit::AuditEvent;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::retention::run_account;

pub const MIN_RETENTION_DAYS: u64 = 90;
pub const MAX_RETENTION_DAYS: u64 = 3650;

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

/// `retention_days`: a whole number from 90 to 3650, or null to keep forever.
pub fn parse_retention_days(value: Option<&Value>) -> Result<Option<u32>, FieldError> {
    let refuse =
        || FieldError::new("retention_days", "must be a whole number of days from 90 to 3650, or null to keep forever");
    match value {
        None => Err(FieldError::new("retention_days", "is required")),
        Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|d| (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(d))
            .map(|d| Some(d as u32))
            .ok_or_else(refuse),
        Some(_) => Err(refuse()),
    }
}

#[utoipa::path(put, path = "/api/v1/settings/retention", tag = "retention",
    responses((status = 200, description = "The policy"), (status = 422, description = "Not 90 to 3650 or null")))]
pub async fn put(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["retention_days"])?;
    let days = parse_retention_days(obj.get("retention_days")).map_err(|e| ApiError::validation(vec![e]))?;
    let before = state.account(principal.account_id).await?;
    let after = Account { retention_days: days, ..before.clone() };
    set_retention(&state, &principal, &before, &after).await?;
    Ok(raw_json(StatusCode::OK, retention_json(&state, &after).await?))
}

/// Stores a policy change and records it with before/after values.
pub async fn set_retention(
    state: &AppState,
    principal: &Principal,
    before: &Account,
    after: &Account,
) -> ApiResult<()> {
    if before.retention_days == after.retention_days {
        return Ok(());
    }
    state.store.update_account(after).await?;
    let show = |d: Option<u32>| d.map_or("forever".to_string(), |d| format!("{d} days"));
    let event = AuditEvent::new(
        principal.actor(),
        "system_log.retention_changed",
        format!("Changed retention from {} to {}", show(before.retention_days), show(after.retention_days)),
    )
    .changes(vec![Change {
        field: "retention_days".into(),
        before: before.retention_days.into(),
        after: after.retention_days.into(),
    }])
    .build();
    state.record(after.id, event).await?;
    Ok(())
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
    let before = state.account(principal.account_id).await?;
    let after = Account { legal_hold: on, ..before.clone() };
    set_legal_hold(&state, &principal, &before, &after).await?;
    Ok(raw_json(StatusCode::OK, retention_json(&state, &after).await?))
}

pub async fn set_legal_hold(
    state: &AppState,
    principal: &Principal,
    before: &Account,
    after: &Account,
) -> ApiResult<()> {
    if before.legal_hold == after.legal_hold {
        return Ok(());
    }
    state.store.update_account(after).await?;
    let what = if after.legal_hold { "Placed the account under legal hold" } else { "Lifted the account's legal hold" };
    let event = AuditEvent::new(principal.actor(), "system_log.legal_hold_changed", what)
        .changes(vec![Change {
            field: "legal_hold".into(),
            before: before.legal_hold.into(),
            after: after.legal_hold.into(),
        }])
        .build();
    state.record(after.id, event).await?;
    Ok(())
}

/// Holds are placed on cases and clients only.
pub fn holdable(kind: &str) -> Option<RecordType> {
    RecordType::from_key(kind).filter(|k| matches!(k, RecordType::Case | RecordType::Client))
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
    let mut errors = Vec::new();
    let kind = obj.get("type").and_then(Value::as_str).and_then(holdable);
    if kind.is_none() {
        errors.push(FieldError::new("type", "must be \"case\" or \"client\""));
    }
    let id =
        obj.get("id").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty() && s.chars().count() <= 10_000);
    if id.is_none() {
        errors.push(FieldError::new("id", "is required: the case or client id"));
    }
    let reason = match obj.get("reason") {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) if s.chars().count() <= 2_000 => Some(s.trim().to_string()),
        Some(_) => None,
    };
    if reason.is_none() {
        errors.push(FieldError::new("reason", "must be a string of at most 2000 characters"));
    }
    let (Some(kind), Some(id), Some(reason)) = (kind, id, reason) else { return Err(ApiError::validation(errors)) };
    let hold = Hold {
        account_id: principal.account_id,
        kind,
        id: id.to_string(),
        reason,
        created_by: principal.actor().name,
        created_at: Timestamp::now(),
    };
    state.store.add_hold(&hold).await?;
    record_hold_change(&state, &principal, &hold, true).await?;
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
    let hold =
        state.store.remove_hold(principal.account_id, kind, &id).await?.ok_or_else(|| ApiError::not_found("hold"))?;
    record_hold_change(&state, &principal, &hold, false).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/retention/run", tag = "retention",
    responses((status = 200, description = "{\"purged\": N}")))]
pub async fn run(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let account = state.account(principal.account_id).await?;
    let purged = run_account(state.store.as_ref(), &state.config.keys, &state.writer, &account, principal.actor())
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
    let Some(cutoff) = crate::retention::purge_cutoff(&account, Timestamp::now()) else {
        let body =
            json!({"events": 0, "oldest": null, "newest": null, "cutoff": null, "legal_hold": account.legal_hold});
        return Ok(raw_json(StatusCode::OK, body.to_string()));
    };
    let p = state.store.purge_preview(account.id, cutoff).await?;
    let body = json!({"events": p.events, "oldest": p.oldest, "newest": p.newest, "cutoff": cutoff, "legal_hold": account.legal_hold});
    Ok(raw_json(StatusCode::OK, body.to_string()))
}

/// Records a hold placed (`placed`) or lifted as `settings.updated` with before/after.
pub async fn record_hold_change(state: &AppState, principal: &Principal, hold: &Hold, placed: bool) -> ApiResult<()> {
    let (description, before, after) = if placed {
        (format!("Placed a legal hold on {} {}", hold.kind.key(), hold.id), Value::Null, json!({"reason": hold.reason}))
    } else {
        (
            format!("Lifted the legal hold on {} {}", hold.kind.key(), hold.id),
            json!({"reason": hold.reason}),
            Value::Null,
        )
    };
    let event = AuditEvent::new(principal.actor(), "settings.updated", description)
        .related(Related { kind: hold.kind, id: hold.id.clone(), name: None })
        .changes(vec![Change { field: format!("holds.{}.{}", hold.kind.key(), hold.id), before, after }])
        .build();
    state.record(principal.account_id, event).await?;
    Ok(())
}
