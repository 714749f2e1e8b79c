//! `--soak-secs N`: a bounded soak of the real server child on a fresh store (SQLite,
//! or a throwaway PostgreSQL schema with `--database-url`), the demo firm provisioned
//! and seeded with `--events` events through HTTP batch ingest; then for N seconds, at
//! once:
//!
//! - [`INGEST_CLIENTS`] clients ingest batches of [`INGEST_BATCH`], paced to
//!   `--soak-rate` events/s in all (0: back to back);
//! - [`BROWSE_CLIENTS`] clients cycle through the query plan's browse/filter/search
//!   requests;
//! - an export of every event every [`EXPORT_EVERY`], CSV and XLSX in turn, streamed
//!   and counted;
//! - every [`PURGE_EVERY`] (at mid-run for soaks shorter than two of them), old
//!   events appended through the bench's own store handle (ingest refuses them) and
//!   `POST /api/v1/retention/run`, which must purge exactly those;
//! - the child's `VmRSS` read every [`RSS_EVERY`].
//!
//! With `--soak-steady` the store keeps its size: the ingest clients' events are dated
//! [`AGING_MARGIN`] inside the 90-day retention window when their batch is made, so
//! each falls out of the window a minute after it is stored, and the purge runs every
//! [`STEADY_PURGE_EVERY`], removing them with the old events. Growth with time is then
//! told apart from growth with the data.
//!
//! Any other status or error is counted (the soak goes on) and fails the run at the
//! end, as does a chain that no longer verifies. The report is [`crate::soak_report`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casetrail_core::Timestamp;
use casetrail_export::Format;
use casetrail_store::{AccountId, Store};
use casetrail_store_sqlite::SqliteStore;
use serde_json::Value;

use crate::child::ServerDir;
use crate::data::Dataset;
use crate::ingest::{self, Body};
use crate::queries::{Http, Pager as _, Plan};
use crate::server::{self, BATCH_CLIENTS};
use crate::soak_report::SoakFigures;
use crate::stats::Samples;

pub const INGEST_CLIENTS: usize = 2;
pub const INGEST_BATCH: usize = 100;
pub const BROWSE_CLIENTS: usize = 2;
pub const EXPORT_EVERY: Duration = Duration::from_secs(30);
pub const PURGE_EVERY: Duration = Duration::from_secs(120);
pub const RSS_EVERY: Duration = Duration::from_secs(5);
pub const STEADY_PURGE_EVERY: Duration = Duration::from_secs(30);
/// How far inside the retention window a steady soak dates its ingested events as
/// they are sent: more than a request may take on a loaded machine, so that ingest
/// never refuses one as too old.
pub const AGING_MARGIN: Duration = Duration::from_secs(60);
/// The retention of the provisioned firm (the default), which the purge follows.
pub const RETENTION_DAYS: i64 = 90;
/// Error messages kept for the report; all of them are counted.
const KEPT_ERRORS: usize = 20;
/// After a failed request a client waits this long, so that a dead server does not
/// turn the soak into a busy loop of errors.
const ERROR_PAUSE: Duration = Duration::from_millis(200);

/// What the soak is asked to do.
#[derive(Debug)]
pub struct SoakInput<'a> {
    pub secs: u64,
    /// Events/s of the ingest clients in all; 0 sends back to back.
    pub rate: u64,
    pub seed_batches: Vec<Body>,
    pub plan: &'a Plan,
    /// Old events appended before each purge.
    pub old_per_purge: usize,
    /// Ingested events age out and are purged: the store keeps its size.
    pub steady: bool,
}

/// What the concurrent tasks share: latencies by kind, errors, counts.
#[derive(Debug, Default)]
struct Shared {
    samples: Mutex<BTreeMap<String, Samples>>,
    errors: Mutex<Vec<String>>,
    error_count: AtomicUsize,
    ingested: AtomicUsize,
    /// (format, rows, bytes) of each export.
    exports: Mutex<Vec<(Format, u64, u64)>>,
    purged: Mutex<Vec<u64>>,
    /// Old events appended so far, for the store's size after each purge.
    appended: AtomicUsize,
    /// The events stored after each purge: seeded + ingested + appended − purged
    /// (casetrail's own records of exports and purges aside).
    resident: Mutex<Vec<u64>>,
}

impl Shared {
    fn time(&self, kind: &str, took: Duration) {
        let mut all = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(kind.to_string()).or_default().push(took);
    }

