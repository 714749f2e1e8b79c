//! What every backend does the same way with the Merkle tree of docs/API.md §15:
//! building it for events stored before the tree existed.
//!
//! The tree itself is `casetrail_core::merkle`; a backend stores each node that
//! [`Frontier::push`] answers, in the transaction of the append that made it.

use casetrail_core::chain::ChainHash;
use casetrail_core::merkle::{Frontier, NodeId};

/// Builds the leaves a tree is missing from the events as stored, in seq order.
///
/// A purged event's hash survives only where something still names it: the
/// `prev_hash` of the event after it, or the chain head. So a gap of one purged
/// event is bridged, but in a longer gap the hashes of all but the last are gone:
/// there the tree cannot be built, the builder stops, and the backend keeps the part
/// it built. Appends then find no frontier at the head and leave that account
/// without a tree (its checkpoints have no root).
#[derive(Debug)]
pub struct TreeBuilder {
    frontier: Frontier,
    lost: bool,
}

/// Nodes to store, in the order they were made.
pub type Nodes = Vec<(NodeId, ChainHash)>;

impl TreeBuilder {
    /// Continues the tree from `frontier` (leaf `frontier.size()` is the next).
    pub fn new(frontier: Frontier) -> TreeBuilder {
        TreeBuilder { frontier, lost: false }
    }

    /// The next stored event after the tree's leaves; what to store, or `None` once
    /// a leaf is lost (then every later call answers `None` too).
    pub fn event(&mut self, seq: u64, prev_hash: &ChainHash, hash: &ChainHash) -> Option<Nodes> {
        let next = self.frontier.size() + 1;
        if self.lost || seq < next {
            return if self.lost { None } else { Some(Vec::new()) };
        }
        let mut out = Vec::new();
        if seq == next + 1 {
            // One purged event before this one: its hash is this one's prev_hash.
            out.extend(self.frontier.push(prev_hash));
        } else if seq > next {
            self.lost = true;
            return None;
        }
        out.extend(self.frontier.push(hash));
        Some(out)
    }

    /// After the last stored event: the leaves up to the chain head `head_seq`
    /// (only the head itself can be bridged, from its recorded hash).
    pub fn finish(&mut self, head_seq: u64, head_hash: &ChainHash) -> Option<Nodes> {
        let next = self.frontier.size() + 1;
        if self.lost {
            return None;
        }
        if head_seq < next {
            return Some(Vec::new());
        }
        if head_seq == next {
            return Some(self.frontier.push(head_hash));
        }
        self.lost = true;
        None
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casetrail_core::merkle::leaf_hash;

    fn h(i: u8) -> ChainHash {
        ChainHash([i; 32])
    }

    #[test]
    fn one_purged_event_is_bridged_by_the_next_prev_hash() {
        let mut b = TreeBuilder::new(Frontier::default());
        assert_eq!(b.event(1, &h(0), &h(1)).unwrap(), vec![(NodeId::leaf(0), leaf_hash(&h(1)))]);
        // seq 2 purged; seq 3 names it.
        let nodes = b.event(3, &h(2), &h(3)).unwrap();
        assert_eq!(nodes[0], (NodeId::leaf(1), leaf_hash(&h(2))));
        assert_eq!(nodes.len(), 3, "leaf 1, its parent, leaf 2");
        assert_eq!(b.finish(4, &h(4)).unwrap().len(), 3, "the head bridged: leaf 3 and two parents");
        assert_eq!(b.size(), 4);
    }

    #[test]
    fn a_longer_gap_stops_the_build() {
        let mut b = TreeBuilder::new(Frontier::default());
        b.event(1, &h(0), &h(1)).unwrap();
        assert_eq!(b.event(4, &h(3), &h(4)), None);
        assert_eq!(b.event(5, &h(4), &h(5)), None);
        assert_eq!(b.finish(5, &h(5)), None);
        assert_eq!(b.size(), 1);
        let mut b = TreeBuilder::new(Frontier::default());
        b.event(1, &h(0), &h(1)).unwrap();
        assert_eq!(b.finish(3, &h(3)), None, "two purged at the end");
    }
}
