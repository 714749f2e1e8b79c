//! Masking (docs/API.md §14): the settings endpoint, values replaced at ingest before
//! anything is stored, and how masked values read in the API and the export.

use casetrail_core::mask::{FingerprintKey, Masker, default_patterns};
use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, TestApp, spawn_app};

const SECRET: &str = "Sekrit-SSN-4242";
const VISIBLE: &str = "Visible-Marker-7311";

async fn put_masking(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    let response = app.client.put(app.url("/api/v1/settings/masking")).bearer_auth(key).json(body).send().await;
    let response = response.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn fields_named(body: &Value) -> Vec<String> {
    body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap().to_string()).collect()
}

/// The fingerprint the server must have written, computed from the account's key
/// as the store keeps it.
async fn fingerprint(app: &TestApp, value: &Value) -> String {
    let key = app.store.fingerprint_key(app.account_id(), FingerprintKey::from_bytes([0; 32])).await.unwrap();
    assert_ne!(key, FingerprintKey::from_bytes([0; 32]), "the server made the key");
    Masker::new(&[], key).fingerprint(value)
}

async fn stored_event(app: &TestApp, answer: &Value) -> Value {
    let id = answer["events"][0]["id"].as_str().unwrap();
    let (status, event) = app.admin_get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(status, 200);
    event
}

#[tokio::test]
async fn a_new_account_masks_the_default_patterns() {
    let app = spawn_app().await;
    let (status, body) = app.admin_get("/api/v1/settings/masking").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"fields": ["password", "*.password", "ssn", "*.ssn", "secret", "*.secret", "token", "*.token"]})
    );
    app.stop().await;
}

#[tokio::test]
async fn masked_values_are_fingerprints_and_nowhere_in_the_database() {
    let app = spawn_app().await;
    let answer = app
        .ingest_ok(&json!({
            "actor": {"id": "u_17", "name": "Jane Doe"}, "activity": "client.updated",
            "description": format!("Updated client {VISIBLE}"),
            "related": [{"type": "client", "id": "cl_1", "name": "John Smith"}],
            "changes": [{"field": "SSN", "before": null, "after": SECRET},
                        {"field": "status", "before": "Intake", "after": "Active"}],
            "metadata": {"source": "web", "client": {"ssn": SECRET, "token": {"a": [SECRET]}}}
        }))
        .await;
    let event = stored_event(&app, &answer).await;
    let fp = fingerprint(&app, &json!(SECRET)).await;
    assert_eq!(fp.len(), 16);
    assert_eq!(
        event["changes"],
        json!([{"field": "SSN", "before": null, "after": {"masked": fp}},
               {"field": "status", "before": "Intake", "after": "Active"}])
    );
    let token_fp = fingerprint(&app, &json!({"a": [SECRET]})).await;
    assert_eq!(
        event["metadata"],
        json!({"source": "web", "client": {"ssn": {"masked": fp}, "token": {"masked": token_fp}}})
    );

    // Snapshots: the diff first, then the mask; an equal value has an equal fingerprint.
    let answer = app
        .ingest_ok(&json!({
            "actor": {"id": "u_17", "name": "Jane Doe"}, "activity": "client.updated",
            "before": {"user": {"password": "old-pw-9911", "name": "A"}},
            "after": {"user": {"password": SECRET, "name": "B"}}
        }))
        .await;
    let event = stored_event(&app, &answer).await;
    let old_fp = fingerprint(&app, &json!("old-pw-9911")).await;
    assert_eq!(
        event["changes"],
        json!([{"field": "user.name", "before": "A", "after": "B"},
               {"field": "user.password", "before": {"masked": old_fp}, "after": {"masked": fp}}])
    );

    // Nothing of the values is stored: not in the database file, its WAL, or the
    // search index. The scan can fail: it finds what was not masked.
    assert!(app.stored_anywhere(VISIBLE).await, "the scan finds an unmasked value");
    assert!(app.stored_anywhere("Intake").await);
    for needle in [SECRET, "old-pw-9911"] {
        assert!(!app.stored_anywhere(needle).await, "{needle} was stored");
    }
    let (_, found) = app.admin_get("/api/v1/events?q=sekrit").await;
    assert_eq!(found["events"], json!([]));
    let (_, found) = app.admin_get(&format!("/api/v1/events?q={}", VISIBLE.to_lowercase())).await;
    assert_eq!(found["events"].as_array().unwrap().len(), 1);

    // The export shows [masked].
    let csv = app.get("/api/v1/events/export?format=csv", &app.firm.admin_key).await.text().await.unwrap();
    assert!(csv.contains("SSN: null → [masked]; status: Intake → Active"), "{csv}");
    assert!(csv.contains("user.password: [masked] → [masked]"), "{csv}");
    assert!(!csv.contains(SECRET) && !csv.contains(&fp), "{csv}");
    app.stop().await;
}

