//! Events that casetrail writes about what happens in casetrail itself: sign-ins,
//! team and settings changes, exports. They go through the same writer and chain as
//! a host's events.

use casetrail_core::{Activity, Actor, Change, Context, NewEvent, Related, Timestamp};
use serde_json::{Map, Value};

/// A casetrail-written event, built field by field.
#[derive(Debug)]
pub struct AuditEvent(NewEvent);

impl AuditEvent {
    /// `activity` must be a catalog key; casetrail only names keys it knows.
    pub fn new(actor: Actor, activity: &str, description: impl Into<String>) -> AuditEvent {
        let activity = Activity::from_key(activity).unwrap_or_else(|| panic!("unknown activity key {activity:?}"));
        AuditEvent(NewEvent {
            idempotency_key: None,
            occurred_at: Timestamp::now(),
            actor,
            activity,
            description: description.into(),
            related: Vec::new(),
            changes: Vec::new(),
            metadata: Map::new(),
            context: Context::default(),
        })
    }

    pub fn related(mut self, related: Related) -> AuditEvent {
        self.0.related.push(related);
        self
    }

    pub fn changes(mut self, changes: Vec<Change>) -> AuditEvent {
        self.0.changes = changes;
        self
    }

    pub fn metadata(mut self, key: &str, value: impl Into<Value>) -> AuditEvent {
        self.0.metadata.insert(key.to_string(), value.into());
        self
    }

    pub fn context(mut self, context: Context) -> AuditEvent {
        self.0.context = context;
        self
    }

    pub fn build(self) -> NewEvent {
        self.0
    }
}
