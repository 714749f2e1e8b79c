//! The privacy page (docs/API.md §14, §16): the masking patterns listed and edited,
//! a preview of what a pattern would hide, refused patterns named by line, and a
//! masked value shown as "hidden" with its fingerprint on the entry page.

use serde_json::json;

use crate::driver::{Browser, with_browser};
use crate::screenshots::when_asked;
use crate::support::spawn_app;

async fn submit(b: &Browser, button: &str) {
    b.script("window.__posting = true").await;
    b.click(button).await;
    b.wait_until("!window.__posting").await;
}

fn client_update(ssn: &str, pin: &str) -> serde_json::Value {
    json!({
        "actor": {"id": "u_17", "name": "Jane Doe"}, "activity": "client.updated",
        "description": "Updated client details",
        "related": [{"type": "client", "id": "cl_88", "name": "John Smith"}],
        "changes": [{"field": "client.ssn", "before": null, "after": ssn},
                    {"field": "status", "before": "Intake", "after": "Active"}],
        "metadata": {"card": {"pin": pin}, "source": "web"}
    })
}

#[tokio::test]
async fn patterns_are_previewed_saved_and_masked_values_show_as_hidden() {
    let app = spawn_app().await;
    app.ingest_ok(&client_update("111-22-3333", "1234")).await;
    app.ingest_ok(&client_update("444-55-6666", "9876")).await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    let ingest_key = app.firm.ingest_key.clone();
    let base = app.base.clone();
    with_browser(&app, 1280, move |b| async move {
        b.goto("/settings/system-log").await;
        b.sign_in(&email, &password).await;
        b.click("#privacy-link").await;
        b.wait_for_location("/settings/system-log/privacy").await;
        let listed = b.texts("#patterns li").await;
        assert_eq!(listed, ["password", "*.password", "ssn", "*.ssn", "secret", "*.secret", "token", "*.token"]);
        assert_eq!(b.find("#pattern-count").await.text().await.unwrap(), "8");

        // The preview lists the fields the pattern matches, with how many entries.
        b.type_into("#pattern", "*.SSN").await;
        submit(&b, "#preview").await;
        let rows = b.texts("tr.preview-row").await;
        assert_eq!(rows, ["client.ssn 2"], "{rows:?}");
        b.type_into("#pattern", "card").await;
        submit(&b, "#preview").await;
        assert_eq!(b.texts("tr.preview-row").await, ["card 2", "card.pin 2"]);
        when_asked(&b, "privacy-preview").await;
        b.type_into("#pattern", "nothing.here").await;
        submit(&b, "#preview").await;
        assert!(b.find("#preview-none").await.text().await.unwrap().contains("matches no field"));
        b.type_into("#pattern", "a..b").await;
        submit(&b, "#preview").await;
        let error = b.find("#error").await.text().await.unwrap();
        assert_eq!(error, "The pattern \u{201c}a..b\u{201d} has an empty segment (two dots, or a dot at either end).");

        // A bad line is named and nothing is saved; the text stays to be fixed.
        b.type_into("#fields", "client\npa*ss\n*.pin").await;
        submit(&b, "#save").await;
        let error = b.find("#error").await.text().await.unwrap();
        assert!(error.starts_with("Pattern 2 \u{201c}pa*ss\u{201d} uses * inside a segment"), "{error}");
        assert_eq!(b.find("#fields").await.prop("value").await.unwrap().unwrap(), "client\npa*ss\n*.pin");
        assert_eq!(b.texts("#patterns li").await.len(), 8, "nothing was saved");

        b.type_into("#fields", "client\n\n  card  \n").await;
        submit(&b, "#save").await;
        let notice = b.find("#notice").await.text().await.unwrap();
        assert!(notice.starts_with("Saved 2 patterns."), "{notice}");
        assert_eq!(b.texts("#patterns li").await, ["client", "card"]);
        when_asked(&b, "privacy").await;

        // A new entry: its client fields and the card are hidden, with fingerprints.
        let client = reqwest::Client::new();
        let answer: serde_json::Value = client
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(&ingest_key)
            .json(&client_update("777-88-9999", "1234"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = answer["events"][0]["id"].as_str().unwrap();
        b.goto(&format!("/settings/system-log/{id}")).await;
        let masked = b.texts(".val-masked").await;
        assert_eq!(masked.len(), 2, "the ssn's after and the card: {masked:?}");
        for text in &masked {
            let words: Vec<&str> = text.split_whitespace().collect();
            let [word, fingerprint] = words[..] else { panic!("{text:?}") };
            assert_eq!(word, "hidden");
            assert_eq!(fingerprint.len(), 16, "{text}");
            assert!(fingerprint.bytes().all(|c| c.is_ascii_hexdigit()), "{text}");
        }
        let body = b.body_text().await;
        assert!(!body.contains("777-88-9999") && body.contains("Active"), "{body}");
        when_asked(&b, "entry-masked").await;
    })
    .await;
    app.stop().await;
}
