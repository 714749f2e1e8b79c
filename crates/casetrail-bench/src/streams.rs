//! Stream delivery, measured: a webhook stream to a receiver of the bench's own on
//! 127.0.0.1, with ingest through the host's own client (`casetrail-client`).
//!
//! On a fresh store (SQLite, or a throwaway PostgreSQL schema) served by a server
//! child, N events of another seed are made into client [`Event`]s before any clock
//! starts, then:
//!
//! 1. **Backlog**: the first half goes in through one [`Sender`] (events queued one at
//!    a time, batches of up to 1000, [`IN_FLIGHT`] out at once) with nothing else
//!    running — the client's ingest rate, a row of the ingest table. Then a webhook
//!    stream is created from seq 1, and the receiver times the backlog's delivery
//!    from its first batch to its last: the delivery throughput.
//! 2. **Lag**: the stream caught up, the second half goes in at full speed through
//!    the same sender while the stream delivers; for each of these events the lag is
//!    the receipt's wall-clock time minus the event's `recorded_at` (stamped by the
//!    writer just before its commit, milliseconds, the same clock: one machine).
//!
//! Every event must arrive in seq order with none missing (at least once: a repeat
//! is counted, not failed), and every event sent must be accepted.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use casetrail_client::{Actor, ActorType, Change, Client, Context, Event, Related, SenderOptions, Timestamp};
use casetrail_store::Store;
use serde_json::{Value, json};

use crate::child::ServerDir;
use crate::data::Dataset;
use crate::ingest::IngestResult;
use crate::machine::Phases;
use crate::report::{IngestRow, Run, int, ms};
use crate::server;
use crate::stats::Samples;

/// Batches the client's sender keeps out at once: as many as the HTTP batch clients.
pub const IN_FLIGHT: usize = server::BATCH_CLIENTS;

/// One webhook request as the receiver got it.
#[derive(Debug)]
struct Arrival {
    at: Instant,
    /// Milliseconds since the epoch at receipt.
    wall_ms: i64,
    /// Each event's seq and `recorded_at` in milliseconds.
    events: Vec<(u64, i64)>,
}

#[derive(serde::Deserialize)]
struct Delivery {
    events: Vec<Delivered>,
}

#[derive(serde::Deserialize)]
struct Delivered {
    seq: u64,
    recorded_at: Timestamp,
}

