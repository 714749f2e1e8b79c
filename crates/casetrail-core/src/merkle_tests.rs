//! The tree against a reference written straight from RFC 9162 §2.1: the recursive
//! `MTH`, `PATH` and `PROOF`/`SUBPROOF` over a list of leaves, with none of the
//! stored-node machinery.

use std::collections::HashMap;

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;

fn sha(parts: &[&[u8]]) -> ChainHash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    ChainHash(h.finalize().into())
}

/// The largest power of two smaller than n, as the RFC words it.
fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 §2.1.1 MTH; `d` holds the leaf inputs (here: event hashes).
fn mth(d: &[ChainHash]) -> ChainHash {
    match d.len() {
        0 => sha(&[]),
        1 => sha(&[&[0], &d[0].0]),
        n => {
            let k = k_of(n);
            sha(&[&[1], &mth(&d[..k]).0, &mth(&d[k..]).0])
        }
    }
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]).
fn path(m: usize, d: &[ChainHash]) -> Vec<ChainHash> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
fn subproof(m: usize, d: &[ChainHash], b: bool) -> Vec<ChainHash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn leaves(n: usize, seed: u8) -> Vec<ChainHash> {
    (0..n).map(|i| sha(&[&[seed], &(i as u64).to_be_bytes()])).collect()
}

/// Every node a store would keep after appending `d`, and the frontier.
fn stored(d: &[ChainHash]) -> (HashMap<NodeId, ChainHash>, Frontier) {
    let mut f = Frontier::default();
    let mut nodes = HashMap::new();
    for h in d {
        nodes.extend(f.push(h));
    }
    (nodes, f)
}

fn flip(h: &ChainHash) -> ChainHash {
    let mut b = h.0;
    b[7] ^= 0x20;
    ChainHash(b)
}

