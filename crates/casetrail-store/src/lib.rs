//! The storage boundary of casetrail: the [`Store`] trait that every backend
//! implements, the records it keeps beside events (accounts, users, keys, sessions),
//! and [`StoreError`].
//!
//! Everything above this crate holds an `Arc<dyn Store>` and never knows which
//! database is underneath. A backend proves it keeps the contract by running the
//! conformance suite in [`testing`] (feature `testing`) through [`store_conformance!`],
//! given a `testing::TestBackend` that opens fresh databases and second handles:
//!
//! ```ignore
//! casetrail_store::store_conformance!(MyBackend);
//! ```
//!
//! Appending is the one delicate operation: [`Store::append`] takes several requests'
//! batches at once (group commit), and for each account reads the chain head, skips
//! idempotent duplicates, assigns gapless `seq`s, links hashes and commits everything
//! in **one** transaction before it returns.
#![forbid(unsafe_code)]

mod records;

use async_trait::async_trait;
use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::integrity::{ChainKey, Checkpoint, Columns, Tombstone};
use casetrail_core::query::{BrowseQuery, Cursor};
use casetrail_core::{NewEvent, RecordType, Timestamp};
use uuid::Uuid;

pub use records::*;

#[cfg(feature = "testing")]
pub mod testing;

pub type AccountId = Uuid;

/// What can go wrong in a store, with a transport-neutral meaning.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (an email already used, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The account the operation names does not exist.
    #[error("no such account")]
    UnknownAccount,
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
    pub id: Uuid,
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

/// The storage of casetrail. Every method is scoped to an account where the data is;
/// a backend must never return another account's rows.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // --- accounts -------------------------------------------------------------
    async fn create_account(&self, name: &str) -> StoreResult<Account>;
    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    async fn accounts(&self) -> StoreResult<Vec<Account>>;
    /// Replaces the settings: name, time zone, record URL templates, retention days
    /// and the account-wide legal hold.
    async fn update_account(&self, account: &Account) -> StoreResult<()>;

    // --- users ----------------------------------------------------------------
    /// Creates a user; an email used by any user of any account is a `Conflict`.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn users(&self, account: AccountId) -> StoreResult<Vec<User>>;
    async fn user(&self, account: AccountId, id: Uuid) -> StoreResult<Option<User>>;
    /// The user with this email (case-insensitive) and their password hash.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>>;
    async fn set_user_role(&self, account: AccountId, id: Uuid, role: Role) -> StoreResult<Option<User>>;
    /// Deletes the user and every session of theirs; `false` when there was none.
    async fn delete_user(&self, account: AccountId, id: Uuid) -> StoreResult<bool>;

    // --- API keys -------------------------------------------------------------
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey>;
    async fn api_keys(&self, account: AccountId) -> StoreResult<Vec<ApiKey>>;
    /// The key whose secret hashes to `secret_hash`, revoked or not.
    async fn api_key_by_hash(&self, secret_hash: [u8; 32]) -> StoreResult<Option<ApiKey>>;
    /// Marks the key revoked (keeping the first revocation time); `None` when unknown.
    async fn revoke_api_key(&self, account: AccountId, id: Uuid) -> StoreResult<Option<ApiKey>>;
    async fn touch_api_key(&self, id: Uuid, at: Timestamp) -> StoreResult<()>;

    // --- sessions -------------------------------------------------------------
    async fn create_session(&self, session: Session) -> StoreResult<()>;
    /// The session, if it exists and has not expired at `now`.
    async fn session(&self, token_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()>;

    // --- events ---------------------------------------------------------------
    /// Appends every batch in one transaction (see the crate docs). The answer holds,
    /// per batch and in input order, each event's id and seq.
    async fn append(&self, batches: Vec<AppendBatch>) -> StoreResult<Vec<Vec<Appended>>>;
    /// One page, newest `occurred_at` first, ties by higher `seq`.
    async fn events(&self, account: AccountId, query: &BrowseQuery) -> StoreResult<Page>;
    async fn event(&self, account: AccountId, id: Uuid) -> StoreResult<Option<ChainedEvent>>;
    /// Up to `limit` events with `seq > after_seq`, in seq order: the chain as stored.
    async fn chain(&self, account: AccountId, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>>;
    async fn head(&self, account: AccountId) -> StoreResult<Option<ChainHead>>;

    // --- integrity --------------------------------------------------------------
    /// Like [`Store::chain`], with the indexed columns each row keeps beside its body,
    /// so verification can check they agree.
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

    // --- retention ------------------------------------------------------------
    async fn holds(&self, account: AccountId) -> StoreResult<Vec<Hold>>;
    /// Places a hold; a hold already on that record is a `Conflict`.
    async fn add_hold(&self, hold: &Hold) -> StoreResult<()>;
    /// Lifts a hold; `None` when there was none.
    async fn remove_hold(&self, account: AccountId, kind: RecordType, id: &str) -> StoreResult<Option<Hold>>;
    /// What a purge with this cutoff would remove now (holds respected).
    async fn purge_preview(&self, account: AccountId, cutoff: Timestamp) -> StoreResult<PurgePreview>;
    /// Removes up to `max_events` events older than `cutoff` that no hold keeps, in one
    /// transaction, leaving signed tombstones for the runs of purged seqs. Callers loop
    /// until `purged < max_events`, so no batch holds the write lock for long.
    async fn purge(
        &self,
        account: AccountId,
        cutoff: Timestamp,
        max_events: u32,
        key: &ChainKey,
    ) -> StoreResult<PurgeBatch>;
    /// Lets the backend give freed space back (SQLite: incremental vacuum).
    async fn reclaim_space(&self) -> StoreResult<()>;

    // --- pickers --------------------------------------------------------------
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
}