/// An HTTP receiver that keeps when each event arrived and answers 204 at once.
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<Arrival>>>,
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let got: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let app = axum::Router::new().fallback(receive).with_state(got.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver { base, got })
    }

    /// Waits until the event `seq` has arrived; fails after `within`.
    async fn wait_for(&self, seq: u64, within: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        while self.highest() < seq {
            anyhow::ensure!(
                started.elapsed() < within,
                "seq {seq} was not delivered within {within:?} (got {})",
                self.highest()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    fn highest(&self) -> u64 {
        let got = self.got.lock().unwrap_or_else(|p| p.into_inner());
        got.iter().flat_map(|a| a.events.iter().map(|e| e.0)).max().unwrap_or(0)
    }

    fn take(&self) -> Vec<Arrival> {
        std::mem::take(&mut *self.got.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

async fn receive(State(got): State<Arc<Mutex<Vec<Arrival>>>>, body: Bytes) -> StatusCode {
    let (at, wall_ms) = (Instant::now(), now_ms());
    let Ok(delivery) = serde_json::from_slice::<Delivery>(&body) else { return StatusCode::BAD_REQUEST };
    let events = delivery.events.iter().map(|e| (e.seq, e.recorded_at.as_millis())).collect();
    got.lock().unwrap_or_else(|p| p.into_inner()).push(Arrival { at, wall_ms, events });
    StatusCode::NO_CONTENT
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// What the phase measured.
#[derive(Debug, Default)]
pub struct StreamFigures {
    /// The backlog's ingest through the client.
    pub client_ingest: IngestResult,
    pub backlog: usize,
    /// From the first batch's receipt to the last's, and the events after the first batch.
    pub backlog_span: Duration,
    pub backlog_timed: usize,
    pub live: usize,
    pub live_ingest: IngestResult,
    pub lag: Samples,
    /// The lag of the first and the last tenth of those events, by seq: whether the
    /// stream kept up or fell behind while ingest ran.
    pub lag_first_tenth: Samples,
    pub lag_last_tenth: Samples,
    /// Events received more than once (a batch the server sent again).
    pub repeats: usize,
}

impl StreamFigures {
    fn delivery_eps(&self) -> f64 {
        self.backlog_timed as f64 / self.backlog_span.as_secs_f64().max(1e-9)
    }

    /// Adds the figures to a run: a row of the ingest table, the summary, a table.
    fn apply(&self, run: &mut Run) {
        run.ingest.push(IngestRow {
            name: format!(
                "HTTP, casetrail-client sender (events queued one at a time, batches ≤ 1000, {IN_FLIGHT} in flight)"
            ),
            result: self.client_ingest.clone(),
            raw: None,
        });
        let p = |q: f64| self.lag.percentile_ms(q);
        for (key, value) in [
            ("client_ingest_eps", json!(self.client_ingest.eps())),
            ("stream_delivery_eps", json!(self.delivery_eps())),
            ("stream_lag_p50_ms", json!(p(50.0))),
            ("stream_lag_p99_ms", json!(p(99.0))),
        ] {
            run.extra_summary.insert(key.to_string(), value);
        }
        let mut s = String::from(
            "\n**Stream delivery** — a webhook stream (format `json`) to a receiver of the bench's own on 127.0.0.1 \
             that answers 204 at once; ingest through `casetrail-client`. Throughput: the backlog's delivery, from \
             the first batch's receipt to the last's. Lag: receipt minus the event's `recorded_at` (stamped by the \
             writer just before its commit), for every event ingested while the stream delivers.\n\n",
        );
        s += "| figure | value |\n|---|--:|\n";
        let mut line = |name: String, value: String| s += &format!("| {name} | {value} |\n");
        line(
            format!("delivery of a backlog of {} events, events/s", int(self.backlog as f64)),
            int(self.delivery_eps()),
        );
        line(format!("lag from commit to receipt, p50 ms ({} events)", int(self.lag.len() as f64)), ms(p(50.0)));
        line("lag from commit to receipt, p99 ms".to_string(), ms(p(99.0)));
        line("lag from commit to receipt, max ms".to_string(), ms(p(100.0)));
        let (first, last) = (self.lag_first_tenth.p50(), self.lag_last_tenth.p50());
        line(
            "lag p50 ms of the first tenth of those events / of the last tenth".to_string(),
            format!("{} / {}", ms(first), ms(last)),
        );
        line(
            format!("ingest meanwhile ({} events, casetrail-client), events/s", int(self.live as f64)),
            int(self.live_ingest.eps()),
        );
        line("events received twice".to_string(), self.repeats.to_string());
        run.extra_markdown += &s;
    }
}

/// Runs the phase on a store of its own (SQLite in `tmp`, or a schema on
/// `database_url`) and adds its figures to `run`.
pub fn measure(
    rt: &tokio::runtime::Runtime,
    run: &mut Run,
    data: &Dataset,
    database_url: Option<&str>,
    tmp: &Path,
) -> anyhow::Result<()> {
    let mut phases = Phases::default();
    let watch = phases.begin();
    let figures = rt.block_on(on_fresh_store(data, database_url, tmp))?;
    phases.end("streams", watch);
    run.noise.extend(phases.noise);
    eprintln!(
        "  streams: client ingest {} events/s; delivery {} events/s; lag p50 {} ms, p99 {} ms",
        int(figures.client_ingest.eps()),
        int(figures.delivery_eps()),
        ms(figures.lag.p50()),
        ms(figures.lag.p99())
    );
    figures.apply(run);
    Ok(())
}

/// The phase alone (`--profile streams`): its figures on standard error, nothing
/// written.
pub fn profile(
    rt: &tokio::runtime::Runtime,
    data: &Dataset,
    database_url: Option<&str>,
    tmp: &Path,
) -> anyhow::Result<()> {
    let figures = rt.block_on(on_fresh_store(data, database_url, tmp))?;
    let (first, last) = (figures.lag_first_tenth.p50(), figures.lag_last_tenth.p50());
    eprintln!(
        "streams: client ingest {} events/s; delivery {} events/s; live ingest {} events/s; lag p50 {} ms, \
         p99 {} ms; p50 of the first tenth {} ms, of the last tenth {} ms; {} repeats",
        int(figures.client_ingest.eps()),
        int(figures.delivery_eps()),
        int(figures.live_ingest.eps()),
        ms(figures.lag.p50()),
        ms(figures.lag.p99()),
        ms(first),
        ms(last),
        figures.repeats
    );
    Ok(())
}

async fn on_fresh_store(data: &Dataset, database_url: Option<&str>, tmp: &Path) -> anyhow::Result<StreamFigures> {
    let events: Vec<Event> = data
        .events_of(data.seed.wrapping_add(3), data.count)
        .map(|v| client_event(&v))
        .collect::<anyhow::Result<_>>()?;
    match database_url {
        None => {
            let dir = ServerDir::create(tmp)?;
            let store: Arc<dyn Store> = Arc::new(casetrail_store_sqlite::SqliteStore::open(dir.db())?);
            phase(data, events, &dir, store).await
        }
        Some(url) => {
            let product = casetrail_store_postgres::PostgresStore::open_temporary(url).await?;
            let dir = ServerDir::postgres(tmp, "streams", product.url())?;
            let out = phase(data, events, &dir, Arc::new(product.clone())).await;
            // The schema goes with the last handle, after the child has stopped.
            drop(product);
            out
        }
    }
}

async fn phase(
    data: &Dataset,
    mut events: Vec<Event>,
    dir: &ServerDir,
    store: Arc<dyn Store>,
) -> anyhow::Result<StreamFigures> {
    let firm = server::provision(store.as_ref(), data).await?;
    let child = server::start(dir, None)?;
    let receiver = Receiver::start().await?;
    let client = Client::new(&child.base, &firm.ingest_key)?;
    let mut out = StreamFigures { backlog: events.len() / 2, ..StreamFigures::default() };
    let live = events.split_off(out.backlog);
    out.live = live.len();
    out.client_ingest = send_all(&client, events).await?;

    // The stream's creation is itself an event (settings.updated), right after the backlog.
    let stream = json!({"name": "bench", "kind": "webhook", "url": receiver.base, "format": "json", "from_seq": 1});
    let created = Instant::now();
    let answer = server::http_client()?
        .post(format!("{}/api/v1/streams", child.base))
        .bearer_auth(&firm.admin_key)
        .json(&stream)
        .send()
        .await?;
    anyhow::ensure!(
        answer.status() == 201,
        "creating the stream answered {}: {}",
        answer.status(),
        answer.text().await?
    );
    let head = out.backlog as u64 + 1;
    receiver.wait_for(head, Duration::from_secs(120 + head / 1000)).await?;
    let backlog = receiver.take();
    let mut repeats = check_order(&backlog, 0, head)?;
    let last = backlog.last().context("no delivery")?;
    // From the first batch's receipt, which the stream's start (the server looks for
    // new streams every second) does not delay; from the creation if there was one batch.
    (out.backlog_span, out.backlog_timed) = match backlog.first() {
        Some(first) if backlog.len() > 1 => (last.at - first.at, backlog[1..].iter().map(|a| a.events.len()).sum()),
        _ => (last.at - created, last.events.len()),
    };

    out.live_ingest = send_all(&client, live).await?;
    let live_head = head + out.live as u64;
    receiver.wait_for(live_head, Duration::from_secs(120 + out.live as u64 / 1000)).await?;
    let arrivals = receiver.take();
    repeats += check_order(&arrivals, head, live_head)?;
    let tenth = (out.live as u64 / 10).max(1);
    for arrival in &arrivals {
        for (seq, recorded) in arrival.events.iter().filter(|(seq, _)| *seq > head) {
            let lag = Duration::from_millis(u64::try_from(arrival.wall_ms - recorded).unwrap_or(0));
            out.lag.push(lag);
            if *seq <= head + tenth {
                out.lag_first_tenth.push(lag);
            } else if *seq > live_head - tenth {
                out.lag_last_tenth.push(lag);
            }
        }
    }
    out.repeats = repeats as usize;
    server::stop(child)?;
    drop(store);
    Ok(out)
}

/// Every event through one sender, as fast as it takes them; all must be stored.
async fn send_all(client: &Client, events: Vec<Event>) -> anyhow::Result<IngestResult> {
    let count = events.len();
    let options =
        SenderOptions { max_in_flight: IN_FLIGHT, linger: Duration::from_millis(5), ..SenderOptions::default() };
    let started = Instant::now();
    let sender = client.sender(options);
    for event in events {
        sender.send(event).await.map_err(|_| anyhow::anyhow!("the client's sender closed"))?;
    }
    let report = sender.close().await;
    let elapsed = started.elapsed();
    if let Some(failure) = report.failures.first() {
        anyhow::bail!(
            "{} events not stored through the client, the first: {:?}",
            report.rejected + report.failed,
            failure.outcome
        );
    }
    anyhow::ensure!(report.accepted as usize == count, "{count} sent, {} accepted", report.accepted);
    Ok(IngestResult { events: count, elapsed, latencies: Samples::default(), tail_eps: None })
}

/// Checks that the arrivals hold every seq after `after` up to `head`, in order;
/// answers how many were repeats of a seq already received.
fn check_order(arrivals: &[Arrival], after: u64, head: u64) -> anyhow::Result<u64> {
    let (mut next, mut repeats) = (after + 1, 0);
    for seq in arrivals.iter().flat_map(|a| a.events.iter().map(|e| e.0)) {
        if seq < next {
            repeats += 1;
            continue;
        }
        anyhow::ensure!(seq == next, "the stream skipped from seq {} to {seq}", next - 1);
        next += 1;
    }
    anyhow::ensure!(next == head + 1, "the stream delivered up to seq {} of {head}", next - 1);
    Ok(repeats)
}

/// A demo event (ingest JSON) as the client's typed event.
fn client_event(v: &Value) -> anyhow::Result<Event> {
    let key = |k: &str| v.get(k).filter(|x| !x.is_null());
    let text = |x: &Value, k: &str| x.get(k).and_then(Value::as_str).map(str::to_string);
    let who = key("actor").context("no actor")?;
    let actor = Actor {
        id: text(who, "id").context("no actor.id")?,
        name: text(who, "name").context("no actor.name")?,
        email: text(who, "email"),
        kind: text(who, "type").and_then(|t| ActorType::from_key(&t)).unwrap_or_default(),
    };
    let activity = casetrail_client::activity(v["activity"].as_str().context("no activity")?)?;
    let mut event = Event::new(activity, actor);
    if let Some(at) = key("occurred_at").and_then(Value::as_str) {
        event = event.occurred_at(Timestamp::parse(at)?);
    }
    if let Some(k) = key("idempotency_key").and_then(Value::as_str) {
        event = event.idempotency_key(k);
    }
    if let Some(d) = key("description").and_then(Value::as_str) {
        event = event.description(d);
    }
    for record in key("related").and_then(Value::as_array).into_iter().flatten() {
        event = event.related_record(serde_json::from_value::<Related>(record.clone())?);
    }
    for change in key("changes").and_then(Value::as_array).into_iter().flatten() {
        let c: Change = serde_json::from_value(change.clone())?;
        event = event.change(c.field, c.before, c.after);
    }
    if let (Some(before), Some(after)) = (key("before"), key("after")) {
        event = event.snapshots(before.clone(), after.clone());
    }
    for (k, x) in key("metadata").and_then(Value::as_object).into_iter().flatten() {
        event = event.metadata(k.clone(), x.clone());
    }
    if let Some(context) = key("context") {
        event = event.context(serde_json::from_value::<Context>(context.clone())?);
    }
    Ok(event)
}
