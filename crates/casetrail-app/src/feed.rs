//! The pull feed (docs/API.md §13): an account's events after a seq, in seq order,
//! with a long poll that waits for the first new one.
//!
//! How a waiting request learns of new events: it asks the database for the
//! account's head, then sleeps until this process's writer commits a group
//! ([`Writer::commits`](crate::writer::Writer::commits)) or [`POLL_EVERY`] passes,
//! and asks again. The poll is what finds events that another server committed
//! (several servers on PostgreSQL) and events appended by changes that record
//! themselves, which do not pass through the writer. We poll rather than use
//! PostgreSQL's `LISTEN/NOTIFY` because the same code then serves both backends
//! through the `Store` trait, needs no connection held open per server outside the
//! pool, and cannot miss a notification lost with a dropped connection; the price is
//! one primary-key read of the account row per waiting request per poll, and a new
//! event from another server is seen at most [`POLL_EVERY`] late.

use std::time::Duration;

use casetrail_core::ChainedEvent;
use casetrail_store::{AccountId, StoreResult};

use crate::App;

/// How often a waiting request asks the database again.
pub const POLL_EVERY: Duration = Duration::from_millis(500);
/// The longest wait a request may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// Up to `limit` events with seq > `after_seq`, in seq order; when there is none yet,
/// waits up to `wait` for the first. Answers as soon as any event is there.
pub async fn events_after(
    app: &App,
    account: AccountId,
    after_seq: u64,
    limit: u32,
    wait: Duration,
) -> StoreResult<Vec<ChainedEvent>> {
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribed before the first look, so a commit between the look and the wait
    // still wakes the wait.
    let mut commits = app.writer.commits();
    // A writer that has stopped (the server is shutting down) signals nothing more.
    let mut writer_alive = true;
    loop {
        commits.mark_unchanged();
        let head = app.store.head(account).await?.map_or(0, |h| h.seq);
        if head > after_seq {
            let events = app.store.chain(account, after_seq, limit).await?;
            // A purge may have removed everything between `after_seq` and the head:
            // then there is nothing to answer yet, and the wait goes on.
            if !events.is_empty() {
                return Ok(events);
            }
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(Vec::new());
        }
        let next_poll = (now + POLL_EVERY).min(deadline);
        tokio::select! {
            changed = commits.changed(), if writer_alive => writer_alive = changed.is_ok(),
            () = tokio::time::sleep_until(next_poll) => {}
        }
    }
}
