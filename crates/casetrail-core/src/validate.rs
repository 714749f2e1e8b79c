//! Parsing what a host sends to `POST /api/v1/events` into [`NewEvent`]s, reporting
//! every bad field at once (docs/API.md §4).

mod checker;
mod members;

use serde_json::{Map, Value};

use crate::activity::Activity;
use crate::event::{Actor, Change, Context, Event, Related};
use crate::time::Timestamp;
use checker::{Checker, json_type};
use members::{
    parse_activity, parse_actor, parse_changes, parse_context, parse_metadata, parse_occurred_at, parse_related,
};

pub const MAX_BATCH: usize = 1000;
pub const MAX_STRING_CHARS: usize = 10_000;
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;
pub const MAX_RELATED: usize = 50;
pub const MAX_CHANGES: usize = 500;
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// How far in the future `occurred_at` may lie, for clock skew between hosts.
pub const MAX_FUTURE_MILLIS: i64 = 5 * 60 * 1000;

/// One refused field: where (`events[3].activity`) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// An event a host asked to record, checked but not yet in a chain.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub idempotency_key: Option<String>,
    pub occurred_at: Timestamp,
    pub actor: Actor,
    pub activity: Activity,
    pub description: String,
    pub related: Vec<Related>,
    pub changes: Vec<Change>,
    pub metadata: Map<String, Value>,
    pub context: Context,
}

impl NewEvent {
    /// The stored event, once the writer has given it a place in the chain.
    pub fn into_event(
        self,
        id: crate::EventId,
        account_id: crate::AccountId,
        seq: u64,
        recorded_at: Timestamp,
    ) -> Event {
        Event {
            id,
            account_id,
            seq,
            occurred_at: self.occurred_at,
            recorded_at,
            actor: self.actor,
            activity: self.activity,
            description: self.description,
            related: self.related,
            changes: self.changes,
            metadata: self.metadata,
            context: self.context,
            idempotency_key: self.idempotency_key,
        }
    }

    /// The description the server writes when the host sent none.
    pub fn default_description(activity: Activity, related: &[Related]) -> String {
        match related.first() {
            Some(r) => format!("{}: {}", activity.label(), r.display_name()),
            None => activity.label().to_string(),
        }
    }
}

/// What the rules of ingest are checked against.
#[derive(Debug, Clone, Copy)]
pub struct IngestRules {
    pub now: Timestamp,
    /// Where the account's retention window starts, per category (docs/API.md §14);
    /// `None` keeps everything.
    pub window_start: Option<crate::retention::RetentionWindow>,
    /// Whether `system_log.*` may be written: only casetrail itself may.
    pub allow_reserved: bool,
}

/// Why a request body was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestError {
    /// More than [`MAX_BATCH`] events: a 413.
    TooManyEvents(usize),
    /// Well-formed JSON that breaks rules: a 422 naming every bad field.
    Invalid(Vec<FieldError>),
}

/// Parses a request body: one event object, or `{"events": [...]}`.
pub fn parse_ingest(body: &Value, rules: &IngestRules) -> Result<Vec<NewEvent>, IngestError> {
    let Some(object) = body.as_object() else {
        return Err(IngestError::Invalid(vec![FieldError::new(
            "body",
            "must be an event object or {\"events\": [...]}",
        )]));
    };
    let Some(events) = object.get("events") else {
        return parse_event(body, "", rules).map(|e| vec![e]).map_err(IngestError::Invalid);
    };
    if let Some(extra) = object.keys().find(|k| *k != "events") {
        return Err(IngestError::Invalid(vec![FieldError::new(extra.as_str(), "unknown member beside \"events\"")]));
    }
    let Some(events) = events.as_array() else {
        return Err(IngestError::Invalid(vec![FieldError::new("events", "must be an array")]));
    };
    if events.len() > MAX_BATCH {
        return Err(IngestError::TooManyEvents(events.len()));
    }
    if events.is_empty() {
        return Err(IngestError::Invalid(vec![FieldError::new("events", "must hold 1 to 1000 events")]));
    }
    let mut parsed = Vec::with_capacity(events.len());
    let mut errors = Vec::new();
    for (i, event) in events.iter().enumerate() {
        match parse_event(event, &format!("events[{i}]."), rules) {
            Ok(e) => parsed.push(e),
            Err(mut errs) => errors.append(&mut errs),
        }
    }
    if errors.is_empty() { Ok(parsed) } else { Err(IngestError::Invalid(errors)) }
}

const TOP_LEVEL: [&str; 11] = [
    "idempotency_key",
    "occurred_at",
    "actor",
    "activity",
    "description",
    "related",
    "changes",
    "before",
    "after",
    "metadata",
    "context",
];

/// How deep arrays and objects may nest inside one member of an event.
pub const MAX_NESTING: usize = 32;

/// The levels of arrays and objects in `value` (a scalar is 0), without recursion.
pub fn nesting_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, above)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(members) => Box::new(members.values()),
            _ => continue,
        };
        deepest = deepest.max(above + 1);
        stack.extend(children.map(|child| (child, above + 1)));
    }
    deepest
}

/// Parses one event object; `prefix` is `""` for a single event, `events[3].` in a batch.
pub fn parse_event(value: &Value, prefix: &str, rules: &IngestRules) -> Result<NewEvent, Vec<FieldError>> {
    let mut c = Checker::new(prefix);
    let Some(obj) = value.as_object() else {
        let field = prefix.trim_end_matches('.');
        let field = if field.is_empty() { "body" } else { field };
        return Err(vec![FieldError::new(field, format!("must be an object, not {}", json_type(value)))]);
    };
    for key in obj.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
        c.fail(key, "unknown member");
    }
    // The stored body nests each member a few levels deeper still, and every reader
    // parses it back: a value deep enough to pass here but not there would break the
    // log for good.
    for (key, _) in obj.iter().filter(|(_, v)| nesting_depth(v) > MAX_NESTING) {
        c.fail(key, format!("is nested more than {MAX_NESTING} levels deep"));
    }

    let idempotency_key = c.string(obj, "idempotency_key", "idempotency_key", MAX_IDEMPOTENCY_KEY_CHARS, false);
    if idempotency_key.as_deref().is_some_and(str::is_empty) {
        c.fail("idempotency_key", "must not be empty");
    }
    let occurred_at = parse_occurred_at(&mut c, obj.get("occurred_at"), obj.get("activity"), rules);
    let actor = parse_actor(&mut c, obj.get("actor"));
    let activity = parse_activity(&mut c, obj.get("activity"), rules);
    let description = c.string(obj, "description", "description", MAX_DESCRIPTION_CHARS, false);
    let related = parse_related(&mut c, obj.get("related"));
    let changes = parse_changes(&mut c, obj);
    let metadata = parse_metadata(&mut c, obj.get("metadata"));
    let context = parse_context(&mut c, obj.get("context"));

    // parse_actor and parse_activity push an error for every None they return, so a
    // missing actor or activity is already among the errors.
    let (true, Some(actor), Some(activity)) = (c.errors.is_empty(), actor, activity) else {
        debug_assert!(!c.errors.is_empty(), "an actor or activity is missing without an error");
        return Err(c.errors);
    };
    let description = description.unwrap_or_else(|| NewEvent::default_description(activity, &related));
    Ok(NewEvent {
        idempotency_key,
        occurred_at: occurred_at.unwrap_or(rules.now),
        actor,
        activity,
        description,
        related,
        changes,
        metadata,
        context,
    })
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
