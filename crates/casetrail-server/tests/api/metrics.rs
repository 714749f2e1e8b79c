//! `GET /metrics` (docs/API.md §13): the named metrics with exact values, labels that
//! name routes (never an account, a key or content), and the optional token.

use casetrail_server::ServerConfig;
use casetrail_server::metrics::MetricsToken;
use serde_json::json;

use crate::support::{TestApp, event, spawn_app, spawn_app_with};

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        let kind = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    }
    (status, response.text().await.unwrap())
}

fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
}

#[tokio::test]
async fn ingest_and_requests_move_the_named_metrics() {
    let app = spawn_app().await;
    let (status, before) = scrape(&app, None).await;
    assert_eq!(status, 200);
    assert_eq!(line(&before, "casetrail_events_ingested_total"), Some("casetrail_events_ingested_total 0"));
    let batch = json!({"events": [
        {"idempotency_key": "k1", "actor": {"id": "u_1", "name": "Jane"}, "activity": "case.created"},
        {"idempotency_key": "k2", "actor": {"id": "u_1", "name": "Jane"}, "activity": "case.updated"},
        {"idempotency_key": "k3", "actor": {"id": "u_1", "name": "Jane"}, "activity": "case.deleted"},
    ]});
    let answer = app.ingest_ok(&batch).await;
    // The same keys again: duplicates are not counted.
    app.ingest_ok(&batch).await;
    let id = answer["events"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.admin_get(&format!("/api/v1/events/{id}")).await.0, 200);
    assert_eq!(app.admin_get("/api/v1/events/00000000-0000-0000-0000-000000000000").await.0, 404);
    assert_eq!(app.admin_get("/no/such/page").await.0, 404);

    let (_, text) = scrape(&app, None).await;
    assert_eq!(line(&text, "casetrail_events_ingested_total"), Some("casetrail_events_ingested_total 3"), "{text}");
    let commits = line(&text, "casetrail_ingest_commit_seconds_count").unwrap();
    assert_eq!(commits, "casetrail_ingest_commit_seconds_count 2", "two groups committed");
    let requests = |route: &str, status: u16| {
        let prefix = format!("casetrail_http_requests_total{{route=\"{route}\",status=\"{status}\"}}");
        line(&text, &prefix).map(|l| l[prefix.len() + 1..].to_string())
    };
    assert_eq!(requests("/api/v1/events", 201).as_deref(), Some("1"));
    assert_eq!(requests("/api/v1/events", 200).as_deref(), Some("1"), "the all-duplicates answer");
    assert_eq!(requests("/api/v1/events/{id}", 200).as_deref(), Some("1"));
    assert_eq!(requests("/api/v1/events/{id}", 404).as_deref(), Some("1"));
    assert_eq!(requests("unmatched", 404).as_deref(), Some("1"));
    assert_eq!(requests("/metrics", 200).as_deref(), Some("1"), "the first scrape");
    let durations = "casetrail_http_request_duration_seconds_count{route=\"/api/v1/events\"}";
    assert_eq!(line(&text, durations).map(|l| &l[durations.len() + 1..]), Some("2"));
    // No label names the account, the key, an event or its content.
    for secret in [app.account_id().to_string(), app.firm.admin_key.clone(), app.firm.ingest_key.clone(), id] {
        assert!(!text.contains(&secret), "the metrics show {secret}");
    }
    assert!(!text.contains("Jane"));
    assert_eq!(text.lines().last(), Some("# EOF"));
    app.stop().await;
}

