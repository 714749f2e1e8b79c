//! Delivery: the background work that sends each enabled stream's new events.
//!
//! [`run`] looks at the streams every [`SCAN_EVERY`] and starts one task per
//! enabled stream that this server does not already deliver. A task first takes the
//! stream's lease ([`StreamStore::take_stream_lease`]); if another server holds it,
//! the task ends and the next scan tries again (so a dead server's streams move to
//! a live one once its lease expires). It renews the lease every
//! [`LEASE_RENEW_EVERY`], not every round. While it holds the lease, the task loops:
//!
//! 1. read the stream again (deleted or disabled: end; replayed: start from the new
//!    position) and up to [`ROUND_EVENTS`] events after its position
//!    (`EventStore::chain`);
//! 2. send those that match the filters as consecutive batches, each cut from at
//!    most [`BATCH`] events read, each acknowledged before the next is sent;
//! 3. move the position to the last event *read* (filtered-out events are passed
//!    over), only for this holder and only from the position read in 1
//!    ([`StreamStore::stream_delivered`]); or, when a batch fails, move it to the end
//!    of the batches acknowledged before it, count the failure and wait the backoff
//!    (1 s, doubling, at most 5 minutes) before the same batch is tried again.
//!
//! One lease write every ten seconds and one position write per round: on SQLite
//! every write waits for the single writer, behind group commits of up to 5,000
//! events, so a write per batch held a busy stream to a few batches a second.
//!
//! A backoff ends early when the stream is changed in a way that matters to its
//! delivery — replayed, resumed, pointed elsewhere, given a new secret or CA: this
//! server hears of its own changes at once (`App::stream_changes`), and the task
//! reads the stream's row every [`POLL_EVERY`] meanwhile for changes made through
//! another server. The scan, too, runs at once when a stream was created or resumed
//! here.
//!
//! With nothing new, it waits for this server's writer to commit or for
//! [`POLL_EVERY`] (which finds what other servers and recorded changes appended),
//! so a healthy receiver gets a new event within about a second of its commit.
//! Nothing is recorded as delivered before the receiver acknowledged it, so a crash
//! or a SIGKILL at any point resends at most the round in flight: at least once, in
//! seq order.

use std::collections::HashMap;
use std::time::Duration;

