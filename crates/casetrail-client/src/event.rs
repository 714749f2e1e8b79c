//! The events a host sends ([`Event`], the ingest shape of `POST /api/v1/events`) and
//! the events the feed answers ([`StoredEvent`]).
//!
//! The members reuse the domain types of `casetrail-core` — [`Actor`], [`Related`],
//! [`Change`], [`Context`], [`Activity`], [`Timestamp`] — the very types the server
//! parses an ingest into, so what this crate sends and what the server reads cannot
//! drift apart.

use casetrail_core::{Activity, Actor, ActorType, Change, Context, RecordType, Related, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An activity key the server would refuse, found before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivityError {
    /// The catalog (docs/API.md §8) has no such type.
    #[error("unknown activity type {0:?}")]
    Unknown(String),
    /// `system_log.*`: only casetrail itself writes these.
    #[error("{0:?} is written by casetrail itself and may not be sent")]
    Reserved(String),
}

/// Looks up an activity type a host may send, such as `case.updated`.
///
/// ```
/// assert_eq!(casetrail_client::activity("case.updated").unwrap().key(), "case.updated");
/// assert!(casetrail_client::activity("case.opened").is_err());
/// assert!(casetrail_client::activity("system_log.exported").is_err());
/// ```
pub fn activity(key: &str) -> Result<Activity, ActivityError> {
    match Activity::from_key(key) {
        None => Err(ActivityError::Unknown(key.to_string())),
        Some(a) if a.is_reserved() => Err(ActivityError::Reserved(key.to_string())),
        Some(a) => Ok(a),
    }
}

/// An actor of the given kind, without an email (set [`Actor::email`] for one).
pub fn actor(kind: ActorType, id: impl Into<String>, name: impl Into<String>) -> Actor {
    Actor { id: id.into(), name: name.into(), email: None, kind }
}

/// The before/after values of an event: none, a list of changes, or two snapshots
/// the server compares itself.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    None,
    Changes(Vec<Change>),
    Snapshots { before: Value, after: Value },
}

/// One event for `POST /api/v1/events` (docs/API.md §4), built step by step.
///
/// `occurred_at` is set to now when the event is made, not when it is sent: a
/// sender may hold it a while (batching, retries), and the log should say when the
/// thing happened. When no idempotency key is given, the [`Sender`](crate::Sender)
/// makes one as the event is queued, so that retrying never stores it twice.
///
/// ```
/// use casetrail_client::{Event, RecordType, actor, activity};
/// use casetrail_core::ActorType;
/// use serde_json::json;
///
/// let event = Event::new(activity("case.updated").unwrap(), actor(ActorType::User, "u_17", "Jane Doe"))
///     .description("Changed case status from Intake to Active")
///     .related(RecordType::Case, "c_204", "Smith v. Jones")
///     .change("status", json!("Intake"), json!("Active"))
///     .metadata("source", json!("web"));
/// let body = event.to_json();
/// assert_eq!(body["activity"], "case.updated");
/// assert_eq!(body["changes"][0]["after"], "Active");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    idempotency_key: Option<String>,
    occurred_at: Timestamp,
    actor: Actor,
    activity: Activity,
    description: Option<String>,
    related: Vec<Related>,
    values: Values,
    metadata: Map<String, Value>,
    context: Context,
}

impl Event {
    /// An event of `activity` by `actor`, occurring now.
    pub fn new(activity: Activity, actor: Actor) -> Event {
        Event {
            idempotency_key: None,
            occurred_at: Timestamp::now(),
            actor,
            activity,
            description: None,
            related: Vec::new(),
            values: Values::None,
            metadata: Map::new(),
            context: Context::default(),
        }
    }

    /// The key that makes sending this event again harmless (at most 200
    /// characters, unique per account, forever).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Event {
        self.idempotency_key = Some(key.into());
        self
    }

    /// When it happened (default: when the event was made).
    pub fn occurred_at(mut self, at: Timestamp) -> Event {
        self.occurred_at = at;
        self
    }

    /// What people read (default: the server writes the activity's label).
    pub fn description(mut self, text: impl Into<String>) -> Event {
        self.description = Some(text.into());
        self
    }

    /// A record the event is about, with the name people search for.
    pub fn related(mut self, kind: RecordType, id: impl Into<String>, name: impl Into<String>) -> Event {
        self.related.push(Related { kind, id: id.into(), name: Some(name.into()) });
        self
    }

    /// A record the event is about, as a whole (its name may be `None`).
    pub fn related_record(mut self, record: Related) -> Event {
        self.related.push(record);
        self
    }

    /// One changed field. Replaces snapshots given before with
    /// [`snapshots`](Self::snapshots): the API takes one form or the other.
    pub fn change(mut self, field: impl Into<String>, before: impl Into<Value>, after: impl Into<Value>) -> Event {
        let change = Change { field: field.into(), before: before.into(), after: after.into() };
        match &mut self.values {
            Values::Changes(list) => list.push(change),
            other => *other = Values::Changes(vec![change]),
        }
        self
    }

    /// The record before and after, as two JSON objects; the server works out the
    /// changed fields. Replaces changes given before with [`change`](Self::change).
    pub fn snapshots(mut self, before: Value, after: Value) -> Event {
        self.values = Values::Snapshots { before, after };
        self
    }

    /// One member of `metadata` (a JSON object of at most 16 KiB in all).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Event {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Where the action came from: client address, user agent, request ids.
    pub fn context(mut self, context: Context) -> Event {
        self.context = context;
        self
    }

    /// The idempotency key, if one was given (or, once queued, made).
    pub fn key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The activity type.
    pub fn activity(&self) -> Activity {
        self.activity
    }

    /// The event as the request body's JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.wire()).unwrap_or(Value::Null)
    }

    /// The event's compact JSON, as it goes into a batch.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Serializing borrowed strings, numbers and `Value`s into a Vec cannot fail.
        serde_json::to_vec(&self.wire()).unwrap_or_default()
    }

    /// Gives the event a key unless it has one, and answers it.
    pub(crate) fn ensure_key(&mut self) -> &str {
        self.idempotency_key.get_or_insert_with(|| format!("ctc-{}", uuid::Uuid::now_v7()))
    }

    fn wire(&self) -> Wire<'_> {
        let (changes, before, after) = match &self.values {
            Values::None => (&[][..], None, None),
            Values::Changes(list) => (list.as_slice(), None, None),
            Values::Snapshots { before, after } => (&[][..], Some(before), Some(after)),
        };
        Wire {
            idempotency_key: self.idempotency_key.as_deref(),
            occurred_at: self.occurred_at,
            actor: &self.actor,
            activity: self.activity,
            description: self.description.as_deref(),
            related: &self.related,
            changes,
            before,
            after,
            metadata: &self.metadata,
            context: &self.context,
        }
    }
}

