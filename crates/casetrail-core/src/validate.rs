//! Parsing what a host sends to `POST /api/v1/events` into [`NewEvent`]s, reporting
//! every bad field at once (API.md §4).

use serde_json::{Map, Value};

use crate::activity::{Activity, RecordType};
use crate::diff::diff;
use crate::event::{Actor, ActorType, Change, Context, Event, Related};
use crate::time::Timestamp;

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
    pub fn into_event(self, id: uuid::Uuid, account_id: uuid::Uuid, seq: u64, recorded_at: Timestamp) -> Event {
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
    /// The oldest `occurred_at` the account's retention keeps; `None` keeps forever.
    pub window_start: Option<Timestamp>,
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

/// Collects the errors of one event, each named under `prefix`.
struct Checker<'a> {
    prefix: &'a str,
    errors: Vec<FieldError>,
}

impl Checker<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        let field = if self.prefix.is_empty() { field.to_string() } else { format!("{}{field}", self.prefix) };
        self.errors.push(FieldError::new(field, message));
    }

    /// A string member: `Ok(None)` when absent or null.
    fn string(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        field: &str,
        max: usize,
        required: bool,
    ) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(Value::String(s)) => {
                if required && s.trim().is_empty() {
                    self.fail(field, "must not be empty");
                    None
                } else if s.chars().count() > max {
                    self.fail(field, format!("must be at most {max} characters"));
                    None
                } else {
                    Some(s.clone())
                }
            }
            Some(other) => {
                self.fail(field, format!("must be a string, not {}", json_type(other)));
                None
            }
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses one event object; `prefix` is `""` for a single event, `events[3].` in a batch.
pub fn parse_event(value: &Value, prefix: &str, rules: &IngestRules) -> Result<NewEvent, Vec<FieldError>> {
    let mut c = Checker { prefix, errors: Vec::new() };
    let Some(obj) = value.as_object() else {
        let field = prefix.trim_end_matches('.');
        let field = if field.is_empty() { "body" } else { field };
        return Err(vec![FieldError::new(field, format!("must be an object, not {}", json_type(value)))]);
    };
    for key in obj.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
        c.fail(key, "unknown member");
    }

    let idempotency_key = c.string(obj, "idempotency_key", "idempotency_key", MAX_IDEMPOTENCY_KEY_CHARS, false);
    if idempotency_key.as_deref().is_some_and(str::is_empty) {
        c.fail("idempotency_key", "must not be empty");
    }
    let occurred_at = parse_occurred_at(&mut c, obj.get("occurred_at"), rules);
    let actor = parse_actor(&mut c, obj.get("actor"));
    let activity = parse_activity(&mut c, obj.get("activity"), rules);
    let description = c.string(obj, "description", "description", MAX_DESCRIPTION_CHARS, false);
    let related = parse_related(&mut c, obj.get("related"));
    let changes = parse_changes(&mut c, obj);
    let metadata = parse_metadata(&mut c, obj.get("metadata"));
    let context = parse_context(&mut c, obj.get("context"));

    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let (Some(actor), Some(activity)) = (actor, activity) else {
        return Err(vec![FieldError::new(format!("{prefix}actor"), "is required")]);
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

fn parse_occurred_at(c: &mut Checker<'_>, value: Option<&Value>, rules: &IngestRules) -> Option<Timestamp> {
    let s = match value {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) => s,
        Some(other) => {
            c.fail("occurred_at", format!("must be an RFC 3339 timestamp string, not {}", json_type(other)));
            return None;
        }
    };
    let ts = match Timestamp::parse(s) {
        Ok(ts) => ts,
        Err(err) => {
            c.fail("occurred_at", format!("{err}: {:?}", truncate(s, 64)));
            return None;
        }
    };
    if ts > rules.now.plus_millis(MAX_FUTURE_MILLIS) {
        c.fail("occurred_at", "may not be more than 5 minutes in the future");
    } else if let Some(start) = rules.window_start.filter(|start| ts < *start) {
        c.fail("occurred_at", format!("lies before the account's retention window, which starts at {start}"));
    }
    Some(ts)
}

