//! Failed sign-in limits (docs/API.md §3): after 5 failures for one email within 15
//! minutes, or 20 from one client address, sign-in answers 429 until the window
//! passes — even with the right password.
//!
//! An attempt is counted *before* its password is checked ([`LoginLimiter::reserve`])
//! and given back only when the password was right ([`LoginLimiter::refund`]), so a
//! burst of simultaneous guesses cannot all pass the check before any is counted.
//! The counts live in the database (`ServiceStore::reserve_login_attempt`), where
//! the check and the count are one transaction: every server on the database counts
//! the same attempts, and a restart forgets none. The periodic sweep forgets the ones
//! that left the window.
//!
//! Password hashing itself is capped per process ([`LoginLimiter::hashing_permit`]):
//! each argon2 run costs 19 MiB and a core of *this* machine.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use casetrail_core::Timestamp;
use casetrail_store::{LoginAttempt, LoginLimit, Store, StoreResult};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use casetrail_app::credentials::LOGIN_WINDOW_MS as WINDOW_MS;
pub const MAX_PER_EMAIL: u32 = 5;
pub const MAX_PER_ADDRESS: u32 = 20;
/// The longest email that can be an address at all (RFC 5321's path limit, less
/// the angle brackets); anything longer is refused before it is counted or looked up.
pub const MAX_EMAIL_CHARS: usize = 254;
/// Password hashes running at once. Argon2 as configured takes a core and 19 MiB
/// for each hash; the deployment target has 2 cores, so 2 keeps sign-in from
/// starving everything else and bounds its memory, whatever the burst.
pub const HASHING_PERMITS: usize = 2;
/// How long a sign-in waits for a hashing permit before it answers 429. Long enough
/// for a few colleagues signing in at the same moment to be served in turn.
pub const HASHING_WAIT: Duration = Duration::from_secs(1);

/// Who failures are counted against, as the store keeps them: a SHA-256 of the
/// normalized email, or of the client address — fixed-size, and no list of
/// submitted addresses is kept. Each kind hashes under its own prefix, so no email
/// can ever count against an address or the other way round.
fn limits(email: &str, ip: Option<IpAddr>) -> [LoginLimit; 2] {
    let normalized = email.trim().to_lowercase();
    let email = Sha256::new().chain_update(b"email\0").chain_update(normalized.as_bytes()).finalize();
    // Without a known address (no peer address at all) every such attempt shares one count.
    let address = ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let address = Sha256::new().chain_update(b"address\0").chain_update(address.as_bytes()).finalize();
    [
        LoginLimit { subject: email.into(), max: MAX_PER_EMAIL },
        LoginLimit { subject: address.into(), max: MAX_PER_ADDRESS },
    ]
}

/// A counted sign-in attempt: it stays a failure unless refunded.
#[derive(Debug)]
#[must_use = "an attempt is a failure unless refunded after a right password"]
pub struct Attempt(LoginAttempt);

#[derive(Debug)]
pub struct LoginLimiter {
    hashing: Arc<Semaphore>,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        LoginLimiter { hashing: Arc::new(Semaphore::new(HASHING_PERMITS)) }
    }
}

impl LoginLimiter {
    /// Counts an attempt for this email and address, or `Ok(Err(seconds to wait))`
    /// when either is at its limit (then nothing is counted). A store that fails
    /// answers its error: the caller must then refuse the sign-in, never let it
    /// through unchecked.
    pub async fn reserve(
        &self,
        store: &dyn Store,
        email: &str,
        ip: Option<IpAddr>,
        now: Timestamp,
    ) -> StoreResult<Result<Attempt, u64>> {
        let answer = store.reserve_login_attempt(&limits(email, ip), WINDOW_MS, now).await?;
        Ok(answer.map(Attempt).map_err(|ms| ms.div_ceil(1000)))
    }

    /// Gives an attempt back: the password was right, or it was never checked. A
    /// store that fails leaves it counted as a failure, which errs on the safe side.
    pub async fn refund(&self, store: &dyn Store, attempt: Attempt) {
        if let Err(err) = store.refund_login_attempt(attempt.0).await {
            tracing::error!(error = ?err, "could not give back a sign-in attempt; it counts as a failure");
        }
    }

    /// A permit to hash one password, waiting at most [`HASHING_WAIT`]; `None` when
    /// the hashing is still full by then.
    pub async fn hashing_permit(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(HASHING_WAIT, self.hashing.clone().acquire_owned()).await.ok()?.ok()
    }
}

