//! Holds and purging: events past their category's retention window go, held ones
//! stay, and each run of purged seqs leaves one signed tombstone.

use casetrail_core::activity::Category;
use casetrail_core::chain::ChainHash;
use casetrail_core::integrity::{ChainKey, PurgedRun, Tombstone};
use casetrail_core::{RecordType, Timestamp};
use casetrail_store::AccountId;
use casetrail_store::{Hold, PurgeBatch, PurgeCutoffs, PurgePreview, StoreError, StoreResult};
use rusqlite::{Connection, ErrorCode, Transaction, params};

use crate::{db, integrity};

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH)
}

pub(crate) fn holds(conn: &Connection, pk: i64, account: AccountId) -> StoreResult<Vec<Hold>> {
    let mut st = conn
        .prepare_cached(
            "SELECT kind, record_id, reason, created_by, created_at FROM holds WHERE acct = ?1 ORDER BY created_at, kind, record_id",
        )
        .map_err(db)?;
    let rows =
        st.query_map([pk], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))).map_err(db)?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, id, reason, created_by, at) = row.map_err(db)?;
        let kind = RecordType::from_key(&kind).ok_or_else(|| StoreError::Corrupt(format!("hold on {kind:?}")))?;
        out.push(Hold { account_id: account, kind, id, reason, created_by, created_at: ts(at) });
    }
    Ok(out)
}

pub(crate) fn add_hold(conn: &Connection, pk: i64, h: &Hold) -> StoreResult<()> {
    let result = conn.execute(
        "INSERT INTO holds (acct, kind, record_id, reason, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![pk, h.kind.key(), h.id, h.reason, h.created_by, h.created_at.as_millis()],
    );
    match result {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            Err(StoreError::Conflict(casetrail_store::ConflictCode::HoldExists))
        }
        other => other.map(|_| ()).map_err(db),
    }
}

pub(crate) fn remove_hold(
    conn: &Connection,
    pk: i64,
    account: AccountId,
    kind: RecordType,
    id: &str,
) -> StoreResult<Option<Hold>> {
    let found = holds(conn, pk, account)?.into_iter().find(|h| h.kind == kind && h.id == id);
    if found.is_some() {
        conn.execute("DELETE FROM holds WHERE acct = ?1 AND kind = ?2 AND record_id = ?3", params![pk, kind.key(), id])
            .map_err(db)?;
    }
    Ok(found)
}

/// What no hold keeps (`?1` the account): nothing at all while the account has its
/// legal hold, else nothing related to a held case or client. Both are read by the
/// statement itself, so each purge batch sees the holds as of its own transaction,
/// and a hold placed in the middle of a long purge stops the batches after it. The
/// held set is an uncorrelated subquery, materialized once per statement.
const NOT_HELD: &str = "NOT (SELECT a.legal_hold FROM accounts a WHERE a.pk = ?1)
    AND e.seq NOT IN (
    SELECT r.seq FROM holds h JOIN event_records r ON r.acct = h.acct AND r.kind = h.kind AND r.record_id = h.record_id
    WHERE h.acct = ?1)";

/// Events older than the cutoff (`?2`) that no hold keeps, whatever their activity:
/// the time index walks them oldest first.
fn purgeable() -> String {
    format!("FROM events e WHERE e.acct = ?1 AND e.occurred_at < ?2 AND {NOT_HELD}")
}

/// The same for one activity type (`?3`): the activity index holds its events in
/// time order, so a category's purge reads only that category's old events.
fn purgeable_activity() -> String {
    format!("FROM events e WHERE e.acct = ?1 AND e.activity = ?3 AND e.occurred_at < ?2 AND {NOT_HELD}")
}

