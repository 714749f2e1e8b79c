//! `casetrail serve` killed with SIGKILL several times while clients ingest, and
//! started again on the same store each time, loses nothing it acknowledged and
//! stores nothing twice.
//!
//! Four clients send batches of keyed events. A client whose request gets no answer
//! (the connection is cut or refused) sends the same batch again, with the same
//! idempotency keys, until it is acknowledged: such a batch may or may not have been
//! committed before the kill, and must end up stored once either way. The kills come
//! after a random number of acknowledged batches and a random pause, from a seeded
//! generator (the seed is printed; `CASETRAIL_CRASH_SEED` repeats a run). On the
//! backend `CASETRAIL_TEST_DATABASE_URL` picks.

mod cli_support;
mod crash_support;
mod multi_server_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crash_support::{Rng, Service, try_ingest};
use serde_json::{Value, json};

const CLIENTS: usize = 4;
const BATCHES_PER_CLIENT: usize = 40;
const EVENTS_PER_BATCH: usize = 5;
const KILLS: usize = 4;
/// Every batch must be acknowledged within this, kills and restarts included.
const ALL_ACKNOWLEDGED_WITHIN: Duration = Duration::from_secs(45);

/// What the clients saw.
#[derive(Default)]
struct Tally {
    /// Idempotency key → the `id` and `seq` of the answer that acknowledged it.
    acknowledged: BTreeMap<String, (String, u64)>,
    batches_acknowledged: usize,
    /// Acknowledged only as duplicates: an earlier try committed, but its answer was lost.
    acknowledged_as_duplicates: usize,
    /// Requests that got no answer, or a 503 while the server started.
    unanswered: usize,
}

#[test]
fn a_server_killed_again_and_again_mid_ingest_keeps_every_acknowledged_event_once() {
    let mut rng = Rng::seeded("crash_ingest");
    let service = Service::start();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| service.db.spawn(client(c, service.url(), service.ingest_key.clone(), tally.clone())))
        .collect();

    // Each kill waits for a few batches to be acknowledged since the last start, so
    // that it lands in the middle of traffic (the clients always have some in flight).
    for kill in 0..KILLS {
        let since = tally.lock().unwrap().batches_acknowledged;
        let wait_for = rng.within(3..15) as usize;
        crash_support::wait_for(
            &format!("{wait_for} batches acknowledged before kill {kill}"),
            Duration::from_secs(30),
            || tally.lock().unwrap().batches_acknowledged >= since + wait_for,
        );
        std::thread::sleep(Duration::from_millis(rng.within(0..25)));
        service.kill();
        service.restart();
    }
    for client in clients {
        service.db.block_on(client).expect("a client failed");
    }

    let tally = Arc::into_inner(tally).unwrap().into_inner().unwrap();
    eprintln!(
        "{} batches acknowledged, {} of them only as duplicates; {} requests unanswered",
        tally.batches_acknowledged, tally.acknowledged_as_duplicates, tally.unanswered
    );
    assert_eq!(tally.batches_acknowledged, CLIENTS * BATCHES_PER_CLIENT);
    assert_eq!(tally.acknowledged.len(), CLIENTS * BATCHES_PER_CLIENT * EVENTS_PER_BATCH);
    // A kill always leaves the clients without a server for a moment.
    assert!(tally.unanswered >= KILLS, "only {} requests went unanswered over {KILLS} kills", tally.unanswered);

    // The chain: gapless from seq 1, and the hosts' events in it exactly the
    // acknowledged ones, each once, with the id and seq its answer gave.
    let chain = service.chain();
    let seqs: Vec<u64> = chain.iter().map(|link| link.seq).collect();
    assert_eq!(seqs, (1..=chain.len() as u64).collect::<Vec<_>>(), "seqs are 1..N without a gap");
    let head = service.head_seq();
    assert_eq!(head, chain.len() as u64);
    let mut stored: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for link in &chain {
        let body: Value = serde_json::from_str(&link.body).unwrap();
        if body["activity"] == "case.updated" {
            let key = body["idempotency_key"].as_str().expect("every host event here is keyed").to_string();
            stored.entry(key).or_default().push((body["id"].as_str().unwrap().to_string(), link.seq));
        }
    }
    let expected: BTreeMap<String, Vec<(String, u64)>> =
        tally.acknowledged.iter().map(|(key, stored)| (key.clone(), vec![stored.clone()])).collect();
    assert_eq!(stored, expected, "stored events by idempotency key");
    service.assert_chain_verifies(head);

    // Every batch sent again is answered as duplicates of what was acknowledged.
    let http = reqwest::Client::new();
    for c in 0..CLIENTS {
        for b in 0..BATCHES_PER_CLIENT {
            let answer = service.db.block_on(try_ingest(&http, &service.url(), &service.ingest_key, &batch(c, b)));
            let (status, answer) = answer.expect("the server answers");
            assert_eq!(status, 200, "client {c} batch {b} again: {answer}");
            for (i, event) in answer["events"].as_array().unwrap().iter().enumerate() {
                let (id, seq) = &tally.acknowledged[&key(c, b, i)];
                assert_eq!(event, &json!({"id": id, "seq": seq, "duplicate": true}), "client {c} batch {b} #{i}");
            }
        }
    }
    assert_eq!(service.head_seq(), head, "the retries stored nothing");
}

fn key(client: usize, batch: usize, event: usize) -> String {
    format!("crash-c{client}-b{batch}-e{event}")
}

fn batch(client: usize, batch: usize) -> Value {
    let events: Vec<Value> = (0..EVENTS_PER_BATCH)
        .map(|i| {
            multi_server_support::keyed_event(
                &format!("client {client} batch {batch} event {i}"),
                &key(client, batch, i),
            )
        })
        .collect();
    json!({ "events": events })
}

/// Sends this client's batches in order, each until it is acknowledged.
async fn client(c: usize, url: String, key: String, tally: Arc<Mutex<Tally>>) {
    // A request cut off by a kill fails at once; the timeout only bounds a hang.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let deadline = Instant::now() + ALL_ACKNOWLEDGED_WITHIN;
    for b in 0..BATCHES_PER_CLIENT {
        let body = batch(c, b);
        loop {
            assert!(Instant::now() < deadline, "client {c}: batch {b} was not acknowledged in time");
            match try_ingest(&http, &url, &key, &body).await {
                Some((200 | 201, answer)) => {
                    let events = answer["events"].as_array().unwrap();
                    assert_eq!(events.len(), EVENTS_PER_BATCH, "{answer}");
                    let mut tally = tally.lock().unwrap();
                    for (i, event) in events.iter().enumerate() {
                        let stored = (event["id"].as_str().unwrap().to_string(), event["seq"].as_u64().unwrap());
                        tally.acknowledged.insert(self::key(c, b, i), stored);
                    }
                    tally.batches_acknowledged += 1;
                    if events.iter().all(|e| e["duplicate"] == true) {
                        tally.acknowledged_as_duplicates += 1;
                    }
                    break;
                }
                None | Some((503, _)) => {
                    tally.lock().unwrap().unanswered += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Some((status, answer)) => panic!("client {c}: batch {b} answered {status}: {answer}"),
            }
        }
    }
}
