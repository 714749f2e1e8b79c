//! The retention page edits each category's own period (docs/API.md §14, §16): the
//! dry run says what each category would lose, the confirmation applies it as the
//! API records it, bad input is a message, and the purge then follows it.

use crate::driver::{Browser, with_browser};
use crate::support::{ago, spawn_app};

async fn submit(b: &Browser, button: &str) {
    b.script("window.__posting = true").await;
    b.click(button).await;
    b.wait_until("!window.__posting").await;
}

fn aged(activity: &str, days: i64, description: &str) -> serde_json::Value {
    serde_json::json!({"actor": {"id": "u_1", "name": "Jane Doe"}, "activity": activity,
                       "description": description, "occurred_at": ago(days * 86_400)})
}

/// Where screenshots of this test go when `SCREENSHOT_DIR` is set (to look at them).
fn shots() -> Option<std::path::PathBuf> {
    std::env::var_os("SCREENSHOT_DIR").map(std::path::PathBuf::from)
}

#[tokio::test]
async fn each_categorys_period_is_edited_after_a_dry_run_of_what_it_would_lose() {
    let app = spawn_app().await;
    app.append_direct(vec![
        aged("team.user_logged_in", 200, "Signed in long ago"),
        aged("communication.sms_sent", 100, "Old text message"),
        aged("case.updated", 100, "Old case change"),
    ])
    .await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.goto("/settings/system-log/retention").await;
        b.sign_in(&email, &password).await;
        b.wait_for_location("/settings/system-log/retention").await;
        let placeholder = b.find("#category_team").await.attr("placeholder").await.unwrap();
        assert_eq!(placeholder.as_deref(), Some("As above (90 days)"));
        assert!(b.texts("#own-policies").await.is_empty(), "no category has its own period yet");

        // A period too short for a category is a message naming it.
        b.type_into("#category_team", "12").await;
        submit(&b, "#preview-retention").await;
        let error = b.find("#error").await.text().await.unwrap();
        assert!(error.contains("\u{201c}12\u{201d} can't be used for Team"), "{error}");

        // Team for seven years, communications forever: the dry run per category.
        b.type_into("#category_team", "2555").await;
        b.type_into("#category_communication", "forever").await;
        submit(&b, "#preview-retention").await;
        assert_eq!(b.find("#confirm-title").await.text().await.unwrap(), "Change the retention of categories?");
        assert_eq!(b.find("#dry-run-count").await.text().await.unwrap(), "1 entry");
        let rows = b.texts("#dry-run-categories tbody tr").await;
        assert_eq!(rows.len(), 6, "{rows:?}");
        let row = |label: &str| rows.iter().find(|r| r.starts_with(label)).cloned().unwrap_or_default();
        assert!(row("Team").contains("90 days") && row("Team").contains("2555 days"), "{rows:?}");
        assert!(row("Team").ends_with("nothing"), "the old sign-in is kept now: {rows:?}");
        assert!(row("Communication").contains("Keep forever") && row("Communication").ends_with("nothing"));
        assert!(row("Case").contains("1 entry"), "{rows:?}");
        assert_eq!(b.find("#policy").await.text().await.unwrap(), "90 days", "nothing applied before confirming");
        if let Some(dir) = shots() {
            crate::screenshots::save(&b, &dir, "retention-categories-dry-run.png", 1280, 900, true).await;
            crate::screenshots::save(&b, &dir, "retention-categories-dry-run-phone.png", 390, 844, true).await;
            b.client.set_window_size(1280, 900).await.unwrap();
        }

        submit(&b, "#confirm-retention").await;
        let notice = b.find("#notice").await.text().await.unwrap();
        assert_eq!(notice, "Retention changed to 90 days. 2 categories keep their own periods.");
        let own = b.find("#own-policies").await.text().await.unwrap();
        assert!(own.contains("Communication: keep forever") && own.contains("Team: 2555 days"), "{own}");
        assert_eq!(b.find("#category_team").await.prop("value").await.unwrap().as_deref(), Some("2555"));
        assert_eq!(b.find("#category_case").await.prop("value").await.unwrap().as_deref(), Some(""));
        if let Some(dir) = shots() {
            crate::screenshots::save(&b, &dir, "retention-categories.png", 1280, 900, true).await;
            crate::screenshots::save(&b, &dir, "retention-categories-phone.png", 390, 844, true).await;
            b.client.set_window_size(1280, 900).await.unwrap();
        }

        // The purge follows it: only the case change goes.
        submit(&b, "#run-purge").await;
        assert_eq!(b.find("#notice").await.text().await.unwrap(), "Purged 1 entry.");

        // Emptying a category's box lets it follow the account's period again.
        b.type_into("#category_communication", "").await;
        b.find("#category_communication").await.clear().await.unwrap();
        submit(&b, "#preview-retention").await;
        let rows = b.texts("#dry-run-categories tbody tr").await;
        let communication = rows.iter().find(|r| r.starts_with("Communication")).unwrap();
        assert!(communication.contains("1 entry"), "{rows:?}");
    })
    .await;

    let (_, policy) = app.admin_get("/api/v1/settings/retention").await;
    assert_eq!(policy["categories"], serde_json::json!({"communication": null, "team": 2555}));
    let (_, list) = app.admin_get("/api/v1/events?activity=system_log.retention_changed").await;
    let events = list["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "one change, as the API records it: {list}");
    assert_eq!(
        events[0]["changes"],
        serde_json::json!([{"field": "categories", "before": {}, "after": {"communication": null, "team": 2555}}])
    );
    let (_, rest) = app.admin_get("/api/v1/events?q=old").await;
    let left: Vec<&str> =
        rest["events"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap()).collect();
    assert_eq!(left, ["Old text message"]);
    app.stop().await;
}
