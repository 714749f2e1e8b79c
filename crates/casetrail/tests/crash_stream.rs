//! A stream survives SIGKILLs of its server without skipping an event: a syslog
//! receiver of our own gets every event of the chain, first times in seq order, with
//! at most the batch in flight at each kill sent again (docs/API.md §13, at least
//! once and in order). On the backend `CASETRAIL_TEST_DATABASE_URL` picks.

mod cli_support;
mod crash_support;
mod multi_server_support;

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crash_support::{Rng, Service, try_ingest};
use serde_json::{Value, json};

const KILLS: usize = 3;
const BATCHES_PER_ROUND: usize = 6;
const EVENTS_PER_BATCH: usize = 20;

/// A TCP listener that reads RFC 6587 octet-counted frames from every connection
/// and keeps each message's event seq, in the order received.
fn syslog_receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<u64>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seqs = Arc::new(Mutex::new(Vec::new()));
    let kept = seqs.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || read_frames(socket, kept));
        }
    });
    (addr, seqs)
}

fn read_frames(mut socket: std::net::TcpStream, into: Arc<Mutex<Vec<u64>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n @ 1..) = socket.read(&mut chunk) {
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(space) = buffer.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&buffer[..space]).unwrap().parse().expect("an octet count");
            if buffer.len() < space + 1 + len {
                break;
            }
            let message = std::str::from_utf8(&buffer[space + 1..space + 1 + len]).unwrap().to_string();
            let body: Value = serde_json::from_str(&message[message.find(" - {").unwrap() + 3..]).unwrap();
            into.lock().unwrap().push(body["seq"].as_u64().unwrap());
            buffer.drain(..space + 1 + len);
        }
    }
}

#[test]
fn a_stream_killed_again_and_again_skips_no_event() {
    let mut rng = Rng::seeded("crash_stream");
    let service = Service::start();
    let (addr, received) = syslog_receiver();
    let http = reqwest::Client::new();
    let stream = json!({"name": "collector", "kind": "syslog", "url": format!("tcp://{addr}"), "from_seq": 1});
    let created = service.db.block_on(
        http.post(format!("{}/api/v1/streams", service.url())).bearer_auth(&service.admin_key).json(&stream).send(),
    );
    assert_eq!(created.unwrap().status(), 201);

    let mut sent = 0;
    for kill in 0..=KILLS {
        for _ in 0..BATCHES_PER_ROUND {
            let events: Vec<Value> = (0..EVENTS_PER_BATCH)
                .map(|i| {
                    let n = sent + i;
                    json!({"idempotency_key": format!("e{n}"), "actor": {"id": "u_1", "name": "Ann"},
                           "activity": "case.updated", "description": format!("event {n}")})
                })
                .collect();
            let body = json!({ "events": events });
            // A batch whose answer a kill cut off is sent again with the same keys.
            crash_support::wait_for("a batch acknowledged", Duration::from_secs(30), || {
                matches!(
                    service.db.block_on(try_ingest(&http, &service.url(), &service.ingest_key, &body)),
                    Some((200 | 201, _))
                )
            });
            sent += EVENTS_PER_BATCH;
        }
        if kill < KILLS {
            // Mid-delivery: the stream is still catching up with the last batches.
            std::thread::sleep(Duration::from_millis(rng.within(0..400)));
            service.kill();
            service.restart();
        }
    }
    let head = service.head_seq();
    assert_eq!(head, 1 + sent as u64, "the stream's creation record, then every event");
    crash_support::wait_for("every event delivered", Duration::from_secs(60), || {
        received.lock().unwrap().iter().max() == Some(&head)
    });
    let got = received.lock().unwrap().clone();
    let mut newest = 0;
    for (i, &seq) in got.iter().enumerate() {
        // Never ahead of what was delivered: nothing skipped, first times in order.
        assert!(seq <= newest + 1, "seq {seq} arrived after {newest} (message {i}): {got:?}");
        newest = newest.max(seq);
    }
    let mut distinct = got.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct, (1..=head).collect::<Vec<u64>>());
    eprintln!("{} messages for {head} events: {} sent again after kills", got.len(), got.len() as u64 - head);
}
