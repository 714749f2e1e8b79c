//! Keyword search: how a page applies search words to the FTS5 index of each
//! event's words (`events_fts`, rowid = `events.rid`, `schema.rs`), and, for the
//! benchmark's comparison of index designs, the index rebuilt from the stored bodies.
//!
//! A rare match drives the page from the index (`browse::Driver::Keywords`): the
//! matches' keys are sorted, then the page's bodies alone are read. A common one is
//! applied by [`walk`]: the log in page order beside the index's matches newest
//! first, each read only as far as the other has come, so a page of a word in 1 % of
//! the log reads about a hundred pages' worth of the log's keys and a page of
//! matches, never the whole match set. Both read the index through the query of
//! `terms.rs`, where every longer word is its exact terms, so FTS5 reads each lazily.

use std::collections::HashSet;

use casetrail_core::chain::ChainedEvent;
use casetrail_core::query::BrowseQuery;
use casetrail_store::StoreResult;
use rusqlite::{Connection, Rows, params, params_from_iter};

use crate::browse::{Driver, EVENT_COLUMNS, Select, chained, cursor_key, statement};
use crate::db;

/// A key read by the walk costs about this share of an event fetched by rowid (a
/// b-tree descent and a page read of the table), measured at 100k events: 0.3 µs
/// against 6 µs.
const WALK_PER_FETCH: f64 = 1.0 / 20.0;
/// Bounds of [`drives_below`].
const DRIVES_BELOW_MIN: i64 = 100;
const DRIVES_BELOW_MAX: i64 = 20_000;

/// Events the first statement of a walk reads; each next one reads four times more, up
/// to [`MAX_CHUNK`]. A page of a word in 1 % of the log takes about 5000 events.
const FIRST_CHUNK: usize = 1_000;
const MAX_CHUNK: usize = 64_000;

mod terms;

/// The FTS5 query for `words` as plain prefix terms, each word read by FTS5 as it
/// stands: the plan before [`terms::expression`], kept for the benchmark's `MatchSet`.
pub(crate) fn match_expr(words: &[String]) -> String {
    words.iter().map(|w| terms::prefix(w)).collect::<Vec<_>>().join(" ")
}

/// How many matches the index drives the page below. Driving costs a fetch per match
/// (`m`); the walk reads `events / m` keys per page row, so with `n` events and `p`
/// rows a page the two cost the same at `m = sqrt(n · p · WALK_PER_FETCH)`: 500 at
/// 100k events and pages of 50, 1,600 at 1M, 5,000 at 10M. `n` is the highest rid
/// (every account's events; the index counts them all too).
fn drives_below(conn: &Connection, page: usize) -> StoreResult<i64> {
    let events: i64 = conn
        .prepare_cached("SELECT coalesce(max(rid), 0) FROM events")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(db)?;
    let even = (events as f64 * page as f64 * WALK_PER_FETCH).sqrt() as i64;
    Ok(even.clamp(DRIVES_BELOW_MIN, DRIVES_BELOW_MAX))
}

/// The FTS5 query of `words` ([`terms::expression`]), and whether it matches so few
/// events that the index should drive a page of `page` rows ([`drives_below`]). The
/// count reads the matches lazily, newest first, and stops at the threshold.
pub(crate) fn plan(conn: &Connection, words: &[String], page: usize) -> StoreResult<(String, bool)> {
    let expr = terms::expression(conn, words)?;
    let below = drives_below(conn, page)?;
    let matches: i64 = conn
        .prepare_cached("SELECT count(*) FROM (SELECT rowid FROM events_fts WHERE events_fts MATCH ?1 LIMIT ?2)")
        .and_then(|mut st| st.query_row(params![expr, below], |r| r.get(0)))
        .map_err(db)?;
    Ok((expr, matches < below))
}

/// The index's matches, newest (highest rowid) first, read as far as asked.
struct Matches<'s> {
    rows: Rows<'s>,
    /// Matches read and not yet asked about.
    unclaimed: HashSet<i64>,
    /// The lowest rowid read: every match at or above it has been read.
    lowest: i64,
    done: bool,
}

impl Matches<'_> {
    /// Whether the index matches `rid`; each rid is asked about once.
    fn take(&mut self, rid: i64) -> StoreResult<bool> {
        while !self.done && self.lowest > rid {
            match self.rows.next().map_err(db)? {
                Some(row) => {
                    self.lowest = row.get(0).map_err(db)?;
                    self.unclaimed.insert(self.lowest);
                }
                None => self.done = true,
            }
        }
        Ok(self.unclaimed.remove(&rid))
    }

    /// No match is left for any later event.
    fn exhausted(&self) -> bool {
        self.done && self.unclaimed.is_empty()
    }
}

