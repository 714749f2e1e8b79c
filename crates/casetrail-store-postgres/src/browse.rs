//! Reading events: single events, the chain in seq order, and the filter pickers
//! (the browse's pages are `page.rs`).

use casetrail_core::RecordType;
use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_store::{ActorSummary, ChainHead, EventId, RecordSummary, StoreError, StoreResult};
use tokio_postgres::Row;

use crate::db::{Db, get};
use crate::page::Args;

pub(crate) const EVENT_COLUMNS: &str = "e.seq, e.occurred_at, e.body, e.prev_hash, e.hash";

/// Reads the columns of [`EVENT_COLUMNS`], and the event's `occurred_at`.
pub(crate) fn chained(row: &Row) -> StoreResult<(ChainedEvent, i64)> {
    let prev: Vec<u8> = get(row, 3)?;
    let hash: Vec<u8> = get(row, 4)?;
    let event = ChainedEvent {
        seq: get::<i64>(row, 0)? as u64,
        body: get(row, 2)?,
        // A hash column of the wrong length can only come from tampering; it reads as
        // zeros here and verification reports the mismatch.
        prev_hash: ChainHash::from_slice(&prev).unwrap_or_default(),
        hash: ChainHash::from_slice(&hash).unwrap_or_default(),
    };
    Ok((event, get(row, 1)?))
}

pub(crate) async fn by_id(db: Db<'_>, pk: i64, id: EventId) -> StoreResult<Option<ChainedEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.acct = $1 AND e.id = $2");
    let row = db.query_opt(&sql, &[&pk, &id.into_inner()]).await?;
    row.as_ref().map(|r| chained(r).map(|(e, _)| e)).transpose()
}

pub(crate) async fn chain(db: Db<'_>, pk: i64, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.acct = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3");
    let rows = db.query(&sql, &[&pk, &(after_seq as i64), &i64::from(limit)]).await?;
    rows.iter().map(|r| chained(r).map(|(e, _)| e)).collect()
}

pub(crate) async fn head(db: Db<'_>, pk: i64) -> StoreResult<Option<ChainHead>> {
    let row = db.query_one("SELECT head_seq, head_hash FROM accounts WHERE pk = $1", &[&pk]).await?;
    let seq: i64 = get(&row, 0)?;
    if seq == 0 {
        return Ok(None);
    }
    let hash: Vec<u8> = get(&row, 1)?;
    let hash = ChainHash::from_slice(&hash).ok_or_else(|| StoreError::Corrupt("chain head is not 32 bytes".into()))?;
    Ok(Some(ChainHead { seq: seq as u64, hash }))
}

/// `AND search LIKE '% word%'` for each word, then the ranking: a name whose first
/// word starts with the first query word, then the most recently seen. Words are
/// letters and digits only, so they hold no LIKE wildcard.
fn narrow_and_rank(words: &[String], args: &mut Args, tiebreak: &str) -> String {
    let mut sql = String::new();
    for w in words {
        sql += &format!(" AND search LIKE {}", args.add(format!("% {w}%")));
    }
    match words.first() {
        Some(w) => {
            let p = args.add(format!(" {w}%"));
            sql += &format!(" ORDER BY (search LIKE {p}) DESC, last_seen DESC, {tiebreak}");
        }
        None => sql += &format!(" ORDER BY last_seen DESC, {tiebreak}"),
    }
    sql
}

pub(crate) async fn actors(db: Db<'_>, pk: i64, words: &[String], limit: u32) -> StoreResult<Vec<ActorSummary>> {
    let mut args = Args::default();
    let mut sql = format!("SELECT actor_id, name, email FROM actors WHERE acct = {}", args.add(pk));
    sql += &narrow_and_rank(words, &mut args, "actor_id COLLATE \"C\"");
    sql += &format!(" LIMIT {}", args.add(i64::from(limit)));
    let rows = db.query(&sql, &args.refs()).await?;
    rows.iter().map(|r| Ok(ActorSummary { id: get(r, 0)?, name: get(r, 1)?, email: get(r, 2)? })).collect()
}

pub(crate) async fn records(
    db: Db<'_>,
    pk: i64,
    kind: Option<RecordType>,
    words: &[String],
    limit: u32,
) -> StoreResult<Vec<RecordSummary>> {
    let mut args = Args::default();
    let mut sql = format!("SELECT kind, record_id, name FROM records WHERE acct = {}", args.add(pk));
    if let Some(kind) = kind {
        sql += &format!(" AND kind = {}", args.add(kind.key().to_string()));
    }
    sql += &narrow_and_rank(words, &mut args, "kind COLLATE \"C\", record_id COLLATE \"C\"");
    sql += &format!(" LIMIT {}", args.add(i64::from(limit)));
    let rows = db.query(&sql, &args.refs()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind: String = get(r, 0)?;
        let kind = RecordType::from_key(&kind).ok_or_else(|| StoreError::Corrupt(format!("record type {kind:?}")))?;
        out.push(RecordSummary { kind, id: get(r, 1)?, name: get(r, 2)? });
    }
    Ok(out)
}