#[tokio::test]
async fn each_account_has_its_own_fingerprints() {
    let app = spawn_app().await;
    let other = app.other_firm().await;
    let body = json!({"actor": {"id": "u", "name": "U"}, "activity": "client.updated",
                      "changes": [{"field": "ssn", "before": null, "after": SECRET}]});
    let mine = stored_event(&app, &app.ingest_ok(&body).await).await;
    let response = app.post_json("/api/v1/events", &other.ingest_key, &body).await;
    let theirs: Value = response.json().await.unwrap();
    let id = theirs["events"][0]["id"].as_str().unwrap();
    let theirs: Value = app.get(&format!("/api/v1/events/{id}"), &other.admin_key).await.json().await.unwrap();
    let (a, b) = (&mine["changes"][0]["after"]["masked"], &theirs["changes"][0]["after"]["masked"]);
    assert!(a.is_string() && b.is_string());
    assert_ne!(a, b, "one firm's fingerprints say nothing of another's");
    app.stop().await;
}

#[tokio::test]
async fn changing_the_patterns_is_recorded_and_applies_to_new_events_only() {
    let app = spawn_app().await;
    let bank = |value: &str| {
        json!({"actor": {"id": "u", "name": "U"}, "activity": "client.updated",
               "changes": [{"field": "bank.account", "before": null, "after": value},
                           {"field": "ssn", "before": null, "after": "111-22-3333"}]})
    };
    let before = stored_event(&app, &app.ingest_ok(&bank("DE-OLD-1")).await).await;

    let (status, body) = put_masking(&app, &app.firm.admin_key, &json!({"fields": ["Bank", "*.pin"]})).await;
    assert_eq!((status, body), (200, json!({"fields": ["Bank", "*.pin"]})));
    let (_, body) = app.admin_get("/api/v1/settings/masking").await;
    assert_eq!(body, json!({"fields": ["Bank", "*.pin"]}));

    let (_, list) = app.admin_get("/api/v1/events?activity=settings.updated").await;
    let record = &list["events"][0];
    assert_eq!(record["description"], "Updated masking patterns");
    assert_eq!(record["actor"]["type"], "api");
    assert_eq!(record["related"], json!([{"type": "setting", "id": "masking", "name": "Masking"}]));
    assert_eq!(
        record["changes"],
        json!([{"field": "masking.fields", "before": default_patterns(), "after": ["Bank", "*.pin"]}])
    );
    // The same list again records nothing.
    assert_eq!(put_masking(&app, &app.firm.admin_key, &json!({"fields": ["Bank", "*.pin"]})).await.0, 200);
    let (_, list) = app.admin_get("/api/v1/events?activity=settings.updated").await;
    assert_eq!(list["events"].as_array().unwrap().len(), 1);

    let after = stored_event(&app, &app.ingest_ok(&bank("DE-NEW-2")).await).await;
    assert_eq!(after["changes"][0]["after"]["masked"].as_str().map(str::len), Some(16), "bank.account is masked now");
    assert_eq!(after["changes"][1]["after"], "111-22-3333", "ssn is no longer a pattern");
    let (_, again) = app.admin_get(&format!("/api/v1/events/{}", before["id"].as_str().unwrap())).await;
    assert_eq!(again["changes"][0]["after"], "DE-OLD-1", "an event stored before keeps its values");
    assert!(!again["changes"][1]["after"].is_string(), "and its masked values stay masked");
    assert!(!app.stored_anywhere("DE-NEW-2").await);

    // An empty list masks nothing.
    assert_eq!(put_masking(&app, &app.firm.admin_key, &json!({"fields": []})).await.0, 200);
    let plain = stored_event(&app, &app.ingest_ok(&bank("DE-PLAIN-3")).await).await;
    assert_eq!(plain["changes"][0]["after"], "DE-PLAIN-3");
    app.stop().await;
}

