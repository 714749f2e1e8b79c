//! Idempotency keys: unique per account, forever; a repeat stores nothing and answers
//! the original id and seq — in a later call, in the same batch, in another batch of
//! the same call, with another payload, and under concurrency.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tokio::task::JoinSet;

use super::support::*;
use crate::{AppendBatch, Appended, Store};

/// The same key in a later call is a duplicate naming the original; nothing is stored.
pub async fn duplicate_key_in_later_call_stores_nothing(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Repeat LLP").await;
    let first = append(store, account, vec![keyed("crm-1", "original"), plain("unkeyed")]).await;
    assert_eq!(seqs_of(&first), [1, 2]);
    assert!(!first[0].duplicate);
    let head = store.head(account).await.unwrap();

    let again = append(store, account, vec![keyed("crm-1", "original")]).await;
    assert_eq!(again, [Appended { id: first[0].id, seq: 1, duplicate: true }]);
    assert_eq!(store.head(account).await.unwrap(), head, "a duplicate leaves the head where it was");
    assert_eq!(whole_chain(store, account).await.len(), 2, "a duplicate stores nothing");

    // A duplicate among new events: the new ones still get gapless seqs.
    let mixed = append(store, account, vec![plain("three"), keyed("crm-1", "original"), keyed("crm-2", "four")]).await;
    assert_eq!(mixed[0], Appended { id: mixed[0].id, seq: 3, duplicate: false });
    assert_eq!(mixed[1], Appended { id: first[0].id, seq: 1, duplicate: true });
    assert_eq!(mixed[2], Appended { id: mixed[2].id, seq: 4, duplicate: false });

    // Keys are exact strings: another spelling is another key.
    let other_case = append(store, account, vec![keyed("CRM-1", "five")]).await;
    assert_eq!((other_case[0].seq, other_case[0].duplicate), (5, false), "keys are compared exactly");

    let chain = whole_chain(store, account).await;
    assert_chain(account, &chain);
    let descriptions: Vec<String> = chain.iter().map(|e| body(e).description).collect();
    assert_eq!(descriptions, ["original", "unkeyed", "three", "four", "five"]);
}

/// The same key twice in one batch: stored once, the second answer names the first.
pub async fn duplicate_key_within_one_batch(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Twice LLP").await;
    let answer =
        append(store, account, vec![keyed("k-a", "first a"), keyed("k-b", "b"), keyed("k-a", "second a")]).await;
    assert_eq!((answer[0].seq, answer[0].duplicate), (1, false));
    assert_eq!((answer[1].seq, answer[1].duplicate), (2, false));
    assert_eq!(answer[2], Appended { id: answer[0].id, seq: 1, duplicate: true });

    let chain = whole_chain(store, account).await;
    assert_chain(account, &chain);
    assert_eq!(chain.len(), 2);
    assert_eq!(body(&chain[0]).description, "first a", "the first of the pair is the one kept");
}

/// The same key in two batches of one `append` call (group commit).
pub async fn duplicate_key_across_batches_of_one_call(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Grouped LLP").await;
    let answer = store
        .append(vec![
            AppendBatch { account_id: account, events: vec![keyed("k-x", "from request one")] },
            AppendBatch { account_id: account, events: vec![keyed("k-x", "from request two"), keyed("k-y", "y")] },
        ])
        .await
        .expect("append");
    assert_eq!(answer.len(), 2);
    assert_eq!(answer[0].len(), 1);
    assert_eq!(answer[1].len(), 2);
    assert_eq!((answer[0][0].seq, answer[0][0].duplicate), (1, false));
    assert_eq!(answer[1][0], Appended { id: answer[0][0].id, seq: 1, duplicate: true });
    assert_eq!((answer[1][1].seq, answer[1][1].duplicate), (2, false));

    let chain = whole_chain(store, account).await;
    assert_chain(account, &chain);
    let descriptions: Vec<String> = chain.iter().map(|e| body(e).description).collect();
    assert_eq!(descriptions, ["from request one", "y"]);
}

/// A different payload under a used key is still a duplicate, and changes nothing.
pub async fn duplicate_key_with_different_payload_is_still_duplicate(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Stubborn LLP").await;
    let original = append(store, account, vec![keyed("crm-9", "the original")]).await;
    let before = whole_chain(store, account).await;

    let changed = new_event(json!({
        "idempotency_key": "crm-9",
        "occurred_at": "2025-01-01T00:00:00Z",
        "actor": {"id": "u_other", "name": "Someone Else"},
        "activity": "client.merged",
        "description": "a different payload",
        "related": [{"type": "client", "id": "cl_1", "name": "X"}]
    }));
    let again = append(store, account, vec![changed]).await;
    assert_eq!(again, [Appended { id: original[0].id, seq: 1, duplicate: true }]);
    let after = whole_chain(store, account).await;
    assert_eq!(after, before, "the stored event is untouched");
    assert_eq!(body(&after[0]).description, "the original");
    let q = browse(store, account, &[("actor", "u_other")]).await;
    assert!(q.is_empty(), "nothing of the second payload is indexed: {q:?}");
    let actors = store.actors(account, &[], 50).await.unwrap();
    assert!(actors.iter().all(|a| a.id != "u_other"), "a duplicate feeds no picker: {actors:?}");
    let records = store.records(account, None, &[], 50).await.unwrap();
    assert!(records.is_empty(), "a duplicate feeds no picker: {records:?}");
}

