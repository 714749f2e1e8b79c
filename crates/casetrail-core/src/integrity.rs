//! Verifying a stored chain (docs/API.md §7): every hash recomputed, every link checked,
//! purge tombstones and checkpoints checked against their Ed25519 signatures, and the
//! chain's length checked against the newest checkpoint.
//!
//! How a purge's runs become tombstones, one per gap, is [`Tombstone::merge_run`].
//!
//! The [`Verifier`] is fed a chain in seq order — events and tombstones — and keeps
//! only O(1) state, so it can walk millions of events page by page.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::ids::{AccountId, EventId};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::canonical::to_canonical_string;
use crate::chain::{ChainHash, ChainedEvent, link};
use crate::time::Timestamp;

/// A signed statement that an account's chain had `hash` at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub account_id: AccountId,
    pub seq: u64,
    pub hash: ChainHash,
    pub signed_at: Timestamp,
    pub key_id: String,
    /// Standard base64 of the 64-byte Ed25519 signature.
    pub signature: String,
    /// The Merkle tree's size (docs/API.md §15): always `seq`.
    #[serde(default)]
    pub tree_size: u64,
    /// The tree's root at `tree_size`; `None` for a checkpoint signed before the
    /// tree existed, or of an account whose tree could not be built.
    #[serde(default)]
    pub root_hash: Option<ChainHash>,
    /// The tree head as a C2SP signed note, present with `root_hash`.
    #[serde(default)]
    pub note: Option<String>,
}

impl Checkpoint {
    /// The signed bytes: `JCS({"account_id", "seq", "hash", "signed_at"})`.
    pub fn message(account_id: AccountId, seq: u64, hash: &ChainHash, signed_at: Timestamp) -> String {
        to_canonical_string(&json!({"account_id": account_id, "seq": seq, "hash": hash, "signed_at": signed_at}))
    }

    /// A checkpoint of the chain alone, without a tree head.
    pub fn sign(key: &ChainKey, account_id: AccountId, seq: u64, hash: ChainHash, signed_at: Timestamp) -> Checkpoint {
        let signature = key.sign(Checkpoint::message(account_id, seq, &hash, signed_at).as_bytes());
        Checkpoint {
            account_id,
            seq,
            hash,
            signed_at,
            key_id: key.key_id.clone(),
            signature,
            tree_size: seq,
            root_hash: None,
            note: None,
        }
    }

    /// A checkpoint of the chain and of the Merkle tree of the same size, whose root
    /// is `root`: the §7 signature and the signed note.
    pub fn sign_with_tree(
        key: &ChainKey,
        account_id: AccountId,
        (seq, hash): (u64, ChainHash),
        root: ChainHash,
        signed_at: Timestamp,
    ) -> Checkpoint {
        let note = note::sign_note(key, account_id, seq, &root);
        Checkpoint {
            root_hash: Some(root),
            note: Some(note),
            ..Checkpoint::sign(key, account_id, seq, hash, signed_at)
        }
    }

    /// Checks the §7 signature and, when the checkpoint has a tree head, its note:
    /// that it states this size and root and is signed by the same key.
    pub fn verify(&self, keys: &KeyRing) -> Result<(), String> {
        keys.verify(
            &self.key_id,
            Checkpoint::message(self.account_id, self.seq, &self.hash, self.signed_at).as_bytes(),
            &self.signature,
        )?;
        if self.tree_size != self.seq {
            return Err(format!("the tree size {} is not the checkpoint's seq {}", self.tree_size, self.seq));
        }
        match (&self.root_hash, &self.note) {
            (None, None) => Ok(()),
            (Some(root), Some(note)) => {
                let key =
                    keys.get(&self.key_id).ok_or_else(|| format!("signed with an unknown key {:?}", self.key_id))?;
                note::verify_note(note, self.account_id, self.tree_size, root, key)
            }
            _ => Err("the checkpoint has a root hash without its signed note, or a note without a root".into()),
        }
    }
}

/// What a purge leaves of a run of consecutive purged events: enough to keep the
/// chain verifiable across the gap, signed so a deletion cannot pose as a purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub account_id: AccountId,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The `prev_hash` of the first purged event.
    pub first_prev_hash: ChainHash,
    /// The `hash` of the last purged event: the next event's `prev_hash`.
    pub last_hash: ChainHash,
    pub purged_at: Timestamp,
    pub key_id: String,
    pub signature: String,
}

impl Tombstone {
    fn message(&self) -> String {
        to_canonical_string(&json!({
            "account_id": self.account_id, "first_seq": self.first_seq, "last_seq": self.last_seq,
            "first_prev_hash": self.first_prev_hash, "last_hash": self.last_hash, "purged_at": self.purged_at,
        }))
    }

    /// Signs a run of purged events.
    pub fn sign(
        key: &ChainKey,
        account_id: AccountId,
        (first_seq, last_seq): (u64, u64),
        (first_prev_hash, last_hash): (ChainHash, ChainHash),
        purged_at: Timestamp,
    ) -> Tombstone {
        let mut t = Tombstone {
            account_id,
            first_seq,
            last_seq,
            first_prev_hash,
            last_hash,
            purged_at,
            key_id: key.key_id.clone(),
            signature: String::new(),
        };
        t.signature = key.sign(t.message().as_bytes());
        t
    }

