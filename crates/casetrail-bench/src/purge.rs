//! Purge: 10 % of N (or `--purge-events`) events older than the retention window, removed by
//! `POST /api/v1/retention/run` while one client keeps ingesting batches of 100 back to
//! back; then `GET /api/v1/integrity` must still find the chain whole.
//!
//! Ingest refuses events older than the retention window (422), so the old events go
//! in through `Store::append` from the bench's own handle on the database file (the
//! server child is idle then; the store reads the chain head inside each transaction,
//! so two processes appending in turn keep one chain). They are the demo generator's
//! events of another seed, their dates moved to 91–120 days ago.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use casetrail_core::Timestamp;
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_store::{AccountId, AppendBatch, Store};
use serde_json::{Value, json};

use crate::data::Dataset;
use crate::ingest::Body;
use crate::stats::Samples;

const DAY_MS: i64 = 86_400_000;
/// Events per request of the client that ingests during the purge.
const INGEST_BATCH: usize = 100;
/// How long the client ingests before the purge starts: the latency without it.
const BASELINE: Duration = Duration::from_secs(2);
/// Bounds of the run: the purge request, and the ingest client's events.
const PURGE_TIMEOUT: Duration = Duration::from_secs(1800);
const MAX_INGEST_EVENTS: usize = 5_000_000;

/// What the purge phase measured.
#[derive(Debug, Clone, Default)]
pub struct PurgeFigures {
    /// Old events appended, and what the purge answered it removed.
    pub old_events: usize,
    pub purged: u64,
    pub took: Duration,
    /// Ingest acknowledgement latencies before the purge, and of the requests that
    /// overlapped it.
    pub before: Samples,
    pub during: Samples,
    pub events_during: usize,
    /// The full verification after the purge: events checked and its time.
    pub verified: u64,
    pub verify_took: Duration,
}

/// Moves a generated event into the window 120 to 91 days before `now`, keeping the
/// order of the generated window `span`.
fn age(event: &mut Value, span: (Timestamp, Timestamp), now: Timestamp) {
    let (start, end) = (span.0.as_millis(), span.1.as_millis());
    let Some(at) = event["occurred_at"].as_str().and_then(|s| Timestamp::parse(s).ok()) else { return };
    let share = (at.as_millis() - start) as f64 / (end - start).max(1) as f64;
    let moved = now.as_millis() - 120 * DAY_MS + (share.clamp(0.0, 1.0) * 29.0 * DAY_MS as f64) as i64;
    if let Some(t) = Timestamp::from_millis(moved) {
        event["occurred_at"] = Value::String(t.to_string());
    }
}

/// The `count` old events of the generator's `seed` (their own idempotency keys), dated
/// 120 to 91 days before `now`.
pub fn old_events(data: &Dataset, seed: u64, count: usize, now: Timestamp) -> impl Iterator<Item = Value> + use<> {
    let span = data.span();
    data.events_of(seed, count).map(move |mut e| {
        age(&mut e, span, now);
        e
    })
}

/// Appends `count` old events (the generator's events of seed + 3) through the store,
/// 1000 per transaction.
pub async fn append_old(store: &dyn Store, account: AccountId, data: &Dataset, count: usize) -> anyhow::Result<()> {
    append_old_of(store, account, data, data.seed.wrapping_add(3), count).await
}

/// Like [`append_old`], the events of the generator's `seed`: a soak appends old
/// events again and again, each time with idempotency keys of their own.
pub async fn append_old_of(
    store: &dyn Store,
    account: AccountId,
    data: &Dataset,
    seed: u64,
    count: usize,
) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let rules = IngestRules { now, window_start: None, allow_reserved: false };
    let mut events = old_events(data, seed, count, now);
    loop {
        let chunk: Vec<Value> = events.by_ref().take(1000).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        let parsed = parse_ingest(&json!({ "events": chunk }), &rules)
            .map_err(|e| anyhow::anyhow!("the generator made an invalid old event: {e:?}"))?;
        store.append(vec![AppendBatch { account_id: account, events: parsed }]).await?;
    }
}

/// One ingest request of the client: when it was sent (since the client started) and
/// how long its answer took.
type Sent = (Duration, Duration, usize);

/// Ingests batches of 100 back to back until `stop`; bodies come from a generator
/// thread that stays ahead of the client.
async fn ingest_until(
    client: reqwest::Client,
    url: String,
    key: String,
    mut bodies: tokio::sync::mpsc::Receiver<Body>,
    stop: Arc<AtomicBool>,
    t0: Instant,
) -> anyhow::Result<Vec<Sent>> {
    let mut log = Vec::new();
    while !stop.load(Ordering::Relaxed) && t0.elapsed() < PURGE_TIMEOUT {
        let Some(body) = bodies.recv().await else { break };
        let sent = t0.elapsed();
        let started = Instant::now();
        let (status, answer) = crate::ingest::post(&client, &url, &key, body.bytes).await?;
        anyhow::ensure!(
            status == 201,
            "ingest during the purge answered {status}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(500)])
        );
        log.push((sent, started.elapsed(), body.events));
    }
    Ok(log)
}

/// The purge with ingest running, then the verification. `old` events must already be
/// stored (see [`append_old`]); all of them must be purged.
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    admin_key: &str,
    ingest_key: &str,
    data: &Dataset,
    old: usize,
) -> anyhow::Result<PurgeFigures> {
    let generated = data.events_of(data.seed.wrapping_add(4), MAX_INGEST_EVENTS);
    let (rx, producer) = crate::ingest::batch_stream(generated, INGEST_BATCH);
    // Let the generator get ahead before the clock matters.
    while rx.len() < rx.max_capacity() && !producer.is_finished() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let ingest = tokio::spawn(ingest_until(
        client.clone(),
        format!("{base}/api/v1/events"),
        ingest_key.to_string(),
        rx,
        stop.clone(),
        t0,
    ));
    tokio::time::sleep(BASELINE).await;

    let purge_from = t0.elapsed();
    let response =
        client.post(format!("{base}/api/v1/retention/run")).bearer_auth(admin_key).timeout(PURGE_TIMEOUT).send().await;
    let purge_to = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let log = ingest.await??;
    let _ = producer.join();
    let response = response?;
    let status = response.status();
    let answer: Value = response.json().await?;
    anyhow::ensure!(status == 200, "the purge answered {status}: {answer}");
    let purged = answer["purged"].as_u64().unwrap_or(0);
    anyhow::ensure!(purged == old as u64, "the purge removed {purged} events; {old} were older than the window");

    let mut figures = PurgeFigures { old_events: old, purged, took: purge_to - purge_from, ..Default::default() };
    // Where in the purge the longest wait began, on the terminal only: it tells the
    // batches (early) from the space reclaim (at the end) when chasing a stall.
    if let Some((sent, took, _)) = log.iter().filter(|l| l.0 < purge_to).max_by_key(|l| l.1) {
        let at = sent.saturating_sub(purge_from).as_secs_f64();
        let total = (purge_to - purge_from).as_secs_f64();
        eprintln!("  purge: longest ingest wait {took:?}, sent {at:.1} s into a {total:.1} s purge");
    }
    for (sent, took, events) in log {
        if sent + took <= purge_from {
            figures.before.push(took);
        } else if sent < purge_to {
            figures.during.push(took);
            figures.events_during += events;
        }
    }
    let started = Instant::now();
    let (_, checked) = crate::verify::get_integrity(client, base, admin_key, "").await?;
    figures.verify_took = started.elapsed();
    figures.verified = checked;
    Ok(figures)
}
