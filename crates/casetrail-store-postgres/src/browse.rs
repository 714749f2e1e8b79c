//! Reading events: the filtered, keyset-paged browse, single events, the chain in
//! seq order, and the filter pickers.

use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::query::{BrowseQuery, Cursor};
use casetrail_core::{RecordType, Timestamp};
use casetrail_store::{ActorSummary, ChainHead, EventId, Page, RecordSummary, StoreError, StoreResult};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::db::{Db, get};
use crate::search::tsquery;

const EVENT_COLUMNS: &str = "e.seq, e.occurred_at, e.body, e.prev_hash, e.hash";

/// Reads the columns of [`EVENT_COLUMNS`], and the event's `occurred_at`.
fn chained(row: &Row) -> StoreResult<(ChainedEvent, i64)> {
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

/// Below this many keyword matches in the account, the search index drives the
/// query: fetching that many events through it and sorting them is cheaper than
/// walking the log newest first until a page of them turns up. At or above it,
/// matches are dense enough that the walk stops early.
const SEARCH_DRIVES_BELOW: i64 = 2_000;

/// What a page's query starts from.
enum Driver {
    /// The events table, newest first through an index on (acct, …, occurred_at, seq).
    Events,
    /// The links of one case or client: their primary key (acct, kind, record_id,
    /// occurred_at, seq) yields that record's events in page order, so a record with
    /// few events never scans the whole log.
    Record(RecordType, String),
    /// The few events of a rare keyword match, found through the GIN index, sorted.
    Keywords,
}

/// Bound parameters of a statement being built; each `add` answers its `$n`.
#[derive(Default)]
struct Args(Vec<Box<dyn ToSql + Sync + Send>>);

impl Args {
    fn add(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect()
    }
}

async fn driver(db: Db<'_>, pk: i64, query: &BrowseQuery, words: Option<&str>) -> StoreResult<Driver> {
    let f = &query.filter;
    if let Some(words) = words {
        let row = db
            .query_one(
                "SELECT count(*) FROM (SELECT 1 FROM events WHERE acct = $1 AND search @@ $2::text::tsquery LIMIT $3) m",
                &[&pk, &words, &SEARCH_DRIVES_BELOW],
            )
            .await?;
        if get::<i64>(&row, 0)? < SEARCH_DRIVES_BELOW {
            return Ok(Driver::Keywords);
        }
    }
    let record = [(RecordType::Case, &f.case), (RecordType::Client, &f.client)]
        .into_iter()
        .find_map(|(kind, id)| id.as_ref().map(|id| Driver::Record(kind, id.clone())));
    Ok(record.unwrap_or(Driver::Events))
}

/// One page of the newest-first browse. Builds one statement from the filters; every
/// user value is a bound parameter.
pub(crate) async fn page(db: Db<'_>, pk: i64, query: &BrowseQuery) -> StoreResult<Page> {
    let f = &query.filter;
    let words = tsquery(&f.words);
    let driver = driver(db, pk, query, words.as_deref()).await?;
    let mut args = Args::default();
    args.add(pk);
    // `o` is the table whose (occurred_at, seq) orders the page.
    let o = if matches!(driver, Driver::Record(..)) { "d" } else { "e" };
    let mut conds = String::new();
    if let Some(from) = f.from {
        conds += &format!(" AND {o}.occurred_at >= {}", args.add(from.as_millis()));
    }
    if let Some(to) = f.to {
        conds += &format!(" AND {o}.occurred_at < {}", args.add(to.as_millis()));
    }
    if !f.actors.is_empty() {
        conds += &format!(" AND e.actor_id = ANY({}::text[])", args.add(f.actors.clone()));
    }
    if !f.activities.is_empty() {
        let keys: Vec<String> = f.activities.iter().map(|a| a.key().to_string()).collect();
        conds += &format!(" AND e.activity = ANY({}::text[])", args.add(keys));
    }
    if let Driver::Record(kind, id) = &driver {
        let k = args.add(kind.key().to_string());
        conds += &format!(" AND d.kind = {k} AND d.record_id = {}", args.add(id.clone()));
    }
    for (kind, id) in [(RecordType::Case, &f.case), (RecordType::Client, &f.client)] {
        if matches!(&driver, Driver::Record(k, _) if *k == kind) {
            continue;
        }
        if let Some(id) = id {
            let k = args.add(kind.key().to_string());
            let p = args.add(id.clone());
            conds += &format!(
                " AND EXISTS (SELECT 1 FROM event_records r WHERE r.acct = e.acct AND r.kind = {k} \
                 AND r.record_id = {p} AND r.occurred_at = e.occurred_at AND r.seq = e.seq)"
            );
        }
    }
    if let Some(c) = query.cursor {
        let t = args.add(c.occurred_at.as_millis());
        let s = args.add(c.seq as i64);
        conds += &format!(" AND ({o}.occurred_at, {o}.seq) < ({t}, {s})");
    }
    let limit = query.limit as usize;
    let sql = match (&driver, words) {
        // Rare words: the matches, materialized through the GIN index (the fence keeps
        // the planner from turning this into an ordered walk that could scan the whole
        // account), filtered, sorted, and only the page's rows read in full.
        (Driver::Keywords, Some(words)) => {
            let q = args.add(words);
            let l = args.add(limit as i64 + 1);
            format!(
                "WITH m AS MATERIALIZED (SELECT e.seq, e.occurred_at FROM events e \
                 WHERE e.acct = $1 AND e.search @@ {q}::text::tsquery{conds}), \
                 p AS (SELECT seq FROM m ORDER BY occurred_at DESC, seq DESC LIMIT {l}) \
                 SELECT {EVENT_COLUMNS} FROM p JOIN events e ON e.acct = $1 AND e.seq = p.seq \
                 ORDER BY e.occurred_at DESC, e.seq DESC"
            )
        }
        (driver, words) => {
            let from = match driver {
                Driver::Record(..) => "event_records d JOIN events e ON e.acct = d.acct AND e.seq = d.seq \
                                       WHERE d.acct = $1 AND e.acct = $1"
                    .to_string(),
                _ => "events e WHERE e.acct = $1".to_string(),
            };
            // Common words: a plain function call is a filter the planner cannot
            // answer from the GIN index, so the newest-first walk stays and stops early.
            if let Some(words) = words {
                conds += &format!(" AND ts_match_vq(e.search, {}::text::tsquery)", args.add(words));
            }
            let l = args.add(limit as i64 + 1);
            format!("SELECT {EVENT_COLUMNS} FROM {from}{conds} ORDER BY {o}.occurred_at DESC, {o}.seq DESC LIMIT {l}")
        }
    };

    let rows = db.query(&sql, &args.refs()).await?;
    let mut events: Vec<(ChainedEvent, i64)> = rows.iter().map(chained).collect::<StoreResult<_>>()?;
    let next_cursor = if events.len() > limit {
        events.truncate(limit);
        events.last().map(|(e, occurred)| Cursor {
            occurred_at: Timestamp::from_millis(*occurred).unwrap_or(Timestamp::EPOCH),
            seq: e.seq,
        })
    } else {
        None
    };
    Ok(Page { events: events.into_iter().map(|(e, _)| e).collect(), next_cursor })
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