fn parse_actor(c: &mut Checker<'_>, value: Option<&Value>) -> Option<Actor> {
    let obj = match value {
        None | Some(Value::Null) => {
            c.fail("actor", "is required");
            return None;
        }
        Some(Value::Object(obj)) => obj,
        Some(other) => {
            c.fail("actor", format!("must be an object, not {}", json_type(other)));
            return None;
        }
    };
    for key in obj.keys().filter(|k| !["id", "name", "email", "type"].contains(&k.as_str())) {
        c.fail(&format!("actor.{key}"), "unknown member");
    }
    let id = c.string(obj, "id", "actor.id", MAX_STRING_CHARS, true);
    let name = c.string(obj, "name", "actor.name", MAX_STRING_CHARS, true);
    let email = c.string(obj, "email", "actor.email", MAX_STRING_CHARS, false);
    let kind = match obj.get("type") {
        None | Some(Value::Null) => Some(ActorType::User),
        Some(Value::String(s)) => {
            let kind = ActorType::from_key(s);
            if kind.is_none() {
                c.fail(
                    "actor.type",
                    format!("must be one of user, system, automation, api; not {:?}", truncate(s, 64)),
                );
            }
            kind
        }
        Some(other) => {
            c.fail("actor.type", format!("must be a string, not {}", json_type(other)));
            None
        }
    };
    Some(Actor { id: id?, name: name?, email, kind: kind? })
}

fn parse_activity(c: &mut Checker<'_>, value: Option<&Value>, rules: &IngestRules) -> Option<Activity> {
    match value {
        None | Some(Value::Null) => {
            c.fail("activity", "is required");
            None
        }
        Some(Value::String(key)) => match Activity::from_key(key) {
            None => {
                c.fail("activity", format!("unknown activity type {:?}", truncate(key, 64)));
                None
            }
            Some(a) if a.is_reserved() && !rules.allow_reserved => {
                c.fail("activity", format!("{:?} is written by casetrail itself and may not be sent", a.key()));
                None
            }
            Some(a) => Some(a),
        },
        Some(other) => {
            c.fail("activity", format!("must be a string, not {}", json_type(other)));
            None
        }
    }
}

fn parse_related(c: &mut Checker<'_>, value: Option<&Value>) -> Vec<Related> {
    let items = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            c.fail("related", format!("must be an array, not {}", json_type(other)));
            return Vec::new();
        }
    };
    if items.len() > MAX_RELATED {
        c.fail("related", format!("must hold at most {MAX_RELATED} records"));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            c.fail(&format!("related[{i}]"), format!("must be an object, not {}", json_type(item)));
            continue;
        };
        for key in obj.keys().filter(|k| !["type", "id", "name"].contains(&k.as_str())) {
            c.fail(&format!("related[{i}].{key}"), "unknown member");
        }
        let kind = match obj.get("type") {
            Some(Value::String(s)) => {
                let kind = RecordType::from_key(s);
                if kind.is_none() {
                    c.fail(
                        &format!("related[{i}].type"),
                        format!("unknown record type {:?}; one of case, client, user, communication, integration, automation, setting", truncate(s, 64)),
                    );
                }
                kind
            }
            None | Some(Value::Null) => {
                c.fail(&format!("related[{i}].type"), "is required");
                None
            }
            Some(other) => {
                c.fail(&format!("related[{i}].type"), format!("must be a string, not {}", json_type(other)));
                None
            }
        };
        let id = c.string(obj, "id", &format!("related[{i}].id"), MAX_STRING_CHARS, true);
        let name = c.string(obj, "name", &format!("related[{i}].name"), MAX_STRING_CHARS, false);
        if let (Some(kind), Some(id)) = (kind, id) {
            out.push(Related { kind, id, name });
        }
    }
    out
}

