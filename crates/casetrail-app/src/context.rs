//! [`App`]: what every operation of the application works with — the store, the
//! ingest writer and the signing keys. The HTTP server wraps it; the command line
//! builds one of its own.
//!
//! The signing key can change while the app runs (a rotated key file, see
//! [`crate::signing::watch`]): everything that signs asks `keys.current()` at the
//! moment it signs, and everything that verifies asks [`App::ring`], which reads the
//! database's ring of public keys each time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use casetrail_core::NewEvent;
use casetrail_core::integrity::KeyRing;
use casetrail_core::mask::FingerprintKey;
use casetrail_store::{Account, AccountId, Appended, Recorded, Store, StoreResult};
use tokio::task::JoinHandle;

use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::signing::Keys;
use crate::writer::Writer;

/// How many stream changes a slow listener may fall behind by; one that falls
/// further behind looks at every stream again, so nothing is missed.
const STREAM_CHANGES_KEPT: usize = 256;

/// The application's context; cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub writer: Writer,
    pub keys: Arc<Keys>,
    /// What `/metrics` shows; the writer counts its commits here.
    pub metrics: Arc<Metrics>,
    /// The id of every stream created, changed or deleted through this process: its
    /// delivery wakes at once (a replay or a new destination does not wait out a
    /// backoff), and the delivery's scan starts a new or resumed stream at once.
    pub stream_changes: tokio::sync::broadcast::Sender<uuid::Uuid>,
    /// Each account's fingerprint key once read (`crate::masking`): keys never change.
    pub(crate) fingerprint_keys: Arc<Mutex<HashMap<AccountId, FingerprintKey>>>,
}

impl App {
    /// Starts the ingest writer over `store`. The returned task ends once every clone
    /// of the `App` (and of its writer) is dropped and the queue has drained.
    pub fn start(store: Arc<dyn Store>, keys: Arc<Keys>, checkpoint_every: u64) -> (App, JoinHandle<()>) {
        let metrics = Arc::new(Metrics::default());
        let (writer, task) = Writer::start(store.clone(), keys.clone(), checkpoint_every, metrics.clone());
        let (stream_changes, _) = tokio::sync::broadcast::channel(STREAM_CHANGES_KEPT);
        (App { store, writer, keys, metrics, stream_changes, fingerprint_keys: Arc::default() }, task)
    }

    /// Every public key that verifies: the database's ring and this process's own
    /// keys.
    pub async fn ring(&self) -> StoreResult<KeyRing> {
        crate::signing::ring(self.store.as_ref(), &self.keys.local_ring()).await
    }

    /// The account; it exists for any valid credential.
    pub async fn account(&self, id: AccountId) -> AppResult<Account> {
        self.store.account(id).await?.ok_or(AppError::NotFound("account"))
    }

    /// Appends events through the writer and waits for their commit.
    pub async fn append(&self, account: AccountId, events: Vec<NewEvent>) -> AppResult<Vec<Appended>> {
        Ok(self.writer.append(account, events).await?)
    }

    /// What a change that records itself answered, once counted: its event (when it
    /// wrote one) is counted in the metrics and announced to the feed's long polls
    /// and the stream senders, as the writer does for its commits. Every store call
    /// that takes a `Recorder` passes its answer through here.
    pub fn noted<T>(&self, recorded: Recorded<T>) -> Recorded<T> {
        if recorded.event.as_ref().is_some_and(|e| !e.duplicate) {
            self.metrics.recorded();
            self.writer.announce();
        }
        recorded
    }

    /// Records an event that changes nothing else (a sign-in, an export).
    pub async fn record(&self, account: AccountId, event: NewEvent) -> AppResult<Appended> {
        let mut appended = self.append(account, vec![event]).await?;
        appended.pop().ok_or_else(|| AppError::Internal(anyhow::anyhow!("the writer answered no event")))
    }
}
