//! Integrity reads: checkpoints come back whole, newest first and within their limit,
//! and are checked against the chain; `chain_rows` is the chain with indexed columns
//! that agree with the hashed bodies.

use std::sync::Arc;

use casetrail_core::integrity::{Checkpoint, ProblemKind};
use serde_json::json;

use super::state_changes::*;
use super::support::*;
use super::verify::{assert_chain_verifies, verify_chain};
use crate::{AccountId, Store, StoreError};

/// A checkpoint of `account` at `seq` with this hash, signed with the suite's key.
fn checkpoint(account: AccountId, seq: u64, hash: casetrail_core::chain::ChainHash, signed_at: &str) -> Checkpoint {
    Checkpoint::sign(&test_key(), account, seq, hash, ts(signed_at))
}

/// Checkpoints list newest first (by seq, then by signing time), `limit` at most, and
/// only the account's own.
pub async fn checkpoints_newest_first_within_limit(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Signed LLP").await;
    let other = new_account(store, "Unsigned LLP").await;
    append(store, account, (1..=7).map(|i| plain(&format!("event {i}"))).collect()).await;
    let chain = whole_chain(store, account).await;
    let hash_at = |seq: u64| chain[seq as usize - 1].hash;
    assert_eq!(store.checkpoints(account, 10).await.unwrap(), [], "no checkpoint yet");

    let at2 = checkpoint(account, 2, hash_at(2), "2026-01-01T00:00:00.001Z");
    let at5 = checkpoint(account, 5, hash_at(5), "2026-01-02T00:00:00Z");
    let at7 = checkpoint(account, 7, hash_at(7), "2026-01-03T00:00:00Z");
    let at7_again = checkpoint(account, 7, hash_at(7), "2026-01-04T00:00:00Z");
    for c in [&at5, &at7, &at2, &at7_again] {
        store.add_checkpoint(c).await.unwrap_or_else(|e| panic!("add_checkpoint at {}: {e:?}", c.seq));
    }

    let all = store.checkpoints(account, 10).await.unwrap();
    assert_eq!(all, [at7_again.clone(), at7.clone(), at5.clone(), at2.clone()], "newest first, whole");
    assert_eq!(store.checkpoints(account, 2).await.unwrap(), [at7_again, at7], "limit 2: the two newest");
    assert_eq!(store.checkpoints(account, 1).await.unwrap().len(), 1);
    assert_eq!(store.checkpoints(other, 10).await.unwrap(), [], "another account's are not listed");
    assert_eq!(store.checkpoints(unknown_id(), 10).await.unwrap(), []);

    let stray = checkpoint(unknown_id(), 1, hash_at(1), "2026-01-05T00:00:00Z");
    let refused = store.add_checkpoint(&stray).await;
    assert!(matches!(refused, Err(StoreError::UnknownAccount)), "a checkpoint of no account: {refused:?}");

    let report = assert_chain_verifies(store, account).await;
    assert_eq!((report.events_checked, report.reached, report.head_hash), (7, 7, Some(hash_at(7))));
}

/// Verification holds the chain to its checkpoints: a checkpoint whose hash the chain
/// does not have at its seq is a mismatch there, one beyond the head a truncation.
/// (This also proves the suite's verification helper can fail.)
pub async fn checkpoints_are_checked_against_the_chain(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Checked LLP").await;
    append(store, account, (1..=4).map(|i| plain(&format!("event {i}"))).collect()).await;
    let chain = whole_chain(store, account).await;
    let ring = test_key_ring();

    store.add_checkpoint(&checkpoint(account, 4, chain[3].hash, "2026-02-01T00:00:00Z")).await.unwrap();
    assert!(verify_chain_ok(store, account).await, "a true checkpoint verifies");

    store.add_checkpoint(&checkpoint(account, 2, chain[0].hash, "2026-02-02T00:00:00Z")).await.unwrap();
    store.add_checkpoint(&checkpoint(account, 6, chain[3].hash, "2026-02-03T00:00:00Z")).await.unwrap();
    let report = verify_chain(store, account, &ring).await;
    let problems: Vec<(u64, ProblemKind)> = report.problems.iter().map(|p| (p.seq, p.kind)).collect();
    assert_eq!(problems, [(2, ProblemKind::HashMismatch), (5, ProblemKind::Truncated)]);

    // Checkpoints signed by a key the ring does not know are bad signatures.
    let empty_ring = casetrail_core::integrity::KeyRing::default();
    let report = verify_chain(store, account, &empty_ring).await;
    let kinds: Vec<ProblemKind> = report.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::BadSignature; 3]);
}

