//! `GET /api/v1/events/{id}/proof` and `GET /api/v1/integrity/consistency`
//! (docs/API.md §15): Merkle proofs for checking events and checkpoints offline.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_app::AppError;
use casetrail_core::{ChainHash, EventId};
use serde::Serialize;
use utoipa::ToSchema;

use super::integrity::CheckpointBody;
use super::schema::ErrorResponse;
use super::{QueryPairs, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// An event's RFC 9162 inclusion proof in the tree of `tree_size` leaves.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofBody<'a> {
    /// The checkpoint whose `root_hash` the proof leads to.
    pub checkpoint: CheckpointBody<'a>,
    /// Sibling hashes from the leaf up, lowercase hex.
    #[schema(value_type = Vec<String>)]
    pub inclusion_path: &'a [ChainHash],
    /// The event's `seq` − 1.
    pub leaf_index: u64,
    pub tree_size: u64,
}

/// The RFC 9162 consistency proof between two tree sizes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofBody<'a> {
    #[schema(value_type = Vec<String>)]
    pub consistency_path: &'a [ChainHash],
    pub from: u64,
    pub to: u64,
}

/// Proof problems are query problems: a 400, as every bad query parameter is.
fn as_bad_request(err: AppError) -> ApiError {
    match err {
        AppError::Invalid(errors) => ApiError::bad_request(
            errors.first().map_or_else(|| "bad query".into(), |e| format!("{}: {}", e.field, e.message)),
        ),
        other => other.into(),
    }
}

/// A whole number in a query parameter, or a 400 naming it.
fn size_param(name: &str, value: &str) -> ApiResult<u64> {
    value.parse::<u64>().map_err(|_| ApiError::bad_request(format!("{name}: not a whole number: {value:?}")))
}

/// The value of each named parameter, refusing unknown and repeated ones.
fn params<const N: usize>(pairs: &[(String, String)], names: [&str; N]) -> ApiResult<[Option<u64>; N]> {
    let mut out = [None; N];
    for (key, value) in pairs {
        let Some(i) = names.iter().position(|n| n == key) else {
            return Err(ApiError::bad_request(format!("{key}: unknown query parameter")));
        };
        if out[i].is_some() {
            return Err(ApiError::bad_request(format!("{key}: given more than once")));
        }
        out[i] = Some(size_param(key, value)?);
    }
    Ok(out)
}

/// The event's inclusion proof against a checkpoint (by default the newest).
#[utoipa::path(get, path = "/api/v1/events/{id}/proof", tag = "integrity",
    params(
        ("id" = String, Path, description = "event id"),
        ("tree_size" = Option<u64>, Query, description = "a checkpointed tree size at least the event's seq; default: the newest checkpoint's"),
    ),
    responses(
        (status = 200, description = "The inclusion proof", body = InclusionProofBody),
        (status = 400, description = "A tree size that is not a checkpoint's, or does not cover the event", body = ErrorResponse),
        (status = 409, description = "The account has no Merkle tree", body = ErrorResponse),
        (status = 404, description = "No such event in your account", body = ErrorResponse),
    ))]
pub async fn inclusion(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let id = id.parse::<EventId>().map_err(|_| ApiError::not_found("event"))?;
    let [tree_size] = params(&pairs, ["tree_size"])?;
    let proof = casetrail_app::proofs::inclusion(state.store.as_ref(), principal.account_id, id, tree_size)
        .await
        .map_err(as_bad_request)?;
    let body = InclusionProofBody {
        checkpoint: CheckpointBody::from(&proof.checkpoint),
        inclusion_path: &proof.inclusion_path,
        leaf_index: proof.leaf_index,
        tree_size: proof.tree_size,
    };
    typed_json(StatusCode::OK, &body)
}

/// The consistency proof between two tree sizes, `0 < from <= to <=` the newest
/// checkpoint's size.
#[utoipa::path(get, path = "/api/v1/integrity/consistency", tag = "integrity",
    params(
        ("from" = u64, Query, description = "the older tree size, at least 1"),
        ("to" = u64, Query, description = "the newer tree size, at most the newest checkpoint's"),
    ),
    responses(
        (status = 200, description = "The consistency proof", body = ConsistencyProofBody),
        (status = 400, description = "Missing or bad sizes", body = ErrorResponse),
        (status = 409, description = "The account has no Merkle tree", body = ErrorResponse),
    ))]
pub async fn consistency(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let [from, to] = params(&pairs, ["from", "to"])?;
    let from = from.ok_or_else(|| ApiError::bad_request("from: missing"))?;
    let to = to.ok_or_else(|| ApiError::bad_request("to: missing"))?;
    let path = casetrail_app::proofs::consistency(state.store.as_ref(), principal.account_id, from, to)
        .await
        .map_err(as_bad_request)?;
    typed_json(StatusCode::OK, &ConsistencyProofBody { consistency_path: &path, from, to })
}
