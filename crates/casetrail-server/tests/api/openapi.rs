//! `GET /api/v1/openapi.json` describes every `/api/v1` endpoint, and `docs/API.md`
//! documents exactly the same ones.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{TestApp, spawn_app};

/// The reference page, read at compile time so that editing it rebuilds the test.
const API_MD: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md"));

/// Every `METHOD /path` pair of the served OpenAPI document.
async fn openapi_endpoints(app: &TestApp) -> BTreeSet<String> {
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
    got
}

/// The endpoints a Markdown page documents: each line of the form
/// ``### `METHOD /api/v1/path` `` (anything may follow the closing backtick), in page
/// order. A line starting with ``### ` `` that is not of that form is an error, so a
/// misspelt heading cannot silently drop an endpoint from the comparison.
fn documented_endpoints(markdown: &str) -> Result<Vec<String>, String> {
    const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    let mut found = Vec::new();
    for (number, line) in markdown.lines().enumerate() {
        let Some(rest) = line.strip_prefix("### `") else { continue };
        let bad = |why: &str| format!("docs/API.md line {}: {why}: {line}", number + 1);
        let (endpoint, _) = rest.split_once('`').ok_or_else(|| bad("no closing backtick"))?;
        let (method, path) = endpoint.split_once(' ').ok_or_else(|| bad("expected `METHOD /api/v1/...`"))?;
        if !METHODS.contains(&method) {
            return Err(bad("unknown method"));
        }
        if !path.starts_with("/api/v1/") || path.contains([' ', '?']) {
            return Err(bad("expected one /api/v1/ path without a query"));
        }
        found.push(format!("{method} {path}"));
    }
    Ok(found)
}

#[test]
fn documented_endpoints_reads_headings_and_refuses_malformed_ones() {
    let page = "## §5\n### `GET /api/v1/events/{id}` — one event\n    ### `GET /api/v1/not-a-heading`\n\
                ### Not an endpoint\n### `DELETE /api/v1/holds/{type}/{id}`\n";
    assert_eq!(documented_endpoints(page).unwrap(), ["GET /api/v1/events/{id}", "DELETE /api/v1/holds/{type}/{id}"]);
    assert!(documented_endpoints("### `get /api/v1/events`").unwrap_err().contains("unknown method"));
    assert!(documented_endpoints("### `GET /healthz`").unwrap_err().contains("/api/v1/"));
    assert!(documented_endpoints("### `GET /api/v1/events?q=x`").unwrap_err().contains("without a query"));
    assert!(documented_endpoints("### `GET /api/v1/events").unwrap_err().contains("closing backtick"));
}

