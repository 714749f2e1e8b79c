//! `POST /api/v1/events`: what is stored, and every way a request is refused.

use serde_json::{Value, json};

use crate::support::{event, spawn_app};

#[tokio::test]
async fn single_event_is_stored_whole_with_defaults() {
    let app = spawn_app().await;
    let (local, utc) = crate::support::an_hour_ago();
    let body = json!({
        "idempotency_key": "crm-7f3a-91",
        "occurred_at": local,
        "actor": {"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.com", "type": "user"},
        "activity": "case.updated",
        "related": [{"type": "case", "id": "c_204", "name": "Smith v. Jones"}, {"type": "client", "id": "cl_88"}],
        "changes": [{"field": "status", "before": "Intake", "after": "Active"}],
        "metadata": {"source": "web"},
        "context": {"ip": "203.0.113.5"}
    });
    let answer = app.ingest_ok(&body).await;
    let stored = &answer["events"][0];
    assert_eq!(stored["seq"], 1, "a new account's first event has seq 1");
    assert_eq!(stored["duplicate"], false);
    let id = stored["id"].as_str().unwrap();

    let (status, e) = app.admin_get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(e["id"], id);
    assert_eq!(e["account_id"], app.account_id().to_string());
    assert_eq!(e["occurred_at"], utc);
    assert_eq!(e["description"], "Case updated: Smith v. Jones");
    assert_eq!(e["category"], "case");
    assert_eq!(e["activity_label"], "Case updated");
    assert_eq!(e["related"][1], json!({"type": "client", "id": "cl_88", "name": null}));
    assert_eq!(e["changes"], json!([{"field": "status", "before": "Intake", "after": "Active"}]));
    assert_eq!(e["context"], json!({"ip": "203.0.113.5"}));
    assert_eq!(e["metadata"], json!({"source": "web"}));
    assert_eq!(e["idempotency_key"], "crm-7f3a-91");
    assert_eq!(e["prev_hash"], "0".repeat(64));
    assert_eq!(e["hash"].as_str().unwrap().len(), 64);
    let recorded = e["recorded_at"].as_str().unwrap();
    assert!(recorded.ends_with('Z') && recorded.len() == 24, "{recorded}");
    app.stop().await;
}

#[tokio::test]
async fn absent_optional_members_read_as_null_empty_list_or_empty_object() {
    let app = spawn_app().await;
    let answer = app
        .ingest_ok(
            &json!({"actor": {"id": "sys", "name": "Nightly job", "type": "system"}, "activity": "settings.updated"}),
        )
        .await;
    let id = answer["events"][0]["id"].as_str().unwrap().to_string();
    let (_, e) = app.admin_get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(e["actor"], json!({"id": "sys", "name": "Nightly job", "email": null, "type": "system"}));
    assert_eq!(e["idempotency_key"], Value::Null);
    assert_eq!(e["related"], json!([]));
    assert_eq!(e["changes"], json!([]));
    assert_eq!(e["metadata"], json!({}));
    assert_eq!(e["context"], json!({}));
    assert_eq!(e["description"], "Settings updated");
    app.stop().await;
}

#[tokio::test]
async fn before_and_after_snapshots_become_sorted_dotted_changes() {
    let app = spawn_app().await;
    let mut body = event("client.contact_changed", "Updated contact");
    body["before"] = json!({"phone": "555-0100", "address": {"city": "Boston", "zip": "02110"}});
    body["after"] = json!({"phone": "555-0199", "address": {"city": "Cambridge", "zip": "02110"}, "email": "a@b.c"});
    let answer = app.ingest_ok(&body).await;
    let id = answer["events"][0]["id"].as_str().unwrap().to_string();
    let (_, e) = app.admin_get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(
        e["changes"],
        json!([
            {"field": "address.city", "before": "Boston", "after": "Cambridge"},
            {"field": "email", "before": null, "after": "a@b.c"},
            {"field": "phone", "before": "555-0100", "after": "555-0199"}
        ])
    );
    app.stop().await;
}

#[tokio::test]
async fn a_batch_answers_in_input_order_with_consecutive_seqs() {
    let app = spawn_app().await;
    let events: Vec<Value> = (0..5).map(|i| event("case.created", &format!("case {i}"))).collect();
    let answer = app.ingest_ok(&json!({ "events": events })).await;
    let seqs: Vec<u64> = answer["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let (_, list) = app.admin_get("/api/v1/events?limit=10").await;
    let descriptions: Vec<&str> =
        list["events"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap()).collect();
    assert_eq!(descriptions, ["case 4", "case 3", "case 2", "case 1", "case 0"]);
    app.stop().await;
}

#[tokio::test]
async fn idempotency_keys_store_once_and_answer_the_original() {
    let app = spawn_app().await;
    let mut first = event("case.created", "first");
    first["idempotency_key"] = json!("k-1");
    let original = app.ingest(&first).await;
    assert_eq!(original.status(), 201);
    let original: Value = original.json().await.unwrap();

    // Again, with a different payload: still the original, and a 200.
    let mut again = event("case.deleted", "something else");
    again["idempotency_key"] = json!("k-1");
    let response = app.ingest(&again).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["events"][0]["id"], original["events"][0]["id"]);
    assert_eq!(answer["events"][0]["seq"], 1);
    assert_eq!(answer["events"][0]["duplicate"], true);

    // Twice in one batch beside a new event: 201, one new event stored.
    let mut fresh = event("case.created", "fresh");
    fresh["idempotency_key"] = json!("k-2");
    let response = app.ingest(&json!({"events": [fresh.clone(), again, fresh]})).await;
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    let got: Vec<(u64, bool)> = answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_u64().unwrap(), e["duplicate"].as_bool().unwrap()))
        .collect();
    assert_eq!(got, [(2, false), (1, true), (2, true)]);
    let (_, list) = app.admin_get("/api/v1/events").await;
    assert_eq!(list["events"].as_array().unwrap().len(), 2);
    app.stop().await;
}

