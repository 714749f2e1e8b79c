//! A purge gives its space back: the SQLite file shrinks, even with appends beside it.

mod support;

use casetrail_store::EventStore;
use serde_json::{Value, json};
use support::{Fixture, event, old_event};

fn pages(db: &rusqlite::Connection) -> i64 {
    db.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purge_beside_appends_gives_the_space_back() {
    let fx = std::sync::Arc::new(Fixture::new().await);
    let blob = "x".repeat(2_000);
    for chunk in 0..10 {
        let events: Vec<Value> = (0..500)
            .map(|i| {
                let mut e = old_event(100 + (i % 50), &format!("old {chunk}-{i}"), Some(&format!("c_{i}")), None);
                e["metadata"] = json!({"note": blob});
                e
            })
            .collect();
        fx.append(events).await;
    }
    let before = pages(&fx.raw_db());

    let appender = {
        let fx = fx.clone();
        tokio::spawn(async move {
            let mut appended = 0;
            for i in 0..40 {
                appended += fx.append(vec![event(&format!("live {i}"))]).await.len();
            }
            appended
        })
    };
    assert_eq!(fx.purge().await, 5_000);
    assert_eq!(appender.await.unwrap(), 40);
    assert_eq!(fx.problems(false).await, []);
    // The purge's own record, after the 5,000 purged and the 40 live ones.
    assert_eq!(fx.store.head(fx.account).await.unwrap().map(|h| h.seq), Some(5_041));
    let after = pages(&fx.raw_db());
    assert!(after * 2 < before, "the file shrank from {before} to {after} pages");
}
