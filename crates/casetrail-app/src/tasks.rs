//! What casetrail does by itself: time-based checkpoints, the retention purge, and
//! deleting expired sessions.
//!
//! The loop stops when its [`CancellationToken`] is cancelled, but only between
//! steps: a purge that has started always finishes its batch and records its
//! `system_log.purged` event, which an abort at an arbitrary `.await` could not
//! promise.

use std::time::Duration;

use casetrail_core::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::App;

/// A checkpoint is signed at least this often for an account whose chain moved.
const CHECKPOINT_AGE_MS: i64 = 10 * 60 * 1000;
const TICK: Duration = Duration::from_secs(30);

/// When the periodic work runs.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// How often the retention task purges by itself.
    pub retention_every: Duration,
    /// How long after start the first purge runs.
    pub retention_first_after: Duration,
}

/// Runs the periodic work until `stop` is cancelled.
pub async fn run(app: App, schedule: Schedule, stop: CancellationToken) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = tokio::time::Instant::now();
    let mut last_purge: Option<tokio::time::Instant> = None;
    // A purge that a crash cut short is recorded now, at the start after the crash.
    if let Err(err) = crate::purge::recover_unfinished(app.store.as_ref(), Timestamp::now()).await {
        tracing::error!(error = ?err, "could not record interrupted purges");
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(err) = checkpoint_stale(&app).await {
            tracing::error!(error = ?err, "periodic checkpoints failed");
        }
        match app.store.delete_expired_sessions(Timestamp::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(sessions = n, "deleted expired sessions"),
            Err(err) => tracing::warn!(error = ?err, "could not delete expired sessions"),
        }
        let due = match last_purge {
            None => started.elapsed() >= schedule.retention_first_after,
            Some(at) => at.elapsed() >= schedule.retention_every,
        };
        if due && !stop.is_cancelled() {
            last_purge = Some(tokio::time::Instant::now());
            if let Err(err) = crate::purge::run_all(app.store.as_ref(), &app.keys, &stop).await {
                tracing::error!(error = ?err, "the retention purge failed");
            }
        }
    }
}

/// Signs a checkpoint for each account whose head moved past its newest checkpoint
/// more than ten minutes after that checkpoint was signed.
async fn checkpoint_stale(app: &App) -> Result<(), casetrail_store::StoreError> {
    let now = Timestamp::now();
    for account in app.store.accounts().await? {
        let Some(head) = app.store.head(account.id).await? else { continue };
        let newest = app.store.checkpoints(account.id, 1).await?;
        let due = match newest.first() {
            None => true,
            Some(c) => head.seq > c.seq && now.as_millis() - c.signed_at.as_millis() >= CHECKPOINT_AGE_MS,
        };
        if due {
            crate::integrity::checkpoint_now(app.store.as_ref(), &app.keys, account.id).await?;
        }
    }
    Ok(())
}
