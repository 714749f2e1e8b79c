//! The retention policy and the account-wide legal hold — setting them, each change
//! recorded with its before and after values in the same transaction — and applying
//! the policy: purging in bounded batches, recording the purge as a
//! `system_log.purged` event, and giving the freed space back.

use casetrail_core::{Actor, ActorType, Change, FieldError, OwnActivity, Timestamp};
use casetrail_store::{
    Account, AccountChange, AccountId, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, Store, StoreResult, Transition,
};
use serde_json::Value;

use crate::signing::Keys;
use crate::writer::Writer;
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
    Ok(done?.value.after)
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
    Ok(done?.value.after)
}

/// Events removed per transaction. Each costs about 0.1 ms (five indexes, the links,
/// the search index), so ingest waits at most some 50 ms behind a batch; at 2000 the
/// benchmark saw 220 ms stalls.
pub const PURGE_BATCH: u32 = 500;

/// The pause between purge batches (about 5 % of a batch's time).
const PURGE_PAUSE: std::time::Duration = std::time::Duration::from_millis(3);

/// The actor of purges that casetrail runs by itself.
pub fn retention_actor() -> Actor {
    Actor { id: "casetrail".into(), name: "casetrail retention".into(), email: None, kind: ActorType::System }
}

/// Purges what `account`'s policy allows and records it; returns how many events
/// went. A run that removes nothing writes nothing.
pub async fn run_account(
    store: &dyn Store,
    keys: &Keys,
    writer: &Writer,
    account: &Account,
    actor: Actor,
) -> anyhow::Result<u64> {
    let Some(cutoff) = account.purge_cutoff(Timestamp::now()) else { return Ok(0) };
    let (mut total, mut first, mut last) = (0u64, None::<u64>, None::<u64>);
    loop {
        let batch = store.purge(account.id, cutoff, PURGE_BATCH, &keys.current).await?;
        total += batch.purged;
        first = match (first, batch.first_seq) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last = last.max(batch.last_seq);
        if batch.purged < u64::from(PURGE_BATCH) {
            break;
        }
        // Let queued ingest commits in between batches. The store's write lock is not
        // fair: a purge that asks again at once can win it over a commit that has
        // waited (the benchmark saw one wait 450 ms), so it steps back for a moment.
        tokio::time::sleep(PURGE_PAUSE).await;
    }
    if total == 0 {
        return Ok(0);
    }
    let event = AuditEvent::new(
        actor,
        OwnActivity::Purged,
        format!("Purged {total} events older than {} days", account.retention_days.unwrap_or(0)),
    )
    .metadata("purged", total)
    .metadata("first_seq", first)
    .metadata("last_seq", last)
    .metadata("retention_days", account.retention_days)
    .metadata("cutoff", cutoff.to_string())
    .build();
    writer.append(account.id, vec![event]).await?;
    store.reclaim_space().await?;
    tracing::info!(account = %account.id, purged = total, "retention purge");
    Ok(total)
}

/// Runs the policy of every account, until `stop` is cancelled (checked between
/// accounts: an account's purge, once begun, finishes and is recorded); returns the
/// total purged.
pub async fn run_all(
    store: &dyn Store,
    keys: &Keys,
    writer: &Writer,
    stop: &tokio_util::sync::CancellationToken,
) -> StoreResult<u64> {
    let mut total = 0;
    for account in store.accounts().await? {
        if stop.is_cancelled() {
            break;
        }
        match run_account(store, keys, writer, &account, retention_actor()).await {
            Ok(n) => total += n,
            Err(err) => tracing::error!(account = %account.id, error = ?err, "retention purge failed"),
        }
    }
    Ok(total)
}
