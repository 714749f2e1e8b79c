//! A stored event, exactly as docs/API.md §5 shows it (minus the chain members, which
//! live beside it in [`crate::chain::ChainedEvent`]).

use crate::ids::{AccountId, EventId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::activity::{Activity, RecordType};
use crate::time::Timestamp;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    #[serde(rename = "type")]
    pub kind: ActorType,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    #[default]
    User,
    System,
    Automation,
    Api,
}

impl ActorType {
    pub fn from_key(key: &str) -> Option<ActorType> {
        match key {
            "user" => Some(ActorType::User),
            "system" => Some(ActorType::System),
            "automation" => Some(ActorType::Automation),
            "api" => Some(ActorType::Api),
            _ => None,
        }
    }
}

/// A record the event is about (a case, a client, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    #[serde(rename = "type")]
    pub kind: RecordType,
    pub id: String,
    pub name: Option<String>,
}

impl Related {
    /// What people read: the name, or the id when the host sent none.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// One changed field with its value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// Where the action came from. Only the members the host sent are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl Context {
    pub const MEMBERS: [&'static str; 4] = ["ip", "user_agent", "request_id", "correlation_id"];
}

/// One event of an account's log.
///
/// Its serialization is the `body(e)` that the hash chain covers (docs/API.md §7): every
/// member the API returns except `hash`, `prev_hash`, `category` and `activity_label`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub account_id: AccountId,
    pub seq: u64,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    pub actor: Actor,
    pub activity: Activity,
    pub description: String,
    pub related: Vec<Related>,
    pub changes: Vec<Change>,
    pub metadata: Map<String, Value>,
    pub context: Context,
    pub idempotency_key: Option<String>,
}

impl Event {
    /// The RFC 8785 canonical JSON of the event body: the bytes the chain hashes and
    /// the stores keep.
    pub fn canonical_body(&self) -> String {
        crate::canonical::to_canonical_string(self)
    }
}
