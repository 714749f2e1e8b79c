//! The streaming chain verifier.

use std::fmt;

use crate::ids::AccountId;
use serde::Serialize;

use super::{Checkpoint, Columns, KeyRing, Tombstone, column_mismatch, hash_matches};
use crate::chain::{ChainHash, ChainedEvent};

/// The kinds of problem docs/API.md §7 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An event's content (or an indexed copy of it) does not match its hash.
    HashMismatch,
    /// An event's `prev_hash` is not its predecessor's hash.
    BrokenLink,
    /// Events are absent where the chain needs them, and no tombstone accounts for it.
    Missing,
    /// A checkpoint or tombstone signature does not verify.
    BadSignature,
    /// The chain ends before the newest checkpoint says it reached.
    Truncated,
}

impl ProblemKind {
    pub fn key(self) -> &'static str {
        match self {
            ProblemKind::HashMismatch => "hash_mismatch",
            ProblemKind::BrokenLink => "broken_link",
            ProblemKind::Missing => "missing",
            ProblemKind::BadSignature => "bad_signature",
            ProblemKind::Truncated => "truncated",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub seq: u64,
    pub kind: ProblemKind,
    pub message: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub events_checked: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The hash of the last link walked (an event's, or a tombstone's last hash).
    pub head_hash: Option<ChainHash>,
    pub purged: u64,
    /// The highest seq the walk accounted for, by an event or a tombstone.
    pub reached: u64,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Walks one account's chain in seq order.
#[derive(Debug)]
pub struct Verifier<'k> {
    account_id: AccountId,
    keys: &'k KeyRing,
    /// Checkpoints with good signatures, oldest first, to compare against as the walk
    /// passes their seqs.
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    expected_seq: u64,
    prev: ChainHash,
    walked_any: bool,
    report: Report,
}

impl<'k> Verifier<'k> {
    /// A full verification from seq 1. Every checkpoint's signature is checked now.
    pub fn new(account_id: AccountId, keys: &'k KeyRing, checkpoints: &[Checkpoint]) -> Verifier<'k> {
        let mut v = Verifier {
            account_id,
            keys,
            checkpoints: Vec::new(),
            next_checkpoint: 0,
            expected_seq: 1,
            prev: ChainHash::GENESIS,
            walked_any: false,
            report: Report {
                events_checked: 0,
                first_seq: None,
                last_seq: None,
                head_hash: None,
                purged: 0,
                reached: 0,
                problems: Vec::new(),
            },
        };
        let mut good: Vec<Checkpoint> = Vec::new();
        for c in checkpoints {
            match c.verify(keys) {
                Ok(()) if c.account_id == account_id => good.push(c.clone()),
                Ok(()) => {
                    v.problem(c.seq, ProblemKind::BadSignature, "a checkpoint of another account is stored here".into())
                }
                Err(why) => v.problem(c.seq, ProblemKind::BadSignature, format!("checkpoint at seq {}: {why}", c.seq)),
            }
        }
        good.sort_by_key(|c| c.seq);
        v.checkpoints = good;
        v
    }

    /// An incremental verification that trusts everything up to `from` (a checkpoint
    /// whose signature the caller has checked) and walks on from there.
    pub fn resume(
        account_id: AccountId,
        keys: &'k KeyRing,
        from: &Checkpoint,
        checkpoints: &[Checkpoint],
    ) -> Verifier<'k> {
        let later: Vec<Checkpoint> = checkpoints.iter().filter(|c| c.seq > from.seq).cloned().collect();
        let mut v = Verifier::new(account_id, keys, &later);
        v.expected_seq = from.seq + 1;
        v.prev = from.hash;
        v.report.head_hash = Some(from.hash);
        v
    }

    fn problem(&mut self, seq: u64, kind: ProblemKind, message: String) {
        self.report.problems.push(Problem { seq, kind, message });
    }

    /// Checks the walk against any checkpoint at `seq`.
    fn passed(&mut self, seq: u64, hash: ChainHash) {
        while let Some(c) = self.checkpoints.get(self.next_checkpoint) {
            if c.seq > seq {
                break;
            }
            if c.seq == seq && c.hash != hash {
                let message = format!("differs from the hash signed in the checkpoint of {}", c.signed_at);
                self.problem(seq, ProblemKind::HashMismatch, message);
            }
            self.next_checkpoint += 1;
        }
    }

