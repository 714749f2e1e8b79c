//! Whole-chain verification through the store, as the server's `verify_account` does
//! it: the indexed rows in seq order, each tombstone where its seqs fall, every
//! checkpoint, and the recorded head against where the walk ended.

use casetrail_core::integrity::{KeyRing, Problem, ProblemKind, Report, Verifier};

use super::state_changes::test_key_ring;
use crate::{AccountId, Store};

/// Rows per `chain_rows` call: small, so that a walk crosses page ends.
const PAGE: u32 = 7;
/// Checkpoints read: more than any test stores.
const CHECKPOINTS: u32 = 1_000;

/// Verifies `account`'s whole chain with `ring`; the report lists every problem.
pub async fn verify_chain(store: &dyn Store, account: AccountId, ring: &KeyRing) -> Report {
    let checkpoints = store.checkpoints(account, CHECKPOINTS).await.expect("checkpoints");
    let tombstones = store.tombstones(account).await.expect("tombstones");
    let mut verifier = Verifier::new(account, ring, &checkpoints);
    let mut pending = tombstones.into_iter().peekable();
    let mut after = 0;
    loop {
        let rows = store.chain_rows(account, after, PAGE).await.expect("chain_rows");
        assert!(rows.len() <= PAGE as usize, "chain_rows returned {} rows for limit {PAGE}", rows.len());
        let Some((last, _)) = rows.last() else { break };
        after = last.seq;
        for (event, columns) in &rows {
            while let Some(t) = pending.next_if(|t| t.first_seq < event.seq) {
                verifier.tombstone(&t);
            }
            verifier.event(event, Some(columns));
        }
    }
    for t in pending {
        verifier.tombstone(&t);
    }
    let mut report = verifier.finish();
    if let Some(head) = store.head(account).await.expect("head")
        && head.seq > report.reached
    {
        report.problems.push(Problem {
            seq: report.reached + 1,
            kind: ProblemKind::Truncated,
            message: format!("the chain ends at seq {} but its recorded head is seq {}", report.reached, head.seq),
        });
    }
    report
}

/// Verifies with the suite's key and panics, listing the problems, unless the chain
/// is intact. Answers the report for further checks.
pub async fn assert_chain_verifies(store: &dyn Store, account: AccountId) -> Report {
    let report = verify_chain(store, account, &test_key_ring()).await;
    assert!(report.ok(), "the chain does not verify: {:#?}", report.problems);
    report
}
