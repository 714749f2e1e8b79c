//! The group-commit ingest writer: one writer per process, many requests per commit.
//!
//! Every append, from a host's request or from casetrail itself, is queued here. One
//! task takes whatever has queued, hands it to [`EventStore::append`] as one transaction,
//! then answers each waiting request. While a commit is in progress the next requests
//! queue up, so under load many requests share one fsync.

use std::collections::HashMap;
use std::sync::Arc;

use casetrail_core::NewEvent;

use crate::metrics::Metrics;
use crate::signing::Keys;
use casetrail_store::{AccountId, AppendBatch, Appended, EventStore, Store, StoreError};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// At most this many events go into one transaction, so one huge group cannot hold
/// the write lock for long.
const MAX_GROUP_EVENTS: usize = 5_000;
/// Requests that may wait in the queue before senders are slowed down.
const QUEUE_DEPTH: usize = 4_096;
/// A checkpoint is signed at least every this many events per account, unless the
/// server is configured otherwise (`ServerConfig::checkpoint_every`).
pub const CHECKPOINT_EVERY: u64 = 1_000;

type Reply = oneshot::Sender<Result<Vec<Appended>, Arc<StoreError>>>;

struct Job {
    batch: AppendBatch,
    reply: Reply,
}

/// A handle to the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    /// Bumped whenever this process appended events — a group commit of this writer,
    /// or a change that recorded itself ([`Writer::announce`]): the feed's long polls
    /// and the stream senders wake on it instead of waiting for their next poll (which
    /// still finds what other servers appended).
    committed: Arc<watch::Sender<u64>>,
}

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the store failed to commit")]
    Store(#[source] Arc<StoreError>),
    #[error("the writer has stopped")]
    Stopped,
}

impl Writer {
    /// Starts the writer task. It ends once every `Writer` clone has been dropped and
    /// the queue is drained, so in-flight commits always finish.
    pub fn start(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        checkpoint_every: u64,
        metrics: Arc<Metrics>,
    ) -> (Writer, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let committed = Arc::new(watch::Sender::new(0));
        let signals = Signals { committed: committed.clone(), metrics };
        let task = tokio::spawn(run(store, keys, checkpoint_every.max(1), rx, signals));
        (Writer { tx, committed }, task)
    }

    /// Changes whenever this process appended events (see [`Writer::announce`]).
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Tells those waiting on [`Writer::commits`] that events were appended outside
    /// the writer: a change and its record committed in one store transaction.
    pub fn announce(&self) {
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Appends one request's events atomically; answers once they are committed.
    pub async fn append(&self, account_id: AccountId, events: Vec<NewEvent>) -> Result<Vec<Appended>, WriteError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { batch: AppendBatch { account_id, events }, reply };
        self.tx.send(job).await.map_err(|_| WriteError::Stopped)?;
        answer.await.map_err(|_| WriteError::Stopped)?.map_err(WriteError::Store)
    }
}

/// Who hears of each commit.
struct Signals {
    committed: Arc<watch::Sender<u64>>,
    metrics: Arc<Metrics>,
}

