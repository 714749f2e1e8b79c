//! A schema written before the Merkle tree existed gets its tree when a server
//! connects: built from the stored events (a single purged event bridged by the next
//! one's `prev_hash`); a longer gap leaves the account without a tree, not a wrong one.

mod support;

use casetrail_core::chain::ChainHash;
use casetrail_core::merkle::{Frontier, ProofPlan};
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_store::{AccountId, AccountStore, AppendBatch, EventStore, IntegrityStore};
use casetrail_store_postgres::PostgresStore;
use serde_json::json;

async fn seeded(n: usize) -> (PostgresStore, AccountId, Vec<ChainHash>) {
    let store = support::fresh().await;
    let account = store.create_account("Old Schema LLP").await.unwrap().id;
    let events: Vec<_> = (0..n)
        .map(|i| json!({"actor": {"id": "u1", "name": "Ann"}, "activity": "case.updated", "description": format!("e {i}")}))
        .collect();
    let rules = IngestRules { now: casetrail_core::Timestamp::now(), window_start: None, allow_reserved: false };
    let events = parse_ingest(&json!({ "events": events }), &rules).unwrap();
    store.append(vec![AppendBatch { account_id: account, events }]).await.unwrap();
    let hashes = store.chain(account, 0, 1000).await.unwrap().iter().map(|e| e.hash).collect();
    (store, account, hashes)
}

async fn root(store: &PostgresStore, account: AccountId, size: u64) -> Option<ChainHash> {
    let plan = ProofPlan::root(size);
    plan.root_hash(&store.tree_nodes(account, &plan.nodes()).await.unwrap())
}

#[tokio::test]
async fn the_tree_is_built_at_connect_for_events_stored_before_it() {
    let (store, account, hashes) = seeded(21).await;
    let raw = support::plain_client(store.url()).await;
    raw.batch_execute("DELETE FROM merkle_nodes; DELETE FROM events WHERE seq = 7").await.unwrap();
    assert_eq!(root(&store, account, 21).await, None, "the nodes are gone");
    let reopened = support::reopen(&store).await;
    let mut expected = Frontier::default();
    hashes.iter().for_each(|h| drop(expected.push(h)));
    assert_eq!(root(&reopened, account, 21).await, Some(expected.root()));
    let count: i64 = raw.query_one("SELECT count(*) FROM merkle_nodes", &[]).await.unwrap().get(0);
    assert_eq!(count, 21 + 10 + 5 + 2 + 1);
    drop(support::reopen(&store).await);
    let again: i64 = raw.query_one("SELECT count(*) FROM merkle_nodes", &[]).await.unwrap().get(0);
    assert_eq!(again, count, "a second connect builds nothing more");
}

#[tokio::test]
async fn a_longer_gap_leaves_no_tree() {
    let (store, account, _) = seeded(9).await;
    let raw = support::plain_client(store.url()).await;
    raw.batch_execute("DELETE FROM merkle_nodes; DELETE FROM events WHERE seq IN (3, 4)").await.unwrap();
    let reopened = support::reopen(&store).await;
    assert_eq!(root(&reopened, account, 9).await, None);
    assert_eq!(reopened.head(account).await.unwrap().unwrap().seq, 9);
}
