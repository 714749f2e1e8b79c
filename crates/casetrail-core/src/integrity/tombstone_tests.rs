use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

fn key(seed: u8) -> ChainKey {
    ChainKey::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
}

fn account() -> AccountId {
    AccountId::from(uuid::Uuid::from_u128(0xacc0))
}

/// The stand-in hash of seq `n` (seq 0 is the genesis).
fn h(n: u64) -> ChainHash {
    if n == 0 { ChainHash::GENESIS } else { ChainHash([n as u8; 32]) }
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

/// The run `first..=last` of a chain whose seq `n` has hash `h(n)`.
fn run(first: u64, last: u64) -> PurgedRun {
    PurgedRun { first_seq: first, last_seq: last, first_prev_hash: h(first - 1), last_hash: h(last) }
}

/// A tombstone for `first..=last` signed by `key`.
fn stored(key: &ChainKey, first: u64, last: u64) -> Tombstone {
    Tombstone::sign(key, account(), (first, last), (h(first - 1), h(last)), at(1_000))
}

fn span(t: &Tombstone) -> (u64, u64, ChainHash, ChainHash) {
    (t.first_seq, t.last_seq, t.first_prev_hash, t.last_hash)
}

#[test]
fn a_run_without_neighbours_is_its_own_signed_tombstone() {
    let k = key(1);
    let merged = Tombstone::merge_run(&k, account(), None, &run(4, 6), None, at(5_000));
    assert_eq!(span(&merged.tombstone), (4, 6, h(3), h(6)));
    assert_eq!(merged.tombstone.purged_at, at(5_000));
    assert_eq!(merged.tombstone.account_id, account());
    assert_eq!(merged.tombstone.key_id, k.key_id);
    assert_eq!(merged.replaces, Vec::<u64>::new());
    assert_eq!(merged.tombstone.verify(&KeyRing::new([k.verifying_key()])), Ok(()));
}

#[test]
fn touching_neighbours_are_absorbed_on_either_side() {
    let k = key(1);
    let (before, after) = (stored(&k, 1, 3), stored(&k, 7, 9));

    let left = Tombstone::merge_run(&k, account(), Some(&before), &run(4, 6), None, at(5_000));
    assert_eq!(span(&left.tombstone), (1, 6, h(0), h(6)));
    assert_eq!(left.replaces, [1]);

    let right = Tombstone::merge_run(&k, account(), None, &run(4, 6), Some(&after), at(5_000));
    assert_eq!(span(&right.tombstone), (4, 9, h(3), h(9)));
    assert_eq!(right.replaces, [7]);

    let both = Tombstone::merge_run(&k, account(), Some(&before), &run(4, 6), Some(&after), at(5_000));
    assert_eq!(span(&both.tombstone), (1, 9, h(0), h(9)));
    assert_eq!(both.replaces, [1, 7]);
    assert_eq!(both.tombstone.purged_at, at(5_000), "the merged tombstone is dated by this purge");
    assert_eq!(both.tombstone.verify(&KeyRing::new([k.verifying_key()])), Ok(()));
}

#[test]
fn a_neighbour_that_does_not_touch_the_run_stays_apart() {
    let k = key(1);
    let (before, after) = (stored(&k, 1, 2), stored(&k, 8, 9));
    let merged = Tombstone::merge_run(&k, account(), Some(&before), &run(4, 6), Some(&after), at(5_000));
    assert_eq!(span(&merged.tombstone), (4, 6, h(3), h(6)));
    assert_eq!(merged.replaces, Vec::<u64>::new());
}

#[test]
fn a_neighbour_that_does_not_link_by_hash_stays_apart() {
    let k = key(1);
    let before = Tombstone::sign(&k, account(), (1, 3), (h(0), h(42)), at(1_000));
    let after = Tombstone::sign(&k, account(), (7, 9), (h(42), h(9)), at(1_000));
    let merged = Tombstone::merge_run(&k, account(), Some(&before), &run(4, 6), Some(&after), at(5_000));
    assert_eq!(span(&merged.tombstone), (4, 6, h(3), h(6)), "a broken link is left for verification to report");
    assert_eq!(merged.replaces, Vec::<u64>::new());
}

#[test]
fn a_neighbour_not_signed_by_this_key_is_never_re_signed() {
    let k = key(1);
    let foreign = stored(&key(2), 1, 3);
    let mut forged = stored(&k, 7, 9);
    forged.last_seq = 12;
    let merged = Tombstone::merge_run(&k, account(), Some(&foreign), &run(4, 6), Some(&forged), at(5_000));
    assert_eq!(span(&merged.tombstone), (4, 6, h(3), h(6)));
    assert_eq!(merged.replaces, Vec::<u64>::new());
}

#[test]
fn another_accounts_neighbour_stays_apart() {
    let k = key(1);
    let theirs = Tombstone::sign(&k, AccountId::from(uuid::Uuid::from_u128(0xbeef)), (1, 3), (h(0), h(3)), at(1_000));
    let merged = Tombstone::merge_run(&k, account(), Some(&theirs), &run(4, 6), None, at(5_000));
    assert_eq!(span(&merged.tombstone), (4, 6, h(3), h(6)));
    assert_eq!(merged.replaces, Vec::<u64>::new());
}

/// Maximal runs of consecutive seqs in `seqs`.
fn runs_of(seqs: &BTreeSet<u64>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &s in seqs {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == s => *last = s,
            _ => out.push((s, s)),
        }
    }
    out
}

/// Applies one batch to tombstones stored by `first_seq`, as a backend does.
fn apply_batch(k: &ChainKey, stored: &mut BTreeMap<u64, Tombstone>, batch: &BTreeSet<u64>) {
    for (first, last) in runs_of(batch) {
        let before = stored.values().find(|t| t.last_seq + 1 == first).cloned();
        let after = stored.get(&(last + 1)).cloned();
        let merged = Tombstone::merge_run(k, account(), before.as_ref(), &run(first, last), after.as_ref(), at(9));
        for first in &merged.replaces {
            stored.remove(first);
        }
        stored.insert(merged.tombstone.first_seq, merged.tombstone);
    }
}

proptest! {
    /// However a set of seqs is purged, in however many batches and in whatever order,
    /// the store ends with one signed tombstone per maximal run, linking its neighbours.
    #[test]
    fn batches_in_any_order_leave_one_tombstone_per_gap(
        purged in proptest::collection::btree_set(1u64..40, 0..40),
        batch_of in proptest::collection::vec(0usize..4, 40),
    ) {
        let k = key(1);
        let mut batches: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); 4];
        for (i, seq) in purged.iter().enumerate() {
            batches[batch_of[i]].insert(*seq);
        }
        let mut stored: BTreeMap<u64, Tombstone> = BTreeMap::new();
        for batch in &batches {
            apply_batch(&k, &mut stored, batch);
        }
        let got: Vec<(u64, u64)> = stored.values().map(|t| (t.first_seq, t.last_seq)).collect();
        prop_assert_eq!(got, runs_of(&purged));
        for t in stored.values() {
            prop_assert_eq!((t.first_prev_hash, t.last_hash), (h(t.first_seq - 1), h(t.last_seq)));
        }

        let ring = KeyRing::new([k.verifying_key()]);
        for t in stored.values() {
            prop_assert_eq!(t.verify(&ring), Ok(()));
        }
    }
}
