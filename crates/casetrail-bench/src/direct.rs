//! `--build-direct`: a run too large to send every event through HTTP (10M events
//! would take hours and hold gigabytes of request bodies in memory).
//!
//! The store is built through `Store::append` in transactions of [`TX_EVENTS`] events,
//! generated and parsed on a thread of their own while the previous transaction
//! commits, and never held all at once. Only the newest [`TAIL_MAX`] events (at most a
//! tenth) are kept as request bodies: HTTP batch ingest is then measured on a store
//! that already holds everything else, which is the figure the goals ask for ("at N
//! stored"), not an average over its growth.
//!
//! The raw engine gets a copy of the product's database file once the build is done
//! ([`RawDb::copy_of`]): it ingests the same tail into the same b-trees, and runs its
//! queries, chain walk and exports at the same size. Everything after that is the usual
//! HTTP phase on the product's file ([`server::http_phase`]).

use std::sync::Arc;

use casetrail_core::Timestamp;
use casetrail_core::validate::{IngestRules, NewEvent, parse_ingest};
use casetrail_store::{AppendBatch, EventStore, Store};
use casetrail_store_sqlite::SqliteStore;
use serde_json::{Value, json};

use crate::child::ServerDir;
use crate::data::Dataset;
use crate::ingest::{self, Body, IngestResult, Meter};
use crate::machine::Phases;
use crate::queries;
use crate::raw::RawDb;
use crate::server::{self, HttpInput};
use crate::sqlite_run::{self, SqliteFigures};
use crate::{report, storage};

/// Events per transaction of the build: ten requests' worth, as a busy writer's group
/// commit would hold.
pub const TX_EVENTS: usize = 10_000;
/// Events kept for HTTP ingest at the end.
pub const TAIL_MAX: usize = 100_000;
/// The parse thread's lead over the writer, in transactions.
const AHEAD: usize = 4;

/// Builds the store, runs the raw engine on a copy, then the HTTP phase.
pub async fn run(
    data: &Dataset,
    mut input: HttpInput<'_>,
    tmp: &std::path::Path,
    phases: &mut Phases,
) -> anyhow::Result<SqliteFigures> {
    let tail = (data.count / 10).clamp(1, TAIL_MAX);
    let dir = ServerDir::create(tmp)?;
    let store = Arc::new(SqliteStore::open(dir.db())?);
    let firm = server::provision(store.as_ref(), data).await?;

    let watch = phases.begin();
    let (build, tail_bodies) = build(&store, firm.account.id, data, data.count - tail).await?;
    phases.end("direct build", watch);
    eprintln!("  built {} events at {} events/s", build.events, report::int(build.eps()));
    // Every connection closed, so the file alone is the whole database.
    drop(store);

    let watch = phases.begin();
    let mut raw = RawDb::copy_of(tmp, &dir.db(), firm.account.id)?;
    let raw_batch = ingest::raw(&mut raw, &tail_bodies)?;
    let analyze = raw.analyze()?;
    let raw_queries = queries::run(&mut queries::Raw(raw.reader()?), input.plan).await?;
    let raw_rest = sqlite_run::raw_rest(&mut raw, data, &input)?;
    drop(raw);
    phases.end("raw engine at N", watch);

    input.batches = tail_bodies;
    input.preloaded = build.events as u64;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.db())?);
    let mut http = server::http_phase(data, input, &dir, store, firm, phases).await?;
    let path = dir.db();
    http.stats_fresh = server::has_statistics(&path);
    http.storage = storage::read(&path)?;
    http.db_size = http.storage.file_bytes;
    let built = build.events;
    Ok(SqliteFigures {
        store: (
            format!(
                "Store::append, transactions of {TX_EVENTS} (the build, 0 to {} stored)",
                report::int(built as f64)
            ),
            build,
            None,
        ),
        raw_batch,
        raw_no_stats: Vec::new(),
        raw_queries,
        raw_rest,
        analyze,
        http,
        notes: vec![format!(
            "Built directly (`--build-direct`): {} events through `Store::append` in transactions of {TX_EVENTS}, \
             then the newest {} through HTTP at {} stored; the raw engine ran on a copy of the built file, \
             ingesting the same {} at the same size, and its queries only after `ANALYZE`.",
            report::int(built as f64),
            report::int(tail as f64),
            report::int(built as f64),
            report::int(tail as f64),
        )],
    })
}