/// The JSON members of an ingested event, absent ones left out.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
    occurred_at: Timestamp,
    actor: &'a Actor,
    activity: Activity,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Related]>::is_empty")]
    related: &'a [Related],
    #[serde(skip_serializing_if = "<[Change]>::is_empty")]
    changes: &'a [Change],
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    metadata: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "is_empty_context")]
    context: &'a Context,
}

fn is_empty_context(context: &&Context) -> bool {
    **context == Context::default()
}

/// An event as the API returns it (docs/API.md §5): the stored event with its place
/// in the chain.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredEvent {
    /// The event: id, seq, times, actor, activity, description, related records,
    /// changes, metadata, context and idempotency key.
    #[serde(flatten)]
    pub event: casetrail_core::Event,
    /// The activity's category key (`case`).
    pub category: String,
    /// The activity's label (`Case updated`).
    pub activity_label: String,
    /// The previous event's hash, lowercase hex.
    pub prev_hash: String,
    /// This event's hash, lowercase hex.
    pub hash: String,
}

impl StoredEvent {
    /// The event's position in its account's chain.
    pub fn seq(&self) -> u64 {
        self.event.seq
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn jane() -> Actor {
        Actor { email: Some("jane@smithlaw.com".into()), ..actor(ActorType::User, "u_17", "Jane Doe") }
    }

    #[test]
    fn the_body_holds_what_was_set_and_nothing_else() {
        let at = Timestamp::parse("2026-11-25T10:15:30.123Z").unwrap();
        let bare = Event::new(activity("case.created").unwrap(), jane()).occurred_at(at);
        assert_eq!(
            bare.to_json(),
            json!({"occurred_at": "2026-11-25T10:15:30.123Z", "activity": "case.created",
                   "actor": {"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.com", "type": "user"}})
        );
        let context = Context { ip: Some("203.0.113.5".into()), ..Context::default() };
        let full = bare
            .idempotency_key("crm-1")
            .description("Opened")
            .related(RecordType::Case, "c_1", "Smith v. Jones")
            .related_record(Related { kind: RecordType::Client, id: "cl_1".into(), name: None })
            .change("status", "Intake", "Active")
            .change("fee", 100, json!(null))
            .metadata("source", "web")
            .context(context);
        let body = full.to_json();
        assert_eq!(body["idempotency_key"], "crm-1");
        assert_eq!(
            body["related"],
            json!([{"type": "case", "id": "c_1", "name": "Smith v. Jones"},
                                            {"type": "client", "id": "cl_1", "name": null}])
        );
        assert_eq!(
            body["changes"],
            json!([{"field": "status", "before": "Intake", "after": "Active"},
                                            {"field": "fee", "before": 100, "after": null}])
        );
        assert_eq!(body["metadata"], json!({"source": "web"}));
        assert_eq!(body["context"], json!({"ip": "203.0.113.5"}));
        assert_eq!(serde_json::from_slice::<Value>(&full.to_bytes()).unwrap(), body);
    }

    #[test]
    fn changes_and_snapshots_replace_each_other() {
        let base = Event::new(activity("client.updated").unwrap(), jane());
        let snap = base.clone().change("a", 1, 2).snapshots(json!({"a": 1}), json!({"a": 2}));
        let body = snap.to_json();
        assert!(body.get("changes").is_none(), "{body}");
        assert_eq!((&body["before"], &body["after"]), (&json!({"a": 1}), &json!({"a": 2})));
        let back = snap.change("b", 1, 2).to_json();
        assert!(back.get("before").is_none() && back.get("after").is_none(), "{back}");
        assert_eq!(back["changes"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_key_is_made_once_and_a_given_one_kept() {
        let mut made = Event::new(activity("case.created").unwrap(), jane());
        let key = made.ensure_key().to_string();
        assert!(key.starts_with("ctc-") && key.len() == 40, "{key}");
        assert_eq!(made.ensure_key(), key, "made once");
        let mut given = made.clone().idempotency_key("crm-9");
        assert_eq!(given.ensure_key(), "crm-9");
        assert_ne!(Event::new(activity("case.created").unwrap(), jane()).ensure_key(), key);
    }

    #[test]
    fn reserved_and_unknown_activities_are_refused_here() {
        assert_eq!(activity("case.opened"), Err(ActivityError::Unknown("case.opened".into())));
        let reserved = Activity::all().find(|a| a.is_reserved()).unwrap().key();
        assert_eq!(activity(reserved), Err(ActivityError::Reserved(reserved.into())));
    }
}