/// What a purge with `cutoff` would remove, of one category's events or of all.
pub(crate) fn preview(
    conn: &Connection,
    pk: i64,
    category: Option<&'static Category>,
    cutoff: Timestamp,
) -> StoreResult<PurgePreview> {
    let aggregate = "SELECT count(*), min(e.occurred_at), max(e.occurred_at)";
    let Some(category) = category else {
        let sql = format!("{aggregate} {}", purgeable());
        let row = conn.query_row(&sql, params![pk, cutoff.as_millis()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
        let (n, oldest, newest): (i64, Option<i64>, Option<i64>) = row.map_err(db)?;
        return Ok(PurgePreview { events: n as u64, oldest: oldest.map(ts), newest: newest.map(ts) });
    };
    // One index range per activity type of the category.
    let mut st = conn.prepare_cached(&format!("{aggregate} {}", purgeable_activity())).map_err(db)?;
    let mut out = PurgePreview::default();
    for kind in category.types {
        let row = st.query_row(params![pk, cutoff.as_millis(), kind.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
        let (n, oldest, newest): (i64, Option<i64>, Option<i64>) = row.map_err(db)?;
        out.events += n as u64;
        out.oldest = out.oldest.into_iter().chain(oldest.map(ts)).min();
        out.newest = out.newest.into_iter().chain(newest.map(ts)).max();
    }
    Ok(out)
}

struct Doomed {
    rid: i64,
    seq: u64,
    occurred_at: i64,
    body: String,
    prev_hash: ChainHash,
    hash: ChainHash,
}

const DOOMED_COLUMNS: &str = "e.rid, e.seq, e.occurred_at, e.body, e.prev_hash, e.hash";

fn doomed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Doomed> {
    Ok(Doomed {
        rid: r.get(0)?,
        seq: r.get::<_, i64>(1)? as u64,
        occurred_at: r.get(2)?,
        body: r.get(3)?,
        prev_hash: ChainHash::from_slice(&r.get::<_, Vec<u8>>(4)?).unwrap_or_default(),
        hash: ChainHash::from_slice(&r.get::<_, Vec<u8>>(5)?).unwrap_or_default(),
    })
}

/// The oldest `max` events the run may remove. With one cutoff for every category
/// the time index walks the log; otherwise each activity type's own range gives its
/// oldest `max` (index-only: acct, activity, occurred_at, seq and the rowid), and the
/// oldest `max` of them all go, so a batch is still the oldest purgeable events.
fn doomed(tx: &Transaction<'_>, pk: i64, cutoffs: &PurgeCutoffs, max: u32) -> StoreResult<Vec<Doomed>> {
    if let Some(cutoff) = cutoffs.uniform_cutoff() {
        let Some(cutoff) = cutoff else { return Ok(Vec::new()) };
        let sql = format!("SELECT {DOOMED_COLUMNS} {} ORDER BY e.occurred_at, e.seq LIMIT ?3", purgeable());
        let mut st = tx.prepare_cached(&sql).map_err(db)?;
        let rows = st.query_map(params![pk, cutoff.as_millis(), max], doomed_row).map_err(db)?;
        return rows.collect::<Result<_, _>>().map_err(db);
    }
    let sql =
        format!("SELECT e.occurred_at, e.seq, e.rid {} ORDER BY e.occurred_at, e.seq LIMIT ?4", purgeable_activity());
    let mut st = tx.prepare_cached(&sql).map_err(db)?;
    let mut oldest: Vec<(i64, i64, i64)> = Vec::new();
    for (activity, cutoff) in cutoffs.activity_cutoffs() {
        let rows = st
            .query_map(params![pk, cutoff.as_millis(), activity, max], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db)?;
        for row in rows {
            oldest.push(row.map_err(db)?);
        }
    }
    oldest.sort_unstable();
    oldest.truncate(max as usize);
    let mut st = tx.prepare_cached(&format!("SELECT {DOOMED_COLUMNS} FROM events e WHERE e.rid = ?1")).map_err(db)?;
    oldest.iter().map(|(_, _, rid)| st.query_row([rid], doomed_row).map_err(db)).collect()
}

/// One purge batch inside `tx`.
pub(crate) fn purge(
    tx: &Transaction<'_>,
    pk: i64,
    account: AccountId,
    cutoffs: &PurgeCutoffs,
    max: u32,
    key: &ChainKey,
) -> StoreResult<PurgeBatch> {
    let mut doomed = doomed(tx, pk, cutoffs, max)?;
    if doomed.is_empty() {
        return Ok(PurgeBatch::default());
    }
    doomed.sort_by_key(|d| d.seq);
    for d in &doomed {
        delete_event(tx, pk, d)?;
    }
    let now = Timestamp::now();
    let mut start = 0;
    while start < doomed.len() {
        let mut end = start;
        while end + 1 < doomed.len() && doomed[end + 1].seq == doomed[end].seq + 1 {
            end += 1;
        }
        record_run(tx, pk, account, &doomed[start], &doomed[end], now, key)?;
        start = end + 1;
    }
    Ok(PurgeBatch {
        purged: doomed.len() as u64,
        first_seq: doomed.first().map(|d| d.seq),
        last_seq: doomed.last().map(|d| d.seq),
        behind: None,
    })
}

fn delete_event(tx: &Transaction<'_>, pk: i64, d: &Doomed) -> StoreResult<()> {
    // The case/client links are keyed by record, so the body says which to remove.
    #[derive(serde::Deserialize)]
    struct Links {
        related: Vec<casetrail_core::Related>,
    }
    let links: Links =
        serde_json::from_str(&d.body).map_err(|e| StoreError::Corrupt(format!("event seq {}: {e}", d.seq)))?;
    let mut st = tx
        .prepare_cached(
            "DELETE FROM event_records WHERE acct = ?1 AND kind = ?2 AND record_id = ?3 AND occurred_at = ?4 AND seq = ?5",
        )
        .map_err(db)?;
    for r in links.related.iter().filter(|r| matches!(r.kind, RecordType::Case | RecordType::Client)) {
        st.execute(params![pk, r.kind.key(), r.id, d.occurred_at, d.seq as i64]).map_err(db)?;
    }
    // The related-records index by its primary key too: deleting by `(acct, seq)`
    // through its secondary index made a purge of 20,000 events take 12 s instead
    // of 3.3 s (measured; release build, this machine).
    let mut st = tx
        .prepare_cached(
            "DELETE FROM record_events WHERE acct = ?1 AND kind = ?2 AND record_id = ?3 AND occurred_at = ?4 AND seq = ?5",
        )
        .map_err(db)?;
    for r in &links.related {
        st.execute(params![pk, r.kind.key(), r.id, d.occurred_at, d.seq as i64]).map_err(db)?;
    }
    tx.prepare_cached("DELETE FROM events_fts WHERE rowid = ?1").and_then(|mut s| s.execute([d.rid])).map_err(db)?;
    tx.prepare_cached("DELETE FROM events WHERE rid = ?1").and_then(|mut s| s.execute([d.rid])).map_err(db)?;
    Ok(())
}

/// Writes the tombstone for the run `first..=last`, merged by core's rule with the
/// stored tombstones it touches, so consecutive purges keep one row per gap.
fn record_run(
    tx: &Transaction<'_>,
    pk: i64,
    account: AccountId,
    first: &Doomed,
    last: &Doomed,
    now: Timestamp,
    key: &ChainKey,
) -> StoreResult<()> {
    let run =
        PurgedRun { first_seq: first.seq, last_seq: last.seq, first_prev_hash: first.prev_hash, last_hash: last.hash };
    let before = if first.seq > 1 { integrity::tombstone_ending_at(tx, pk, account, first.seq - 1)? } else { None };
    let after = integrity::tombstone_starting_at(tx, pk, account, last.seq + 1)?;
    let merged = Tombstone::merge_run(key, account, before.as_ref(), &run, after.as_ref(), now);
    integrity::replace_tombstones(tx, pk, &merged.replaces, &merged.tombstone)
}

/// Pages given back per chunk (1 MiB): each chunk is a transaction of its own that
/// moves pages and syncs, and ingest waits behind it; at 2000 pages the benchmark saw
/// ingest stalls of several hundred milliseconds after a large purge.
const RECLAIM_CHUNK_PAGES: i64 = 256;

/// Gives free pages back a chunk at a time; `true` while more remain.
pub(crate) fn reclaim_chunk(conn: &Connection) -> StoreResult<bool> {
    let free: i64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0)).map_err(db)?;
    if free == 0 {
        return Ok(false);
    }
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({RECLAIM_CHUNK_PAGES})")).map_err(db)?;
    Ok(free > RECLAIM_CHUNK_PAGES)
}
