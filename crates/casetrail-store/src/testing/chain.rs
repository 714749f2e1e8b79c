//! Appending: gapless seqs, hash links, what the body holds, the chain as stored, the
//! head, and group commit over several batches and accounts.

use std::collections::HashSet;
use std::sync::Arc;

use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::{Activity, Timestamp};
use serde_json::json;

use super::support::*;
use crate::{AccountId, AppendBatch, ChainHead, Store, StoreError};

/// Seqs start at 1 for each account and go on without gaps across calls.
pub async fn append_assigns_gapless_seqs_from_one(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Gapless LLP").await;
    assert_eq!(store.head(account).await.unwrap(), None, "a new account has no head");
    assert!(whole_chain(store, account).await.is_empty(), "a new account has no events");

    let first = append(store, account, vec![plain("one"), plain("two"), plain("three")]).await;
    assert_eq!(seqs_of(&first), [1, 2, 3]);
    let second = append(store, account, vec![plain("four"), plain("five")]).await;
    assert_eq!(seqs_of(&second), [4, 5]);
    let third = append(store, account, vec![plain("six")]).await;
    assert_eq!(seqs_of(&third), [6]);

    let all: Vec<_> = first.iter().chain(&second).chain(&third).copied().collect();
    assert!(all.iter().all(|a| !a.duplicate), "nothing here is a duplicate: {all:?}");
    let ids: HashSet<_> = all.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), 6, "every event gets its own id");

    let chain = whole_chain(store, account).await;
    assert_chain(account, &chain);
    assert_eq!(chain.len(), 6);
    for (appended, stored) in all.iter().zip(&chain) {
        let ev = body(stored);
        assert_eq!((ev.id, ev.seq), (appended.id, appended.seq), "the answer names the stored event");
    }
    let descriptions: Vec<String> = chain.iter().map(|e| body(e).description).collect();
    assert_eq!(descriptions, ["one", "two", "three", "four", "five", "six"], "seq order is input order");

    let other = new_account(store, "Second Firm").await;
    let theirs = append(store, other, vec![plain("first of theirs")]).await;
    assert_eq!(seqs_of(&theirs), [1], "every account's chain starts at 1");
}

/// The first prev_hash is 64 zeros; each event links to its predecessor's hash; the
/// hash covers the canonical body.
pub async fn append_links_hashes_into_a_chain(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Linked LLP").await;
    append(store, account, vec![plain("a")]).await;
    append(store, account, vec![plain("b"), plain("c")]).await;
    append(store, account, vec![plain("d")]).await;

    let chain = whole_chain(store, account).await;
    assert_eq!(chain.len(), 4);
    assert_eq!(chain[0].prev_hash.to_hex(), "0".repeat(64), "seq 1 links to 64 zeros");
    assert_chain(account, &chain);
    let hashes: HashSet<ChainHash> = chain.iter().map(|e| e.hash).collect();
    assert_eq!(hashes.len(), 4, "every link has its own hash");
    for stored in &chain {
        let ev = body(stored);
        assert_eq!(stored.body, ev.canonical_body(), "seq {}: the body is kept as RFC 8785 text", stored.seq);
        assert_eq!(
            &ChainedEvent::seal(&ev, stored.prev_hash),
            stored,
            "seq {}: resealing gives the same link",
            stored.seq
        );
    }
}

