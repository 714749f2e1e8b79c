//! Delivery: the background work that sends each enabled stream's new events.
//!
//! [`run`] looks at the streams every [`SCAN_EVERY`] and starts one task per
//! enabled stream that this server does not already deliver. A task first takes the
//! stream's lease ([`StreamStore::take_stream_lease`]); if another server holds it,
//! the task ends and the next scan tries again (so a dead server's streams move to
//! a live one once its lease expires). While it holds the lease, the task loops:
//!
//! 1. read the stream again (deleted or disabled: end; replayed: start from the new
//!    position) and up to [`BATCH`] events after its position (`EventStore::chain`);
//! 2. send those that match the filters, as one batch, and wait for the receiver's
//!    acknowledgement;
//! 3. move the position to the last event *read* (filtered-out events are passed
//!    over), only for this holder and only from the position read in 1
//!    ([`StreamStore::stream_delivered`]); or count the failure and wait the backoff
//!    (1 s, doubling, at most 5 minutes) before the same batch is tried again.
//!
//! With nothing new, it waits for this server's writer to commit or for
//! [`POLL_EVERY`] (which finds what other servers and recorded changes appended),
//! so a healthy receiver gets a new event within about a second of its commit.
//! Nothing is acknowledged before the receiver did, so a crash or a SIGKILL at any
//! point resends at most the batch in flight: at least once, in seq order.

use std::collections::HashMap;
use std::time::Duration;

use casetrail_core::Timestamp;
use casetrail_store::{Store, StoreError, Stream};
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
/// The most events read (and sent) at once.
pub const BATCH: u32 = 500;
/// How long a lease lives unless renewed; a round renews it, and a round takes at
/// most the receiver's timeout and a few statements.
const LEASE_TTL_MS: i64 = 30_000;
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The pause after `failures` consecutive failures: 1 s, 2 s, 4 s, … at most 5 min.
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
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
    loop {
        running.retain(|_, task| !task.is_finished());
        match app.store.all_streams().await {
            Ok(streams) => {
                for stream in streams.into_iter().filter(|s| s.settings.enabled) {
                    if running.contains_key(&stream.id) {
                        continue;
                    }
                    let sender = Sender::new(http.clone(), options.allow_private, hostname.clone());
                    let task = StreamTask { app: app.clone(), holder, stop: stop.clone(), sender };
                    running.insert(stream.id, tokio::spawn(task.run(stream)));
                }
            }
            Err(err) => tracing::warn!(error = ?err, "could not read the streams"),
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(SCAN_EVERY) => {}
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
}

/// What one round did.
enum Round {
    /// Sent or passed over events; go on at once.
    Moved,
    /// Nothing new yet.
    CaughtUp,
    /// The receiver failed; wait this long.
    Failed(Duration),
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
                    Round::Failed(POLL_EVERY)
                }
            };
            let pause = match round {
                Round::Moved => continue,
                Round::Done => break,
                Round::CaughtUp => POLL_EVERY,
                Round::Failed(pause) => pause,
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

    async fn round(&mut self, first: &Stream, retry_to: &mut Option<u64>) -> Result<Round, StoreError> {
        let store = self.app.store.clone();
        if !store.take_stream_lease(first.id, self.holder, Timestamp::now(), LEASE_TTL_MS).await? {
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
        let limit = match *retry_to {
            Some(to) => u32::try_from(to - from).unwrap_or(BATCH).clamp(1, BATCH),
            None => BATCH,
        };
        let chained = store.chain(stream.account_id, from, limit).await?;
        let Some(last) = chained.last().map(|e| e.seq) else { return Ok(Round::CaughtUp) };
        let mut batch = Vec::with_capacity(chained.len());
        for event in &chained {
            let outgoing =
                Outgoing::read(event).map_err(|e| StoreError::Corrupt(format!("event seq {}: {e}", event.seq)))?;
            if matches(&stream.settings.filters, &outgoing.event) {
                batch.push(outgoing);
            }
        }
        if !batch.is_empty() {
            let delivery = delivery_id(stream.id, from, last);
            if let Err(err) = self.sender.send(&stream, &batch, &delivery).await {
                *retry_to = Some(last);
                let failures = store.stream_failed(stream.id, self.holder, &err.0).await?;
                tracing::info!(stream = %stream.id, error = %err, failures, "a stream's receiver failed");
                return Ok(failures.map_or(Round::Done, |n| Round::Failed(backoff(n))));
            }
        }
        *retry_to = None;
        // `false`: a replay (or another holder) moved the position meanwhile; the next
        // round reads it again.
        store.stream_delivered(stream.id, self.holder, from, last, Timestamp::now()).await?;
        Ok(Round::Moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_five_minutes() {
        let secs: Vec<u64> = (1..=11).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_delivery_id_names_the_stream_and_the_seqs() {
        let id = Uuid::nil();
        assert_eq!(delivery_id(id, 41, 50), "00000000-0000-0000-0000-000000000000:42-50");
    }
}
