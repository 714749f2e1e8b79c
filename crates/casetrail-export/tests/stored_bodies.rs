//! `write_stored` (cells read straight from a stored body) against the path it
//! replaced: the same body parsed into an `Event` as `ChainedEvent::event` parses it,
//! then `write_event`. Byte for byte, on hostile events, and the same refusals.

mod common;

use std::io::{Cursor, Read};

use casetrail_core::bounded::parse_bounded;
use casetrail_core::mask::{FingerprintKey, Masker};
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_core::{Change, Event};
use casetrail_export::{ExportError, ExportOptions, ExportWriter, Format};
use common::{event, hostile_events, now, simple};
use serde_json::{Value, json};

/// The export of `bodies` by the old path (`parsed`) or the new one.
fn export_bodies(format: Format, bodies: &[String], parsed: bool) -> Vec<u8> {
    let options = ExportOptions::default().rows_per_sheet(7);
    let mut writer = ExportWriter::with_options(format, Vec::new(), &options).unwrap();
    for body in bodies {
        if parsed {
            let event: Event = parse_bounded(body).unwrap();
            writer.write_event(&event).unwrap();
        } else {
            writer.write_stored(body).unwrap();
        }
    }
    writer.finish().unwrap().sink
}

/// Every member of an XLSX zip but `docProps/core.xml`, which holds the time it was
/// made.
fn xlsx_members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut members = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        let name = file.name().unwrap().to_string();
        if name != "docProps/core.xml" {
            members.push((name, content));
        }
    }
    members
}

/// Both formats, both paths: the same bytes (XLSX: the same files in the zip).
fn assert_same_exports(bodies: &[String]) {
    let (old, new) = (export_bodies(Format::Csv, bodies, true), export_bodies(Format::Csv, bodies, false));
    if old != new {
        let (old, new) = (String::from_utf8_lossy(&old), String::from_utf8_lossy(&new));
        for (i, (o, n)) in old.split("\r\n").zip(new.split("\r\n")).enumerate() {
            assert_eq!(o, n, "CSV line {i}");
        }
        panic!("the CSV exports differ in length");
    }
    let old = xlsx_members(&export_bodies(Format::Xlsx, bodies, true));
    let new = xlsx_members(&export_bodies(Format::Xlsx, bodies, false));
    assert_eq!(old.len(), new.len());
    for ((name, o), (_, n)) in old.iter().zip(&new) {
        assert!(o == n, "XLSX member {name} differs");
    }
}

fn bodies(events: &[Event]) -> Vec<String> {
    events.iter().map(Event::canonical_body).collect()
}

/// An event whose changes' values are masked by ingest, beside near misses that are
/// only JSON.
fn masked_event() -> Event {
    let rules = IngestRules { now: now(), window_start: None, allow_reserved: true };
    let body = json!({
        "occurred_at": "2026-11-25T10:15:30.123Z",
        "actor": {"id": "u_1", "name": "Jane Doe"},
        "activity": "client.updated",
        "changes": [
            {"field": "ssn", "before": "123-45-6789", "after": {"nested": [1, 2]}},
            {"field": "password", "before": null, "after": "hunter2"},
            {"field": "near_miss", "before": {"masked": "XYZ"}, "after": {"masked": "0123456789abcdef", "x": 1}},
            {"field": "looks_masked", "before": {"masked": "0123456789abcdef"}, "after": {"masked": "0123456789ABCDEF"}}
        ],
        "metadata": {"client": {"ssn": "987-65-4321"}, "token": "t"}
    });
    let mut new = parse_ingest(&body, &rules).unwrap().remove(0);
    let patterns = casetrail_core::mask::default_patterns();
    Masker::new(&patterns, FingerprintKey::from_bytes([7; 32])).mask_event(&mut new);
    new.into_event(simple(1).id, simple(1).account_id, 1, now())
}

/// Texts of every length around Excel's limit, JSON escapes and strings of every
/// JSON type in the changes.
fn long_and_escaped_events() -> Vec<Event> {
    let mut events = Vec::new();
    for (i, len) in [0usize, 1, 32_766, 32_767, 32_768, 100_000].into_iter().enumerate() {
        let mut e = simple(200 + i as u64);
        e.description = "é\\\"\u{1}😀".repeat(len / 4) + &"x".repeat(len % 4);
        e.actor.name = "=".repeat(len.min(40_000));
        e.changes.push(Change {
            field: "note".into(),
            before: Value::String(e.description.clone()),
            after: json!(null),
        });
        events.push(e);
    }
    let mut e = simple(300);
    e.changes = vec![
        Change { field: "n".into(), before: json!(-0.0), after: json!(1e300) },
        Change { field: "i".into(), before: json!(i64::MIN), after: json!(u64::MAX) },
        Change { field: "f".into(), before: json!(0.1), after: json!(-1.5e-7) },
        Change { field: "b".into(), before: json!(true), after: json!([]) },
        Change {
            field: "o".into(),
            before: json!({}),
            after: json!({"b": {"z": 1, "a": [null, "é\n"]}, "a": "\"q\""}),
        },
        Change { field: "keys".into(), before: json!({"\u{10000}": 1, "\u{ffff}": 2, "é": 3}), after: json!("") },
    ];
    e.actor.email = None;
    e.context.ip = None;
    events.push(e);
    events
}

