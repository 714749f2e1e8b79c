//! Tenant isolation: nothing of one account is ever visible from another, whatever the
//! method and whatever id is passed.

use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{AccountId, EventId, NewApiKey, NewUser, Role, Scope, Store, unrecorded};

/// Account A's events: actor u_alice, case a-case-1, client a-client-1, keyword "alphaword".
async fn events_of_a(store: &dyn Store, a: AccountId) -> Vec<EventId> {
    let events = (0..5)
        .map(|i| {
            new_event(json!({
                "idempotency_key": format!("key-{i}"),
                "occurred_at": format!("2026-04-0{}T12:00:00Z", i + 1),
                "actor": {"id": "u_alice", "name": "Alice Alphaword", "email": "alice@alpha.test"},
                "activity": "case.updated",
                "description": format!("Alphaword change {i}"),
                "related": [{"type": "case", "id": "a-case-1", "name": "Alpha Matter"},
                            {"type": "client", "id": "a-client-1", "name": "Alpha Client"}]
            }))
        })
        .collect();
    append(store, a, events).await.iter().map(|x| x.id).collect()
}

/// Events, single events, the chain, the head and the pickers never cross accounts.
pub async fn tenants_never_see_each_others_events(store: Arc<dyn Store>) {
    let store = &*store;
    let a = new_account(store, "Alpha LLP").await;
    let b = new_account(store, "Beta LLP").await;
    let a_ids = events_of_a(store, a).await;

    // B, still empty, sees nothing of A.
    assert!(browse(store, b, &[]).await.is_empty(), "B sees A's events");
    assert!(store.chain(b, 0, 100).await.unwrap().is_empty(), "B's chain holds A's events");
    assert_eq!(store.head(b).await.unwrap(), None, "B has A's head");
    assert!(store.actors(b, &[], 50).await.unwrap().is_empty(), "B's actor picker shows A's actors");
    assert!(store.records(b, None, &[], 50).await.unwrap().is_empty(), "B's record picker shows A's records");

    // B gets events of its own; they start at seq 1 and A's keys are not duplicates.
    let b_events = vec![
        new_event(json!({"idempotency_key": "key-0", "occurred_at": "2026-04-02T12:00:00Z",
                         "actor": {"id": "u_bert", "name": "Bert Betaword"}, "activity": "client.created",
                         "related": [{"type": "client", "id": "b-client-1", "name": "Beta Client"}]})),
        new_event(json!({"occurred_at": "2026-04-03T12:00:00Z",
                         "actor": {"id": "u_bert", "name": "Bert Betaword"}, "activity": "case.created",
                         "related": [{"type": "case", "id": "b-case-1", "name": "Beta Matter"}]})),
    ];
    let b_appended = append(store, b, b_events).await;
    assert_eq!(seqs_of(&b_appended), [1, 2]);
    assert!(b_appended.iter().all(|x| !x.duplicate), "A's idempotency keys are not B's");

    assert_eq!(browse(store, b, &[]).await, [2, 1], "B sees exactly its own events");
    assert_eq!(browse(store, a, &[]).await, [5, 4, 3, 2, 1], "A sees exactly its own events");
    for (params, label) in [
        (&[("actor", "u_alice")][..], "A's actor"),
        (&[("case", "a-case-1")], "A's case"),
        (&[("client", "a-client-1")], "A's client"),
        (&[("q", "alphaword")], "A's keyword"),
        (&[("q", "alpha")], "A's record name"),
        (&[("activity", "case.updated")], "A's activity"),
    ] {
        assert!(browse(store, b, params).await.is_empty(), "B finds A's events by {label}");
    }
    assert_eq!(browse(store, a, &[("q", "alphaword")]).await.len(), 5, "A finds its own by keyword");
    assert!(browse(store, a, &[("q", "betaword")]).await.is_empty(), "A finds B's events by keyword");
    assert!(browse(store, a, &[("client", "b-client-1")]).await.is_empty(), "A finds B's events by client");

    for id in &a_ids {
        assert_eq!(store.event(b, *id).await.unwrap(), None, "B reads A's event {id} by id");
        assert!(store.event(a, *id).await.unwrap().is_some(), "A reads its own event {id}");
    }
    assert_eq!(store.event(a, b_appended[0].id).await.unwrap(), None, "A reads B's event by id");

    let chain_a = whole_chain(store, a).await;
    let chain_b = whole_chain(store, b).await;
    assert_chain(a, &chain_a);
    assert_chain(b, &chain_b);
    assert_eq!((chain_a.len(), chain_b.len()), (5, 2));
    let head_b = store.head(b).await.unwrap().expect("B has a head now");
    assert_eq!((head_b.seq, head_b.hash), (2, chain_b[1].hash), "B's head is B's own");
    assert_eq!(store.head(a).await.unwrap().map(|h| h.hash), Some(chain_a[4].hash));

    let actors_b: Vec<String> = store.actors(b, &[], 50).await.unwrap().into_iter().map(|x| x.id).collect();
    assert_eq!(actors_b, ["u_bert"], "B's actors are B's own");
    assert!(store.actors(b, &["alice".to_string()], 50).await.unwrap().is_empty());
    let mut records_b: Vec<String> = store.records(b, None, &[], 50).await.unwrap().into_iter().map(|x| x.id).collect();
    records_b.sort();
    assert_eq!(records_b, ["b-case-1", "b-client-1"], "B's records are B's own");
    assert!(store.records(b, None, &["alpha".to_string()], 50).await.unwrap().is_empty());
    let actors_a: Vec<String> = store.actors(a, &[], 50).await.unwrap().into_iter().map(|x| x.id).collect();
    assert_eq!(actors_a, ["u_alice"], "A's actors are A's own");
}

