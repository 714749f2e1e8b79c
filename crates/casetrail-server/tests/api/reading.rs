//! `GET /api/v1/events` filters, search, paging and bad parameters; the pickers; the
//! activity catalog.

use serde_json::{Value, json};

use crate::support::{TestApp, ago, spawn_app};

/// Seeds a small, known log: (description, actor, activity, related, seconds ago).
async fn seed(app: &TestApp) {
    let rows: &[(&str, &str, &str, &str, Value, i64)] = &[
        (
            "Opened Smith v. Jones",
            "u_1",
            "Jane Doe",
            "case.created",
            json!([{"type": "case", "id": "c_1", "name": "Smith v. Jones"}, {"type": "client", "id": "cl_1", "name": "John Smith"}]),
            5000,
        ),
        (
            "Texted José",
            "u_2",
            "Bob Stone",
            "communication.sms_sent",
            json!([{"type": "client", "id": "cl_2", "name": "José Álvarez"}]),
            4000,
        ),
        (
            "Status to Active",
            "u_1",
            "Jane Doe",
            "case.updated",
            json!([{"type": "case", "id": "c_1", "name": "Smith v. Jones"}]),
            3000,
        ),
        (
            "Emailed Siobhán O'Brien",
            "u_3",
            "Ann O'Neil",
            "communication.email_sent",
            json!([{"type": "client", "id": "cl_3", "name": "Siobhán O'Brien"}]),
            2000,
        ),
        (
            "Merged duplicates",
            "u_2",
            "Bob Stone",
            "client.merged",
            json!([{"type": "client", "id": "cl_1", "name": "John Smith"}]),
            1000,
        ),
    ];
    for (description, actor, name, activity, related, secs) in rows {
        app.ingest_ok(&json!({
            "actor": {"id": actor, "name": name},
            "activity": activity,
            "description": description,
            "related": related,
            "occurred_at": ago(*secs),
        }))
        .await;
    }
}

