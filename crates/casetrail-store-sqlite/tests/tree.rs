//! The Merkle tree of a file written before the tree existed is built when the file
//! is opened; the tree's stored nodes edited behind the store's back, or a checkpoint
//! re-signed over another history, are found by verification.

mod support;

use casetrail_core::Timestamp;
use casetrail_core::chain::ChainHash;
use casetrail_core::integrity::Checkpoint;
use casetrail_core::merkle::Frontier;
use casetrail_store::{EventStore, IntegrityStore};
use casetrail_store_sqlite::SqliteStore;
use support::Fixture;

fn root_of(hashes: &[ChainHash]) -> ChainHash {
    let mut f = Frontier::default();
    hashes.iter().for_each(|h| drop(f.push(h)));
    f.root()
}

async fn hashes(fx: &Fixture) -> Vec<ChainHash> {
    fx.store.chain(fx.account, 0, 1000).await.unwrap().iter().map(|e| e.hash).collect()
}

/// A checkpoint of the head with the stored tree's root, signed with the fixture's key.
async fn tree_checkpoint(fx: &Fixture, root: Option<ChainHash>) -> Checkpoint {
    let head = fx.store.head(fx.account).await.unwrap().unwrap();
    let stored = casetrail_app::proofs::root_at(&fx.store, fx.account, head.seq).await.unwrap().unwrap();
    let c = Checkpoint::sign_with_tree(
        &fx.key,
        fx.account,
        (head.seq, head.hash),
        root.unwrap_or(stored),
        Timestamp::now(),
    );
    fx.store.add_checkpoint(&c).await.unwrap();
    c
}

#[tokio::test]
async fn a_file_from_before_the_tree_gets_its_tree_at_open() {
    let fx = Fixture::new().await;
    fx.seed(30).await;
    let all = hashes(&fx).await;
    // As the file was before: no nodes; and seq 5 purged (its hash survives as the
    // next event's prev_hash).
    let raw = fx.raw_db();
    raw.execute_batch("DELETE FROM merkle_nodes; DELETE FROM events WHERE seq = 5").unwrap();
    let reopened = SqliteStore::open(fx.store.path()).unwrap();
    let root = casetrail_app::proofs::root_at(&reopened, fx.account, 30).await.unwrap();
    assert_eq!(root, Some(root_of(&all)));
    let nodes: i64 = raw.query_row("SELECT count(*) FROM merkle_nodes", [], |r| r.get(0)).unwrap();
    assert_eq!(nodes, 30 + 15 + 7 + 3 + 1, "every full subtree of 30 leaves");
    // Opening again builds nothing more, and appends go on extending it.
    drop(SqliteStore::open(fx.store.path()).unwrap());
    fx.seed(2).await;
    let mut more = all.clone();
    more.extend(hashes(&fx).await[29..].iter().copied());
    assert_eq!(casetrail_app::proofs::root_at(&fx.store, fx.account, 32).await.unwrap(), Some(root_of(&more)));
}

#[tokio::test]
async fn a_longer_purged_gap_leaves_the_account_without_a_tree() {
    let fx = Fixture::new().await;
    fx.seed(10).await;
    fx.raw_db().execute_batch("DELETE FROM merkle_nodes; DELETE FROM events WHERE seq IN (5, 6)").unwrap();
    let reopened = SqliteStore::open(fx.store.path()).unwrap();
    assert_eq!(casetrail_app::proofs::root_at(&reopened, fx.account, 10).await.unwrap(), None);
    fx.seed(3).await;
    assert_eq!(
        casetrail_app::proofs::root_at(&fx.store, fx.account, 13).await.unwrap(),
        None,
        "no tree, not a wrong one"
    );
    assert_eq!(fx.store.head(fx.account).await.unwrap().unwrap().seq, 13, "appends work as before");
}

#[tokio::test]
async fn an_edited_leaf_or_node_is_reported() {
    let fx = Fixture::new().await;
    fx.seed(10).await;
    tree_checkpoint(&fx, None).await;
    assert!(fx.problems(false).await.is_empty());
    fx.raw_db().execute("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 3", []).unwrap();
    assert_eq!(fx.problems(false).await, [(4, "hash_mismatch".to_string())]);

    let fx = Fixture::new().await;
    fx.seed(10).await;
    tree_checkpoint(&fx, None).await;
    fx.raw_db().execute("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 3 AND idx = 0", []).unwrap();
    assert_eq!(fx.problems(false).await, [(10, "hash_mismatch".to_string())], "the root differs from the checkpoint's");
}

#[tokio::test]
async fn a_checkpoint_over_another_history_is_not_an_extension() {
    let fx = Fixture::new().await;
    fx.seed(8).await;
    tree_checkpoint(&fx, None).await;
    fx.seed(4).await;
    // Signed with the right key, but stating a root of some other history.
    tree_checkpoint(&fx, Some(ChainHash([9; 32]))).await;
    let report = fx.verify(false).await.report;
    let problems: Vec<_> = report.problems.iter().map(|p| (p.seq, p.kind.key(), p.message.as_str())).collect();
    assert_eq!(
        problems,
        [
            (
                12,
                "hash_mismatch",
                "the checkpoint's tree of size 12 is not an extension of the checkpointed tree of size 8"
            ),
            (12, "hash_mismatch", "the stored Merkle tree's root at size 12 differs from the checkpoint's"),
        ]
    );
}

#[tokio::test]
async fn an_incremental_verification_checks_the_tree_heads_from_where_it_starts() {
    let fx = Fixture::new().await;
    fx.seed(8).await;
    tree_checkpoint(&fx, None).await;
    fx.seed(4).await;
    tree_checkpoint(&fx, Some(ChainHash([9; 32]))).await;
    fx.seed(4).await;
    tree_checkpoint(&fx, None).await;
    let full: Vec<(u64, String)> = fx.problems(false).await;
    assert_eq!(
        full,
        [(12, "hash_mismatch".to_string()), (16, "hash_mismatch".to_string())],
        "a full run checks every pair of heads: 8 → 12 and 12 → 16 do not extend"
    );
    // From the good checkpoint at 16, what precedes it is taken as checked, as the
    // chain walk takes it.
    assert_eq!(fx.problems(true).await, []);
}
