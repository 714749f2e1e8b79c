//! What casetrail does by itself: time-based checkpoints, the retention purge, and
//! sweeping (expired sessions, old failed sign-ins).
//!
//! Several servers may share one database, and each piece of this work needs doing
//! once, not once per server: each runs only while this loop holds its lease
//! ([`LeaseName`]), taken with a time to live of a few ticks and renewed every tick —
//! also while the work runs, so a long purge keeps its lease. A server that stops
//! lets its leases go; one that dies loses them when they expire, and another server
//! takes the work over. (`POST /retention/run` and `casetrail retention run` need no
//! lease: the store serializes purge batches, and records each purged event once.)
//!
//! The loop stops when its [`CancellationToken`] is cancelled, but only between
//! steps: a purge that has started always finishes its batch and records its
//! `system_log.purged` event, which an abort at an arbitrary `.await` could not
//! promise.

use std::time::Duration;

use casetrail_core::Timestamp;
use casetrail_store::{LeaseName, Store};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::App;

/// How often the loop wakes.
pub const TICK: Duration = Duration::from_secs(30);
/// A checkpoint is signed at least this often for an account whose chain moved.
pub const CHECKPOINT_AGE: Duration = Duration::from_secs(10 * 60);
/// A lease lives this many ticks unless renewed: one late tick does not lose it, and
/// a dead holder's work is taken over a minute or so later.
const LEASE_TICKS: u32 = 3;

const LEASES: [LeaseName; 3] = [LeaseName::Checkpoints, LeaseName::Sweeping, LeaseName::Retention];

/// When the periodic work runs.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// How often the retention task purges by itself.
    pub retention_every: Duration,
    /// How long after start the first purge runs.
    pub retention_first_after: Duration,
    /// How often the loop wakes, renews its leases and does what is due.
    pub tick: Duration,
    /// How old an account's newest checkpoint may get while its chain moves.
    pub checkpoint_age: Duration,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            retention_every: Duration::from_secs(3600),
            retention_first_after: Duration::from_secs(60),
            tick: TICK,
            checkpoint_age: CHECKPOINT_AGE,
        }
    }
}

/// Which leases this loop holds this tick.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    checkpoints: bool,
    sweeping: bool,
    retention: bool,
}

/// The lease holder of one loop, its id and how long its leases live.
#[derive(Debug, Clone, Copy)]
struct Holder {
    id: Uuid,
    ttl_ms: i64,
}

impl Holder {
    /// Takes or renews `name`; a store that fails counts as not held, so no work runs
    /// on a lease nobody can be sure of.
    async fn take(self, store: &dyn Store, name: LeaseName) -> bool {
        match store.take_lease(name, self.id, Timestamp::now(), self.ttl_ms).await {
            Ok(held) => held,
            Err(err) => {
                tracing::warn!(lease = name.key(), error = ?err, "could not take a lease");
                false
            }
        }
    }

    async fn take_all(self, store: &dyn Store) -> Held {
        Held {
            checkpoints: self.take(store, LeaseName::Checkpoints).await,
            sweeping: self.take(store, LeaseName::Sweeping).await,
            retention: self.take(store, LeaseName::Retention).await,
        }
    }

    /// Renews what `held` holds, every `every`, for as long as it is polled.
    async fn keep(self, store: &dyn Store, held: Held, every: Duration) {
        let names = [(held.checkpoints, LeaseName::Checkpoints), (held.sweeping, LeaseName::Sweeping)];
        let names = names.into_iter().chain([(held.retention, LeaseName::Retention)]);
        let names: Vec<LeaseName> = names.filter(|(h, _)| *h).map(|(_, n)| n).collect();
        loop {
            tokio::time::sleep(every).await;
            for &name in &names {
                if !self.take(store, name).await {
                    tracing::warn!(lease = name.key(), "lost a lease while its work was running");
                }
            }
        }
    }

    async fn release_all(self, store: &dyn Store) {
        for name in LEASES {
            if let Err(err) = store.release_lease(name, self.id).await {
                tracing::warn!(lease = name.key(), error = ?err, "could not release a lease");
            }
        }
    }
}

/// Runs the periodic work until `stop` is cancelled, then lets its leases go.
pub async fn run(app: App, schedule: Schedule, stop: CancellationToken) {
    let tick_every = schedule.tick.max(Duration::from_millis(1));
    let holder = Holder { id: Uuid::now_v7(), ttl_ms: (tick_every * LEASE_TICKS).as_millis() as i64 };
    // The first round comes one tick after start, not at once: a server that has just
    // started has nothing due yet, and the requests of its first seconds do not race
    // a checkpoint of whatever they are writing.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + tick_every, tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = tokio::time::Instant::now();
    let mut last_purge: Option<tokio::time::Instant> = None;
    // A purge that a crash cut short is recorded now, at the start after the crash.
    if let Err(err) = crate::purge::recover_unfinished(app.store.as_ref(), &app.metrics, Timestamp::now()).await {
        tracing::error!(error = ?err, "could not record interrupted purges");
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let held = holder.take_all(app.store.as_ref()).await;
        let work = async {
            if held.checkpoints
                && let Err(err) = checkpoint_stale(&app, schedule.checkpoint_age).await
            {
                tracing::error!(error = ?err, "periodic checkpoints failed");
            }
            if held.sweeping {
                sweep(app.store.as_ref()).await;
            }
            let due = match last_purge {
                None => started.elapsed() >= schedule.retention_first_after,
                Some(at) => at.elapsed() >= schedule.retention_every,
            };
            if held.retention && due && !stop.is_cancelled() {
                last_purge = Some(tokio::time::Instant::now());
                if let Err(err) = crate::purge::run_all(app.store.as_ref(), &app.keys, &app.metrics, &stop).await {
                    tracing::error!(error = ?err, "the retention purge failed");
                }
            }
        };
        tokio::select! {
            () = work => {}
            () = holder.keep(app.store.as_ref(), held, tick_every) => {}
        }
    }
    holder.release_all(app.store.as_ref()).await;
}

/// Deletes expired sessions and forgets failed sign-ins that left the window.
async fn sweep(store: &dyn Store) {
    let now = Timestamp::now();
    match store.delete_expired_sessions(now).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(sessions = n, "deleted expired sessions"),
        Err(err) => tracing::warn!(error = ?err, "could not delete expired sessions"),
    }
    match store.forget_login_attempts(now.plus_millis(-crate::credentials::LOGIN_WINDOW_MS)).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(attempts = n, "forgot old failed sign-ins"),
        Err(err) => tracing::warn!(error = ?err, "could not forget old failed sign-ins"),
    }
}

/// Signs a checkpoint for each account whose head moved past its newest checkpoint
/// more than `age` after that checkpoint was signed.
async fn checkpoint_stale(app: &App, age: Duration) -> Result<(), casetrail_store::StoreError> {
    let now = Timestamp::now();
    let age_ms = age.as_millis() as i64;
    for account in app.store.accounts().await? {
        let Some(head) = app.store.head(account.id).await? else { continue };
        let newest = app.store.checkpoints(account.id, 1).await?;
        let due = match newest.first() {
            None => true,
            Some(c) => head.seq > c.seq && now.as_millis() - c.signed_at.as_millis() >= age_ms,
        };
        if due {
            crate::integrity::checkpoint_now(app.store.as_ref(), &app.keys, account.id).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
