//! One page of the browse: newest `occurred_at` first, ties by higher `seq`, a keyset
//! cursor `(occurred_at, seq) < (…)`, every filter a bound parameter, case and client
//! filters through `event_records`.
//!
//! Without search words a page is one walk down an index on `(acct, …, occurred_at,
//! seq)` (or down one record's links), stopped by `LIMIT`. With words, the question is
//! how to find matches without reading them all or walking the whole account:
//!
//! 1. **Probe**: walk at most [`PROBE_ROWS`] candidates (rows passing every other
//!    filter) newest first, the words as a filter. A dense word fills the page here
//!    and nothing else runs. Before it, a word the planner expects on only a few
//!    hundred events goes straight to the GIN index (`search_plan::rare_enough`).
//! 2. **Choose** between walking newest first with the words as a filter until the
//!    page is full, and fetching every match of the rarest word through the GIN
//!    index (the other words and filters checked on those rows), sorted: a cost
//!    estimate from the probe's density and the planner's estimate of each word's
//!    matches ([`crate::search_plan`], which also says why nothing is counted).
//!
//! Measured on 1M events of one account (PostgreSQL 15, 128 MB shared buffers): a
//! walk of 10,000 rows with a word as its filter takes 8 ms warm, 20 ms from the OS
//! cache; the probe of 2000 rows a fifth of that; a word on 1 % of events fills its
//! page after ~5,000 rows. A word on 1 in 10,000 costs the probe, one planning per
//! word and a GIN fetch of ~100 rows. Within one case a common word takes 0.6 ms
//! (the probe walks the case's links backwards and stops at 51); a rare one has the
//! probe read all the case's events, and that is the answer.
//!
//! The words are always a plain `ts_match_vq(search, q)` call in the walks, which
//! the planner cannot answer from the GIN index, so the walks stay ordered index scans
//! that stop early; in `Keywords` they are `search @@ q` inside a `MATERIALIZED` CTE,
//! which keeps the planner from turning the sorted fetch back into a walk.

use casetrail_core::RecordType;
use casetrail_core::Timestamp;
use casetrail_core::chain::ChainedEvent;
use casetrail_core::query::{BrowseQuery, Cursor};
use casetrail_store::{Page, StoreResult};
use tokio_postgres::types::ToSql;

use crate::browse::{EVENT_COLUMNS, chained};
use crate::db::Db;
use crate::search::tsquery;
use crate::search_plan::{Choice, choose, estimated_matches, rare_enough};

/// How many candidates the probe walks: a word on 1 in 40 events fills a page of
/// 50 within it. About 5 ms when nothing matches.
const PROBE_ROWS: i64 = 2_000;

/// Bound parameters of a statement being built; each `add` answers its `$n`.
#[derive(Default)]
pub(crate) struct Args(Vec<Box<dyn ToSql + Sync + Send>>);

impl Args {
    pub(crate) fn add(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect()
    }
}