#[tokio::test]
async fn docs_api_md_lists_exactly_the_openapi_endpoints() {
    let app = spawn_app().await;
    let served = openapi_endpoints(&app).await;
    app.stop().await;
    let listed = documented_endpoints(API_MD).unwrap_or_else(|e| panic!("{e}"));
    let documented: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(documented.len(), listed.len(), "an endpoint has two headings in docs/API.md: {listed:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but missing from docs/API.md: {undocumented:?}");
    assert!(not_served.is_empty(), "in docs/API.md but not in the OpenAPI document: {not_served:?}");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let got = openapi_endpoints(&app).await;
    let expected: BTreeSet<String> = [
        "GET /api/v1/openapi.json",
        "POST /api/v1/events",
        "GET /api/v1/events",
        "GET /api/v1/events/{id}",
        "GET /api/v1/events/export",
        "GET /api/v1/events/feed",
        "GET /api/v1/activity-types",
        "GET /api/v1/actors",
        "GET /api/v1/records",
        "GET /api/v1/records/{type}/{id}",
        "GET /api/v1/settings/account",
        "PUT /api/v1/settings/account",
        "GET /api/v1/settings/masking",
        "PUT /api/v1/settings/masking",
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
        "GET /api/v1/integrity/public-keys",
        "GET /api/v1/events/{id}/proof",
        "GET /api/v1/integrity/consistency",
        "GET /api/v1/settings/retention",
        "PUT /api/v1/settings/retention",
        "PUT /api/v1/settings/legal-hold",
        "POST /api/v1/holds",
        "DELETE /api/v1/holds/{type}/{id}",
        "POST /api/v1/retention/run",
        "GET /api/v1/retention/preview",
        "GET /api/v1/streams",
        "POST /api/v1/streams",
        "GET /api/v1/streams/{id}",
        "PATCH /api/v1/streams/{id}",
        "DELETE /api/v1/streams/{id}",
        "POST /api/v1/streams/{id}/replay",
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

/// Operations that take no request body although their method usually does: they act
/// on the caller's account as it is.
const BODILESS_WRITES: [&str; 2] = ["POST /api/v1/integrity/checkpoints", "POST /api/v1/retention/run"];

/// Where the document leaves a client without a schema: an operation without a 2xx
/// answer, a 2xx answer with a body but no schema for it (204 has no body), an error
/// answer not in the shared error shape, a write without a request body schema, or a
/// `$ref` to nothing. One line per gap, so a failure names them all.
fn schema_gaps(doc: &Value) -> Vec<String> {
    let mut gaps = Vec::new();
    let paths = doc["paths"].as_object().map(|p| p.iter().collect::<Vec<_>>()).unwrap_or_default();
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            let name = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            if !responses.keys().any(|s| s.starts_with('2')) {
                gaps.push(format!("{name}: no 2xx response"));
            }
            for (status, response) in &responses {
                let content = response["content"].as_object();
                if status == "204" {
                    if content.is_some() {
                        gaps.push(format!("{name}: 204 with a body"));
                    }
                } else if status.starts_with('2') {
                    match content {
                        Some(media) if !media.is_empty() => {
                            for (media_type, body) in media {
                                if !body["schema"].is_object() {
                                    gaps.push(format!("{name}: {status} {media_type} without a schema"));
                                }
                            }
                        }
                        _ => gaps.push(format!("{name}: {status} without a body schema")),
                    }
                } else if response["content"]["application/json"]["schema"]["$ref"]
                    != "#/components/schemas/ErrorResponse"
                {
                    gaps.push(format!("{name}: {status} not described as an ErrorResponse"));
                }
            }
            let writes = ["post", "put", "patch"].contains(&method.as_str());
            let request_schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if BODILESS_WRITES.contains(&name.as_str()) {
                if !op["requestBody"].is_null() {
                    gaps.push(format!("{name}: listed as taking no body, yet has a requestBody"));
                }
            } else if writes && !request_schema.is_object() {
                gaps.push(format!("{name}: no application/json requestBody schema"));
            }
        }
    }
    dangling_refs(doc, doc, &mut gaps);
    gaps
}

/// Every `$ref` anywhere in `node` must point inside `doc` at something.
fn dangling_refs(doc: &Value, node: &Value, gaps: &mut Vec<String>) {
    match node {
        Value::Object(members) => {
            if let Some(target) = members.get("$ref") {
                let found = target.as_str().and_then(|t| t.strip_prefix('#')).and_then(|pointer| doc.pointer(pointer));
                if found.is_none() {
                    gaps.push(format!("$ref {target} points at nothing"));
                }
            }
            members.values().for_each(|child| dangling_refs(doc, child, gaps));
        }
        Value::Array(items) => items.iter().for_each(|child| dangling_refs(doc, child, gaps)),
        _ => {}
    }
}

#[test]
fn schema_gaps_names_every_kind_of_gap() {
    let doc = serde_json::json!({
        "paths": {
            "/a": {
                "get": {"responses": {"200": {"description": "no body"},
                                      "404": {"content": {"application/json": {"schema": {"type": "object"}}}}}},
                "post": {"responses": {"201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}}}}},
                "delete": {"responses": {"204": {"description": "fine"}}},
            },
            "/b": {
                "put": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Here"}}}},
                        "responses": {"400": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}}},
                "get": {"responses": {"200": {"content": {"text/csv": {}}}}},
            },
            "/api/v1/retention/run": {"post": {"requestBody": {}, "responses": {"204": {}}}},
        },
        "components": {"schemas": {"Here": {"type": "object"}}},
    });
    assert_eq!(
        schema_gaps(&doc),
        [
            "GET /a: 200 without a body schema",
            "GET /a: 404 not described as an ErrorResponse",
            "POST /a: no application/json requestBody schema",
            "POST /api/v1/retention/run: listed as taking no body, yet has a requestBody",
            "GET /b: 200 text/csv without a schema",
            "PUT /b: no 2xx response",
            "$ref \"#/components/schemas/Gone\" points at nothing",
            "$ref \"#/components/schemas/ErrorResponse\" points at nothing",
        ]
    );
}

