//! `GET /api/v1/events/feed`: the pull feed (docs/API.md §13), over
//! `casetrail_app::feed`.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_app::feed::{DEFAULT_LIMIT, MAX_LIMIT, MAX_WAIT, events_after};
use serde::Serialize;
use utoipa::ToSchema;

use super::events::events_array;
use super::schema::{ErrorResponse, Event};
use super::{QueryPairs, raw_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// The feed's answer (documentation only: the body is written by hand, splicing
/// each stored event in as it is).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    /// Events after `after_seq`, seq ascending.
    pub events: Vec<Event>,
    /// The seq of the last event returned, or `after_seq` when none was.
    pub last_seq: u64,
}

/// What the query string asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FeedParams {
    after_seq: u64,
    limit: u32,
    wait: Duration,
}

/// Reads `after_seq`, `limit` and `wait`; anything else, or a value out of range,
/// is a 400 naming the parameter (as every query parameter of the API).
fn feed_params(params: &[(String, String)]) -> ApiResult<FeedParams> {
    let mut feed = FeedParams { after_seq: 0, limit: DEFAULT_LIMIT, wait: Duration::ZERO };
    for (key, value) in params {
        let value = value.trim();
        match key.as_str() {
            "after_seq" => {
                feed.after_seq = value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| i64::try_from(*n).is_ok())
                    .ok_or_else(|| ApiError::bad_request("after_seq: must be a whole number, 0 or more"))?;
            }
            "limit" => {
                feed.limit = value.parse::<u32>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                    ApiError::bad_request(format!("limit: must be a whole number from 1 to {MAX_LIMIT}"))
                })?;
            }
            "wait" => {
                let max = MAX_WAIT.as_secs();
                let secs = value.parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
                    ApiError::bad_request(format!("wait: must be a whole number of seconds from 0 to {max}"))
                })?;
                feed.wait = Duration::from_secs(secs);
            }
            other => {
                let name: String = other.chars().take(64).collect();
                return Err(ApiError::bad_request(format!("{name}: unknown query parameter")));
            }
        }
    }
    Ok(feed)
}

/// Events after a seq, in seq order, for systems that pull.
#[utoipa::path(get, path = "/api/v1/events/feed", tag = "events",
    params(
        ("after_seq" = Option<u64>, Query, description = "answer events with a higher seq; default 0"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1 to 1000, default 100"),
        ("wait" = Option<u32>, Query, minimum = 0, maximum = 60, description = "seconds to wait for the first new event, 0 to 60, default 0"),
    ),
    responses(
        (status = 200, description = "Events in seq order, and the last seq returned", body = FeedPage),
        (status = 400, description = "A bad or unknown parameter", body = ErrorResponse),
    ))]
pub async fn feed(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let asked = feed_params(&params)?;
    // The wait ends a second before the server's answer limit would cut the request
    // off with a 503: a long poll that found nothing answers an empty page instead.
    let wait = asked.wait.min(state.config.timeouts.handler.saturating_sub(Duration::from_secs(1)));
    let events = events_after(&state, principal.account_id, asked.after_seq, asked.limit, wait).await?;
    let last_seq = events.last().map_or(asked.after_seq, |e| e.seq);
    let mut body = events_array(&events)?;
    body.push_str(",\"last_seq\":");
    body.push_str(&last_seq.to_string());
    body.push('}');
    Ok(raw_json(StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(query: &str) -> Result<FeedParams, String> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        feed_params(&pairs).map_err(|e| e.message)
    }

    #[test]
    fn parameters_have_defaults_and_bounds() {
        let default = FeedParams { after_seq: 0, limit: 100, wait: Duration::ZERO };
        assert_eq!(read("").unwrap(), default);
        let full = FeedParams { after_seq: 41, limit: 1000, wait: Duration::from_secs(60) };
        assert_eq!(read("after_seq=41&limit=1000&wait=60").unwrap(), full);
        for bad in ["limit=0", "limit=1001", "limit=x", "wait=61", "wait=-1", "wait=1.5", "after_seq=-1"] {
            assert!(read(bad).is_err(), "{bad} was accepted");
        }
        assert!(read("after_seq=9223372036854775808").is_err(), "past i64 is no seq");
        assert!(read("cursor=abc").unwrap_err().contains("cursor"));
    }
}