/// One statement of a page's plan (see the module docs).
#[derive(Clone, Copy)]
enum Plan<'w> {
    /// Newest first, with the words (if any) as a filter, until the page is full.
    Walk(Option<&'w str>),
    /// Like `Walk`, over the newest [`PROBE_ROWS`] candidates only.
    Probe(&'w str),
    /// Every match of the `indexed` words through the GIN index, filtered by `all` the
    /// words and the other filters, sorted.
    Keywords { indexed: &'w str, all: &'w str },
}

/// The SQL and parameters of one plan's statement for `query` in account `pk` ($1).
fn statement(pk: i64, query: &BrowseQuery, plan: Plan<'_>) -> (String, Args) {
    let f = &query.filter;
    let mut args = Args::default();
    args.add(pk);
    // A case or client filter drives the walks through that record's links, whose
    // primary key yields its events in page order (a record with few events never
    // walks the whole log); the GIN fetch checks links per match instead.
    let record = match plan {
        Plan::Keywords { .. } => None,
        _ => [(RecordType::Case, &f.case), (RecordType::Client, &f.client)]
            .into_iter()
            .find_map(|(kind, id)| id.as_ref().map(|id| (kind, id.clone()))),
    };
    // `o` is the table whose (occurred_at, seq) orders the page.
    let o = if record.is_some() { "d" } else { "e" };
    let mut conds = String::new();
    if let Some(from) = f.from {
        conds += &format!(" AND {o}.occurred_at >= {}", args.add(from.as_millis()));
    }
    if let Some(to) = f.to {
        conds += &format!(" AND {o}.occurred_at < {}", args.add(to.as_millis()));
    }
    let activities: Vec<String> = f.activities.iter().map(|a| a.key().to_string()).collect();
    for (column, values) in [("actor_id", &f.actors), ("activity", &activities)] {
        // One value is an equality, so the index on (acct, column, occurred_at, seq)
        // yields the page in order; PostgreSQL 15 cannot walk a btree in order for
        // `= ANY(…)`, so several values are a filter (or a bitmap and a sort).
        match values.as_slice() {
            [] => {}
            [one] => conds += &format!(" AND e.{column} = {}", args.add(one.clone())),
            many => conds += &format!(" AND e.{column} = ANY({}::text[])", args.add(many.to_vec())),
        }
    }
    for (kind, id) in [(RecordType::Case, &f.case), (RecordType::Client, &f.client)] {
        let Some(id) = id else { continue };
        let k = args.add(kind.key().to_string());
        let p = args.add(id.clone());
        if record.as_ref().is_some_and(|(driving, _)| *driving == kind) {
            conds += &format!(" AND d.kind = {k} AND d.record_id = {p}");
        } else {
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
    let from = match record {
        Some(_) => {
            "event_records d JOIN events e ON e.acct = d.acct AND e.seq = d.seq WHERE d.acct = $1 AND e.acct = $1"
        }
        None => "events e WHERE e.acct = $1",
    };
    let order = format!(" ORDER BY {o}.occurred_at DESC, {o}.seq DESC");
    let page_rows = i64::from(query.limit) + 1;
    let sql = match plan {
        Plan::Walk(None) => {
            let l = args.add(page_rows);
            format!("SELECT {EVENT_COLUMNS} FROM {from}{conds}{order} LIMIT {l}")
        }
        Plan::Walk(Some(words)) => {
            let l = args.add(page_rows);
            let q = args.add(words.to_string());
            format!(
                "SELECT {EVENT_COLUMNS} FROM {from}{conds} AND ts_match_vq(e.search, {q}::text::tsquery){order} LIMIT {l}"
            )
        }
        // The inner rows keep the order of the table that drives them (`o`), so the
        // outer filter streams them and stops at a full page without a sort.
        Plan::Probe(words) => {
            let l = args.add(page_rows);
            let q = args.add(words.to_string());
            let k = args.add(PROBE_ROWS);
            format!(
                "SELECT w.seq, w.occurred_at, w.body, w.prev_hash, w.hash FROM \
                 (SELECT {o}.seq, {o}.occurred_at, e.body, e.prev_hash, e.hash, e.search \
                 FROM {from}{conds}{order} LIMIT {k}) w \
                 WHERE ts_match_vq(w.search, {q}::text::tsquery) ORDER BY w.occurred_at DESC, w.seq DESC LIMIT {l}"
            )
        }
        Plan::Keywords { indexed, all } => {
            let l = args.add(page_rows);
            let q = args.add(indexed.to_string());
            let rest = if all == indexed {
                String::new()
            } else {
                format!(" AND ts_match_vq(e.search, {}::text::tsquery)", args.add(all.to_string()))
            };
            format!(
                "WITH m AS MATERIALIZED (SELECT e.seq, e.occurred_at FROM {from} \
                 AND e.search @@ {q}::text::tsquery{rest}{conds}), \
                 p AS (SELECT seq FROM m ORDER BY occurred_at DESC, seq DESC LIMIT {l}) \
                 SELECT {EVENT_COLUMNS} FROM p JOIN events e ON e.acct = $1 AND e.seq = p.seq \
                 ORDER BY e.occurred_at DESC, e.seq DESC"
            )
        }
    };
    (sql, args)
}

/// The rows of one plan's statement, with their `occurred_at`. Every statement of a
/// page is planned for its parameters (see [`Db::query_planned`]): the generic plan
/// that a cached statement gets after five runs served a category (several
/// activities), an actor and a week at 20 ms p95 where the plan for the values took
/// 7.6 ms at 1M events, and planning costs about 0.3 ms.
async fn rows(db: Db<'_>, pk: i64, query: &BrowseQuery, plan: Plan<'_>) -> StoreResult<Vec<(ChainedEvent, i64)>> {
    let (sql, args) = statement(pk, query, plan);
    db.query_planned(&sql, &args.refs()).await?.iter().map(chained).collect()
}

/// One page of the newest-first browse (see the module docs for the plans).
pub(crate) async fn page(db: Db<'_>, pk: i64, query: &BrowseQuery) -> StoreResult<Page> {
    let limit = query.limit as usize;
    let Some(words) = tsquery(&query.filter.words) else {
        return Ok(paged(rows(db, pk, query, Plan::Walk(None)).await?, limit));
    };
    // Each word's own tsquery, and the planner's estimate of its matches: a word rare
    // enough goes straight to the index, before any walk.
    let singles: Vec<String> = query.filter.words.iter().filter_map(|w| tsquery(std::slice::from_ref(w))).collect();
    let mut estimates = Vec::with_capacity(singles.len());
    for single in &singles {
        estimates.push(estimated_matches(db, pk, single).await?);
    }
    let rarest = |i: usize| Plan::Keywords { indexed: &singles[i], all: &words };
    if let Some(i) = rare_enough(&estimates) {
        return Ok(paged(rows(db, pk, query, rarest(i)).await?, limit));
    }
    let probed = rows(db, pk, query, Plan::Probe(&words)).await?;
    if probed.len() > limit {
        return Ok(paged(probed, limit));
    }
    let plan = match choose(limit + 1, probed.len(), PROBE_ROWS as usize, &estimates) {
        Choice::Rarest(i) => rarest(i),
        Choice::Walk => Plan::Walk(Some(&words)),
    };
    Ok(paged(rows(db, pk, query, plan).await?, limit))
}

/// The first `limit` rows as a page, with a cursor when there were more.
fn paged(mut events: Vec<(ChainedEvent, i64)>, limit: usize) -> Page {
    let next_cursor = if events.len() > limit {
        events.truncate(limit);
        events.last().map(|(e, occurred)| Cursor {
            occurred_at: Timestamp::from_millis(*occurred).unwrap_or(Timestamp::EPOCH),
            seq: e.seq,
        })
    } else {
        None
    };
    Page { events: events.into_iter().map(|(e, _)| e).collect(), next_cursor }
}
