//! Streams through the API (docs/API.md §13): creating, reading, changing and
//! deleting them, every refusal, and what each change records.

use casetrail_server::ServerConfig;
use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, TestApp, event, spawn_app, spawn_app_with};

/// A server whose streams may reach 127.0.0.1, where the tests' receivers listen.
pub async fn spawn_private() -> TestApp {
    spawn_app_with(ServerConfig { allow_private_stream_destinations: true, ..ServerConfig::default() }).await
}

pub async fn create(app: &TestApp, body: Value) -> (u16, Value) {
    app.admin_send(reqwest::Method::POST, "/api/v1/streams", Some(body)).await
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap().to_string()).collect()
}

/// The newest event of the log, whole.
async fn newest(app: &TestApp) -> Value {
    let (_, page) = app.admin_get("/api/v1/events?limit=1").await;
    page["events"][0].clone()
}

#[tokio::test]
async fn a_stream_is_created_read_changed_and_deleted_and_each_change_recorded() {
    let app = spawn_private().await;
    app.ingest_ok(&json!({"events": [event("case.created", "a"), event("case.updated", "b")]})).await;
    let (status, created) = create(
        &app,
        json!({"name": "SOC webhook", "kind": "webhook", "url": "http://127.0.0.1:9/hook",
               "filters": {"activity": ["team", "system_log"]}}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["delivered_seq"], 3, "starts after the events that exist and its own record");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["format"], "json");
    assert_eq!(created["failures"], 0);
    assert_eq!(created["last_error"], Value::Null);
    assert_eq!(created["filters"], json!({"activity": ["team", "system_log"]}));
    let id = created["id"].as_str().unwrap().to_string();
    let record = newest(&app).await;
    assert_eq!(record["activity"], "settings.updated");
    assert_eq!(record["related"][0]["id"], format!("stream:{id}"));
    assert!(record["changes"].as_array().unwrap().iter().any(|c| c["field"] == "url" && c["before"].is_null()));

    // Read back: the secret is never shown again.
    let (status, one) = app.admin_get(&format!("/api/v1/streams/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["secret"], Value::Null);
    assert!(one.as_object().unwrap().get("secret").is_none());
    let (_, list) = app.admin_get("/api/v1/streams").await;
    assert_eq!(list["streams"].as_array().unwrap().len(), 1);
    assert_eq!(list["streams"][0]["id"], id.as_str());

    // Changed: only what the patch names; a new secret is shown in this answer only.
    let patch = json!({"name": "SOC", "format": "ocsf", "enabled": false, "secret": "a-new-secret-of-mine"});
    let (status, changed) = app.admin_send(reqwest::Method::PATCH, &format!("/api/v1/streams/{id}"), Some(patch)).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!((changed["name"].as_str(), changed["format"].as_str()), (Some("SOC"), Some("ocsf")));
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["secret"], "a-new-secret-of-mine");
    assert_eq!(changed["url"], "http://127.0.0.1:9/hook");
    let record = newest(&app).await;
    let changes = record["changes"].as_array().unwrap();
    let field_names: Vec<&str> = changes.iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(field_names, ["enabled", "format", "name", "secret"]);

    // Replay moves the position back.
    let (status, replayed) = app
        .admin_send(reqwest::Method::POST, &format!("/api/v1/streams/{id}/replay"), Some(json!({"from_seq": 1})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(replayed["delivered_seq"], 0);

    let (status, _) = app.admin_send(reqwest::Method::DELETE, &format!("/api/v1/streams/{id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(app.admin_get(&format!("/api/v1/streams/{id}")).await.0, 404);
    assert_eq!(app.admin_send(reqwest::Method::DELETE, &format!("/api/v1/streams/{id}"), None).await.0, 404);
    assert!(newest(&app).await["description"].as_str().unwrap().starts_with("Deleted the stream"));

    // No record, page or answer after the creation ever held a secret.
    let (_, log) = app.admin_get("/api/v1/events?limit=50").await;
    let log = log.to_string();
    assert!(!log.contains(&secret) && !log.contains("a-new-secret-of-mine"), "a secret reached the log");
    app.stop().await;
}

#[tokio::test]
async fn a_stream_created_from_a_seq_starts_before_it() {
    let app = spawn_private().await;
    app.ingest_ok(&json!({"events": [event("case.created", "a"), event("case.updated", "b")]})).await;
    let body = json!({"name": "Splunk", "kind": "splunk_hec", "url": "http://127.0.0.1:8088", "token": "hec-token",
                      "from_seq": 1});
    let (status, created) = create(&app, body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["delivered_seq"], 0);
    assert_eq!(created["token"], "hec-token");
    assert!(created.get("secret").is_none());
    app.stop().await;
}

#[tokio::test]
async fn bad_streams_are_422_naming_each_member() {
    let app = spawn_private().await;
    let cases = [
        (json!({"name": "x", "kind": "kafka", "url": "https://siem.example.com"}), vec!["kind"]),
        (json!({"name": "x", "kind": "webhook", "url": "ftp://siem.example.com"}), vec!["url"]),
        (json!({"name": "x", "kind": "syslog", "url": "tcp://127.0.0.1"}), vec!["url"]),
        (json!({"name": "x", "kind": "webhook", "url": "https://a.example.com", "format": "xml"}), vec!["format"]),
        (
            json!({"name": "x", "kind": "webhook", "url": "https://a.example.com", "filters": {"activity": ["nope"]}}),
            vec!["filters.activity"],
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "https://a.example.com", "filters": {"actor": "u_1"}}),
            vec!["filters.actor"],
        ),
        (json!({"name": "x", "kind": "webhook", "url": "https://a.example.com", "filters": []}), vec!["filters"]),
        (json!({"name": "x", "kind": "webhook", "url": "https://a.example.com", "from_seq": 0}), vec!["from_seq"]),
        (json!({"name": "x", "kind": "webhook", "url": "https://a.example.com", "from_seq": "1"}), vec!["from_seq"]),
        (json!({"name": "x", "kind": "splunk_hec", "url": "https://a.example.com"}), vec!["token"]),
        (json!({"name": "", "kind": "webhook", "url": "https://a.example.com", "enabled": 1}), vec!["name", "enabled"]),
        (json!({"kind": "webhook"}), vec!["name", "url"]),
        (json!({"name": "x", "kind": "webhook", "url": "https://a.example.com", "colour": "red"}), vec!["colour"]),
        (json!({"name": "x", "kind": "webhook", "url": "https://no-such-host.invalid/hook"}), vec!["url"]),
    ];
    for (body, expected) in cases {
        let (status, answer) = create(&app, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed");
        assert_eq!(fields(&answer), expected, "{body}");
    }
    let malformed = app.post_raw("/api/v1/streams", &app.firm.admin_key, "{not json").await;
    assert_eq!(malformed.status(), 400);
    assert_eq!(app.admin_get("/api/v1/streams").await.1, json!({"streams": []}), "nothing was created");
    // A replay needs a seq of 1 or more.
    let (_, ok) = create(&app, json!({"name": "x", "kind": "webhook", "url": "http://127.0.0.1:9/"})).await;
    let path = format!("/api/v1/streams/{}/replay", ok["id"].as_str().unwrap());
    for bad in [json!({}), json!({"from_seq": 0}), json!({"from_seq": -1}), json!({"from_seq": "3"})] {
        let (status, answer) = app.admin_send(reqwest::Method::POST, &path, Some(bad.clone())).await;
        assert_eq!((status, fields(&answer)), (422, vec!["from_seq".to_string()]), "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn private_destinations_are_refused_without_the_setting() {
    let app = spawn_app().await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://0x7f.1/hook",
        "http://2130706433/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.1.1/",
        "http://0.0.0.0/",
        "http://[::ffff:192.168.0.1]/",
        "http://[fd00::1]/",
    ] {
        let (status, answer) = create(&app, json!({"name": "x", "kind": "webhook", "url": url})).await;
        assert_eq!(status, 422, "{url}: {answer}");
        assert_eq!(fields(&answer), ["url"], "{url}");
    }
    let syslog = json!({"name": "x", "kind": "syslog", "url": "tcp://127.0.0.1:514"});
    assert_eq!(create(&app, syslog).await.0, 422);
    assert_eq!(app.admin_get("/api/v1/streams").await.1, json!({"streams": []}));
    app.stop().await;
}

#[tokio::test]
async fn streams_are_for_the_accounts_admin_keys_only() {
    let app = spawn_private().await;
    let (_, ours) = create(&app, json!({"name": "x", "kind": "webhook", "url": "http://127.0.0.1:9/"})).await;
    let path = format!("/api/v1/streams/{}", ours["id"].as_str().unwrap());
    let body = json!({"name": "y", "kind": "webhook", "url": "http://127.0.0.1:9/"});
    // An ingest key: 403 on every stream endpoint.
    assert_eq!(app.get("/api/v1/streams", &app.firm.ingest_key).await.status(), 403);
    assert_eq!(app.post_json("/api/v1/streams", &app.firm.ingest_key, &body).await.status(), 403);
    assert_eq!(app.get(&path, &app.firm.ingest_key).await.status(), 403);
    // A member's session: 403; an admin's session may read, not change.
    let member = app.add_member("mia@smithjones.example").await;
    let session = app.signed_in(&member, MEMBER_PASSWORD).await;
    assert_eq!(session.get(app.url("/api/v1/streams")).send().await.unwrap().status(), 403);
    let admin = app.signed_in("admin@smithjones.example", &app.firm.admin_password).await;
    assert_eq!(admin.get(app.url("/api/v1/streams")).send().await.unwrap().status(), 200);
    assert_eq!(admin.post(app.url("/api/v1/streams")).json(&body).send().await.unwrap().status(), 403);
    // Another firm's admin: our stream does not exist for it.
    let other = app.other_firm().await;
    assert_eq!(app.get(&path, &other.admin_key).await.status(), 404);
    let patch = app.client.patch(app.url(&path)).bearer_auth(&other.admin_key).json(&json!({"name": "z"}));
    assert_eq!(patch.send().await.unwrap().status(), 404);
    let delete = app.client.delete(app.url(&path)).bearer_auth(&other.admin_key);
    assert_eq!(delete.send().await.unwrap().status(), 404);
    let list: Value = app.get("/api/v1/streams", &other.admin_key).await.json().await.unwrap();
    assert_eq!(list, json!({"streams": []}));
    assert_eq!(app.admin_get(&path).await.1["name"], "x", "unchanged");
    // No credentials, or a bad key: 401.
    assert_eq!(app.client.get(app.url("/api/v1/streams")).send().await.unwrap().status(), 401);
    assert_eq!(app.get("/api/v1/streams", "ctk_nope").await.status(), 401);
    app.stop().await;
}
