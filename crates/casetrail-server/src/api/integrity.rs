//! `GET /api/v1/integrity`, checkpoints and the public keys (docs/API.md §7).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_core::Timestamp;
use casetrail_core::integrity::Checkpoint;
use casetrail_core::{AccountId, ChainHash};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::ErrorResponse;
use super::{QueryPairs, typed_json};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use casetrail_app::integrity::{checkpoint_now, verify_account};

// Members are declared in alphabetical order: that is the order `json!` wrote them in
// (serde_json sorts an object's keys), so the bytes on the wire did not change.

/// A signed checkpoint of a chain (docs/API.md §7). The signature is over
/// `JCS({"account_id", "seq", "hash", "signed_at"})`; the Merkle tree head of the
/// same size is signed as the C2SP note (§15).
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointBody<'a> {
    #[schema(value_type = Uuid)]
    pub account_id: AccountId,
    #[schema(value_type = String, pattern = "^[0-9a-f]{64}$")]
    pub hash: &'a ChainHash,
    /// The first 16 hex digits of SHA-256 of the raw public key.
    pub key_id: &'a str,
    /// The tree head as a C2SP signed note; null for a checkpoint without a root.
    #[schema(required = true)]
    pub note: Option<&'a str>,
    /// The Merkle tree's root at `tree_size`; null for a checkpoint signed before
    /// the tree existed.
    #[schema(value_type = Option<String>, required = true, pattern = "^[0-9a-f]{64}$")]
    pub root_hash: Option<&'a ChainHash>,
    pub seq: u64,
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub signature: &'a str,
    #[schema(value_type = String, format = DateTime)]
    pub signed_at: Timestamp,
    /// The Merkle tree's size: always `seq`.
    pub tree_size: u64,
}

impl<'a> From<&'a Checkpoint> for CheckpointBody<'a> {
    fn from(c: &'a Checkpoint) -> Self {
        CheckpointBody {
            account_id: c.account_id,
            hash: &c.hash,
            key_id: &c.key_id,
            note: c.note.as_deref(),
            root_hash: c.root_hash.as_ref(),
            seq: c.seq,
            signature: &c.signature,
            signed_at: c.signed_at,
            tree_size: c.tree_size,
        }
    }
}

/// The verdict of `GET /api/v1/integrity`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrityReport<'a> {
    /// The newest checkpoint.
    #[schema(required = true)]
    pub checkpoint: Option<CheckpointBody<'a>>,
    pub events_checked: u64,
    #[schema(required = true)]
    pub first_seq: Option<u64>,
    #[schema(value_type = Option<String>, required = true, pattern = "^[0-9a-f]{64}$")]
    pub head_hash: Option<&'a ChainHash>,
    /// With `since=checkpoint`: the seq the check started after.
    #[schema(required = true)]
    pub incremental_from_seq: Option<u64>,
    #[schema(required = true)]
    pub last_seq: Option<u64>,
    pub ok: bool,
    pub problems: Vec<IntegrityProblem<'a>>,
    /// Events retention removed; signed tombstones cover their gaps.
    pub purged: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrityProblem<'a> {
    /// `hash_mismatch`, `broken_link`, `missing`, `bad_signature` or `truncated`.
    pub kind: &'static str,
    pub message: &'a str,
    pub seq: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointList<'a> {
    /// Newest first.
    pub checkpoints: Vec<CheckpointBody<'a>>,
}

/// The key that signs checkpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey<'a> {
    /// Always `ed25519`.
    pub algorithm: &'static str,
    pub key_id: &'a str,
    /// Standard base64 of the 32-byte raw public key.
    pub public_key: String,
}

/// One key of the ring that verifies checkpoints and tombstones.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyEntryBody<'a> {
    /// Always `ed25519`.
    pub algorithm: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub key_id: &'a str,
    /// Standard base64 of the 32-byte raw public key.
    pub public_key: String,
    /// When another key became current; null for the current key.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub retired_at: Option<Timestamp>,
}

/// Every key that signed or signs, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyList<'a> {
    pub keys: Vec<PublicKeyEntryBody<'a>>,
}

/// Re-verifies the whole chain now (`?since=checkpoint`: from the newest good checkpoint).
#[utoipa::path(get, path = "/api/v1/integrity", tag = "integrity",
    params(("since" = Option<String>, Query, description = "`checkpoint` for an incremental check from the newest good checkpoint")),
    responses(
        (status = 200, description = "The verdict, with every problem found", body = IntegrityReport),
        (status = 400, description = "Unknown query parameter or value", body = ErrorResponse),
    ))]
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
    let v = verify_account(state.store.as_ref(), principal.account_id, &state.keys.local_ring(), incremental).await?;
    let r = &v.report;
    let report = IntegrityReport {
        checkpoint: v.checkpoint.as_ref().map(CheckpointBody::from),
        events_checked: r.events_checked,
        first_seq: r.first_seq,
        head_hash: r.head_hash.as_ref(),
        incremental_from_seq: if incremental { Some(v.started_after) } else { None },
        last_seq: r.last_seq,
        ok: r.ok(),
        problems: r
            .problems
            .iter()
            .map(|p| IntegrityProblem { kind: p.kind.key(), message: &p.message, seq: p.seq })
            .collect(),
        purged: r.purged,
    };
    typed_json(StatusCode::OK, &report)
}

/// Signs a checkpoint of the current head.
#[utoipa::path(post, path = "/api/v1/integrity/checkpoints", tag = "integrity",
    responses((status = 201, description = "The new checkpoint", body = CheckpointBody)))]
pub async fn create_checkpoint(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin_key()?;
    let c = checkpoint_now(state.store.as_ref(), &state.keys, principal.account_id).await?;
    typed_json(StatusCode::CREATED, &CheckpointBody::from(&c))
}

/// Every checkpoint of the account, newest first.
#[utoipa::path(get, path = "/api/v1/integrity/checkpoints", tag = "integrity",
    responses((status = 200, description = "Every checkpoint, newest first", body = CheckpointList)))]
pub async fn list_checkpoints(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let list = state.store.checkpoints(principal.account_id, u32::MAX).await?;
    typed_json(StatusCode::OK, &CheckpointList { checkpoints: list.iter().map(CheckpointBody::from).collect() })
}

/// The Ed25519 key that signs checkpoints.
#[utoipa::path(get, path = "/api/v1/integrity/public-key", tag = "integrity",
    responses((status = 200, description = "The current signing key", body = PublicKey)))]
pub async fn public_key(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.require_admin()?;
    let k = state.keys.current();
    typed_json(
        StatusCode::OK,
        &PublicKey { algorithm: "ed25519", key_id: &k.key_id, public_key: k.public_key_base64() },
    )
}

/// Every public key that signs or signed checkpoints and tombstones, current and
/// retired, as every server on the database knows them.
#[utoipa::path(get, path = "/api/v1/integrity/public-keys", tag = "integrity",
    responses((status = 200, description = "The current key and every retired one, oldest first", body = PublicKeyList)))]
pub async fn public_keys(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    use base64::Engine as _;
    principal.require_admin()?;
    let entries = state.store.public_keys().await?;
    let keys = entries
        .iter()
        .map(|e| PublicKeyEntryBody {
            algorithm: "ed25519",
            created_at: e.created_at,
            key_id: &e.key_id,
            public_key: base64::engine::general_purpose::STANDARD.encode(e.public_key),
            retired_at: e.retired_at,
        })
        .collect();
    typed_json(StatusCode::OK, &PublicKeyList { keys })
}
