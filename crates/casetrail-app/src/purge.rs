//! Applying the retention policy: purging in bounded batches, recording each run as a
//! `system_log.purged` event, and giving the freed space back.
//!
//! No purge goes unrecorded: the store adds each batch to its run's tally in the
//! batch's own transaction, and the run's record is written from that tally
//! ([`RetentionStore::finish_purge_run`](casetrail_store::RetentionStore)). A run cut
//! short (a crash, a kill) leaves its tally behind, and [`recover_unfinished`] records
//! it: at every start, and whenever the periodic task finds one idle for
//! [`ABANDONED_AFTER`].

use std::time::Duration;

use casetrail_core::{Actor, ActorType, NewEvent, OwnActivity, Timestamp};
use casetrail_store::{Account, PurgeRun, PurgeRunSummary, Store, StoreResult};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AuditEvent;
use crate::metrics::Metrics;
use crate::signing::Keys;

/// Events removed per transaction. Each costs about 0.1 ms (five indexes, the links,
/// the search index), so ingest waits at most some 50 ms behind a batch; at 2000 the
/// benchmark saw 220 ms stalls (BENCHMARKS.md).
pub const PURGE_BATCH: u32 = 500;

/// The pause between purge batches (about 5 % of a batch's time).
const PURGE_PAUSE: Duration = Duration::from_millis(3);

/// How often a run that waits behind another run of its account asks again.
const BEHIND_PAUSE: Duration = Duration::from_millis(50);

/// A run whose newest batch is this old is taken for dead: a live run commits a batch
/// every few milliseconds. Finishing a live run early would only split its record in
/// two (each event is still counted once), so this errs on the short side. The store
/// uses the same figure to decide which runs a new run waits behind.
pub const ABANDONED_AFTER: Duration = Duration::from_millis(casetrail_store::PURGE_RUN_LIVE_MS as u64);

/// The actor of purges that casetrail runs by itself.
pub fn retention_actor() -> Actor {
    Actor { id: "casetrail".into(), name: "casetrail retention".into(), email: None, kind: ActorType::System }
}

/// The `system_log.purged` record of a run's tally; `interrupted` when it is written
/// for a run that did not finish by itself.
fn purged_event(summary: &PurgeRunSummary, interrupted: bool) -> NewEvent {
    let run = &summary.run;
    let cutoffs = &run.cutoffs;
    let days = |d: Option<u32>| d.map_or("forever".to_string(), |d| format!("{d} days"));
    let mut description = match (cutoffs.retention_days, cutoffs.categories.is_empty()) {
        (Some(d), true) => format!("Purged {} events older than {d} days", summary.purged),
        (None, true) => format!("Purged {} events older than the retention period", summary.purged),
        (default, false) => {
            let own: Vec<String> = cutoffs.categories.iter().map(|(k, c)| format!("{k} {}", days(c.days))).collect();
            format!("Purged {} events past their retention ({}; {})", summary.purged, days(default), own.join(", "))
        }
    };
    if interrupted {
        description.push_str(" (recorded after the run was interrupted)");
    }
    let mut event = AuditEvent::new(run.actor.clone(), OwnActivity::Purged, description)
        .metadata("purged", summary.purged)
        .metadata("first_seq", summary.first_seq)
        .metadata("last_seq", summary.last_seq)
        .metadata("retention_days", cutoffs.retention_days)
        .metadata("cutoff", cutoffs.cutoff.map(|c| c.to_string()));
    if !cutoffs.categories.is_empty() {
        event = event.metadata("categories", cutoffs.categories_json());
    }
    if interrupted {
        event = event.metadata("interrupted", true);
    }
    event.build()
}

