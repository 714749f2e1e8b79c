//! A retention run killed in the middle (SIGKILL) loses no record: the next run finds
//! the interrupted run's tally and records it, so every purged event is counted by
//! exactly one `system_log.purged` event, and the chain still verifies. On the backend
//! `CASETRAIL_TEST_DATABASE_URL` picks; the test watches the tables with SQL of its own.

mod cli_support;

use std::time::{Duration, Instant};

use cli_support::TestDb;
use serde_json::Value;

const OLD_EVENTS: usize = 20_000;

/// A firm whose log holds `OLD_EVENTS` events from 200 days ago.
fn firm_with_old_events(db: &TestDb) -> String {
    let account = db.create_account_id("Old Firm", "a@old.example");
    let old = jiff::Timestamp::now().as_second() - 200 * 86_400;
    let when = jiff::Timestamp::from_second(old).unwrap().to_string();
    for chunk in 0..OLD_EVENTS / 1000 {
        let events: Vec<Value> = (0..1000)
            .map(|i| {
                serde_json::json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated",
                    "description": format!("old event {chunk}-{i}"), "occurred_at": when})
            })
            .collect();
        db.append(&account, events);
    }
    account
}

#[test]
fn a_purge_killed_midway_is_recorded_by_the_next_run() {
    let db = TestDb::new();
    firm_with_old_events(&db);
    let sql = db.sql();
    let count = |query: &str| sql.number(query);

    // Kill the run as soon as its first batches have committed.
    let mut run = db.cmd(&["retention", "run"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count("SELECT count(*) FROM purge_runs") == 0 {
        assert!(Instant::now() < deadline, "the purge never started");
        assert!(run.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(2));
    }
    run.kill().unwrap(); // SIGKILL: no chance to record anything
    run.wait().unwrap();

    let left = count("SELECT count(*) FROM events WHERE activity = 'case.updated'");
    let gone = OLD_EVENTS as i64 - left;
    assert!(gone > 0 && left > 0, "killed midway: {gone} purged, {left} left");
    assert_eq!(count("SELECT count(*) FROM events WHERE activity = 'system_log.purged'"), 0, "nothing recorded yet");
    // PostgreSQL sums BIGINTs as NUMERIC: the cast makes it an integer on both.
    assert_eq!(count("SELECT CAST(sum(purged) AS BIGINT) FROM purge_runs"), gone, "the tally holds exactly what went");

    // The next run records the interrupted one, then purges the rest.
    let out = db.run(&["retention", "run"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("purged {left} events"));
    assert_eq!(count("SELECT count(*) FROM events WHERE activity = 'case.updated'"), 0);
    assert_eq!(count("SELECT count(*) FROM purge_runs"), 0, "every tally was recorded");

    let records: Vec<Value> = sql
        .texts("SELECT body FROM events WHERE activity = 'system_log.purged' ORDER BY seq")
        .iter()
        .map(|body| serde_json::from_str::<Value>(body).unwrap()["metadata"].clone())
        .collect();
    let counted: Vec<(i64, bool)> =
        records.iter().map(|m| (m["purged"].as_i64().unwrap(), m["interrupted"] == true)).collect();
    assert_eq!(counted, [(gone, true), (left, false)], "each purged event is in exactly one record");
    let (a, b) = (&records[0], &records[1]);
    let span = |m: &Value| (m["first_seq"].as_u64().unwrap(), m["last_seq"].as_u64().unwrap());
    let ((a_first, a_last), (b_first, b_last)) = (span(a), span(b));
    assert!(a_last < b_first || b_last < a_first, "the records' seq ranges do not overlap: {records:?}");

    let out = db.run(&["verify"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
