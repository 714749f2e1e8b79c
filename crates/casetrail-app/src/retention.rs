//! The retention policy — the account's days and each category's own
//! (docs/API.md §14) — and the account-wide legal hold: setting them, each change
//! recorded with its before and after values in the same transaction. Applying the
//! policy is [`crate::purge`]'s work, re-exported here.

use std::collections::BTreeMap;

use casetrail_core::activity::{CATEGORIES, Category, category};
use casetrail_core::{Actor, Change, FieldError, OwnActivity, Timestamp};
use casetrail_store::{
    Account, AccountChange, AccountId, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, PurgePreview, Transition,
};
use serde_json::Value;

use crate::{App, AppResult, AuditEvent};

/// How a policy reads in a description.
fn policy_words(days: Option<u32>) -> String {
    days.map_or("forever".to_string(), |d| format!("{d} days"))
}

fn out_of_bounds() -> FieldError {
    out_of_bounds_at("retention_days")
}

fn out_of_bounds_at(field: &str) -> FieldError {
    FieldError::new(
        field,
        format!(
            "must be a whole number of days from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}, or null to keep forever"
        ),
    )
}

/// `retention_days` as JSON: a whole number within the bounds, or null (forever).
pub fn parse_retention_days(value: Option<&Value>) -> Result<Option<u32>, FieldError> {
    match value {
        None => Err(FieldError::new("retention_days", "is required")),
        Some(value) => days_value(value).ok_or_else(out_of_bounds),
    }
}

/// A number of days within the bounds (`Some(Some(d))`), null (`Some(None)`:
/// forever), or anything else (`None`).
fn days_value(value: &Value) -> Option<Option<u32>> {
    match value {
        Value::Null => Some(None),
        Value::Number(n) => n
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .filter(|d| (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(d))
            .map(Some),
        _ => None,
    }
}

/// `categories` as JSON: an object whose every key is a category of the catalog and
/// every value a retention as `retention_days` takes it. Every bad member is named
/// (`categories.<key>`).
pub fn parse_categories(value: &Value) -> Result<BTreeMap<String, Option<u32>>, Vec<FieldError>> {
    let Value::Object(members) = value else {
        return Err(vec![FieldError::new(
            "categories",
            "must be an object of category keys and their retention in days (or null to keep forever)",
        )]);
    };
    let (mut map, mut errors) = (BTreeMap::new(), Vec::new());
    for (key, days) in members {
        let field = format!("categories.{key}");
        if category(key).is_none() {
            errors.push(FieldError::new(field, format!("unknown category {key:?}")));
            continue;
        }
        match days_value(days) {
            Some(days) => {
                map.insert(key.clone(), days);
            }
            None => errors.push(out_of_bounds_at(&field)),
        }
    }
    if errors.is_empty() { Ok(map) } else { Err(errors) }
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

/// How a category's own retentions read in a description.
fn categories_words(map: &BTreeMap<String, Option<u32>>) -> String {
    if map.is_empty() {
        return "none of their own".to_string();
    }
    map.iter().map(|(k, d)| format!("{k} {}", policy_words(*d))).collect::<Vec<_>>().join(", ")
}

/// The categories' own retentions as a change records them: an object of days, or
/// `null` for keep-forever.
fn categories_value(map: &BTreeMap<String, Option<u32>>) -> Value {
    Value::Object(map.iter().map(|(k, d)| (k.clone(), Value::from(*d))).collect())
}

/// Sets the account's retention (`None` leaves it) and the whole map of category
/// retentions (`None` leaves it) in one change, recorded as one
/// `system_log.retention_changed` with a change for each that moved; a change that
/// moves nothing records nothing.
pub async fn set_retention_policy(
    app: &App,
    actor: &Actor,
    account: AccountId,
    days: Option<Option<u32>>,
    categories: Option<BTreeMap<String, Option<u32>>>,
) -> AppResult<Account> {
    let actor = actor.clone();
    let record = Box::new(move |t: &Transition<Account>| {
        let (mut changes, mut words) = (Vec::new(), Vec::new());
        let (before, after) = (t.before.retention_days, t.after.retention_days);
        if before != after {
            words.push(format!("retention from {} to {}", policy_words(before), policy_words(after)));
            changes.push(Change { field: "retention_days".into(), before: before.into(), after: after.into() });
        }
        let (before, after) = (&t.before.retention_categories, &t.after.retention_categories);
        if before != after {
            words.push(format!(
                "the retention of categories from {} to {}",
                categories_words(before),
                categories_words(after)
            ));
            changes.push(Change {
                field: "categories".into(),
                before: categories_value(before),
                after: categories_value(after),
            });
        }
        if changes.is_empty() {
            return None;
        }
        let description = format!("Changed {}", words.join(" and "));
        Some(AuditEvent::new(actor, OwnActivity::RetentionChanged, description).changes(changes).build())
    });
    let change = AccountChange::Retention { days, categories };
    let done = app.store.change_account(account, change, record).await;
    Ok(app.noted(done?).value.after)
}

/// Sets the account's retention only; see [`set_retention_policy`].
pub async fn set_retention(app: &App, actor: &Actor, account: AccountId, days: Option<u32>) -> AppResult<Account> {
    set_retention_policy(app, actor, account, Some(days), None).await
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

/// What a purge would remove from one category of the catalog.
#[derive(Debug, Clone)]
pub struct CategoryDryRun {
    pub category: &'static Category,
    /// The days its events are kept (`None`: forever), and whether that is the
    /// category's own retention rather than the account's.
    pub days: Option<u32>,
    pub own: bool,
    /// Its events older than this would go (`None`: none would).
    pub cutoff: Option<Timestamp>,
    pub preview: PurgePreview,
}

/// What a purge under `account`'s policy would remove now (a dry run): for each
/// category, then in all. `account` may carry a policy not yet saved, to try it.
pub async fn dry_run(app: &App, account: &Account) -> AppResult<(Vec<CategoryDryRun>, PurgePreview)> {
    let cutoffs = account.purge_cutoffs(Timestamp::now());
    let mut out = Vec::with_capacity(CATEGORIES.len());
    let mut total = PurgePreview::default();
    for category in CATEGORIES {
        let cutoff = cutoffs.as_ref().and_then(|c| c.cutoff_of(category.key));
        let preview = match cutoff {
            Some(cutoff) => app.store.purge_preview(account.id, Some(category), cutoff).await?,
            None => PurgePreview::default(),
        };
        total.events += preview.events;
        total.oldest = total.oldest.into_iter().chain(preview.oldest).min();
        total.newest = total.newest.into_iter().chain(preview.newest).max();
        out.push(CategoryDryRun {
            category,
            days: account.retention_days_of(category.key),
            own: account.retention_categories.contains_key(category.key),
            cutoff,
            preview,
        });
    }
    Ok((out, total))
}
