//! Who may do what (docs/API.md §3): keys, scopes, sessions, members, other firms,
//! revocation, and failed-sign-in limits.

use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, event, spawn_app};

/// Every admin read endpoint; each must refuse whoever may not read.
const READS: &[&str] = &[
    "/api/v1/events",
    "/api/v1/events/00000000-0000-0000-0000-000000000000",
    "/api/v1/actors",
    "/api/v1/records?type=case",
    "/api/v1/settings/account",
    "/api/v1/users",
    "/api/v1/api-keys",
];

async fn code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"]["code"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn no_bad_or_revoked_credentials_are_401() {
    let app = spawn_app().await;
    for path in READS.iter().chain(&["/api/v1/activity-types"]) {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(code(response).await, (401, "unauthenticated".into()), "{path}");
        assert_eq!(code(app.get(path, "ctk_not-a-real-key").await).await.0, 401, "{path}");
    }
    // Revoke the ingest key: it stops working at once.
    let (_, keys) = app.admin_get("/api/v1/api-keys").await;
    let ingest = keys["api_keys"].as_array().unwrap().iter().find(|k| k["scopes"] == json!(["events:write"])).unwrap();
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/api-keys/{}", ingest["id"].as_str().unwrap())))
        .bearer_auth(&app.firm.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(code(app.ingest(&event("case.created", "x")).await).await, (401, "unauthenticated".into()));
    app.stop().await;
}