/// Keys are per account: the same key in another account is a new event there.
pub async fn same_key_in_another_account_is_not_duplicate(store: Arc<dyn Store>) {
    let store = &*store;
    let a = new_account(store, "Alpha LLP").await;
    let b = new_account(store, "Beta LLP").await;
    let in_a = append(store, a, vec![keyed("shared", "a's")]).await;
    let in_b = append(store, b, vec![keyed("shared", "b's")]).await;
    assert_eq!((in_a[0].seq, in_a[0].duplicate), (1, false));
    assert_eq!((in_b[0].seq, in_b[0].duplicate), (1, false), "another account's key is not a duplicate");
    assert_ne!(in_a[0].id, in_b[0].id);

    // Both in one call, too.
    let both = store
        .append(vec![
            AppendBatch { account_id: a, events: vec![keyed("both", "a both")] },
            AppendBatch { account_id: b, events: vec![keyed("both", "b both")] },
        ])
        .await
        .expect("append");
    assert_eq!((both[0][0].seq, both[0][0].duplicate), (2, false));
    assert_eq!((both[1][0].seq, both[1][0].duplicate), (2, false));

    // And within each account the key still holds.
    let again = append(store, b, vec![keyed("shared", "again")]).await;
    assert_eq!(again, [Appended { id: in_b[0].id, seq: 1, duplicate: true }]);
    assert_chain(a, &whole_chain(store, a).await);
    assert_chain(b, &whole_chain(store, b).await);
    assert_eq!(whole_chain(store, b).await.len(), 2);
}

/// Eight tasks send the same keys at once: each key is stored exactly once, every
/// task is told the same id and seq for it, and the chain stays gapless.
pub async fn concurrent_duplicate_keys_are_stored_once(store: Arc<dyn Store>) {
    const TASKS: usize = 8;
    const KEYS: usize = 10;
    let account = new_account(&*store, "Race LLP").await;
    let keys: Vec<String> = (0..KEYS).map(|k| format!("race-{k}")).collect();

    let mut tasks = JoinSet::new();
    for t in 0..TASKS {
        let store = store.clone();
        let mut mine = keys.clone();
        mine.rotate_left(t % KEYS);
        tasks.spawn(async move {
            let mut seen: Vec<(String, Appended)> = Vec::new();
            for (half, chunk) in mine.chunks(KEYS / 2).enumerate() {
                let mut events: Vec<_> = chunk.iter().map(|k| keyed(k, &format!("{k} by task {t}"))).collect();
                events.push(plain(&format!("unkeyed {t}.{half}")));
                let answer = append(&*store, account, events).await;
                for (k, a) in chunk.iter().zip(&answer) {
                    seen.push((k.clone(), *a));
                }
                assert!(!answer.last().unwrap().duplicate, "an unkeyed event is never a duplicate");
                tokio::task::yield_now().await;
            }
            seen
        });
    }
    let mut by_key: HashMap<String, Vec<Appended>> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        for (k, a) in joined.expect("task panicked") {
            by_key.entry(k).or_default().push(a);
        }
    }

    assert_eq!(by_key.len(), KEYS);
    for (key, answers) in &by_key {
        assert_eq!(answers.len(), TASKS);
        let fresh = answers.iter().filter(|a| !a.duplicate).count();
        assert_eq!(fresh, 1, "{key}: exactly one request stores it, got {answers:?}");
        let (id, seq) = (answers[0].id, answers[0].seq);
        assert!(
            answers.iter().all(|a| a.id == id && a.seq == seq),
            "{key}: every answer names the same event: {answers:?}"
        );
    }

    let chain = whole_chain(&*store, account).await;
    assert_chain(account, &chain);
    assert_eq!(chain.len(), KEYS + 2 * TASKS, "each key once, plus every unkeyed event");
    let mut stored_keys: HashMap<String, u64> = HashMap::new();
    for e in &chain {
        if let Some(k) = body(e).idempotency_key {
            assert!(stored_keys.insert(k.clone(), e.seq).is_none(), "{k} stored twice");
        }
    }
    for (key, answers) in &by_key {
        assert_eq!(stored_keys.get(key), Some(&answers[0].seq), "{key}: the answered seq holds that key");
    }
    assert_eq!(store.head(account).await.unwrap().map(|h| h.seq), Some((KEYS + 2 * TASKS) as u64));
}
