//! Ingest: through the HTTP API (batches from a few clients, single events from many),
//! through the store directly, and into the raw engine.
//!
//! Request bodies are serialized before the clock starts (the generator makes about
//! 60k events/s, slower than what is measured), so the figures are the server's and
//! the store's, not the generator's.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casetrail_core::Timestamp;
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_store::{AccountId, AppendBatch, Store};
use serde_json::Value;

use crate::raw::RawDb;
use crate::stats::Samples;

/// One request body and how many events it carries.
#[derive(Debug, Clone)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub events: usize,
}

/// Serializes events into `{"events": [...]}` bodies of `size`, or single event objects
/// when `size` is 1.
pub fn bodies(events: impl Iterator<Item = Value>, size: usize) -> anyhow::Result<Vec<Body>> {
    if size == 1 {
        return events.map(|e| Ok(Body { bytes: serde_json::to_vec(&e)?, events: 1 })).collect();
    }
    casetrail_demo::ingest_batches(events, size)
        .map(|b| {
            let events = b["events"].as_array().map_or(0, Vec::len);
            Ok(Body { bytes: serde_json::to_vec(&b)?, events })
        })
        .collect()
}

/// Batches of `size` serialized on a thread of its own into a channel that stays ahead
/// of the clients; the thread ends with the events or once the receiver is dropped.
pub fn batch_stream(
    events: impl Iterator<Item = Value> + Send + 'static,
    size: usize,
) -> (tokio::sync::mpsc::Receiver<Body>, std::thread::JoinHandle<()>) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Body>(64);
    let producer = std::thread::spawn(move || {
        for batch in casetrail_demo::ingest_batches(events, size) {
            let events = batch["events"].as_array().map_or(0, Vec::len);
            let Ok(bytes) = serde_json::to_vec(&batch) else { break };
            if tx.blocking_send(Body { bytes, events }).is_err() {
                break;
            }
        }
    });
    (rx, producer)
}

/// What an ingest run measured.
#[derive(Debug, Clone, Default)]
pub struct IngestResult {
    pub events: usize,
    /// Wall time for HTTP; the sum of the timed commits for the store and the raw engine.
    pub elapsed: Duration,
    /// Per request (HTTP) or per commit (store, raw).
    pub latencies: Samples,
    /// Events/s over the last tenth of the events: the rate near N stored events.
    pub tail_eps: Option<f64>,
}

impl IngestResult {
    pub fn eps(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Builds the result from `(time since start at completion, events)` per request.
    fn from_completions(mut done: Vec<(Duration, usize)>, latencies: Samples, elapsed: Duration) -> IngestResult {
        done.sort_by_key(|d| d.0);
        let events: usize = done.iter().map(|d| d.1).sum();
        let mut seen = 0;
        let mut mark = None;
        for (at, n) in &done {
            seen += n;
            if mark.is_none() && seen * 10 >= events * 9 {
                mark = Some((*at, seen));
            }
        }
        let tail_eps = mark.and_then(|(at, at_events)| {
            let last = done.last()?.0;
            let span = last.checked_sub(at)?.as_secs_f64();
            (span > 0.0 && events > at_events).then(|| (events - at_events) as f64 / span)
        });
        IngestResult { events, elapsed, latencies, tail_eps }
    }
}

/// POSTs every body to `/api/v1/events` from `clients` concurrent clients, in order;
/// every answer must be a 201 or 200.
pub async fn http(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    bodies: Vec<Body>,
    clients: usize,
) -> anyhow::Result<IngestResult> {
    http_spread(client, &[base.to_string()], &[key.to_string()], bodies, clients).await
}

/// Like [`http`], client `i` sending to server `bases[i % bases.len()]` with the key
/// `keys[i % keys.len()]`: several servers on one database sharing the same load, for
/// one account or several.
pub async fn http_spread(
    client: &reqwest::Client,
    bases: &[String],
    keys: &[String],
    bodies: Vec<Body>,
    clients: usize,
) -> anyhow::Result<IngestResult> {
    let queue = Arc::new(Mutex::new(bodies.into_iter()));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..clients {
        let url = format!("{}/api/v1/events", bases[i % bases.len().max(1)]);
        let key = keys[i % keys.len().max(1)].clone();
        let (queue, client) = (queue.clone(), client.clone());
        tasks.spawn(async move {
            let mut latencies = Samples::default();
            let mut done = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                let Some(body) = next else { break };
                let sent = Instant::now();
                let (status, answer) = post(&client, &url, &key, body.bytes).await?;
                latencies.push(sent.elapsed());
                done.push((started.elapsed(), body.events));
                if !(status == 201 || status == 200) {
                    anyhow::bail!(
                        "ingest answered {status}: {}",
                        String::from_utf8_lossy(&answer[..answer.len().min(500)])
                    );
                }
            }
            anyhow::Ok((latencies, done))
        });
    }
    let mut latencies = Samples::default();
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (l, d) = joined??;
        latencies.extend(l);
        done.extend(d);
    }
    Ok(IngestResult::from_completions(done, latencies, started.elapsed()))
}

