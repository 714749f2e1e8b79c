//! The retention policy and the account-wide legal hold: setting them, each change
//! recorded with its before and after values in the same transaction. Applying the
//! policy is [`crate::purge`]'s work, re-exported here.

use casetrail_core::{Actor, Change, FieldError, OwnActivity};
use casetrail_store::{Account, AccountChange, AccountId, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, Transition};
use serde_json::Value;

use crate::{App, AppResult, AuditEvent};

/// How a policy reads in a description.
fn policy_words(days: Option<u32>) -> String {
    days.map_or("forever".to_string(), |d| format!("{d} days"))
}

fn out_of_bounds() -> FieldError {
    FieldError::new(
        "retention_days",
        format!(
            "must be a whole number of days from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}, or null to keep forever"
        ),
    )
}

/// `retention_days` as JSON: a whole number within the bounds, or null (forever).
pub fn parse_retention_days(value: Option<&Value>) -> Result<Option<u32>, FieldError> {
    match value {
        None => Err(FieldError::new("retention_days", "is required")),
        Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .filter(|d| (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(d))
            .map(Some)
            .ok_or_else(out_of_bounds),
        Some(_) => Err(out_of_bounds()),
    }
}

/// `retention_days` as a form or query gives it: `forever` (or empty), or a number.
pub fn parse_retention_text(text: &str) -> Result<Option<u32>, FieldError> {
    match text.trim() {
        "" | "forever" | "null" => Ok(None),
        v => v
            .parse::<u32>()
            .ok()
            .filter(|d| (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(d))
            .map(Some)
            .ok_or_else(out_of_bounds),
    }
}

/// Sets the retention policy and records it as `system_log.retention_changed`;
/// setting the policy it already has records nothing.
pub async fn set_retention(app: &App, actor: &Actor, account: AccountId, days: Option<u32>) -> AppResult<Account> {
    let actor = actor.clone();
    let record = Box::new(move |t: &Transition<Account>| {
        let (before, after) = (t.before.retention_days, t.after.retention_days);
        if before == after {
            return None;
        }
        let description = format!("Changed retention from {} to {}", policy_words(before), policy_words(after));
        let change = Change { field: "retention_days".into(), before: before.into(), after: after.into() };
        Some(AuditEvent::new(actor, OwnActivity::RetentionChanged, description).changes(vec![change]).build())
    });
    let done = app.store.change_account(account, AccountChange::RetentionDays(days), record).await;
    Ok(app.noted(done?).value.after)
}

/// Places (`true`) or lifts the account-wide legal hold and records it as
/// `system_log.legal_hold_changed`; a purge already running stops at its next batch.
pub async fn set_legal_hold(app: &App, actor: &Actor, account: AccountId, on: bool) -> AppResult<Account> {
    let actor = actor.clone();
    let record = Box::new(move |t: &Transition<Account>| {
        let (before, after) = (t.before.legal_hold, t.after.legal_hold);
        if before == after {
            return None;
        }
        let what = if after { "Placed the account under legal hold" } else { "Lifted the account's legal hold" };
        let change = Change { field: "legal_hold".into(), before: before.into(), after: after.into() };
        Some(AuditEvent::new(actor, OwnActivity::LegalHoldChanged, what).changes(vec![change]).build())
    });
    let done = app.store.change_account(account, AccountChange::LegalHold(on), record).await;
    Ok(app.noted(done?).value.after)
}

pub use crate::purge::{PURGE_BATCH, recover_unfinished, retention_actor, run_account, run_all};