    /// Counts an error; answers after a pause, for the caller to go on.
    async fn fail(&self, what: &str, error: anyhow::Error) {
        let n = self.error_count.fetch_add(1, Ordering::Relaxed) + 1;
        eprintln!("  soak error {n}: {what}: {error:#}");
        {
            let mut kept = self.errors.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() < KEPT_ERRORS {
                kept.push(format!("{what}: {error:#}"));
            }
        }
        tokio::time::sleep(ERROR_PAUSE).await;
    }
}

fn take<T: Default>(m: &Mutex<T>) -> T {
    std::mem::take(&mut *m.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Runs the soak on SQLite (`database_url` `None`) or PostgreSQL.
pub async fn run(
    data: &Dataset,
    input: SoakInput<'_>,
    database_url: Option<&str>,
    tmp: &Path,
) -> anyhow::Result<SoakFigures> {
    match database_url {
        None => {
            let dir = ServerDir::create(tmp)?;
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.db())?);
            soak(data, input, &dir, store).await
        }
        Some(url) => {
            let product = casetrail_store_postgres::PostgresStore::open_temporary(url).await?;
            let dir = ServerDir::postgres(tmp, "soak", product.url())?;
            let store: Arc<dyn Store> = Arc::new(product.clone());
            let out = soak(data, input, &dir, store).await;
            // The schema is dropped with the last handle, after the child has stopped.
            drop(product);
            out
        }
    }
}

async fn soak(
    data: &Dataset,
    input: SoakInput<'_>,
    dir: &ServerDir,
    store: Arc<dyn Store>,
) -> anyhow::Result<SoakFigures> {
    let firm = server::provision(store.as_ref(), data).await?;
    let client = server::http_client()?;
    let server = server::start(dir, None)?;
    let seeded = ingest::http(&client, &server.base, &firm.ingest_key, input.seed_batches, BATCH_CLIENTS).await?;
    eprintln!("  soak: seeded {} events; soaking for {} s", seeded.events, input.secs);

    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(input.secs);
    let mut tasks = tokio::task::JoinSet::new();

    let (bodies, producer) = body_stream(data, input.rate, input.secs, input.steady);
    let pause =
        (input.rate > 0).then(|| Duration::from_secs_f64((INGEST_BATCH * INGEST_CLIENTS) as f64 / input.rate as f64));
    for _ in 0..INGEST_CLIENTS {
        let url = format!("{}/api/v1/events", server.base);
        let (client, key, shared, bodies) = (client.clone(), firm.ingest_key.clone(), shared.clone(), bodies.clone());
        tasks.spawn(ingest_client(client, url, key, bodies, (pause, deadline, input.steady), shared));
    }
    for i in 0..BROWSE_CLIENTS {
        let http = Http { client: client.clone(), base: server.base.clone(), key: firm.admin_key.clone() };
        tasks.spawn(browse_client(http, input.plan.clone(), i, deadline, shared.clone()));
    }
    let min_rows = seeded.events as u64;
    let (base, admin) = (server.base.clone(), firm.admin_key.clone());
    tasks.spawn(export_loop(
        client.clone(),
        base.clone(),
        admin.clone(),
        min_rows,
        (input.secs, deadline),
        shared.clone(),
    ));
    let purges = Purges {
        store: store.clone(),
        account: firm.account.id,
        data: data.clone(),
        old: input.old_per_purge,
        steady: input.steady,
        seeded: seeded.events,
    };
    let every = purge_every(input.secs, input.steady);
    tasks.spawn(purge_loop(client.clone(), base.clone(), admin.clone(), purges, every, deadline, shared.clone()));

    // The sampler runs here: it alone holds the child.
    let mut rss = Vec::new();
    loop {
        match server.memory() {
            Ok(m) => rss.push((started.elapsed().as_secs_f64(), m.rss)),
            Err(e) => shared.fail("reading the server's memory", e).await,
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep(RSS_EVERY.min(deadline - now)).await;
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            shared.fail("a soak task", e.into()).await;
        }
    }
    let took = started.elapsed();
    drop(bodies);
    let _ = producer.join();

    let verified = match crate::verify::get_integrity(&client, &base, &admin, "").await {
        Ok((_, checked)) => Some(checked),
        Err(e) => {
            shared.fail("the chain after the soak", e).await;
            None
        }
    };
    server::stop(server)?;
    drop(store);
    Ok(SoakFigures {
        // The memory verdict's windows are the sampling's, which ends at the deadline;
        // requests still in flight then (a long purge) only lengthen the run.
        secs: input.secs as f64,
        took: took.as_secs_f64(),
        seeded: seeded.events,
        ingested: shared.ingested.load(Ordering::Relaxed),
        rate: input.rate,
        samples: take(&shared.samples),
        exports: take(&shared.exports),
        purged: take(&shared.purged),
        resident: take(&shared.resident),
        steady: input.steady,
        old_per_purge: input.old_per_purge,
        errors: shared.error_count.load(Ordering::Relaxed),
        error_messages: take(&shared.errors),
        rss,
        verified,
    })
}