async fn verify_chain_ok(store: &dyn Store, account: AccountId) -> bool {
    verify_chain(store, account, &test_key_ring()).await.ok()
}

/// `chain_rows` holds exactly the events of `chain`, paged alike, each with columns
/// that agree with its body.
pub async fn chain_rows_agree_with_chain_and_bodies(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Rows LLP").await;
    let other = new_account(store, "Other LLP").await;
    append(
        store,
        account,
        vec![
            keyed("crm-1", "keyed"),
            at("u_ann", "client.created", "2025-05-01T08:00:00.250Z", "backdated"),
            new_event(json!({
                "actor": {"id": "svc:sync", "name": "Sync"},
                "activity": "communication.email_sent",
                "description": "by an integration",
                "related": [{"type": "case", "id": "c-1", "name": "Matter"}],
            })),
            plain("unkeyed"),
        ],
    )
    .await;
    append(store, other, vec![plain("elsewhere")]).await;
    let chain = whole_chain(store, account).await;

    let rows = store.chain_rows(account, 0, 100).await.unwrap();
    let events: Vec<_> = rows.iter().map(|(e, _)| e.clone()).collect();
    assert_eq!(events, chain, "chain_rows carries the chain as stored");
    for (event, columns) in &rows {
        let b = body(event);
        assert_eq!(columns.account_id, account, "seq {}: account", event.seq);
        assert_eq!(columns.id, b.id, "seq {}: id", event.seq);
        assert_eq!(columns.occurred_at, b.occurred_at, "seq {}: occurred_at", event.seq);
        assert_eq!(columns.actor_id, b.actor.id, "seq {}: actor", event.seq);
        assert_eq!(columns.activity, b.activity.key(), "seq {}: activity", event.seq);
        assert_eq!(columns.idempotency_key, b.idempotency_key, "seq {}: idempotency key", event.seq);
    }
    let columns: Vec<(String, String, Option<String>)> =
        rows.iter().map(|(_, c)| (c.actor_id.clone(), c.activity.clone(), c.idempotency_key.clone())).collect();
    assert_eq!(
        columns,
        [
            ("u_test".into(), "case.updated".into(), Some("crm-1".into())),
            ("u_ann".into(), "client.created".into(), None),
            ("svc:sync".into(), "communication.email_sent".into(), None),
            ("u_test".into(), "case.updated".into(), None),
        ]
    );
    assert_eq!(rows[1].1.occurred_at, ts("2025-05-01T08:00:00.250Z"));

    let paged: Vec<u64> = store.chain_rows(account, 1, 2).await.unwrap().iter().map(|(e, _)| e.seq).collect();
    assert_eq!(paged, [2, 3], "after_seq and limit page like chain()");
    assert_eq!(store.chain_rows(account, 4, 10).await.unwrap().len(), 0, "nothing after the head");
    assert_eq!(store.chain_rows(unknown_id(), 0, 10).await.unwrap().len(), 0);
    let theirs = store.chain_rows(other, 0, 10).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].1.account_id, other);
    assert_ne!(theirs[0].0, chain[0], "each account has its own chain");

    let report = assert_chain_verifies(store, account).await;
    assert_eq!((report.events_checked, report.purged, report.reached), (4, 0, 4));
}
