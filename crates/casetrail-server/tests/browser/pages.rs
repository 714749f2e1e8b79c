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
    app.tamper_event_body(2, "second", "altered").await;
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
    assert!(html.contains(r#"href="/api/v1/events/export?format=csv""#), "the Export menu offers the whole log as CSV");
    assert!(html.contains(r#"href="/settings/system-log/retention""#), "the header links the retention page");

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

#[tokio::test]
async fn the_export_links_carry_the_current_filters_and_download_with_the_session() {
    let app = spawn_app().await;
    let mut one = event("case.created", "Opened the Smith case");
    one["related"] = json!([{"type": "case", "id": "c_7", "name": "Smith v. Jones"}]);
    app.ingest_ok(&json!({"events": [one, event("client.created", "Added a client")]})).await;
    let browser = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let html = browser
        .get(app.url("/settings/system-log?case=c_7&q=smith&limit=1&cursor=zzz&prev=aaa"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href = |id: &str| {
        let attr = format!(r#"id="{id}" href=""#);
        let at = html.find(&attr).unwrap_or_else(|| panic!("no {id} link")) + attr.len();
        html[at..at + html[at..].find('"').unwrap()].replace("&#38;", "&")
    };
    let (csv, xlsx) = (href("export-csv"), href("export-xlsx"));
    assert_eq!(csv, "/api/v1/events/export?format=csv&q=smith&case=c_7", "filters only, no paging");
    assert_eq!(xlsx, "/api/v1/events/export?format=xlsx&q=smith&case=c_7");

    let response = browser.get(app.url(&csv)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let body = response.text().await.unwrap();
    assert!(body.contains("Opened the Smith case") && !body.contains("Added a client"), "{body}");
    let response = browser.get(app.url(&xlsx)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().starts_with(b"PK"), "an xlsx is a zip");
    let evidence = href("export-evidence");
    assert_eq!(evidence, "/api/v1/events/export?format=evidence&q=smith&case=c_7");
    let response = browser.get(app.url(&evidence)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(response.bytes().await.unwrap().starts_with(b"PK"), "the evidence is a zip");
    app.stop().await;
}