/// How often a soak of `secs` purges: every [`PURGE_EVERY`] ([`STEADY_PURGE_EVERY`]
/// when steady), or at mid-run when it is shorter than two of them.
pub fn purge_every(secs: u64, steady: bool) -> Duration {
    let every = if steady { STEADY_PURGE_EVERY } else { PURGE_EVERY };
    if secs >= 2 * every.as_secs() { every } else { Duration::from_secs((secs / 2).max(1)) }
}

/// How often a soak of `secs` exports: every [`EXPORT_EVERY`], or four times in all
/// when it is shorter than four of them (both formats at least twice).
pub fn export_every(secs: u64) -> Duration {
    if secs >= 4 * EXPORT_EVERY.as_secs() { EXPORT_EVERY } else { Duration::from_secs((secs / 5).max(1)) }
}

type Bodies = Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Body>>>;

/// Fresh batches from a generator thread that stays ahead of the clients (the
/// generator's events of seed + 5, enough for the soak at its rate); when `steady`,
/// each dated as it is made by [`aging`].
fn body_stream(data: &Dataset, rate: u64, secs: u64, steady: bool) -> (Bodies, std::thread::JoinHandle<()>) {
    let count = if rate > 0 { (rate * secs) as usize + 100_000 } else { 50_000_000 };
    let generated = data.events_of(data.seed.wrapping_add(5), count);
    let (rx, producer) = if steady {
        ingest::batch_stream(generated.map(aging), INGEST_BATCH)
    } else {
        ingest::batch_stream(generated, INGEST_BATCH)
    };
    (Arc::new(tokio::sync::Mutex::new(rx)), producer)
}

/// What a steady soak's events carry as `occurred_at` until their batch is sent: as
/// long as every timestamp the API writes, so that [`date_now`] replaces it in place.
const UNDATED: &str = "1999-01-01T00:00:00.000Z";

/// Marks `event` to be dated when it is sent (a batch may wait in the channel for
/// longer than the margin when the server is slow).
fn aging(mut event: Value) -> Value {
    event["occurred_at"] = Value::String(UNDATED.to_string());
    event
}

