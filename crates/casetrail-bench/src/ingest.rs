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
    let queue = Arc::new(Mutex::new(bodies.into_iter()));
    let url = format!("{base}/api/v1/events");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (queue, client, url, key) = (queue.clone(), client.clone(), url.clone(), key.to_string());
        tasks.spawn(async move {
            let mut latencies = Samples::default();
            let mut done = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                let Some(body) = next else { break };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body.bytes)
                    .send()
                    .await?;
                let status = response.status();
                let answer = response.bytes().await?;
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

/// Appends every body through `Store::append`, one batch per call, as the writer would
/// with one request queued. Parsing is not timed.
pub async fn store(store: &dyn Store, account: AccountId, bodies: &[Body]) -> anyhow::Result<IngestResult> {
    let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
    let mut latencies = Samples::default();
    let mut done = Vec::new();
    let mut timed = Duration::ZERO;
    for body in bodies {
        let value: Value = serde_json::from_slice(&body.bytes)?;
        let events = parse_ingest(&value, &rules).map_err(|e| anyhow::anyhow!("invalid generated batch: {e:?}"))?;
        let n = events.len();
        let started = Instant::now();
        store.append(vec![AppendBatch { account_id: account, events }]).await?;
        let took = started.elapsed();
        timed += took;
        latencies.push(took);
        done.push((timed, n));
    }
    Ok(IngestResult::from_completions(done, latencies, timed))
}

/// Inserts every body into the raw engine, one transaction per body.
pub fn raw(db: &mut RawDb, bodies: &[Body]) -> anyhow::Result<IngestResult> {
    let mut latencies = Samples::default();
    let mut done = Vec::new();
    let mut timed = Duration::ZERO;
    for body in bodies {
        let value: Value = serde_json::from_slice(&body.bytes)?;
        let events = match value.get("events").and_then(Value::as_array) {
            Some(list) => list.clone(),
            None => vec![value],
        };
        let rows = db.prepare(events)?;
        let took = db.insert(&rows)?;
        timed += took;
        latencies.push(took);
        done.push((timed, rows.len()));
    }
    Ok(IngestResult::from_completions(done, latencies, timed))
}