#[test]
fn leaf_and_node_hashes_are_the_rfc_prefixes() {
    let e = ChainHash([7; 32]);
    assert_eq!(leaf_hash(&e), sha(&[&[0], &[7; 32]]));
    assert_eq!(node_hash(&e, &ChainHash([9; 32])), sha(&[&[1], &[7; 32], &[9; 32]]));
    assert_eq!(empty_root().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn every_small_tree_matches_the_reference() {
    for n in 0..=70usize {
        let d = leaves(n, 1);
        let (nodes, frontier) = stored(&d);
        let root = mth(&d);
        assert_eq!(frontier.root(), root, "frontier root, size {n}");
        assert_eq!(ProofPlan::root(n as u64).root_hash(&nodes), Some(root), "stored root, size {n}");
        assert_eq!(Frontier::resume(n as u64, &nodes), Some(frontier), "resume, size {n}");
        for m in 0..n {
            let plan = ProofPlan::inclusion(m as u64, n as u64).unwrap();
            let got = plan.hashes(&nodes).unwrap();
            assert_eq!(got, path(m, &d), "inclusion {m} of {n}");
            assert!(verify_inclusion(&leaf_hash(&d[m]), m as u64, n as u64, &got, &root));
        }
        for m in 1..=n {
            let plan = ProofPlan::consistency(m as u64, n as u64).unwrap();
            let got = plan.hashes(&nodes).unwrap();
            assert_eq!(got, subproof(m, &d, true), "consistency {m} to {n}");
            assert!(verify_consistency(m as u64, n as u64, &mth(&d[..m]), &root, &got), "verify {m} to {n}");
        }
    }
}

#[test]
fn a_tree_of_two_leaves_stores_three_nodes() {
    let d = leaves(2, 3);
    let (nodes, _) = stored(&d);
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[&NodeId { level: 1, index: 0 }], node_hash(&leaf_hash(&d[0]), &leaf_hash(&d[1])));
}

#[test]
fn a_proof_reads_logarithmically_many_nodes() {
    let plan = ProofPlan::inclusion(123_456_789, 1_000_000_007).unwrap();
    assert!(plan.nodes().len() <= 2 * 30 + 2, "{} nodes", plan.nodes().len());
    let plan = ProofPlan::consistency(999_999_937, 1_000_000_007).unwrap();
    assert!(plan.nodes().len() <= 3 * 30, "{} nodes", plan.nodes().len());
}

#[test]
fn bad_sizes_are_refused() {
    assert_eq!(ProofPlan::inclusion(5, 5), Err(ProofError::LeafOutOfRange { index: 5, size: 5 }));
    assert_eq!(ProofPlan::consistency(0, 5), Err(ProofError::BadSizes { from: 0, to: 5 }));
    assert_eq!(ProofPlan::consistency(6, 5), Err(ProofError::BadSizes { from: 6, to: 5 }));
    assert!(!verify_inclusion(&ChainHash::default(), 3, 3, &[], &ChainHash::default()));
    assert!(!verify_consistency(0, 3, &ChainHash::default(), &ChainHash::default(), &[]));
    let d = leaves(5, 2);
    assert!(verify_consistency(5, 5, &mth(&d), &mth(&d), &[]));
    assert!(!verify_consistency(5, 5, &mth(&d), &mth(&d), &[mth(&d)]));
    assert!(!verify_consistency(5, 5, &mth(&d[..4]), &mth(&d), &[]));
}

#[test]
fn a_missing_node_gives_no_proof() {
    let d = leaves(9, 4);
    let (mut nodes, _) = stored(&d);
    nodes.remove(&NodeId { level: 3, index: 0 });
    assert_eq!(ProofPlan::inclusion(8, 9).unwrap().hashes(&nodes), None);
    assert_eq!(Frontier::resume(9, &nodes), None);
}

/// Every way to spoil an inclusion proof that must be refused.
fn inclusion_tamperings(path: &[ChainHash]) -> Vec<Vec<ChainHash>> {
    let mut out = Vec::new();
    for i in 0..path.len() {
        let mut p = path.to_vec();
        p[i] = flip(&p[i]);
        out.push(p);
        let mut p = path.to_vec();
        p.remove(i);
        out.push(p);
    }
    let mut p = path.to_vec();
    p.push(ChainHash([5; 32]));
    out.push(p);
    if path.len() >= 2 {
        let mut p = path.to_vec();
        p.swap(0, 1);
        out.push(p);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_trees_match_the_reference_and_refuse_tampering(n in 1usize..1500, a in any::<u64>(), b in any::<u64>()) {
        let d = leaves(n, 9);
        let (nodes, frontier) = stored(&d);
        let root = mth(&d);
        prop_assert_eq!(frontier.root(), root);

        let m = (a % n as u64) as usize;
        let got = ProofPlan::inclusion(m as u64, n as u64).unwrap().hashes(&nodes).unwrap();
        prop_assert_eq!(&got, &path(m, &d));
        let leaf = leaf_hash(&d[m]);
        prop_assert!(verify_inclusion(&leaf, m as u64, n as u64, &got, &root));
        prop_assert!(!verify_inclusion(&flip(&leaf), m as u64, n as u64, &got, &root));
        prop_assert!(!verify_inclusion(&leaf, m as u64, n as u64, &got, &flip(&root)));
        if n > 1 {
            prop_assert!(!verify_inclusion(&leaf, ((m + 1) % n) as u64, n as u64, &got, &root));
        }
        for bad in inclusion_tamperings(&got) {
            prop_assert!(!verify_inclusion(&leaf, m as u64, n as u64, &bad, &root));
        }

        let from = 1 + (b % n as u64) as usize;
        let old = mth(&d[..from]);
        let got = ProofPlan::consistency(from as u64, n as u64).unwrap().hashes(&nodes).unwrap();
        prop_assert_eq!(&got, &subproof(from, &d, true));
        prop_assert!(verify_consistency(from as u64, n as u64, &old, &root, &got));
        prop_assert!(!verify_consistency(from as u64, n as u64, &flip(&old), &root, &got));
        prop_assert!(!verify_consistency(from as u64, n as u64, &old, &flip(&root), &got));
        for bad in inclusion_tamperings(&got) {
            prop_assert!(!verify_consistency(from as u64, n as u64, &old, &root, &bad));
        }
        // A history that differs in one leaf before `from` is not an extension.
        if from < n {
            let mut other = d.clone();
            other[from - 1] = flip(&other[from - 1]);
            prop_assert!(!verify_consistency(from as u64, n as u64, &mth(&other[..from]), &root, &got));
        }
    }
}
