//! The tombstone-merge rule of a purge: each gap in a chain keeps one tombstone, however
//! many purge batches and runs made it.
//!
//! Every backend applies the same rule, so it lives here as a pure function: the
//! backend finds the stored tombstones that touch a purged run and stores what
//! [`Tombstone::merge_run`] answers.

use crate::ids::AccountId;

use super::{ChainKey, KeyRing, Tombstone};
use crate::chain::ChainHash;
use crate::time::Timestamp;

/// A run of consecutive seqs one purge batch removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgedRun {
    pub first_seq: u64,
    pub last_seq: u64,
    /// The `prev_hash` of the first removed event.
    pub first_prev_hash: ChainHash,
    /// The `hash` of the last removed event.
    pub last_hash: ChainHash,
}

/// What a backend stores for one purged run: one tombstone, in place of the stored
/// tombstones it absorbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedRun {
    pub tombstone: Tombstone,
    /// The `first_seq`s of the stored tombstones to delete, in seq order.
    pub replaces: Vec<u64>,
}

impl Tombstone {
    /// Merges a purged run with the stored tombstone that ends right before it
    /// (`before`) and the one that starts right after it (`after`), and signs the result.
    ///
    /// A neighbour is absorbed only when it is this account's, touches the run, links
    /// to it by hash and carries a signature `key` itself verifies. Anything else stays
    /// a tombstone of its own: a forged or mislinked neighbour is never re-signed into
    /// a valid one, and verification still reports it. Keeping two adjacent tombstones
    /// is always safe; they just take two rows.
    pub fn merge_run(
        key: &ChainKey,
        account_id: AccountId,
        before: Option<&Tombstone>,
        run: &PurgedRun,
        after: Option<&Tombstone>,
        purged_at: Timestamp,
    ) -> MergedRun {
        let ring = KeyRing::new([key.verifying_key()]);
        let trusted =
            |t: &Tombstone| t.account_id == account_id && t.first_seq <= t.last_seq && t.verify(&ring).is_ok();
        // The signature is checked last: it is the one costly test.
        let before = before.filter(|b| {
            b.last_seq.checked_add(1) == Some(run.first_seq) && b.last_hash == run.first_prev_hash && trusted(b)
        });
        let after = after.filter(|a| {
            run.last_seq.checked_add(1) == Some(a.first_seq) && a.first_prev_hash == run.last_hash && trusted(a)
        });
        let (first_seq, first_prev_hash) =
            before.map_or((run.first_seq, run.first_prev_hash), |b| (b.first_seq, b.first_prev_hash));
        let (last_seq, last_hash) = after.map_or((run.last_seq, run.last_hash), |a| (a.last_seq, a.last_hash));
        let tombstone =
            Tombstone::sign(key, account_id, (first_seq, last_seq), (first_prev_hash, last_hash), purged_at);
        let replaces = before.into_iter().chain(after).map(|t| t.first_seq).collect();
        MergedRun { tombstone, replaces }
    }
}

#[cfg(test)]
#[path = "tombstone_tests.rs"]
mod tests;
