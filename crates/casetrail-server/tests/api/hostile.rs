//! Input meant to hurt: bodies too big to buffer, values nested deep enough to break
//! the readers. Each is refused up front, and nothing already stored is lost.

use serde_json::{Value, json};

use crate::support::spawn_app;

fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[tokio::test]
async fn a_form_body_over_the_limit_is_refused_before_it_is_read() {
    let app = spawn_app().await;
    let huge = format!("email=a%40b.example&password={}", "x".repeat(casetrail_server::FORM_BODY_LIMIT + 1));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // Sign-in reads its form, so the cap answers; sign-out without a session answers
    // without reading the body at all.
    for (path, status) in [("/login", 413), ("/logout", 303)] {
        let response = client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", app.base.clone())
            .body(huge.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    // A form of ordinary size still gets its ordinary answer (no CSRF token: 403).
    let small = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", app.base.clone())
        .body("email=a%40b.example&password=secret")
        .send()
        .await
        .unwrap();
    assert_ne!(small.status(), 413);
}

#[tokio::test]
async fn a_value_nested_too_deep_is_refused_and_the_log_still_reads() {
    let app = spawn_app().await;
    app.ingest_ok(&json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.created"})).await;
    let deep = json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated",
                      "before": {"k": nested(125)}, "after": {"k": 1}});
    let response = app.ingest(&deep).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"before"), "{body}");

    let (status, page) = app.admin_get("/api/v1/events").await;
    assert_eq!(status, 200);
    assert_eq!(page["events"].as_array().unwrap().len(), 1, "only the good event is stored");
    let export = app.get("/api/v1/events/export?format=csv", &app.firm.admin_key).await;
    assert_eq!(export.status(), 200);
    let csv = export.text().await.unwrap();
    assert_eq!(csv.trim_end().lines().count(), 2, "the header and the one event: {csv}");
}

#[tokio::test]
async fn api_answers_are_neither_cached_nor_sniffed() {
    let app = spawn_app().await;
    for (path, key) in [("/api/v1/events?limit=1", &app.firm.admin_key), ("/api/v1/users", &app.firm.admin_key)] {
        let response = app.get(path, key).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    let refused = app.get("/api/v1/events", "ctk_not-a-key").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["cache-control"], "no-store", "errors too");
}

#[tokio::test]
async fn a_body_declared_as_something_else_than_json_is_refused_with_415() {
    let app = spawn_app().await;
    let event = r#"{"actor": {"id": "u1", "name": "Jane"}, "activity": "case.created"}"#;
    for kind in ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"] {
        let response = app
            .client
            .post(app.url("/api/v1/events"))
            .bearer_auth(&app.firm.ingest_key)
            .header("content-type", kind)
            .body(event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{kind}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unsupported_media_type", "{kind}");
    }
    for kind in [Some("application/json"), Some("application/json; charset=utf-8"), None] {
        let mut request = app.client.post(app.url("/api/v1/events")).bearer_auth(&app.firm.ingest_key).body(event);
        if let Some(kind) = kind {
            request = request.header("content-type", kind);
        }
        assert_eq!(request.send().await.unwrap().status(), 201, "{kind:?}");
    }
    let (status, page) = app.admin_get("/api/v1/events").await;
    assert_eq!((status, page["events"].as_array().unwrap().len()), (200, 3), "only the JSON bodies were stored");
}

#[tokio::test]
async fn a_wrong_method_answers_405_in_the_error_shape() {
    let app = spawn_app().await;
    let response = app.client.delete(app.url("/api/v1/events")).bearer_auth(&app.firm.admin_key).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn hsts_is_sent_only_when_served_over_tls() {
    let plain = spawn_app().await;
    let response = plain.client.get(plain.url("/healthz")).send().await.unwrap();
    assert!(response.headers().get("strict-transport-security").is_none());
    let config = casetrail_server::ServerConfig { secure_cookies: true, ..Default::default() };
    let tls = crate::support::spawn_app_with(config).await;
    for path in ["/healthz", "/login", "/api/v1/openapi.json"] {
        let response = tls.client.get(tls.url(path)).send().await.unwrap();
        assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000", "{path}");
    }
}

#[tokio::test]
async fn refusals_below_the_handlers_answer_in_the_error_shape() {
    let app = spawn_app().await;
    // A path segment that is not UTF-8 is refused by the router's extractor.
    let response = app.get("/api/v1/events/%FF", &app.firm.admin_key).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    assert_eq!(body["error"]["details"], json!([]));
    // The handlers' own errors keep their messages.
    let (status, body) = app.admin_get("/api/v1/events?limit=0").await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"), "{body}");
}
