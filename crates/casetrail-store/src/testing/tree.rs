//! The Merkle tree (docs/API.md §15): every append extends it in its own
//! transaction, whichever path the event took; a purge keeps every leaf; the stored
//! nodes give proofs that verify; trees are per account; checkpoints keep their tree
//! head. The expected roots are recomputed here from the chain's hashes.

use std::collections::HashMap;
use std::sync::Arc;

use casetrail_core::chain::ChainHash;
use casetrail_core::integrity::Checkpoint;
use casetrail_core::merkle::{Frontier, NodeId, ProofPlan, leaf_hash, verify_consistency, verify_inclusion};

use super::state_changes::*;
use super::support::*;
use crate::{AccountId, Store};

/// The root of the tree over these event hashes, computed in memory.
fn root_of(hashes: &[ChainHash]) -> ChainHash {
    let mut f = Frontier::default();
    for h in hashes {
        f.push(h);
    }
    f.root()
}

async fn nodes_for(store: &dyn Store, account: AccountId, plan: &ProofPlan) -> HashMap<NodeId, ChainHash> {
    store.tree_nodes(account, &plan.nodes()).await.expect("tree_nodes")
}

async fn stored_root(store: &dyn Store, account: AccountId, size: u64) -> Option<ChainHash> {
    let plan = ProofPlan::root(size);
    plan.root_hash(&nodes_for(store, account, &plan).await)
}

/// Every inclusion proof of a tree of `size` and the consistency proofs from every
/// smaller size verify against the roots of `hashes`.
async fn assert_proofs_verify(store: &dyn Store, account: AccountId, hashes: &[ChainHash]) {
    let size = hashes.len() as u64;
    let root = root_of(hashes);
    for index in 0..size {
        let plan = ProofPlan::inclusion(index, size).unwrap();
        let path = plan.hashes(&nodes_for(store, account, &plan).await).expect("every node of the proof is stored");
        let leaf = leaf_hash(&hashes[index as usize]);
        assert!(verify_inclusion(&leaf, index, size, &path, &root), "inclusion of leaf {index} in {size}");
    }
    for from in 1..=size {
        let plan = ProofPlan::consistency(from, size).unwrap();
        let path = plan.hashes(&nodes_for(store, account, &plan).await).expect("every node of the proof is stored");
        let old = root_of(&hashes[..from as usize]);
        assert!(verify_consistency(from, size, &old, &root, &path), "consistency {from} to {size}");
    }
}

/// Appends of every kind — several calls, a group commit of batches for two
/// accounts, duplicates, a recorded change — each extend the tree by their events.
pub async fn the_tree_follows_every_append(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Tree LLP").await;
    let other = new_account(store, "Other Tree LLP").await;
    assert_eq!(stored_root(store, account, 0).await, Some(casetrail_core::merkle::empty_root()));
    append(store, account, vec![plain("one"), keyed("k-1", "two")]).await;
    let batches = vec![
        crate::AppendBatch { account_id: account, events: (3..=9).map(|i| plain(&format!("e {i}"))).collect() },
        crate::AppendBatch { account_id: other, events: vec![plain("elsewhere")] },
        crate::AppendBatch { account_id: account, events: vec![keyed("k-1", "again"), plain("ten")] },
    ];
    store.append(batches).await.unwrap();
    let hold = hold(account, casetrail_core::RecordType::Case, "c-1", ts("2026-01-01T00:00:00Z"));
    store.add_hold(&hold, Box::new(|_| Some(plain("hold placed")))).await.unwrap();

    let hashes: Vec<ChainHash> = whole_chain(store, account).await.iter().map(|e| e.hash).collect();
    assert_eq!(hashes.len(), 11, "ten appended, one duplicate skipped, one recorded change");
    for size in 0..=11u64 {
        assert_eq!(stored_root(store, account, size).await, Some(root_of(&hashes[..size as usize])), "size {size}");
    }
    assert_eq!(stored_root(store, account, 12).await, None, "no tree beyond the head");
    assert_proofs_verify(store, account, &hashes).await;
    let others: Vec<ChainHash> = whole_chain(store, other).await.iter().map(|e| e.hash).collect();
    assert_eq!(stored_root(store, other, 1).await, Some(root_of(&others)));
}

