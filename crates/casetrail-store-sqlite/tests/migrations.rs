//! A file written by an older version is brought up to date at open: here the
//! related-records index of migration 12, whose `first` became `leads` (only an
//! event that changed something leads its first record's field history).

mod support;

use casetrail_core::RecordType;
use casetrail_store::EventStore;
use casetrail_store::testing::derived::leading_seed;
use casetrail_store::testing::support::append;
use casetrail_store_sqlite::SqliteStore;
use support::Fixture;

#[tokio::test]
async fn an_index_from_before_migration_12_leads_only_through_events_that_changed_something() {
    let fx = Fixture::new().await;
    let (events, expected) = leading_seed();
    append(&fx.store, fx.account, events).await;
    // As version 11 left it: `first` on the first related record of every event.
    let raw = fx.raw_db();
    raw.execute_batch(
        "ALTER TABLE record_events RENAME COLUMN leads TO first;
         UPDATE record_events SET first = (kind = 'case');
         PRAGMA user_version = 11;",
    )
    .unwrap();
    let reopened = SqliteStore::open(fx.store.path()).unwrap();
    let version: i64 = raw.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert!(version >= 12, "migrated from 11 to {version}");
    let mut st = raw.prepare("SELECT seq, kind, leads FROM record_events ORDER BY seq, kind").unwrap();
    let rows: Vec<(i64, String, bool)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(rows, expected.map(|(s, k, l)| (s, k.to_string(), l)));
    let history = reopened.record_events(fx.account, RecordType::Case, "c_1").await.unwrap().unwrap();
    assert_eq!((history.events, history.led.len(), history.led[0].seq), (2, 1, 1));
    // What the migration wrote is what verification expects.
    let verification = casetrail_app::integrity::verify_account(&reopened, fx.account, &fx.ring, false).await.unwrap();
    assert!(verification.report.problems.is_empty(), "{:?}", verification.report.problems);
}
