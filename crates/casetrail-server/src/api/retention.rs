//! Retention policy, legal holds and purging (docs/API.md §6 "Retention").

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::holds::{holdable, lift_hold, parse_hold, place_hold};
use casetrail_app::retention::{
    dry_run, parse_categories, parse_retention_days, run_account, set_legal_hold, set_retention_policy,
};
use casetrail_core::{FieldError, Timestamp};
use casetrail_store::{Account, Hold};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::schema::{ErrorResponse, HoldableKind, LegalHoldUpdate, NewHold, RetentionUpdate};
use super::{JsonBody, QueryPairs, object_body, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

// Members are declared in alphabetical order: that is the order `json!` wrote them in
// (serde_json sorts an object's keys), so the bytes on the wire did not change.

/// A hold on one case or client: its events are kept past the retention window.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldBody<'a> {
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The display name of the user or key that placed it.
    pub created_by: &'a str,
    pub id: &'a str,
    pub reason: &'a str,
    #[serde(rename = "type")]
    #[schema(value_type = HoldableKind)]
    pub kind: &'static str,
}

impl<'a> From<&'a Hold> for HoldBody<'a> {
    fn from(h: &'a Hold) -> Self {
        HoldBody {
            created_at: h.created_at,
            created_by: &h.created_by,
            id: &h.id,
            reason: &h.reason,
            kind: h.kind.key(),
        }
    }
}

/// The retention policy and the holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionPolicy<'a> {
    /// Categories with a retention of their own: category key → days (`null`: kept
    /// forever). A category left out follows `retention_days`.
    #[schema(value_type = BTreeMap<String, Option<u32>>)]
    pub categories: &'a BTreeMap<String, Option<u32>>,
    pub holds: Vec<HoldBody<'a>>,
    /// While `true`, nothing of the account is purged.
    pub legal_hold: bool,
    /// `null` keeps events forever.
    #[schema(required = true)]
    pub retention_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurgeResult {
    /// The number of events this run removed.
    pub purged: u64,
}

/// What a purge would remove from one category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryPreview {
    /// Its events whose `occurred_at` is before this would go; `null` when none would
    /// (kept forever, or legal hold).
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub cutoff: Option<Timestamp>,
    pub events: u64,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub newest: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub oldest: Option<Timestamp>,
    /// Whether the category has a retention of its own (else it follows
    /// `retention_days`).
    pub own: bool,
    /// The days its events are kept; `null` keeps them forever.
    #[schema(required = true)]
    pub retention_days: Option<u32>,
}

/// What a purge would remove, in all and per category. `cutoff` is that of the
/// categories without a retention of their own; it, `oldest` and `newest` are `null`
/// when nothing of theirs may be purged (keep forever, or legal hold).
#[derive(Debug, Serialize, ToSchema)]
pub struct PurgePreviewBody {
    /// Every category of the catalog, by key.
    pub categories: BTreeMap<&'static str, CategoryPreview>,
    /// Events whose `occurred_at` is before this would go.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub cutoff: Option<Timestamp>,
    pub events: u64,
    pub legal_hold: bool,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub newest: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub oldest: Option<Timestamp>,
}

async fn retention_response(state: &AppState, account: &Account) -> ApiResult<Response> {
    let holds = state.store.holds(account.id).await?;
    let policy = RetentionPolicy {
        categories: &account.retention_categories,
        holds: holds.iter().map(HoldBody::from).collect(),
        legal_hold: account.legal_hold,
        retention_days: account.retention_days,
    };
    typed_json(StatusCode::OK, &policy)
}

#[utoipa::path(get, path = "/api/v1/settings/retention", tag = "retention",
    responses((status = 200, description = "The policy and the holds", body = RetentionPolicy)))]
pub async fn get(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let account = state.account(principal.account_id).await?;
    retention_response(&state, &account).await
}

#[utoipa::path(put, path = "/api/v1/settings/retention", tag = "retention",
    request_body = RetentionUpdate,
    responses(
        (status = 200, description = "The policy", body = RetentionPolicy),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 422, description = "Not 90 to 3650 or null, or an unknown category", body = ErrorResponse),
    ))]
