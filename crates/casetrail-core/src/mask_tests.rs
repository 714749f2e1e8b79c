use super::*;
use crate::time::Timestamp;
use crate::validate::{IngestRules, parse_ingest};
use serde_json::json;

fn masker(patterns: &[&str]) -> Masker {
    let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
    Masker::new(&patterns, FingerprintKey::from_bytes([7; 32]))
}

fn event(body: Value) -> NewEvent {
    let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
    parse_ingest(&body, &rules).unwrap().remove(0)
}

#[test]
fn patterns_match_as_written() {
    let m = masker(&["password", "*.ssn", "bank", "a.*.c"]);
    // the path itself, any case
    assert!(m.matches("password"));
    assert!(m.matches("PassWord"));
    // a leading part
    assert!(m.matches("password.hash"));
    assert!(m.matches("bank.account"));
    assert!(m.matches("bank.account.number"));
    // `*` is one whole segment, never zero and never part of one
    assert!(m.matches("client.ssn"));
    assert!(m.matches("CLIENT.SSN.last4"));
    assert!(!m.matches("ssn"));
    assert!(!m.matches("a.b.ssn"));
    assert!(m.matches("a.x.c"));
    assert!(!m.matches("a.c"));
    // no match inside a segment or at the end of a path
    assert!(!m.matches("user.password"));
    assert!(!m.matches("passwords"));
    assert!(!m.matches("bankruptcy"));
    assert!(!m.matches("ssn_last4.x"));
}

#[test]
fn the_default_patterns_mask_top_level_and_one_level_down() {
    let m = Masker::new(&default_patterns(), FingerprintKey::from_bytes([1; 32]));
    for path in ["password", "user.password", "user.password.hash", "ssn", "client.ssn", "token", "api.token"] {
        assert!(m.matches(path), "{path}");
    }
    for path in ["a.b.password", "status", "tokens", "secretary"] {
        assert!(!m.matches(path), "{path}");
    }
}

#[test]
fn non_ascii_names_ignore_case() {
    let m = masker(&["Größe"]);
    assert!(m.matches("GRÖSSE") || m.matches("größe"));
    assert!(m.matches("größe"));
    assert!(m.matches("GRÖẞE".to_lowercase().as_str()));
}

#[test]
fn bad_patterns_are_named_by_index() {
    let long = "a".repeat(MAX_PATTERN_CHARS + 1);
    let value = json!(["ok", "", "a..b", ".a", "a.", "pass*", 7, "a b", long, "x\u{0}y", "*"]);
    let errors = parse_patterns(Some(&value)).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "fields[1]",
            "fields[2]",
            "fields[3]",
            "fields[4]",
            "fields[5]",
            "fields[6]",
            "fields[7]",
            "fields[8]",
            "fields[9]"
        ]
    );
    assert_eq!(errors[1].message, "has an empty segment (two dots, or a dot at either end)");
    assert_eq!(errors[5].message, "must be a string");
}

#[test]
fn the_list_itself_is_checked() {
    assert_eq!(parse_patterns(None).unwrap_err()[0].field, "fields");
    assert_eq!(parse_patterns(Some(&json!("password"))).unwrap_err()[0].field, "fields");
    let many: Vec<String> = (0..=MAX_PATTERNS).map(|i| format!("f{i}")).collect();
    let errors = parse_patterns(Some(&json!(many))).unwrap_err();
    assert_eq!(errors, [FieldError::new("fields", "may hold at most 100 patterns")]);
    let exactly: Vec<String> = (0..MAX_PATTERNS).map(|i| format!("f{i}")).collect();
    assert_eq!(parse_patterns(Some(&json!(exactly))).unwrap().len(), MAX_PATTERNS);
    let longest = "a".repeat(MAX_PATTERN_CHARS);
    assert_eq!(parse_patterns(Some(&json!([longest.clone()]))).unwrap(), [longest]);
    assert_eq!(parse_patterns(Some(&json!([]))).unwrap(), Vec::<String>::new());
}

