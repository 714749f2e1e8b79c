//! Ingest and reading: `POST/GET /api/v1/events`, `GET /api/v1/events/{id}`,
//! `GET /api/v1/activity-types`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_core::activity::CATEGORIES;
use casetrail_core::query::BrowseQuery;
use casetrail_core::validate::{IngestError, IngestRules, parse_ingest};
use casetrail_core::{ChainedEvent, EventId, Timestamp};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::schema::{ErrorResponse, Event, EventPage, IngestRequest};
use super::{JsonBody, QueryPairs, raw_json, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

// Members are declared in alphabetical order: that is the order `json!` wrote them in
// (serde_json sorts an object's keys), so the bytes on the wire did not change.

/// The answer to an ingest: one entry per event, in the order sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResponse {
    pub events: Vec<IngestedEvent>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestedEvent {
    /// `true` when an event with the same `idempotency_key` was stored before; `id`
    /// and `seq` are then that event's.
    pub duplicate: bool,
    #[schema(value_type = Uuid)]
    pub id: EventId,
    pub seq: u64,
}

/// The activity catalogue of docs/API.md §8, in its order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityCatalog {
    pub categories: Vec<ActivityCategory>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityCategory {
    pub key: &'static str,
    pub label: &'static str,
    pub types: Vec<ActivityTypeEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityTypeEntry {
    pub key: &'static str,
    pub label: &'static str,
}

/// Record one event or a batch of up to 1000, atomically.
#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body = IngestRequest,
    responses(
        (status = 201, description = "Stored; ids and seqs in input order", body = IngestResponse),
        (status = 200, description = "Every event was a duplicate of an idempotency key", body = IngestResponse),
        (status = 400, description = "Empty or malformed JSON", body = ErrorResponse),
        (status = 413, description = "Body over 1 MiB or more than 1000 events", body = ErrorResponse),
        (status = 422, description = "Invalid events; every bad field named", body = ErrorResponse),
    ))]
pub async fn ingest(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    principal.require_ingest()?;
    let account = state.account(principal.account_id).await?;
    let now = Timestamp::now();
    let rules = IngestRules { now, window_start: account.retention_start(now), allow_reserved: false };
    let events = parse_ingest(&body, &rules).map_err(|err| match err {
        IngestError::TooManyEvents(n) => ApiError::too_large(format!("a batch holds at most 1000 events, not {n}")),
        IngestError::Invalid(details) => ApiError::validation(details),
    })?;
    // Masked here, before the writer: nothing of a masked value is stored or hashed.
    let appended = state.app.ingest(&account, events).await?;
    let status = if appended.iter().all(|a| a.duplicate) { StatusCode::OK } else { StatusCode::CREATED };
    let events = appended.iter().map(|a| IngestedEvent { duplicate: a.duplicate, id: a.id, seq: a.seq }).collect();
    typed_json(status, &IngestResponse { events })
}

/// Browse, filter and search the log, newest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(
        ("from" = Option<String>, Query, description = "occurred_at lower bound (inclusive): RFC 3339 or YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "occurred_at upper bound: exclusive timestamp, or a whole day"),
        ("actor" = Option<Vec<String>>, Query, description = "actor id; repeat for any of several"),
        ("activity" = Option<Vec<String>>, Query, description = "activity key or category; repeatable"),
        ("case" = Option<String>, Query, description = "id of a related case"),
        ("client" = Option<String>, Query, description = "id of a related client"),
        ("q" = Option<String>, Query, description = "keywords; every word must match the start of a word"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of events, newest first", body = EventPage),
        (status = 400, description = "Bad filter, limit or cursor", body = ErrorResponse),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let query = browse_query(&state, &principal, &params, &[]).await?;
    let page = state.store.events(principal.account_id, &query).await?;
    let mut body = events_array(&page.events)?;
    body.push_str(",\"next_cursor\":");
    body.push_str(&match page.next_cursor {
        Some(c) => json!(c.encode()).to_string(),
        None => "null".to_string(),
    });
    body.push('}');
    Ok(raw_json(StatusCode::OK, body))
}

/// Parses browse parameters with dates read in the account's time zone.
pub async fn browse_query(
    state: &AppState,
    principal: &Principal,
    params: &[(String, String)],
    extra: &[&str],
) -> ApiResult<BrowseQuery> {
    let account = state.account(principal.account_id).await?;
    let tz = account.time_zone();
    BrowseQuery::from_params(params, tz, extra).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `{"events":[...]` with each event as the API shows it; the caller adds the other
/// members and the closing brace.
pub fn events_array(events: &[ChainedEvent]) -> ApiResult<String> {
    let mut body = String::with_capacity(events.len() * 1024 + 64);
    body.push_str("{\"events\":[");
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&api_json(event)?);
    }
    body.push(']');
    Ok(body)
}

pub fn api_json(event: &ChainedEvent) -> ApiResult<String> {
    event.to_api_json().map_err(|e| {
        ApiError::internal(anyhow::Error::new(e).context(format!("event seq {} is unreadable", event.seq)))
    })
}

/// One event, whole.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    params(("id" = String, Path, description = "event id")),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 404, description = "No such event in your account", body = ErrorResponse),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = id.parse::<EventId>().map_err(|_| ApiError::not_found("event"))?;
    let event = state.store.event(principal.account_id, id).await?.ok_or_else(|| ApiError::not_found("event"))?;
    Ok(raw_json(StatusCode::OK, api_json(&event)?))
}

/// The activity catalog, by category.
#[utoipa::path(get, path = "/api/v1/activity-types", tag = "events",
    responses((status = 200, description = "Categories in order, each with its types", body = ActivityCatalog)))]
pub async fn activity_types(_principal: Principal) -> ApiResult<Response> {
    let categories = CATEGORIES
        .iter()
        .map(|c| ActivityCategory {
            key: c.key,
            label: c.label,
            types: c.types.iter().map(|t| ActivityTypeEntry { key: t.key, label: t.label }).collect(),
        })
        .collect();
    typed_json(StatusCode::OK, &ActivityCatalog { categories })
}