#[test]
fn hostile_events_export_the_same_bytes() {
    let mut events = hostile_events();
    events.push(masked_event());
    events.extend(long_and_escaped_events());
    assert_same_exports(&bodies(&events));
}

#[test]
fn masked_values_are_shown_masked() {
    let bodies = bodies(&[masked_event()]);
    let csv = export_bodies(Format::Csv, &bodies, false);
    let text = String::from_utf8(csv).unwrap();
    let changes = "ssn: [masked] → [masked]; password: null → [masked]; \
                   near_miss: {\"\"masked\"\":\"\"XYZ\"\"} → {\"\"masked\"\":\"\"0123456789abcdef\"\",\"\"x\"\":1}; \
                   looks_masked: [masked] → {\"\"masked\"\":\"\"0123456789ABCDEF\"\"}";
    assert!(text.contains(changes), "{text}");
    assert!(!text.contains("123-45-6789") && !text.contains("hunter2"));
}

/// `{"k": [[...["bottom"]...]]}`, `levels` deep below `k`.
fn nested(levels: usize) -> String {
    format!("{}\"bottom\"{}", "[".repeat(levels), "]".repeat(levels))
}

/// A valid body with its member `name` replaced by raw JSON text.
fn with_member(name: &str, raw: &str) -> String {
    let mut value: Value = serde_json::from_str(&simple(5).canonical_body()).unwrap();
    value[name] = json!("PLACEHOLDER");
    serde_json::to_string(&value).unwrap().replace("\"PLACEHOLDER\"", raw)
}

