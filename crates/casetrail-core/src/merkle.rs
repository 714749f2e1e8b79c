//! The Merkle tree of docs/API.md §15 (RFC 9162 §2.1, SHA-256) over an account's
//! event hashes in seq order: leaf `i` is the hash of the event with seq `i + 1`.
//!
//! Nothing here does I/O. A store keeps every *full* subtree's hash as a
//! [`NodeId`] (a level and an index, as C2SP tlog-tiles numbers them): the leaves at
//! level 0, and above them each node as soon as both its children exist. That is
//! about two rows per leaf, written once and never changed, so a purge never touches
//! the tree. Every hash a proof needs is the hash of a range of leaves that splits
//! into at most ~64 full subtrees ([`range_nodes`]), so a proof costs O(log n) reads:
//! [`ProofPlan`] names the nodes to read, the store reads them, and the plan turns
//! them into the proof. [`Frontier`] is what an append needs: the full subtrees of
//! the tree's right edge, from which each new leaf's completed parents follow.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use crate::chain::ChainHash;

/// The leaf hash of an event hash: `SHA-256(0x00 || event hash bytes)`.
pub fn leaf_hash(event_hash: &ChainHash) -> ChainHash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(event_hash.0);
    ChainHash(h.finalize().into())
}

/// An interior node's hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &ChainHash, right: &ChainHash) -> ChainHash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    ChainHash(h.finalize().into())
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> ChainHash {
    ChainHash(Sha256::digest([]).into())
}

/// A full subtree: the leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn leaf(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }
}

/// The largest power of two strictly below `n` (`n >= 2`): RFC 9162's split point `k`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The full subtrees that make up the leaves `[start, end)`, left to right. For the
/// ranges RFC 9162's recursion produces (`start` a multiple of a power of two at
/// least `end - start`) they are in decreasing size, and the range's hash is their
/// hashes folded from the right ([`fold`]).
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let rest = end - pos;
        let fits = 63 - rest.leading_zeros();
        let aligned = if pos == 0 { 63 } else { pos.trailing_zeros() };
        let level = fits.min(aligned);
        out.push(NodeId { level: level as u8, index: pos >> level });
        pos += 1 << level;
    }
    out
}

/// The hash of a range from the hashes of its [`range_nodes`]: `node(a, node(b, c))`.
fn fold(hashes: &[ChainHash]) -> Option<ChainHash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// Why a proof cannot be made or checked for the sizes asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below the tree size {size}")]
    LeafOutOfRange { index: u64, size: u64 },
    #[error("consistency needs 0 < from <= to, got from {from} and to {to}")]
    BadSizes { from: u64, to: u64 },
}

/// The ranges of leaves whose hashes make up a proof (or a root), in the proof's
/// order; [`ProofPlan::nodes`] is what to read, [`ProofPlan::hashes`] the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    ranges: Vec<(u64, u64)>,
}

impl ProofPlan {
    /// The root of the tree of `size` leaves (one range; none for the empty tree).
    pub fn root(size: u64) -> ProofPlan {
        ProofPlan { ranges: if size == 0 { Vec::new() } else { vec![(0, size)] } }
    }

    /// RFC 9162 §2.1.3.1 `PATH(index, D[0:size])`, the sibling nearest the leaf first.
    pub fn inclusion(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
        if index >= size {
            return Err(ProofError::LeafOutOfRange { index, size });
        }
        let (mut lo, mut hi) = (0, size);
        let mut ranges = Vec::new();
        while hi - lo > 1 {
            let k = split(hi - lo);
            if index < lo + k {
                ranges.push((lo + k, hi));
                hi = lo + k;
            } else {
                ranges.push((lo, lo + k));
                lo += k;
            }
        }
        ranges.reverse();
        Ok(ProofPlan { ranges })
    }

