//! One entry, whole; and host text that must stay text.

use serde_json::{Value, json};

use crate::driver::{Browser, with_browser};
use crate::seed;
use crate::support::{TestApp, spawn_app};

#[tokio::test]
async fn an_entry_shows_everything_with_before_and_after_side_by_side() {
    let app = spawn_app().await;
    // Two entries from before the retention window (seq 2 and 3, after the policy
    // change itself), purged when the policy shortens: what follows them links to
    // the purge record.
    set_retention(&app, 3650).await;
    app.ingest_ok(&json!({"events": [
        {"occurred_at": seed::ago(100, 0), "actor": seed::bob(), "activity": "case.created", "description": "Opened an old case"},
        {"occurred_at": seed::ago(99, 0), "actor": seed::bob(), "activity": "case.deleted", "description": "Deleted an old case"}
    ]}))
    .await;
    seed::firm(&app).await;
    set_retention(&app, 90).await;
    let (status, purged) = post(&app, "/api/v1/retention/run").await;
    assert_eq!((status, purged["purged"].as_u64()), (200, Some(2)), "{purged}");
    let other = app.other_firm().await;
    let theirs = app
        .post_json("/api/v1/events", &other.ingest_key, &seed_event("Another firm's secret"))
        .await
        .json::<Value>()
        .await
        .unwrap()["events"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.sign_in(&email, &password).await;
        // A click anywhere on the row opens the entry.
        let row = b
            .client
            .find(fantoccini::Locator::XPath(
                "//tr[contains(@class, 'entry-row')]//p[text()='Changed case status from Intake to Active']",
            ))
            .await
            .unwrap();
        row.click().await.unwrap();
        b.wait_for_location("/settings/system-log/").await;

        assert_eq!(b.find("h1").await.text().await.unwrap(), "Case updated");
        assert_eq!(b.find(".entry-desc").await.text().await.unwrap(), "Changed case status from Intake to Active");
        let diff = diff_rows(&b).await;
        assert_eq!(
            diff,
            [
                ["status".to_string(), "Intake".into(), "Active".into()],
                ["notes".into(), "First call.".into(), "First call.\nPolice report received.".into()],
                ["budget".into(), "{\n  \"hours\": 10\n}".into(), "{\n  \"capped\": true,\n  \"hours\": 25\n}".into()],
            ]
        );
        let text = b.body_text().await;
        for expected in
            ["Jane Doe", "jane@smithlaw.example", "u_17", "203.0.113.5", "Mozilla/5.0 (Test)", "req_42", "case-edit"]
        {
            assert!(text.contains(expected), "the entry shows {expected:?}");
        }
        assert_eq!(b.texts(".record-list .record-name").await, ["Smith v. Jones", "John Smith"]);
        let status = b.find(".integrity .status").await.text().await.unwrap();
        assert!(status.starts_with("Chain link verified."), "{status}");
        let hash = b.find(".integrity .hash").await.text().await.unwrap();
        assert_eq!(hash.len(), 64);

        // The oldest entry left: its predecessors were purged under the policy.
        b.goto("/settings/system-log?q=created+client").await;
        b.click("tr.entry-row .entry-link").await;
        b.wait_for_location("/settings/system-log/").await;
        let status = b.find(".integrity .status").await.text().await.unwrap();
        assert!(status.contains("purge record of entries #2\u{2013}#3"), "{status}");

        b.click("a.back").await;
        b.wait_until("location.search === '?q=created+client' && document.querySelector('tr.entry-row')").await;

        for missing in ["/settings/system-log/0193a5b2-0000-7000-8000-000000000000", "/settings/system-log/nope"] {
            b.goto(missing).await;
            assert_eq!(b.find("h1").await.text().await.unwrap(), "We couldn't find that entry");
        }
        b.goto(&format!("/settings/system-log/{theirs}")).await;
        assert_eq!(b.find("h1").await.text().await.unwrap(), "We couldn't find that entry");
        assert!(!b.body_text().await.contains("secret"));
    })
    .await;
    app.stop().await;
}

async fn set_retention(app: &TestApp, days: u32) {
    let response = app
        .client
        .put(app.url("/api/v1/settings/retention"))
        .bearer_auth(&app.firm.admin_key)
        .json(&json!({ "retention_days": days }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn post(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.post_json(path, &app.firm.admin_key, &json!({})).await;
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// Field, before and after of every row of the entry's change table.
async fn diff_rows(b: &Browser) -> Vec<[String; 3]> {
    let rows = b
        .script(
            "return [...document.querySelectorAll('table.diff tbody tr')].map(r => [\
               r.querySelector('.d-field').innerText,\
               r.querySelector('.d-before .val').innerText,\
               r.querySelector('.d-after .val').innerText])",
        )
        .await;
    serde_json::from_value(rows).unwrap()
}

fn seed_event(description: &str) -> Value {
    json!({"actor": {"id": "u_1", "name": "Someone"}, "activity": "case.created", "description": description})
}

const SCRIPT: &str = "<script>window.__pwned=1</script>";
const IMG: &str = "<img src=x onerror=\"window.__pwned=1\">";

#[tokio::test]
async fn host_text_is_shown_as_text_and_never_run() {
    let app = spawn_app().await;
    let description = format!("{SCRIPT} then {IMG}");
    app.ingest_ok(&json!({
        "actor": {"id": "u_evil", "name": IMG, "email": "evil@example.com"},
        "activity": "client.updated",
        "description": description,
        "related": [{"type": "client", "id": "cl_<b>1</b>", "name": SCRIPT}],
        "changes": [{"field": "note", "before": IMG, "after": SCRIPT}],
        "metadata": {"note": SCRIPT},
        "context": {"user_agent": IMG}
    }))
    .await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.sign_in(&email, &password).await;
        // Row 0 is this sign-in.
        assert_eq!(b.row_details().await[1], description);
        assert_eq!(b.texts(".person-name").await[1], IMG);
        assert_eq!(b.texts(".rec-name").await, [SCRIPT]);
        assert_inert(&b).await;

        b.click("tr.entry-row:nth-child(2) .entry-link").await;
        b.wait_for_location("/settings/system-log/").await;
        assert_eq!(b.find(".entry-desc").await.text().await.unwrap(), description);
        assert_eq!(diff_rows(&b).await, [["note".to_string(), IMG.into(), SCRIPT.into()]]);
        let text = b.body_text().await;
        assert!(text.contains(&format!("note\n{SCRIPT}")) || text.contains(SCRIPT), "metadata shows as text");
        assert!(text.contains("cl_<b>1</b>"), "record ids show as text");
        assert_inert(&b).await;
    })
    .await;
    app.stop().await;
}

/// Nothing the host sent became markup: no injected image, no script ran.
async fn assert_inert(b: &Browser) {
    assert_eq!(b.script("return typeof window.__pwned").await, "undefined");
    assert_eq!(b.script("return document.querySelectorAll('img[src=\"x\"], b').length").await, 0);
    assert_eq!(b.script("return [...document.scripts].every(s => s.src.includes('/static/app.js'))").await, true);
}
