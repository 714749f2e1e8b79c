//! `GET /api/v1/openapi.json` describes every `/api/v1` endpoint of the contract.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::spawn_app;

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200, "served without authentication");
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut got = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            got.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = [
        "GET /api/v1/openapi.json",
        "POST /api/v1/events",
        "GET /api/v1/events",
        "GET /api/v1/events/{id}",
        "GET /api/v1/events/export",
        "GET /api/v1/activity-types",
        "GET /api/v1/actors",
        "GET /api/v1/records",
        "GET /api/v1/settings/account",
        "PUT /api/v1/settings/account",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "PATCH /api/v1/users/{id}",
        "DELETE /api/v1/users/{id}",
        "GET /api/v1/api-keys",
        "POST /api/v1/api-keys",
        "DELETE /api/v1/api-keys/{id}",
        "GET /api/v1/integrity",
        "POST /api/v1/integrity/checkpoints",
        "GET /api/v1/integrity/checkpoints",
        "GET /api/v1/integrity/public-key",
        "GET /api/v1/settings/retention",
        "PUT /api/v1/settings/retention",
        "PUT /api/v1/settings/legal-hold",
        "POST /api/v1/holds",
        "DELETE /api/v1/holds/{type}/{id}",
        "POST /api/v1/retention/run",
        "GET /api/v1/retention/preview",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(got, expected);
    // And every documented route answers (not the router's 404).
    for route in &expected {
        let (method, path) = route.split_once(' ').unwrap();
        let path = path.replace("{id}", "00000000-0000-0000-0000-000000000000").replace("{type}", "case");
        let method: reqwest::Method = method.parse().unwrap();
        let response = app.client.request(method, app.url(&path)).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(body["error"]["message"], "no such route", "{route} -> {status}");
    }
    app.stop().await;
}