pub async fn put(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["retention_days", "categories"])?;
    // `retention_days` may be left out only by a request that sets the categories.
    let mut errors = Vec::new();
    let days = match obj.get("retention_days") {
        None if obj.contains_key("categories") => None,
        value => match parse_retention_days(value) {
            Ok(days) => Some(days),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    let categories = match obj.get("categories").map(parse_categories) {
        Some(Ok(map)) => Some(map),
        Some(Err(e)) => {
            errors.extend(e);
            None
        }
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let after = set_retention_policy(&state, &principal.actor(), principal.account_id, days, categories).await?;
    retention_response(&state, &after).await
}

#[utoipa::path(put, path = "/api/v1/settings/legal-hold", tag = "retention",
    request_body = LegalHoldUpdate,
    responses(
        (status = 200, description = "The policy", body = RetentionPolicy),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 422, description = "legal_hold is not a boolean", body = ErrorResponse),
    ))]
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
    retention_response(&state, &after).await
}

#[utoipa::path(post, path = "/api/v1/holds", tag = "retention",
    request_body = NewHold,
    responses(
        (status = 201, description = "The hold", body = HoldBody),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 409, description = "Already held", body = ErrorResponse),
        (status = 422, description = "Invalid", body = ErrorResponse),
    ))]
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
    typed_json(StatusCode::CREATED, &HoldBody::from(&hold))
}

#[utoipa::path(delete, path = "/api/v1/holds/{type}/{id}", tag = "retention",
    params(("type" = String, Path, description = "case or client"), ("id" = String, Path, description = "record id")),
    responses((status = 204, description = "Lifted"), (status = 404, description = "No such hold", body = ErrorResponse)))]
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
    responses((status = 200, description = "How many events this run removed", body = PurgeResult)))]
pub async fn run(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let account = state.account(principal.account_id).await?;
    let purged =
        run_account(state.store.as_ref(), &state.keys, &state.metrics, &account, principal.actor(), &state.stop)
            .await
            .map_err(ApiError::internal)?;
    typed_json(StatusCode::OK, &PurgeResult { purged })
}

/// What a purge would remove now, or under another `retention_days` or `categories`
/// (a dry run).
#[utoipa::path(get, path = "/api/v1/retention/preview", tag = "retention",
    params(
        ("retention_days" = Option<String>, Query, description = "a policy to try instead of the current one"),
        ("categories" = Option<String>, Query,
            description = "category retentions to try instead of the current ones, as a JSON object"),
    ),
    responses(
        (status = 200, description = "What a purge would remove", body = PurgePreviewBody),
        (status = 400, description = "A policy that would be refused, or an unknown parameter", body = ErrorResponse),
    ))]
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
            "categories" => {
                let parsed: Value = serde_json::from_str(value)
                    .map_err(|_| ApiError::bad_request("categories: must be a JSON object"))?;
                account.retention_categories = parse_categories(&parsed).map_err(|errors| {
                    let e = &errors[0];
                    ApiError::bad_request(format!("{}: {}", e.field, e.message))
                })?;
            }
            other => return Err(ApiError::bad_request(format!("{other}: unknown query parameter"))),
        }
    }
    let (categories, total) = dry_run(&state, &account).await?;
    let default_cutoff = account.purge_cutoffs(Timestamp::now()).and_then(|c| c.cutoff);
    let preview = PurgePreviewBody {
        categories: categories
            .iter()
            .map(|c| {
                let body = CategoryPreview {
                    cutoff: c.cutoff,
                    events: c.preview.events,
                    newest: c.preview.newest,
                    oldest: c.preview.oldest,
                    own: c.own,
                    retention_days: c.days,
                };
                (c.category.key, body)
            })
            .collect(),
        cutoff: default_cutoff,
        events: total.events,
        legal_hold: account.legal_hold,
        newest: total.newest,
        oldest: total.oldest,
    };
    typed_json(StatusCode::OK, &preview)
}
