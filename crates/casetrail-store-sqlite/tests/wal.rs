//! The write-ahead log is folded into the database file by the store's own thread,
//! not by whichever commit happens to push it past a size.

use std::time::{Duration, Instant};

use casetrail_core::Timestamp;
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_store::{AccountStore, AppendBatch, EventStore};
use casetrail_store_sqlite::SqliteStore;
use serde_json::json;

fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_checkpointed_soon_after_writes_and_folded_in_at_close() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("casetrail.db");
    let wal = dir.path().join("casetrail.db-wal");
    let store = SqliteStore::open(&db).unwrap();
    let account = store.create_account("WAL LLP").await.unwrap();
    let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
    let empty = size(&db);
    for chunk in 0..3 {
        let events: Vec<_> = (0..1000)
            .map(|n| {
                json!({"actor": {"id": "u_1", "name": "Ann"}, "activity": "case.updated",
                       "description": format!("event {chunk} {n} {}", "words ".repeat(40))})
            })
            .collect();
        let events = parse_ingest(&json!({ "events": events }), &rules).unwrap();
        store.append(vec![AppendBatch { account_id: account.id, events }]).await.unwrap();
    }
    // Some 3 MB of log, far below the writer's own 40 MB backstop: only the thread can
    // have moved it into the file.
    let deadline = Instant::now() + Duration::from_secs(10);
    while size(&db) < empty + (2 << 20) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(size(&db) >= empty + (2 << 20), "database file {} bytes after 3000 events (was {empty})", size(&db));

    drop(store);
    assert_eq!(size(&wal), 0, "the last connection folds the log in and removes it");
    let reopened = SqliteStore::open(&db).unwrap();
    assert_eq!(reopened.head(account.id).await.unwrap().map(|h| h.seq), Some(3000));
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("casetrail.db");
    let store = SqliteStore::open(&path).unwrap();
    let account = store.create_account("Private LLP").await.unwrap();
    let events = casetrail_core::validate::parse_ingest(
        &serde_json::json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated"}),
        &casetrail_core::validate::IngestRules {
            now: casetrail_core::Timestamp::now(),
            window_start: None,
            allow_reserved: false,
        },
    )
    .unwrap();
    store.append(vec![AppendBatch { account_id: account.id, events }]).await.unwrap();
    for name in ["casetrail.db", "casetrail.db-wal", "casetrail.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    // A file left world-readable by an older version is restricted at the next open.
    drop(store);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _again = SqliteStore::open(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}
