//! What several servers agree on through the database (`ServiceStore`): the public
//! key ring, failed sign-in counts and leases, on one handle and raced through two.

use std::sync::Arc;

use tokio::task::JoinSet;
use uuid::Uuid;

use super::support::ts;
use crate::{KeyStanding, LeaseName, LoginLimit, PublicKeyEntry, Store, StoreError};

const WINDOW_MS: i64 = 15 * 60 * 1000;

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

fn entry(id: &str, n: u8, created: &str, retired: Option<&str>) -> PublicKeyEntry {
    PublicKeyEntry { key_id: id.into(), public_key: key(n), created_at: ts(created), retired_at: retired.map(ts) }
}

/// A store on a live database answers its health ping, again and again (a pooled
/// connection is handed back each time), and the ping changes nothing it holds.
pub async fn a_reachable_store_answers_a_ping(store: Arc<dyn Store>) {
    for _ in 0..20 {
        store.ping().await.unwrap();
    }
    assert_eq!(store.public_keys().await.unwrap(), vec![]);
}

/// Registering a key retires the one before it; an old key never becomes current
/// again; keys from before the ring are added retired, once.
pub async fn the_key_ring_registers_and_retires_keys(store: Arc<dyn Store>) {
    assert_eq!(store.public_keys().await.unwrap(), vec![]);
    let first = ts("2026-01-01T00:00:00Z");
    assert_eq!(store.register_signing_key("k1", key(1), first).await.unwrap(), KeyStanding::Current);
    assert_eq!(
        store.register_signing_key("k1", key(1), ts("2026-01-02T00:00:00Z")).await.unwrap(),
        KeyStanding::Current
    );
    assert_eq!(store.public_keys().await.unwrap(), vec![entry("k1", 1, "2026-01-01T00:00:00Z", None)]);

    let second = ts("2026-02-01T00:00:00Z");
    assert_eq!(store.register_signing_key("k2", key(2), second).await.unwrap(), KeyStanding::Current);
    let ring = vec![
        entry("k1", 1, "2026-01-01T00:00:00Z", Some("2026-02-01T00:00:00Z")),
        entry("k2", 2, "2026-02-01T00:00:00Z", None),
    ];
    assert_eq!(store.public_keys().await.unwrap(), ring);

    // A server still configured with the old key does not take the ring back.
    assert_eq!(
        store.register_signing_key("k1", key(1), ts("2026-03-01T00:00:00Z")).await.unwrap(),
        KeyStanding::Retired
    );
    assert_eq!(store.public_keys().await.unwrap(), ring);

    store.add_retired_key("k0", key(9), ts("2025-06-01T00:00:00Z")).await.unwrap();
    store.add_retired_key("k2", key(2), ts("2026-04-01T00:00:00Z")).await.unwrap();
    let mut with_old = vec![entry("k0", 9, "2025-06-01T00:00:00Z", Some("2025-06-01T00:00:00Z"))];
    with_old.extend(ring);
    assert_eq!(store.public_keys().await.unwrap(), with_old, "a known key is left as it is");
}

fn limits(email: u8, address: u8) -> [LoginLimit; 2] {
    [LoginLimit { subject: [email; 32], max: 5 }, LoginLimit { subject: [address; 32], max: 20 }]
}

/// Five attempts for one subject fill its window; the wait is until the oldest of
/// them leaves it; a refund gives one back; a lapsed window opens again.
pub async fn login_attempts_are_limited_refunded_and_forgotten(store: Arc<dyn Store>) {
    let t0 = ts("2026-05-01T10:00:00Z");
    let at = |s: i64| casetrail_core::Timestamp::from_millis(t0.as_millis() + s * 1000).unwrap();
    let mut attempts = Vec::new();
    for i in 0..5 {
        let attempt = store.reserve_login_attempt(&limits(1, 100), WINDOW_MS, at(i)).await.unwrap();
        attempts.push(attempt.expect("under the limit"));
    }
    let refused = store.reserve_login_attempt(&limits(1, 100), WINDOW_MS, at(60)).await.unwrap();
    assert_eq!(refused, Err((WINDOW_MS - 60_000) as u64), "blocked until the first attempt is 15 minutes old");
    // Another email from the same address is still let through, and counts there.
    assert!(store.reserve_login_attempt(&limits(2, 100), WINDOW_MS, at(61)).await.unwrap().is_ok());

    store.refund_login_attempt(attempts.pop().unwrap()).await.unwrap();
    let again = store.reserve_login_attempt(&limits(1, 100), WINDOW_MS, at(62)).await.unwrap();
    assert!(again.is_ok(), "a refunded attempt is not a failure");
    let refused = store.reserve_login_attempt(&limits(1, 100), WINDOW_MS, at(63)).await.unwrap();
    assert_eq!(refused, Err((WINDOW_MS - 63_000) as u64));

    // Once the window has passed the first attempt, one more is allowed.
    let later = at(WINDOW_MS / 1000);
    assert!(store.reserve_login_attempt(&limits(1, 100), WINDOW_MS, later).await.unwrap().is_ok());

    // Each attempt is counted for both of its subjects: seven attempts stand (five,
    // one for the other email, one after the refund, one after the window; the
    // refunded one is gone), two rows each.
    let forgotten = store.forget_login_attempts(at(WINDOW_MS / 1000 + 1)).await.unwrap();
    assert_eq!(forgotten, 14);
    assert_eq!(store.forget_login_attempts(at(WINDOW_MS / 1000 + 1)).await.unwrap(), 0);
}