use casetrail_core::Timestamp;
use casetrail_store::{Store, StoreError, Stream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::StreamOptions;
use super::format::{Outgoing, matches};
use super::sinks::{Sender, host_name, http_client};
use crate::App;

/// How often the streams are looked at, for new, re-enabled or orphaned ones.
pub const SCAN_EVERY: Duration = Duration::from_secs(1);
/// How often a caught-up stream asks the database for new events.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// The most events read for one batch (§13: a webhook carries 1 to 500 events).
pub const BATCH: u32 = 500;
/// The most events one round reads and sends (as batches of [`BATCH`]) before it
/// moves the position.
pub const ROUND_EVENTS: u32 = 10 * BATCH;
/// How long a lease lives unless renewed ([`LEASE_RENEW_EVERY`]).
const LEASE_TTL_MS: i64 = 30_000;
/// How often a stream renews its lease, delivering or waiting out a backoff: well
/// within its life, so that a batch sent just before the renewal is due (the
/// receiver has [`RECEIVER_TIMEOUT`](super::sinks::RECEIVER_TIMEOUT)) is still acknowledged inside the lease.
const LEASE_RENEW_EVERY: Duration = Duration::from_secs(10);
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The pause after `failures` consecutive failures: `first` (1 s), then doubling,
/// at most 5 minutes.
pub fn backoff(first: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    first.saturating_mul(2u32.pow(doublings)).min(MAX_BACKOFF.max(first))
}

/// The id of a batch: the stream and the seqs it covers, so the same batch tried
/// again (by this server or another) carries the same id.
pub fn delivery_id(stream: Uuid, after: u64, last: u64) -> String {
    format!("{stream}:{}-{last}", after + 1)
}

/// Delivers every stream this server holds the lease of, until `stop`.
pub async fn run(app: App, options: StreamOptions, stop: CancellationToken) {
    let holder = Uuid::now_v7();
    let http = http_client(options.allow_private);
    let hostname = host_name();
    let mut running: HashMap<Uuid, JoinHandle<()>> = HashMap::new();
    let mut changes = app.stream_changes.subscribe();
    loop {
        running.retain(|_, task| !task.is_finished());
        match app.store.all_streams().await {
            Ok(streams) => {
                for stream in streams.into_iter().filter(|s| s.settings.enabled) {
                    if running.contains_key(&stream.id) {
                        continue;
                    }
                    let sender = Sender::new(http.clone(), options.allow_private, hostname.clone());
                    let task = StreamTask {
                        app: app.clone(),
                        holder,
                        stop: stop.clone(),
                        sender,
                        first_backoff: options.first_backoff,
                        lease_taken: None,
                    };
                    running.insert(stream.id, tokio::spawn(task.run(stream)));
                }
            }
            Err(err) => tracing::warn!(error = ?err, "could not read the streams"),
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(SCAN_EVERY) => {}
            // A stream created or resumed here starts now, not at the next scan.
            _ = changes.recv() => {}
        }
    }
    // Each task finishes its round (a batch in flight is acknowledged or not) and
    // lets its lease go.
    for (_, task) in running {
        let _ = task.await;
    }
}

struct StreamTask {
    app: App,
    holder: Uuid,
    stop: CancellationToken,
    sender: Sender,
    first_backoff: Duration,
    /// When this task last took (or renewed) the stream's lease.
    lease_taken: Option<tokio::time::Instant>,
}

/// What one round did.
enum Round {
    /// Sent or passed over events; go on at once.
    Moved,
    /// Nothing new yet.
    CaughtUp,
    /// The receiver failed; wait this long, or until the stream (as it was read for
    /// this round) is changed.
    Failed(Duration, Option<Box<Stream>>),
    /// The stream is gone, disabled, or no longer ours.
    Done,
}

impl StreamTask {
    fn store(&self) -> &dyn Store {
        self.app.store.as_ref()
    }

    async fn run(mut self, stream: Stream) {
        let id = stream.id;
        let mut commits = self.app.writer.commits();
        let mut changes = self.app.stream_changes.subscribe();
        // The upper end of a batch that failed: tried again with the same events, so
        // its delivery id stays the same.
        let mut retry_to: Option<u64> = None;
        loop {
            if self.stop.is_cancelled() {
                break;
            }
            commits.mark_unchanged();
            let round = match self.round(&stream, &mut retry_to).await {
                Ok(round) => round,
                Err(err) => {
                    tracing::warn!(stream = %id, error = ?err, "stream delivery could not read or write the store");
                    Round::Failed(POLL_EVERY, None)
                }
            };
            let pause = match round {
                Round::Moved => continue,
                Round::Done => break,
                Round::CaughtUp => POLL_EVERY,
                Round::Failed(pause, Some(seen)) => {
                    if self.back_off(pause, &seen, &mut changes).await {
                        continue;
                    }
                    break;
                }
                Round::Failed(pause, None) => pause,
            };
            tokio::select! {
                () = self.stop.cancelled() => break,
                changed = commits.changed(), if matches!(round, Round::CaughtUp) => {
                    if changed.is_err() {
                        tokio::time::sleep(pause).await;
                    }
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
        if let Err(err) = self.store().release_stream_lease(id, self.holder).await {
            tracing::warn!(stream = %id, error = ?err, "could not release a stream's lease");
        }
    }

    /// Waits out a failure's backoff; answers `false` when the server stops. It ends
    /// early once `seen` (the stream as the failed round read it) was changed in a
    /// way that matters to its delivery, or is gone: heard of at once when the change
    /// was made here, read from the database every [`POLL_EVERY`] otherwise.
    async fn back_off(&mut self, pause: Duration, seen: &Stream, changes: &mut broadcast::Receiver<Uuid>) -> bool {
        let until = tokio::time::Instant::now() + pause;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return false,
                () = tokio::time::sleep_until(until) => return true,
                heard = changes.recv() => match heard {
                    Ok(id) if id != seen.id => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    // Never while the app lives (it holds the sender); wait it out.
                    Err(RecvError::Closed) => {
                        tokio::time::sleep_until(until).await;
                        return true;
                    }
                },
                () = tokio::time::sleep(POLL_EVERY) => {}
            }
            match self.store().stream(seen.account_id, seen.id).await {
                Ok(Some(now)) if !changed_for_delivery(seen, &now) => {}
                // Changed, deleted, or unreadable: the next round finds out which.
                _ => return true,
            }
            // The lease is kept through a long backoff, so another server does not
            // take the stream over and try at once.
            if !matches!(self.hold_lease(seen.id).await, Ok(true)) {
                return true;
            }
        }
    }

    /// Holds the lease for twice [`RECEIVER_TIMEOUT`](super::sinks::RECEIVER_TIMEOUT) more at least: renewed once
    /// [`LEASE_RENEW_EVERY`] has passed since it was last taken, so a busy stream
    /// writes its lease every ten seconds rather than every round (on SQLite each
    /// write waits behind the writer's group commits). `false`: another server has it.
    async fn hold_lease(&mut self, id: Uuid) -> Result<bool, StoreError> {
        if self.lease_taken.is_some_and(|at| at.elapsed() < LEASE_RENEW_EVERY) {
            return Ok(true);
        }
        let taken_at = tokio::time::Instant::now();
        let held = self.app.store.take_stream_lease(id, self.holder, Timestamp::now(), LEASE_TTL_MS).await?;
        self.lease_taken = held.then_some(taken_at);
        Ok(held)
    }

    /// Reads up to [`ROUND_EVENTS`] events after the stream's position and sends them
    /// as consecutive batches of at most [`BATCH`] read events, each acknowledged
    /// before the next is sent; then moves the position once, to the last event read.
    /// One position write per round, not per batch: a stream behind by thousands of
    /// events is not held back by the store's write latency.
    async fn round(&mut self, first: &Stream, retry_to: &mut Option<u64>) -> Result<Round, StoreError> {
        let store = self.app.store.clone();
        if !self.hold_lease(first.id).await? {
            return Ok(Round::Done);
        }
        let Some(stream) = store.stream(first.account_id, first.id).await? else { return Ok(Round::Done) };
        if !stream.settings.enabled {
            return Ok(Round::Done);
        }
        let from = stream.delivered_seq;
        // A replay moved the position: the batch that failed is not the next one.
        if retry_to.is_some_and(|to| to <= from) {
            *retry_to = None;
        }
        // A batch that failed is tried again alone, with the same events and so the
        // same delivery id.
        let limit = match *retry_to {
            Some(to) => u32::try_from(to - from).unwrap_or(BATCH).clamp(1, BATCH),
            None => ROUND_EVENTS,
        };
        let chained = store.chain(stream.account_id, from, limit).await?;
        let Some(last) = chained.last().map(|e| e.seq) else { return Ok(Round::CaughtUp) };
        // The highest seq the receiver acknowledged (or that no filter let through).
        let mut acked = from;
        for read in chained.chunks(BATCH as usize) {
            let read_last = read.last().map_or(acked, |e| e.seq);
            let mut batch = Vec::with_capacity(read.len());
            for event in read {
                let outgoing =
                    Outgoing::read(event).map_err(|e| StoreError::Corrupt(format!("event seq {}: {e}", event.seq)))?;
                if matches(&stream.settings.filters, &outgoing.event) {
                    batch.push(outgoing);
                }
            }
            if !batch.is_empty() {
                if !self.hold_lease(stream.id).await? {
                    // Another server has the stream: what was acknowledged is not
                    // ours to record any more (it sends those events again).
                    return Ok(Round::Done);
                }
                let delivery = delivery_id(stream.id, acked, read_last);
                if let Err(err) = self.sender.send(&stream, &batch, &delivery).await {
                    if acked > from {
                        store.stream_delivered(stream.id, self.holder, from, acked, Timestamp::now()).await?;
                    }
                    *retry_to = Some(read_last);
                    let failures = store.stream_failed(stream.id, self.holder, &err.0).await?;
                    tracing::info!(stream = %stream.id, error = %err, failures, "a stream's receiver failed");
                    let pause = |n| Round::Failed(backoff(self.first_backoff, n), Some(Box::new(stream.clone())));
                    return Ok(failures.map_or(Round::Done, pause));
                }
            }
            acked = read_last;
        }
        *retry_to = None;
        // `false`: a replay (or another holder) moved the position meanwhile; the next
        // round reads it again.
        store.stream_delivered(stream.id, self.holder, from, last, Timestamp::now()).await?;
        Ok(Round::Moved)
    }
}

/// Whether a stream that failed as `seen` should be tried again before its backoff
/// ends: moved (a replay), its failures cleared (a replay to the same place), or any
/// setting but its name changed (paused, resumed, a new URL, format, filters,
/// secret, token or CA).
fn changed_for_delivery(seen: &Stream, now: &Stream) -> bool {
    let unnamed = |s: &Stream| casetrail_store::StreamSettings { name: String::new(), ..s.settings.clone() };
    now.delivered_seq != seen.delivered_seq || now.failures == 0 || unnamed(now) != unnamed(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_five_minutes() {
        let secs: Vec<u64> = (1..=11).map(|n| backoff(FIRST_BACKOFF, n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(FIRST_BACKOFF, u32::MAX), MAX_BACKOFF);
        assert_eq!(backoff(MAX_BACKOFF, 1), MAX_BACKOFF, "a test's long first backoff");
    }

    #[test]
    fn a_delivery_id_names_the_stream_and_the_seqs() {
        let id = Uuid::nil();
        assert_eq!(delivery_id(id, 41, 50), "00000000-0000-0000-0000-000000000000:42-50");
    }
}
