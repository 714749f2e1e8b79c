//! One record's history (docs/API.md §14), as the store answers it: the backends keep
//! a related-records index (`record_events`: every record each event relates to, and
//! whether the event leads it: the record is its first related one and it changed
//! something), so a record's events are one index range.

use casetrail_core::{ChainedEvent, RecordType, Timestamp};

/// What [`crate::EventStore::record_events`] answers. Orders are by `occurred_at`,
/// ties by `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordEvents {
    /// How many stored events relate to the record.
    pub events: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The name the newest event that names the record gives it.
    pub name: Option<String>,
    /// The events whose first related record it is and that changed something,
    /// oldest first: their changes are the record's own.
    pub led: Vec<ChainedEvent>,
    /// The newest [`RECENT_EVENTS`] events related to it, newest first: its timeline.
    pub recent: Vec<ChainedEvent>,
}

/// How many of a record's newest events the answer carries (and looks through for
/// its name, before settling for the picker's).
pub const RECENT_EVENTS: u32 = 50;

/// The name a stored body gives the record, if it relates to it with one.
pub fn name_in_body(body: &str, kind: RecordType, id: &str) -> Option<String> {
    let parsed: serde_json::Value = serde_json::from_str(body).ok()?;
    let related = parsed.get("related")?.as_array()?;
    let named = related.iter().find(|r| {
        r.get("type").and_then(|t| t.as_str()) == Some(kind.key())
            && r.get("id").and_then(|i| i.as_str()) == Some(id)
            && r.get("name").is_some_and(|n| n.is_string())
    })?;
    named.get("name")?.as_str().map(str::to_string)
}