/// Appends the first `count` events of the run in transactions of [`TX_EVENTS`];
/// answers the build's figures and the rest of the events as request bodies of 1000.
async fn build(
    store: &SqliteStore,
    account: casetrail_core::AccountId,
    data: &Dataset,
    count: usize,
) -> anyhow::Result<(IngestResult, Vec<Body>)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<anyhow::Result<Vec<NewEvent>>>(AHEAD);
    let events = data.events();
    let producer = std::thread::spawn(move || parse_ahead(events, count, tx));
    let mut meter = Meter::default();
    let mut done = 0usize;
    while let Some(events) = rx.recv().await {
        let events = events?;
        let n = events.len();
        let started = std::time::Instant::now();
        // One batch per request of 1000, all in one transaction, as a group commit.
        let mut batches = Vec::with_capacity(n / 1000 + 1);
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            batches.push(AppendBatch { account_id: account, events: events.by_ref().take(1000).collect() });
        }
        store.append(batches).await?;
        meter.add(started.elapsed(), n);
        done += n;
        if done % 1_000_000 < n {
            eprintln!("  built {done} events");
        }
    }
    let tail = producer.join().map_err(|_| anyhow::anyhow!("the parse thread panicked"))??;
    Ok((meter.finish(), tail))
}

/// The parse thread: `count` events parsed into transactions for the writer, then the
/// rest serialized as request bodies.
fn parse_ahead(
    mut events: impl Iterator<Item = Value>,
    count: usize,
    tx: tokio::sync::mpsc::Sender<anyhow::Result<Vec<NewEvent>>>,
) -> anyhow::Result<Vec<Body>> {
    let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
    let mut left = count;
    while left > 0 {
        let mut parsed = Vec::with_capacity(TX_EVENTS.min(left));
        while parsed.len() < TX_EVENTS.min(left) {
            let chunk: Vec<Value> = events.by_ref().take(1000.min(TX_EVENTS.min(left) - parsed.len())).collect();
            anyhow::ensure!(!chunk.is_empty(), "the generator ran out before {count} events");
            let batch = parse_ingest(&json!({ "events": chunk }), &rules)
                .map_err(|e| anyhow::anyhow!("the generator made an invalid event: {e:?}"));
            match batch {
                Ok(batch) => parsed.extend(batch),
                Err(e) => {
                    let _ = tx.blocking_send(Err(anyhow::anyhow!("{e}")));
                    return Err(e);
                }
            }
        }
        left -= parsed.len();
        if tx.blocking_send(Ok(parsed)).is_err() {
            anyhow::bail!("the writer stopped");
        }
    }
    drop(tx);
    ingest::bodies(events, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_gets_exactly_its_events_in_transactions_and_the_rest_are_request_bodies() {
        let data = Dataset::new(7, 12_345, Timestamp::now());
        let (tx, mut rx) = tokio::sync::mpsc::channel(AHEAD);
        let events = data.events();
        let producer = std::thread::spawn(move || parse_ahead(events, 11_000, tx));
        let mut sizes = Vec::new();
        while let Some(chunk) = rx.blocking_recv() {
            sizes.push(chunk.expect("the generator's events parse").len());
        }
        let tail = producer.join().unwrap().unwrap();
        assert_eq!(sizes, vec![TX_EVENTS, 1_000]);
        let tail_sizes: Vec<usize> = tail.iter().map(|b| b.events).collect();
        assert_eq!(tail_sizes, vec![1_000, 345]);
        let first: Value = serde_json::from_slice(&tail[0].bytes).unwrap();
        assert_eq!(first["events"].as_array().map(Vec::len), Some(1_000));
    }
}
