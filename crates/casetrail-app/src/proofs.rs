//! Proofs from an account's Merkle tree (docs/API.md §15): an event's inclusion
//! under a checkpoint, and the consistency of two tree sizes. The store reads the
//! O(log n) nodes a proof names; `casetrail_core::merkle` does the rest.

use casetrail_core::chain::ChainHash;
use casetrail_core::integrity::Checkpoint;
use casetrail_core::merkle::ProofPlan;
use casetrail_store::{AccountId, EventId, Store, StoreError, StoreResult};

use crate::error::{AppError, AppResult};

/// Checkpoints searched for a requested tree size (newest first).
const CHECKPOINTS: u32 = 100_000;

/// An event's inclusion proof against a checkpoint of the tree.
#[derive(Debug, Clone)]
pub struct Inclusion {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub inclusion_path: Vec<ChainHash>,
    pub checkpoint: Checkpoint,
}

/// Why an account without a tree gets no proof: its answer is a 409 with this.
pub const NO_TREE: &str = "this account has no Merkle tree to prove events against: events were purged before \
casetrail kept one, and their leaves are lost with them; the hash chain still verifies (GET /api/v1/integrity)";

/// Whether the account's tree reaches its head: false only for an account that
/// purged two or more events in a row before the tree existed (its leaves could not
/// be rebuilt when the store was migrated, docs/API.md §15).
pub async fn has_tree(store: &dyn Store, account: AccountId) -> StoreResult<bool> {
    match store.head(account).await? {
        None => Ok(true),
        Some(head) => Ok(root_at(store, account, head.seq).await?.is_some()),
    }
}

/// The root of the account's tree at `size`, from the stored nodes; `None` when the
/// tree does not reach that far (an account whose tree could not be built).
pub async fn root_at(store: &dyn Store, account: AccountId, size: u64) -> StoreResult<Option<ChainHash>> {
    let plan = ProofPlan::root(size);
    let nodes = store.tree_nodes(account, &plan.nodes()).await?;
    Ok(plan.root_hash(&nodes))
}

/// The hashes of `plan` from the stored nodes. A node the plan needs and the store
/// lacks means the tree is damaged or was never built: no proof can be given.
pub async fn prove(store: &dyn Store, account: AccountId, plan: &ProofPlan) -> AppResult<Vec<ChainHash>> {
    let nodes = store.tree_nodes(account, &plan.nodes()).await?;
    match plan.hashes(&nodes) {
        Some(hashes) => Ok(hashes),
        None if !has_tree(store, account).await? => Err(AppError::Conflict(NO_TREE.into())),
        None => Err(AppError::Store(StoreError::Corrupt("the Merkle tree lacks a node this proof needs".into()))),
    }
}

/// The inclusion proof of event `id` in the tree of `tree_size` leaves (the newest
/// checkpoint's size when `None`). The size must be that of a checkpoint with a tree
/// head, and cover the event.
pub async fn inclusion(
    store: &dyn Store,
    account: AccountId,
    id: EventId,
    tree_size: Option<u64>,
) -> AppResult<Inclusion> {
    let event = store.event(account, id).await?.ok_or(AppError::NotFound("event"))?;
    let checkpoints = store.checkpoints(account, CHECKPOINTS).await?;
    let checkpoint = match tree_size {
        None => checkpoints.into_iter().find(|c| c.root_hash.is_some()),
        Some(n) => checkpoints.into_iter().find(|c| c.tree_size == n && c.root_hash.is_some()),
    };
    let Some(checkpoint) = checkpoint else {
        if !has_tree(store, account).await? {
            return Err(AppError::Conflict(NO_TREE.into()));
        }
        return Err(match tree_size {
            Some(n) => AppError::field("tree_size", format!("no checkpoint has the tree size {n}")),
            None => AppError::field("tree_size", "no checkpoint with a tree head exists yet"),
        });
    };
    if checkpoint.tree_size < event.seq {
        return Err(AppError::field(
            "tree_size",
            format!(
                "the tree size {} does not cover the event (seq {}); sign a new checkpoint",
                checkpoint.tree_size, event.seq
            ),
        ));
    }
    let leaf_index = event.seq - 1;
    let plan = ProofPlan::inclusion(leaf_index, checkpoint.tree_size)
        .map_err(|e| AppError::field("tree_size", e.to_string()))?;
    let inclusion_path = prove(store, account, &plan).await?;
    Ok(Inclusion { leaf_index, tree_size: checkpoint.tree_size, inclusion_path, checkpoint })
}

/// The consistency proof between the tree sizes `from` and `to`, which must satisfy
/// `0 < from <= to <= the newest checkpoint's size`.
pub async fn consistency(store: &dyn Store, account: AccountId, from: u64, to: u64) -> AppResult<Vec<ChainHash>> {
    let newest = store.checkpoints(account, 1).await?.first().map_or(0, |c| c.tree_size);
    if from == 0 || from > to {
        return Err(AppError::field("from", format!("from must be at least 1 and at most to, got {from} and {to}")));
    }
    if to > newest {
        return Err(AppError::field("to", format!("to must be at most the newest checkpoint's tree size {newest}")));
    }
    let plan = ProofPlan::consistency(from, to).map_err(|e| AppError::field("from", e.to_string()))?;
    prove(store, account, &plan).await
}
