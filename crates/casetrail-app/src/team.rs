//! The firm's team in casetrail: inviting a user, changing a role, removing a user.
//! Each change commits with its `team.*` record; the last admin can be neither
//! demoted nor removed (decided by the store inside the same transaction).

use casetrail_core::{Actor, Change, FieldError, OwnActivity, RecordType, Related};
use casetrail_store::{AccountId, NewUser, Role, Transition, User, UserId};
use serde_json::{Map, Value};

use crate::credentials::hash_password_blocking;
use crate::{App, AppError, AppResult, AuditEvent};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 1024;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_NAME_CHARS: usize = 200;

/// A user to invite, checked; the password is still plain here.
#[derive(Clone)]
pub struct Invitation {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation").field("email", &self.email).field("role", &self.role).finish_non_exhaustive()
    }
}

/// A plausible address: one `@` with something on both sides and no spaces.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !domain.contains('@') && !email.chars().any(char::is_whitespace)
}

fn string_member(obj: &Map<String, Value>, key: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
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

/// `role`: `"admin"` or `"member"`.
pub fn parse_role(value: Option<&Value>) -> Result<Role, FieldError> {
    value
        .and_then(Value::as_str)
        .and_then(Role::from_key)
        .ok_or_else(|| FieldError::new("role", "must be \"admin\" or \"member\""))
}

/// Parses `{"email", "name", "role", "password"}`; every bad member is named.
pub fn parse_invitation(obj: &Map<String, Value>) -> Result<Invitation, Vec<FieldError>> {
    let mut errors = Vec::new();
    let email = string_member(obj, "email", MAX_EMAIL_CHARS, &mut errors);
    if !email.is_empty() && !valid_email(&email) {
        errors.push(FieldError::new("email", "must be an email address"));
    }
    let name = string_member(obj, "name", MAX_NAME_CHARS, &mut errors);
    let role = parse_role(obj.get("role")).map_err(|e| errors.push(e)).ok();
    let password = match obj.get("password") {
        Some(Value::String(p)) if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&p.chars().count()) => p.clone(),
        Some(Value::String(_)) => {
            let message = format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters");
            errors.push(FieldError::new("password", message));
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
    match role {
        Some(role) if errors.is_empty() => Ok(Invitation { email, name, role, password }),
        _ => Err(errors),
    }
}

fn user_record(u: &User) -> Related {
    Related { kind: RecordType::User, id: u.id.to_string(), name: Some(u.name.clone()) }
}

/// Creates the user and records `team.user_invited`.
pub async fn invite(app: &App, actor: &Actor, account: AccountId, invitation: Invitation) -> AppResult<User> {
    let password_hash = hash_password_blocking(invitation.password).await?;
    let user = NewUser {
        account_id: account,
        email: invitation.email,
        name: invitation.name,
        role: invitation.role,
        password_hash,
    };
    let actor = actor.clone();
    let record = Box::new(move |u: &User| {
        let description = format!("Invited {} ({}) as {}", u.name, u.email, u.role.key());
        let event = AuditEvent::new(actor, OwnActivity::UserInvited, description)
            .related(user_record(u))
            .metadata("email", u.email.clone())
            .metadata("role", u.role.key())
            .build();
        Some(event)
    });
    Ok(app.noted(app.store.create_user(user, record).await?).value)
}

/// Sets a user's role and records `team.user_role_changed`; the role it already
/// has records nothing.
pub async fn change_role(app: &App, actor: &Actor, account: AccountId, id: UserId, role: Role) -> AppResult<User> {
    let actor = actor.clone();
    let record = Box::new(move |t: &Transition<User>| {
        if t.before.role == t.after.role {
            return None;
        }
        let (before, after) = (t.before.role.key(), t.after.role.key());
        let description = format!("Changed {}'s role from {before} to {after}", t.after.name);
        let event = AuditEvent::new(actor, OwnActivity::UserRoleChanged, description)
            .related(user_record(&t.after))
            .changes(vec![Change { field: "role".into(), before: before.into(), after: after.into() }])
            .build();
        Some(event)
    });
    let changed = app.store.set_user_role(account, id, role, record).await?;
    changed.map(|r| app.noted(r).value.after).ok_or(AppError::NotFound("user"))
}

/// Removes a user (their sessions end at once) and records `team.user_removed`.
pub async fn remove(app: &App, actor: &Actor, account: AccountId, id: UserId) -> AppResult<User> {
    let actor = actor.clone();
    let record = Box::new(move |u: &User| {
        let event = AuditEvent::new(actor, OwnActivity::UserRemoved, format!("Removed {} ({})", u.name, u.email))
            .related(user_record(u))
            .metadata("email", u.email.clone())
            .metadata("role", u.role.key())
            .build();
        Some(event)
    });
    let removed = app.store.delete_user(account, id, record).await?;
    removed.map(|r| app.noted(r).value).ok_or(AppError::NotFound("user"))
}
