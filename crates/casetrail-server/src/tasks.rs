//! What the server does by itself: time-based checkpoints and the retention purge.

use std::time::Duration;

use casetrail_core::Timestamp;
use tokio::task::JoinHandle;

use crate::AppState;

/// A checkpoint is signed at least this often for an account whose chain moved.
const CHECKPOINT_AGE_MS: i64 = 10 * 60 * 1000;
const TICK: Duration = Duration::from_secs(30);

/// Starts the periodic work; abort the handle to stop it.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let started = tokio::time::Instant::now();
        let mut last_purge: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            if let Err(err) = checkpoint_stale(&state).await {
                tracing::error!(error = ?err, "periodic checkpoints failed");
            }
            let due = match last_purge {
                None => started.elapsed() >= state.config.retention_first_after,
                Some(at) => at.elapsed() >= state.config.retention_every,
            };
            if due {
                last_purge = Some(tokio::time::Instant::now());
                let (store, keys) = (state.store.as_ref(), state.config.keys.as_ref());
                if let Err(err) = crate::retention::run_all(store, keys, &state.writer).await {
                    tracing::error!(error = ?err, "the retention purge failed");
                }
            }
        }
    })
}

/// Signs a checkpoint for each account whose head moved past its newest checkpoint
/// more than ten minutes after that checkpoint was signed.
async fn checkpoint_stale(state: &AppState) -> Result<(), casetrail_store::StoreError> {
    let now = Timestamp::now();
    for account in state.store.accounts().await? {
        let Some(head) = state.store.head(account.id).await? else { continue };
        let newest = state.store.checkpoints(account.id, 1).await?;
        let due = match newest.first() {
            None => true,
            Some(c) => head.seq > c.seq && now.as_millis() - c.signed_at.as_millis() >= CHECKPOINT_AGE_MS,
        };
        if due {
            crate::integrity::checkpoint_now(state.store.as_ref(), &state.config.keys, account.id).await?;
        }
    }
    Ok(())
}
