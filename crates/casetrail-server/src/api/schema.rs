//! Body types that exist for the OpenAPI document only, shared by the handlers.
//!
//! Two kinds of body are never built from these types at run time, on purpose:
//! - Requests: handlers read them from a `serde_json::Value` so that every bad member
//!   is named in a 422 (docs/API.md §2), which a serde derive could not do as well. The
//!   request types here say what is accepted; the handlers' parsing is the rule.
//! - Events: the store keeps each event's canonical JSON, and reads serve those bytes
//!   without parsing them again (`ChainedEvent::to_api_json`). [`Event`] describes them.
//!
//! The response types the handlers do serialize live beside their handlers.
//! `Option` members that the server always writes (as `null`) are marked
//! `required = true`: absent and `null` are different promises.

use std::collections::BTreeMap;

use casetrail_core::{AccountId, EventId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Every error answer, whatever the endpoint (docs/API.md §2 "Errors").
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// One of the codes of docs/API.md §2.
    #[schema(value_type = ErrorCode)]
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// Every bad field of a 422; empty otherwise.
    pub details: Vec<FieldErrorBody>,
}

/// The codes of docs/API.md §2, so that a client (and a schema checker) knows an
/// error's `code` is one of these and nothing else.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // only its schema is used
pub enum ErrorCode {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    RateLimited,
    Internal,
    Unavailable,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldErrorBody {
    /// The member's path: `activity`, `events[3].activity`, `record_urls.case`.
    pub field: String,
    pub message: String,
}

/// Who did it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventActor {
    pub id: String,
    pub name: String,
    #[schema(required = true)]
    pub email: Option<String>,
    #[serde(rename = "type")]
    pub kind: ActorKind,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    System,
    Automation,
    Api,
}

/// A record an event concerns.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelatedRecord {
    #[serde(rename = "type")]
    pub kind: RecordKind,
    pub id: String,
    /// `null` when the host sent none; screens and exports then show the id.
    #[schema(required = true)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Case,
    Client,
    User,
    Communication,
    Integration,
    Automation,
    Setting,
}

/// One changed field; the values may be of any JSON type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// Where the action came from: exactly the members the host sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// An event as the API returns it (docs/API.md §5). Every member is always present.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Event {
    #[schema(value_type = Uuid)]
    pub id: EventId,
    #[schema(value_type = Uuid)]
    pub account_id: AccountId,
    /// The event's place in its account's chain, from 1.
    pub seq: u64,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// When the server stored it.
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub actor: EventActor,
    /// An activity key of docs/API.md §8, e.g. `case.updated`.
    pub activity: String,
    /// The part of `activity` before the dot.
    pub category: String,
    pub activity_label: String,
    pub description: String,
    pub related: Vec<RelatedRecord>,
    pub changes: Vec<FieldChange>,
    pub metadata: BTreeMap<String, Value>,
    pub context: EventContext,
    #[schema(required = true)]
    pub idempotency_key: Option<String>,
    /// The previous event's `hash` (64 zeros before the first), lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub prev_hash: String,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub hash: String,
}

/// A page of `GET /api/v1/events`, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The actor of an event to record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEventActor {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// `user` when absent.
    #[serde(rename = "type")]
    pub kind: Option<ActorKind>,
}

/// A related record of an event to record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelatedRecord {
    #[serde(rename = "type")]
    pub kind: RecordKind,
    pub id: String,
    pub name: Option<String>,
}

/// One event as sent (docs/API.md §4). An unknown member is a 422.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Unique within the account while its event is retained; 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub idempotency_key: Option<String>,
    /// Defaults to the time of ingest; at most 5 minutes ahead, not before the
    /// retention window.
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
    pub actor: NewEventActor,
    /// An activity key of docs/API.md §8; `system_log.*` keys are reserved.
    pub activity: String,
    /// At most 2,000 characters; the activity's label (and first record) when absent.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(max_items = 50)]
    pub related: Option<Vec<NewRelatedRecord>>,
    /// At most 500; not together with `before` and `after`.
    #[schema(max_items = 500)]
    pub changes: Option<Vec<NewFieldChange>>,
    /// A snapshot from which, with `after`, the server works out `changes`.
    pub before: Option<BTreeMap<String, Value>>,
    pub after: Option<BTreeMap<String, Value>>,
    /// At most 16 KiB.
    pub metadata: Option<BTreeMap<String, Value>>,
    pub context: Option<EventContext>,
}

/// One changed field as sent; a value left out is `null`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFieldChange {
    pub field: String,
    #[serde(default)]
    pub before: Value,
    #[serde(default)]
    pub after: Value,
}

/// 1 to 1000 events, stored all or nothing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEventBatch {
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<NewEvent>,
}

/// The body of `POST /api/v1/events`: one event, or a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum IngestRequest {
    Batch(NewEventBatch),
    One(Box<NewEvent>),
}

/// The bytes of an XLSX workbook.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct XlsxWorkbook(pub Vec<u8>);

/// The bytes of an evidence zip (docs/API.md §15).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct EvidenceZip(pub Vec<u8>);

/// `GET /api/v1/settings/account` (and the answer of `PUT`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountSettings {
    pub name: String,
    /// An IANA time zone name; `UTC` unless set.
    pub timezone: String,
    /// Record type → URL template containing `{id}`.
    pub record_urls: BTreeMap<String, String>,
}

/// `PUT /api/v1/settings/account`: any of the members.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSettingsUpdate {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub timezone: Option<String>,
    /// Replaces the whole map; a type whose template is `null` gets no link.
    pub record_urls: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Admin,
    Member,
}

/// `POST /api/v1/users`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: RoleName,
    /// At least 12 characters.
    #[schema(min_length = 12)]
    pub password: String,
}

/// `PATCH /api/v1/users/{id}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: RoleName,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub enum ScopeName {
    #[serde(rename = "events:write")]
    EventsWrite,
    #[serde(rename = "admin")]
    Admin,
}

/// `POST /api/v1/api-keys`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    #[schema(min_items = 1)]
    pub scopes: Vec<ScopeName>,
}

/// `PUT /api/v1/settings/retention`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionUpdate {
    /// 90 to 3650 days, or `null` to keep events forever. Required unless
    /// `categories` is given (it is then left as it is).
    #[schema(minimum = 90, maximum = 3650)]
    pub retention_days: Option<u32>,
    /// Replaces the whole map of categories with a retention of their own: category
    /// key (docs/API.md §8) → 90 to 3650 days, or `null` to keep them forever. Left
    /// out, the map stays as it is.
    #[serde(default)]
    pub categories: Option<std::collections::BTreeMap<String, Option<u32>>>,
}

/// `PUT /api/v1/settings/legal-hold`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldUpdate {
    pub legal_hold: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldableKind {
    Case,
    Client,
}

/// `POST /api/v1/holds`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHold {
    #[serde(rename = "type")]
    pub kind: HoldableKind,
    pub id: String,
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}