    /// Accounts for seqs skipped before `seq`; false when `seq` is behind the walk.
    fn arrive(&mut self, seq: u64) -> bool {
        if seq < self.expected_seq {
            let message = format!("seq {seq} appears again or out of order after seq {}", self.expected_seq - 1);
            self.problem(seq, ProblemKind::BrokenLink, message);
            return false;
        }
        if seq > self.expected_seq {
            let message = if seq - self.expected_seq == 1 {
                format!("event {} is absent", self.expected_seq)
            } else {
                format!("events {} to {} are absent", self.expected_seq, seq - 1)
            };
            self.problem(self.expected_seq, ProblemKind::Missing, message);
        }
        true
    }

    /// Events checked so far.
    pub fn events_checked(&self) -> u64 {
        self.report.events_checked
    }

    /// One stored event, with the store's indexed columns when it has them.
    pub fn event(&mut self, event: &ChainedEvent, columns: Option<&Columns>) {
        let contiguous = event.seq == self.expected_seq;
        if !self.arrive(event.seq) {
            return;
        }
        if contiguous && event.prev_hash != self.prev {
            self.problem(event.seq, ProblemKind::BrokenLink, "prev_hash is not the previous event's hash".into());
        }
        if !hash_matches(event) {
            self.problem(
                event.seq,
                ProblemKind::HashMismatch,
                "the stored hash does not match the event's content".into(),
            );
        } else if let Some(column) = column_mismatch(self.account_id, event, columns) {
            self.problem(
                event.seq,
                ProblemKind::HashMismatch,
                format!("the stored {column} differs from the hashed content"),
            );
        } else {
            // Derived rows are only worth comparing with a body the hash vouches for.
            for row in columns.map_or(&[][..], |c| &c.derived[..]) {
                let message = format!("the stored {row} differs from what the hashed content gives");
                self.problem(event.seq, ProblemKind::HashMismatch, message);
            }
        }
        self.report.events_checked += 1;
        self.report.first_seq.get_or_insert(event.seq);
        self.report.last_seq = Some(event.seq);
        self.walked(event.seq, event.hash);
    }

    /// One purge tombstone.
    pub fn tombstone(&mut self, t: &Tombstone) {
        if let Err(why) = t.verify(self.keys) {
            self.problem(
                t.first_seq,
                ProblemKind::BadSignature,
                format!("purge record {}–{}: {why}", t.first_seq, t.last_seq),
            );
        }
        if t.account_id != self.account_id || t.last_seq < t.first_seq {
            self.problem(t.first_seq, ProblemKind::BadSignature, "a purge record that does not belong here".into());
            return;
        }
        let contiguous = t.first_seq == self.expected_seq;
        if !self.arrive(t.first_seq) {
            return;
        }
        if contiguous && t.first_prev_hash != self.prev {
            self.problem(
                t.first_seq,
                ProblemKind::BrokenLink,
                "the purged range does not follow the previous event".into(),
            );
        }
        self.report.purged += t.last_seq - t.first_seq + 1;
        self.walked(t.last_seq, t.last_hash);
    }

    fn walked(&mut self, seq: u64, hash: ChainHash) {
        self.walked_any = true;
        self.passed(seq, hash);
        self.expected_seq = seq + 1;
        self.prev = hash;
        self.report.head_hash = Some(hash);
    }

    /// Ends the walk: a chain shorter than the newest good checkpoint is truncated.
    pub fn finish(mut self) -> Report {
        let reached = self.expected_seq - 1;
        if let Some(newest) = self.checkpoints.last()
            && newest.seq > reached
        {
            let message = format!("the chain ends at seq {reached} but a signed checkpoint covers seq {}", newest.seq);
            self.problem(reached + 1, ProblemKind::Truncated, message);
        }
        self.report.reached = reached;
        self.report.problems.sort_by_key(|p| p.seq);
        self.report
    }
}

#[cfg(test)]
#[path = "verifier_tests.rs"]
mod tests;