#[test]
fn bodies_nested_past_the_parsers_limit_are_read_as_before() {
    let deep_change = format!(r#"[{{"field":"deep","before":{},"after":null}}]"#, nested(200));
    let shallow_change = format!(r#"[{{"field":"deep","before":{},"after":null}}]"#, nested(70));
    let deep_metadata = format!(r#"{{"deep":{}}}"#, nested(200));
    let both = with_member("changes", &shallow_change).replacen(
        r#""metadata":{}"#,
        &format!(r#""metadata":{deep_metadata}"#),
        1,
    );
    assert!(both.contains(&deep_metadata), "the metadata was replaced");
    let bodies = vec![
        with_member("changes", &deep_change),
        with_member("metadata", &deep_metadata),
        // The metadata's depth makes the old path cut the change's value too.
        both,
        with_member("changes", &shallow_change),
    ];
    // The first three are past serde_json's own limit, the last within it.
    let plain: Vec<bool> = bodies.iter().map(|b| serde_json::from_str::<Event>(b).is_ok()).collect();
    assert_eq!(plain, [false, false, false, true]);
    assert_same_exports(&bodies);
    let text = String::from_utf8(export_bodies(Format::Csv, &bodies[2..3], false)).unwrap();
    assert!(text.contains("(nested more than 64 levels deep"), "{text}");
}

/// Whether the old path reads `body`, and whether the new one does; and when both
/// do, that they write the same CSV.
fn both_read(body: &str) -> (bool, bool) {
    let old = parse_bounded::<Event>(body).is_ok();
    let mut writer = ExportWriter::new(Format::Csv, Vec::new()).unwrap();
    let new = match writer.write_stored(body) {
        Ok(()) => true,
        Err(ExportError::Unreadable(_)) => {
            assert!(matches!(writer.write_stored(body), Err(ExportError::AlreadyFailed)));
            false
        }
        Err(other) => panic!("{other:?}"),
    };
    if old && new {
        assert_same_exports(&[body.to_string()]);
    }
    (old, new)
}

#[test]
fn what_an_event_refuses_the_view_refuses() {
    let valid = simple(5).canonical_body();
    let cases: Vec<(&str, String)> = vec![
        ("valid", valid.clone()),
        ("unknown member", valid.replacen('{', r#"{"zzz":{"a":[1,{"b":2}]},"#, 1)),
        ("unknown context member", with_member("context", r#"{"ip":"1.2.3.4","extra":"x"}"#)),
        ("empty context", with_member("context", "{}")),
        ("context not an object", with_member("context", "[]")),
        ("metadata null", with_member("metadata", "null")),
        ("metadata an array", with_member("metadata", "[]")),
        ("metadata a string", with_member("metadata", r#""x""#)),
        ("metadata with numbers", with_member("metadata", r#"{"a":1e400}"#)),
        ("metadata raw token, not JSON", with_member("metadata", r#"{"a":{"$serde_json::private::RawValue":"nope"}}"#)),
        ("metadata raw token, JSON", with_member("metadata", r#"{"a":{"$serde_json::private::RawValue":"[1]"}}"#)),
        (
            "metadata raw token, later key",
            with_member("metadata", r#"{"a":{"b":1,"$serde_json::private::RawValue":"x"}}"#),
        ),
        (
            "change raw token",
            with_member("changes", r#"[{"field":"f","before":{"$serde_json::private::RawValue":"x"},"after":1}]"#),
        ),
        ("change without after", with_member("changes", r#"[{"field":"f","before":1}]"#)),
        ("change with a number field", with_member("changes", r#"[{"field":1,"before":1,"after":2}]"#)),
        ("change too big a number", with_member("changes", r#"[{"field":"f","before":1e400,"after":2}]"#)),
        ("related of an unknown type", with_member("related", r#"[{"type":"matter","id":"m"}]"#)),
        ("related without an id", with_member("related", r#"[{"type":"case","name":"x"}]"#)),
        ("related name null", with_member("related", r#"[{"type":"case","id":"c","name":null}]"#)),
        ("related missing", valid.replacen(r#""related":"#, r#""zrelated":"#, 1)),
        ("unknown activity", with_member("activity", r#""case.opened""#)),
        ("occurred_at without offset", with_member("occurred_at", r#""2026-11-25T10:15:30""#)),
        ("occurred_at another offset", with_member("occurred_at", r#""2026-11-25T11:15:30.5+01:00""#)),
        ("occurred_at before 1970", with_member("occurred_at", r#""1969-12-31T23:59:59.999Z""#)),
        ("recorded_at broken", with_member("recorded_at", r#""yesterday""#)),
        ("id not a uuid", with_member("id", r#""e_1""#)),
        ("id in capitals", with_member("id", r#""0193A5B2-0000-7000-8000-000000000005""#)),
        ("account_id missing", valid.replacen(r#""account_id":"#, r#""zaccount_id":"#, 1)),
        ("seq negative", with_member("seq", "-1")),
        ("seq a float", with_member("seq", "1.0")),
        ("actor of an unknown type", with_member("actor", r#"{"id":"u","name":"n","type":"robot"}"#)),
        ("actor email null", with_member("actor", r#"{"id":"u","name":"n","email":null,"type":"user"}"#)),
        ("actor email a number", with_member("actor", r#"{"id":"u","name":"n","email":5,"type":"user"}"#)),
        ("actor extra member", with_member("actor", r#"{"id":"u","name":"n","type":"user","x":[1]}"#)),
        ("description null", with_member("description", "null")),
        ("description escaped", with_member("description", r#""tab\there \u00e9 \ud83d\ude00""#)),
        ("lone surrogate", with_member("description", r#""\ud800""#)),
        ("idempotency key a number", with_member("idempotency_key", "1")),
        ("duplicate member", valid.replacen('{', r#"{"description":"first","#, 1)),
        ("trailing text", format!("{valid} x")),
        ("not JSON", "{".to_string()),
    ];
    for (what, body) in &cases {
        let (old, new) = both_read(body);
        assert_eq!(old, new, "{what}: the old path reads it: {old}, the new: {new}\n{body}");
    }
    // Some of them are read, some refused: the cases test both sides.
    let read = cases.iter().filter(|(_, b)| parse_bounded::<Event>(b).is_ok()).count();
    assert!(read > 8 && read < cases.len() - 8, "{read} of {} read", cases.len());
}

#[test]
fn escaped_texts_are_unescaped() {
    let e = event(
        json!({"actor": {"id": "u", "name": "Say \"hi\"\n"}, "activity": "case.created", "description": "plain"}),
        1,
    );
    assert_same_exports(&bodies(&[e]));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '=', '+', '-', '@', '\t', '\r', '\n', '"', '\\', ',', '<', '&', '_', ' ', 'é', '😀', '\u{1}', '\u{7f}',
            '\u{fffe}', '\u{2028}',
        ]);
        prop::collection::vec(prop_oneof![3 => special, 2 => any::<char>()], 0..10)
            .prop_map(|v| v.into_iter().collect())
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text().prop_map(Value::from),
            "[0-9a-f]{16}".prop_map(|hex| json!({ "masked": hex })),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec((text(), inner), 0..4)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_event_exports_the_same_bytes(
            name in text(), details in text(), ip in prop::option::of(text()), email in prop::option::of(text()),
            changes in prop::collection::vec((text(), value(), value()), 0..4),
            related in prop::collection::vec((text(), prop::option::of(text())), 0..3),
        ) {
            let mut e = simple(1);
            e.actor.name = name;
            e.actor.email = email;
            e.description = details;
            e.context.ip = ip;
            e.changes = changes.into_iter().map(|(field, before, after)| Change { field, before, after }).collect();
            e.related = related
                .into_iter()
                .map(|(id, name)| casetrail_core::Related { kind: casetrail_core::RecordType::Client, id, name })
                .collect();
            let bodies = bodies(&[e]);
            prop_assert_eq!(export_bodies(Format::Csv, &bodies, true), export_bodies(Format::Csv, &bodies, false));
        }
    }
}