/// Up to `want` events of the page, in page order: the events `driver` yields under
/// every other filter, kept when the index matches them by `expr` ([`plan`]). Both
/// are read in the same direction (new to old; rowids follow arrival, which follows
/// time but for late events), so the index is read about as far as the walk goes.
pub(crate) fn walk(
    conn: &Connection,
    pk: i64,
    driver: &Driver,
    query: &BrowseQuery,
    expr: &str,
    want: usize,
) -> StoreResult<Vec<(ChainedEvent, i64)>> {
    let mut index = conn
        .prepare_cached("SELECT rowid FROM events_fts WHERE events_fts MATCH ?1 ORDER BY rowid DESC")
        .map_err(db)?;
    let rows = index.query([expr]).map_err(db)?;
    let mut matches = Matches { rows, unclaimed: HashSet::new(), lowest: i64::MAX, done: false };
    let mut found: Vec<i64> = Vec::with_capacity(want);
    let mut cursor = cursor_key(query);
    let mut chunk = FIRST_CHUNK;
    'walk: loop {
        let (sql, args) = statement(pk, driver, query, cursor, Select::Keys, chunk);
        let mut st = conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = st.query(params_from_iter(args)).map_err(db)?;
        let mut read = 0;
        while let Some(row) = rows.next().map_err(db)? {
            read += 1;
            let rid: i64 = row.get(0).map_err(db)?;
            cursor = Some((row.get(1).map_err(db)?, row.get(2).map_err(db)?));
            if matches.take(rid)? {
                found.push(rid);
                if found.len() == want {
                    break 'walk;
                }
            }
            if matches.exhausted() {
                break 'walk;
            }
        }
        if read < chunk {
            break;
        }
        chunk = (chunk * 4).min(MAX_CHUNK);
    }
    bodies(conn, &found)
}

/// Up to `want` events of a rare match, in page order: the keys of every match sorted
/// by SQLite, then the bodies of the page alone (not every match's through the sort).
pub(crate) fn sorted_matches(
    conn: &Connection,
    pk: i64,
    driver: &Driver,
    query: &BrowseQuery,
    want: usize,
) -> StoreResult<Vec<(ChainedEvent, i64)>> {
    let (sql, args) = statement(pk, driver, query, cursor_key(query), Select::Keys, want);
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    let rids: Vec<i64> =
        st.query_map(params_from_iter(args), |r| r.get(0)).map_err(db)?.collect::<Result<_, _>>().map_err(db)?;
    bodies(conn, &rids)
}

/// The events of `rids`, in that order.
fn bodies(conn: &Connection, rids: &[i64]) -> StoreResult<Vec<(ChainedEvent, i64)>> {
    let mut st = conn.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.rid = ?1")).map_err(db)?;
    rids.iter().map(|rid| st.query_row([rid], chained).map_err(db)).collect()
}

/// Drops the search index and makes it anew, empty, with `create` (a `CREATE VIRTUAL
/// TABLE events_fts …`), with the merge setting of migration 3. A migration that
/// changed the index would do the same, then [`index_stored`] every event.
#[cfg(feature = "bench")]
pub(crate) fn recreate(conn: &Connection, create: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS events_fts; {create}; INSERT INTO events_fts (events_fts, rank) VALUES ('deletemerge', 0);"
    ))
}

/// Indexes the search text of up to `limit` stored events after rid `after`, taken
/// from their bodies; answers the last rid read, `None` when none was left.
#[cfg(feature = "bench")]
pub(crate) fn index_stored(conn: &Connection, after: i64, limit: i64) -> rusqlite::Result<Option<i64>> {
    let mut read = conn.prepare_cached("SELECT rid, body FROM events WHERE rid > ?1 ORDER BY rid LIMIT ?2")?;
    let mut insert = conn.prepare_cached("INSERT INTO events_fts (rowid, text) VALUES (?1, ?2)")?;
    let mut rows = read.query(params![after, limit])?;
    let mut last = None;
    while let Some(row) = rows.next()? {
        let rid: i64 = row.get(0)?;
        // A body that is not an event was tampered with: it gets no words, and
        // verification reports it.
        let body: String = row.get(1)?;
        if let Ok(event) = serde_json::from_str::<casetrail_core::Event>(&body) {
            insert.execute(params![rid, casetrail_core::query::search_text(&event)])?;
        }
        last = Some(rid);
    }
    Ok(last)
}
