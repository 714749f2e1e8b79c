//! Planner statistics, kept fresh by the store itself.
//!
//! SQLite plans from `sqlite_stat1`; without it, or with figures from when the log was
//! a tenth of its size, it can pick a plan that scans a whole index. The store counts
//! the events it appends and purges, and re-runs `ANALYZE` once they reach a quarter of
//! the rows last analyzed (and at least [`MIN_CHANGES`]). `analysis_limit` bounds each
//! run to a sample per index, so it takes milliseconds whatever the size, and the
//! plans that must not move are pinned in the SQL itself (see `browse.rs`).

use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension};

/// Fewer changes than this never trigger a refresh.
const MIN_CHANGES: u64 = 5_000;
/// Rows sampled per index by each `ANALYZE`.
const ANALYSIS_LIMIT: u32 = 1_000;

/// Changes since the last `ANALYZE`, and the rows it saw.
#[derive(Debug, Default)]
pub(crate) struct Freshness {
    changed: AtomicU64,
    analyzed_rows: AtomicU64,
}

impl Freshness {
    /// Reads what the file's statistics cover; analyzes now if it has events and no
    /// statistics.
    pub fn load(conn: &Connection) -> rusqlite::Result<Freshness> {
        let fresh = Freshness::default();
        let rows = match analyzed_rows(conn)? {
            Some(rows) => rows,
            None => {
                let any: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))?;
                if any {
                    analyze(conn)?;
                }
                analyzed_rows(conn)?.unwrap_or(0)
            }
        };
        fresh.analyzed_rows.store(rows, Ordering::Relaxed);
        Ok(fresh)
    }

    /// Counts `n` appended or purged events; true when the statistics are due, in
    /// which case the count starts over.
    pub fn note(&self, n: u64) -> bool {
        let changed = self.changed.fetch_add(n, Ordering::Relaxed) + n;
        let due = changed >= MIN_CHANGES.max(self.analyzed_rows.load(Ordering::Relaxed) / 4);
        due && self.changed.compare_exchange(changed, 0, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    /// Runs `ANALYZE` and records the rows it saw.
    pub fn refresh(&self, conn: &Connection) -> rusqlite::Result<()> {
        analyze(conn)?;
        self.analyzed_rows.store(analyzed_rows(conn)?.unwrap_or(0), Ordering::Relaxed);
        Ok(())
    }
}

/// The tables whose indexes browse plans choose between. The rest (FTS5's shadow
/// tables, pickers, credentials) are only ever read by key, and counting the rows of a
/// table without indexes walks all of it: seconds on a large search index, all of it
/// inside the write lock.
const PLANNED_TABLES: [&str; 2] = ["events", "event_records"];

fn analyze(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    let tables: Vec<String> = PLANNED_TABLES.iter().map(|t| format!("ANALYZE {t};")).collect();
    conn.execute_batch(&format!("PRAGMA analysis_limit = {ANALYSIS_LIMIT}; {}", tables.join(" ")))?;
    tracing::debug!(took = ?started.elapsed(), "planner statistics refreshed");
    Ok(())
}

/// The events table's row count as of its last `ANALYZE` (the first figure of its
/// primary index's `sqlite_stat1` row), if it was ever analyzed.
fn analyzed_rows(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    let has_stats: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1')", [], |r| r.get(0))?;
    if !has_stats {
        return Ok(None);
    }
    let stat: Option<String> = conn
        .query_row("SELECT stat FROM sqlite_stat1 WHERE tbl = 'events' AND idx = 'events_seq'", [], |r| r.get(0))
        .optional()?;
    Ok(stat.and_then(|s| s.split(' ').next()?.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_due_after_a_quarter_of_the_analyzed_rows() {
        let fresh = Freshness::default();
        assert!(!fresh.note(MIN_CHANGES - 1));
        assert!(fresh.note(1), "the minimum is reached");
        assert!(!fresh.note(1), "the count started over");
        fresh.analyzed_rows.store(100_000, Ordering::Relaxed);
        assert!(!fresh.note(24_000));
        assert!(fresh.note(1_000), "25,001 changes of 100,000 rows");
    }
}
