//! RFC 8785 JSON Canonicalization Scheme, through `serde_json_canonicalizer`, with a
//! faster route for the values where `serde_json`'s own compact output already is the
//! canonical text.
//!
//! `serde_json_canonicalizer` buffers and sorts every object as it writes, which costs
//! about 14 µs for a typical event here: a third of an append's time on the writer.
//! `serde_json::Value` keeps objects in a `BTreeMap`, sorted by code point, and its
//! writer escapes strings exactly as JCS does (`\b \t \n \f \r`, other controls as
//! lowercase `\u00xx`, nothing else). It differs from JCS only in two places, and
//! values that touch either take the library's route:
//!
//! - key order, where JCS compares UTF-16 code units: that differs from code point
//!   order only for keys holding characters at or above U+E000;
//! - numbers other than integers within ±2^53, which JCS writes the ECMAScript way.
//!
//! The tests compare both routes on arbitrary values.

use serde::Serialize;
use serde_json::Value;

/// Integers up to this magnitude print the same in ECMAScript and in `serde_json`.
const SAFE_INTEGER: u64 = 1 << 53;

/// The canonical JSON text of a value.
///
/// Every value this crate canonicalizes is built from `serde_json` types and our own
/// plain structs, which always serialize; a failure would be a bug, so it panics loudly
/// in debug builds and falls back to an empty object otherwise.
pub fn to_canonical_string<T: Serialize>(value: &T) -> String {
    if let Ok(tree) = serde_json::to_value(value)
        && sorts_and_prints_alike(&tree)
        && let Ok(text) = serde_json::to_string(&tree)
    {
        return text;
    }
    by_library(value)
}

fn by_library<T: Serialize>(value: &T) -> String {
    match serde_json_canonicalizer::to_string(value) {
        Ok(s) => s,
        Err(err) => {
            debug_assert!(false, "canonicalization failed: {err}");
            String::from("{}")
        }
    }
}

/// Whether `serde_json`'s compact text of `value` is its JCS text (see the module
/// documentation).
fn sorts_and_prints_alike(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => true,
        Value::Number(n) => {
            n.as_u64().is_some_and(|u| u <= SAFE_INTEGER)
                || n.as_i64().is_some_and(|i| i.unsigned_abs() <= SAFE_INTEGER)
        }
        Value::Array(items) => items.iter().all(sorts_and_prints_alike),
        Value::Object(map) => map.iter().all(|(k, v)| k.chars().all(|c| c < '\u{e000}') && sorts_and_prints_alike(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn jcs(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        to_canonical_string(&value)
    }

    // The examples of RFC 8785 §3.2.2 and appendix B.
    #[test]
    fn rfc8785_sorting_and_literals() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            jcs(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_utf16_key_order() {
        let input = r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
            \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
            \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(jcs(input), expected);
    }

    #[test]
    fn rfc8785_number_samples() {
        // Appendix B: IEEE-754 values and their canonical text.
        let cases = [
            (json!(0.0), "0"),
            (json!(-0.0), "0"),
            (json!(5e-324), "5e-324"),
            (json!(1.7976931348623157e308), "1.7976931348623157e+308"),
            (json!(9007199254740992.0), "9007199254740992"),
            (json!(295147905179352830000.0), "295147905179352830000"),
            (json!(1e21), "1e+21"),
            (json!(0.000001), "0.000001"),
            (json!(1e-7), "1e-7"),
        ];
        for (value, expected) in cases {
            assert_eq!(to_canonical_string(&value), expected, "{value}");
        }
    }

    #[test]
    fn fast_route_is_taken_only_where_it_is_exact() {
        assert!(sorts_and_prints_alike(&json!({"a": [1, -2, 9007199254740992_u64], "b": "\u{1f600}\u{7}"})));
        assert!(!sorts_and_prints_alike(&json!({"a": 1.5})));
        assert!(!sorts_and_prints_alike(&json!([9007199254740993_u64])));
        assert!(!sorts_and_prints_alike(&json!({"\u{e000}": 1})));
        assert!(!sorts_and_prints_alike(&json!({"x": {"\u{1f600}": 1}})));
    }

    /// Keys and strings drawn to hit the edges: controls, quotes, backslashes, the
    /// characters around U+E000 and beyond the BMP.
    fn text() -> impl Strategy<Value = String> {
        let chars = prop_oneof![
            (0u32..0x80).prop_map(|c| char::from_u32(c).unwrap_or('a')),
            Just('\u{7f}'),
            Just('\u{e9}'),
            Just('\u{d7ff}'),
            Just('\u{e000}'),
            Just('\u{fb33}'),
            Just('\u{ffff}'),
            Just('\u{10000}'),
            Just('\u{1f600}'),
        ];
        proptest::collection::vec(chars, 0..6).prop_map(|c| c.into_iter().collect())
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-(1i64 << 54)..(1i64 << 54)).prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(text(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn both_routes_give_the_same_text(v in value()) {
            prop_assert_eq!(to_canonical_string(&v), by_library(&v));
        }
    }
}
