//! Canonical JSON (`casetrail_core::canonical`, RFC 8785), which the hash chain covers.
//!
//! Properties on any JSON value, beyond not panicking:
//! - our text is byte for byte what `serde_json_canonicalizer` (the library our slow
//!   route uses) writes, so the fast route never changes a hash;
//! - the text parses back to an equal value (numbers compared as the doubles JCS
//!   reads them as), and canonicalizing that again gives the same bytes (idempotence);
//! - the text holds no whitespace outside strings.
#![no_main]

use casetrail_core::canonical::to_canonical_string;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "json_eq.rs"]
mod json_eq;
use json_eq::same_json;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let ours = to_canonical_string(&value);
    let library = serde_json_canonicalizer::to_string(&value).expect("a parsed value canonicalizes");
    assert_eq!(ours, library, "the fast route differs from the library");

    let back: Value = serde_json::from_str(&ours).expect("canonical text is JSON");
    assert!(same_json(&value, &back), "{ours} does not read back as {value}");
    assert_eq!(to_canonical_string(&back), ours, "canonicalizing is not idempotent");
    assert!(!whitespace_outside_strings(&ours), "{ours}");
});

fn whitespace_outside_strings(text: &str) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') | (false, _, '"') => in_string = !in_string,
            (false, _, ' ' | '\n' | '\r' | '\t') => return true,
            _ => {}
        }
    }
    false
}