#[tokio::test]
async fn bad_patterns_are_422_naming_each_and_change_nothing() {
    let app = spawn_app().await;
    let key = app.firm.admin_key.clone();
    let (status, body) = put_masking(&app, &key, &json!({"fields": ["ok", "", "a..b", "pa*ss", 7, "x.*"]})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(fields_named(&body), ["fields[1]", "fields[2]", "fields[3]", "fields[4]"]);

    let many: Vec<String> = (0..101).map(|i| format!("f{i}")).collect();
    let (status, body) = put_masking(&app, &key, &json!({ "fields": many })).await;
    assert_eq!((status, fields_named(&body)), (422, vec!["fields".to_string()]));
    let hundred: Vec<String> = (0..100).map(|i| format!("f{i}")).collect();
    let long = "a".repeat(201);
    let (status, body) = put_masking(&app, &key, &json!({ "fields": [long] })).await;
    assert_eq!((status, fields_named(&body)), (422, vec!["fields[0]".to_string()]));
    for bad in [json!({"fields": "password"}), json!({}), json!({"fields": null}), json!([1])] {
        let (status, body) = put_masking(&app, &key, &bad).await;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(body["error"]["code"], "validation_failed");
    }
    let (status, body) = put_masking(&app, &key, &json!({"fields": [], "extra": 1})).await;
    assert_eq!((status, fields_named(&body)), (422, vec!["extra".to_string()]));
    let response = app
        .client
        .put(app.url("/api/v1/settings/masking"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"fields\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let (_, body) = app.admin_get("/api/v1/settings/masking").await;
    assert_eq!(body["fields"], json!(default_patterns()), "nothing refused was kept");
    let (_, list) = app.admin_get("/api/v1/events?activity=settings.updated").await;
    assert_eq!(list["events"], json!([]), "nothing refused was recorded");

    let (status, body) = put_masking(&app, &key, &json!({ "fields": hundred })).await;
    assert_eq!((status, body["fields"].as_array().unwrap().len()), (200, 100), "100 is allowed");
    let longest = "b".repeat(200);
    assert_eq!(put_masking(&app, &key, &json!({ "fields": [longest] })).await.0, 200, "200 characters are allowed");
    app.stop().await;
}

#[tokio::test]
async fn only_this_firms_admins_read_or_change_masking() {
    let app = spawn_app().await;
    let member = app.add_member("mia@smithjones.example").await;
    let browser = app.signed_in(&member, MEMBER_PASSWORD).await;
    let response = browser.get(app.url("/api/v1/settings/masking")).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let page = browser.get(app.url("/settings/system-log/privacy")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("only accessible to Admins"));

    // An admin's session reads, but changes go through a key (or the page's form).
    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    assert_eq!(admin.get(app.url("/api/v1/settings/masking")).send().await.unwrap().status(), 200);
    let put = admin.put(app.url("/api/v1/settings/masking")).json(&json!({"fields": []})).send().await.unwrap();
    assert_eq!(put.status(), 403);
    assert_eq!(app.get("/api/v1/settings/masking", &app.firm.ingest_key).await.status(), 403);
    assert_eq!(put_masking(&app, &app.firm.ingest_key, &json!({"fields": []})).await.0, 403);
    assert_eq!(app.get("/api/v1/settings/masking", "ctk_not-a-real-key").await.status(), 401);

    // Another firm changes only its own list.
    let other = app.other_firm().await;
    assert_eq!(put_masking(&app, &other.admin_key, &json!({"fields": ["pin"]})).await.0, 200);
    let (_, mine) = app.admin_get("/api/v1/settings/masking").await;
    assert_eq!(mine["fields"], json!(default_patterns()));

    // A revoked key stops at once.
    let (_, keys) = app.admin_get("/api/v1/api-keys").await;
    let admin_key = keys["api_keys"].as_array().unwrap().iter().find(|k| k["scopes"] == json!(["admin"])).unwrap();
    let path = format!("/api/v1/api-keys/{}", admin_key["id"].as_str().unwrap());
    let response = app.client.delete(app.url(&path)).bearer_auth(&app.firm.admin_key).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(put_masking(&app, &app.firm.admin_key, &json!({"fields": []})).await.0, 401);
    let (_, body) = app.admin_get("/api/v1/settings/masking").await;
    assert_eq!(body["error"]["code"], "unauthenticated");
    let mine = app.store.account(app.account_id()).await.unwrap().unwrap();
    assert_eq!(mine.masking, default_patterns(), "nothing refused was kept");
    app.stop().await;
}
