//! One record's history (docs/API.md §14): how many events concern it, when it was
//! first and last seen, its newest name, and each of its fields over time — the
//! changes of the events whose first related record it is, field by field, oldest
//! first.

use std::collections::BTreeMap;

use casetrail_core::{ChainedEvent, Event, EventId, RecordType, Timestamp};
use casetrail_store::AccountId;
use serde_json::Value;

use crate::{App, AppError, AppResult};

/// What the API and the history page show of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordHistory {
    pub kind: RecordType,
    pub id: String,
    pub name: Option<String>,
    pub events: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Sorted by field path.
    pub fields: Vec<FieldHistory>,
    /// The newest related events, newest first (at most
    /// [`casetrail_store::RECENT_EVENTS`]).
    pub recent: Vec<Event>,
}

/// One field's values over time.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldHistory {
    pub field: String,
    /// Oldest first (by `occurred_at`, ties by `seq`).
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub event_id: EventId,
    pub occurred_at: Timestamp,
    pub actor_id: String,
    pub actor_name: String,
    pub before: Value,
    pub after: Value,
}

/// A stored body that no longer parses is an integrity problem for `verify`, not a
/// reason to refuse the page.
fn parsed(chained: &[ChainedEvent]) -> Vec<Event> {
    chained.iter().filter_map(|e| e.event().ok()).collect()
}

/// The history of one record; `NotFound("record")` when the account's log has never
/// related an event to it (or every such event was purged).
pub async fn record_history(app: &App, account: AccountId, kind: RecordType, id: &str) -> AppResult<RecordHistory> {
    let found = app.store.record_events(account, kind, id).await?.ok_or(AppError::NotFound("record"))?;
    let mut fields: BTreeMap<String, Vec<FieldChange>> = BTreeMap::new();
    // `led` is oldest first already, so each field's list is too.
    for event in parsed(&found.led) {
        for change in &event.changes {
            fields.entry(change.field.clone()).or_default().push(FieldChange {
                event_id: event.id,
                occurred_at: event.occurred_at,
                actor_id: event.actor.id.clone(),
                actor_name: event.actor.name.clone(),
                before: change.before.clone(),
                after: change.after.clone(),
            });
        }
    }
    Ok(RecordHistory {
        kind,
        id: id.to_string(),
        name: found.name,
        events: found.events,
        first_seen: found.first_seen,
        last_seen: found.last_seen,
        fields: fields.into_iter().map(|(field, changes)| FieldHistory { field, changes }).collect(),
        recent: parsed(&found.recent),
    })
}
