//! Holds on single cases and clients: events related to a held record are kept past
//! the retention window. Placing and lifting one is recorded as `settings.updated`
//! in the same transaction.

use casetrail_core::{Actor, Change, FieldError, OwnActivity, RecordType, Related, Timestamp};
use casetrail_store::{AccountId, Hold};
use serde_json::{Value, json};

use crate::{App, AppError, AppResult, AuditEvent};

pub const MAX_ID_CHARS: usize = 10_000;
pub const MAX_REASON_CHARS: usize = 2_000;

/// Holds are placed on cases and clients only.
pub fn holdable(kind: &str) -> Option<RecordType> {
    RecordType::from_key(kind).filter(|k| matches!(k, RecordType::Case | RecordType::Client))
}

/// A hold to place, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    pub kind: RecordType,
    pub id: String,
    pub reason: String,
}

/// Checks a hold's members as given (`None`: absent); every bad member is named.
pub fn parse_hold(kind: Option<&str>, id: Option<&str>, reason: Option<&str>) -> Result<HoldRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = kind.and_then(holdable);
    if kind.is_none() {
        errors.push(FieldError::new("type", "must be \"case\" or \"client\""));
    }
    let id = id.map(str::trim).filter(|s| !s.is_empty() && s.chars().count() <= MAX_ID_CHARS);
    if id.is_none() {
        errors.push(FieldError::new("id", "is required: the case or client id"));
    }
    let reason = reason.unwrap_or("").trim();
    if reason.chars().count() > MAX_REASON_CHARS {
        errors.push(FieldError::new("reason", format!("must be a string of at most {MAX_REASON_CHARS} characters")));
    }
    match (kind, id) {
        (Some(kind), Some(id)) if errors.is_empty() => {
            Ok(HoldRequest { kind, id: id.to_string(), reason: reason.to_string() })
        }
        _ => Err(errors),
    }
}

/// The record of a hold placed or lifted.
fn hold_event(actor: Actor, hold: &Hold, placed: bool) -> casetrail_core::NewEvent {
    let (description, before, after) = if placed {
        (format!("Placed a legal hold on {} {}", hold.kind.key(), hold.id), Value::Null, json!({"reason": hold.reason}))
    } else {
        (
            format!("Lifted the legal hold on {} {}", hold.kind.key(), hold.id),
            json!({"reason": hold.reason}),
            Value::Null,
        )
    };
    AuditEvent::new(actor, OwnActivity::SettingsUpdated, description)
        .related(Related { kind: hold.kind, id: hold.id.clone(), name: None })
        .changes(vec![Change { field: format!("holds.{}.{}", hold.kind.key(), hold.id), before, after }])
        .build()
}

/// Places a hold and records it; a record already held is a conflict.
pub async fn place_hold(app: &App, actor: &Actor, account: AccountId, request: HoldRequest) -> AppResult<Hold> {
    let hold = Hold {
        account_id: account,
        kind: request.kind,
        id: request.id,
        reason: request.reason,
        created_by: actor.name.clone(),
        created_at: Timestamp::now(),
    };
    let actor = actor.clone();
    let record = Box::new(move |h: &Hold| Some(hold_event(actor, h, true)));
    Ok(app.noted(app.store.add_hold(&hold, record).await?).value)
}

/// Lifts a hold and records it; answers the hold that was lifted.
pub async fn lift_hold(app: &App, actor: &Actor, account: AccountId, kind: RecordType, id: &str) -> AppResult<Hold> {
    let actor = actor.clone();
    let record = Box::new(move |h: &Hold| Some(hold_event(actor, h, false)));
    let lifted = app.store.remove_hold(account, kind, id, record).await?;
    lifted.map(|r| app.noted(r).value).ok_or(AppError::NotFound("hold"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_needs_a_case_or_client_and_an_id() {
        let ok = parse_hold(Some("case"), Some(" c_1 "), None).unwrap();
        assert_eq!(ok, HoldRequest { kind: RecordType::Case, id: "c_1".into(), reason: String::new() });
        let errors = parse_hold(Some("user"), Some(""), Some(&"r".repeat(MAX_REASON_CHARS + 1))).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["type", "id", "reason"]);
        assert!(parse_hold(Some("client"), Some(&"x".repeat(MAX_ID_CHARS + 1)), None).is_err());
    }
}
