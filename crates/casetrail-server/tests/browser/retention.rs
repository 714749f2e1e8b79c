//! The retention page: holds placed and lifted, a new period through its dry run,
//! refused input shown as a message, and a purge run from the page.

use crate::driver::{Browser, with_browser};
use crate::support::{old_event, spawn_app};

/// Submits a form through `button` and waits for the page that answers it.
async fn submit(b: &Browser, button: &str) {
    b.script("window.__posting = true").await;
    b.click(button).await;
    b.wait_until("!window.__posting").await;
}

#[tokio::test]
async fn holds_are_placed_listed_and_lifted_and_retention_changes_after_a_dry_run() {
    let app = spawn_app().await;
    let policy = casetrail_store::AccountChange::retention_days(Some(90));
    app.store.change_account(app.account_id(), policy, casetrail_store::unrecorded()).await.unwrap();
    // Entries 200 and 150 days old, one on a held case: outside a 100-day period.
    app.append_direct(vec![
        old_event(200, "Old entry on c_9", Some("c_9"), None),
        old_event(150, "Old entry on c_1", Some("c_1"), None),
    ])
    .await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.goto("/settings/system-log").await;
        b.sign_in(&email, &password).await;
        b.click("#retention-link").await;
        b.wait_for_location("/settings/system-log/retention").await;
        assert_eq!(b.find("#policy").await.text().await.unwrap(), "90 days");
        assert_eq!(b.find("#legal-hold").await.text().await.unwrap(), "off");
        assert!(b.body_text().await.contains("No holds."));

        // Place a hold, see it listed with who and why, lift it.
        b.type_into("#hold-id", "c_9").await;
        b.type_into("#hold-reason", "Smith v. Jones litigation").await;
        submit(&b, "#place-hold").await;
        assert_eq!(b.find("#notice").await.text().await.unwrap(), "Placed a hold on case c_9.");
        let rows = b.texts("tr.hold-row").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(rows[0].contains("Case") && rows[0].contains("c_9") && rows[0].contains("Smith v. Jones litigation"));
        assert!(rows[0].contains(&app_admin_name(&b).await), "{rows:?}");
        // The record by the name the log gives it, linked to its history.
        let name = b.find("tr.hold-row a.hold-name").await;
        assert_eq!(name.text().await.unwrap(), "Case c_9");
        assert_eq!(name.attr("href").await.unwrap().as_deref(), Some("/settings/system-log/records/case/c_9"));
        let schedule = b.find("#purge-schedule").await.text().await.unwrap();
        assert!(schedule.starts_with("The server purges by itself every hour."), "{schedule}");
        // The same hold again is refused in words.
        b.type_into("#hold-id", "c_9").await;
        submit(&b, "#place-hold").await;
        assert_eq!(b.find("#error").await.text().await.unwrap(), "The case c_9 is already under a hold.");

        // A dry run while the hold stands: only the entry on c_1 would go.
        b.type_into("#retention-days", "100").await;
        submit(&b, "#preview-retention").await;
        let dry = b.find("#dry-run").await.text().await.unwrap();
        assert!(dry.contains("from 90 days to 100 days"), "{dry}");
        assert!(dry.contains("would remove 1 entry"), "{dry}");
        b.click("#dry-run a.btn").await;
        b.wait_until("!document.querySelector('#dry-run')").await;
        assert_eq!(b.find("#policy").await.text().await.unwrap(), "90 days", "cancelling changes nothing");

        submit(&b, "tr.hold-row button").await;
        assert_eq!(b.find("#notice").await.text().await.unwrap(), "Lifted the hold on case c_9.");
        assert!(b.texts("tr.hold-row").await.is_empty());

        // Too short a period: a message on the page, the policy unchanged.
        b.type_into("#retention-days", "89").await;
        submit(&b, "#preview-retention").await;
        let error = b.find("#error").await.text().await.unwrap();
        assert!(error.contains("\u{201c}89\u{201d} can't be used") && error.contains("90 to 3650"), "{error}");
        assert_eq!(b.find("#policy").await.text().await.unwrap(), "90 days");

        // 90 → 365: the dry run first, then the confirmation applies it.
        b.type_into("#retention-days", "365").await;
        submit(&b, "#preview-retention").await;
        let dry = b.find("#dry-run").await.text().await.unwrap();
        assert!(dry.contains("from 90 days to 365 days") && dry.contains("would remove 0 entries"), "{dry}");
        assert_eq!(b.find("#policy").await.text().await.unwrap(), "90 days", "not applied before confirming");
        submit(&b, "#confirm-retention").await;
        assert_eq!(b.find("#notice").await.text().await.unwrap(), "Retention changed to 365 days.");
        assert_eq!(b.find("#policy").await.text().await.unwrap(), "365 days");

        // Shortening to 100 days then purging removes both old entries.
        b.type_into("#retention-days", "100").await;
        submit(&b, "#preview-retention").await;
        let dry = b.find("#dry-run").await.text().await.unwrap();
        assert!(dry.contains("would remove 2 entries") && dry.contains("cannot be recovered"), "{dry}");
        submit(&b, "#confirm-retention").await;
        submit(&b, "#run-purge").await;
        assert_eq!(b.find("#notice").await.text().await.unwrap(), "Purged 2 entries.");

        // The legal-hold toggle.
        submit(&b, "#toggle-legal-hold").await;
        assert_eq!(b.find("#legal-hold").await.text().await.unwrap(), "on");
        submit(&b, "#toggle-legal-hold").await;
        assert_eq!(b.find("#legal-hold").await.text().await.unwrap(), "off");
    })
    .await;

    // Each change was recorded as the API records it.
    let (_, page) = app.admin_get("/api/v1/events?limit=50").await;
    let activities: Vec<&str> =
        page["events"].as_array().unwrap().iter().map(|e| e["activity"].as_str().unwrap()).collect();
    let count = |a: &str| activities.iter().filter(|x| **x == a).count();
    assert_eq!(count("system_log.retention_changed"), 2, "{activities:?}");
    assert_eq!(count("system_log.legal_hold_changed"), 2, "{activities:?}");
    assert_eq!(count("settings.updated"), 2, "a hold placed and lifted: {activities:?}");
    let descriptions: Vec<&str> =
        page["events"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap()).collect();
    assert!(descriptions.contains(&"Changed retention from 90 days to 365 days"), "{descriptions:?}");
    assert!(descriptions.contains(&"Placed a legal hold on case c_9"));
    assert!(descriptions.contains(&"Lifted the legal hold on case c_9"));
    app.stop().await;
}

