//! `GET /api/v1/records/{type}/{id}`: one record's history (docs/API.md §14).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_app::history::{FieldChange, FieldHistory, RecordHistory, record_history};
use casetrail_core::{EventId, RecordType, Timestamp};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::schema::ErrorResponse;
use super::typed_json;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// A record: how many events concern it, when it was first and last seen, its newest
/// name, and each field's changes, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordHistoryBody<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: &'a str,
    /// The newest name the log gave it; `null` when it was never named.
    #[schema(required = true)]
    pub name: Option<&'a str>,
    /// Every stored event related to it.
    pub events: u64,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: Timestamp,
    /// Sorted by field path: the changes of the events whose first related record it is.
    pub fields: Vec<FieldBody<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldBody<'a> {
    pub field: &'a str,
    /// Oldest first, by `occurred_at`, ties by `seq`.
    pub changes: Vec<FieldChangeBody<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChangeBody<'a> {
    #[schema(value_type = Uuid)]
    pub event_id: EventId,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    pub actor: ActorRef<'a>,
    #[schema(value_type = Object)]
    pub before: &'a Value,
    #[schema(value_type = Object)]
    pub after: &'a Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

fn change_body(c: &FieldChange) -> FieldChangeBody<'_> {
    FieldChangeBody {
        event_id: c.event_id,
        occurred_at: c.occurred_at,
        actor: ActorRef { id: &c.actor_id, name: &c.actor_name },
        before: &c.before,
        after: &c.after,
    }
}

fn field_body(f: &FieldHistory) -> FieldBody<'_> {
    FieldBody { field: &f.field, changes: f.changes.iter().map(change_body).collect() }
}

pub fn history_body(h: &RecordHistory) -> RecordHistoryBody<'_> {
    RecordHistoryBody {
        kind: h.kind.key(),
        id: &h.id,
        name: h.name.as_deref(),
        events: h.events,
        first_seen: h.first_seen,
        last_seen: h.last_seen,
        fields: h.fields.iter().map(field_body).collect(),
    }
}

/// The record type of a path, or the 400 of docs/API.md §14.
pub fn record_type(key: &str) -> ApiResult<RecordType> {
    RecordType::from_key(key).ok_or_else(|| {
        ApiError::bad_request(format!("type: unknown record type {:?}", key.chars().take(64).collect::<String>()))
    })
}

#[utoipa::path(get, path = "/api/v1/records/{type}/{id}", tag = "events",
    params(
        ("type" = String, Path, description = "a record type: case, client, user, communication, integration, automation, setting"),
        ("id" = String, Path, description = "the record's id as the host sent it"),
    ),
    responses(
        (status = 200, description = "The record's history", body = RecordHistoryBody),
        (status = 400, description = "Unknown record type", body = ErrorResponse),
        (status = 404, description = "The account's log has never seen that record", body = ErrorResponse),
    ))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let kind = record_type(&kind)?;
    let history = record_history(&state, principal.account_id, kind, &id).await?;
    typed_json(StatusCode::OK, &history_body(&history))
}