#[test]
fn fingerprints_are_hmac_sha256_of_the_canonical_json() {
    // Computed independently: HMAC-SHA256 with 32 bytes of 0x07 over `{"a":1,"b":"x"}`.
    let m = masker(&[]);
    let expected = {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[7; 32]).unwrap();
        mac.update(br#"{"a":1,"b":"x"}"#);
        hex::encode(mac.finalize().into_bytes())[..16].to_string()
    };
    assert_eq!(m.fingerprint(&json!({"b": "x", "a": 1})), expected);
    assert_eq!(m.fingerprint(&json!("123-45-6789")).len(), 16);
    assert_eq!(m.fingerprint(&json!("same")), m.fingerprint(&json!("same")));
    assert_ne!(m.fingerprint(&json!("same")), m.fingerprint(&json!("other")));
    let other_key = Masker::new(&[], FingerprintKey::from_bytes([8; 32]));
    assert_ne!(m.fingerprint(&json!("same")), other_key.fingerprint(&json!("same")));
}

#[test]
fn changes_and_metadata_are_masked_and_null_stays_null() {
    let m = masker(&["ssn", "*.password", "bank"]);
    let mut e = event(json!({
        "actor": {"id": "u1", "name": "Jane"}, "activity": "client.updated",
        "changes": [
            {"field": "ssn", "before": null, "after": "123-45-6789"},
            {"field": "status", "before": "a", "after": "b"},
            {"field": "user.password.hash", "before": "h1", "after": {"x": [1, 2]}}
        ],
        "metadata": {"bank": {"iban": "DE00"}, "user": {"password": "pw", "name": "n"}, "list": [{"ssn": 1}], "note": "ok"}
    }));
    m.mask_event(&mut e);
    let fp = |v: Value| json!({"masked": m.fingerprint(&v)});
    assert_eq!(e.changes[0].before, Value::Null);
    assert_eq!(e.changes[0].after, fp(json!("123-45-6789")));
    assert_eq!((e.changes[1].before.clone(), e.changes[1].after.clone()), (json!("a"), json!("b")));
    assert_eq!(e.changes[2].before, fp(json!("h1")));
    assert_eq!(e.changes[2].after, fp(json!({"x": [1, 2]})));
    assert_eq!(
        Value::Object(e.metadata),
        json!({"bank": fp(json!({"iban": "DE00"})), "user": {"password": fp(json!("pw")), "name": "n"},
               "list": [{"ssn": 1}], "note": "ok"})
    );
}

#[test]
fn snapshots_are_diffed_first_and_masked_after() {
    let m = masker(&["*.ssn"]);
    let mut e = event(json!({
        "actor": {"id": "u1", "name": "Jane"}, "activity": "client.updated",
        "before": {"client": {"ssn": "111", "city": "A"}},
        "after": {"client": {"ssn": "222", "city": "A"}}
    }));
    m.mask_event(&mut e);
    assert_eq!(e.changes.len(), 1);
    assert_eq!(e.changes[0].field, "client.ssn");
    assert_eq!(e.changes[0].before, json!({"masked": m.fingerprint(&json!("111"))}));
    assert_eq!(e.changes[0].after, json!({"masked": m.fingerprint(&json!("222"))}));
}

#[test]
fn a_masked_value_is_recognized_and_nothing_else_is() {
    assert_eq!(masked_fingerprint(&json!({"masked": "0123456789abcdef"})), Some("0123456789abcdef"));
    assert_eq!(masked_fingerprint(&json!({"masked": "0123456789ABCDEF"})), None);
    assert_eq!(masked_fingerprint(&json!({"masked": "0123"})), None);
    assert_eq!(masked_fingerprint(&json!({"masked": "0123456789abcdef", "x": 1})), None);
    assert_eq!(masked_fingerprint(&json!("0123456789abcdef")), None);
}

#[test]
fn the_key_never_prints() {
    let key = FingerprintKey::from_bytes([0xab; 32]);
    assert_eq!(format!("{key:?}"), "FingerprintKey(<redacted>)");
    assert!(!format!("{:?}", Masker::new(&[], key)).contains("171"));
}
