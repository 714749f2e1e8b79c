//! RFC 8785 JSON Canonicalization Scheme, through `serde_json_canonicalizer`.

use serde::Serialize;

/// The canonical JSON text of a value.
///
/// Every value this crate canonicalizes is built from `serde_json` types and our own
/// plain structs, which always serialize; a failure would be a bug, so it panics loudly
/// in debug builds and falls back to an empty object otherwise.
pub fn to_canonical_string<T: Serialize>(value: &T) -> String {
    match serde_json_canonicalizer::to_string(value) {
        Ok(s) => s,
        Err(err) => {
            debug_assert!(false, "canonicalization failed: {err}");
            String::from("{}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

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
}
