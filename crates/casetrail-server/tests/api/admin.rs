//! Users, API keys and account settings (docs/API.md §5, §9), and the events they write.

use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(&app.firm.admin_key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn newest(app: &TestApp) -> Value {
    let (_, list) = app.admin_get("/api/v1/events?limit=1").await;
    list["events"][0].clone()
}

#[tokio::test]
async fn users_are_invited_changed_and_removed_with_events_and_no_secrets() {
    let app = spawn_app().await;
    let body = json!({"email": "ben@smithjones.example", "name": "Ben Law", "role": "member", "password": "correct-horse-battery"});
    let (status, user) = send(&app, reqwest::Method::POST, "/api/v1/users", Some(body.clone())).await;
    assert_eq!(status, 201);
    assert_eq!(
        (user["email"].as_str(), user["name"].as_str(), user["role"].as_str()),
        (Some("ben@smithjones.example"), Some("Ben Law"), Some("member"))
    );
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let invited = newest(&app).await;
    assert_eq!(invited["activity"], "team.user_invited");
    assert_eq!(invited["related"][0]["id"], user["id"]);
    assert!(invited["description"].as_str().unwrap().contains("Ben Law"));
    assert!(!invited.to_string().contains("correct-horse"), "never the password");

    let (status, error) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/users",
        Some(json!({"email": "BEN@smithjones.example", "name": "B", "role": "admin", "password": "another-password"})),
    )
    .await;
    assert_eq!((status, error["error"]["code"].as_str()), (409, Some("conflict")));

    let id = user["id"].as_str().unwrap();
    let (status, changed) =
        send(&app, reqwest::Method::PATCH, &format!("/api/v1/users/{id}"), Some(json!({"role": "admin"}))).await;
    assert_eq!((status, changed["role"].as_str()), (200, Some("admin")));
    let event = newest(&app).await;
    assert_eq!(event["activity"], "team.user_role_changed");
    assert_eq!(event["changes"], json!([{"field": "role", "before": "member", "after": "admin"}]));

    let (status, _) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/users/{id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(newest(&app).await["activity"], "team.user_removed");
    let (status, _) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/users/{id}"), None).await;
    assert_eq!(status, 404);
    let (_, users) = app.admin_get("/api/v1/users").await;
    assert_eq!(users["users"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn user_input_is_checked() {
    let app = spawn_app().await;
    let cases = [
        (json!({"email": "x@y.example", "name": "X", "role": "member", "password": "short"}), vec!["password"]),
        (
            json!({"email": "not-an-email", "name": "X", "role": "member", "password": "long-enough-pass"}),
            vec!["email"],
        ),
        (
            json!({"email": "x@y.example", "name": "", "role": "owner", "password": 123456789012i64}),
            vec!["name", "role", "password"],
        ),
        (
            json!({"email": "x@y.example", "name": "X", "role": "member", "password": "long-enough-pass", "admin": true}),
            vec!["admin"],
        ),
    ];
    for (body, expected) in cases {
        let (status, error) = send(&app, reqwest::Method::POST, "/api/v1/users", Some(body.clone())).await;
        assert_eq!(status, 422, "{body}");
        let fields: Vec<&str> =
            error["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert_eq!(fields, expected, "{body}");
    }
    let admin = app.firm.admin.id;
    let (status, _) =
        send(&app, reqwest::Method::PATCH, &format!("/api/v1/users/{admin}"), Some(json!({"role": "member"}))).await;
    assert_eq!(status, 409, "the last admin stays an admin");
    let (status, _) =
        send(&app, reqwest::Method::PATCH, &format!("/api/v1/users/{admin}"), Some(json!({"role": 1}))).await;
    assert_eq!(status, 422);
    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/users/00000000-0000-0000-0000-000000000000",
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(status, 404);
    let other = app.other_firm().await;
    let (status, _) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/users/{}", other.admin.id), None).await;
    assert_eq!(status, 404, "another firm's user is not found");
    app.stop().await;
}

#[tokio::test]
async fn keys_are_shown_once_work_and_stop_at_once_when_revoked() {
    let app = spawn_app().await;
    let (status, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/api-keys",
        Some(json!({"name": "Zapier", "scopes": ["events:write"]})),
    )
    .await;
    assert_eq!(status, 201);
    let secret = created["key"].as_str().unwrap().to_string();
    assert!(secret.starts_with("ctk_") && secret.len() > 40);
    let event = newest(&app).await;
    assert_eq!(event["activity"], "settings.updated");
    assert!(!event.to_string().contains(&secret), "never the secret");

    let (_, keys) = app.admin_get("/api/v1/api-keys").await;
    let listed = keys["api_keys"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|k| k.get("key").is_none()), "secrets are shown only once");

    let ingest = app.post_json("/api/v1/events", &secret, &crate::support::event("case.created", "via zapier")).await;
    assert_eq!(ingest.status(), 201);
    let id = created["id"].as_str().unwrap();
    let (status, _) = send(&app, reqwest::Method::DELETE, &format!("/api/v1/api-keys/{id}"), None).await;
    assert_eq!(status, 204);
    let ingest = app.post_json("/api/v1/events", &secret, &crate::support::event("case.created", "after")).await;
    assert_eq!(ingest.status(), 401);
    let (_, keys) = app.admin_get("/api/v1/api-keys").await;
    let revoked = keys["api_keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone();
    assert!(revoked["revoked_at"].is_string() && revoked["last_used_at"].is_string());

    for body in [
        json!({"name": "x"}),
        json!({"name": "x", "scopes": ["root"]}),
        json!({"name": "", "scopes": ["admin"]}),
        json!({"scopes": []}),
    ] {
        let (status, _) = send(&app, reqwest::Method::POST, "/api/v1/api-keys", Some(body.clone())).await;
        assert_eq!(status, 422, "{body}");
    }
    let (status, _) =
        send(&app, reqwest::Method::DELETE, "/api/v1/api-keys/00000000-0000-0000-0000-000000000000", None).await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn account_settings_validate_and_record_before_and_after() {
    let app = spawn_app().await;
    let (status, settings) = app.admin_get("/api/v1/settings/account").await;
    assert_eq!(status, 200);
    assert_eq!(settings, json!({"name": "Smith & Jones LLP", "timezone": "UTC", "record_urls": {}}));
    let update = json!({"timezone": "America/New_York", "record_urls": {"case": "https://crm.example.com/cases/{id}"}});
    let (status, settings) = send(&app, reqwest::Method::PUT, "/api/v1/settings/account", Some(update)).await;
    assert_eq!(status, 200);
    assert_eq!(settings["timezone"], "America/New_York");
    assert_eq!(settings["record_urls"]["case"], "https://crm.example.com/cases/{id}");
    let event = newest(&app).await;
    assert_eq!(event["activity"], "settings.updated");
    assert_eq!(
        event["changes"],
        json!([
            {"field": "record_urls.case", "before": null, "after": "https://crm.example.com/cases/{id}"},
            {"field": "timezone", "before": "UTC", "after": "America/New_York"}
        ])
    );
    for (body, field) in [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"record_urls": {"case": "https://crm.example.com/cases/"}}), "record_urls.case"),
        (json!({"record_urls": {"case": "javascript:alert(1)//{id}"}}), "record_urls.case"),
        (json!({"record_urls": {"matter": "https://x/{id}"}}), "record_urls.matter"),
        (json!({"name": 5}), "name"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, error) = send(&app, reqwest::Method::PUT, "/api/v1/settings/account", Some(body.clone())).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error["error"]["details"][0]["field"], field, "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn date_filters_are_read_in_the_account_time_zone() {
    let app = spawn_app().await;
    let zone = "Pacific/Kiritimati"; // UTC+14: its date is often not UTC's.
    let (status, _) =
        send(&app, reqwest::Method::PUT, "/api/v1/settings/account", Some(json!({"timezone": zone}))).await;
    assert_eq!(status, 200);
    app.ingest_ok(&json!({"actor": {"id": "u", "name": "n"}, "activity": "case.created", "description": "target", "occurred_at": crate::support::ago(60)})).await;
    let local = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::get(zone).unwrap()).date();
    let day = local.strftime("%Y-%m-%d").to_string();
    let before = local.yesterday().unwrap().strftime("%Y-%m-%d").to_string();
    let count = |q: String| {
        let app = &app;
        async move {
            let (_, body) = app.admin_get(&format!("/api/v1/events?activity=case&{q}")).await;
            body["events"].as_array().unwrap().len()
        }
    };
    // The event was a minute ago: on `day` in that zone (unless midnight just passed there).
    let on_day = count(format!("from={day}&to={day}")).await + count(format!("from={before}&to={before}")).await;
    assert_eq!(on_day, 1);
    let tomorrow = local.tomorrow().unwrap().strftime("%Y-%m-%d").to_string();
    assert_eq!(count(format!("from={tomorrow}")).await, 0);
    app.stop().await;
}
