//! `GET/POST /api/v1/users`, `PATCH/DELETE /api/v1/users/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::team::{self, parse_invitation, parse_role};
use casetrail_store::User;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{JsonBody, object_body, raw_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

pub fn user_json(u: &User) -> Value {
    json!({"id": u.id, "email": u.email, "name": u.name, "role": u.role.key(), "created_at": u.created_at})
}

#[utoipa::path(get, path = "/api/v1/users", tag = "team", responses((status = 200, description = "The account's users")))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let users: Vec<Value> = state.store.users(principal.account_id).await?.iter().map(user_json).collect();
    Ok(raw_json(StatusCode::OK, json!({ "users": users }).to_string()))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "team",
    responses((status = 201, description = "The user"), (status = 409, description = "Email already used"), (status = 422, description = "Invalid")))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["email", "name", "role", "password"])?;
    let invitation = parse_invitation(obj).map_err(ApiError::validation)?;
    let user = team::invite(&state, &principal.actor(), principal.account_id, invitation).await?;
    Ok(raw_json(StatusCode::CREATED, user_json(&user).to_string()))
}

fn parse_user_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("user"))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "team",
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, description = "The user"), (status = 404, description = "No such user")))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let id = parse_user_id(&id)?;
    let obj = object_body(&body, &["role"])?;
    let role = parse_role(obj.get("role")).map_err(|e| ApiError::validation(vec![e]))?;
    let after = team::change_role(&state, &principal.actor(), principal.account_id, id, role).await?;
    Ok(raw_json(StatusCode::OK, user_json(&after).to_string()))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "team",
    params(("id" = String, Path, description = "user id")),
    responses((status = 204, description = "Removed; their sessions end at once"), (status = 404, description = "No such user")))]
pub async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let id = parse_user_id(&id)?;
    team::remove(&state, &principal.actor(), principal.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
