//! Retention by category (docs/API.md §14): `categories` set, read and recorded;
//! every bad input refused with nothing kept; the purge and the ingest window
//! following each category's own days, holds still winning; the dry run per
//! category.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, TestApp, ago, spawn_app};

async fn put(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    let response =
        app.client.put(app.url("/api/v1/settings/retention")).bearer_auth(key).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An event of `activity`, `days` old, described as `description`.
fn aged(activity: &str, days: i64, description: &str) -> Value {
    json!({"actor": {"id": "u_1", "name": "Jane Doe"}, "activity": activity, "description": description,
           "occurred_at": ago(days * 86_400)})
}

async fn retention_changes(app: &TestApp) -> Vec<Value> {
    let (_, list) = app.admin_get("/api/v1/events?activity=system_log.retention_changed&limit=50").await;
    list["events"].as_array().unwrap().iter().rev().map(|e| e["changes"].clone()).collect()
}

async fn descriptions(app: &TestApp) -> Vec<String> {
    let (_, body) = app.admin_get("/api/v1/events?limit=500").await;
    let mut out: Vec<String> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["activity"].as_str().unwrap().starts_with("system_log."))
        .map(|e| e["description"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn categories_are_set_read_replaced_whole_and_recorded() {
    let app = spawn_app().await;
    let key = app.firm.admin_key.clone();
    let (_, policy) = app.admin_get("/api/v1/settings/retention").await;
    assert_eq!(policy["categories"], json!({}), "none of their own by default");

    let (status, body) =
        put(&app, &key, json!({"retention_days": 90, "categories": {"team": 2555, "system_log": null}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["categories"], json!({"system_log": null, "team": 2555}));
    assert_eq!(body["retention_days"], 90);
    let (_, policy) = app.admin_get("/api/v1/settings/retention").await;
    assert_eq!(policy["categories"], json!({"system_log": null, "team": 2555}));

    // Without `categories` the map stays; with it, it is replaced whole.
    let (_, body) = put(&app, &key, json!({"retention_days": 120})).await;
    assert_eq!(
        (body["retention_days"].clone(), body["categories"].clone()),
        (json!(120), policy["categories"].clone())
    );
    let (status, body) = put(&app, &key, json!({"categories": {"communication": 3650}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["retention_days"].clone(), body["categories"].clone()),
        (json!(120), json!({"communication": 3650}))
    );
    // The same again changes nothing and records nothing; an empty map clears it.
    put(&app, &key, json!({"retention_days": 120, "categories": {"communication": 3650}})).await;
    let (_, body) = put(&app, &key, json!({"categories": {}})).await;
    assert_eq!(body["categories"], json!({}));

    assert_eq!(
        retention_changes(&app).await,
        [
            json!([{"field": "categories", "before": {}, "after": {"system_log": null, "team": 2555}}]),
            json!([{"field": "retention_days", "before": 90, "after": 120}]),
            json!([{"field": "categories", "before": {"system_log": null, "team": 2555},
                    "after": {"communication": 3650}}]),
            json!([{"field": "categories", "before": {"communication": 3650}, "after": {}}]),
        ]
    );
    // Both at once: one event with both changes.
    put(&app, &key, json!({"retention_days": 365, "categories": {"team": 90}})).await;
    let (_, list) = app.admin_get("/api/v1/events?activity=system_log.retention_changed&limit=1").await;
    let newest = &list["events"][0];
    assert_eq!(newest["changes"].as_array().unwrap().len(), 2, "{newest}");
    assert_eq!(
        newest["description"],
        "Changed retention from 120 days to 365 days and the retention of categories from none of their own to team 90 days"
    );
    assert_eq!(newest["actor"]["type"], "api");
    app.stop().await;
}

#[tokio::test]
async fn every_bad_category_input_is_refused_and_nothing_is_kept() {
    let app = spawn_app().await;
    let key = app.firm.admin_key.clone();
    put(&app, &key, json!({"retention_days": 90, "categories": {"team": 2555}})).await;
    let before = retention_changes(&app).await;
    let out_of_range = [json!(89), json!(3651), json!(0), json!(-5), json!(90.5), json!(1e300), json!(4294967386u64)];
    let wrong_type = [json!("90"), json!(true), json!([90]), json!({"days": 90})];
    for bad in out_of_range.iter().chain(&wrong_type) {
        let (status, body) = put(&app, &key, json!({"retention_days": 90, "categories": {"team": bad}})).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["details"][0]["field"], "categories.team", "{bad}");
    }
    for bad in ["matter", "Team", "case.updated", "", "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "🦀"] {
        let (status, body) = put(&app, &key, json!({"categories": {bad: 365}})).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"]["details"][0]["field"], format!("categories.{bad}"));
        assert!(body["error"]["details"][0]["message"].as_str().unwrap().contains("unknown category"), "{body}");
    }
    for bad in [json!([["team", 90]]), json!("team"), json!(null), json!(5)] {
        let (status, body) = put(&app, &key, json!({"retention_days": 90, "categories": bad})).await;
        assert_eq!((status, body["error"]["details"][0]["field"].clone()), (422, json!("categories")), "{bad}");
    }
    // Every bad member is named at once, the period's too.
    let (status, body) = put(&app, &key, json!({"retention_days": 5, "categories": {"team": 1, "matter": 90}})).await;
    assert_eq!(status, 422);
    let mut fields: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["categories.matter", "categories.team", "retention_days"]);
    // A good map with a bad period (or an unknown member) is refused whole.
    let (status, _) = put(&app, &key, json!({"retention_days": 89, "categories": {"case": 365}})).await;
    assert_eq!(status, 422);
    let (status, body) = put(&app, &key, json!({"retention_days": 90, "category": {"case": 365}})).await;
    assert_eq!((status, body["error"]["details"][0]["field"].clone()), (422, json!("category")));
    let (status, body) = put(&app, &key, json!({})).await;
    assert_eq!((status, body["error"]["details"][0]["field"].clone()), (422, json!("retention_days")));
    let response = app
        .client
        .put(app.url("/api/v1/settings/retention"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(r#"{"categories": {"team": 90"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // The dry run refuses the same things as a 400.
    for bad in ["notjson", r#"{"matter":90}"#, r#"{"team":1}"#, "[1]"] {
        let url =
            reqwest::Url::parse_with_params(&app.url("/api/v1/retention/preview"), [("categories", bad)]).unwrap();
        let response = app.client.get(url).bearer_auth(&key).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
    }
    let (_, policy) = app.admin_get("/api/v1/settings/retention").await;
    assert_eq!((policy["retention_days"].clone(), policy["categories"].clone()), (json!(90), json!({"team": 2555})));
    assert_eq!(retention_changes(&app).await, before, "nothing refused was recorded");
    app.stop().await;
}

#[tokio::test]
async fn only_this_firms_admin_keys_change_the_categories() {
    let app = spawn_app().await;
    let body = json!({"retention_days": 90, "categories": {"team": 2555}});
    let member = app.add_member("mia@smithjones.example").await;
    let browser = app.signed_in(&member, MEMBER_PASSWORD).await;
    assert_eq!(browser.get(app.url("/api/v1/settings/retention")).send().await.unwrap().status(), 403);
    let response = browser.put(app.url("/api/v1/settings/retention")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(browser.get(app.url("/api/v1/retention/preview")).send().await.unwrap().status(), 403);
    // An admin's session reads, but API changes take an admin key.
    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    assert_eq!(admin.put(app.url("/api/v1/settings/retention")).json(&body).send().await.unwrap().status(), 403);
    assert_eq!(put(&app, &app.firm.ingest_key, body.clone()).await.0, 403);
    assert_eq!(put(&app, "ctk_not-a-real-key", body.clone()).await.0, 401);

    // Another firm's key changes its own policy only.
    let other = app.other_firm().await;
    assert_eq!(put(&app, &other.admin_key, json!({"categories": {"communication": 120}})).await.0, 200);
    let (_, mine) = app.admin_get("/api/v1/settings/retention").await;
    assert_eq!(mine["categories"], json!({}));

    // A revoked key stops at once.
    let (_, keys) = app.admin_get("/api/v1/api-keys").await;
    let admin_key = keys["api_keys"].as_array().unwrap().iter().find(|k| k["scopes"] == json!(["admin"])).unwrap();
    let path = format!("/api/v1/api-keys/{}", admin_key["id"].as_str().unwrap());
    app.client.delete(app.url(&path)).bearer_auth(&app.firm.admin_key).send().await.unwrap();
    assert_eq!(put(&app, &app.firm.admin_key, body).await.0, 401);
    let account = app.store.account(app.account_id()).await.unwrap().unwrap();
    assert!(account.retention_categories.is_empty(), "nothing refused was kept");
    app.stop().await;
}

#[tokio::test]
async fn the_purge_and_the_ingest_window_follow_each_category() {
    let app = spawn_app().await;
    let key = app.firm.admin_key.clone();
    let policy = json!({"retention_days": 90, "categories": {"team": 2555, "communication": 120, "settings": null}});
    assert_eq!(put(&app, &key, policy).await.0, 200);
    let mut held = aged("team.user_role_changed", 2700, "team 2700 held");
    held["related"] = json!([{"type": "case", "id": "c_held", "name": "Smith v. Jones"}]);
    app.append_direct(vec![
        aged("case.updated", 100, "case 100"),
        aged("case.updated", 80, "case 80"),
        aged("team.user_logged_in", 1000, "team 1000"),
        aged("team.login_failed", 2600, "team 2600"),
        held,
        aged("communication.sms_sent", 100, "communication 100"),
        aged("communication.sms_received", 130, "communication 130"),
        aged("settings.updated", 4000, "settings 4000"),
        aged("client.updated", 91, "client 91"),
    ])
    .await;
    let (status, _) = app
        .admin_send(Method::POST, "/api/v1/holds", Some(json!({"type": "case", "id": "c_held", "reason": "Trial"})))
        .await;
    assert_eq!(status, 201);

    // The dry run: what each category would lose.
    let (_, preview) = app.admin_get("/api/v1/retention/preview").await;
    let lose = |key: &str| preview["categories"][key]["events"].as_u64().unwrap();
    assert_eq!([lose("case"), lose("client"), lose("communication"), lose("team"), lose("settings")], [1, 1, 1, 1, 0]);
    assert_eq!(lose("system_log"), 0);
    assert_eq!(preview["events"], 4);
    assert_eq!(preview["categories"]["team"]["retention_days"], 2555);
    assert_eq!(preview["categories"]["team"]["own"], true);
    assert_eq!(preview["categories"]["case"]["own"], false);
    assert_eq!(preview["categories"]["settings"]["cutoff"], Value::Null);
    assert_eq!(preview["categories"]["case"]["retention_days"], 90);
    // A policy to try: everything at 90 days but communications forever.
    let (_, trial) = app.admin_get("/api/v1/retention/preview?categories=%7B%22communication%22%3Anull%7D").await;
    let lose = |key: &str| trial["categories"][key]["events"].as_u64().unwrap();
    assert_eq!([lose("case"), lose("client"), lose("communication"), lose("team"), lose("settings")], [1, 1, 0, 2, 1]);

    let (status, run) = app.admin_send(Method::POST, "/api/v1/retention/run", None).await;
    assert_eq!((status, run["purged"].as_u64()), (200, Some(4)), "{run}");
    assert_eq!(
        descriptions(&app).await,
        [
            "Placed a legal hold on case c_held",
            "case 80",
            "communication 100",
            "settings 4000",
            "team 1000",
            "team 2700 held"
        ]
    );
    let (_, list) = app.admin_get("/api/v1/events?activity=system_log.purged").await;
    let metadata = &list["events"][0]["metadata"];
    assert_eq!(metadata["purged"], 4);
    assert_eq!(metadata["categories"]["team"]["days"], 2555);
    assert_eq!(metadata["categories"]["settings"], json!({"days": null, "cutoff": null}));
    let (_, integrity) = app.admin_get("/api/v1/integrity").await;
    assert_eq!(integrity["problems"], json!([]), "{integrity}");

    // The ingest window: each category its own days, at the edge.
    let shared = &app;
    let status = |activity: &str, days: i64| {
        let body = aged(activity, days, "late arrival");
        async move { shared.ingest(&body).await.status().as_u16() }
    };
    assert_eq!(status("team.user_logged_in", 2554).await, 201);
    assert_eq!(status("team.user_logged_in", 2556).await, 422);
    assert_eq!(status("communication.call_made", 119).await, 201);
    assert_eq!(status("communication.call_made", 121).await, 422);
    assert_eq!(status("settings.updated", 9000).await, 201, "settings are kept forever");
    assert_eq!(status("case.created", 89).await, 201);
    assert_eq!(status("case.created", 91).await, 422);
    let response = app.ingest(&aged("team.login_failed", 3000, "too old")).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "occurred_at");
    assert!(body["error"]["message"].as_str().unwrap().contains("team events"), "{body}");

    // Forever by default, but communications go after 90 days.
    put(&app, &key, json!({"retention_days": null, "categories": {"communication": 90}})).await;
    assert_eq!(status("case.created", 9000).await, 201);
    assert_eq!(status("communication.call_made", 91).await, 422);
    let (_, run) = app.admin_send(Method::POST, "/api/v1/retention/run", None).await;
    assert_eq!(run["purged"], 2, "the two communications older than 90 days: {run}");
    // Legal hold still wins over every category.
    app.admin_send(Method::PUT, "/api/v1/settings/legal-hold", Some(json!({"legal_hold": true}))).await;
    put(&app, &key, json!({"retention_days": 90, "categories": {}})).await;
    let (_, preview) = app.admin_get("/api/v1/retention/preview").await;
    assert_eq!((preview["events"].as_u64(), preview["legal_hold"].as_bool()), (Some(0), Some(true)));
    let (_, run) = app.admin_send(Method::POST, "/api/v1/retention/run", None).await;
    assert_eq!(run["purged"], 0);
    app.stop().await;
}