#[tokio::test]
async fn an_ingest_key_may_only_ingest() {
    let app = spawn_app().await;
    for path in READS {
        assert_eq!(code(app.get(path, &app.firm.ingest_key).await).await, (403, "forbidden".into()), "{path}");
    }
    // The catalog answers any valid key.
    assert_eq!(app.get("/api/v1/activity-types", &app.firm.ingest_key).await.status(), 200);
    // An admin key does not ingest: ingest needs the events:write scope.
    let response = app.post_json("/api/v1/events", &app.firm.admin_key, &event("case.created", "x")).await;
    assert_eq!(code(response).await.0, 403);
    let response = app.post_json("/api/v1/users", &app.firm.ingest_key, &json!({})).await;
    assert_eq!(code(response).await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn a_member_session_is_403_everywhere_and_an_admin_session_reads() {
    let app = spawn_app().await;
    app.ingest_ok(&event("case.created", "visible to admins")).await;
    let member = app.add_member("mia@smithjones.example").await;
    let browser = app.signed_in(&member, MEMBER_PASSWORD).await;
    for path in READS {
        let response = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(code(response).await, (403, "forbidden".into()), "{path}");
    }
    let page = browser.get(app.url("/settings/system-log")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("only accessible to Admins"));

    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let response = admin.get(app.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.unwrap();
    // The sign-ins themselves are events too.
    let activities: Vec<&str> =
        list["events"].as_array().unwrap().iter().map(|e| e["activity"].as_str().unwrap()).collect();
    assert_eq!(activities, ["team.user_logged_in", "team.user_logged_in", "case.created"]);
    // A session may not change state through the API.
    let response =
        admin.post(app.url("/api/v1/api-keys")).json(&json!({"name": "x", "scopes": ["admin"]})).send().await.unwrap();
    assert_eq!(code(response).await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn another_firms_key_sees_nothing_of_this_firm() {
    let app = spawn_app().await;
    let answer = app
        .ingest_ok(&json!({
            "actor": {"id": "u_1", "name": "Jane Doe"}, "activity": "case.created",
            "related": [{"type": "case", "id": "c_1", "name": "Smith v. Jones"}]
        }))
        .await;
    let id = answer["events"][0]["id"].as_str().unwrap().to_string();
    let other = app.other_firm().await;
    let (status, body) = code(app.get(&format!("/api/v1/events/{id}"), &other.admin_key).await).await;
    assert_eq!((status, body.as_str()), (404, "not_found"));
    for path in ["/api/v1/events", "/api/v1/events?case=c_1", "/api/v1/events?q=smith"] {
        let list: Value = app.get(path, &other.admin_key).await.json().await.unwrap();
        assert_eq!(list["events"], json!([]), "{path}");
    }
    let actors: Value = app.get("/api/v1/actors", &other.admin_key).await.json().await.unwrap();
    assert_eq!(actors["actors"], json!([]));
    let records: Value = app.get("/api/v1/records", &other.admin_key).await.json().await.unwrap();
    assert_eq!(records["records"], json!([]));
    let users: Value = app.get("/api/v1/users", &other.admin_key).await.json().await.unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 1, "only its own admin");
    // The other firm's own first event is its seq 1.
    let answer: Value =
        app.post_json("/api/v1/events", &other.ingest_key, &event("case.created", "x")).await.json().await.unwrap();
    assert_eq!(answer["events"][0]["seq"], 1);
    app.stop().await;
}

async fn try_login(app: &crate::support::TestApp, email: &str, password: &str) -> reqwest::Response {
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = crate::support::hidden_value(&form, "csrf").unwrap();
    client
        .post(app.url("/login"))
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn failed_sign_ins_are_limited_recorded_and_say_nothing_of_the_email() {
    let app = spawn_app().await;
    let email = app.firm.admin.email.clone();
    let unknown = try_login(&app, "nobody@nowhere.example", "whatever-password").await;
    assert_eq!(unknown.status(), 401);
    let unknown_text = unknown.text().await.unwrap();
    let wrong = try_login(&app, &email, "wrong-password-1").await;
    assert_eq!(wrong.status(), 401);
    let wrong_text = wrong.text().await.unwrap();
    let message = "That email and password do not match an account.";
    assert!(unknown_text.contains(message) && wrong_text.contains(message));
    for _ in 0..4 {
        assert_eq!(try_login(&app, &email, "wrong-password-1").await.status(), 401);
    }
    // Five failures: now even the right password is refused for the window.
    let blocked = try_login(&app, &email, &app.firm.admin_password).await;
    assert_eq!(blocked.status(), 429);
    let wait: u64 = blocked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");

    // The events are committed after each answer has gone, so the last one may
    // still be on its way: wait for it (bounded), then count exactly.
    let mut list = json!(null);
    for _ in 0..50 {
        list = app.admin_get("/api/v1/events?activity=team.login_failed").await.1;
        if list["events"].as_array().unwrap().len() >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let failures = list["events"].as_array().unwrap();
    assert_eq!(failures.len(), 5, "one event per failure for the known email only");
    assert_eq!(failures[0]["actor"]["id"], app.firm.admin.id.to_string());
    assert_eq!(failures[0]["metadata"], json!({"email": email}));
    assert!(!failures[0].to_string().contains("wrong-password"), "never the password");
    app.stop().await;
}

#[tokio::test]
async fn sign_in_needs_the_forms_csrf_token() {
    let app = spawn_app().await;
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    client.get(app.url("/login")).send().await.unwrap();
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("email", app.firm.admin.email.as_str()),
            ("password", app.firm.admin_password.as_str()),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().starts_with("casetrail_session="))
    );
    app.stop().await;
}

#[tokio::test]
async fn the_session_cookie_is_httponly_and_lax_and_removing_a_user_ends_it() {
    let app = spawn_app().await;
    let admin = try_login(&app, &app.firm.admin.email, &app.firm.admin_password).await;
    let cookie = admin
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("casetrail_session="))
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");

    let member = app.add_member("gone@smithjones.example").await;
    let browser = app.signed_in(&member, MEMBER_PASSWORD).await;
    assert_eq!(browser.get(app.url("/api/v1/activity-types")).send().await.unwrap().status(), 200);
    let (_, users) = app.admin_get("/api/v1/users").await;
    let id = users["users"].as_array().unwrap().iter().find(|u| u["email"] == member.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&app.firm.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(browser.get(app.url("/api/v1/activity-types")).send().await.unwrap().status(), 401);
    app.stop().await;
}
