//! The store keeps the planner's statistics itself: once its appends reach the first
//! threshold (10,000 events), `events` has statistics whether or not the server's
//! autovacuum ever looks (it is off on the CI server).

mod support;

use std::time::Duration;

use casetrail_store::testing::support::{append, new_account, new_event};
use serde_json::json;

/// Rows of `pg_stats` for a table of the client's schema.
async fn statistics_rows(client: &tokio_postgres::Client, table: &str) -> i64 {
    client
        .query_one("SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1", &[&table])
        .await
        .expect("read pg_stats")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_appended_events_leave_the_log_with_planner_statistics() {
    let store = support::fresh().await;
    let account = new_account(&store, "Statistics LLP").await;
    let client = support::plain_client(store.url()).await;
    assert_eq!(statistics_rows(&client, "events").await, 0, "a new schema has no statistics");
    for batch in 0..10 {
        let events = (0..1000)
            .map(|n| {
                new_event(json!({
                    "occurred_at": "2026-04-01T00:00:00Z",
                    "actor": {"id": format!("u_{}", n % 7), "name": "Stat Person"},
                    "activity": "case.updated",
                    "description": format!("entry {batch} {n}"),
                    "related": [{"type": "case", "id": format!("c_{}", n % 3), "name": "Stat Matter"}],
                }))
            })
            .collect();
        append(&store, account, events).await;
    }
    // The ANALYZE runs in the background: wait for it, at most 60 s.
    let mut rows = 0;
    for _ in 0..600 {
        rows = statistics_rows(&client, "events").await;
        if rows > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One row per column of `events` (acct, seq, id, occurred_at, …, search).
    assert_eq!(rows, 11, "every column of events has statistics after 10,000 appends");
    assert!(statistics_rows(&client, "event_records").await > 0, "event_records was analyzed with events");
}