async fn descriptions(app: &TestApp, query: &str) -> Vec<String> {
    let (status, body) = app.admin_get(&format!("/api/v1/events?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["events"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn every_filter_and_their_combinations() {
    let app = spawn_app().await;
    seed(&app).await;
    let all =
        ["Merged duplicates", "Emailed Siobhán O'Brien", "Status to Active", "Texted José", "Opened Smith v. Jones"];
    assert_eq!(descriptions(&app, "").await, all);
    assert_eq!(descriptions(&app, "actor=u_1").await, ["Status to Active", "Opened Smith v. Jones"]);
    assert_eq!(
        descriptions(&app, "actor=u_1&actor=u_3").await,
        ["Emailed Siobhán O'Brien", "Status to Active", "Opened Smith v. Jones"]
    );
    assert_eq!(descriptions(&app, "activity=case.updated").await, ["Status to Active"]);
    assert_eq!(descriptions(&app, "activity=communication").await, ["Emailed Siobhán O'Brien", "Texted José"]);
    assert_eq!(
        descriptions(&app, "activity=case&activity=client.merged").await,
        ["Merged duplicates", "Status to Active", "Opened Smith v. Jones"]
    );
    assert_eq!(descriptions(&app, "case=c_1").await, ["Status to Active", "Opened Smith v. Jones"]);
    assert_eq!(descriptions(&app, "client=cl_1").await, ["Merged duplicates", "Opened Smith v. Jones"]);
    assert_eq!(descriptions(&app, "client=cl_1&actor=u_2").await, ["Merged duplicates"]);
    let from = ago(3500);
    let to = ago(1500);
    assert_eq!(
        descriptions(&app, &format!("from={from}&to={to}")).await,
        ["Emailed Siobhán O'Brien", "Status to Active"]
    );
    assert_eq!(descriptions(&app, &format!("from={from}&activity=case")).await, ["Status to Active"]);
    app.stop().await;
}

#[tokio::test]
async fn dates_cover_whole_days_in_the_account_time_zone() {
    let app = spawn_app().await;
    seed(&app).await;
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    // All seeded events are within the last 2 hours; with from=to=today (UTC) they are
    // all found unless the day just turned, so the check uses yesterday..today.
    let yesterday = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24)).strftime("%Y-%m-%d").to_string();
    assert_eq!(descriptions(&app, &format!("from={yesterday}&to={today}")).await.len(), 5);
    let tomorrow = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)).strftime("%Y-%m-%d").to_string();
    assert!(descriptions(&app, &format!("from={tomorrow}")).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn keyword_search_follows_the_contract() {
    let app = spawn_app().await;
    seed(&app).await;
    assert_eq!(descriptions(&app, "q=smi").await, ["Merged duplicates", "Status to Active", "Opened Smith v. Jones"]);
    assert_eq!(descriptions(&app, "q=jose").await, ["Texted José"]);
    assert_eq!(descriptions(&app, "q=JOS%C3%89").await, ["Texted José"]);
    assert_eq!(descriptions(&app, "q=O%27Brien").await, ["Emailed Siobhán O'Brien"]);
    assert_eq!(descriptions(&app, "q=jane+smith").await, ["Status to Active", "Opened Smith v. Jones"]);
    assert_eq!(descriptions(&app, "q=bob").await, ["Merged duplicates", "Texted José"], "actor names are searched");
    assert!(descriptions(&app, "q=zzz").await.is_empty());
    let hostile = [
        "%22",
        "*",
        "AND",
        "OR",
        "NEAR(",
        "-smith",
        ")",
        "%F0%9F%9A%80",
        "%27%3B+DROP+TABLE+events%3B--",
        "smith%22+OR+%221",
        "NOT+smith",
        "a:b",
        "%5E",
        "col:smith",
        "%22%22%22",
    ];
    for q in hostile {
        let (status, _) = app.admin_get(&format!("/api/v1/events?q={q}")).await;
        assert_eq!(status, 200, "q={q}");
    }
    assert_eq!(descriptions(&app, "q=-smith").await.len(), 3, "a dash is a separator, not NOT");
    assert_eq!(descriptions(&app, "q=%F0%9F%9A%80").await.len(), 5, "no word filters nothing");
    let long = "smith+".repeat(800);
    let (status, _) = app.admin_get(&format!("/api/v1/events?q={long}")).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn pages_walk_every_event_once_in_order() {
    let app = spawn_app().await;
    let events: Vec<Value> = (0..23)
        .map(|i| json!({"actor": {"id": "u", "name": "n"}, "activity": "case.updated", "description": format!("e{i}"), "occurred_at": ago(100 - (i / 3))}))
        .collect();
    app.ingest_ok(&json!({ "events": events })).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/events?limit=4&cursor={c}"),
            None => "/api/v1/events?limit=4".into(),
        };
        let (_, page) = app.admin_get(&path).await;
        pages += 1;
        for e in page["events"].as_array().unwrap() {
            seen.push((e["occurred_at"].as_str().unwrap().to_string(), e["seq"].as_u64().unwrap()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 6);
    let mut expected = seen.clone();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, expected, "newest first, ties by higher seq");
    let seqs: std::collections::BTreeSet<u64> = seen.iter().map(|s| s.1).collect();
    assert_eq!(seqs.len(), 23);
    app.stop().await;
}

#[tokio::test]
async fn bad_parameters_are_400() {
    let app = spawn_app().await;
    for query in [
        "activity=case.opened",
        "activity=cases",
        "from=2026-13-45",
        "to=yesterday",
        "limit=0",
        "limit=501",
        "limit=abc",
        "limit=-1",
        "cursor=garbage",
        "cursor=djE6MTox%21",
        "sort=asc",
    ] {
        let (status, body) = app.admin_get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
    }
    let (status, _) = app.admin_get("/api/v1/records?type=matter").await;
    assert_eq!(status, 400);
    let (status, _) = app.admin_get("/api/v1/events/not-a-uuid").await;
    assert_eq!(status, 404);
    let (status, _) = app.admin_get("/api/v1/events?limit=500").await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn pickers_offer_what_the_log_has_seen() {
    let app = spawn_app().await;
    seed(&app).await;
    let (_, body) = app.admin_get("/api/v1/actors?q=bo").await;
    assert_eq!(body, json!({"actors": [{"id": "u_2", "name": "Bob Stone", "email": null}]}));
    let (_, body) = app.admin_get("/api/v1/actors").await;
    assert_eq!(body["actors"].as_array().unwrap().len(), 3);
    let (_, body) = app.admin_get("/api/v1/records?type=client&q=jose").await;
    assert_eq!(body, json!({"records": [{"type": "client", "id": "cl_2", "name": "José Álvarez"}]}));
    let (_, body) = app.admin_get("/api/v1/records?type=case").await;
    assert_eq!(body, json!({"records": [{"type": "case", "id": "c_1", "name": "Smith v. Jones"}]}));
    let (_, body) = app.admin_get("/api/v1/records?q=smith").await;
    let ids: Vec<&str> = body["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"c_1") && ids.contains(&"cl_1"));
    app.stop().await;
}

#[tokio::test]
async fn the_activity_catalog_is_the_contracts() {
    let app = spawn_app().await;
    let (status, body) = app.admin_get("/api/v1/activity-types").await;
    assert_eq!(status, 200);
    let categories = body["categories"].as_array().unwrap();
    let keys: Vec<&str> = categories.iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["case", "client", "communication", "team", "settings", "system_log"]);
    assert_eq!(categories[2]["label"], "Communication");
    assert_eq!(
        categories[2]["types"][6],
        json!({"key": "communication.ai_call_initiated", "label": "AI call initiated"})
    );
    assert_eq!(categories[5]["label"], "System Log");
    let total: usize = categories.iter().map(|c| c["types"].as_array().unwrap().len()).sum();
    assert_eq!(total, 29);
    app.stop().await;
}
