use serde_json::json;

use super::*;
use crate::event::ActorType;

fn rules() -> IngestRules {
    IngestRules {
        now: Timestamp::parse("2026-11-25T12:00:00Z").unwrap(),
        window_start: Some(crate::retention::RetentionWindow::uniform(Some(
            Timestamp::parse("2026-08-27T12:00:00Z").unwrap(),
        ))),
        allow_reserved: false,
    }
}

fn invalid(body: Value) -> Vec<(String, String)> {
    match parse_ingest(&body, &rules()) {
        Err(IngestError::Invalid(errors)) => errors.into_iter().map(|e| (e.field, e.message)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn fields(body: Value) -> Vec<String> {
    invalid(body).into_iter().map(|(f, _)| f).collect()
}

fn minimal() -> Value {
    json!({"actor": {"id": "u_1", "name": "Jane Doe"}, "activity": "case.updated"})
}

#[test]
fn a_minimal_event_gets_defaults() {
    let events = parse_ingest(&minimal(), &rules()).unwrap();
    let e = &events[0];
    assert_eq!(e.occurred_at, rules().now);
    assert_eq!(e.actor.kind, ActorType::User);
    assert_eq!(e.actor.email, None);
    assert_eq!(e.description, "Case updated");
    assert!(e.related.is_empty() && e.changes.is_empty() && e.metadata.is_empty());
    assert_eq!(e.context, Context::default());
}

#[test]
fn default_description_names_the_first_related_record() {
    let mut body = minimal();
    body["related"] =
        json!([{"type": "case", "id": "c_1", "name": "Smith v. Jones"}, {"type": "client", "id": "cl_1"}]);
    assert_eq!(parse_ingest(&body, &rules()).unwrap()[0].description, "Case updated: Smith v. Jones");
    body["related"] = json!([{"type": "client", "id": "cl_9"}]);
    assert_eq!(parse_ingest(&body, &rules()).unwrap()[0].description, "Case updated: cl_9");
}

#[test]
fn every_bad_field_is_named() {
    let body = json!({
        "actor": {"id": 17, "type": "robot"},
        "activity": "case.opened",
        "occurred_at": "yesterday",
        "description": 5,
        "related": [{"type": "matter", "id": ""}],
        "metadata": [],
        "context": {"ip": 1, "referrer": "x"},
        "surprise": true
    });
    let mut got = fields(body);
    got.sort();
    assert_eq!(
        got,
        [
            "activity",
            "actor.id",
            "actor.name",
            "actor.type",
            "context.ip",
            "context.referrer",
            "description",
            "metadata",
            "occurred_at",
            "related[0].id",
            "related[0].type",
            "surprise"
        ]
    );
}

#[test]
fn batch_errors_are_indexed_and_the_batch_is_refused_whole() {
    let body = json!({"events": [minimal(), {"actor": {"id": "u", "name": "n"}, "activity": "case.opened"}, minimal(), {"activity": "case.created"}]});
    let errs = invalid(body);
    assert_eq!(errs[0], ("events[1].activity".to_string(), "unknown activity type \"case.opened\"".to_string()));
    assert_eq!(errs[1].0, "events[3].actor");
    assert_eq!(errs.len(), 2);
}

#[test]
fn batch_sizes() {
    let many: Vec<Value> = (0..1001).map(|_| minimal()).collect();
    assert_eq!(parse_ingest(&json!({"events": many}), &rules()), Err(IngestError::TooManyEvents(1001)));
    assert_eq!(fields(json!({"events": []})), ["events"]);
    assert_eq!(fields(json!({"events": {}})), ["events"]);
    let thousand: Vec<Value> = (0..1000).map(|_| minimal()).collect();
    assert_eq!(parse_ingest(&json!({"events": thousand}), &rules()).unwrap().len(), 1000);
    assert_eq!(fields(json!([minimal()])), ["body"]);
    assert_eq!(fields(json!({"events": [5]})), ["events[0]"]);
}

#[test]
fn time_rules() {
    let mut body = minimal();
    body["occurred_at"] = json!("2026-11-25T12:06:00Z");
    assert_eq!(invalid(body.clone())[0].1, "may not be more than 5 minutes in the future");
    body["occurred_at"] = json!("2026-11-25T12:04:59.999Z");
    assert!(parse_ingest(&body, &rules()).is_ok());
    body["occurred_at"] = json!("2026-08-27T11:59:59.999Z");
    assert!(invalid(body.clone())[0].1.contains("retention window"));
    body["occurred_at"] = json!(1764072000);
    assert_eq!(fields(body), ["occurred_at"]);
}

#[test]
fn each_category_is_held_to_its_own_window() {
    let default = Timestamp::parse("2026-08-27T12:00:00Z").unwrap();
    let team = Timestamp::parse("2019-11-27T12:00:00Z").unwrap();
    let window = crate::retention::RetentionWindow::new(Some(default), |c| match c {
        "team" => Some(Some(team)),
        "communication" => Some(None),
        _ => None,
    });
    let rules = IngestRules { window_start: Some(window), ..rules() };
    let outcome = |activity: &str, at: &str| {
        let mut body = minimal();
        body["activity"] = json!(activity);
        body["occurred_at"] = json!(at);
        parse_ingest(&body, &rules).map(drop).map_err(|e| match e {
            IngestError::Invalid(errors) => errors.into_iter().map(|e| (e.field, e.message)).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        })
    };
    // Team events are kept for seven years: a five-year-old one is inside the window.
    assert_eq!(outcome("team.user_logged_in", "2021-11-25T12:00:00Z"), Ok(()));
    assert_eq!(outcome("team.user_logged_in", "2019-11-27T12:00:00Z"), Ok(()));
    let refused = outcome("team.user_logged_in", "2019-11-27T11:59:59.999Z").unwrap_err();
    assert_eq!(refused[0].0, "occurred_at");
    assert!(refused[0].1.contains("retention window of the account's team events"), "{refused:?}");
    // Communications are kept forever; the others follow the account's 90 days.
    assert_eq!(outcome("communication.sms_sent", "2001-01-01T00:00:00Z"), Ok(()));
    assert_eq!(outcome("case.updated", "2026-08-27T12:00:00Z"), Ok(()));
    let refused = outcome("case.updated", "2026-08-27T11:59:59.999Z").unwrap_err();
    assert!(refused[0].1.starts_with("lies before the account's retention window"), "{refused:?}");
    // An unknown activity is refused for itself and held to the account's window.
    let refused = outcome("case.opened", "2021-11-25T12:00:00Z").unwrap_err();
    assert_eq!(refused.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["occurred_at", "activity"]);
}

#[test]
fn reserved_activities_only_from_casetrail() {
    let mut body = minimal();
    body["activity"] = json!("system_log.purged");
    assert!(invalid(body.clone())[0].1.contains("written by casetrail itself"));
    let own = IngestRules { allow_reserved: true, ..rules() };
    assert!(parse_ingest(&body, &own).is_ok());
}

#[test]
fn limits() {
    let mut body = minimal();
    body["description"] = json!("d".repeat(2001));
    assert_eq!(fields(body.clone()), ["description"]);
    body["description"] = json!("é".repeat(2000));
    assert!(parse_ingest(&body, &rules()).is_ok(), "limits count characters, not bytes");
    body["idempotency_key"] = json!("k".repeat(201));
    assert_eq!(fields(body.clone()), ["idempotency_key"]);
    body["idempotency_key"] = json!("k");
    body["related"] = json!((0..51).map(|i| json!({"type": "case", "id": i.to_string()})).collect::<Vec<_>>());
    assert_eq!(fields(body.clone()), ["related"]);
    body["related"] = json!([]);
    body["changes"] =
        json!((0..501).map(|i| json!({"field": i.to_string(), "before": 1, "after": 2})).collect::<Vec<_>>());
    assert_eq!(fields(body.clone()), ["changes"]);
    body["changes"] = json!([]);
    body["metadata"] = json!({"blob": "x".repeat(16 * 1024)});
    assert_eq!(fields(body.clone()), ["metadata"]);
    body["metadata"] = json!({});
    body["actor"]["name"] = json!("n".repeat(10_001));
    assert_eq!(fields(body), ["actor.name"]);
}

#[test]
fn before_after_snapshots() {
    let mut body = minimal();
    body["before"] = json!({"status": "Intake", "owner": {"name": "Ann"}});
    body["after"] = json!({"status": "Active", "owner": {"name": "Bob"}});
    let e = parse_ingest(&body, &rules()).unwrap().remove(0);
    let got: Vec<_> = e.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(got, ["owner.name", "status"]);
    body["changes"] = json!([]);
    assert_eq!(fields(body.clone()), ["changes"]);
    let mut one_side = minimal();
    one_side["before"] = json!({"a": 1});
    assert_eq!(fields(one_side), ["after"]);
    let mut not_object = minimal();
    not_object["before"] = json!("x");
    not_object["after"] = json!({});
    assert_eq!(fields(not_object), ["before"]);
}

/// Found by the ingest_validator fuzz target: a snapshot key "" gave a change whose
/// field is empty, which a `changes` entry may not have, so the stored event could not
/// be sent again as it reads. Snapshot paths now keep the rules of `field`.
#[test]
fn snapshot_paths_keep_the_rules_of_a_change_field() {
    let with = |before: Value, after: Value| {
        let mut body = minimal();
        body["before"] = before;
        body["after"] = after;
        invalid(body)
    };
    assert_eq!(
        with(json!({"status": "open"}), json!({"": "closed", "status": "open"})),
        [("after".to_string(), "the changed field \"\" must not be empty".to_string())]
    );
    assert_eq!(
        with(json!({" ": 1}), json!({})),
        [("before".to_string(), "the changed field \" \" must not be empty".to_string())]
    );
    assert_eq!(fields(with_snapshot_key("a\u{0}b")), ["after"]);
    assert_eq!(fields(with_snapshot_key(&"k".repeat(MAX_STRING_CHARS + 1))), ["after"]);
    // A nested empty key still makes a dotted path that is not empty: accepted.
    let mut nested = minimal();
    nested["before"] = json!({});
    nested["after"] = json!({"a": {"": 1}});
    let changes = parse_ingest(&nested, &rules()).unwrap().remove(0).changes;
    assert_eq!(changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["a."]);
}

fn with_snapshot_key(key: &str) -> Value {
    let mut body = minimal();
    body["before"] = json!({});
    body["after"] = json!({ key: 1 });
    body
}

#[test]
fn hostile_strings_are_kept_verbatim() {
    let mut body = minimal();
    let nasty = "<script>alert(1)</script>'; DROP TABLE events;-- =cmd|' 🚀 \u{1}\u{7f}";
    body["description"] = json!(nasty);
    body["actor"]["name"] = json!(nasty);
    let e = parse_ingest(&body, &rules()).unwrap().remove(0);
    assert_eq!(e.description, nasty);
    assert_eq!(e.actor.name, nasty);
}

fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[test]
fn nesting_depth_counts_levels_of_arrays_and_objects() {
    assert_eq!(nesting_depth(&json!(1)), 0);
    assert_eq!(nesting_depth(&json!({"a": [1, {"b": []}]})), 4);
    assert_eq!(nesting_depth(&nested(120)), 120);
}

#[test]
fn members_nested_too_deep_are_refused_by_name() {
    let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
    let event = |member: &str, value: Value| {
        let mut e = json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated"});
        e[member] = value;
        parse_event(&e, "", &rules)
    };
    assert!(event("metadata", json!({"k": nested(MAX_NESTING - 1)})).is_ok(), "32 levels are fine");
    for member in ["metadata", "before", "after", "changes"] {
        let value = match member {
            "changes" => json!([{"field": "k", "before": nested(MAX_NESTING), "after": 1}]),
            _ => json!({"k": nested(125)}),
        };
        let errors = event(member, value).expect_err("too deep");
        assert!(errors.iter().any(|e| e.field == member && e.message.contains("nested")), "{member}: {errors:?}");
    }
}

#[test]
fn a_nul_character_in_a_text_member_is_refused_by_name() {
    let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
    let base = json!({"actor": {"id": "u1", "name": "Jane", "email": "j@x.example"}, "activity": "case.updated",
                      "description": "ok", "idempotency_key": "k1",
                      "related": [{"type": "case", "id": "c1", "name": "Smith"}]});
    let cases: [(&[&str], &str); 6] = [
        (&["actor", "id"], "actor.id"),
        (&["actor", "name"], "actor.name"),
        (&["actor", "email"], "actor.email"),
        (&["description"], "description"),
        (&["idempotency_key"], "idempotency_key"),
        (&["related", "0", "id"], "related[0].id"),
    ];
    for (path, field) in cases {
        let mut e = base.clone();
        let slot = path.iter().fold(&mut e, |v, k| match k.parse::<usize>() {
            Ok(i) => &mut v[i],
            Err(_) => &mut v[*k],
        });
        *slot = json!("bad\u{0}value");
        let errors = parse_event(&e, "", &rules).expect_err("a NUL is refused");
        assert!(errors.iter().any(|x| x.field == field && x.message.contains("NUL")), "{field}: {errors:?}");
    }
    // Inside metadata the value stays JSON (escaped), which every store holds.
    let mut e = base.clone();
    e["metadata"] = json!({"note": "a\u{0}b"});
    assert!(parse_event(&e, "", &rules).is_ok());
}