/// Users and keys of one account cannot be listed, read, changed or deleted from another.
pub async fn tenants_never_see_each_others_users_and_keys(store: Arc<dyn Store>) {
    let store = &*store;
    let a = new_account(store, "Alpha LLP").await;
    let b = new_account(store, "Beta LLP").await;
    let alice = store
        .create_user(
            NewUser {
                account_id: a,
                email: "alice@alpha.test".into(),
                name: "Alice".into(),
                role: Role::Admin,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
            unrecorded(),
        )
        .await
        .expect("create_user")
        .value;
    let key = store
        .create_api_key(
            NewApiKey { account_id: a, name: "CRM".into(), scopes: vec![Scope::Admin], secret_hash: [7; 32] },
            unrecorded(),
        )
        .await
        .expect("create_api_key")
        .value;

    assert!(store.users(b).await.unwrap().is_empty(), "B lists A's users");
    assert_eq!(store.user(b, alice.id).await.unwrap(), None, "B reads A's user");
    assert_eq!(store.set_user_role(b, alice.id, Role::Member, unrecorded()).await.unwrap(), None, "B changes A's user");
    assert!(store.delete_user(b, alice.id, unrecorded()).await.unwrap().is_none(), "B deletes A's user");
    assert_eq!(store.user(a, alice.id).await.unwrap(), Some(alice.clone()), "A's user is untouched");

    assert!(store.api_keys(b).await.unwrap().is_empty(), "B lists A's keys");
    assert_eq!(store.revoke_api_key(b, key.id, unrecorded()).await.unwrap(), None, "B revokes A's key");
    let still = store.api_key_by_hash([7; 32]).await.unwrap().expect("A's key by hash");
    assert_eq!(still.revoked_at, None, "A's key is not revoked by B");
    assert_eq!(still.account_id, a);

    assert_eq!(store.users(a).await.unwrap(), [alice]);
    assert_eq!(store.api_keys(a).await.unwrap(), [key]);
    assert_eq!(store.account(b).await.unwrap().map(|x| x.name), Some("Beta LLP".to_string()));
}