/// Dates every marked event of a serialized batch [`AGING_MARGIN`] inside the
/// retention window as of now: ingest takes it, and a purge a minute later removes it.
fn date_now(body: &mut [u8]) {
    let at = Timestamp::now().minus_days(RETENTION_DAYS).plus_millis(AGING_MARGIN.as_millis() as i64).to_string();
    let (from, to) = (UNDATED.as_bytes(), at.as_bytes());
    if from.len() != to.len() {
        return;
    }
    let mut i = 0;
    while i + from.len() <= body.len() {
        if &body[i..i + from.len()] == from {
            body[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

async fn ingest_client(
    client: reqwest::Client,
    url: String,
    key: String,
    bodies: Bodies,
    (pause, deadline, steady): (Option<Duration>, Instant, bool),
    shared: Arc<Shared>,
) {
    let mut next = Instant::now();
    while Instant::now() < deadline {
        let Some(mut body) = bodies.lock().await.recv().await else { break };
        if steady {
            date_now(&mut body.bytes);
        }
        let started = Instant::now();
        let events = body.events;
        match ingest::post(&client, &url, &key, body.bytes).await {
            Ok((status, _)) if status == 201 => {
                shared.time("ingest, batch of 100", started.elapsed());
                shared.ingested.fetch_add(events, Ordering::Relaxed);
            }
            Ok((status, answer)) => {
                let answer = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
                shared.fail("ingest", anyhow::anyhow!("answered {status}: {answer}")).await;
            }
            Err(e) => shared.fail("ingest", e).await,
        }
        if let Some(pause) = pause {
            next += pause;
            tokio::time::sleep_until(next.max(Instant::now()).into()).await;
        }
    }
}

/// Cycles through every request of every kind of the plan; client `offset` starts
/// elsewhere in it than the other.
async fn browse_client(mut http: Http, plan: Plan, offset: usize, deadline: Instant, shared: Arc<Shared>) {
    let requests: Vec<(&str, &crate::queries::Params)> =
        plan.kinds.iter().flat_map(|k| k.params.iter().map(move |p| (k.name.as_str(), p))).collect();
    let mut i = offset * requests.len() / BROWSE_CLIENTS.max(1);
    while Instant::now() < deadline && !requests.is_empty() {
        let (name, params) = requests[i % requests.len()];
        match http.fetch(params, None).await {
            Ok((took, ..)) => shared.time(&format!("browse: {name}"), took),
            Err(e) => shared.fail(&format!("browse {name}"), e).await,
        }
        i += 1;
    }
}

/// Sleeps until `at` or the deadline; answers whether `at` came first.
async fn wait_until(at: Instant, deadline: Instant) -> bool {
    tokio::time::sleep_until(at.min(deadline).into()).await;
    at < deadline
}

async fn export_loop(
    client: reqwest::Client,
    base: String,
    key: String,
    min_rows: u64,
    (secs, deadline): (u64, Instant),
    shared: Arc<Shared>,
) {
    let every = export_every(secs);
    let mut next = Instant::now() + every.min(Duration::from_secs(5));
    for format in Format::ALL.iter().cycle() {
        if !wait_until(next, deadline).await {
            return;
        }
        next = Instant::now() + every;
        let what = format!("export {}", format.key());
        match crate::export::fetch(&client, &base, &key, *format).await {
            // Only the CSV's rows are counted as it streams; the purge removes only old
            // events, so every export holds at least the seeded ones.
            Ok((_, rows, _)) if *format == Format::Csv && rows < min_rows => {
                shared.fail(&what, anyhow::anyhow!("held {rows} rows, fewer than the {min_rows} seeded")).await;
            }
            Ok((took, rows, bytes)) => {
                shared.time(&what, took);
                shared.exports.lock().unwrap_or_else(|p| p.into_inner()).push((*format, rows, bytes));
            }
            Err(e) => shared.fail(&what, e).await,
        }
    }
}

/// What a purge appends its old events with.
struct Purges {
    store: Arc<dyn Store>,
    account: AccountId,
    data: Dataset,
    old: usize,
    steady: bool,
    seeded: usize,
}

async fn purge_loop(
    client: reqwest::Client,
    base: String,
    key: String,
    purges: Purges,
    every: Duration,
    deadline: Instant,
    shared: Arc<Shared>,
) {
    let Purges { store, account, data, old, steady, seeded } = purges;
    let mut next = Instant::now() + every;
    for round in 0u64.. {
        if !wait_until(next, deadline).await {
            return;
        }
        next += every;
        // Each round's old events are another seed's: idempotency keys of their own.
        let seed = data.seed.wrapping_add(100 + round);
        if let Err(e) = crate::purge::append_old_of(store.as_ref(), account, &data, seed, old).await {
            shared.fail("appending old events", e).await;
            continue;
        }
        shared.appended.fetch_add(old, Ordering::Relaxed);
        let started = Instant::now();
        match retention_run(&client, &base, &key).await {
            // A steady soak's ingested events age out too: the old ones at least go.
            Ok(purged) if purged == old as u64 || (steady && purged > old as u64) => {
                shared.time("purge", started.elapsed());
                let all = {
                    let mut list = shared.purged.lock().unwrap_or_else(|p| p.into_inner());
                    list.push(purged);
                    list.iter().sum::<u64>()
                };
                let stored = seeded + shared.ingested.load(Ordering::Relaxed) + shared.appended.load(Ordering::Relaxed);
                shared.resident.lock().unwrap_or_else(|p| p.into_inner()).push((stored as u64).saturating_sub(all));
            }
            Ok(purged) => shared.fail("purge", anyhow::anyhow!("removed {purged} events; {old} were old")).await,
            Err(e) => shared.fail("purge", e).await,
        }
    }
}

/// `POST /api/v1/retention/run`: the events it purged; an error unless a 200.
async fn retention_run(client: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<u64> {
    let response = client.post(format!("{base}/api/v1/retention/run")).bearer_auth(key).send().await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    anyhow::ensure!(status == 200, "answered {status}: {answer}");
    answer["purged"].as_u64().ok_or_else(|| anyhow::anyhow!("answered no count: {answer}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_dated_when_it_is_sent() {
        let batch =
            serde_json::json!({"events": [aging(serde_json::json!({"a": 1})), aging(serde_json::json!({"b": 2}))]});
        let mut bytes = serde_json::to_vec(&batch).unwrap();
        let before = Timestamp::now().minus_days(RETENTION_DAYS);
        date_now(&mut bytes);
        let dated: Value = serde_json::from_slice(&bytes).unwrap();
        for event in dated["events"].as_array().unwrap() {
            let at = Timestamp::parse(event["occurred_at"].as_str().unwrap()).unwrap();
            let inside = at.as_millis() - before.as_millis();
            assert!(
                (AGING_MARGIN.as_millis() as i64..AGING_MARGIN.as_millis() as i64 + 5_000).contains(&inside),
                "{at}"
            );
        }
        assert_eq!(UNDATED.len(), Timestamp::now().to_string().len());
    }
}
