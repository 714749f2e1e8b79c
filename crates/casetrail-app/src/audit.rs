//! Events that casetrail writes about what happens in casetrail itself: sign-ins,
//! team and settings changes, exports, purges. They go into the same chain as a
//! host's events.

use casetrail_core::{Activity, Actor, Change, Context, NewEvent, Related, Timestamp};
use serde_json::{Map, Value};

/// A casetrail-written event, built field by field.
#[derive(Debug)]
pub struct AuditEvent(NewEvent);

impl AuditEvent {
    pub fn new(actor: Actor, activity: impl Into<Activity>, description: impl Into<String>) -> AuditEvent {
        let activity = activity.into();
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
