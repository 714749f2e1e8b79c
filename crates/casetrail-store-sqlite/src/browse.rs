//! Reading events: the filtered, keyset-paged browse, single events, the chain in
//! seq order, and the filter pickers.

use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::query::{BrowseQuery, Cursor};
use casetrail_core::{RecordType, Timestamp};
use casetrail_store::EventId;
use casetrail_store::{ActorSummary, ChainHead, Page, RecordSummary, StoreError, StoreResult};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::{db, search};

pub(crate) const EVENT_COLUMNS: &str = "e.seq, e.occurred_at, e.body, e.prev_hash, e.hash";

/// Reads the columns of [`EVENT_COLUMNS`].
pub(crate) fn chained(row: &Row<'_>) -> rusqlite::Result<(ChainedEvent, i64)> {
    let seq: i64 = row.get(0)?;
    let occurred: i64 = row.get(1)?;
    let prev: Vec<u8> = row.get(3)?;
    let hash: Vec<u8> = row.get(4)?;
    let event = ChainedEvent {
        seq: seq as u64,
        body: row.get(2)?,
        // A hash column of the wrong length can only come from tampering; it reads as
        // zeros here and verification reports the mismatch.
        prev_hash: ChainHash::from_slice(&prev).unwrap_or_default(),
        hash: ChainHash::from_slice(&hash).unwrap_or_default(),
    };
    Ok((event, occurred))
}

/// What a page's query starts from.
pub(crate) enum Driver {
    /// The events table, newest first through an index on (acct, …, occurred_at, seq).
    Events,
    /// The links of one case or client: their primary key (acct, kind, record_id,
    /// occurred_at, seq) yields that record's events in page order, so a record with
    /// few events never scans the whole log.
    Record(RecordType, String),
    /// The rowids of a rare keyword match (this FTS5 query, `search::plan`), looked up
    /// and sorted.
    Keywords(String),
}

/// The page's driver, and the FTS5 query of its search words (empty without words).
fn driver(conn: &Connection, query: &BrowseQuery) -> StoreResult<(Driver, String)> {
    let f = &query.filter;
    let mut expr = String::new();
    if !f.words.is_empty() {
        let rare;
        (expr, rare) = search::plan(conn, &f.words, query.limit as usize + 1)?;
        if rare {
            return Ok((Driver::Keywords(expr.clone()), expr));
        }
    }
    let record = [(RecordType::Case, &f.case), (RecordType::Client, &f.client)]
        .into_iter()
        .find_map(|(kind, id)| id.as_ref().map(|id| Driver::Record(kind, id.clone())));
    Ok((record.unwrap_or(Driver::Events), expr))
}

/// How the search words of a page that does not start from the index are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum CommonWords {
    /// Walk the log in page order and keep the events the index matches, reading the
    /// index newest first only as far as the walk has come (`search::walk`).
    Walk,
    /// An `IN` over the whole match set, which SQLite builds before the first row:
    /// the plan before the walk, kept for the benchmark's comparison.
    #[cfg_attr(not(feature = "bench"), allow(dead_code))]
    MatchSet,
}

/// One page of the newest-first browse.
pub(crate) fn page(conn: &Connection, pk: i64, query: &BrowseQuery) -> StoreResult<Page> {
    page_with(conn, pk, query, CommonWords::Walk)
}

pub(crate) fn page_with(conn: &Connection, pk: i64, query: &BrowseQuery, common: CommonWords) -> StoreResult<Page> {
    let (driver, expr) = driver(conn, query)?;
    let want = query.limit as usize + 1;
    let mut rows: Vec<(ChainedEvent, i64)> = if query.filter.words.is_empty() || common == CommonWords::MatchSet {
        let (sql, args) = statement(pk, &driver, query, cursor_key(query), Select::Events, want);
        let mut st = conn.prepare_cached(&sql).map_err(db)?;
        st.query_map(params_from_iter(args), chained).map_err(db)?.collect::<Result<_, _>>().map_err(db)?
    } else if matches!(driver, Driver::Keywords(_)) {
        search::sorted_matches(conn, pk, &driver, query, want)?
    } else {
        search::walk(conn, pk, &driver, query, &expr, want)?
    };
    let next_cursor = if rows.len() > query.limit as usize {
        rows.truncate(query.limit as usize);
        rows.last().map(|(e, occurred)| Cursor {
            occurred_at: Timestamp::from_millis(*occurred).unwrap_or(Timestamp::EPOCH),
            seq: e.seq,
        })
    } else {
        None
    };
    Ok(Page { events: rows.into_iter().map(|(e, _)| e).collect(), next_cursor })
}

