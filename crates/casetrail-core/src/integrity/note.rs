//! The tree head of a checkpoint as a C2SP signed note (tlog-checkpoint format,
//! docs/API.md §15), so transparency-log tools can check it without casetrail:
//!
//! ```text
//! casetrail/<account_id>
//! <tree_size>
//! <base64 root hash>
//!
//! — casetrail/<account_id> <base64(key hash || Ed25519 signature of the text)>
//! ```
//!
//! The key hash is the first 4 bytes of `SHA-256(name || 0x0A || 0x01 || public key)`,
//! 0x01 being the signed-note type of an Ed25519 key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use sha2::{Digest, Sha256};

use super::ChainKey;
use crate::chain::ChainHash;
use crate::ids::AccountId;

/// The signature line's lead: an em dash and a space.
const SIGNATURE_LEAD: &str = "\u{2014} ";
/// The signed-note signature type of Ed25519.
const ED25519: u8 = 0x01;

/// The log's name in the note: `casetrail/<account_id>`.
pub fn origin(account: AccountId) -> String {
    format!("casetrail/{account}")
}

/// The signed text: origin, size and base64 root, one a line.
pub fn note_text(account: AccountId, tree_size: u64, root: &ChainHash) -> String {
    format!("{}\n{tree_size}\n{}\n", origin(account), STANDARD.encode(root.0))
}

/// The 4-byte key hash that names `key` under `name` in a signature line.
pub fn key_hash(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519]);
    h.update(key.to_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The signed note of the tree head, with one signature by `key`.
pub fn sign_note(key: &ChainKey, account: AccountId, tree_size: u64, root: &ChainHash) -> String {
    let text = note_text(account, tree_size, root);
    let name = origin(account);
    let mut sig = key_hash(&name, &key.verifying_key()).to_vec();
    sig.extend_from_slice(&key.signing_key().sign(text.as_bytes()).to_bytes());
    format!("{text}\n{SIGNATURE_LEAD}{name} {}\n", STANDARD.encode(sig))
}

/// The verifier key in the signed-note text form (`name+hex key hash+base64(0x01 ||
/// key)`), as other tools take it.
pub fn verifier_key(account: AccountId, key: &VerifyingKey) -> String {
    let name = origin(account);
    let mut raw = vec![ED25519];
    raw.extend_from_slice(&key.to_bytes());
    format!("{name}+{}+{}", hex::encode(key_hash(&name, key)), STANDARD.encode(raw))
}

/// Checks that `note` is exactly the note of this tree head and carries a valid
/// signature by `key`. Signature lines of other names or keys are ignored, as the
/// signed-note format asks; one bad signature by this key fails the note.
pub fn verify_note(
    note: &str,
    account: AccountId,
    tree_size: u64,
    root: &ChainHash,
    key: &VerifyingKey,
) -> Result<(), String> {
    let text = note_text(account, tree_size, root);
    let Some(signatures) = note.strip_prefix(text.as_str()).and_then(|rest| rest.strip_prefix('\n')) else {
        return Err("the note's text is not this checkpoint's tree head".into());
    };
    if !signatures.ends_with('\n') {
        return Err("the note does not end with a newline".into());
    }
    let name = origin(account);
    let wanted = key_hash(&name, key);
    let mut verified = false;
    for line in signatures.lines() {
        let Some((signer, sig)) = line.strip_prefix(SIGNATURE_LEAD).and_then(|l| l.split_once(' ')) else {
            return Err("the note has a malformed signature line".into());
        };
        let sig = STANDARD.decode(sig).map_err(|_| "a note signature is not base64".to_string())?;
        if signer != name || sig.len() < 4 || sig[..4] != wanted {
            continue;
        }
        let signature =
            Signature::from_slice(&sig[4..]).map_err(|_| "the note signature is not 64 bytes".to_string())?;
        key.verify_strict(text.as_bytes(), &signature).map_err(|_| "the note signature does not verify".to_string())?;
        verified = true;
    }
    if verified { Ok(()) } else { Err("the note has no signature by the checkpoint's key".into()) }
}

#[cfg(test)]
#[path = "note_tests.rs"]
mod tests;