/// A purge removes events but never their leaves: the root and every proof stay.
pub async fn a_purge_keeps_every_leaf_of_the_tree(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Purged Tree LLP").await;
    let old = (0..5).map(|i| at("u1", "case.updated", &format!("2025-01-0{}T00:00:00Z", i + 1), "old")).collect();
    append(store, account, old).await;
    append(store, account, vec![plain("new 1"), plain("new 2")]).await;
    let hashes: Vec<ChainHash> = whole_chain(store, account).await.iter().map(|e| e.hash).collect();
    let batch = purge_batch(store, account, ts("2025-06-01T00:00:00Z"), 100).await;
    assert_eq!(batch.purged, 5);
    assert_eq!(whole_chain(store, account).await.len(), 2);
    assert_eq!(stored_root(store, account, 7).await, Some(root_of(&hashes)));
    assert_proofs_verify(store, account, &hashes).await;
    // The tree goes on after the purge.
    append(store, account, vec![plain("after")]).await;
    let mut all = hashes.clone();
    all.push(whole_chain(store, account).await.last().unwrap().hash);
    assert_eq!(stored_root(store, account, 8).await, Some(root_of(&all)));
}

/// One account's nodes are never another's.
pub async fn trees_are_per_account(store: Arc<dyn Store>) {
    let store = &*store;
    let first = new_account(store, "First Tree LLP").await;
    let second = new_account(store, "Second Tree LLP").await;
    append(store, first, (0..4).map(|i| plain(&format!("first {i}"))).collect()).await;
    let plan = ProofPlan::root(4);
    assert_eq!(nodes_for(store, first, &plan).await.len(), 1);
    assert!(nodes_for(store, second, &plan).await.is_empty(), "the other account has no such nodes");
    assert!(nodes_for(store, unknown_id(), &plan).await.is_empty(), "nor has an unknown account");
    let leaves: Vec<NodeId> = (0..4).map(NodeId::leaf).collect();
    assert_eq!(store.tree_nodes(first, &leaves).await.unwrap().len(), 4);
    assert!(store.tree_nodes(second, &leaves).await.unwrap().is_empty());
}

/// A checkpoint's tree head (root and signed note) comes back as it was stored.
pub async fn checkpoints_keep_their_tree_head(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Tree Head LLP").await;
    append(store, account, (0..3).map(|i| plain(&format!("e {i}"))).collect()).await;
    let head = store.head(account).await.unwrap().unwrap();
    let root = stored_root(store, account, head.seq).await.unwrap();
    let signed_at = ts("2026-02-01T00:00:00Z");
    let with_tree = Checkpoint::sign_with_tree(&test_key(), account, (head.seq, head.hash), root, signed_at);
    store.add_checkpoint(&with_tree).await.unwrap();
    let back = store.checkpoints(account, 1).await.unwrap();
    assert_eq!(back, std::slice::from_ref(&with_tree));
    assert_eq!((back[0].tree_size, back[0].root_hash), (3, Some(root)));
    assert_eq!(back[0].verify(&test_key_ring()), Ok(()));
}

/// Appends through two handles at once build one tree over the one chain.
pub async fn two_handles_build_one_tree(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let account = new_account(first.as_ref(), "Shared Tree LLP").await;
    let send = |store: Arc<dyn Store>, name: &'static str| async move {
        for i in 0..10 {
            let events = (0..3).map(|j| plain(&format!("{name} {i} {j}"))).collect();
            append(store.as_ref(), account, events).await;
        }
    };
    tokio::join!(send(first.clone(), "first"), send(second.clone(), "second"));
    let hashes: Vec<ChainHash> = whole_chain(first.as_ref(), account).await.iter().map(|e| e.hash).collect();
    assert_eq!(hashes.len(), 60);
    assert_eq!(stored_root(second.as_ref(), account, 60).await, Some(root_of(&hashes)));
    assert_proofs_verify(first.as_ref(), account, &hashes).await;
}
