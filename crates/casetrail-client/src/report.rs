//! What the caller learns of each event: a [`Receipt`] per event, and a
//! [`CloseReport`] over all of them when the sender closes.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::deliver::Outcome;
use crate::error::Error;
use crate::event::Event;

/// How many failed events a [`CloseReport`] keeps whole; the rest are only counted,
/// so that a sender failing for hours does not hold every event it ever took.
pub const KEPT_FAILURES: usize = 10_000;

/// The claim ticket of one queued event: its idempotency key now, its [`Outcome`]
/// once its batch was answered.
///
/// Dropping a receipt is fine: the event is sent all the same, and a failure still
/// shows in the [`CloseReport`].
#[derive(Debug)]
pub struct Receipt {
    key: String,
    outcome: oneshot::Receiver<Outcome>,
}

impl Receipt {
    pub(crate) fn new(key: String, outcome: oneshot::Receiver<Outcome>) -> Receipt {
        Receipt { key, outcome }
    }

    /// The event's idempotency key (the caller's, or the one the sender made).
    pub fn idempotency_key(&self) -> &str {
        &self.key
    }

    /// Waits for the event's outcome.
    pub async fn outcome(self) -> Outcome {
        self.outcome.await.unwrap_or_else(|_| Outcome::Failed(Arc::new(Error::Closed)))
    }
}

/// An event that was not stored, with why.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The event, with its idempotency key: sending it again is safe.
    pub event: Event,
    /// [`Outcome::Rejected`] or [`Outcome::Failed`].
    pub outcome: Outcome,
}

/// What became of every event a sender took, from [`Sender::close`](crate::Sender::close).
#[derive(Debug, Clone, Default)]
pub struct CloseReport {
    /// Events stored.
    pub accepted: u64,
    /// Events whose idempotency key was stored before (nothing new stored).
    pub duplicates: u64,
    /// Events the server refused (422 or 413).
    pub rejected: u64,
    /// Events that could not be delivered.
    pub failed: u64,
    /// The rejected and failed events, in the order their answers came, at most
    /// [`KEPT_FAILURES`] of them.
    pub failures: Vec<Failure>,
    /// Rejected and failed events past [`KEPT_FAILURES`], counted only.
    pub failures_omitted: u64,
}

impl CloseReport {
    /// Whether every event taken is stored.
    pub fn all_stored(&self) -> bool {
        self.rejected == 0 && self.failed == 0
    }

    pub(crate) fn count(&mut self, event: &Event, outcome: &Outcome) {
        match outcome {
            Outcome::Accepted { .. } => self.accepted += 1,
            Outcome::Duplicate { .. } => self.duplicates += 1,
            Outcome::Rejected(_) | Outcome::Failed(_) => {
                if matches!(outcome, Outcome::Rejected(_)) {
                    self.rejected += 1;
                } else {
                    self.failed += 1;
                }
                if self.failures.len() < KEPT_FAILURES {
                    self.failures.push(Failure { event: event.clone(), outcome: outcome.clone() });
                } else {
                    self.failures_omitted += 1;
                }
            }
        }
    }
}
