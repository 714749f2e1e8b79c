//! `GET/PUT /api/v1/settings/account`: the firm's name, time zone and CRM links.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_core::diff::diff;
use casetrail_core::{FieldError, RecordType, Related};
use casetrail_store::Account;
use serde_json::{Value, json};

use super::{JsonBody, object_body, raw_json};
use crate::AppState;
use crate::audit::AuditEvent;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

pub fn account_json(a: &Account) -> Value {
    json!({"name": a.name, "timezone": a.timezone, "record_urls": a.record_urls})
}

#[utoipa::path(get, path = "/api/v1/settings/account", tag = "settings",
    responses((status = 200, description = "name, timezone, record_urls")))]
pub async fn get_account(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let account = state.account(principal.account_id).await?;
    Ok(raw_json(StatusCode::OK, account_json(&account).to_string()))
}

/// Applies any of `name`, `timezone`, `record_urls`; every bad member is named.
pub fn apply_account_update(account: &mut Account, body: &Value) -> ApiResult<()> {
    let obj = object_body(body, &["name", "timezone", "record_urls"])?;
    let mut errors = Vec::new();
    if let Some(name) = obj.get("name") {
        match name.as_str().map(str::trim) {
            Some(n) if !n.is_empty() && n.chars().count() <= 200 => account.name = n.to_string(),
            Some(_) => errors.push(FieldError::new("name", "must be 1 to 200 characters")),
            None => errors.push(FieldError::new("name", "must be a string")),
        }
    }
    if let Some(tz) = obj.get("timezone") {
        match tz.as_str() {
            Some(name) if jiff::tz::TimeZone::get(name).is_ok() => account.timezone = name.to_string(),
            Some(name) => errors.push(FieldError::new(
                "timezone",
                format!("unknown IANA time zone {:?}", name.chars().take(64).collect::<String>()),
            )),
            None => errors.push(FieldError::new("timezone", "must be a string")),
        }
    }
    if let Some(urls) = obj.get("record_urls") {
        match urls.as_object() {
            None => errors.push(FieldError::new("record_urls", "must be an object of record type to URL template")),
            Some(map) => {
                let mut parsed = BTreeMap::new();
                for (kind, template) in map {
                    let field = format!("record_urls.{kind}");
                    if RecordType::from_key(kind).is_none() {
                        errors.push(FieldError::new(field, "unknown record type"));
                        continue;
                    }
                    match template {
                        Value::Null => {}
                        Value::String(t) if t.contains("{id}") && valid_template(t) => {
                            parsed.insert(kind.clone(), t.clone());
                        }
                        Value::String(_) => errors.push(FieldError::new(
                            field,
                            "must be an http(s) URL template containing {id}, at most 2000 characters",
                        )),
                        _ => errors.push(FieldError::new(field, "must be a string or null")),
                    }
                }
                account.record_urls = parsed;
            }
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

/// Only web links: a `javascript:` template would run in an admin's browser.
fn valid_template(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")) && t.chars().count() <= 2000
}

/// Stores an account change and records it as `settings.updated` with before/after.
pub async fn save_account(state: &AppState, principal: &Principal, before: &Account, after: &Account) -> ApiResult<()> {
    let changes = diff(
        account_json(before).as_object().unwrap_or(&Default::default()),
        account_json(after).as_object().unwrap_or(&Default::default()),
    );
    if changes.is_empty() {
        return Ok(());
    }
    state.store.update_account(after).await?;
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    let event = AuditEvent::new(
        principal.actor(),
        "settings.updated",
        format!("Updated account settings: {}", fields.join(", ")),
    )
    .related(Related { kind: RecordType::Setting, id: "account".into(), name: Some("Account settings".into()) })
    .changes(changes)
    .build();
    state.record(after.id, event).await?;
    Ok(())
}

#[utoipa::path(put, path = "/api/v1/settings/account", tag = "settings",
    responses((status = 200, description = "The updated settings"), (status = 422, description = "Unknown time zone or bad template")))]
pub async fn put_account(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let before = state.account(principal.account_id).await?;
    let mut after = before.clone();
    apply_account_update(&mut after, &body)?;
    save_account(&state, &principal, &before, &after).await?;
    Ok(raw_json(StatusCode::OK, account_json(&after).to_string()))
}
