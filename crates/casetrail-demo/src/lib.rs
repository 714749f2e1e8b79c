//! A deterministic generator of a small law firm's activity, for `casetrail serve
//! --demo`, tests and benchmarks.
//!
//! - [`firm`] makes a firm from a seed: twelve staff (three Admins), a few hundred
//!   clients — diverse names with accents (José Álvarez, Zoë Müller, Siobhán O'Brien)
//!   so that diacritic-insensitive search can be shown — and their cases (`Smith v.
//!   Jones`, `Estate of Álvarez`, `In re Marriage of Chen`, ...).
//! - [`EventGenerator`] streams any number of ingest event objects (docs/API.md §4), exactly
//!   as a case-management system would `POST` them: every host activity type of §8
//!   in a realistic [`activity_mix`], mostly in working hours on weekdays, times never
//!   going back, each with a unique idempotency key. It keeps a small model of the firm
//!   (case statuses move forward, contacts change from their previous values) whose
//!   size does not depend on the number of events.
//! - [`ingest_batches`] groups events into `{"events": [...]}` request bodies.
//!
//! Same seed, same arguments: byte-identical output.
//!
//! ```
//! use casetrail_demo::{firm, ingest_batches, EventGenerator, DEFAULT_SEED};
//! let firm = firm(DEFAULT_SEED);
//! assert_eq!(firm.name, "Hartley & Mendoza LLP");
//! let now = jiff::Timestamp::from_second(1_795_000_000).unwrap();
//! let events = EventGenerator::recent(&firm, DEFAULT_SEED, 2_500, now, 28);
//! let bodies: Vec<_> = ingest_batches(events, 1000).collect();
//! assert_eq!(bodies.len(), 3);
//! assert_eq!(bodies[2]["events"].as_array().unwrap().len(), 500);
//! ```
#![forbid(unsafe_code)]

mod admin;
mod cases;
mod clients;
mod comms;
mod events;
mod firm;
mod names;
mod people;
mod schedule;
mod vocab;
mod world;

use casetrail_core::validate::MAX_BATCH;
use serde_json::{Value, json};

pub use events::{EventGenerator, activity_mix};
pub use firm::{Address, CASES, CLIENTS, Case, Client, Firm, STAFF, Staff, firm};

/// The seed of the demo `casetrail serve --demo` shows: the firm Hartley & Mendoza LLP.
pub const DEFAULT_SEED: u64 = 2026;

/// Groups events into ingest request bodies `{"events": [...]}` of `batch_size`
/// events each (the last one may hold fewer); `batch_size` is kept within 1 to
/// [`MAX_BATCH`]. Lazy: one batch in memory at a time.
pub fn ingest_batches(events: impl IntoIterator<Item = Value>, batch_size: usize) -> impl Iterator<Item = Value> {
    let size = batch_size.clamp(1, MAX_BATCH);
    let mut events = events.into_iter();
    std::iter::from_fn(move || {
        let batch: Vec<Value> = events.by_ref().take(size).collect();
        (!batch.is_empty()).then(|| json!({"events": batch}))
    })
}
