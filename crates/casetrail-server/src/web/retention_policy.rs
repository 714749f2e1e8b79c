//! The retention page's policy form: the account's period and each category's own
//! (docs/API.md §14), a dry run of what each category would lose, and the confirmed
//! change, recorded as `PUT /api/v1/settings/retention` records it.
//!
//! Form fields: `retention_days` (a number, or empty / `forever`) and one
//! `category_<key>` per category: empty follows the account's period, a number or
//! `forever` is the category's own.

use std::collections::{BTreeMap, HashMap};

use casetrail_app::retention::{dry_run, parse_retention_text, set_retention_policy};
use casetrail_core::Timestamp;
use casetrail_core::activity::CATEGORIES;
use casetrail_store::{Account, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS};
use jiff::tz::TimeZone;

use super::format::short_time;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;

/// The form field of a category's own retention.
pub fn category_field(key: &str) -> String {
    format!("category_{key}")
}

pub fn policy_label(days: Option<u32>) -> String {
    days.map_or("Keep forever".to_string(), |d| format!("{d} days"))
}

fn when(ts: Timestamp, tz: &TimeZone) -> String {
    let (date, time) = short_time(ts, tz);
    format!("{date}, {time}")
}

/// One category's line of the policy form.
#[derive(Debug)]
pub struct CategoryRow {
    pub label: &'static str,
    pub field: String,
    /// What the input holds: empty (follows the account), days, or `forever`.
    pub value: String,
    /// What it follows when empty, in words ("90 days").
    pub follows: String,
}

/// The category lines of the form for `account`'s policy.
pub fn category_rows(account: &Account) -> Vec<CategoryRow> {
    CATEGORIES
        .iter()
        .map(|c| CategoryRow {
            label: c.label,
            field: category_field(c.key),
            value: form_value(account.retention_categories.get(c.key).copied()),
            follows: policy_label(account.retention_days).to_lowercase(),
        })
        .collect()
}

/// A category's own retention as the form writes it (`None`: follows the account).
fn form_value(own: Option<Option<u32>>) -> String {
    match own {
        None => String::new(),
        Some(None) => "forever".into(),
        Some(Some(d)) => d.to_string(),
    }
}

/// One category's line of the dry run.
#[derive(Debug)]
pub struct DryRunCategory {
    pub label: &'static str,
    pub field: String,
    /// The confirming form's value for it.
    pub value: String,
    pub now: String,
    pub after: String,
    pub changed: bool,
    pub events: u64,
    pub oldest: String,
    pub newest: String,
}

/// The dry run of a new policy, waiting for confirmation.
#[derive(Debug)]
pub struct DryRun {
    /// The form value of the account's period: a number of days, or `forever`.
    pub value: String,
    pub label: String,
    pub current: String,
    /// Whether the account's own period changes (else only categories do).
    pub days_changed: bool,
    pub categories: Vec<DryRunCategory>,
    pub events: u64,
    pub oldest: String,
    pub newest: String,
    pub shortening: bool,
    pub legal_hold: bool,
}

fn days_message(value: &str, what: &str) -> String {
    format!(
        "\u{201c}{value}\u{201d} can't be used{what}: retention must be a whole number of days from \
         {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}, or empty to keep forever."
    )
}

/// A policy as the form gives it: the account's period (`None`: forever) and the
/// whole map of category retentions.
type Policy = (Option<u32>, BTreeMap<String, Option<u32>>);

/// The policy a form asks for, or the message saying what to fix.
fn parse_form(form: &HashMap<String, String>) -> Result<Policy, String> {
    let field = |name: &str| form.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
    let days_text = field("retention_days");
    let days = parse_retention_text(&days_text).map_err(|_| days_message(&days_text, ""))?;
    let mut categories = BTreeMap::new();
    for c in CATEGORIES {
        let text = field(&category_field(c.key));
        if text.is_empty() {
            continue;
        }
        let own = parse_retention_text(&text).map_err(|_| {
            format!(
                "\u{201c}{text}\u{201d} can't be used for {}: a category keeps its entries for a whole number \
                 of days from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}, \u{201c}forever\u{201d}, or, left \
                 empty, as long as all entries.",
                c.label
            )
        })?;
        categories.insert(c.key.to_string(), own);
    }
    Ok((days, categories))
}

/// Whether the new period removes more than the current one.
fn shorter(now: Option<u32>, new: Option<u32>) -> bool {
    match (now, new) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(now), Some(new)) => new < now,
    }
}

/// The dry run of the policy the form asks for, as `GET /api/v1/retention/preview`
/// computes it; `Err` holds the message when the form cannot be used.
pub async fn preview(
    state: &AppState,
    principal: &Principal,
    form: &HashMap<String, String>,
) -> ApiResult<Result<DryRun, String>> {
    let (days, categories) = match parse_form(form) {
        Ok(policy) => policy,
        Err(message) => return Ok(Err(message)),
    };
    let account = state.account(principal.account_id).await?;
    if days == account.retention_days && categories == account.retention_categories {
        return Ok(Err(format!("The policy is already {}.", policy_label(days).to_lowercase())));
    }
    let tz = account.time_zone().clone();
    let trial = Account { retention_days: days, retention_categories: categories.clone(), ..account.clone() };
    let (lines, total) = dry_run(state, &trial).await?;
    let mut shortening = false;
    let rows = lines
        .iter()
        .map(|line| {
            let key = line.category.key;
            let (before, after) = (account.retention_days_of(key), line.days);
            shortening |= shorter(before, after);
            DryRunCategory {
                label: line.category.label,
                field: category_field(key),
                value: form_value(categories.get(key).copied()),
                now: policy_label(before),
                after: policy_label(after),
                changed: before != after,
                events: line.preview.events,
                oldest: line.preview.oldest.map(|t| when(t, &tz)).unwrap_or_default(),
                newest: line.preview.newest.map(|t| when(t, &tz)).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Ok(DryRun {
        value: days.map_or("forever".to_string(), |d| d.to_string()),
        label: policy_label(days),
        current: policy_label(account.retention_days),
        days_changed: days != account.retention_days,
        categories: rows,
        events: total.events,
        oldest: total.oldest.map(|t| when(t, &tz)).unwrap_or_default(),
        newest: total.newest.map(|t| when(t, &tz)).unwrap_or_default(),
        shortening,
        legal_hold: account.legal_hold,
    }))
}

/// The confirmed change; `Err` holds the message when the form cannot be used.
pub async fn apply(
    state: &AppState,
    principal: &Principal,
    form: &HashMap<String, String>,
) -> ApiResult<Result<String, String>> {
    let (days, categories) = match parse_form(form) {
        Ok(policy) => policy,
        Err(message) => return Ok(Err(message)),
    };
    let own = categories.len();
    set_retention_policy(state, &principal.actor(), principal.account_id, Some(days), Some(categories)).await?;
    let mut notice = format!("Retention changed to {}.", policy_label(days).to_lowercase());
    match own {
        0 => {}
        1 => notice.push_str(" 1 category keeps its own period."),
        n => notice.push_str(&format!(" {n} categories keep their own periods.")),
    }
    Ok(Ok(notice))
}
