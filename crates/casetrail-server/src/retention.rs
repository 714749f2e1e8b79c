//! Applying the retention policy: purging in bounded batches, recording the purge as
//! a `system_log.purged` event, and giving the freed space back.

use casetrail_core::{Actor, ActorType, Timestamp};
use casetrail_store::{Account, Store, StoreResult};

use crate::audit::AuditEvent;
use crate::signing::Keys;
use crate::writer::Writer;

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

/// The oldest `occurred_at` the policy keeps now; `None` when nothing may be purged
/// (keep forever, or an account-wide legal hold).
pub fn purge_cutoff(account: &Account, now: Timestamp) -> Option<Timestamp> {
    if account.legal_hold {
        return None;
    }
    account.retention_days.map(|days| now.minus_days(i64::from(days)))
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
    let Some(cutoff) = purge_cutoff(account, Timestamp::now()) else { return Ok(0) };
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
        "system_log.purged",
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

/// Runs the policy of every account; returns the total purged.
pub async fn run_all(store: &dyn Store, keys: &Keys, writer: &Writer) -> StoreResult<u64> {
    let mut total = 0;
    for account in store.accounts().await? {
        match run_account(store, keys, writer, &account, retention_actor()).await {
            Ok(n) => total += n,
            Err(err) => tracing::error!(account = %account.id, error = ?err, "retention purge failed"),
        }
    }
    Ok(total)
}
