//! The storage boundary of casetrail: the [`Store`] trait that every backend
//! implements, the records it keeps beside events (accounts, users, keys, sessions),
//! and [`StoreError`].
//!
//! Everything above this crate holds an `Arc<dyn Store>` and never knows which
//! database is underneath. A backend proves it keeps the contract by running the
//! conformance suite in `testing` (feature `testing`) through `store_conformance!`,
//! given a `testing::TestBackend` that opens fresh databases and second handles:
//!
//! ```ignore
//! casetrail_store::store_conformance!(MyBackend);
//! ```
//!
//! Appending is the one delicate operation: [`EventStore::append`] takes several requests'
//! batches at once (group commit), and for each account reads the chain head, skips
//! idempotent duplicates, assigns gapless `seq`s, links hashes and commits everything
//! in **one** transaction before it returns. Every other change that casetrail records
//! (settings, holds, users, keys) takes the change and a recorder of its audit event
//! together, and the backend commits both in one transaction (the `change` types).
#![forbid(unsafe_code)]

mod change;
pub mod derived;
mod history;
mod pickers;
mod records;
mod retention;
mod service;
mod streams;
pub mod tree;

use async_trait::async_trait;
use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::integrity::{ChainKey, Checkpoint, Columns, Tombstone};
pub use casetrail_core::mask::FingerprintKey;
use casetrail_core::merkle::NodeId;
use casetrail_core::query::{BrowseQuery, Cursor};
pub use casetrail_core::{AccountId, EventId, KeyId, UserId};
use casetrail_core::{NewEvent, RecordType, Timestamp};
use uuid::Uuid;

pub use change::*;
pub use history::*;
pub use pickers::*;
pub use records::*;
pub use retention::*;
pub use service::*;
pub use streams::*;

#[cfg(feature = "testing")]
pub mod testing;

/// A uniqueness or business rule that a change broke; the text is safe for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictCode {
    /// Another user of any account already has this email.
    EmailTaken,
    /// The record already has a hold.
    HoldExists,
    /// The change would leave the account without an admin.
    LastAdmin,
}

impl ConflictCode {
    /// What the client is told.
    pub fn message(self) -> &'static str {
        match self {
            ConflictCode::EmailTaken => "email already used",
            ConflictCode::HoldExists => "that record is already held",
            ConflictCode::LastAdmin => "the account's last admin cannot be demoted or removed",
        }
    }
}

impl std::fmt::Display for ConflictCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// What can go wrong in a store, with a transport-neutral meaning.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or business rule was broken; nothing was changed.
    #[error("conflict: {0}")]
    Conflict(ConflictCode),
    /// The account the operation names does not exist.
    #[error("no such account")]
    UnknownAccount,
    /// The database was too busy to take the write in time (a lock held elsewhere, a
    /// serialization failure); nothing was written and the same call may succeed.
    #[error("storage backend busy")]
    Busy(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database cannot be reached: the connection was refused or lost, no
    /// connection could be had in time, or the server is shutting down or starting.
    /// Whether a write in flight committed is unknown, so it was not acknowledged; the
    /// same call may succeed once the database is back.
    #[error("storage backend unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database failed; the message is for logs, never for clients.
    #[error("storage backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// What the store holds cannot be read back (corruption or tampering).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Backend(Box::new(err))
    }

    pub fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Unavailable(Box::new(err))
    }

    /// Whether trying the same operation again may succeed: at once when `Busy`,
    /// after a pause when `Unavailable`.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Busy(_) | StoreError::Unavailable(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One request's events for one account, already validated.
#[derive(Debug, Clone)]
pub struct AppendBatch {
    pub account_id: AccountId,
    pub events: Vec<NewEvent>,
}

/// Where an appended (or duplicate) event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub id: EventId,
    pub seq: u64,
    pub duplicate: bool,
}

/// One page of a browse, newest first.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub events: Vec<ChainedEvent>,
    pub next_cursor: Option<Cursor>,
}

/// What one purge batch removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeBatch {
    pub purged: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Another run of the same account is live (it committed a batch within
    /// [`PURGE_RUN_LIVE_MS`]): this batch removed nothing, and the caller waits for
    /// that run to finish before asking again. One run at a time per account keeps
    /// each run's `first_seq..last_seq` free of events that another run removed.
    pub behind: Option<Uuid>,
}

/// A purge run whose newest batch committed within this many milliseconds is live;
/// an older one was cut short (a crash, a kill) and is recorded as interrupted.
pub const PURGE_RUN_LIVE_MS: i64 = 120_000;

/// One retention run over one account. The store keeps what the run has removed so
/// far in the database, in each batch's own transaction, until the run's record is
/// written ([`RetentionStore::finish_purge_run`]); so a run cut short by a crash is
/// still recorded when it is found unfinished.
#[derive(Debug, Clone, PartialEq)]
pub struct PurgeRun {
    pub id: Uuid,
    pub account_id: AccountId,
    /// What goes: each category's events older than its cutoff, and the policy the
    /// cutoffs came from, for the record.
    pub cutoffs: PurgeCutoffs,
    /// Who started the run: casetrail's retention task, or an admin.
    pub actor: casetrail_core::Actor,
    pub started_at: Timestamp,
}

