//! The per-account hash chain of docs/API.md §7:
//! `hash(e) = hex(SHA-256(prev_hash_bytes(e) || JCS(body(e))))`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::event::Event;

/// A SHA-256 chain hash, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The `prev_hash` of an account's first event: 64 zeros.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<ChainHash> {
        bytes.try_into().ok().map(ChainHash)
    }
}

impl FromStr for ChainHash {
    type Err = hex::FromHexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Only lowercase is the spelling docs/API.md §7 gives; uppercase would hash differently
        // in another implementation's eyes, so it is refused.
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(hex::FromHexError::InvalidHexCharacter { c: 'A', index: 0 });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)?;
        Ok(ChainHash(out))
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The hash of an event whose canonical body is `canonical_body`, chained after `prev`.
pub fn link(prev: &ChainHash, canonical_body: &str) -> ChainHash {
    let mut hasher = Sha256::new();
    hasher.update(prev.0);
    hasher.update(canonical_body.as_bytes());
    ChainHash(hasher.finalize().into())
}

/// An event as a store keeps it: the canonical body text the chain covers, with its
/// links. Keeping the exact bytes lets reads and verification skip re-encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedEvent {
    pub seq: u64,
    /// The RFC 8785 text of `body(e)`.
    pub body: String,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

impl ChainedEvent {
    /// Seals a new event after `prev`.
    pub fn seal(event: &Event, prev: ChainHash) -> ChainedEvent {
        let body = event.canonical_body();
        let hash = link(&prev, &body);
        ChainedEvent { seq: event.seq, body, prev_hash: prev, hash }
    }

    /// Parses the body back into an [`Event`]; a value nested too deep for the parser
    /// is shown cut off ([`crate::bounded`]).
    pub fn event(&self) -> Result<Event, serde_json::Error> {
        crate::bounded::parse_bounded(&self.body)
    }

    /// Whether `hash` is what the body and `prev_hash` say it must be.
    pub fn hash_is_consistent(&self) -> bool {
        link(&self.prev_hash, &self.body) == self.hash
    }

    /// An event as the API returns it, taken back to what the chain hashes: its
    /// `hash` and `prev_hash` as given, and the body without them and without
    /// `category` and `activity_label`, in canonical form. Whether the hash holds
    /// is then [`ChainedEvent::hash_is_consistent`].
    pub fn from_api_json(event: &serde_json::Value) -> Result<ChainedEvent, String> {
        let mut event = event.clone();
        let object = event.as_object_mut().ok_or("the event is not an object")?;
        let mut take_hash = |name: &str| {
            object.remove(name).and_then(|h| h.as_str().and_then(|h| h.parse::<ChainHash>().ok())).unwrap_or_default()
        };
        let (hash, prev_hash) = (take_hash("hash"), take_hash("prev_hash"));
        object.remove("category");
        object.remove("activity_label");
        let seq = object.get("seq").and_then(serde_json::Value::as_u64).ok_or("the event has no seq")?;
        let body = crate::canonical::to_canonical_string(&event);
        Ok(ChainedEvent { seq, body, prev_hash, hash })
    }

    /// The event as the API returns it: the body plus `category`, `activity_label`,
    /// `prev_hash` and `hash`, written without re-encoding the body (so it is the
    /// stored text exactly, however deep it nests).
    pub fn to_api_json(&self) -> Result<String, serde_json::Error> {
        #[derive(Deserialize)]
        struct Kind {
            activity: crate::activity::Activity,
        }
        // serde_json skips the other members without a depth limit, so a body nested
        // deeper than it parses is still returned, whole.
        let activity = serde_json::from_str::<Kind>(&self.body)?.activity;
        let body = self.body.trim_end();
        let inner = body.strip_suffix('}').unwrap_or(body);
        Ok(format!(
            "{inner},\"category\":\"{}\",\"activity_label\":{},\"prev_hash\":\"{}\",\"hash\":\"{}\"}}",
            activity.category().key,
            serde_json::Value::from(activity.label()),
            self.prev_hash,
            self.hash
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_64_zeros() {
        assert_eq!(ChainHash::GENESIS.to_hex(), "0".repeat(64));
    }

    #[test]
    fn link_matches_a_hand_computed_digest() {
        // sha256(32 zero bytes || "{}")
        let h = link(&ChainHash::GENESIS, "{}");
        let mut hasher = Sha256::new();
        hasher.update([0u8; 32]);
        hasher.update(b"{}");
        let expected: [u8; 32] = hasher.finalize().into();
        assert_eq!(h.0, expected);
        assert_eq!(h.to_hex().len(), 64);
        assert_ne!(link(&h, "{}"), h);
    }

    #[test]
    fn hex_round_trip_and_refusals() {
        let h = link(&ChainHash::GENESIS, "x");
        assert_eq!(h.to_hex().parse::<ChainHash>().unwrap(), h);
        assert!(h.to_hex().to_uppercase().parse::<ChainHash>().is_err());
        assert!("abc".parse::<ChainHash>().is_err());
    }
}
