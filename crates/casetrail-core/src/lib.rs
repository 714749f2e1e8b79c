//! The domain of casetrail, the System Log of a law firm's account — no I/O.
//!
//! - [`activity`]: the catalog of activity types and record types (docs/API.md §8);
//!   [`OwnActivity`] names the types casetrail writes about itself.
//! - [`validate`]: what a host sends, parsed into [`NewEvent`]s with every bad field
//!   named ([`FieldError`]).
//! - [`event`]: the stored [`Event`]; its canonical JSON ([`canonical`]) is what the
//!   per-account hash chain ([`chain`]) covers.
//! - [`diff`]: `before`/`after` snapshots into a list of changes.
//! - [`mask`]: the masking patterns of an account and the fingerprints that replace
//!   masked values at ingest.
//! - [`query`]: browse filters, keyset cursors and the keyword tokenizer.
//! - [`integrity`]: signed checkpoints and purge tombstones, and the streaming verifier
//!   of a stored chain (docs/API.md §7).
//! - [`retention`]: where each category's retention window starts, for ingest and
//!   purges.
//! - [`time`]: millisecond UTC timestamps.
//! - [`ids`]: typed ids ([`AccountId`], [`UserId`], [`KeyId`], [`EventId`]) that
//!   serialize as bare uuids.
//!
//! ```
//! use casetrail_core::{AccountId, EventId, chain::{ChainHash, ChainedEvent}, validate::{parse_ingest, IngestRules}, time::Timestamp};
//! let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
//! let body = serde_json::json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.created"});
//! let new = parse_ingest(&body, &rules).unwrap().remove(0);
//! let event = new.into_event(EventId::new_v7(), AccountId::new_v7(), 1, Timestamp::now());
//! let sealed = ChainedEvent::seal(&event, ChainHash::GENESIS);
//! assert!(sealed.hash_is_consistent());
//! ```
#![forbid(unsafe_code)]

pub mod activity;
pub mod bounded;
pub mod canonical;
pub mod chain;
pub mod diff;
pub mod event;
pub mod ids;
pub mod integrity;
pub mod mask;
pub mod merkle;
pub mod query;
pub mod retention;
pub mod time;
pub mod validate;
pub mod zone;

pub use activity::{Activity, OwnActivity, RecordType};
pub use chain::{ChainHash, ChainedEvent};
pub use event::{Actor, ActorType, Change, Context, Event, Related};
pub use ids::{AccountId, EventId, KeyId, UserId};
pub use time::Timestamp;
pub use validate::{FieldError, NewEvent};
pub use zone::Zone;
