//! Retention, holds and purge (docs/API.md §6): exactly what the policy allows goes, the
//! chain still verifies, and every change is an event. (Tampering with tombstones and
//! the space a purge gives back are each backend's own tests.)

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, old_event, spawn_app};

async fn descriptions(app: &TestApp) -> Vec<String> {
    let (_, body) = app.admin_get("/api/v1/events?limit=500&activity=case").await;
    let mut out: Vec<String> =
        body["events"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap().to_string()).collect();
    out.sort();
    out
}

async fn run(app: &TestApp) -> u64 {
    let (status, body) = app.admin_send(Method::POST, "/api/v1/retention/run", None).await;
    assert_eq!(status, 200, "{body}");
    body["purged"].as_u64().unwrap()
}

async fn integrity_ok(app: &TestApp) -> Value {
    let (_, body) = app.admin_get("/api/v1/integrity").await;
    assert_eq!(body["problems"], json!([]), "{body}");
    body
}

async fn seed(app: &TestApp) {
    app.append_direct(vec![
        old_event(10, "recent", Some("c_1"), None),
        old_event(100, "old plain", Some("c_2"), None),
        old_event(120, "old held case", Some("c_held"), Some("cl_9")),
        old_event(150, "old held client", None, Some("cl_held")),
        old_event(200, "ancient", None, None),
        old_event(400, "very ancient", Some("c_2"), Some("cl_2")),
    ])
    .await;
}

