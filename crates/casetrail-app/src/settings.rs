//! The account's profile: its name, time zone and the URL templates that link a
//! related record to the CRM. A change is recorded as `settings.updated` with the
//! before and after values of each member it changed.

use std::collections::BTreeMap;

use casetrail_core::diff::diff;
use casetrail_core::{Actor, FieldError, OwnActivity, RecordType, Related, Zone};
use casetrail_store::{Account, AccountChange, AccountId, ProfileUpdate, Transition};
use serde_json::{Map, Value, json};

use crate::{App, AppResult, AuditEvent};

/// The members of a profile update, by name.
pub const PROFILE_MEMBERS: [&str; 3] = ["name", "timezone", "record_urls"];
const MAX_NAME_CHARS: usize = 200;
const MAX_TEMPLATE_CHARS: usize = 2000;

/// The profile as the API shows it, and as its changes are diffed.
pub fn profile_json(a: &Account) -> Value {
    json!({"name": a.name, "timezone": a.timezone, "record_urls": a.record_urls})
}

/// Parses any of `name`, `timezone`, `record_urls`; every bad member is named.
pub fn parse_profile_update(obj: &Map<String, Value>) -> Result<ProfileUpdate, Vec<FieldError>> {
    let mut update = ProfileUpdate::default();
    let mut errors = Vec::new();
    if let Some(name) = obj.get("name") {
        match name.as_str().map(str::trim) {
            Some(n) if !n.is_empty() && n.chars().count() <= MAX_NAME_CHARS => update.name = Some(n.to_string()),
            Some(_) => errors.push(FieldError::new("name", format!("must be 1 to {MAX_NAME_CHARS} characters"))),
            None => errors.push(FieldError::new("name", "must be a string")),
        }
    }
    if let Some(tz) = obj.get("timezone") {
        match tz.as_str() {
            Some(name) => match Zone::parse(name) {
                Some(zone) => update.timezone = Some(zone),
                None => errors.push(FieldError::new(
                    "timezone",
                    format!("unknown IANA time zone {:?}", name.chars().take(64).collect::<String>()),
                )),
            },
            None => errors.push(FieldError::new("timezone", "must be a string")),
        }
    }
    if let Some(urls) = obj.get("record_urls") {
        match parse_record_urls(urls) {
            Ok(parsed) => update.record_urls = Some(parsed),
            Err(mut more) => errors.append(&mut more),
        }
    }
    if errors.is_empty() { Ok(update) } else { Err(errors) }
}

fn parse_record_urls(urls: &Value) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
    let Some(map) = urls.as_object() else {
        return Err(vec![FieldError::new("record_urls", "must be an object of record type to URL template")]);
    };
    let mut parsed = BTreeMap::new();
    let mut errors = Vec::new();
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
                format!("must be an http(s) URL template containing {{id}}, at most {MAX_TEMPLATE_CHARS} characters"),
            )),
            _ => errors.push(FieldError::new(field, "must be a string or null")),
        }
    }
    if errors.is_empty() { Ok(parsed) } else { Err(errors) }
}

/// Only web links: a `javascript:` template would run in an admin's browser.
fn valid_template(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")) && t.chars().count() <= MAX_TEMPLATE_CHARS
}

/// Applies a profile update and records it, in one transaction; an update that
/// changes nothing records nothing. Answers the account as it now is.
pub async fn update_profile(app: &App, actor: &Actor, account: AccountId, update: ProfileUpdate) -> AppResult<Account> {
    let actor = actor.clone();
    let record = Box::new(move |t: &Transition<Account>| {
        let empty = Map::new();
        let (before, after) = (profile_json(&t.before), profile_json(&t.after));
        let changes = diff(before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
        if changes.is_empty() {
            return None;
        }
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        let description = format!("Updated account settings: {}", fields.join(", "));
        let event = AuditEvent::new(actor, OwnActivity::SettingsUpdated, description)
            .related(Related { kind: RecordType::Setting, id: "account".into(), name: Some("Account settings".into()) })
            .changes(changes)
            .build();
        Some(event)
    });
    Ok(app.noted(app.store.change_account(account, AccountChange::Profile(update), record).await?).value.after)
}
