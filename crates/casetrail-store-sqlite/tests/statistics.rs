//! The store keeps SQLite's planner statistics fresh by itself.

use casetrail_core::Timestamp;
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_store::{AccountStore, AppendBatch, EventStore};
use casetrail_store_sqlite::SqliteStore;
use serde_json::json;

fn analyzed_rows(path: &std::path::Path) -> Option<u64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let stat: Option<String> = conn
        .query_row("SELECT stat FROM sqlite_stat1 WHERE tbl = 'events' AND idx = 'events_seq'", [], |r| r.get(0))
        .ok();
    stat.and_then(|s| s.split(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_follow_the_log_as_it_grows() {
    let store = SqliteStore::open_temporary().unwrap();
    let account = store.create_account("Statistics LLP").await.unwrap();
    let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
    let batch = |from: usize| {
        let events: Vec<_> = (from..from + 1000)
            .map(|n| json!({"actor": {"id": "u_1", "name": "Ann"}, "activity": "case.updated", "description": format!("event {n}")}))
            .collect();
        parse_ingest(&json!({ "events": events }), &rules).unwrap()
    };
    for n in 0..4 {
        store.append(vec![AppendBatch { account_id: account.id, events: batch(n * 1000) }]).await.unwrap();
    }
    assert_eq!(analyzed_rows(store.path()), None, "4000 events: not yet due");
    store.append(vec![AppendBatch { account_id: account.id, events: batch(4000) }]).await.unwrap();
    assert_eq!(analyzed_rows(store.path()), Some(5000), "due at 5000 events");
    for n in 5..7 {
        store.append(vec![AppendBatch { account_id: account.id, events: batch(n * 1000) }]).await.unwrap();
    }
    assert_eq!(analyzed_rows(store.path()), Some(5000), "2000 more is under a quarter");

    // A reopened file with events and no statistics is analyzed at once.
    let path = store.path().to_path_buf();
    let copy = tempfile::TempDir::new().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE sqlite_stat1").unwrap();
    conn.execute("VACUUM INTO ?1", [copy.path().join("copy.db").to_str().unwrap()]).unwrap();
    drop(conn);
    let reopened = SqliteStore::open(copy.path().join("copy.db")).unwrap();
    assert_eq!(analyzed_rows(reopened.path()), Some(7000));
}
