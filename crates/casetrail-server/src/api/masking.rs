//! `GET/PUT /api/v1/settings/masking`: which change fields and metadata members are
//! replaced by fingerprints at ingest (docs/API.md §14).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_app::masking::set_masking;
use casetrail_core::mask::parse_patterns;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schema::ErrorResponse;
use super::{JsonBody, object_body, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// The masking patterns: dotted paths, `*` for one whole segment, case ignored; a
/// pattern also masks everything under the path it matches.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MaskingSettings {
    #[schema(max_items = 100, value_type = Vec<String>, example = json!(["password", "*.password", "ssn"]))]
    pub fields: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/settings/masking", tag = "settings",
    responses((status = 200, description = "The masking patterns as last set", body = MaskingSettings)))]
pub async fn get(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let account = state.account(principal.account_id).await?;
    typed_json(StatusCode::OK, &MaskingSettings { fields: account.masking })
}

#[utoipa::path(put, path = "/api/v1/settings/masking", tag = "settings",
    request_body = MaskingSettings,
    responses(
        (status = 200, description = "The patterns as they now are", body = MaskingSettings),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 422, description = "A malformed pattern, named as fields[i], or more than 100", body = ErrorResponse),
    ))]
pub async fn put(State(state): State<AppState>, principal: Principal, JsonBody(body): JsonBody) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["fields"])?;
    let patterns = parse_patterns(obj.get("fields")).map_err(ApiError::validation)?;
    let after = set_masking(&state, &principal.actor(), principal.account_id, patterns).await?;
    typed_json(StatusCode::OK, &MaskingSettings { fields: after.masking })
}
