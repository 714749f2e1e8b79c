//! What the pages answer, without a browser: the chain check of a tampered entry,
//! and the headers that keep pages private and assets cacheable.

use serde_json::json;

use crate::support::{event, spawn_app};

#[tokio::test]
async fn an_entry_changed_behind_the_servers_back_says_its_link_is_broken() {
    let app = spawn_app().await;
    let answer = app
        .ingest_ok(&json!({"events": [event("case.created", "first"), event("case.updated", "second"), event("case.updated", "third")]}))
        .await;
    let ids: Vec<String> =
        answer["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().into()).collect();
    app.raw_db().execute("UPDATE events SET body = replace(body, 'second', 'altered') WHERE seq = 2", []).unwrap();
    let browser = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let page = |id: &str| browser.get(app.url(&format!("/settings/system-log/{id}"))).send();

    let first = page(&ids[0]).await.unwrap().text().await.unwrap();
    assert!(first.contains("Chain link verified.") && first.contains("it starts the chain"), "{first}");
    let second = page(&ids[1]).await.unwrap().text().await.unwrap();
    assert!(
        second.contains("Chain link broken.") && second.contains("Its hash does not match its contents"),
        "{second}"
    );
    let third = page(&ids[2]).await.unwrap().text().await.unwrap();
    assert!(third.contains("Chain link broken.") && third.contains("does not link to the entry before it"), "{third}");
    app.stop().await;
}

#[tokio::test]
async fn pages_are_private_and_uncached_and_assets_are_cacheable() {
    let app = spawn_app().await;
    let browser = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let response = browser.get(app.url("/settings/system-log")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'") && !csp.contains("unsafe"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let html = response.text().await.unwrap();
    assert!(!html.contains("style=\""), "no inline styles");
    assert!(!html.contains("/events/export") && !html.contains(">Export"), "no Export button until the export exists");
    assert!(!html.contains("/settings/system-log/retention"), "no link to a page that does not exist yet");

    for (prefix, kind) in [("/static/app.css?v=", "text/css"), ("/static/app.js?v=", "text/javascript")] {
        let at = html.find(prefix).expect("the page links its assets with a version");
        let href = &html[at..at + html[at..].find('"').unwrap()];
        let asset = app.client.get(app.url(href)).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{href}");
        assert!(asset.headers()["content-type"].to_str().unwrap().starts_with(kind));
        assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    }

    // Signed out, a deep link comes back after sign-in.
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = anonymous.get(app.url("/settings/system-log?q=a%20b&case=c_1")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?next=%2Fsettings%2Fsystem-log%3Fq%3Da%2520b%26case%3Dc_1");
    app.stop().await;
}
