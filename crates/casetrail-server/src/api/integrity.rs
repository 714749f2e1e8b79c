//! `GET /api/v1/integrity`, checkpoints and the public key (API.md §7).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_core::integrity::Checkpoint;
use serde_json::{Value, json};

use super::{QueryPairs, raw_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use casetrail_app::integrity::{checkpoint_now, verify_account};

fn checkpoint_json(c: &Checkpoint) -> Value {
    json!({"account_id": c.account_id, "seq": c.seq, "hash": c.hash, "signed_at": c.signed_at,
           "key_id": c.key_id, "signature": c.signature})
}

/// Re-verifies the whole chain now (`?since=checkpoint`: from the newest good checkpoint).
#[utoipa::path(get, path = "/api/v1/integrity", tag = "integrity",
    params(("since" = Option<String>, Query, description = "`checkpoint` for an incremental check from the newest good checkpoint")),
    responses((status = 200, description = "ok, events_checked, first_seq, last_seq, head_hash, checkpoint, problems")))]
pub async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let mut incremental = false;
    for (key, value) in &params {
        match (key.as_str(), value.as_str()) {
            ("since", "checkpoint") => incremental = true,
            ("since", "") => {}
            ("since", _) => return Err(ApiError::bad_request("since: the only value is \"checkpoint\"")),
            (other, _) => return Err(ApiError::bad_request(format!("{other}: unknown query parameter"))),
        }
    }
    let v = verify_account(state.store.as_ref(), principal.account_id, &state.config.keys.ring, incremental).await?;
    let r = &v.report;
    let problems: Vec<Value> =
        r.problems.iter().map(|p| json!({"seq": p.seq, "kind": p.kind.key(), "message": p.message})).collect();
    let body = json!({
        "ok": r.ok(),
        "events_checked": r.events_checked,
        "first_seq": r.first_seq,
        "last_seq": r.last_seq,
        "head_hash": r.head_hash,
        "purged": r.purged,
        "incremental_from_seq": if incremental { Some(v.started_after) } else { None },
        "checkpoint": v.checkpoint.as_ref().map(checkpoint_json),
        "problems": problems,
    });
    Ok(raw_json(StatusCode::OK, body.to_string()))
}

/// Signs a checkpoint of the current head.
#[utoipa::path(post, path = "/api/v1/integrity/checkpoints", tag = "integrity",
    responses((status = 201, description = "The new checkpoint")))]
pub async fn create_checkpoint(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let c = checkpoint_now(state.store.as_ref(), &state.config.keys, principal.account_id).await?;
    Ok(raw_json(StatusCode::CREATED, checkpoint_json(&c).to_string()))
}

/// Every checkpoint of the account, newest first.
#[utoipa::path(get, path = "/api/v1/integrity/checkpoints", tag = "integrity",
    responses((status = 200, description = "{\"checkpoints\": [...]}")))]
pub async fn list_checkpoints(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let list = state.store.checkpoints(principal.account_id, u32::MAX).await?;
    let list: Vec<Value> = list.iter().map(checkpoint_json).collect();
    Ok(raw_json(StatusCode::OK, json!({ "checkpoints": list }).to_string()))
}

/// The Ed25519 key that signs checkpoints.
#[utoipa::path(get, path = "/api/v1/integrity/public-key", tag = "integrity",
    responses((status = 200, description = "algorithm, key_id, public_key (base64)")))]
pub async fn public_key(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let k = &state.config.keys.current;
    let body = json!({"algorithm": "ed25519", "key_id": k.key_id, "public_key": k.public_key_base64()});
    Ok(raw_json(StatusCode::OK, body.to_string()))
}