fn parse_changes(c: &mut Checker<'_>, obj: &Map<String, Value>) -> Vec<Change> {
    let snapshots = (obj.get("before"), obj.get("after"));
    let changes = match (obj.get("changes"), snapshots) {
        (Some(_), (Some(_), _) | (_, Some(_))) => {
            c.fail("changes", "send either changes or before and after, not both");
            return Vec::new();
        }
        (None | Some(Value::Null), (None, None)) => return Vec::new(),
        (None, (before, after)) => return snapshot_changes(c, before, after),
        (Some(Value::Array(items)), _) => items,
        (Some(other), _) => {
            c.fail("changes", format!("must be an array, not {}", json_type(other)));
            return Vec::new();
        }
    };
    if changes.len() > MAX_CHANGES {
        c.fail("changes", format!("must hold at most {MAX_CHANGES} changes"));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(changes.len());
    for (i, item) in changes.iter().enumerate() {
        let Some(change) = item.as_object() else {
            c.fail(&format!("changes[{i}]"), format!("must be an object, not {}", json_type(item)));
            continue;
        };
        for key in change.keys().filter(|k| !["field", "before", "after"].contains(&k.as_str())) {
            c.fail(&format!("changes[{i}].{key}"), "unknown member");
        }
        if let Some(field) = c.string(change, "field", &format!("changes[{i}].field"), MAX_STRING_CHARS, true) {
            out.push(Change {
                field,
                before: change.get("before").cloned().unwrap_or(Value::Null),
                after: change.get("after").cloned().unwrap_or(Value::Null),
            });
        }
    }
    out
}

fn snapshot_changes(c: &mut Checker<'_>, before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
    let mut snapshot = |name: &str, v: Option<&Value>| match v {
        Some(Value::Object(o)) => Some(o.clone()),
        None | Some(Value::Null) => {
            c.fail(name, "is required with the other snapshot: send both before and after");
            None
        }
        Some(other) => {
            c.fail(name, format!("must be an object, not {}", json_type(other)));
            None
        }
    };
    let (Some(b), Some(a)) = (snapshot("before", before), snapshot("after", after)) else {
        return Vec::new();
    };
    let changes = diff(&b, &a);
    if changes.len() > MAX_CHANGES {
        c.fail("after", format!("before and after differ in more than {MAX_CHANGES} fields"));
        return Vec::new();
    }
    changes
}

fn parse_metadata(c: &mut Checker<'_>, value: Option<&Value>) -> Map<String, Value> {
    match value {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => {
            let size = serde_json::to_string(map).map(|s| s.len()).unwrap_or(usize::MAX);
            if size > MAX_METADATA_BYTES {
                c.fail("metadata", format!("must be at most 16 KiB of JSON, not {size} bytes"));
            }
            map.clone()
        }
        Some(other) => {
            c.fail("metadata", format!("must be an object, not {}", json_type(other)));
            Map::new()
        }
    }
}

fn parse_context(c: &mut Checker<'_>, value: Option<&Value>) -> Context {
    let obj = match value {
        None | Some(Value::Null) => return Context::default(),
        Some(Value::Object(obj)) => obj,
        Some(other) => {
            c.fail("context", format!("must be an object, not {}", json_type(other)));
            return Context::default();
        }
    };
    for key in obj.keys().filter(|k| !Context::MEMBERS.contains(&k.as_str())) {
        c.fail(&format!("context.{key}"), "unknown member; one of ip, user_agent, request_id, correlation_id");
    }
    let mut member = |key: &str| c.string(obj, key, &format!("context.{key}"), MAX_STRING_CHARS, false);
    Context {
        ip: member("ip"),
        user_agent: member("user_agent"),
        request_id: member("request_id"),
        correlation_id: member("correlation_id"),
    }
}

/// Cuts echoed user input short so an error message stays readable.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max).chain("…".chars()).collect() }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