#[tokio::test]
async fn every_operation_has_request_and_response_schemas() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    let doc: Value = response.json().await.unwrap();
    app.stop().await;
    let gaps = schema_gaps(&doc);
    assert!(gaps.is_empty(), "the OpenAPI document leaves these without a schema:\n{}", gaps.join("\n"));
    // The export is the one answer that is not JSON: its four formats are described.
    let export = doc["paths"]["/api/v1/events/export"]["get"]["responses"]["200"]["content"].as_object().unwrap();
    let types: BTreeSet<&str> = export.keys().map(String::as_str).collect();
    assert_eq!(
        types,
        BTreeSet::from([
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/x-ndjson",
            "application/zip",
            "text/csv; charset=utf-8",
        ])
    );
}

/// Events and the account settings are served from text the handlers do not build from
/// the schema types, so read real answers into those types and write them back: any
/// member the types lack, misname or mistype changes the result.
#[tokio::test]
async fn the_document_only_types_read_back_the_served_bodies() {
    use casetrail_server::api::schema::{AccountSettings, Event, EventPage};

    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(served: &Value) -> Value {
        let typed: T = serde_json::from_value(served.clone()).unwrap_or_else(|e| panic!("{e}: {served}"));
        serde_json::to_value(typed).unwrap()
    }

    let app = spawn_app().await;
    app.ingest_ok(&serde_json::json!({"events": [
        {"actor": {"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.example"}, "activity": "case.updated",
         "idempotency_key": "crm-1", "related": [{"type": "case", "id": "c_204", "name": "Smith v. Jones"},
         {"type": "client", "id": "cl_88"}], "changes": [{"field": "status", "before": "Intake", "after": 3}],
         "metadata": {"source": "web", "n": [1, null]}, "context": {"ip": "203.0.113.5"}},
        {"actor": {"id": "bot", "name": "Robot", "type": "automation"}, "activity": "client.created"},
    ]}))
    .await;
    let (status, page) = app.admin_get("/api/v1/events").await;
    assert_eq!(status, 200);
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(round_trip::<EventPage>(&page), page);
    let id = page["events"][1]["id"].as_str().unwrap();
    let (_, event) = app.admin_get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(event["context"], serde_json::json!({"ip": "203.0.113.5"}));
    assert_eq!(round_trip::<Event>(&event), event);
    let (_, settings) = app.admin_get("/api/v1/settings/account").await;
    assert_eq!(round_trip::<AccountSettings>(&settings), settings);
    app.stop().await;
}

/// Found by scripts/schemathesis: an admin key's ingest answered 403 and an ingest
/// key's admin call 403 (both right by docs/API.md §3), but no operation listed 401 or
/// 403, and an error's `code` could have been any string. Every operation that needs
/// credentials now declares the bearer scheme and both answers, and the served 403
/// matches its schema.
#[tokio::test]
async fn every_operation_declares_its_credentials_and_their_refusals() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let statuses: BTreeSet<&str> = op["responses"].as_object().unwrap().keys().map(String::as_str).collect();
            let secured = op["security"] == serde_json::json!([{"api_key": []}]);
            let expected = match path.as_str() {
                "/api/v1/openapi.json" => (false, false, false),
                "/api/v1/activity-types" => (true, true, false),
                _ => (true, true, true),
            };
            if (secured, statuses.contains("401"), statuses.contains("403")) != expected {
                missing.push(format!("{name}: security {secured}, statuses {statuses:?}"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    assert_eq!(codes.as_array().map(Vec::len), Some(12), "{codes}");

    // An admin key may not ingest: the 403 it gets is one the document lists.
    let response = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(&app.firm.admin_key)
        .json(&serde_json::json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.created"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(codes.as_array().unwrap().contains(&body["error"]["code"]));
    app.stop().await;
}
