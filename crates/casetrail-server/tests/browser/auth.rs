//! Signing in and out, and the Admins-only rule.

use crate::driver::with_browser;
use crate::support::{MEMBER_PASSWORD, spawn_app};

#[tokio::test]
async fn sign_in_takes_you_back_and_sign_out_ends_the_session() {
    let app = spawn_app().await;
    let email = app.firm.admin.email.clone();
    let password = app.firm.admin_password.clone();
    with_browser(&app, 1280, move |b| async move {
        b.goto("/settings/system-log?q=smith").await;
        b.wait_for_location("/login?next=").await;

        b.sign_in(&email, "not the password").await;
        assert!(b.location().await.starts_with("/login"));
        let error = b.find(".form-error").await.text().await.unwrap();
        assert_eq!(error, "That email and password do not match an account.");

        b.sign_in(&email, &password).await;
        b.wait_for_location("/settings/system-log?q=smith").await;
        assert_eq!(b.find("h1").await.text().await.unwrap(), "System Log");
        assert_eq!(b.find("#q").await.prop("value").await.unwrap().as_deref(), Some("smith"));
        let header = b.find(".topbar").await.text().await.unwrap();
        assert!(header.contains("Ada Admin"), "the header names who is signed in: {header}");

        b.click(".signout button").await;
        b.wait_for_location("/login").await;
        b.goto("/settings/system-log").await;
        b.wait_for_location("/login?next=").await;
        assert_eq!(b.find("h1").await.text().await.unwrap(), "Sign in");
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_member_sees_that_the_log_is_for_admins_only() {
    let app = spawn_app().await;
    let member = app.add_member("mia@smithjones.example").await;
    with_browser(&app, 1280, move |b| async move {
        b.goto("/settings/system-log").await;
        b.sign_in(&member, MEMBER_PASSWORD).await;
        b.wait_until("document.querySelector('h1')").await;
        assert_eq!(b.find("h1").await.text().await.unwrap(), "Admins only");
        let text = b.body_text().await;
        assert!(text.contains("The System Log is only accessible to Admins."), "{text}");
        assert!(b.texts("table").await.is_empty(), "a member sees no log");

        // Every System Log path says the same, entries included.
        b.goto("/settings/system-log/0193a5b2-0000-7000-8000-000000000000").await;
        assert_eq!(b.find("h1").await.text().await.unwrap(), "Admins only");

        b.click("form[action='/logout'] button").await;
        b.wait_for_location("/login").await;
    })
    .await;
    app.stop().await;
}