/// The signed-in admin's name, from the page header.
async fn app_admin_name(b: &Browser) -> String {
    b.find(".account-name").await.text().await.unwrap()
}

#[tokio::test]
async fn the_retention_page_is_for_admins_and_keeps_forever_under_legal_hold() {
    let app = spawn_app().await;
    app.append_direct(vec![old_event(400, "A very old entry", None, None)]).await;

    // Members see the 403 page and cannot post; a signed-out visitor signs in first.
    let member = app.add_member("mia@smithlaw.com").await;
    let as_member = app.signed_in(&member, crate::support::MEMBER_PASSWORD).await;
    let response = as_member.get(app.url("/settings/system-log/retention")).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let response = as_member
        .post(app.url("/settings/system-log/retention"))
        .form(&[("action", "purge"), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = anonymous.get(app.url("/settings/system-log/retention")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?next=%2Fsettings%2Fsystem-log%2Fretention");

    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let html = admin.get(app.url("/settings/system-log/retention")).send().await.unwrap().text().await.unwrap();
    let csrf = crate::support::hidden_value(&html, "csrf").unwrap();
    let post = |pairs: &[(&'static str, &str)]| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(pairs.iter().map(|(k, v)| (*k, v.to_string())));
        admin.post(app.url("/settings/system-log/retention")).form(&form).send()
    };
    let text = |r: reqwest::Response| async move {
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        r.text().await.unwrap()
    };

    // Under legal hold, a dry run says nothing would go, and a purge removes nothing.
    post(&[("action", "legal_hold"), ("legal_hold", "on")]).await.unwrap();
    let page = text(post(&[("action", "preview"), ("retention_days", "120")]).await.unwrap()).await;
    assert!(page.contains("under legal hold, so the next purge would remove <strong>no entries</strong>"), "{page}");
    let page = text(post(&[("action", "purge")]).await.unwrap()).await;
    assert!(page.contains("Nothing was purged: the account is under legal hold."), "{page}");

    // An empty period keeps forever; letters are refused in words, with a 422.
    let response = post(&[("action", "preview"), ("retention_days", "ninety")]).await.unwrap();
    assert_eq!(response.status(), 422);
    assert!(text(response).await.contains("\u{201c}ninety\u{201d} can&#39;t be used"));
    post(&[("action", "apply"), ("retention_days", "")]).await.unwrap();
    let page = text(admin.get(app.url("/settings/system-log/retention")).send().await.unwrap()).await;
    assert!(page.contains(r#"<strong id="policy">Keep forever</strong>"#), "{page}");
    app.stop().await;
}
