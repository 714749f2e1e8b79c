//! `GET /api/v1/records/{type}/{id}` (docs/API.md §14): a record's history, exactly
//! as written — counts, the newest name, first and last seen, each field's changes
//! oldest first — and its refusals.

use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, TestApp, spawn_app};

fn update(at: &str, related: Value, changes: Value) -> Value {
    json!({"actor": {"id": "u_17", "name": "Jane Doe"}, "activity": "case.updated",
           "occurred_at": at, "related": related, "changes": changes})
}

fn case(name: &str) -> Value {
    json!({"type": "case", "id": "c_204", "name": name})
}

async fn seed(app: &TestApp) -> Vec<String> {
    let client = json!({"type": "client", "id": "cl 88/a", "name": "John Smith"});
    let events = json!([
        update(
            "2026-01-02T10:00:00Z",
            json!([case("Smith v. Jones")]),
            json!([{"field": "status", "before": "Active", "after": "Closed"}])
        ),
        update(
            "2026-01-01T09:00:00Z",
            json!([case("Smith v Jones"), client]),
            json!([{"field": "status", "before": "Intake", "after": "Active"},
                      {"field": "assigned_to", "before": null, "after": "Ann"}])
        ),
        update(
            "2026-01-03T08:00:00Z",
            json!([client, case("Smith v. Jones (settled)")]),
            json!([{"field": "status", "before": "Lead", "after": "Client"}])
        ),
        // The same instant as the first: ties go by seq.
        update(
            "2026-01-02T10:00:00Z",
            json!([case("Smith v. Jones")]),
            json!([{"field": "status", "before": "Closed", "after": "Reopened"}])
        ),
    ]);
    // Older than the ingest window: stored the way events of long ago were.
    let appended = app.append_direct(events.as_array().unwrap().clone()).await;
    appended.iter().map(|a| a.id.to_string()).collect()
}

#[tokio::test]
async fn a_records_history_is_as_written() {
    let app = spawn_app().await;
    let ids = seed(&app).await;
    let (status, body) = app.admin_get("/api/v1/records/case/c_204").await;
    assert_eq!(status, 200, "{body}");
    let change = |i: usize, before: &str, after: Value, at: &str| {
        json!({"event_id": ids[i], "occurred_at": at, "actor": {"id": "u_17", "name": "Jane Doe"},
               "before": before, "after": after})
    };
    assert_eq!(
        body,
        json!({
            "type": "case", "id": "c_204", "name": "Smith v. Jones (settled)", "events": 4,
            "first_seen": "2026-01-01T09:00:00.000Z", "last_seen": "2026-01-03T08:00:00.000Z",
            "fields": [
                {"field": "assigned_to", "changes": [
                    {"event_id": ids[1], "occurred_at": "2026-01-01T09:00:00.000Z",
                     "actor": {"id": "u_17", "name": "Jane Doe"}, "before": null, "after": "Ann"}]},
                {"field": "status", "changes": [
                    change(1, "Intake", json!("Active"), "2026-01-01T09:00:00.000Z"),
                    change(0, "Active", json!("Closed"), "2026-01-02T10:00:00.000Z"),
                    change(3, "Closed", json!("Reopened"), "2026-01-02T10:00:00.000Z")]}
            ]
        })
    );
    // The client leads one event only; the id travels percent-encoded in the path.
    let (status, body) = app.admin_get("/api/v1/records/client/cl%2088%2Fa").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["id"].as_str(), body["events"].as_u64(), body["name"].as_str()),
        (Some("cl 88/a"), Some(2), Some("John Smith"))
    );
    assert_eq!(
        body["fields"],
        json!([{"field": "status", "changes": [
        {"event_id": ids[2], "occurred_at": "2026-01-03T08:00:00.000Z", "actor": {"id": "u_17", "name": "Jane Doe"},
         "before": "Lead", "after": "Client"}]}])
    );
    app.stop().await;
}

#[tokio::test]
async fn a_record_without_changes_or_name_still_has_a_history() {
    let app = spawn_app().await;
    app.append_direct(vec![json!({"actor": {"id": "u", "name": "U"}, "activity": "communication.sms_sent",
                                  "occurred_at": "2026-02-01T00:00:00Z",
                                  "related": [{"type": "communication", "id": "sms_1"}]})])
        .await;
    let (status, body) = app.admin_get("/api/v1/records/communication/sms_1").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"type": "communication", "id": "sms_1", "name": null, "events": 1,
               "first_seen": "2026-02-01T00:00:00.000Z", "last_seen": "2026-02-01T00:00:00.000Z", "fields": []})
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_types_are_400_and_unseen_records_404() {
    let app = spawn_app().await;
    seed(&app).await;
    let (status, body) = app.admin_get("/api/v1/records/matter/c_204").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")));
    assert_eq!(body["error"]["message"], "type: unknown record type \"matter\"");
    for path in ["/api/v1/records/case/c_999", "/api/v1/records/client/c_204", "/api/v1/records/case/C_204"] {
        let (status, body) = app.admin_get(path).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let (status, _) = app.admin_get("/api/v1/records/case/%27%20OR%201%3D1--").await;
    assert_eq!(status, 404, "hostile ids are just ids");
    app.stop().await;
}

#[tokio::test]
async fn only_this_firms_admins_read_a_history() {
    let app = spawn_app().await;
    seed(&app).await;
    let path = "/api/v1/records/case/c_204";
    let other = app.other_firm().await;
    let response = app.get(path, &other.admin_key).await;
    assert_eq!(response.status(), 404, "another firm's record is as absent as one never seen");
    assert_eq!(app.get(path, &app.firm.ingest_key).await.status(), 403);
    assert_eq!(app.get(path, "ctk_not-a-real-key").await.status(), 401);
    assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 401);
    let member = app.add_member("mia@smithjones.example").await;
    let browser = app.signed_in(&member, MEMBER_PASSWORD).await;
    assert_eq!(browser.get(app.url(path)).send().await.unwrap().status(), 403);
    let page = browser.get(app.url("/settings/system-log/records/case/c_204")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let response = admin.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "an admin's session reads it");
    app.stop().await;
}

#[tokio::test]
async fn purged_events_leave_the_history() {
    let app = spawn_app().await;
    app.append_direct(vec![update(
        &crate::support::ago(200 * 86_400),
        json!([case("Old name")]),
        json!([{"field": "status", "before": "A", "after": "B"}]),
    )])
    .await;
    app.ingest_ok(&update(
        &crate::support::ago(3600),
        json!([case("New name")]),
        json!([{"field": "status", "before": "B", "after": "C"}]),
    ))
    .await;
    let (_, before) = app.admin_get("/api/v1/records/case/c_204").await;
    assert_eq!(before["events"], 2);
    let (status, _) = app.admin_send(reqwest::Method::POST, "/api/v1/retention/run", None).await;
    assert_eq!(status, 200);
    let (_, after) = app.admin_get("/api/v1/records/case/c_204").await;
    assert_eq!(after["events"], 1);
    assert_eq!(after["fields"][0]["changes"].as_array().unwrap().len(), 1);
    assert_eq!(after["fields"][0]["changes"][0]["after"], "C");
    app.stop().await;
}
