//! Two servers on one database act as one service: the failed sign-in counts are
//! shared, a key made on one works on the other and a revocation on one stops it on
//! both at once, and a session or a user removal crosses over the same way. Nothing
//! above the store keeps credentials in memory.

use serde_json::{Value, json};

use crate::support::{TestApp, event, hidden_value, spawn_app};

/// One sign-in through `app`'s form; answers its status and `Retry-After`.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> (u16, Option<u64>) {
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_value(&form, "csrf").unwrap();
    let fields = [("email", email), ("password", password), ("csrf", csrf.as_str())];
    let response = client.post(app.url("/login")).form(&fields).send().await.unwrap();
    let wait = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status().as_u16(), wait)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_on_two_servers_count_together() {
    let a = spawn_app().await;
    let b = a.another_server().await;
    let (email, password) = (a.firm.admin.email.clone(), a.firm.admin_password.clone());
    for _ in 0..3 {
        assert_eq!(sign_in(&a, &email, "wrong-password-a").await.0, 401);
    }
    for _ in 0..2 {
        assert_eq!(sign_in(&b, &email, "wrong-password-b").await.0, 401);
    }
    // Five failures in all: the sixth attempt is refused on either server, even with
    // the right password.
    for server in [&a, &b] {
        let (status, wait) = sign_in(server, &email, &password).await;
        assert_eq!(status, 429, "on {}", server.base);
        let wait = wait.expect("Retry-After");
        assert!((890..=900).contains(&wait), "until the first failure leaves the 15 minutes: {wait}");
    }
    // Another email is not blocked (the address has 5 + 2 refused attempts, under 20).
    a.add_member("mia@smithjones.example").await;
    assert_eq!(sign_in(&b, "mia@smithjones.example", crate::support::MEMBER_PASSWORD).await.0, 303);
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_made_on_one_server_works_on_the_other_until_revoked_there() {
    let a = spawn_app().await;
    let b = a.another_server().await;
    let (status, created) = a
        .admin_send(reqwest::Method::POST, "/api/v1/api-keys", Some(json!({"name": "crm", "scopes": ["events:write"]})))
        .await;
    assert_eq!(status, 201, "{created}");
    let (id, secret) = (created["id"].as_str().unwrap(), created["key"].as_str().unwrap());
    let used = b.post_json("/api/v1/events", secret, &event("case.updated", "through b")).await;
    assert_eq!(used.status(), 201);
    let (status, _) = a.admin_send(reqwest::Method::DELETE, &format!("/api/v1/api-keys/{id}"), None).await;
    assert_eq!(status, 204);
    let refused = b.post_json("/api/v1/events", secret, &event("case.updated", "after the revocation")).await;
    assert_eq!(refused.status(), 401, "revoked on a, refused on b at the very next request");
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_one_server_works_on_the_other_until_its_user_is_removed() {
    let a = spawn_app().await;
    let b = a.another_server().await;
    let session = a.signed_in(&a.firm.admin.email, &a.firm.admin_password).await;
    let page = session.get(b.url("/api/v1/events?limit=1")).send().await.unwrap();
    assert_eq!(page.status(), 200, "signed in on a, reading on b");

    // A second admin signs in on b; removed through a, their session ends on b.
    let body = json!({"email": "second@smithjones.example", "name": "Second Admin", "role": "admin",
                      "password": "second-admin-password"});
    let (status, user) = a.admin_send(reqwest::Method::POST, "/api/v1/users", Some(body)).await;
    assert_eq!(status, 201, "{user}");
    let second = b.signed_in("second@smithjones.example", "second-admin-password").await;
    assert_eq!(second.get(b.url("/api/v1/events?limit=1")).send().await.unwrap().status(), 200);
    let (status, _) =
        a.admin_send(reqwest::Method::DELETE, &format!("/api/v1/users/{}", user["id"].as_str().unwrap()), None).await;
    assert_eq!(status, 204);
    let after = second.get(b.url("/api/v1/events?limit=1")).send().await.unwrap();
    assert_eq!(after.status(), 401, "removed on a, signed out on b at once");
    let still: Value = session.get(b.url("/api/v1/events?limit=1")).send().await.unwrap().json().await.unwrap();
    assert!(still["events"].is_array(), "the other session is untouched: {still}");
    b.stop().await;
    a.stop().await;
}