/// The query's cursor as (occurred_at, seq).
pub(crate) fn cursor_key(query: &BrowseQuery) -> Option<(i64, i64)> {
    query.cursor.map(|c| (c.occurred_at.as_millis(), c.seq as i64))
}

/// What a page's statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Select {
    /// [`EVENT_COLUMNS`]; search words not driving the page are an `IN` on the whole
    /// match set.
    Events,
    /// `rid, occurred_at, seq` only, for `search.rs`, which applies common words itself
    /// and reads the bodies of the page alone.
    Keys,
}

/// The statement of a page: every filter of `query` but the cursor, which is
/// `cursor` as (occurred_at, seq) (the walk moves it chunk by chunk), at most `limit`
/// rows. Every user value
/// is a bound parameter and search words are quoted prefix terms.
pub(crate) fn statement(
    pk: i64,
    driver: &Driver,
    query: &BrowseQuery,
    cursor: Option<(i64, i64)>,
    select: Select,
    limit: usize,
) -> (String, Vec<Sql>) {
    let f = &query.filter;
    let mut args: Vec<Sql> = vec![Sql::Integer(pk)];
    let arg = |args: &mut Vec<Sql>, v: Sql| {
        args.push(v);
        format!("?{}", args.len())
    };
    // `o` is the table whose (occurred_at, seq) orders the page.
    let o = if matches!(driver, Driver::Record(..)) { "d" } else { "e" };
    let columns = match select {
        Select::Events => EVENT_COLUMNS.to_string(),
        Select::Keys => format!("e.rid, {o}.occurred_at, {o}.seq"),
    };
    let mut sql = match driver {
        Driver::Events => format!("SELECT {columns} FROM events e WHERE e.acct = ?1"),
        Driver::Record(..) => format!(
            "SELECT {columns} FROM event_records d CROSS JOIN events e ON e.acct = d.acct AND e.seq = d.seq \
             WHERE d.acct = ?1 AND e.acct = ?1"
        ),
        // CROSS JOIN pins the order (SQLite never reorders it): the matches outside,
        // each event found by rowid.
        Driver::Keywords(expr) => {
            let p = arg(&mut args, Sql::Text(expr.clone()));
            format!(
                "SELECT {columns} FROM (SELECT rowid AS r FROM events_fts WHERE events_fts MATCH {p}) m \
                 CROSS JOIN events e ON e.rid = m.r WHERE e.acct = ?1"
            )
        }
    };
    if let Some(from) = f.from {
        let p = arg(&mut args, Sql::Integer(from.as_millis()));
        sql += &format!(" AND {o}.occurred_at >= {p}");
    }
    if let Some(to) = f.to {
        let p = arg(&mut args, Sql::Integer(to.as_millis()));
        sql += &format!(" AND {o}.occurred_at < {p}");
    }
    if !f.actors.is_empty() {
        let list: Vec<String> = f.actors.iter().map(|a| arg(&mut args, Sql::Text(a.clone()))).collect();
        sql += &format!(" AND e.actor_id IN ({})", list.join(","));
    }
    if !f.activities.is_empty() {
        let list: Vec<String> = f.activities.iter().map(|a| arg(&mut args, Sql::Text(a.key().to_string()))).collect();
        sql += &format!(" AND e.activity IN ({})", list.join(","));
    }
    if let Driver::Record(kind, id) = driver {
        let k = arg(&mut args, Sql::Text(kind.key().to_string()));
        let p = arg(&mut args, Sql::Text(id.clone()));
        sql += &format!(" AND d.kind = {k} AND d.record_id = {p}");
    }
    for (kind, id) in [(RecordType::Case, &f.case), (RecordType::Client, &f.client)] {
        if matches!(driver, Driver::Record(k, _) if *k == kind) {
            continue;
        }
        if let Some(id) = id {
            let k = arg(&mut args, Sql::Text(kind.key().to_string()));
            let p = arg(&mut args, Sql::Text(id.clone()));
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM event_records r WHERE r.acct = e.acct AND r.kind = {k} \
                 AND r.record_id = {p} AND r.occurred_at = e.occurred_at AND r.seq = e.seq)"
            );
        }
    }
    if !f.words.is_empty() && !matches!(driver, Driver::Keywords(_)) && select == Select::Events {
        let p = arg(&mut args, Sql::Text(search::match_expr(&f.words)));
        // Common words as the plan before the walk applied them (`CommonWords`): the
        // `+` keeps the planner from driving by these rowids (and sorting them all),
        // which fresh statistics would otherwise tempt it to do.
        sql += &format!(" AND +e.rid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH {p})");
    }
    if let Some((occurred_at, seq)) = cursor {
        let t = arg(&mut args, Sql::Integer(occurred_at));
        let s = arg(&mut args, Sql::Integer(seq));
        sql += &format!(" AND ({o}.occurred_at, {o}.seq) < ({t}, {s})");
    }
    let l = arg(&mut args, Sql::Integer(limit as i64));
    sql += &format!(" ORDER BY {o}.occurred_at DESC, {o}.seq DESC LIMIT {l}");
    (sql, args)
}