async fn run(store: Arc<dyn Store>, keys: Arc<Keys>, every: u64, mut rx: mpsc::Receiver<Job>, signals: Signals) {
    // The seq of each account's newest checkpoint, learned lazily.
    let mut checkpointed: HashMap<AccountId, u64> = HashMap::new();
    while let Some(first) = rx.recv().await {
        let mut events = first.batch.events.len();
        let mut jobs = vec![first];
        while events < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok(job) => {
                    events += job.batch.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let (heads, appended) = commit(store.as_ref(), jobs, events).await;
        signals.metrics.committed(appended, started.elapsed());
        if appended > 0 {
            signals.committed.send_modify(|n| *n = n.wrapping_add(1));
        }
        for (account, head) in heads {
            if let Err(err) = checkpoint_if_due(store.as_ref(), &keys, every, &mut checkpointed, account, head).await {
                tracing::error!(error = ?err, %account, "could not sign a checkpoint");
            }
        }
    }
}

/// Signs a checkpoint once an account's chain has grown by `every` events since its
/// newest one; `head` is the highest seq the group just committed for it. Runs after
/// the group's requests are answered.
async fn checkpoint_if_due(
    store: &dyn Store,
    keys: &Keys,
    every: u64,
    checkpointed: &mut HashMap<AccountId, u64>,
    account: AccountId,
    head: u64,
) -> Result<(), StoreError> {
    // The note is re-read from the store whenever it says a checkpoint is due:
    // another server on the same database may have signed one since.
    let mut last = checkpointed.get(&account).copied();
    if last.is_none_or(|seq| head >= seq.saturating_add(every)) {
        last = Some(store.checkpoints(account, 1).await?.first().map_or(0, |c| c.seq));
    }
    let last = last.unwrap_or(0);
    if head >= last.saturating_add(every) {
        let checkpoint = crate::integrity::checkpoint_now(store, keys, account).await?;
        checkpointed.insert(account, checkpoint.seq);
    } else {
        checkpointed.insert(account, last);
    }
    Ok(())
}

/// How often a commit is tried again while the database is busy (a lock held by
/// another process past the store's own wait), and the first pause between tries; the
/// pause doubles each time, so the last try comes some 1.3 s after the first.
const BUSY_RETRIES: u32 = 8;
const BUSY_FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// [`EventStore::append`] of `batches`, tried again from `kept` (a copy of them)
/// while the store answers `Busy`: nothing was written then, so trying again cannot
/// store anything twice.
async fn append_when_free(
    store: &dyn EventStore,
    batches: Vec<AppendBatch>,
    kept: &[AppendBatch],
) -> Result<Vec<Vec<Appended>>, StoreError> {
    let mut answer = store.append(batches).await;
    let mut pause = BUSY_FIRST_PAUSE;
    for _ in 1..BUSY_RETRIES {
        match &answer {
            // Only `Busy`: an unreachable database is not back within a second, and
            // each try would wait for a connection again; the client retries instead.
            Err(err @ StoreError::Busy(_)) => {
                tracing::warn!(error = ?err, pause_ms = pause.as_millis() as u64, "the store is busy; trying the commit again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                answer = store.append(kept.to_vec()).await;
            }
            _ => break,
        }
    }
    answer
}

/// Commits a group and answers its requests; returns the highest seq it reached in
/// each account (the chain heads, without asking the store again) and how many new
/// events (not duplicates) it appended.
async fn commit(store: &dyn EventStore, jobs: Vec<Job>, events: usize) -> (HashMap<AccountId, u64>, u64) {
    let (batches, replies): (Vec<_>, Vec<_>) = jobs.into_iter().map(|j| (j.batch, j.reply)).unzip();
    let accounts: Vec<AccountId> = batches.iter().map(|b| b.account_id).collect();
    let mut heads = HashMap::new();
    let mut appended = 0u64;
    let mut saw = |account: AccountId, answer: &[Appended]| {
        appended += answer.iter().filter(|a| !a.duplicate).count() as u64;
        if let Some(seq) = answer.iter().map(|a| a.seq).max() {
            let head = heads.entry(account).or_insert(0);
            *head = seq.max(*head);
        }
    };
    let group = batches.len();
    // Kept so that a busy commit can be tried again, and a failed group request by
    // request: one request's problem must not fail the others that happened to share
    // its transaction. (The one copy a commit makes; about a microsecond an event.)
    let kept = batches.clone();
    match append_when_free(store, batches, &kept).await {
        Ok(answers) => {
            for ((reply, answer), account) in replies.into_iter().zip(answers).zip(accounts) {
                saw(account, &answer);
                // The requester may have gone away; its events are committed anyway.
                let _ = reply.send(Ok(answer));
            }
        }
        Err(err) => {
            tracing::error!(error = ?err, group, events, "group commit failed");
            // Alone, a request fares no better: it was alone, or the database is out of
            // reach (then all are refused at once, none waits for a try of its own).
            if group == 1 || matches!(err, StoreError::Unavailable(_)) {
                let err = Arc::new(err);
                for reply in replies {
                    let _ = reply.send(Err(err.clone()));
                }
                return (heads, appended);
            }
            for ((batch, reply), account) in kept.into_iter().zip(replies).zip(accounts) {
                let alone = std::slice::from_ref(&batch);
                let answer =
                    append_when_free(store, alone.to_vec(), alone).await.map(|mut a| a.pop().unwrap_or_default());
                if let Ok(answer) = &answer {
                    saw(account, answer);
                }
                let _ = reply.send(answer.map_err(Arc::new));
            }
        }
    }
    (heads, appended)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use casetrail_core::query::BrowseQuery;
    use casetrail_core::{ChainedEvent, RecordType};
    use casetrail_store::{ActorSummary, ChainHead, EventId, Page, RecordSummary, StoreResult};

    use super::*;

    /// Answers `refusal()` (`Busy` unless said otherwise) to the first `busy`
    /// appends, then appends one seq per event.
    #[derive(Debug)]
    struct BusyFor {
        busy: u32,
        calls: AtomicU32,
        refusal: fn() -> StoreError,
    }

    fn busy() -> StoreError {
        StoreError::Busy(Box::new(std::io::Error::other("database is locked")))
    }

    fn unreachable_db() -> StoreError {
        StoreError::unavailable(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    }

    #[async_trait]
    impl EventStore for BusyFor {
        async fn append(&self, batches: Vec<AppendBatch>) -> StoreResult<Vec<Vec<Appended>>> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if call < self.busy {
                return Err((self.refusal)());
            }
            let answer = |i| Appended { id: EventId::nil(), seq: i as u64 + 1, duplicate: false };
            Ok(batches.iter().map(|b| (0..b.events.len()).map(answer).collect()).collect())
        }
        async fn events(&self, _: AccountId, _: &BrowseQuery) -> StoreResult<Page> {
            unreachable!("the writer only appends")
        }
        async fn event(&self, _: AccountId, _: EventId) -> StoreResult<Option<ChainedEvent>> {
            unreachable!("the writer only appends")
        }
        async fn chain(&self, _: AccountId, _: u64, _: u32) -> StoreResult<Vec<ChainedEvent>> {
            unreachable!("the writer only appends")
        }
        async fn head(&self, _: AccountId) -> StoreResult<Option<ChainHead>> {
            unreachable!("the writer only appends")
        }
        async fn actors(&self, _: AccountId, _: &[String], _: u32) -> StoreResult<Vec<ActorSummary>> {
            unreachable!("the writer only appends")
        }
        async fn records(
            &self,
            _: AccountId,
            _: Option<RecordType>,
            _: &[String],
            _: u32,
        ) -> StoreResult<Vec<RecordSummary>> {
            unreachable!("the writer only appends")
        }
        async fn record_events(
            &self,
            _: AccountId,
            _: RecordType,
            _: &str,
        ) -> StoreResult<Option<casetrail_store::RecordEvents>> {
            unreachable!("the writer only appends")
        }
    }

    fn one_batch() -> Vec<AppendBatch> {
        vec![AppendBatch { account_id: AccountId::nil(), events: Vec::new() }]
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_store_is_tried_again_until_it_takes_the_commit() {
        let store = BusyFor { busy: 3, calls: AtomicU32::new(0), refusal: busy };
        let answer = append_when_free(&store, one_batch(), &one_batch()).await;
        assert!(answer.is_ok(), "{answer:?}");
        assert_eq!(store.calls.load(Ordering::SeqCst), 4, "three busy answers, then the commit");
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_busy_for_too_long_fails_the_commit() {
        let store = BusyFor { busy: u32::MAX, calls: AtomicU32::new(0), refusal: busy };
        let answer = append_when_free(&store, one_batch(), &one_batch()).await;
        assert!(matches!(answer, Err(StoreError::Busy(_))), "{answer:?}");
        assert_eq!(store.calls.load(Ordering::SeqCst), BUSY_RETRIES);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_store_is_not_tried_again_by_the_writer() {
        let store = BusyFor { busy: 1, calls: AtomicU32::new(0), refusal: unreachable_db };
        let answer = append_when_free(&store, one_batch(), &one_batch()).await;
        assert!(matches!(answer, Err(StoreError::Unavailable(_))), "{answer:?}");
        assert_eq!(store.calls.load(Ordering::SeqCst), 1, "one try; the client retries later");
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_refused_as_unavailable_answers_every_request_without_trying_each() {
        let store = BusyFor { busy: 1, calls: AtomicU32::new(0), refusal: unreachable_db };
        let (jobs, answers): (Vec<_>, Vec<_>) = (0..3)
            .map(|_| {
                let (reply, answer) = oneshot::channel();
                (Job { batch: one_batch().remove(0), reply }, answer)
            })
            .unzip();
        let (heads, appended) = commit(&store, jobs, 0).await;
        assert!(heads.is_empty());
        assert_eq!(appended, 0);
        for answer in answers {
            let refusal = answer.await.unwrap().expect_err("nothing was committed");
            assert!(matches!(*refusal, StoreError::Unavailable(_)), "{refusal:?}");
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 1, "the group's one try, none per request");
    }
}