#[cfg(test)]
mod tests {
    use casetrail_store::ServiceStore;
    use casetrail_store_sqlite::SqliteStore;

    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn at(ms: i64) -> Timestamp {
        // Far from the epoch, so that `now - window` is a real instant.
        Timestamp::from_millis(1_700_000_000_000 + ms).unwrap()
    }

    fn store() -> SqliteStore {
        SqliteStore::open_temporary().unwrap()
    }

    #[tokio::test]
    async fn five_failures_for_one_email_block_it_for_the_window() {
        let (l, s) = (LoginLimiter::default(), store());
        let ip = ip("10.0.0.1");
        for i in 0..5 {
            let _failed = l.reserve(&s, "A@x.com ", ip, at(i * 1000)).await.unwrap().expect("under the limit");
        }
        // The first failure (at 0) leaves the window at 900 s: 895 s from 5 s, and a
        // part of a second is a whole second to wait.
        assert_eq!(l.reserve(&s, "a@x.com", ip, at(5_000)).await.unwrap().unwrap_err(), 895);
        assert_eq!(l.reserve(&s, "a@x.com", ip, at(5_001)).await.unwrap().unwrap_err(), 895);
        assert!(l.reserve(&s, "b@x.com", ip, at(5_000)).await.unwrap().is_ok());
        assert!(l.reserve(&s, "a@x.com", ip, at(WINDOW_MS + 1_000)).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn twenty_failures_from_one_address_block_every_email() {
        let (l, s) = (LoginLimiter::default(), store());
        let ip = ip("10.0.0.2");
        for i in 0..20 {
            let _failed = l.reserve(&s, &format!("u{i}@x.com"), ip, at(i)).await.unwrap().unwrap();
        }
        assert!(l.reserve(&s, "fresh@x.com", ip, at(21)).await.unwrap().is_err());
        assert!(l.reserve(&s, "fresh@x.com", self::ip("10.0.0.3"), at(21)).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_refunded_attempt_is_not_a_failure() {
        let (l, s) = (LoginLimiter::default(), store());
        let ip = ip("10.0.0.4");
        for i in 0..10 {
            let attempt = l.reserve(&s, "right@x.com", ip, at(i)).await.unwrap().unwrap();
            l.refund(&s, attempt).await;
        }
        for i in 0..4 {
            let _failed = l.reserve(&s, "right@x.com", ip, at(100 + i)).await.unwrap().unwrap();
        }
        let fifth = l.reserve(&s, "right@x.com", ip, at(200)).await.unwrap().unwrap();
        assert!(l.reserve(&s, "right@x.com", ip, at(201)).await.unwrap().is_err(), "the in-flight fifth counts");
        l.refund(&s, fifth).await;
        assert!(l.reserve(&s, "right@x.com", ip, at(202)).await.unwrap().is_ok());
    }

    #[test]
    fn subjects_are_prefixed_hashes_that_never_collide_across_kinds() {
        let [email, address] = limits(" Ada@X.com", ip("10.0.0.5"));
        let expected: [u8; 32] = Sha256::digest(b"email\0ada@x.com").into();
        assert_eq!(email.subject, expected);
        let expected: [u8; 32] = Sha256::digest(b"address\x0010.0.0.5").into();
        assert_eq!(address.subject, expected);
        // An "email" that spells an address still counts as an email.
        let [spelled, _] = limits("10.0.0.5", None);
        assert_ne!(spelled.subject, address.subject);
        let long = "x".repeat(10_000);
        assert_eq!(limits(&long, None)[0].subject.len(), 32);
    }

    #[tokio::test]
    async fn a_store_that_fails_answers_an_error_not_a_pass() {
        let (l, s) = (LoginLimiter::default(), store());
        let db = rusqlite::Connection::open(s.path()).unwrap();
        db.execute_batch("DROP TABLE login_attempts").unwrap();
        assert!(l.reserve(&s, "a@x.com", ip("10.0.0.6"), at(0)).await.is_err());
        // (The same store still answers everything else.)
        assert!(s.public_keys().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn hashing_permits_are_capped() {
        let l = LoginLimiter::default();
        let mut held = Vec::new();
        for _ in 0..HASHING_PERMITS {
            held.push(l.hashing_permit().await.expect("a free permit"));
        }
        assert!(l.hashing_permit().await.is_none(), "full: no permit within the wait");
        held.pop();
        assert!(l.hashing_permit().await.is_some());
    }
}
