//! Masked values on the pages (docs/API.md §14, §16): wherever one sits — a whole
//! value, or deep inside metadata or a change's before/after — the entry page and
//! the record's history page show it as "hidden" with its fingerprint, never as the
//! `{"masked": …}` object.

use serde_json::json;

use crate::support::{TestApp, spawn_app};

/// The markup of one masked value as the pages write it.
fn hidden(fingerprint: &str) -> String {
    format!(r#"<span class="masked-word">hidden</span> <code class="fingerprint">{fingerprint}</code>"#)
}

async fn page(app: &TestApp, path: &str) -> String {
    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let response = admin.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn nested_masked_values_show_as_hidden_with_their_fingerprints() {
    let app = spawn_app().await;
    // `*.password` masks the nested member; `token` the whole list; a host may also
    // send a value holding a masked object it read from the log.
    let carried = "0123456789abcdef";
    let answer = app
        .ingest_ok(&json!({
            "actor": {"id": "u_1", "name": "Jane Doe"}, "activity": "client.updated",
            "related": [{"type": "client", "id": "cl_1", "name": "John Smith"}],
            "changes": [{"field": "profile", "before": null,
                         "after": {"name": "Ann Visible", "keys": [{"masked": carried}, "plain-key"]}}],
            "metadata": {"login": {"user": "ann.visible", "password": "Hunter2-Secret"},
                         "token": ["t-1-Secret", "t-2-Secret"], "source": "web"}
        }))
        .await;
    let id = answer["events"][0]["id"].as_str().unwrap();
    let (_, event) = app.admin_get(&format!("/api/v1/events/{id}")).await;
    let password_fp = event["metadata"]["login"]["password"]["masked"].as_str().expect("masked at ingest").to_string();
    let token_fp = event["metadata"]["token"]["masked"].as_str().expect("masked whole").to_string();

    let whole = page(&app, &format!("/settings/system-log/{id}")).await;
    // The folded "as the API returns it" view is the API's JSON, `{"masked": …}` and
    // all; everything above it is what the page shows.
    let (entry, raw) = whole.split_once(r#"<details class="card raw">"#).expect("the raw view");
    assert!(raw.contains(&format!("&#34;masked&#34;: &#34;{password_fp}&#34;")), "{raw}");
    for fingerprint in [&password_fp, &token_fp, &carried.to_string()] {
        assert!(entry.contains(&hidden(fingerprint)), "{fingerprint} is not shown as hidden:\n{entry}");
        assert_eq!(entry.matches(fingerprint.as_str()).count(), 1, "{fingerprint} once, as hidden");
    }
    assert!(!entry.contains("&#34;masked&#34;"), "{entry}");
    assert!(!whole.contains("Secret"), "no masked value reaches the page");
    // What is not masked around them still reads as JSON.
    assert!(entry.contains("&#34;user&#34;: &#34;ann.visible&#34;"), "{entry}");
    assert!(entry.contains("&#34;plain-key&#34;") && entry.contains("Ann Visible"), "{entry}");

    let history = page(&app, "/settings/system-log/records/client/cl_1").await;
    assert!(history.contains(&hidden(carried)), "the field history shows it hidden too:\n{history}");
    assert!(!history.contains("&#34;masked&#34;"), "{history}");
    app.stop().await;
}
