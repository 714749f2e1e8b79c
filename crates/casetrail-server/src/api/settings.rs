//! `GET/PUT /api/v1/settings/account`: the firm's name, time zone and CRM links.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_app::settings::{PROFILE_MEMBERS, parse_profile_update, profile_json, update_profile};

use super::schema::{AccountSettings, AccountSettingsUpdate, ErrorResponse};
use super::{JsonBody, object_body, raw_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

#[utoipa::path(get, path = "/api/v1/settings/account", tag = "settings",
    responses((status = 200, description = "The account's settings", body = AccountSettings)))]
pub async fn get_account(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let account = state.account(principal.account_id).await?;
    Ok(raw_json(StatusCode::OK, profile_json(&account).to_string()))
}

#[utoipa::path(put, path = "/api/v1/settings/account", tag = "settings",
    request_body = AccountSettingsUpdate,
    responses(
        (status = 200, description = "The settings as they now are", body = AccountSettings),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 422, description = "Unknown time zone or bad template", body = ErrorResponse),
    ))]
pub async fn put_account(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &PROFILE_MEMBERS)?;
    let update = parse_profile_update(obj).map_err(ApiError::validation)?;
    let after = update_profile(&state, &principal.actor(), principal.account_id, update).await?;
    Ok(raw_json(StatusCode::OK, profile_json(&after).to_string()))
}
