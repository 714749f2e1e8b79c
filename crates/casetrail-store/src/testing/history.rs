//! One record's history through the related-records index (docs/API.md §14): every
//! related event counted, whatever the record's place in `related`; the events it
//! leads, oldest first, ties by seq; the newest name; nothing of another account;
//! and purged events forgotten.

use std::sync::Arc;

use casetrail_core::RecordType;
use serde_json::{Value, json};

use super::state_changes::purge_all;
use super::support::*;
use crate::Store;

fn ev(occurred_at: &str, description: &str, related: Value) -> casetrail_core::NewEvent {
    new_event(json!({
        "actor": {"id": "u_1", "name": "Jane"}, "activity": "case.updated", "occurred_at": occurred_at,
        "description": description, "related": related,
        "changes": [{"field": "status", "before": description, "after": "x"}]
    }))
}

/// An event that changed nothing: it leads no record's field history.
fn unchanged(occurred_at: &str, description: &str, related: Value) -> casetrail_core::NewEvent {
    new_event(json!({
        "actor": {"id": "u_1", "name": "Jane"}, "activity": "communication.sms_sent", "occurred_at": occurred_at,
        "description": description, "related": related
    }))
}

fn descriptions(led: &[casetrail_core::ChainedEvent]) -> Vec<String> {
    led.iter().map(|e| body(e).description).collect()
}

pub async fn a_record_history_is_read_through_its_index(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "History LLP").await;
    let other = new_account(store, "Other LLP").await;
    let case = |name: Value| json!({"type": "case", "id": "c_1", "name": name});
    let client = json!({"type": "client", "id": "cl_1", "name": "John Smith"});
    append(
        store,
        account,
        vec![
            ev("2025-01-02T00:00:00Z", "second", json!([case(json!("Smith v. Jones")), client])),
            ev("2025-01-01T00:00:00Z", "first", json!([case(json!("Smith v Jones")), client])),
            ev("2025-01-03T00:00:00Z", "client-led", json!([client, case(json!("Smith v. Jones (renamed)"))])),
            ev("2025-01-04T00:00:00Z", "tie-a", json!([case(Value::Null)])),
            ev("2025-01-04T00:00:00Z", "tie-b", json!([case(Value::Null), case(Value::Null)])),
            ev("2025-01-05T00:00:00Z", "user", json!([{"type": "user", "id": "u_9", "name": "Ann"}])),
            unchanged("2025-01-04T12:00:00Z", "no-change", json!([case(json!("Smith v. Jones (settled)")), client])),
        ],
    )
    .await;
    append(store, other, vec![ev("2025-02-01T00:00:00Z", "theirs", json!([case(json!("Theirs"))]))]).await;

    let history = store.record_events(account, RecordType::Case, "c_1").await.unwrap().expect("the case was seen");
    assert_eq!(history.events, 6, "every related event, led or not; a record named twice counts once");
    assert_eq!(history.first_seen, ts("2025-01-01T00:00:00Z"));
    assert_eq!(history.last_seen, ts("2025-01-04T12:00:00Z"));
    assert_eq!(history.name.as_deref(), Some("Smith v. Jones (settled)"), "the newest name given; null names none");
    assert_eq!(
        descriptions(&history.led),
        ["first", "second", "tie-a", "tie-b"],
        "led events, by time then seq; one that changed nothing leads nothing"
    );
    assert_eq!(
        descriptions(&history.recent),
        ["no-change", "tie-b", "tie-a", "client-led", "second", "first"],
        "newest first"
    );

    let client = store.record_events(account, RecordType::Client, "cl_1").await.unwrap().unwrap();
    assert_eq!((client.events, descriptions(&client.led)), (4, vec!["client-led".to_string()]));
    assert_eq!(client.name.as_deref(), Some("John Smith"));
    let user = store.record_events(account, RecordType::User, "u_9").await.unwrap().unwrap();
    assert_eq!((user.events, user.name.as_deref()), (1, Some("Ann")), "every record type is indexed");

    assert_eq!(store.record_events(account, RecordType::Case, "c_404").await.unwrap(), None);
    assert_eq!(store.record_events(account, RecordType::Client, "c_1").await.unwrap(), None, "the type is part of it");
    let theirs = store.record_events(other, RecordType::Case, "c_1").await.unwrap().unwrap();
    assert_eq!((theirs.events, theirs.name.as_deref()), (1, Some("Theirs")), "accounts never mix");
    assert_eq!(store.record_events(unknown_id(), RecordType::Case, "c_1").await.unwrap(), None);

    // A purge takes its events out of the history.
    purge_all(store, account, ts("2025-01-02T12:00:00Z"), 500).await;
    let history = store.record_events(account, RecordType::Case, "c_1").await.unwrap().unwrap();
    assert_eq!(history.events, 4);
    assert_eq!(history.first_seen, ts("2025-01-03T00:00:00Z"));
    assert_eq!(descriptions(&history.led), ["tie-a", "tie-b"]);
}
