//! API keys: creating one (its secret shown once) and revoking one, each recorded as
//! `settings.updated` in the same transaction.

use casetrail_core::{Actor, FieldError, OwnActivity, RecordType, Related};
use casetrail_store::{AccountId, ApiKey, KeyId, NewApiKey, Scope};
use serde_json::{Map, Value};

use crate::credentials::{new_key_secret, token_hash};
use crate::{App, AppError, AppResult, AuditEvent};

pub const MAX_NAME_CHARS: usize = 200;

fn key_record(k: &ApiKey) -> Related {
    Related {
        kind: RecordType::Setting,
        id: format!("api_key:{}", k.id),
        name: Some(format!("API key \"{}\"", k.name)),
    }
}

/// Parses `{"name", "scopes"}` into the key's name and its sorted, distinct scopes.
pub fn parse_new_key(obj: &Map<String, Value>) -> Result<(String, Vec<Scope>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = match obj.get("name").and_then(Value::as_str).map(str::trim) {
        Some(n) if !n.is_empty() && n.chars().count() <= MAX_NAME_CHARS => n.to_string(),
        _ => {
            errors.push(FieldError::new("name", format!("is required: a string of 1 to {MAX_NAME_CHARS} characters")));
            String::new()
        }
    };
    let mut scopes = Vec::new();
    match obj.get("scopes").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            for (i, s) in list.iter().enumerate() {
                match s.as_str().and_then(Scope::from_key) {
                    Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
                    Some(_) => {}
                    None => {
                        errors.push(FieldError::new(format!("scopes[{i}]"), "must be \"events:write\" or \"admin\""))
                    }
                }
            }
        }
        _ => errors
            .push(FieldError::new("scopes", "is required: a non-empty array of \"events:write\" and/or \"admin\"")),
    }
    scopes.sort();
    if errors.is_empty() { Ok((name, scopes)) } else { Err(errors) }
}

/// Creates a key and records it; answers the key and its secret (shown this once).
pub async fn create_key(
    app: &App,
    actor: &Actor,
    account: AccountId,
    name: String,
    scopes: Vec<Scope>,
) -> AppResult<(ApiKey, String)> {
    let secret = new_key_secret();
    let key = NewApiKey { account_id: account, name, scopes, secret_hash: token_hash(&secret) };
    let actor = actor.clone();
    let record = Box::new(move |k: &ApiKey| {
        let scopes: Vec<&str> = k.scopes.iter().map(|s| s.key()).collect();
        let description = format!("Created API key \"{}\" ({})", k.name, scopes.join(", "));
        let event = AuditEvent::new(actor, OwnActivity::SettingsUpdated, description)
            .related(key_record(k))
            .metadata("api_key_id", k.id.to_string())
            .metadata("scopes", scopes)
            .build();
        Some(event)
    });
    let created = app.noted(app.store.create_api_key(key, record).await?).value;
    Ok((created, secret))
}

/// Revokes a key (it stops working at once) and records it; revoking a key that is
/// already revoked changes and records nothing.
pub async fn revoke_key(app: &App, actor: &Actor, account: AccountId, id: KeyId) -> AppResult<ApiKey> {
    let actor = actor.clone();
    let record = Box::new(move |k: &ApiKey| {
        let event = AuditEvent::new(actor, OwnActivity::SettingsUpdated, format!("Revoked API key \"{}\"", k.name))
            .related(key_record(k))
            .metadata("api_key_id", k.id.to_string())
            .build();
        Some(event)
    });
    let revoked = app.store.revoke_api_key(account, id, record).await?;
    revoked.map(|r| app.noted(r).value).ok_or(AppError::NotFound("API key"))
}