/// What a run has removed so far, as the store counted it.
#[derive(Debug, Clone, PartialEq)]
pub struct PurgeRunSummary {
    pub run: PurgeRun,
    pub purged: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    /// When its newest batch committed.
    pub last_batch_at: Timestamp,
}

/// What a purge would remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgePreview {
    pub events: u64,
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
}

/// The newest link of an account's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: ChainHash,
}

/// The storage of casetrail: every role below, behind one object. Every method is
/// scoped to an account where the data is; a backend must never return another
/// account's rows. Several handles (in several processes or servers) may use one
/// database at once: every guarantee below must hold across them, not only within one
/// handle.
pub trait Store:
    AccountStore + CredentialStore + EventStore + IntegrityStore + RetentionStore + ServiceStore + StreamStore
{
}

impl<T: AccountStore + CredentialStore + EventStore + IntegrityStore + RetentionStore + ServiceStore + StreamStore>
    Store for T
{
}

/// Accounts and their users. Every change here records itself (see the `change` types: [`Recorder`], [`Recorded`], [`Transition`]).
#[async_trait]
pub trait AccountStore: Send + Sync + std::fmt::Debug {
    /// Creates an account; it writes no event (its first event is seq 1).
    async fn create_account(&self, name: &str) -> StoreResult<Account>;
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    async fn accounts(&self) -> StoreResult<Vec<Account>>;
    /// Applies one targeted settings change and appends its record, in one
    /// transaction; the recorder sees the account as the transaction read it.
    async fn change_account(
        &self,
        id: AccountId,
        change: AccountChange,
        record: Recorder<Transition<Account>>,
    ) -> StoreResult<Recorded<Transition<Account>>>;

    /// Creates a user and appends its record; an email used by any user of any
    /// account is a `Conflict(EmailTaken)`.
    async fn create_user(&self, user: NewUser, record: Recorder<User>) -> StoreResult<Recorded<User>>;
    async fn users(&self, account: AccountId) -> StoreResult<Vec<User>>;
    async fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>>;
    /// The user with this email (case-insensitive) and their password hash.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>>;
    /// Sets a user's role and appends its record; `None` when there is no such user.
    /// Demoting the account's last admin is a `Conflict(LastAdmin)`, decided inside
    /// the same transaction.
    async fn set_user_role(
        &self,
        account: AccountId,
        id: UserId,
        role: Role,
        record: Recorder<Transition<User>>,
    ) -> StoreResult<Option<Recorded<Transition<User>>>>;
    /// Deletes the user and every session of theirs and appends the record; `None`
    /// when there was none. Removing the last admin is a `Conflict(LastAdmin)`.
    async fn delete_user(
        &self,
        account: AccountId,
        id: UserId,
        record: Recorder<User>,
    ) -> StoreResult<Option<Recorded<User>>>;

    /// The account's fingerprint key for masking (docs/API.md §14). An account that
    /// has none yet takes `candidate` (fresh random bytes from the caller); several
    /// callers racing to set it all get the one that was stored first. The key is
    /// kept by the store and never leaves the server.
    async fn fingerprint_key(&self, account: AccountId, candidate: FingerprintKey) -> StoreResult<FingerprintKey>;
}

/// API keys and browser sessions.
#[async_trait]
pub trait CredentialStore: Send + Sync + std::fmt::Debug {
    async fn create_api_key(&self, key: NewApiKey, record: Recorder<ApiKey>) -> StoreResult<Recorded<ApiKey>>;
    async fn api_keys(&self, account: AccountId) -> StoreResult<Vec<ApiKey>>;
    /// The key whose secret hashes to `secret_hash`, revoked or not.
    async fn api_key_by_hash(&self, secret_hash: [u8; 32]) -> StoreResult<Option<ApiKey>>;
    /// Marks the key revoked and appends the record; a key already revoked keeps its
    /// first revocation time and records nothing. `None` when unknown.
    async fn revoke_api_key(
        &self,
        account: AccountId,
        id: KeyId,
        record: Recorder<ApiKey>,
    ) -> StoreResult<Option<Recorded<ApiKey>>>;
    async fn touch_api_key(&self, id: KeyId, at: Timestamp) -> StoreResult<()>;