#[tokio::test]
async fn purge_removes_exactly_what_the_policy_allows() {
    let app = spawn_app().await;
    seed(&app).await;
    for (kind, id) in [("case", "c_held"), ("client", "cl_held")] {
        let (status, hold) = app
            .admin_send(Method::POST, "/api/v1/holds", Some(json!({"type": kind, "id": id, "reason": "Litigation"})))
            .await;
        assert_eq!(status, 201);
        assert_eq!(
            (hold["type"].as_str(), hold["id"].as_str(), hold["reason"].as_str()),
            (Some(kind), Some(id), Some("Litigation"))
        );
    }
    let (_, preview) = app.admin_get("/api/v1/retention/preview").await;
    assert_eq!(preview["events"], 3);
    assert_eq!(run(&app).await, 3);
    assert_eq!(descriptions(&app).await, ["old held case", "old held client", "recent"]);

    let (_, list) = app.admin_get("/api/v1/events?activity=system_log.purged").await;
    let purged = &list["events"][0];
    assert_eq!(purged["metadata"]["purged"], 3);
    assert_eq!(purged["metadata"]["retention_days"], 90);
    assert_eq!((purged["metadata"]["first_seq"].as_u64(), purged["metadata"]["last_seq"].as_u64()), (Some(2), Some(6)));
    let report = integrity_ok(&app).await;
    assert_eq!(report["purged"], 3);
    // Nothing left to purge: a second run removes and records nothing.
    assert_eq!(run(&app).await, 0);
    let (_, list) = app.admin_get("/api/v1/events?activity=system_log.purged").await;
    assert_eq!(list["events"].as_array().unwrap().len(), 1);

    // Lifting a hold lets the next run take what it kept.
    let (status, _) = app.admin_send(Method::DELETE, "/api/v1/holds/client/cl_held", None).await;
    assert_eq!(status, 204);
    assert_eq!(run(&app).await, 1);
    assert_eq!(descriptions(&app).await, ["old held case", "recent"]);
    integrity_ok(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn legal_hold_and_keep_forever_purge_nothing_and_policy_changes_work_both_ways() {
    let app = spawn_app().await;
    seed(&app).await;
    let (status, body) =
        app.admin_send(Method::PUT, "/api/v1/settings/legal-hold", Some(json!({"legal_hold": true}))).await;
    assert_eq!((status, body["legal_hold"].as_bool()), (200, Some(true)));
    assert_eq!(run(&app).await, 0);
    app.admin_send(Method::PUT, "/api/v1/settings/legal-hold", Some(json!({"legal_hold": false}))).await;

    let (status, body) =
        app.admin_send(Method::PUT, "/api/v1/settings/retention", Some(json!({"retention_days": null}))).await;
    assert_eq!((status, body["retention_days"].clone()), (200, Value::Null));
    assert_eq!(run(&app).await, 0);

    app.admin_send(Method::PUT, "/api/v1/settings/retention", Some(json!({"retention_days": 180}))).await;
    assert_eq!(run(&app).await, 2);
    assert_eq!(descriptions(&app).await, ["old held case", "old held client", "old plain", "recent"]);
    app.admin_send(Method::PUT, "/api/v1/settings/retention", Some(json!({"retention_days": 3650}))).await;
    assert_eq!(run(&app).await, 0);
    app.admin_send(Method::PUT, "/api/v1/settings/retention", Some(json!({"retention_days": 90}))).await;
    assert_eq!(run(&app).await, 3);
    assert_eq!(descriptions(&app).await, ["recent"]);
    integrity_ok(&app).await;

    let (_, list) = app
        .admin_get(
            "/api/v1/events?activity=system_log.retention_changed&activity=system_log.legal_hold_changed&limit=10",
        )
        .await;
    let changes: Vec<Value> =
        list["events"].as_array().unwrap().iter().rev().map(|e| e["changes"][0].clone()).collect();
    assert_eq!(
        changes,
        [
            json!({"field": "legal_hold", "before": false, "after": true}),
            json!({"field": "legal_hold", "before": true, "after": false}),
            json!({"field": "retention_days", "before": 90, "after": null}),
            json!({"field": "retention_days", "before": null, "after": 180}),
            json!({"field": "retention_days", "before": 180, "after": 3650}),
            json!({"field": "retention_days", "before": 3650, "after": 90}),
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_retention_input_is_refused() {
    let app = spawn_app().await;
    for bad in [json!(89), json!(3651), json!(90.5), json!("90"), json!(-5), json!(true), json!([90])] {
        let (status, body) =
            app.admin_send(Method::PUT, "/api/v1/settings/retention", Some(json!({"retention_days": bad}))).await;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(body["error"]["details"][0]["field"], "retention_days");
    }
    let (status, _) = app.admin_send(Method::PUT, "/api/v1/settings/retention", Some(json!({}))).await;
    assert_eq!(status, 422);
    let (status, _) =
        app.admin_send(Method::PUT, "/api/v1/settings/legal-hold", Some(json!({"legal_hold": "yes"}))).await;
    assert_eq!(status, 422);
    for bad in [
        json!({"type": "user", "id": "u1"}),
        json!({"type": "matter", "id": "m1"}),
        json!({"type": "case"}),
        json!({"type": "case", "id": "c", "reason": 5}),
    ] {
        let (status, _) = app.admin_send(Method::POST, "/api/v1/holds", Some(bad.clone())).await;
        assert_eq!(status, 422, "{bad}");
    }
    let (status, _) =
        app.admin_send(Method::POST, "/api/v1/holds", Some(json!({"type": "case", "id": "c1", "reason": "x"}))).await;
    assert_eq!(status, 201);
    let (status, _) =
        app.admin_send(Method::POST, "/api/v1/holds", Some(json!({"type": "case", "id": "c1", "reason": "x"}))).await;
    assert_eq!(status, 409);
    for path in ["/api/v1/holds/case/nope", "/api/v1/holds/matter/c1", "/api/v1/holds/client/c1"] {
        let (status, _) = app.admin_send(Method::DELETE, path, None).await;
        assert_eq!(status, 404, "{path}");
    }
    // Ingest keys and other firms cannot touch it.
    let response =
        app.client.post(app.url("/api/v1/retention/run")).bearer_auth(&app.firm.ingest_key).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let other = app.other_firm().await;
    let response =
        app.client.delete(app.url("/api/v1/holds/case/c1")).bearer_auth(&other.admin_key).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let (_, retention) = app.admin_get("/api/v1/settings/retention").await;
    assert_eq!(retention["retention_days"], 90);
    assert_eq!(retention["holds"][0]["id"], "c1");
    app.stop().await;
}

#[tokio::test]
async fn ingest_refuses_events_outside_the_window_and_follows_the_policy() {
    let app = spawn_app().await;
    let response = app.ingest(&old_event(100, "too old", None, None)).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "occurred_at");
    assert!(body["error"]["message"].as_str().unwrap().contains("retention window"));
    app.admin_send(Method::PUT, "/api/v1/settings/legal-hold", Some(json!({"legal_hold": true}))).await;
    assert_eq!(app.ingest(&old_event(100, "still too old", None, None)).await.status(), 422, "legal hold or not");
    app.admin_send(Method::PUT, "/api/v1/settings/retention", Some(json!({"retention_days": 365}))).await;
    assert_eq!(app.ingest(&old_event(100, "now kept", None, None)).await.status(), 201);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purge_runs_beside_ingest_and_browse() {
    // That the purge gives the space back is each backend's own test: space is
    // counted differently by each.
    let app = std::sync::Arc::new(spawn_app().await);
    let blob = "x".repeat(2_000);
    for chunk in 0..10 {
        let events: Vec<Value> = (0..500)
            .map(|i| {
                let mut e = old_event(100 + (i % 50), &format!("old {chunk}-{i}"), Some(&format!("c_{i}")), None);
                e["metadata"] = json!({"note": blob});
                e
            })
            .collect();
        app.append_direct(events).await;
    }
    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut acked = 0;
            for i in 0..40 {
                let answer = app.ingest_ok(&crate::support::event("case.created", &format!("live {i}"))).await;
                acked += answer["events"].as_array().unwrap().len();
            }
            acked
        })
    };
    let reader = {
        let app = app.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                let (status, _) = app.admin_get("/api/v1/events?q=old&limit=20").await;
                assert_eq!(status, 200);
            }
        })
    };
    assert_eq!(run(&app).await, 5_000);
    let acked = writer.await.unwrap();
    reader.await.unwrap();
    assert_eq!(acked, 40);
    let (_, live) = app.admin_get("/api/v1/events?q=live&limit=100").await;
    assert_eq!(live["events"].as_array().unwrap().len(), 40, "every acknowledged event is there");
    let (_, old) = app.admin_get("/api/v1/events?q=old&activity=case.updated&limit=20").await;
    assert_eq!(old["events"], json!([]), "no purged event is found any more");
    integrity_ok(&app).await;
}