/// Sums timed steps (commits) into an [`IngestResult`].
#[derive(Debug, Default)]
pub struct Meter {
    latencies: Samples,
    done: Vec<(Duration, usize)>,
    timed: Duration,
}

impl Meter {
    pub fn add(&mut self, took: Duration, events: usize) {
        self.timed += took;
        self.latencies.push(took);
        self.done.push((self.timed, events));
    }

    pub fn finish(self) -> IngestResult {
        IngestResult::from_completions(self.done, self.latencies, self.timed)
    }
}

/// One body through `Store::append`, as the writer would with one request queued;
/// parsing is not timed.
pub async fn store_step(store: &dyn Store, account: AccountId, body: &Body, meter: &mut Meter) -> anyhow::Result<()> {
    let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
    let value: Value = serde_json::from_slice(&body.bytes)?;
    let events = parse_ingest(&value, &rules).map_err(|e| anyhow::anyhow!("invalid generated batch: {e:?}"))?;
    let n = events.len();
    let started = Instant::now();
    store.append(vec![AppendBatch { account_id: account, events }]).await?;
    meter.add(started.elapsed(), n);
    Ok(())
}

/// One body into the raw engine, in one transaction; preparing the rows is not timed.
fn raw_step(db: &mut RawDb, body: &Body, meter: &mut Meter) -> anyhow::Result<()> {
    let value: Value = serde_json::from_slice(&body.bytes)?;
    let events = match value.get("events").and_then(Value::as_array) {
        Some(list) => list.clone(),
        None => vec![value],
    };
    let rows = db.prepare(events)?;
    let took = db.insert(&rows)?;
    meter.add(took, rows.len());
    Ok(())
}

/// Every body through `Store::append`.
pub async fn store(store: &dyn Store, account: AccountId, bodies: &[Body]) -> anyhow::Result<IngestResult> {
    let mut meter = Meter::default();
    for body in bodies {
        store_step(store, account, body, &mut meter).await?;
    }
    Ok(meter.finish())
}

/// Every body into the raw engine, one transaction per body.
pub fn raw(db: &mut RawDb, bodies: &[Body]) -> anyhow::Result<IngestResult> {
    let mut meter = Meter::default();
    for body in bodies {
        raw_step(db, body, &mut meter)?;
    }
    Ok(meter.finish())
}

/// The raw engine and the store side by side, batch after batch, so that the noise of
/// a shared machine falls on both alike and their ratio stays meaningful.
pub async fn side_by_side(
    db: &mut RawDb,
    store: &dyn Store,
    account: AccountId,
    bodies: &[Body],
) -> anyhow::Result<(IngestResult, IngestResult)> {
    let (mut raw, mut cased) = (Meter::default(), Meter::default());
    for body in bodies {
        raw_step(db, body, &mut raw)?;
        store_step(store, account, body, &mut cased).await?;
    }
    Ok((raw.finish(), cased.finish()))
}

/// One `POST /api/v1/events` with a JSON body; answers its status and body.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: Vec<u8>,
) -> anyhow::Result<(reqwest::StatusCode, Vec<u8>)> {
    let response =
        client.post(url).bearer_auth(key).header("content-type", "application/json").body(body).send().await?;
    let status = response.status();
    Ok((status, response.bytes().await?.to_vec()))
}