/// A burst of simultaneous attempts for one email through two handles: exactly the
/// limit of them is counted, whatever the interleaving.
pub async fn simultaneous_login_attempts_through_two_handles_pass_the_limit_exactly(
    first: Arc<dyn Store>,
    second: Arc<dyn Store>,
) {
    let now = ts("2026-05-01T10:00:00Z");
    let mut tasks = JoinSet::new();
    for i in 0..30u8 {
        let store = if i % 2 == 0 { first.clone() } else { second.clone() };
        tasks.spawn(async move {
            loop {
                match store.reserve_login_attempt(&limits(7, 200 + i), WINDOW_MS, now).await {
                    Ok(outcome) => return outcome.is_ok(),
                    Err(StoreError::Busy(_)) => tokio::task::yield_now().await,
                    Err(err) => panic!("reserving an attempt failed: {err}"),
                }
            }
        });
    }
    let mut passed = 0;
    while let Some(joined) = tasks.join_next().await {
        passed += usize::from(joined.expect("task panicked"));
    }
    assert_eq!(passed, 5, "five attempts counted for the email, the rest refused");
}

/// One holder at a time; renewing keeps it; expiry or release frees it; only the
/// holder can release.
pub async fn a_lease_has_one_holder_until_it_expires_or_is_released(store: Arc<dyn Store>) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let t = |s: i64| casetrail_core::Timestamp::from_millis(1_800_000_000_000 + s * 1000).unwrap();
    let name = LeaseName::Retention;
    assert!(store.take_lease(name, a, t(0), 30_000).await.unwrap());
    assert!(!store.take_lease(name, b, t(1), 30_000).await.unwrap(), "held by a");
    assert!(store.take_lease(LeaseName::Checkpoints, b, t(1), 30_000).await.unwrap(), "leases are separate");
    assert!(store.take_lease(name, a, t(20), 30_000).await.unwrap(), "a renews until 50 s");
    assert!(!store.take_lease(name, b, t(45), 30_000).await.unwrap(), "the renewal counts");
    assert!(store.take_lease(name, b, t(50), 30_000).await.unwrap(), "expired: b takes it");
    assert!(!store.take_lease(name, a, t(51), 30_000).await.unwrap());
    store.release_lease(name, a).await.unwrap();
    assert!(!store.take_lease(name, a, t(52), 30_000).await.unwrap(), "a cannot release b's lease");
    store.release_lease(name, b).await.unwrap();
    assert!(store.take_lease(name, a, t(53), 30_000).await.unwrap(), "released: free at once");
}

/// Many would-be holders racing through two handles: exactly one gets the lease.
pub async fn a_lease_raced_through_two_handles_has_one_holder(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let now = ts("2026-05-01T10:00:00Z");
    let mut tasks = JoinSet::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { first.clone() } else { second.clone() };
        tasks.spawn(async move {
            let holder = Uuid::now_v7();
            loop {
                match store.take_lease(LeaseName::Checkpoints, holder, now, 60_000).await {
                    Ok(held) => return held,
                    Err(StoreError::Busy(_)) => tokio::task::yield_now().await,
                    Err(err) => panic!("taking a lease failed: {err}"),
                }
            }
        });
    }
    let mut holders = 0;
    while let Some(joined) = tasks.join_next().await {
        holders += usize::from(joined.expect("task panicked"));
    }
    assert_eq!(holders, 1);
}
