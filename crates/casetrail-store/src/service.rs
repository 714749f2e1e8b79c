//! What several servers on one database must agree on besides the log itself
//! (docs/ARCHITECTURE.md, "several servers"): the ring of public signing keys, the
//! failed sign-in counts, and leases that let one server at a time run a piece of
//! background work. All of it lives in the database, so a server keeps nothing that
//! another would have to learn from it.

use async_trait::async_trait;
use casetrail_core::Timestamp;
use uuid::Uuid;

use crate::StoreResult;

/// One public key of the ring that verifies checkpoints and purge tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyEntry {
    /// `casetrail_core::integrity::key_id` of the key.
    pub key_id: String,
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
    pub created_at: Timestamp,
    /// When another key replaced it; `None` for the current key.
    pub retired_at: Option<Timestamp>,
}

/// What registering a server's signing key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStanding {
    /// The key is the current one (it was already, or has just become it).
    Current,
    /// The key was retired earlier: a server still configured with an old key must
    /// not make it current again. It keeps signing with it (what it signs still
    /// verifies), and says so loudly.
    Retired,
}

/// Who a failed sign-in is counted against, with the most failures it may have in
/// the window: a hash of the normalized email, or of the client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimit {
    pub subject: [u8; 32],
    pub max: u32,
}

/// A sign-in attempt counted before its password was checked; it stays a failure
/// unless refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginAttempt(pub Uuid);

/// The background work that one server at a time may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseName {
    /// The hourly retention run over every account.
    Retention,
    /// Signing periodic checkpoints of every chain.
    Checkpoints,
    /// Sweeping expired sessions and old sign-in failures.
    Sweeping,
}

impl LeaseName {
    pub fn key(self) -> &'static str {
        match self {
            LeaseName::Retention => "retention",
            LeaseName::Checkpoints => "checkpoints",
            LeaseName::Sweeping => "sweeping",
        }
    }
}

/// State shared by every server on one database.
#[async_trait]
pub trait ServiceStore: Send + Sync + std::fmt::Debug {
    /// The cheapest round trip to the database (`SELECT 1`), for health checks: `Ok`
    /// when it answers. It waits for a connection like any call; callers bound it.
    async fn ping(&self) -> StoreResult<()>;
    /// Every key of the ring, oldest first.
    async fn public_keys(&self) -> StoreResult<Vec<PublicKeyEntry>>;
    /// Makes this server's signing key the current one: adds it if unknown and
    /// retires whichever key was current, in one transaction. A key already current
    /// changes nothing; a key retired earlier stays retired.
    async fn register_signing_key(
        &self,
        key_id: &str,
        public_key: [u8; 32],
        now: Timestamp,
    ) -> StoreResult<KeyStanding>;
    /// Adds a key that already signed things but no longer signs, retired at
    /// `retired_at`, unless the ring has it (keys found in a data dir from before the
    /// ring lived in the database).
    async fn add_retired_key(&self, key_id: &str, public_key: [u8; 32], retired_at: Timestamp) -> StoreResult<()>;

    /// Counts one sign-in attempt against every limit, unless one of them already has
    /// `max` attempts in the window ending at `now`: then nothing is counted and the
    /// answer is how many milliseconds until the oldest attempt that keeps it at its
    /// limit leaves the window. The check and the count are one transaction, so
    /// simultaneous attempts through several servers cannot all pass.
    async fn reserve_login_attempt(
        &self,
        limits: &[LoginLimit],
        window_ms: i64,
        now: Timestamp,
    ) -> StoreResult<Result<LoginAttempt, u64>>;
    /// Gives an attempt back (the password was right, or it was never checked).
    async fn refund_login_attempt(&self, attempt: LoginAttempt) -> StoreResult<()>;
    /// Forgets attempts made before `before`; answers how many.
    async fn forget_login_attempts(&self, before: Timestamp) -> StoreResult<u64>;

    /// Takes the lease, or renews it when `holder` has it, until `now + ttl_ms`;
    /// `true` when `holder` holds it afterwards. A lease whose holder stopped renewing
    /// is free once it expires.
    async fn take_lease(&self, name: LeaseName, holder: Uuid, now: Timestamp, ttl_ms: i64) -> StoreResult<bool>;
    /// Lets the lease go at once, if `holder` has it.
    async fn release_lease(&self, name: LeaseName, holder: Uuid) -> StoreResult<()>;
}
