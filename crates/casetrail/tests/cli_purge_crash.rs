//! A retention run killed in the middle (SIGKILL) loses no record: the next run finds
//! the interrupted run's tally and records it, so every purged event is counted by
//! exactly one `system_log.purged` event, and the chain still verifies.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

const OLD_EVENTS: usize = 20_000;

fn casetrail(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("casetrail"));
    cmd.env_remove("CASETRAIL_CONFIG")
        .env_remove("CASETRAIL_DATABASE_URL")
        .env_remove("CASETRAIL_SIGNING_KEY_FILE")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

/// A firm whose log holds `OLD_EVENTS` events from 200 days ago.
fn firm_with_old_events(dir: &std::path::Path) -> String {
    let out = casetrail(dir)
        .args(["account", "create", "--data-dir", "data", "--name", "Old Firm", "--admin-email", "a@old.example"])
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let account = serde_json::from_slice::<Value>(&out.stdout).unwrap()["account_id"].as_str().unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use casetrail_core::validate::{IngestRules, parse_ingest};
        use casetrail_store::{AppendBatch, EventStore};
        let store = casetrail_store_sqlite::SqliteStore::open(dir.join("data/casetrail.db")).unwrap();
        let rules = IngestRules { now: casetrail_core::Timestamp::now(), window_start: None, allow_reserved: false };
        let old = jiff::Timestamp::now().as_second() - 200 * 86_400;
        let when = jiff::Timestamp::from_second(old).unwrap().to_string();
        for chunk in 0..OLD_EVENTS / 1000 {
            let events: Vec<Value> = (0..1000)
                .map(|i| {
                    serde_json::json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated",
                    "description": format!("old event {chunk}-{i}"), "occurred_at": when})
                })
                .collect();
            let events = parse_ingest(&serde_json::json!({ "events": events }), &rules).unwrap();
            store.append(vec![AppendBatch { account_id: account.parse().unwrap(), events }]).await.unwrap();
        }
    });
    account
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_purge_killed_midway_is_recorded_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    firm_with_old_events(dir.path());
    let db = rusqlite::Connection::open(dir.path().join("data/casetrail.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();

    // Kill the run as soon as its first batches have committed.
    let mut run = casetrail(dir.path()).args(["retention", "run", "--data-dir", "data"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT count(*) FROM purge_runs") == 0 {
        assert!(Instant::now() < deadline, "the purge never started");
        assert!(run.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(2));
    }
    run.kill().unwrap(); // SIGKILL: no chance to record anything
    run.wait().unwrap();

    let left = count(&db, "SELECT count(*) FROM events WHERE activity = 'case.updated'");
    let gone = OLD_EVENTS as i64 - left;
    assert!(gone > 0 && left > 0, "killed midway: {gone} purged, {left} left");
    assert_eq!(
        count(&db, "SELECT count(*) FROM events WHERE activity = 'system_log.purged'"),
        0,
        "nothing recorded yet"
    );
    assert_eq!(count(&db, "SELECT sum(purged) FROM purge_runs"), gone, "the tally holds exactly what went");

    // The next run records the interrupted one, then purges the rest.
    let out = casetrail(dir.path()).args(["retention", "run", "--data-dir", "data"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("purged {left} events"));
    assert_eq!(count(&db, "SELECT count(*) FROM events WHERE activity = 'case.updated'"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM purge_runs"), 0, "every tally was recorded");

    let mut st = db.prepare("SELECT body FROM events WHERE activity = 'system_log.purged' ORDER BY seq").unwrap();
    let records: Vec<Value> = st
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|b| serde_json::from_str::<Value>(&b.unwrap()).unwrap()["metadata"].clone())
        .collect();
    let counted: Vec<(i64, bool)> =
        records.iter().map(|m| (m["purged"].as_i64().unwrap(), m["interrupted"] == true)).collect();
    assert_eq!(counted, [(gone, true), (left, false)], "each purged event is in exactly one record");
    let (a, b) = (&records[0], &records[1]);
    let span = |m: &Value| (m["first_seq"].as_u64().unwrap(), m["last_seq"].as_u64().unwrap());
    let ((a_first, a_last), (b_first, b_last)) = (span(a), span(b));
    assert!(a_last < b_first || b_last < a_first, "the records' seq ranges do not overlap: {records:?}");

    let out = casetrail(dir.path()).args(["verify", "--data-dir", "data"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
