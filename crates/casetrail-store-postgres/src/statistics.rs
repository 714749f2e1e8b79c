//! Planner statistics kept fresh by the store itself. PostgreSQL plans every browse
//! and search statement from the statistics of `events` and `event_records`; without
//! them (a server whose autovacuum is off, or a table that grew faster than
//! autovacuum's next look) it guesses, and the guesses cost: at 100k events a
//! week's page took 35 ms instead of 2 ms, a client's communication 560 ms instead
//! of 7 (BENCHMARKS.md). So each store counts the events it appended, and once they
//! reach a tenth of the rows the table had at its last `ANALYZE` (at least
//! [`ANALYZE_AFTER_MIN`]), it runs `ANALYZE` on the log's tables in the background,
//! one at a time. `ANALYZE` samples a fixed number of rows, so it stays near a second
//! whatever the table's size; with several servers, each counts its own appends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::PostgresStore;

/// Appended events that make the first `ANALYZE` due (and the least between two).
const ANALYZE_AFTER_MIN: u64 = 10_000;

/// Each store's count of events since its last `ANALYZE`.
#[derive(Debug, Default)]
pub(crate) struct Statistics {
    appended: AtomicU64,
    rows_at_last: AtomicU64,
    running: AtomicBool,
}

impl PostgresStore {
    /// Counts `events` newly appended; starts an `ANALYZE` when one is due.
    pub(crate) fn appended(&self, events: u64) {
        let stats = &self.inner.statistics;
        let since = stats.appended.fetch_add(events, Ordering::Relaxed) + events;
        let due = (stats.rows_at_last.load(Ordering::Relaxed) / 10).max(ANALYZE_AFTER_MIN);
        if since < due || stats.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            match store.analyze().await {
                Ok(rows) => {
                    store.inner.statistics.appended.fetch_sub(since, Ordering::Relaxed);
                    store.inner.statistics.rows_at_last.store(rows, Ordering::Relaxed);
                }
                Err(err) => tracing::warn!(error = %err, "could not refresh the planner's statistics"),
            }
            store.inner.statistics.running.store(false, Ordering::Release);
        });
    }

    /// `ANALYZE` of the log's tables; answers the rows `events` holds by its estimate.
    async fn analyze(&self) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
        let client = self.client().await?;
        client.batch_execute("ANALYZE events, event_records, actors, records").await?;
        let row =
            client.query_one("SELECT reltuples::bigint FROM pg_class WHERE oid = 'events'::regclass", &[]).await?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }
}