    /// Starts a session and appends its record (the sign-in) in one transaction.
    async fn create_session(&self, session: Session, record: Recorder<Session>) -> StoreResult<Recorded<Session>>;
    /// The session, if it exists and has not expired at `now`.
    async fn session(&self, token_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()>;
    /// Deletes every session that expired before `now`; answers how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> StoreResult<u64>;
}

/// The log itself: appending, browsing, the chain, the pickers.
#[async_trait]
pub trait EventStore: Send + Sync + std::fmt::Debug {
    /// Appends every batch in one transaction (see the crate docs). The answer holds,
    /// per batch and in input order, each event's id and seq. Safe against appenders
    /// on other handles to the same database: the head is read and moved inside the
    /// transaction, so a chain never forks and `seq` never has a gap.
    async fn append(&self, batches: Vec<AppendBatch>) -> StoreResult<Vec<Vec<Appended>>>;
    /// One page, newest `occurred_at` first, ties by higher `seq`.
    async fn events(&self, account: AccountId, query: &BrowseQuery) -> StoreResult<Page>;
    async fn event(&self, account: AccountId, id: EventId) -> StoreResult<Option<ChainedEvent>>;
    /// Up to `limit` events with `seq > after_seq`, in seq order: the chain as stored.
    async fn chain(&self, account: AccountId, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>>;
    async fn head(&self, account: AccountId) -> StoreResult<Option<ChainHead>>;

    /// Actors the log has seen whose id, name or email matches every word.
    async fn actors(&self, account: AccountId, words: &[String], limit: u32) -> StoreResult<Vec<ActorSummary>>;
    /// Related records the log has seen, optionally of one type.
    async fn records(
        &self,
        account: AccountId,
        kind: Option<RecordType>,
        words: &[String],
        limit: u32,
    ) -> StoreResult<Vec<RecordSummary>>;

    /// Everything the log holds about one related record, read through the
    /// related-records index (never a scan of the log); `None` when no stored event
    /// relates to it.
    async fn record_events(&self, account: AccountId, kind: RecordType, id: &str) -> StoreResult<Option<RecordEvents>>;
}

/// What verification reads besides the chain: checkpoints and tombstones.
#[async_trait]
pub trait IntegrityStore: Send + Sync + std::fmt::Debug {
    /// Like [`EventStore::chain`], with the indexed columns each row keeps beside its
    /// body (when the backend keeps any), so verification can check they agree.
    async fn chain_rows(
        &self,
        account: AccountId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<(ChainedEvent, Columns)>>;
    async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()>;
    /// Newest first.
    async fn checkpoints(&self, account: AccountId, limit: u32) -> StoreResult<Vec<Checkpoint>>;
    /// Every purge tombstone, in seq order.
    async fn tombstones(&self, account: AccountId) -> StoreResult<Vec<Tombstone>>;
    /// The stored hashes of these nodes of the account's Merkle tree (docs/API.md
    /// §15), which every append extends in its own transaction and no purge
    /// touches; a node not stored is absent from the answer.
    async fn tree_nodes(
        &self,
        account: AccountId,
        nodes: &[NodeId],
    ) -> StoreResult<std::collections::HashMap<NodeId, ChainHash>>;
}

/// Holds and purging.
#[async_trait]
pub trait RetentionStore: Send + Sync + std::fmt::Debug {
    async fn holds(&self, account: AccountId) -> StoreResult<Vec<Hold>>;
    /// Places a hold and appends its record; a hold already on that record is a
    /// `Conflict(HoldExists)`.
    async fn add_hold(&self, hold: &Hold, record: Recorder<Hold>) -> StoreResult<Recorded<Hold>>;
    /// Lifts a hold and appends its record; `None` when there was none.
    async fn remove_hold(
        &self,
        account: AccountId,
        kind: RecordType,
        id: &str,
        record: Recorder<Hold>,
    ) -> StoreResult<Option<Recorded<Hold>>>;
    /// What a purge with this cutoff would remove now (holds respected): of the
    /// events of `category` only, or of every event when it is `None`.
    async fn purge_preview(
        &self,
        account: AccountId,
        category: Option<&'static casetrail_core::activity::Category>,
        cutoff: Timestamp,
    ) -> StoreResult<PurgePreview>;
    /// Removes up to `max_events` events older than their category's cutoff in the
    /// run that no hold keeps, oldest first, in one transaction, leaving signed tombstones for the runs of purged
    /// seqs and adding what it removed to the run's tally. The holds (the
    /// account-wide legal hold included) are read inside that transaction, so a hold
    /// placed during a long purge stops it at the next batch. Callers loop until
    /// `purged < max_events`, then finish the run. While another run of the account
    /// is live, a batch removes nothing and answers [`PurgeBatch::behind`].
    async fn purge(&self, run: &PurgeRun, max_events: u32, key: &ChainKey) -> StoreResult<PurgeBatch>;
    /// Ends a run: appends its record, built by `record` from the run's tally, and
    /// forgets the tally, in one transaction. `None` when the run removed nothing (or
    /// was finished already). Every purged event is counted by exactly one finish.
    async fn finish_purge_run(
        &self,
        account: AccountId,
        run: Uuid,
        record: Recorder<PurgeRunSummary>,
    ) -> StoreResult<Option<Recorded<PurgeRunSummary>>>;
    /// Runs of any account that removed something and have not been finished, whose
    /// newest batch committed before `idle_before`: runs cut short by a crash.
    async fn unfinished_purge_runs(&self, idle_before: Timestamp) -> StoreResult<Vec<PurgeRunSummary>>;
    /// Lets the backend give freed space back (SQLite: incremental vacuum); most
    /// databases do this by themselves.
    async fn reclaim_space(&self) -> StoreResult<()> {
        Ok(())
    }
}
