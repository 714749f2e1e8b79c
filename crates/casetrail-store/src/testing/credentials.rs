//! Credentials: API keys (by hash, revocation, last use) and sessions (expiry, deletion,
//! ending with their user).

use std::sync::Arc;
use std::time::Duration;

use crate::KeyId;
use casetrail_core::Timestamp;

use super::accounts::create_user;
use super::support::*;
use crate::{ApiKey, NewApiKey, Role, Scope, Session, Store, User, unrecorded};

fn session(user: &User, token: u8, expires_at: Timestamp) -> Session {
    Session {
        token_hash: [token; 32],
        account_id: user.account_id,
        user_id: user.id,
        csrf_token: format!("csrf-{token}"),
        created_at: Timestamp::now(),
        expires_at,
    }
}

/// Scopes are a set; their order is not part of docs/API.md.
fn sorted_scopes(mut key: ApiKey) -> ApiKey {
    key.scopes.sort();
    key
}

/// Deleting a user ends every session of theirs at once, and no one else's.
pub async fn delete_user_ends_their_sessions(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Sessions LLP").await;
    let gone = create_user(store, account, "gone@sessions.test", Role::Admin).await;
    let stays = create_user(store, account, "stays@sessions.test", Role::Admin).await;
    let now = Timestamp::now();
    let later = now.plus_millis(3_600_000);
    let kept = session(&stays, 3, later);
    for s in [session(&gone, 1, later), session(&gone, 2, later), kept.clone()] {
        store.create_session(s, crate::unrecorded()).await.expect("create_session");
    }
    for token in [1, 2, 3] {
        assert!(store.session([token; 32], now).await.unwrap().is_some(), "session {token} exists");
    }
    assert!(store.delete_user(account, gone.id, unrecorded()).await.unwrap().is_some());
    assert_eq!(store.session([1; 32], now).await.unwrap(), None, "the deleted user's session ended");
    assert_eq!(store.session([2; 32], now).await.unwrap(), None, "the deleted user's session ended");
    assert_eq!(store.session([3; 32], now).await.unwrap(), Some(kept), "another user's session stays");
}

/// Keys: found by secret hash (revoked or not), revocation keeps its first time,
/// touching records the last use.
pub async fn api_keys_by_hash_revoke_and_touch(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Keys LLP").await;
    let before = Timestamp::now();
    let ingest = store
        .create_api_key(
            NewApiKey {
                account_id: account,
                name: "CRM ingest".into(),
                scopes: vec![Scope::EventsWrite],
                secret_hash: [1; 32],
            },
            unrecorded(),
        )
        .await
        .expect("create_api_key")
        .value;
    let admin = store
        .create_api_key(
            NewApiKey {
                account_id: account,
                name: "Auditor script".into(),
                scopes: vec![Scope::Admin, Scope::EventsWrite],
                secret_hash: [2; 32],
            },
            unrecorded(),
        )
        .await
        .expect("create_api_key")
        .value;
    let after = Timestamp::now();
    assert_eq!((ingest.account_id, ingest.name.as_str()), (account, "CRM ingest"));
    assert_eq!(ingest.scopes, [Scope::EventsWrite]);
    let mut scopes = admin.scopes.clone();
    scopes.sort();
    assert_eq!(scopes, [Scope::EventsWrite, Scope::Admin]);
    assert_at_time("key created_at", ingest.created_at, before, after);
    assert_eq!((ingest.last_used_at, ingest.revoked_at), (None, None));
    assert_ne!(ingest.id, admin.id);

    let mut listed: Vec<ApiKey> = store.api_keys(account).await.unwrap().into_iter().map(sorted_scopes).collect();
    listed.sort_by_key(|k| k.name.clone());
    assert_eq!(listed, [sorted_scopes(admin.clone()), ingest.clone()]);
    assert_eq!(store.api_key_by_hash([1; 32]).await.unwrap().as_ref(), Some(&ingest));
    assert_eq!(store.api_key_by_hash([2; 32]).await.unwrap().map(|k| k.id), Some(admin.id));
    assert_eq!(store.api_key_by_hash([3; 32]).await.unwrap(), None);

    let used = ts("2026-11-20T08:00:00.123Z");
    store.touch_api_key(ingest.id, used).await.expect("touch_api_key");
    assert_eq!(store.api_key_by_hash([1; 32]).await.unwrap().and_then(|k| k.last_used_at), Some(used));
    let used_again = used.plus_millis(60_000);
    store.touch_api_key(ingest.id, used_again).await.expect("touch_api_key");
    assert_eq!(store.api_key_by_hash([1; 32]).await.unwrap().and_then(|k| k.last_used_at), Some(used_again));
    assert_eq!(store.api_key_by_hash([2; 32]).await.unwrap().and_then(|k| k.last_used_at), None, "touch is per key");

    let before = Timestamp::now();
    let revoked = store.revoke_api_key(account, ingest.id, unrecorded()).await.unwrap().expect("revoke_api_key").value;
    let after = Timestamp::now();
    let at = revoked.revoked_at.expect("revoked_at is set");
    assert_at_time("revoked_at", at, before, after);
    assert_eq!(revoked.id, ingest.id);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = store.revoke_api_key(account, ingest.id, unrecorded()).await.unwrap();
    let again = again.expect("revoking twice still finds the key").value;
    assert_eq!(again.revoked_at, Some(at), "the first revocation time is kept");
    let by_hash = store.api_key_by_hash([1; 32]).await.unwrap().expect("a revoked key is still found by hash");
    assert_eq!(by_hash.revoked_at, Some(at));
    assert_eq!(by_hash.last_used_at, Some(used_again));
    assert_eq!(store.api_key_by_hash([2; 32]).await.unwrap().and_then(|k| k.revoked_at), None, "revoke is per key");
    assert_eq!(store.revoke_api_key(account, KeyId::new_v7(), unrecorded()).await.unwrap(), None, "unknown key");
    let listed = store.api_keys(account).await.unwrap();
    assert_eq!(listed.iter().find(|k| k.id == ingest.id).and_then(|k| k.revoked_at), Some(at));
}

/// A session is found until it expires; deleting it ends it.
pub async fn sessions_expire(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Expiry LLP").await;
    let user = create_user(store, account, "clock@expiry.test", Role::Admin).await;
    let now = Timestamp::now();
    let expires = now.plus_millis(3_600_000);
    let s = session(&user, 9, expires);
    store.create_session(s.clone(), crate::unrecorded()).await.expect("create_session");
    let other = session(&user, 10, expires);
    store.create_session(other.clone(), crate::unrecorded()).await.expect("create_session");

    assert_eq!(store.session([9; 32], now).await.unwrap().as_ref(), Some(&s), "read back whole");
    assert_eq!(
        store.session([9; 32], expires.plus_millis(-1)).await.unwrap().as_ref(),
        Some(&s),
        "valid until it expires"
    );
    assert_eq!(store.session([9; 32], expires.plus_millis(1)).await.unwrap(), None, "expired");
    assert_eq!(store.session([9; 32], expires.plus_millis(86_400_000)).await.unwrap(), None, "expired");
    assert_eq!(store.session([8; 32], now).await.unwrap(), None, "unknown token");

    store.delete_session([9; 32]).await.expect("delete_session");
    assert_eq!(store.session([9; 32], now).await.unwrap(), None, "deleted");
    assert_eq!(store.session([10; 32], now).await.unwrap(), Some(other), "deleting one session keeps the others");
    store.delete_session([9; 32]).await.expect("deleting an absent session is fine");
}