#[tokio::test]
async fn with_a_metrics_token_only_its_bearer_may_scrape() {
    let config = ServerConfig { metrics_token: MetricsToken::new("scrape-me-please"), ..ServerConfig::default() };
    let app = spawn_app_with(config).await;
    app.ingest_ok(&event("case.created", "x")).await;
    for token in [None, Some("wrong"), Some(app.firm.admin_key.as_str())] {
        let (status, body) = scrape(&app, token).await;
        assert_eq!(status, 401, "{token:?}");
        assert!(body.contains("unauthenticated"), "{body}");
    }
    let (status, text) = scrape(&app, Some("scrape-me-please")).await;
    assert_eq!(status, 200);
    assert_eq!(line(&text, "casetrail_events_ingested_total"), Some("casetrail_events_ingested_total 1"));
    assert!(MetricsToken::new("  ").is_none(), "an empty token would admit anyone");
    assert_eq!(format!("{:?}", MetricsToken::new("scrape-me-please").unwrap()), "MetricsToken(***)");
    app.stop().await;
}

/// The number on `casetrail_events_ingested_total`.
fn ingested(text: &str) -> u64 {
    let line = line(text, "casetrail_events_ingested_total").expect("the counter is shown");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn every_stored_event_is_counted_changes_that_record_themselves_too() {
    let app = spawn_app_with(ServerConfig { allow_private_stream_destinations: true, ..ServerConfig::default() }).await;
    let send = |method: reqwest::Method, path: &'static str, body: Option<serde_json::Value>| {
        let app = &app;
        async move {
            let (status, answer) = app.admin_send(method, path, body).await;
            assert!((200..300).contains(&status), "{path}: {status} {answer}");
            answer
        }
    };
    use reqwest::Method;
    app.ingest_ok(&event("case.created", "through the writer")).await;
    // Each of these appends its record in its own transaction, beside the writer.
    send(Method::PUT, "/api/v1/settings/account", Some(json!({"timezone": "Europe/Paris"}))).await;
    send(Method::PUT, "/api/v1/settings/retention", Some(json!({"retention_days": 365}))).await;
    send(Method::PUT, "/api/v1/settings/legal-hold", Some(json!({"legal_hold": true}))).await;
    send(Method::PUT, "/api/v1/settings/masking", Some(json!({"fields": ["ssn"]}))).await;
    send(Method::POST, "/api/v1/holds", Some(json!({"type": "case", "id": "c_1", "reason": "test"}))).await;
    let user = json!({"email": "m@smithjones.example", "name": "M", "role": "member", "password": "long enough pw"});
    let user = send(Method::POST, "/api/v1/users", Some(user)).await;
    let key = send(Method::POST, "/api/v1/api-keys", Some(json!({"name": "k", "scopes": ["events:write"]}))).await;
    let hook = json!({"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "enabled": false});
    let stream = send(Method::POST, "/api/v1/streams", Some(hook)).await;
    let stream_path = format!("/api/v1/streams/{}", stream["id"].as_str().unwrap());
    let user_path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let key_path = format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap());
    for (method, path, body) in [
        (Method::PATCH, stream_path.clone(), Some(json!({"name": "renamed"}))),
        (Method::POST, format!("{stream_path}/replay"), Some(json!({"from_seq": 1}))),
        (Method::DELETE, stream_path, None),
        (Method::PATCH, user_path.clone(), Some(json!({"role": "admin"}))),
        (Method::DELETE, user_path, None),
        (Method::DELETE, key_path, None),
        (Method::DELETE, "/api/v1/holds/case/c_1".to_string(), None),
    ] {
        let (status, answer) = app.admin_send(method, &path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
    }
    // A sign-in through the page: the session and its record, together.
    app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;

    let head = app.store.head(app.account_id()).await.unwrap().unwrap().seq;
    assert_eq!(head, 17, "one ingested event and sixteen recorded changes");
    let (_, text) = scrape(&app, None).await;
    assert_eq!(ingested(&text), head, "{text}");
    // A change that changes nothing records nothing, and counts nothing.
    send(Method::PUT, "/api/v1/settings/legal-hold", Some(json!({"legal_hold": true}))).await;
    assert_eq!(app.store.head(app.account_id()).await.unwrap().unwrap().seq, head);
    assert_eq!(ingested(&scrape(&app, None).await.1), head);
    app.stop().await;
}
