//! What verification checks of the Merkle tree (docs/API.md §15), beside the chain:
//! that each retained event's leaf is its hash, that the newest checkpoint's root is
//! the stored tree's, and that each checkpoint's tree extends the one signed before
//! it — a consistency proof from the stored nodes must verify against both signed
//! roots. So a history rewritten and re-signed is caught as long as an older
//! checkpoint of the true history is still there.

use std::collections::HashMap;

use casetrail_core::chain::ChainHash;
use casetrail_core::integrity::{Checkpoint, KeyRing, Problem, ProblemKind};
use casetrail_core::merkle::{NodeId, ProofPlan, leaf_hash, verify_consistency};
use casetrail_store::{AccountId, Store, StoreResult};

fn mismatch(seq: u64, message: String) -> Problem {
    Problem { seq, kind: ProblemKind::HashMismatch, message }
}

/// The events of a page whose stored leaf is not the leaf of their hash. An account
/// without a tree (`casetrail_store::tree`) has no leaves to compare.
/// `page` holds each event's `(seq, hash)`.
pub async fn leaf_problems(
    store: &dyn Store,
    account: AccountId,
    page: &[(u64, ChainHash)],
) -> StoreResult<Vec<Problem>> {
    let wanted: Vec<NodeId> = page.iter().map(|(seq, _)| NodeId::leaf(seq - 1)).collect();
    let leaves: HashMap<NodeId, ChainHash> = store.tree_nodes(account, &wanted).await?;
    if leaves.is_empty() {
        return Ok(Vec::new());
    }
    Ok(page
        .iter()
        .filter(|(seq, hash)| leaves.get(&NodeId::leaf(seq - 1)) != Some(&leaf_hash(hash)))
        .map(|(seq, _)| mismatch(*seq, "the Merkle tree's leaf differs from the event's hash".into()))
        .collect())
}

/// The checkpoints' tree heads against the stored tree and one another.
/// `checkpoints` may come in any order; those whose signatures fail are reported
/// elsewhere and left out here.
///
/// Only the pairs of consecutive heads that end beyond `after_size` are checked: an
/// incremental verification starts at a good checkpoint and takes what precedes it
/// as checked, as its chain walk does; a full one passes 0. (Checking every pair
/// cost an incremental run one store read per 1,000 events of the whole log: 230 ms
/// at 1M events, for 1,000 new ones.)
pub async fn checkpoint_problems(
    store: &dyn Store,
    account: AccountId,
    checkpoints: &[Checkpoint],
    ring: &KeyRing,
    after_size: u64,
) -> StoreResult<Vec<Problem>> {
    let mut signed: Vec<&Checkpoint> =
        checkpoints.iter().filter(|c| c.tree_size > 0 && c.root_hash.is_some()).collect();
    signed.sort_by_key(|c| c.tree_size);
    // Signatures are checked only where a pair needs them: the heads beyond
    // `after_size`, and the newest good one at or below it (where the first pair
    // starts). Checking them all cost an incremental run two Ed25519 verifications per
    // checkpoint of the whole log (one per 1,000 events): ~150 ms at 1M events.
    let split = signed.partition_point(|c| c.tree_size <= after_size);
    let base = signed[..split].iter().rev().find(|c| c.verify(ring).is_ok());
    let later = signed[split..].iter().filter(|c| c.verify(ring).is_ok());
    let mut heads: Vec<(u64, ChainHash, u64)> =
        base.into_iter().chain(later).filter_map(|c| c.root_hash.map(|root| (c.tree_size, root, c.seq))).collect();
    heads.dedup();
    let mut problems = Vec::new();
    for pair in heads.windows(2).filter(|pair| pair[1].0 > after_size) {
        let ((from, from_root, _), (to, to_root, seq)) = (pair[0], pair[1]);
        let plan = ProofPlan::consistency(from, to).expect("sorted sizes above zero");
        let nodes = store.tree_nodes(account, &plan.nodes()).await?;
        let consistent =
            plan.hashes(&nodes).is_some_and(|path| verify_consistency(from, to, &from_root, &to_root, &path));
        if !consistent {
            problems.push(mismatch(
                seq,
                format!(
                    "the checkpoint's tree of size {to} is not an extension of the checkpointed tree of size {from}"
                ),
            ));
        }
    }
    if let Some(&(size, root, seq)) = heads.last()
        && crate::proofs::root_at(store, account, size).await? != Some(root)
    {
        problems
            .push(mismatch(seq, format!("the stored Merkle tree's root at size {size} differs from the checkpoint's")));
    }
    Ok(problems)
}
