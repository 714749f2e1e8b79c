//! A schema written by an older version is brought up to date when a server
//! connects: here the related-records index of migration 10, whose `first` became
//! `leads` (only an event that changed something leads its first record's field
//! history).

mod support;

use casetrail_core::RecordType;
use casetrail_store::EventStore;
use casetrail_store::testing::derived::leading_seed;
use casetrail_store::testing::support::{append, new_account};

#[tokio::test]
async fn an_index_from_before_migration_10_leads_only_through_events_that_changed_something() {
    let store = support::fresh().await;
    let account = new_account(&store, "Old Schema LLP").await;
    let (events, expected) = leading_seed();
    append(&store, account, events).await;
    // As version 9 left it: `first` on the first related record of every event.
    let raw = support::plain_client(store.url()).await;
    raw.batch_execute(
        "ALTER TABLE record_events RENAME COLUMN leads TO first;
         UPDATE record_events SET first = (kind = 'case');
         DELETE FROM schema_migrations WHERE version = 10;",
    )
    .await
    .unwrap();
    let reopened = support::reopen(&store).await;
    let rows: Vec<(i64, String, bool)> = raw
        .query("SELECT seq, kind, leads FROM record_events ORDER BY seq, kind", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(rows, expected.map(|(s, k, l)| (s, k.to_string(), l)));
    let history = reopened.record_events(account, RecordType::Case, "c_1").await.unwrap().unwrap();
    assert_eq!((history.events, history.led.len(), history.led[0].seq), (2, 1, 1));
}
