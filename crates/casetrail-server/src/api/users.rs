//! `GET/POST /api/v1/users`, `PATCH/DELETE /api/v1/users/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::team::{self, parse_invitation, parse_role};
use casetrail_core::Timestamp;
use casetrail_store::{User, UserId};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{ErrorResponse, NewUser, RoleChange, RoleName};
use super::{JsonBody, object_body, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

// Members are declared in alphabetical order: that is the order `json!` wrote them in
// (serde_json sorts an object's keys), so the bytes on the wire did not change.

/// A user of the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody<'a> {
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub email: &'a str,
    #[schema(value_type = Uuid)]
    pub id: UserId,
    pub name: &'a str,
    #[schema(value_type = RoleName)]
    pub role: &'static str,
}

impl<'a> From<&'a User> for UserBody<'a> {
    fn from(u: &'a User) -> Self {
        UserBody { created_at: u.created_at, email: &u.email, id: u.id, name: &u.name, role: u.role.key() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList<'a> {
    pub users: Vec<UserBody<'a>>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "team",
    responses((status = 200, description = "The account's users", body = UserList)))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let users = state.store.users(principal.account_id).await?;
    typed_json(StatusCode::OK, &UserList { users: users.iter().map(UserBody::from).collect() })
}

#[utoipa::path(post, path = "/api/v1/users", tag = "team",
    request_body = NewUser,
    responses(
        (status = 201, description = "The user", body = UserBody),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 409, description = "Email already used", body = ErrorResponse),
        (status = 422, description = "Invalid", body = ErrorResponse),
    ))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let obj = object_body(&body, &["email", "name", "role", "password"])?;
    let invitation = parse_invitation(obj).map_err(ApiError::validation)?;
    let user = team::invite(&state, &principal.actor(), principal.account_id, invitation).await?;
    typed_json(StatusCode::CREATED, &UserBody::from(&user))
}

fn parse_user_id(id: &str) -> ApiResult<UserId> {
    id.parse::<UserId>().map_err(|_| ApiError::not_found("user"))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "team",
    params(("id" = String, Path, description = "user id")),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The user", body = UserBody),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 404, description = "No such user", body = ErrorResponse),
        (status = 409, description = "It would demote the account's last admin", body = ErrorResponse),
        (status = 422, description = "Not admin or member", body = ErrorResponse),
    ))]
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
    typed_json(StatusCode::OK, &UserBody::from(&after))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "team",
    params(("id" = String, Path, description = "user id")),
    responses(
        (status = 204, description = "Removed; their sessions end at once"),
        (status = 404, description = "No such user", body = ErrorResponse),
        (status = 409, description = "It would remove the account's last admin", body = ErrorResponse),
    ))]
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
