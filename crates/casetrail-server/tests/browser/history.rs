//! A record's history page (docs/API.md §14, §16): reached from a related-record link
//! of the log and of an entry; its name, type, count and dates; each field's value
//! now and every change with who and when; its timeline; its links to the filtered
//! log and to the CRM.

use serde_json::json;

use crate::driver::with_browser;
use crate::screenshots::when_asked;
use crate::seed::{self, ago, jane};
use crate::support::spawn_app;

/// Text with its runs of white space (the line breaks of flex items) as one space.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn related_records_lead_to_their_history() {
    let app = spawn_app().await;
    seed::firm(&app).await;
    // Two more changes of the Smith case: its status moves on, its name changes.
    let smith = |name: &str| json!({"type": "case", "id": "c_204", "name": name});
    app.ingest_ok(&json!({"events": [
        {"occurred_at": ago(1, 30), "actor": jane(), "activity": "case.updated",
         "description": "Changed case status from Active to Discovery", "related": [smith("Smith v. Jones")],
         "changes": [{"field": "status", "before": "Active", "after": "Discovery"}]},
        {"occurred_at": ago(0, 30), "actor": jane(), "activity": "case.updated",
         "description": "Renamed the case", "related": [smith("Smith v. Jones Trucking")],
         "changes": [{"field": "title", "before": "Smith v. Jones", "after": "Smith v. Jones Trucking"}]}
    ]}))
    .await;
    let urls = [("case".to_string(), "https://crm.example.com/cases/{id}".to_string())].into_iter().collect();
    let profile = casetrail_store::ProfileUpdate { record_urls: Some(urls), ..Default::default() };
    let change = casetrail_store::AccountChange::Profile(profile);
    app.store.change_account(app.account_id(), change, casetrail_store::unrecorded()).await.unwrap();

    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.goto("/settings/system-log").await;
        b.sign_in(&email, &password).await;
        // From the log's row: the related case's link.
        b.click("a.rec-case[href*='c_204']").await;
        b.wait_for_location("/settings/system-log/records/case/c_204").await;
        assert_eq!(b.find("#record-name").await.text().await.unwrap(), "Smith v. Jones Trucking", "the newest name");
        assert_eq!(b.find("#record-id").await.text().await.unwrap(), "c_204");
        assert_eq!(b.find("#record-count").await.text().await.unwrap(), "3 entries");
        assert_eq!(b.find(".rec-badge").await.text().await.unwrap(), "Case");

        let fields: Vec<String> = b.texts(".field-history .fh-name").await;
        assert_eq!(fields, ["budget", "notes", "status", "title"], "sorted by field path");
        let status = b.find(".field-history[data-field='status']").await;
        let now = status.find(fantoccini::Locator::Css(".fh-now")).await.unwrap().text().await.unwrap();
        assert_eq!(words(&now).to_lowercase(), "now discovery", "the latest value, at a glance");
        let steps: Vec<String> =
            b.texts(".field-history[data-field='status'] .fh-change").await.iter().map(|s| words(s)).collect();
        assert_eq!(steps, ["Active → Discovery", "Intake → Active"], "newest first");
        let whens = b.texts(".field-history[data-field='status'] .fh-when").await;
        assert!(whens.iter().all(|w| w.ends_with("· Jane Doe")), "{whens:?}");

        let timeline = b.texts(".tl-item .tl-activity").await;
        assert_eq!(timeline, ["Case updated", "Case updated", "Case updated"]);
        assert!(b.texts(".tl-desc").await[0].contains("Renamed the case"));
        let crm = b.find("#record-crm").await.attr("href").await.unwrap();
        assert_eq!(crm.as_deref(), Some("https://crm.example.com/cases/c_204"));
        when_asked(&b, "history").await;

        // The filtered log, then an entry, whose record link leads back here.
        b.click("#record-log").await;
        b.wait_for_location("/settings/system-log?case=c_204").await;
        assert_eq!(b.row_activities().await.len(), 3);
        b.click("tr.entry-row .entry-link").await;
        b.wait_for_location("/settings/system-log/").await;
        b.click(".record-list .record-name").await;
        b.wait_for_location("/settings/system-log/records/case/c_204").await;

        // A client has its own history; a user record, which the log cannot filter
        // by, has one too, without a log link.
        b.goto("/settings/system-log/records/client/cl_88").await;
        assert_eq!(b.find("#record-name").await.text().await.unwrap(), "John Smith");
        assert_eq!(b.texts(".field-history .fh-name").await, ["phone"], "only the entries it leads");
        assert_eq!(b.find("#record-count").await.text().await.unwrap(), "2 entries");
        b.goto("/settings/system-log/records/user/u_30").await;
        assert_eq!(b.find("#record-name").await.text().await.unwrap(), "Dan Park");
        assert!(b.find("#no-fields").await.text().await.unwrap().contains("records changed values"));
        assert!(b.texts("#record-log").await.is_empty() && b.texts("#record-crm").await.is_empty());

        // Unknown records and types are the 404 page.
        for path in ["/settings/system-log/records/case/c_999", "/settings/system-log/records/matter/c_204"] {
            b.goto(path).await;
            assert!(b.body_text().await.contains("We couldn't find that entry"), "{path}");
        }
    })
    .await;
    app.stop().await;
}
