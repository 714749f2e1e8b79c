//! Settings changed by many admins at once: no change undoes another, and every
//! change is recorded exactly once, with the values it really replaced.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::spawn_app;

/// The `(before, after)` of the first change of each event of `activity`, in seq order.
async fn transitions(app: &crate::support::TestApp, activity: &str) -> Vec<(Value, Value)> {
    let chain = app.store.chain(app.account_id(), 0, 10_000).await.unwrap();
    chain
        .iter()
        .map(|c| c.event().unwrap())
        .filter(|e| e.activity.key() == activity)
        .map(|e| (e.changes[0].before.clone(), e.changes[0].after.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_account_and_legal_hold_changes_end_with_the_last_values_written() {
    let app = Arc::new(spawn_app().await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let a = app.clone();
        tasks.spawn(async move {
            let body = json!({"name": format!("Firm {i}"), "timezone": "Europe/Paris"});
            a.admin_send(reqwest::Method::PUT, "/api/v1/settings/account", Some(body)).await.0
        });
        let b = app.clone();
        tasks.spawn(async move {
            let body = json!({"legal_hold": i % 2 == 0});
            b.admin_send(reqwest::Method::PUT, "/api/v1/settings/legal-hold", Some(body)).await.0
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }

    let (_, settings) = app.admin_get("/api/v1/settings/account").await;
    let (_, retention) = app.admin_get("/api/v1/settings/retention").await;

    // Every rename changed the name, so each has its record; they chain one into the
    // next and end at the stored name.
    let names = transitions(&app, "settings.updated").await;
    assert_eq!(names.len(), 50, "one settings.updated per rename");
    let mut current = json!("Smith & Jones LLP");
    for (before, after) in &names {
        assert_eq!(before, &current, "each record starts where the previous one ended");
        current = after.clone();
    }
    assert_eq!(settings["name"], current, "the stored name is the last one recorded");
    assert_eq!(settings["timezone"], "Europe/Paris");

    // The legal hold: records only for real changes, in an unbroken run of
    // transitions that ends at the stored value — none was lost to a rename.
    let holds = transitions(&app, "system_log.legal_hold_changed").await;
    assert!(!holds.is_empty() && holds.len() <= 50, "{} legal hold records", holds.len());
    let mut current = json!(false);
    for (before, after) in &holds {
        assert_eq!(before, &current, "each legal hold record starts where the previous one ended");
        assert_ne!(before, after, "a record is only written for a real change");
        current = after.clone();
    }
    assert_eq!(retention["legal_hold"], current, "the stored legal hold is the last one recorded");
}
