//! Masking settings and the fingerprint key (docs/API.md §14): a new account's
//! patterns, replacing them, and one key per account whoever asks first.

use std::collections::BTreeMap;
use std::sync::Arc;

use casetrail_core::mask::{FingerprintKey, default_patterns};

use crate::{AccountChange, Store, unrecorded};

pub async fn masking_patterns_default_and_replace(store: Arc<dyn Store>) {
    let account = store.create_account("Smith LLP").await.unwrap();
    assert_eq!(account.masking, default_patterns(), "a new account masks the usual secrets");
    assert_eq!(account.retention_categories, BTreeMap::new());
    let other = store.create_account("Other LLP").await.unwrap();

    let patterns = vec!["client.ssn".to_string(), "*.PIN".to_string(), "bank".to_string()];
    let done = store.change_account(account.id, AccountChange::Masking(patterns.clone()), unrecorded()).await.unwrap();
    assert_eq!(done.value.before.masking, default_patterns());
    assert_eq!(done.value.after.masking, patterns);
    let read = store.account(account.id).await.unwrap().unwrap();
    assert_eq!(read.masking, patterns, "the list is kept in its order and case");
    assert_eq!(read.name, "Smith LLP", "masking touches nothing else");
    assert_eq!(store.account(other.id).await.unwrap().unwrap().masking, default_patterns());

    store.change_account(account.id, AccountChange::Masking(Vec::new()), unrecorded()).await.unwrap();
    assert_eq!(store.account(account.id).await.unwrap().unwrap().masking, Vec::<String>::new());

    let map = BTreeMap::from([("team".to_string(), Some(2555)), ("system_log".to_string(), None)]);
    store
        .change_account(
            account.id,
            AccountChange::Retention { days: None, categories: Some(map.clone()) },
            unrecorded(),
        )
        .await
        .unwrap();
    let read = store.account(account.id).await.unwrap().unwrap();
    assert_eq!(read.retention_categories, map);
    assert_eq!(read.retention_days, Some(90), "categories leave retention_days as it was");
}

pub async fn the_fingerprint_key_is_set_once_per_account(store: Arc<dyn Store>) {
    let account = store.create_account("Smith LLP").await.unwrap();
    let other = store.create_account("Other LLP").await.unwrap();
    let first = store.fingerprint_key(account.id, FingerprintKey::from_bytes([1; 32])).await.unwrap();
    assert_eq!(first, FingerprintKey::from_bytes([1; 32]), "the first candidate becomes the key");
    let again = store.fingerprint_key(account.id, FingerprintKey::from_bytes([2; 32])).await.unwrap();
    assert_eq!(again, first, "a later candidate never replaces it");
    let theirs = store.fingerprint_key(other.id, FingerprintKey::from_bytes([3; 32])).await.unwrap();
    assert_eq!(theirs, FingerprintKey::from_bytes([3; 32]), "each account has its own");
    let unknown = store.fingerprint_key(super::support::unknown_id(), FingerprintKey::from_bytes([4; 32])).await;
    assert!(matches!(unknown, Err(crate::StoreError::UnknownAccount)), "{unknown:?}");
}

/// Two handles asking at once for a new account's key get the same one.
pub async fn two_handles_agree_on_the_fingerprint_key(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let account = first.create_account("Smith LLP").await.unwrap();
    let mut tasks = Vec::new();
    for (i, store) in [first.clone(), second.clone(), first, second].into_iter().enumerate() {
        let candidate = FingerprintKey::from_bytes([i as u8 + 10; 32]);
        tasks.push(tokio::spawn(async move { store.fingerprint_key(account.id, candidate).await.unwrap() }));
    }
    let mut keys = Vec::new();
    for task in tasks {
        keys.push(task.await.unwrap());
    }
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "every caller got the stored key");
}
