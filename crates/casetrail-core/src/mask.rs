//! Masking (docs/API.md §14): values a firm must never keep in its log — a password,
//! a social security number, a token — are replaced at ingest, before the event is
//! stored or hashed, by a keyed fingerprint. Two equal values get equal
//! fingerprints, so an investigator still sees *that* a value changed, and whether it
//! changed back, without ever reading it.
//!
//! - [`parse_patterns`] checks an account's pattern list (`fields[i]` names a bad one).
//! - [`Masker`] holds the parsed patterns and the account's [`FingerprintKey`]; its
//!   [`Masker::mask_event`] rewrites a [`NewEvent`] in place.
//! - [`masked_fingerprint`] recognizes a masked value when it is shown.
//!
//! A pattern is a dotted path (`client.ssn`); `*` stands for exactly one whole
//! segment; case is ignored; and a pattern matches a path when it matches the path
//! itself or one of its leading parts, so `bank` also masks `bank.account`.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::validate::{FieldError, NewEvent};

/// The patterns of a new account: the usual names of secrets, at the top level and
/// one level down.
pub const DEFAULT_PATTERNS: [&str; 8] =
    ["password", "*.password", "ssn", "*.ssn", "secret", "*.secret", "token", "*.token"];
pub const MAX_PATTERNS: usize = 100;
pub const MAX_PATTERN_CHARS: usize = 200;
/// Hex digits of the HMAC kept in a fingerprint.
pub const FINGERPRINT_HEX: usize = 16;

/// The default patterns, as stored.
pub fn default_patterns() -> Vec<String> {
    DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect()
}

/// The account's secret for fingerprints. It never leaves the server: anyone holding
/// it could test guesses of a low-entropy masked value (an SSN) against the log.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    pub fn from_bytes(bytes: [u8; 32]) -> FingerprintKey {
        FingerprintKey(bytes)
    }

    /// The bytes, for the store to keep.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(<redacted>)")
    }
}

/// One segment of a pattern: any one whole segment, or a name (lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Any,
    Name(String),
}

/// A checked pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<Segment>,
}

impl Pattern {
    /// Parses one pattern; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.chars().count() > MAX_PATTERN_CHARS {
            return Err(format!("must be at most {MAX_PATTERN_CHARS} characters"));
        }
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("must not contain spaces or control characters".into());
        }
        let mut segments = Vec::new();
        for segment in text.split('.') {
            segments.push(match segment {
                "" => return Err("has an empty segment (two dots, or a dot at either end)".into()),
                "*" => Segment::Any,
                s if s.contains('*') => return Err("uses * inside a segment; * stands for one whole segment".into()),
                s => Segment::Name(s.to_lowercase()),
            });
        }
        Ok(Pattern { segments })
    }

    /// Whether the pattern matches `path` or one of its leading parts.
    pub fn matches(&self, path: &str) -> bool {
        let mut parts = path.split('.');
        self.segments.iter().all(|segment| match (segment, parts.next()) {
            (_, None) => false,
            (Segment::Any, Some(_)) => true,
            (Segment::Name(name), Some(part)) => lower_eq(name, part),
        })
    }
}

/// `lowered == part.to_lowercase()`, without allocating for the common ASCII case.
fn lower_eq(lowered: &str, part: &str) -> bool {
    if part.is_ascii() {
        lowered.len() == part.len() && lowered.bytes().zip(part.bytes()).all(|(a, b)| a == b.to_ascii_lowercase())
    } else {
        lowered == part.to_lowercase()
    }
}

/// Checks the `fields` member of a masking update: an array of at most
/// [`MAX_PATTERNS`] patterns. Every bad pattern is named as `fields[i]`.
pub fn parse_patterns(value: Option<&Value>) -> Result<Vec<String>, Vec<FieldError>> {
    let items = match value {
        None => return Err(vec![FieldError::new("fields", "is required")]),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(vec![FieldError::new("fields", "must be an array of pattern strings")]),
    };
    if items.len() > MAX_PATTERNS {
        return Err(vec![FieldError::new("fields", format!("may hold at most {MAX_PATTERNS} patterns"))]);
    }
    let mut patterns = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("fields[{i}]");
        match item.as_str().map(|text| (text, Pattern::parse(text))) {
            Some((text, Ok(_))) => patterns.push(text.to_string()),
            Some((_, Err(why))) => errors.push(FieldError::new(field, why)),
            None => errors.push(FieldError::new(field, "must be a string")),
        }
    }
    if errors.is_empty() { Ok(patterns) } else { Err(errors) }
}

/// An account's patterns with its key: what ingest masks with.
#[derive(Debug, Clone)]
pub struct Masker {
    patterns: Vec<Pattern>,
    key: FingerprintKey,
}

impl Masker {
    /// Stored patterns were checked when they were set; one that no longer parses
    /// (changed behind the store's back) is skipped rather than failing ingest.
    pub fn new(patterns: &[String], key: FingerprintKey) -> Masker {
        Masker { patterns: patterns.iter().filter_map(|p| Pattern::parse(p).ok()).collect(), key }
    }

    /// Whether any pattern matches `path`.
    pub fn matches(&self, path: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(path))
    }

    /// The first [`FINGERPRINT_HEX`] hex digits of HMAC-SHA256 over the value's
    /// RFC 8785 canonical JSON.
    pub fn fingerprint(&self, value: &Value) -> String {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_bytes()).expect("HMAC takes any key length");
        mac.update(crate::canonical::to_canonical_string(value).as_bytes());
        let mut digits = hex::encode(mac.finalize().into_bytes());
        digits.truncate(FINGERPRINT_HEX);
        digits
    }

    /// The value that replaces a masked one; `null` stays `null` (nothing was there).
    fn replace(&self, value: &mut Value) {
        if !value.is_null() {
            let fingerprint = self.fingerprint(value);
            *value = Value::Object(Map::from_iter([("masked".to_string(), Value::String(fingerprint))]));
        }
    }

    /// Masks every change whose field matches (both sides) and every metadata member
    /// whose dotted path matches (its whole value). Runs after `before`/`after`
    /// snapshots were turned into changes, so a snapshot's secret is masked too.
    pub fn mask_event(&self, event: &mut NewEvent) {
        if self.patterns.is_empty() {
            return;
        }
        for change in event.changes.iter_mut().filter(|c| self.matches(&c.field)) {
            self.replace(&mut change.before);
            self.replace(&mut change.after);
        }
        self.mask_members(&mut event.metadata, &mut String::new());
    }

    /// Walks into objects only: an array is one value, masked whole or not at all.
    fn mask_members(&self, members: &mut Map<String, Value>, prefix: &mut String) {
        for (key, value) in members.iter_mut() {
            let len = prefix.len();
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(key);
            if self.matches(prefix) {
                self.replace(value);
            } else if let Value::Object(inner) = value {
                self.mask_members(inner, prefix);
            }
            prefix.truncate(len);
        }
    }
}

/// The fingerprint of a value that ingest masked: `{"masked": "<16 hex>"}` and
/// nothing else.
pub fn masked_fingerprint(value: &Value) -> Option<&str> {
    let members = value.as_object().filter(|m| m.len() == 1)?;
    let digits = members.get("masked")?.as_str()?;
    let is_hex = digits.len() == FINGERPRINT_HEX && digits.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    is_hex.then_some(digits)
}

#[cfg(test)]
#[path = "mask_tests.rs"]
mod tests;
