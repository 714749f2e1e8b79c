//! `GET/POST /api/v1/users`, `PATCH/DELETE /api/v1/users/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_core::{Change, FieldError, RecordType, Related};
use casetrail_store::{NewUser, Role, User};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{JsonBody, object_body, raw_json};
use crate::AppState;
use crate::audit::AuditEvent;
use crate::auth::{Principal, hash_password};
use crate::error::{ApiError, ApiResult};

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;

pub fn user_json(u: &User) -> Value {
    json!({"id": u.id, "email": u.email, "name": u.name, "role": u.role.key(), "created_at": u.created_at})
}

fn user_record(u: &User) -> Related {
    Related { kind: RecordType::User, id: u.id.to_string(), name: Some(u.name.clone()) }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "team", responses((status = 200, description = "The account's users")))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let users: Vec<Value> = state.store.users(principal.account_id).await?.iter().map(user_json).collect();
    Ok(raw_json(StatusCode::OK, json!({ "users": users }).to_string()))
}

fn string_member(obj: &serde_json::Map<String, Value>, key: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    match obj.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => s.trim().to_string(),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(key, format!("must be 1 to {max} characters")));
            String::new()
        }
        None | Some(Value::Null) => {
            errors.push(FieldError::new(key, "is required"));
            String::new()
        }
        Some(_) => {
            errors.push(FieldError::new(key, "must be a string"));
            String::new()
        }
    }
}

fn parse_role(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<Role> {
    let role = value.and_then(Value::as_str).and_then(Role::from_key);
    if role.is_none() {
        errors.push(FieldError::new("role", "must be \"admin\" or \"member\""));
    }
    role
}

/// A plausible address: one `@` with something on both sides and no spaces.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !domain.contains('@') && !email.chars().any(char::is_whitespace)
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
    let mut errors = Vec::new();
    let email = string_member(obj, "email", 254, &mut errors);
    if !email.is_empty() && !valid_email(&email) {
        errors.push(FieldError::new("email", "must be an email address"));
    }
    let name = string_member(obj, "name", 200, &mut errors);
    let role = parse_role(obj.get("role"), &mut errors);
    let password = match obj.get("password") {
        Some(Value::String(p)) if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&p.chars().count()) => p.clone(),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                "password",
                format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
            ));
            String::new()
        }
        None | Some(Value::Null) => {
            errors.push(FieldError::new("password", "is required"));
            String::new()
        }
        Some(_) => {
            errors.push(FieldError::new("password", "must be a string"));
            String::new()
        }
    };
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let user =
        state.store.create_user(NewUser { account_id: principal.account_id, email, name, role, password_hash }).await?;
    let event = AuditEvent::new(
        principal.actor(),
        "team.user_invited",
        format!("Invited {} ({}) as {}", user.name, user.email, role.key()),
    )
    .related(user_record(&user))
    .metadata("email", user.email.clone())
    .metadata("role", role.key())
    .build();
    state.record(principal.account_id, event).await?;
    Ok(raw_json(StatusCode::CREATED, user_json(&user).to_string()))
}

fn parse_user_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("user"))
}

/// Refuses to leave the account without an admin: nobody could then read its log.
async fn ensure_another_admin(state: &AppState, principal: &Principal, user: &User) -> ApiResult<()> {
    if user.role != Role::Admin {
        return Ok(());
    }
    let admins = state.store.users(principal.account_id).await?.into_iter().filter(|u| u.role == Role::Admin).count();
    if admins <= 1 {
        return Err(ApiError::conflict("the account's last admin cannot be demoted or removed"));
    }
    Ok(())
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
    let mut errors = Vec::new();
    let role = parse_role(obj.get("role"), &mut errors).ok_or_else(|| ApiError::validation(errors))?;
    let before = state.store.user(principal.account_id, id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    if before.role == role {
        return Ok(raw_json(StatusCode::OK, user_json(&before).to_string()));
    }
    if role == Role::Member {
        ensure_another_admin(&state, &principal, &before).await?;
    }
    let after =
        state.store.set_user_role(principal.account_id, id, role).await?.ok_or_else(|| ApiError::not_found("user"))?;
    let event = AuditEvent::new(
        principal.actor(),
        "team.user_role_changed",
        format!("Changed {}'s role from {} to {}", after.name, before.role.key(), role.key()),
    )
    .related(user_record(&after))
    .changes(vec![Change { field: "role".into(), before: before.role.key().into(), after: role.key().into() }])
    .build();
    state.record(principal.account_id, event).await?;
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
    let user = state.store.user(principal.account_id, id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    ensure_another_admin(&state, &principal, &user).await?;
    if !state.store.delete_user(principal.account_id, id).await? {
        return Err(ApiError::not_found("user"));
    }
    let event =
        AuditEvent::new(principal.actor(), "team.user_removed", format!("Removed {} ({})", user.name, user.email))
            .related(user_record(&user))
            .metadata("email", user.email.clone())
            .metadata("role", user.role.key())
            .build();
    state.record(principal.account_id, event).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
