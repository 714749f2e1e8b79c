//! The filter pickers: `GET /api/v1/actors` and `GET /api/v1/records`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_core::RecordType;
use casetrail_core::query::add_search_words;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{ErrorResponse, RecordKind};
use super::{QueryPairs, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

const PICKER_LIMIT: u32 = 50;

// Members are declared in alphabetical order: that is the order `json!` wrote them in
// (serde_json sorts an object's keys), so the bytes on the wire did not change.

/// At most 50 actors, best match first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorChoices<'a> {
    pub actors: Vec<ActorChoice<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorChoice<'a> {
    #[schema(required = true)]
    pub email: Option<&'a str>,
    pub id: &'a str,
    pub name: &'a str,
}

/// At most 50 related records, best match first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordChoices<'a> {
    pub records: Vec<RecordChoice<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordChoice<'a> {
    pub id: &'a str,
    #[schema(required = true)]
    pub name: Option<&'a str>,
    #[serde(rename = "type")]
    #[schema(value_type = RecordKind)]
    pub kind: &'static str,
}

/// Reads `q` (and `type` when allowed); anything else is a 400.
fn picker_params(params: &[(String, String)], with_type: bool) -> ApiResult<(Vec<String>, Option<RecordType>)> {
    let mut words = Vec::new();
    let mut kind = None;
    for (key, value) in params {
        match key.as_str() {
            "q" => add_search_words(&mut words, value),
            "type" if with_type => {
                if value.is_empty() {
                    continue;
                }
                kind = Some(RecordType::from_key(value).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "type: unknown record type {:?}",
                        value.chars().take(64).collect::<String>()
                    ))
                })?);
            }
            other => {
                return Err(ApiError::bad_request(format!("{other}: unknown query parameter")));
            }
        }
    }
    words.dedup();
    Ok((words, kind))
}

/// Actors the account's log has seen, best match first.
#[utoipa::path(get, path = "/api/v1/actors", tag = "events",
    params(("q" = Option<String>, Query, description = "words matching the start of name, email or id words")),
    responses(
        (status = 200, description = "At most 50 actors", body = ActorChoices),
        (status = 400, description = "Unknown query parameter", body = ErrorResponse),
    ))]
pub async fn actors(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let (words, _) = picker_params(&params, false)?;
    let actors = state.store.actors(principal.account_id, &words, PICKER_LIMIT).await?;
    let actors = actors.iter().map(|a| ActorChoice { email: a.email.as_deref(), id: &a.id, name: &a.name }).collect();
    typed_json(StatusCode::OK, &ActorChoices { actors })
}

/// Related records the account's log has seen, best match first.
#[utoipa::path(get, path = "/api/v1/records", tag = "events",
    params(
        ("type" = Option<String>, Query, description = "case, client, user, communication, integration, automation or setting"),
        ("q" = Option<String>, Query, description = "words matching the start of name or id words"),
    ),
    responses(
        (status = 200, description = "At most 50 records", body = RecordChoices),
        (status = 400, description = "Unknown type or query parameter", body = ErrorResponse),
    ))]
pub async fn records(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let (words, kind) = picker_params(&params, true)?;
    let records = state.store.records(principal.account_id, kind, &words, PICKER_LIMIT).await?;
    let records =
        records.iter().map(|r| RecordChoice { id: &r.id, name: r.name.as_deref(), kind: r.kind.key() }).collect();
    typed_json(StatusCode::OK, &RecordChoices { records })
}
