//! The related-records index, `record_events`: one row per record an event relates
//! to (every record type, unlike `event_records`, which holds the case and client
//! filters), with whether the event leads it (its first related record, and it
//! changed something). A record's history is then an index range: its count, its
//! first and last `occurred_at`, and the events it leads, without reading any other
//! event.

use casetrail_core::{Event, RecordType, Timestamp};
use casetrail_store::derived::history_links;
use casetrail_store::{RECENT_EVENTS, RecordEvents, StoreResult, name_in_body};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::browse::{EVENT_COLUMNS, chained};
use crate::db;

/// Indexes an event's related records, inside its append transaction: the rows
/// [`history_links`] derives, which verification expects.
pub(crate) fn link_event(tx: &Transaction<'_>, pk: i64, event: &Event) -> StoreResult<()> {
    let mut st = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO record_events (acct, kind, record_id, occurred_at, seq, leads)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db)?;
    let (occurred, seq) = (event.occurred_at.as_millis(), event.seq as i64);
    for (kind, id, leads) in history_links(event) {
        st.execute(params![pk, kind, id, occurred, seq, leads]).map_err(db)?;
    }
    Ok(())
}

pub(crate) fn record_events(
    conn: &Connection,
    pk: i64,
    kind: RecordType,
    id: &str,
) -> StoreResult<Option<RecordEvents>> {
    let key = params![pk, kind.key(), id];
    let (count, first, last): (i64, Option<i64>, Option<i64>) = conn
        .prepare_cached(
            "SELECT count(*), min(occurred_at), max(occurred_at) FROM record_events
             WHERE acct = ?1 AND kind = ?2 AND record_id = ?3",
        )
        .and_then(|mut st| st.query_row(key, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
        .map_err(db)?;
    let (Some(first), Some(last)) = (first, last) else { return Ok(None) };
    let ts = |ms: i64| Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH);

    let range = "FROM record_events r CROSS JOIN events e ON e.acct = r.acct AND e.seq = r.seq \
                 WHERE r.acct = ?1 AND r.kind = ?2 AND r.record_id = ?3";
    let sql = format!("SELECT {EVENT_COLUMNS} {range} AND r.leads ORDER BY r.occurred_at, r.seq");
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    let led = st.query_map(key, |r| chained(r).map(|(e, _)| e)).map_err(db)?.collect::<Result<Vec<_>, _>>();
    let led = led.map_err(db)?;

    let sql = format!("SELECT {EVENT_COLUMNS} {range} ORDER BY r.occurred_at DESC, r.seq DESC LIMIT {RECENT_EVENTS}");
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    let recent = st.query_map(key, |r| chained(r).map(|(e, _)| e)).map_err(db)?.collect::<Result<Vec<_>, _>>();
    let recent = recent.map_err(db)?;
    let mut name = recent.iter().find_map(|e| name_in_body(&e.body, kind, id));
    if name.is_none() {
        // Named only further back: the picker keeps the newest name it saw.
        let picker = "SELECT name FROM records WHERE acct = ?1 AND kind = ?2 AND record_id = ?3";
        name = conn.query_row(picker, key, |r| r.get(0)).optional().map_err(db)?.flatten();
    }
    Ok(Some(RecordEvents { events: count as u64, first_seen: ts(first), last_seen: ts(last), name, led, recent }))
}