pub(crate) fn by_id(conn: &Connection, pk: i64, id: EventId) -> StoreResult<Option<ChainedEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = ?1 AND e.acct = ?2");
    conn.prepare_cached(&sql)
        .and_then(|mut st| st.query_row(params![id.as_bytes().as_slice(), pk], chained).optional())
        .map(|row| row.map(|(e, _)| e))
        .map_err(db)
}

pub(crate) fn chain(conn: &Connection, pk: i64, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.acct = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3");
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    st.query_map(params![pk, after_seq as i64, limit], |r| chained(r).map(|(e, _)| e))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
}

pub(crate) fn head(conn: &Connection, pk: i64) -> StoreResult<Option<ChainHead>> {
    let (seq, hash): (i64, Vec<u8>) = conn
        .prepare_cached("SELECT head_seq, head_hash FROM accounts WHERE pk = ?1")
        .and_then(|mut st| st.query_row([pk], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db)?;
    if seq == 0 {
        return Ok(None);
    }
    let hash = ChainHash::from_slice(&hash).ok_or_else(|| StoreError::Corrupt("chain head is not 32 bytes".into()))?;
    Ok(Some(ChainHead { seq: seq as u64, hash }))
}

/// `AND search LIKE '% word%'` for each word; words are letters and digits only, so
/// they hold no LIKE wildcard.
fn word_conditions(words: &[String], args: &mut Vec<Sql>) -> String {
    let mut sql = String::new();
    for w in words {
        args.push(Sql::Text(format!("% {w}%")));
        sql += &format!(" AND search LIKE ?{}", args.len());
    }
    sql
}

/// Best match first: a name whose first word starts with the first query word, then
/// the most recently seen.
fn rank(words: &[String], args: &mut Vec<Sql>) -> String {
    match words.first() {
        Some(w) => {
            args.push(Sql::Text(format!(" {w}%")));
            format!(" ORDER BY (search LIKE ?{}) DESC, last_seen DESC", args.len())
        }
        None => " ORDER BY last_seen DESC".to_string(),
    }
}

pub(crate) fn actors(conn: &Connection, pk: i64, words: &[String], limit: u32) -> StoreResult<Vec<ActorSummary>> {
    let mut args = vec![Sql::Integer(pk)];
    let mut sql = "SELECT actor_id, name, email FROM actors WHERE acct = ?1".to_string();
    sql += &word_conditions(words, &mut args);
    sql += &rank(words, &mut args);
    args.push(Sql::Integer(limit.into()));
    sql += &format!(" LIMIT ?{}", args.len());
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    st.query_map(params_from_iter(args), |r| Ok(ActorSummary { id: r.get(0)?, name: r.get(1)?, email: r.get(2)? }))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
}

pub(crate) fn records(
    conn: &Connection,
    pk: i64,
    kind: Option<RecordType>,
    words: &[String],
    limit: u32,
) -> StoreResult<Vec<RecordSummary>> {
    let mut args = vec![Sql::Integer(pk)];
    let mut sql = "SELECT kind, record_id, name FROM records WHERE acct = ?1".to_string();
    if let Some(kind) = kind {
        args.push(Sql::Text(kind.key().to_string()));
        sql += &format!(" AND kind = ?{}", args.len());
    }
    sql += &word_conditions(words, &mut args);
    sql += &rank(words, &mut args);
    args.push(Sql::Integer(limit.into()));
    sql += &format!(" LIMIT ?{}", args.len());
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    let rows =
        st.query_map(params_from_iter(args), |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))).map_err(db)?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, id, name) = row.map_err(db)?;
        let kind = RecordType::from_key(&kind).ok_or_else(|| StoreError::Corrupt(format!("record type {kind:?}")))?;
        out.push(RecordSummary { kind, id, name });
    }
    Ok(out)
}