/// The body holds exactly what was sent, plus the place the store gave it.
pub async fn append_stores_the_event_as_sent(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Faithful LLP").await;
    let rich = new_event(json!({
        "idempotency_key": "crm-7f3a-91",
        "occurred_at": "2026-11-25T11:15:30.123987+01:00",
        "actor": {"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.com", "type": "user"},
        "activity": "case.updated",
        "description": "Changed case status from Intake to Active — José Ñandú 🚀",
        "related": [{"type": "case", "id": "c_204", "name": "Smith v. Jones"},
                    {"type": "client", "id": "cl_88", "name": "John Smith"},
                    {"type": "user", "id": "u_9"}],
        "changes": [{"field": "status", "before": "Intake", "after": "Active"},
                    {"field": "fee", "before": 1500, "after": 1750.5},
                    {"field": "tags", "before": null, "after": ["urgent", {"x": true}]}],
        "metadata": {"source": "web", "nested": {"b": [1, 2, 3], "a": "\u{2028}\"quoted\""}},
        "context": {"ip": "203.0.113.5", "user_agent": "Mozilla/5.0 (X11)", "request_id": "req-1"}
    }));
    let minimal = new_event(json!({
        "actor": {"id": "sys", "name": "Scheduler", "type": "system"},
        "activity": "client.created",
        "related": [{"type": "client", "id": "cl_1", "name": "Ann Lee"}]
    }));
    let snapshots = new_event(json!({
        "occurred_at": "2026-01-02T03:04:05Z",
        "actor": {"id": "api-1", "name": "CRM Sync", "type": "api"},
        "activity": "client.contact_changed",
        "before": {"phone": "555-0100", "address": {"city": "Boston", "zip": "02101"}},
        "after": {"phone": "555-0199", "address": {"city": "Cambridge", "zip": "02101"}, "email": "a@b.test"}
    }));
    let sent = vec![rich, minimal, snapshots];

    let before = Timestamp::now();
    let appended = append(store, account, sent.clone()).await;
    let after = Timestamp::now();

    let chain = whole_chain(store, account).await;
    assert_chain(account, &chain);
    assert_eq!(chain.len(), 3);
    for ((new, answer), stored) in sent.into_iter().zip(&appended).zip(&chain) {
        let ev = body(stored);
        assert_at_time("recorded_at", ev.recorded_at, before, after);
        let expected = new.clone().into_event(answer.id, account, answer.seq, ev.recorded_at);
        assert_eq!(ev, expected, "seq {}: the stored event is what was sent", stored.seq);
        let by_id = store.event(account, answer.id).await.unwrap();
        assert_eq!(by_id.as_ref(), Some(stored), "event(id) returns the stored link, whole");
    }

    let first = body(&chain[0]);
    assert_eq!(first.occurred_at, ts("2026-11-25T10:15:30.123Z"), "kept in UTC, to the millisecond");
    assert_eq!(first.actor.email.as_deref(), Some("jane@smithlaw.com"));
    assert_eq!(first.idempotency_key.as_deref(), Some("crm-7f3a-91"));
    assert_eq!(first.related.len(), 3);
    assert_eq!(first.related[2].name, None);
    assert_eq!(first.changes[1].after, json!(1750.5));
    assert_eq!(first.metadata["nested"]["b"], json!([1, 2, 3]));
    assert_eq!(first.context.request_id.as_deref(), Some("req-1"));
    assert_eq!(first.context.correlation_id, None);

    let second = body(&chain[1]);
    assert_eq!(second.activity, Activity::from_key("client.created").unwrap());
    assert_eq!(second.description, "Client created: Ann Lee");
    assert_eq!((second.actor.email, second.idempotency_key), (None, None));
    assert!(second.changes.is_empty() && second.metadata.is_empty());

    let third = body(&chain[2]);
    let fields: Vec<&str> = third.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["address.city", "email", "phone"], "computed changes are kept as computed");

    assert_eq!(store.event(account, unknown_id()).await.unwrap(), None, "an unknown id is None");
}

/// `chain(account, after_seq, limit)` pages through the chain in seq order.
pub async fn chain_pages_by_seq(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Paged Chain LLP").await;
    append(store, account, vec![plain("1"), plain("2"), plain("3")]).await;
    append(store, account, vec![plain("4"), plain("5")]).await;
    append(store, account, vec![plain("6"), plain("7")]).await;
    let all = whole_chain(store, account).await;
    assert_chain(account, &all);
    assert_eq!(all.len(), 7);

    let cases: [(u64, u32, &[u64]); 7] = [
        (0, 3, &[1, 2, 3]),
        (3, 3, &[4, 5, 6]),
        (6, 3, &[7]),
        (7, 3, &[]),
        (2, 100, &[3, 4, 5, 6, 7]),
        (0, 1, &[1]),
        (100, 10, &[]),
    ];
    for (after, limit, expected) in cases {
        let got = store.chain(account, after, limit).await.unwrap();
        let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, expected, "chain(after {after}, limit {limit})");
        for e in &got {
            assert_eq!(e, &all[e.seq as usize - 1], "chain pages return the same links");
        }
    }
}

