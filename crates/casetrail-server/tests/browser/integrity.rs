//! "Verify now" on the log page: an intact chain, then one altered in the database.

use serde_json::json;

use crate::driver::with_browser;
use crate::support::{event, spawn_app};

#[tokio::test]
async fn verify_now_shows_an_intact_chain_then_the_seq_altered_behind_its_back() {
    let app = spawn_app().await;
    app.ingest_ok(&json!({"events": [event("case.created", "first"), event("case.updated", "second"), event("case.updated", "third")]}))
        .await;
    let (_, checkpoint) = app.admin_send(reqwest::Method::POST, "/api/v1/integrity/checkpoints", None).await;
    let signed = checkpoint["seq"].as_u64().expect("a checkpoint");
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    let tamper = app.tamperer();
    with_browser(&app, 1280, move |b| async move {
        b.sign_in(&email, &password).await;
        b.click("#verify button").await;
        b.wait_for_location("/settings/system-log/integrity").await;
        let verdict = b.find("#verdict").await.text().await.unwrap();
        // Three ingested, the sign-in; the checkpoint writes no event.
        assert_eq!(verdict, "Chain intact: 4 events checked, seq 1\u{2013}4");
        let checkpoint = b.find("#checkpoint").await.text().await.unwrap();
        assert!(checkpoint.starts_with(&format!("Newest checkpoint: seq {signed}, signed ")), "{checkpoint}");

        tamper.event_body(2, "second", "altered").await;
        b.click("#verify-again").await;
        b.wait_until("document.querySelector('.verdict-bad')").await;
        assert_eq!(b.find("#verdict").await.text().await.unwrap(), "Chain broken: 1 problem found");
        assert_eq!(b.texts(".problem-seq").await, ["2"], "the altered entry");
        let rows = b.texts("tr.problem-row").await;
        assert!(rows[0].contains("Contents altered"), "{rows:?}");
        assert!(!b.body_text().await.contains("Chain intact"));
    })
    .await;

    // Without the session's CSRF token the post is refused.
    let browser = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let response =
        browser.post(app.url("/settings/system-log/integrity")).form(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let response = browser
        .post(app.url("/settings/system-log/retention"))
        .form(&[("csrf", "forged"), ("action", "purge")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    app.stop().await;
}