/// Purges what `account`'s policy allows and records it; returns how many events
/// went. A run that removes nothing writes nothing. `stop` is checked between
/// batches: a stopped run is recorded with what it removed.
pub async fn run_account(
    store: &dyn Store,
    keys: &Keys,
    metrics: &Metrics,
    account: &Account,
    actor: Actor,
    stop: &CancellationToken,
) -> anyhow::Result<u64> {
    let now = Timestamp::now();
    let Some(cutoffs) = account.purge_cutoffs(now) else { return Ok(0) };
    let run = PurgeRun { id: Uuid::now_v7(), account_id: account.id, cutoffs, actor, started_at: now };
    let mut total = 0u64;
    let outcome: anyhow::Result<()> = async {
        loop {
            let batch = store.purge(&run, PURGE_BATCH, &keys.current()).await?;
            if let Some(other) = batch.behind {
                // Another run of this account is live (another server, or the CLI):
                // wait for it to finish, then purge what it left. It commits a batch
                // every few milliseconds; one that stops counts as dead after
                // PURGE_RUN_LIVE_MS, so this wait ends by itself.
                if stop.is_cancelled() {
                    return Ok(());
                }
                tracing::debug!(account = %account.id, %other, "retention purge waits for another run");
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    () = tokio::time::sleep(BEHIND_PAUSE) => continue,
                }
            }
            total += batch.purged;
            if batch.purged < u64::from(PURGE_BATCH) || stop.is_cancelled() {
                return Ok(());
            }
            // Let queued ingest commits in between batches. SQLite's write lock is not
            // fair: a purge that asks again at once can win it over a commit that has
            // waited (the benchmark saw one wait 450 ms), so it steps back a moment.
            tokio::time::sleep(PURGE_PAUSE).await;
        }
    }
    .await;
    // Whatever was removed is recorded, even when a later batch failed.
    let record = Box::new(|summary: &PurgeRunSummary| Some(purged_event(summary, false)));
    let finished = store.finish_purge_run(account.id, run.id, record).await?;
    count_recorded(metrics, finished.as_ref().and_then(|f| f.event.as_ref()));
    outcome?;
    if finished.is_some() {
        store.reclaim_space().await?;
        tracing::info!(account = %account.id, purged = total, "retention purge");
    }
    Ok(total)
}

/// A purge's tally is appended by the store with the run's end, not through the
/// writer: counted here as ingested (`Metrics::recorded`).
fn count_recorded(metrics: &Metrics, event: Option<&casetrail_store::Appended>) {
    if event.is_some_and(|e| !e.duplicate) {
        metrics.recorded();
    }
}

/// Records every run that a crash cut short and whose newest batch committed before
/// `idle_before`; returns how many runs were recorded.
pub async fn recover_unfinished(store: &dyn Store, metrics: &Metrics, idle_before: Timestamp) -> StoreResult<u64> {
    let mut recorded = 0;
    for summary in store.unfinished_purge_runs(idle_before).await? {
        let record = Box::new(|summary: &PurgeRunSummary| Some(purged_event(summary, true)));
        let run = &summary.run;
        let finished = store.finish_purge_run(run.account_id, run.id, record).await?;
        count_recorded(metrics, finished.as_ref().and_then(|f| f.event.as_ref()));
        if finished.is_some() {
            tracing::warn!(account = %run.account_id, purged = summary.purged, "recorded an interrupted purge");
            recorded += 1;
        }
    }
    Ok(recorded)
}

/// Records runs abandoned for [`ABANDONED_AFTER`], then runs the policy of every
/// account until `stop` is cancelled; returns the total purged.
pub async fn run_all(store: &dyn Store, keys: &Keys, metrics: &Metrics, stop: &CancellationToken) -> StoreResult<u64> {
    let idle_before = Timestamp::now().plus_millis(-(ABANDONED_AFTER.as_millis() as i64));
    if let Err(err) = recover_unfinished(store, metrics, idle_before).await {
        tracing::error!(error = ?err, "could not record interrupted purges");
    }
    let mut total = 0;
    for account in store.accounts().await? {
        if stop.is_cancelled() {
            break;
        }
        match run_account(store, keys, metrics, &account, retention_actor(), stop).await {
            Ok(n) => total += n,
            Err(err) => tracing::error!(account = %account.id, error = ?err, "retention purge failed"),
        }
    }
    Ok(total)
}