async fn refused(app: &crate::support::TestApp, body: &Value) -> (u16, Value) {
    let response = app.ingest(body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn fields(error: &Value) -> Vec<String> {
    error["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn every_rule_of_ingest_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"actor": {"id": "u"}, "activity": "case.created"}), vec!["actor.name"]),
        (json!({"actor": {"name": "n"}, "activity": "case.created"}), vec!["actor.id"]),
        (json!({"actor": {"id": "u", "name": "n"}}), vec!["activity"]),
        (json!({"actor": {"id": 5, "name": ["n"]}, "activity": 7}), vec!["actor.id", "actor.name", "activity"]),
        (json!({"actor": {"id": "u", "name": "n", "type": "robot"}, "activity": "case.created"}), vec!["actor.type"]),
        (json!({"actor": {"id": "u", "name": "n"}, "activity": "case.opened"}), vec!["activity"]),
        (json!({"actor": {"id": "u", "name": "n"}, "activity": "system_log.exported"}), vec!["activity"]),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "occurred_at": "2999-01-01T00:00:00Z"}),
            vec!["occurred_at"],
        ),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "occurred_at": "2020-01-01T00:00:00Z"}),
            vec!["occurred_at"],
        ),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "occurred_at": "last tuesday"}),
            vec!["occurred_at"],
        ),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "related": [{"type": "matter", "id": "m"}]}),
            vec!["related[0].type"],
        ),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "related": [{"type": "case"}]}),
            vec!["related[0].id"],
        ),
        (json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "metadata": "x"}), vec!["metadata"]),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "context": {"ip": 1}}),
            vec!["context.ip"],
        ),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "changes": [], "before": {}, "after": {}}),
            vec!["changes"],
        ),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "description": "d".repeat(2001)}),
            vec!["description"],
        ),
        (
            json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "idempotency_key": "k".repeat(201)}),
            vec!["idempotency_key"],
        ),
        (
            json!({"events": [event("case.created", "ok"), {"actor": {"id": "u", "name": "n"}, "activity": "case.opened"}]}),
            vec!["events[1].activity"],
        ),
        (json!({"events": []}), vec!["events"]),
        (json!([1, 2]), vec!["body"]),
    ];
    for (body, expected) in cases {
        let (status, error) = refused(&app, &body).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error["error"]["code"], "validation_failed");
        assert_eq!(fields(&error), expected, "{body}");
    }
    // Nothing of any refused request was stored.
    let (_, list) = app.admin_get("/api/v1/events").await;
    assert_eq!(list["events"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies() {
    let app = spawn_app().await;
    let key = app.firm.ingest_key.clone();
    for bad in [&b"{"[..], b"not json", b"", b"{\"actor\": }", b"\xff\xfe{}"] {
        let response = app.post_raw("/api/v1/events", &key, bad.to_vec()).await;
        assert_eq!(response.status(), 400, "{:?}", String::from_utf8_lossy(bad));
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "bad_request");
    }
    // Invalid UTF-8 inside a JSON string.
    let mut bytes = br#"{"actor": {"id": "u", "name": "#.to_vec();
    bytes.extend_from_slice(b"\"\xc3\x28\"}, \"activity\": \"case.created\"}");
    assert_eq!(app.post_raw("/api/v1/events", &key, bytes).await.status(), 400);

    let big = json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "metadata": {"x": "y".repeat(1024 * 1024)}});
    let response = app.ingest(&big).await;
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "payload_too_large");

    let many: Vec<Value> =
        (0..1001).map(|_| json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created"})).collect();
    let response = app.ingest(&json!({ "events": many })).await;
    assert_eq!(response.status(), 413);

    let (_, list) = app.admin_get("/api/v1/events").await;
    assert_eq!(list["events"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn hostile_strings_are_stored_and_returned_verbatim() {
    let app = spawn_app().await;
    let nasty = "<script>alert(1)</script> '; DROP TABLE events;-- =HYPERLINK(\"x\") 🚀 O'Brien \"quoted\" \u{202e}";
    let body = json!({
        "actor": {"id": "u'1", "name": nasty},
        "activity": "communication.sms_sent",
        "description": nasty,
        "related": [{"type": "client", "id": "cl'1\"", "name": nasty}],
        "metadata": {"body": nasty}
    });
    let answer = app.ingest_ok(&body).await;
    let id = answer["events"][0]["id"].as_str().unwrap().to_string();
    let (_, e) = app.admin_get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(e["description"], nasty);
    assert_eq!(e["actor"]["name"], nasty);
    assert_eq!(e["related"][0]["id"], "cl'1\"");
    assert_eq!(e["metadata"]["body"], nasty);
    app.stop().await;
}

#[tokio::test]
async fn errors_carry_no_internals() {
    let app = spawn_app().await;
    let response = app.post_raw("/api/v1/events", &app.firm.ingest_key, "{\"actor\": ").await;
    let text = response.text().await.unwrap();
    for leak in ["sqlite", "SELECT", "panicked", "/src/", ".rs:"] {
        assert!(!text.contains(leak), "{text}");
    }
    app.stop().await;
}