    /// RFC 9162 §2.1.4.1 `PROOF(from, D[0:to])`; empty when `from == to`.
    pub fn consistency(from: u64, to: u64) -> Result<ProofPlan, ProofError> {
        if from == 0 || from > to {
            return Err(ProofError::BadSizes { from, to });
        }
        let (mut lo, mut hi) = (0, to);
        // RFC 9162's `b`: whether the subtree at hand is still the left edge of the
        // whole tree, whose hash the verifier already knows as the old root.
        let mut on_left_edge = true;
        let mut ranges = Vec::new();
        while from != hi {
            let k = split(hi - lo);
            if from <= lo + k {
                ranges.push((lo + k, hi));
                hi = lo + k;
            } else {
                ranges.push((lo, lo + k));
                lo += k;
                on_left_edge = false;
            }
        }
        if !on_left_edge {
            ranges.push((lo, hi));
        }
        ranges.reverse();
        Ok(ProofPlan { ranges })
    }

    /// Every stored node the plan needs, each once.
    pub fn nodes(&self) -> Vec<NodeId> {
        let set: BTreeSet<NodeId> = self.ranges.iter().flat_map(|&(a, b)| range_nodes(a, b)).collect();
        set.into_iter().collect()
    }

    /// The proof's hashes from the nodes read; `None` if one is missing.
    pub fn hashes(&self, nodes: &HashMap<NodeId, ChainHash>) -> Option<Vec<ChainHash>> {
        self.ranges
            .iter()
            .map(|&(a, b)| {
                let parts: Option<Vec<ChainHash>> = range_nodes(a, b).iter().map(|n| nodes.get(n).copied()).collect();
                fold(&parts?)
            })
            .collect()
    }

    /// The root a [`ProofPlan::root`] plan names (the empty root for size 0).
    pub fn root_hash(&self, nodes: &HashMap<NodeId, ChainHash>) -> Option<ChainHash> {
        match self.hashes(nodes)?.first() {
            Some(root) => Some(*root),
            None => Some(empty_root()),
        }
    }
}

/// RFC 9162 §2.1.3.2: whether `path` proves that the leaf with hash `leaf` sits at
/// `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &ChainHash, index: u64, size: u64, path: &[ChainHash], root: &ChainHash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: whether `path` proves that the tree of `to` leaves with root
/// `to_root` extends the tree of `from` leaves with root `from_root`.
pub fn verify_consistency(from: u64, to: u64, from_root: &ChainHash, to_root: &ChainHash, path: &[ChainHash]) -> bool {
    if from == 0 || from > to {
        return false;
    }
    if from == to {
        return path.is_empty() && from_root == to_root;
    }
    let mut path: Vec<ChainHash> = path.to_vec();
    if path.is_empty() {
        return false;
    }
    if from.is_power_of_two() {
        path.insert(0, *from_root);
    }
    let (mut f, mut s) = (from - 1, to - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *from_root && sr == *to_root && s == 0
}

/// The right edge of a tree: the full subtrees of [`range_nodes`]`(0, size)` with
/// their hashes. It is all an append needs to know of the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeId, ChainHash)>,
}

impl Frontier {
    /// The nodes to read to resume a tree of `size` leaves.
    pub fn needed(size: u64) -> Vec<NodeId> {
        range_nodes(0, size)
    }

    /// The frontier of a tree of `size` leaves from the nodes read (`None` if one is
    /// missing: that tree was never built).
    pub fn resume(size: u64, nodes: &HashMap<NodeId, ChainHash>) -> Option<Frontier> {
        let nodes =
            Frontier::needed(size).into_iter().map(|n| nodes.get(&n).map(|h| (n, *h))).collect::<Option<_>>()?;
        Some(Frontier { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the leaf of `event_hash`; answers the nodes to store: the leaf, then each
    /// parent it completed, lowest first.
    pub fn push(&mut self, event_hash: &ChainHash) -> Vec<(NodeId, ChainHash)> {
        let mut id = NodeId::leaf(self.size);
        let mut hash = leaf_hash(event_hash);
        let mut out = vec![(id, hash)];
        while let Some(&(top, left)) = self.nodes.last()
            && top.level == id.level
        {
            self.nodes.pop();
            hash = node_hash(&left, &hash);
            id = NodeId { level: id.level + 1, index: id.index >> 1 };
            out.push((id, hash));
        }
        self.nodes.push((id, hash));
        self.size += 1;
        out
    }

    pub fn root(&self) -> ChainHash {
        let hashes: Vec<ChainHash> = self.nodes.iter().map(|(_, h)| *h).collect();
        fold(&hashes).unwrap_or_else(empty_root)
    }
}

#[cfg(test)]
#[path = "merkle_tests.rs"]
mod tests;
