//! The filter pickers: `GET /api/v1/actors` and `GET /api/v1/records`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_core::RecordType;
use casetrail_core::query::keywords;
use serde_json::json;

use super::{QueryPairs, raw_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

const PICKER_LIMIT: u32 = 50;

/// Reads `q` (and `type` when allowed); anything else is a 400.
fn picker_params(params: &[(String, String)], with_type: bool) -> ApiResult<(Vec<String>, Option<RecordType>)> {
    let mut words = Vec::new();
    let mut kind = None;
    for (key, value) in params {
        match key.as_str() {
            "q" => words.extend(keywords(value)),
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
    responses((status = 200, description = "At most 50 actors")))]
pub async fn actors(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let (words, _) = picker_params(&params, false)?;
    let actors = state.store.actors(principal.account_id, &words, PICKER_LIMIT).await?;
    let actors: Vec<_> = actors.iter().map(|a| json!({"id": a.id, "name": a.name, "email": a.email})).collect();
    Ok(raw_json(StatusCode::OK, json!({ "actors": actors }).to_string()))
}

/// Related records the account's log has seen, best match first.
#[utoipa::path(get, path = "/api/v1/records", tag = "events",
    params(
        ("type" = Option<String>, Query, description = "case, client, user, communication, integration, automation or setting"),
        ("q" = Option<String>, Query, description = "words matching the start of name or id words"),
    ),
    responses((status = 200, description = "At most 50 records"), (status = 400, description = "Unknown type")))]
pub async fn records(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let (words, kind) = picker_params(&params, true)?;
    let records = state.store.records(principal.account_id, kind, &words, PICKER_LIMIT).await?;
    let records: Vec<_> = records.iter().map(|r| json!({"type": r.kind.key(), "id": r.id, "name": r.name})).collect();
    Ok(raw_json(StatusCode::OK, json!({ "records": records }).to_string()))
}