    pub fn verify(&self, keys: &KeyRing) -> Result<(), String> {
        keys.verify(&self.key_id, self.message().as_bytes(), &self.signature)
    }
}

/// The server's Ed25519 signing key with its id.
pub struct ChainKey {
    key: SigningKey,
    pub key_id: String,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKey").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl ChainKey {
    pub fn from_signing_key(key: SigningKey) -> ChainKey {
        let key_id = key_id(&key.verifying_key());
        ChainKey { key, key_id }
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Standard base64 of the raw 32-byte public key.
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.verifying_key().to_bytes())
    }

    fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.key.sign(message).to_bytes())
    }
}

/// A key's id: the first 16 hex digits of the SHA-256 of its raw public key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.to_bytes())[..8])
}

/// The public keys checkpoints and tombstones may be signed with (the current key and
/// every retired one), by id.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<String, VerifyingKey>,
}

impl KeyRing {
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> KeyRing {
        KeyRing { keys: keys.into_iter().map(|k| (key_id(&k), k)).collect() }
    }

    /// Adds a raw public key given as standard base64; its id is computed from it.
    pub fn add_base64(&mut self, public_key: &str) -> Result<String, String> {
        let bytes = STANDARD.decode(public_key).map_err(|_| "the public key is not base64".to_string())?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| "the public key is not 32 bytes".to_string())?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| "not an Ed25519 public key".to_string())?;
        let id = key_id(&key);
        self.keys.insert(id.clone(), key);
        Ok(id)
    }

    /// `(key_id, base64 public key)` of every key, sorted by id.
    pub fn public_keys(&self) -> Vec<(String, String)> {
        let mut out: Vec<_> = self.keys.iter().map(|(id, k)| (id.clone(), STANDARD.encode(k.to_bytes()))).collect();
        out.sort();
        out
    }

    pub fn get(&self, key_id: &str) -> Option<&VerifyingKey> {
        self.keys.get(key_id)
    }

    pub fn verify(&self, key_id: &str, message: &[u8], signature: &str) -> Result<(), String> {
        let key = self.keys.get(key_id).ok_or_else(|| format!("signed with an unknown key {key_id:?}"))?;
        let bytes = STANDARD.decode(signature).map_err(|_| "the signature is not base64".to_string())?;
        let signature = Signature::from_slice(&bytes).map_err(|_| "the signature is not 64 bytes".to_string())?;
        key.verify_strict(message, &signature).map_err(|_| "the signature does not verify".to_string())
    }
}

/// The copies of body members a store keeps in its own columns for indexing; they
/// must agree with the hashed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub account_id: AccountId,
    pub id: EventId,
    pub occurred_at: Timestamp,
    pub actor_id: String,
    pub activity: String,
    pub idempotency_key: Option<String>,
    /// The rows the store derived from this event's body at ingest (filter links,
    /// search index entry, picker entries) that no longer agree with what the same
    /// derivation gives from the body now, named for the report (`"case link"`).
    /// The store compares them while reading the page; each name is one problem.
    pub derived: Vec<&'static str>,
}

#[derive(Deserialize)]
struct BodyKeys<'a> {
    account_id: AccountId,
    id: EventId,
    seq: u64,
    occurred_at: Timestamp,
    #[serde(borrow)]
    actor: ActorKey<'a>,
    #[serde(borrow)]
    activity: Cow<'a, str>,
    #[serde(borrow)]
    idempotency_key: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ActorKey<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

pub mod note;
mod tombstone;
mod verifier;
pub use tombstone::{MergedRun, PurgedRun};
pub use verifier::{Problem, ProblemKind, Report, Verifier};

/// Which indexed column disagrees with the hashed body, if any.
fn column_mismatch(account_id: AccountId, event: &ChainedEvent, columns: Option<&Columns>) -> Option<&'static str> {
    let Ok(body) = serde_json::from_str::<BodyKeys<'_>>(&event.body) else { return Some("body") };
    if body.seq != event.seq {
        return Some("seq");
    }
    if body.account_id != account_id {
        return Some("account");
    }
    let c = columns?;
    if c.account_id != account_id {
        return Some("account");
    }
    if body.id != c.id {
        return Some("id");
    }
    if body.occurred_at != c.occurred_at {
        return Some("occurred_at");
    }
    if body.actor.id != c.actor_id {
        return Some("actor_id");
    }
    if body.activity != c.activity {
        return Some("activity");
    }
    if body.idempotency_key.as_deref() != c.idempotency_key.as_deref() {
        return Some("idempotency_key");
    }
    None
}

/// Whether an event's stored hash is what its body and `prev_hash` give.
fn hash_matches(event: &ChainedEvent) -> bool {
    link(&event.prev_hash, &event.body) == event.hash
}