/// `head()` is None on an empty chain, then always the last event's seq and hash.
pub async fn head_follows_the_last_event(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Head LLP").await;
    assert_eq!(store.head(account).await.unwrap(), None);
    for (round, n) in [1usize, 3, 2].into_iter().enumerate() {
        let events = (0..n).map(|i| plain(&format!("round {round} event {i}"))).collect();
        append(store, account, events).await;
        let chain = whole_chain(store, account).await;
        let last = chain.last().unwrap();
        let head = store.head(account).await.unwrap();
        assert_eq!(head, Some(ChainHead { seq: last.seq, hash: last.hash }), "after round {round}");
    }
    assert_eq!(store.head(account).await.unwrap().map(|h| h.seq), Some(6));
}

/// One `append` call with several batches for two accounts: one answer per batch in
/// input order, each account's seqs going on from its own head.
pub async fn group_commit_answers_in_input_order(store: Arc<dyn Store>) {
    let store = &*store;
    let a = new_account(store, "Alpha LLP").await;
    let b = new_account(store, "Beta LLP").await;
    append(store, a, vec![plain("a-0")]).await;

    let batch =
        |account, names: &[&str]| AppendBatch { account_id: account, events: names.iter().map(|n| plain(n)).collect() };
    let answer = store
        .append(vec![
            batch(a, &["a-1", "a-2"]),
            batch(b, &["b-1"]),
            batch(a, &["a-3", "a-4", "a-5"]),
            batch(b, &["b-2", "b-3"]),
        ])
        .await
        .expect("group append");
    let seqs: Vec<Vec<u64>> = answer.iter().map(|batch| seqs_of(batch)).collect();
    assert_eq!(seqs, vec![vec![2, 3], vec![1], vec![4, 5, 6], vec![2, 3]], "per batch, in input order");
    assert!(answer.iter().flatten().all(|x| !x.duplicate));

    let expected = [
        ("a", a, &["a-1", "a-2"][..]),
        ("b", b, &["b-1"]),
        ("a", a, &["a-3", "a-4", "a-5"]),
        ("b", b, &["b-2", "b-3"]),
    ];
    for (batch_answer, (label, account, names)) in answer.iter().zip(expected) {
        for (x, name) in batch_answer.iter().zip(names) {
            let stored =
                store.event(account, x.id).await.unwrap().unwrap_or_else(|| panic!("{label}: {name} not found by id"));
            let ev = body(&stored);
            assert_eq!((ev.seq, ev.description.as_str()), (x.seq, *name), "the answer names the right event");
        }
    }

    let chain_a = whole_chain(store, a).await;
    let chain_b = whole_chain(store, b).await;
    assert_chain(a, &chain_a);
    assert_chain(b, &chain_b);
    let names = |chain: &[ChainedEvent]| chain.iter().map(|e| body(e).description).collect::<Vec<_>>();
    assert_eq!(names(&chain_a), ["a-0", "a-1", "a-2", "a-3", "a-4", "a-5"]);
    assert_eq!(names(&chain_b), ["b-1", "b-2", "b-3"]);
    assert_eq!(store.head(a).await.unwrap().map(|h| h.seq), Some(6));
    assert_eq!(store.head(b).await.unwrap().map(|h| h.seq), Some(3));
}

/// Appending to an account that does not exist is `UnknownAccount`, and stores nothing.
pub async fn append_to_unknown_account_is_refused(store: Arc<dyn Store>) {
    let store = &*store;
    let ghost: AccountId = unknown_id();
    let result = store.append(vec![AppendBatch { account_id: ghost, events: vec![plain("lost")] }]).await;
    assert!(matches!(result, Err(StoreError::UnknownAccount)), "expected UnknownAccount, got {result:?}");
    assert_eq!(store.account(ghost).await.unwrap(), None);
    assert!(store.chain(ghost, 0, 10).await.unwrap_or_default().is_empty());

    let real = new_account(store, "Real LLP").await;
    assert_eq!(seqs_of(&append(store, real, vec![plain("first")]).await), [1]);
}
