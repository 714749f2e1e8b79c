//! Reading stored JSON that may nest deeper than a parser goes.
//!
//! Ingest refuses values nested more than `validate::MAX_NESTING` levels, but a body
//! stored before that rule (or written into the database by other means) can nest
//! arbitrarily deep, and `serde_json` stops at 128 levels. Every reader parses through
//! [`parse_bounded`], which shows such a value cut off at [`SHOWN_DEPTH`] levels
//! instead of failing: the log, an entry and an export stay readable, and the stored
//! text (which the chain's hash covers) is never changed.

use serde::de::DeserializeOwned;

/// Levels of arrays and objects a reader shows, counting the event body itself; an
/// ingested event never comes near it (its members nest at most 32 levels).
pub const SHOWN_DEPTH: usize = 64;

/// `text` parsed; when it does not parse as it is, parsed again with every value
/// nested deeper than [`SHOWN_DEPTH`] replaced by a string saying so. The first error
/// is returned when that does not help either (the text is not JSON, or not a `T`).
pub fn parse_bounded<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(err) => match clip_nesting(text, SHOWN_DEPTH) {
            Some(clipped) => serde_json::from_str(&clipped).map_err(|_| err),
            None => Err(err),
        },
    }
}

/// `text` with each array or object that opens below `max_depth` levels replaced by
/// a JSON string naming how much was left out; `None` when nothing is that deep. A
/// single pass over the bytes, without recursion, so no depth can exhaust the stack.
/// Text that is not JSON comes out as broken as it went in.
pub fn clip_nesting(text: &str, max_depth: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'[' | b'{' if depth == max_depth => {
                let end = container_end(bytes, i);
                out.push_str(&text[copied..i]);
                out.push_str(&format!(
                    "\"(nested more than {max_depth} levels deep: {} characters not shown)\"",
                    text[i..end].chars().count()
                ));
                copied = end;
                i = end;
            }
            b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The index just past the string that opens at `start` (or the end of the text).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past the array or object that opens at `start`.
fn container_end(bytes: &[u8], start: usize) -> usize {
    let mut open = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b'[' | b'{' => open += 1,
            b']' | b'}' => {
                open -= 1;
                if open == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn nested(levels: usize) -> String {
        format!("{}\"bottom\"{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn shallow_text_is_left_alone() {
        assert_eq!(clip_nesting(r#"{"a":[1,{"b":"[[[["}]}"#, 3), None, "brackets inside strings do not count");
        let value: Value = parse_bounded(r#"{"a":[1,2]}"#).unwrap();
        assert_eq!(value, json!({"a": [1, 2]}));
    }

    #[test]
    fn a_value_too_deep_is_cut_off_where_the_limit_is() {
        let clipped = clip_nesting(&format!(r#"{{"k":{},"after":"x\"]"}}"#, nested(5)), 3).unwrap();
        let value: Value = serde_json::from_str(&clipped).unwrap();
        let note = "(nested more than 3 levels deep: 14 characters not shown)";
        assert_eq!(value, json!({"k": [[note]], "after": "x\"]"}));
    }

    #[test]
    fn two_hundred_levels_parse_past_serde_jsons_limit() {
        let text = format!(r#"{{"deep":{},"n":1}}"#, nested(200));
        assert!(serde_json::from_str::<Value>(&text).is_err(), "serde_json alone refuses it");
        let value: Value = parse_bounded(&text).unwrap();
        assert_eq!(value["n"], 1);
        let mut inner = &value["deep"];
        for _ in 0..SHOWN_DEPTH - 1 {
            inner = &inner[0];
        }
        let note = inner.as_str().expect("the cut is a string");
        assert_eq!(note, format!("(nested more than 64 levels deep: {} characters not shown)", 2 * 137 + 8));
    }

    #[test]
    fn text_that_is_not_json_keeps_its_own_error() {
        let err = parse_bounded::<Value>(&format!("{{\"a\":{}", nested(300))).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
        assert!(parse_bounded::<Value>("{\"a\":").is_err());
    }
}
