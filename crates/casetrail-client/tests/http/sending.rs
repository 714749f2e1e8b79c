//! The batching sender against a real server: content, batching, the byte limit,
//! backpressure, flush and close, and events the server rejects.

use std::time::{Duration, Instant};

use casetrail_client::{
    ActorType, Client, Context, Event, Outcome, RecordType, SenderOptions, Timestamp, TrySendError, activity, actor,
};
use serde_json::{Value, json};

use crate::proxy::Proxy;
use crate::support::{TestServer, eventually};

/// Event `n` of a varied set: every member of the ingest shape, hostile strings.
fn varied(n: usize) -> Event {
    let kind = [ActorType::User, ActorType::System, ActorType::Automation, ActorType::Api][n % 4];
    let mut who = actor(kind, format!("u_{n}"), format!("Jane «{n}» 🧑‍⚖️ Doe"));
    if n.is_multiple_of(2) {
        who.email = Some(format!("jane{n}@smithlaw.example"));
    }
    let event =
        Event::new(activity(["case.updated", "client.updated", "communication.email_sent"][n % 3]).unwrap(), who)
            .description(format!("=HYPERLINK(\"x\") <script>alert({n})</script> ' OR 1=1 -- {n}"))
            .related(RecordType::Case, format!("c_{n}"), format!("Smith v. Jones #{n}"))
            .metadata("n", json!(n))
            .metadata("nested", json!({"deep": [n, "two", null]}));
    let event = match n % 3 {
        0 => event.change("status", "Intake", json!({"to": "Active", "n": n})),
        1 => event.snapshots(
            json!({"address": {"city": "Leeds"}, "name": "A"}),
            json!({"address": {"city": "York"}, "name": "A"}),
        ),
        _ => event.context(Context {
            ip: Some("203.0.113.5".into()),
            request_id: Some(format!("r-{n}")),
            ..Context::default()
        }),
    };
    if n.is_multiple_of(5) { event.idempotency_key(format!("crm-{n}")) } else { event }
}

#[tokio::test]
async fn a_batch_arrives_once_each_with_its_content() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    let client = Client::new(&proxy.base, &server.firm.ingest_key).unwrap();
    let options = SenderOptions { max_batch: 100, linger: Duration::from_millis(200), ..SenderOptions::default() };
    let sender = client.sender(options);
    let at = Timestamp::now().minus_days(3);
    let mut receipts = Vec::new();
    for n in 0..250 {
        let event = if n == 7 { varied(n).occurred_at(at) } else { varied(n) };
        receipts.push(sender.send(event).await.unwrap());
    }
    sender.flush().await.unwrap();
    let keys: Vec<String> = receipts.iter().map(|r| r.idempotency_key().to_string()).collect();
    let mut seqs = Vec::new();
    for receipt in receipts {
        match receipt.outcome().await {
            Outcome::Accepted { seq, .. } => seqs.push(seq),
            other => panic!("not accepted: {other:?}"),
        }
    }
    assert_eq!(seqs, (1..=250).collect::<Vec<u64>>(), "once each, in the order queued");
    let ingests = proxy.ingests();
    assert_eq!(ingests.iter().map(|s| s.events).collect::<Vec<_>>(), [100, 100, 50], "batches of max_batch");

    let stored = server.events().await;
    assert_eq!(stored.len(), 250, "nothing twice, nothing else");
    for (n, event) in stored.iter().enumerate() {
        assert_eq!(event["idempotency_key"], keys[n].as_str());
        assert_eq!(event["actor"]["id"], format!("u_{n}"));
        assert_eq!(event["actor"]["name"], format!("Jane «{n}» 🧑‍⚖️ Doe"));
        assert_eq!(event["actor"]["type"], ["user", "system", "automation", "api"][n % 4]);
        let email = if n.is_multiple_of(2) { json!(format!("jane{n}@smithlaw.example")) } else { Value::Null };
        assert_eq!(event["actor"]["email"], email);
        assert_eq!(event["description"], format!("=HYPERLINK(\"x\") <script>alert({n})</script> ' OR 1=1 -- {n}"));
        assert_eq!(
            event["related"],
            json!([{"type": "case", "id": format!("c_{n}"), "name": format!("Smith v. Jones #{n}")}])
        );
        assert_eq!(event["metadata"], json!({"n": n, "nested": {"deep": [n, "two", null]}}));
        let changes = match n % 3 {
            0 => json!([{"field": "status", "before": "Intake", "after": {"to": "Active", "n": n}}]),
            1 => json!([{"field": "address.city", "before": "Leeds", "after": "York"}]),
            _ => json!([]),
        };
        assert_eq!(event["changes"], changes, "event {n}");
        let context = if n % 3 == 2 { json!({"ip": "203.0.113.5", "request_id": format!("r-{n}")}) } else { json!({}) };
        assert_eq!(event["context"], context);
    }
    assert_eq!(keys[5], "crm-5", "a given key is kept");
    assert!(keys[6].starts_with("ctc-"), "a made key: {}", keys[6]);
    assert_eq!(stored[7]["occurred_at"], at.to_string());
    let report = sender.close().await;
    assert_eq!((report.accepted, report.duplicates, report.rejected, report.failed), (250, 0, 0, 0));
}

#[tokio::test]
async fn batches_stay_under_the_body_limit() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    let client = Client::new(&proxy.base, &server.firm.ingest_key).unwrap();
    let sender = client.sender(SenderOptions::default());
    // 15,000 characters of metadata each (within the 16 KiB limit): 150 of them
    // are about 2.3 MiB, so no batch of them fits in one request.
    let filler = "x".repeat(15_000);
    for n in 0..150 {
        let event = Event::new(activity("case.created").unwrap(), actor(ActorType::User, "u", "U"))
            .metadata("filler", filler.as_str())
            .metadata("n", n);
        sender.send(event).await.unwrap();
    }
    let report = sender.close().await;
    assert_eq!((report.accepted, report.failed, report.rejected), (150, 0, 0), "{:?}", report.failures.first());
    let ingests = proxy.ingests();
    assert!(ingests.len() >= 3, "{} requests", ingests.len());
    assert!(ingests.iter().all(|s| s.status == 201 && s.body_bytes <= 1024 * 1024), "{ingests:?}");
    assert_eq!(ingests.iter().map(|s| s.events).sum::<usize>(), 150);
    let stored = server.events().await;
    assert_eq!(
        stored.iter().map(|e| e["metadata"]["n"].as_u64().unwrap()).collect::<Vec<_>>(),
        (0..150).collect::<Vec<u64>>()
    );
}

#[tokio::test]
async fn a_full_queue_answers_full_and_send_waits() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    proxy.hold();
    let client = Client::new(&proxy.base, &server.firm.ingest_key).unwrap();
    let options = SenderOptions { capacity: 4, max_batch: 2, linger: Duration::ZERO, ..SenderOptions::default() };
    let sender = client.sender(options);
    let event =
        |n: i32| Event::new(activity("case.created").unwrap(), actor(ActorType::User, "u", "U")).metadata("n", n);
    // Besides the queue's 4, the worker holds one batch out (held by the proxy) and
    // gathers at most one more: at most 4 + 2 + 2 are taken before the queue is full.
    let mut queued = Vec::new();
    let full = loop {
        match sender.try_send(event(queued.len() as i32)) {
            Ok(receipt) => queued.push(receipt),
            Err(TrySendError::Full(back)) => break back,
            Err(TrySendError::Closed(_)) => panic!("closed"),
        }
        assert!(queued.len() <= 8, "the queue never filled");
        // Let the worker take what it can, so the count is the steady state.
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(queued.len() >= 4, "full after only {}", queued.len());
    assert_eq!(full.to_json()["metadata"]["n"], queued.len(), "the refused event comes back whole");
    let held = eventually(Duration::from_secs(10), async || (proxy.arrived() >= 1).then_some(())).await;
    assert!(held.is_some() && proxy.ingests().is_empty(), "one batch is held at the proxy");
    // `send` waits while the queue is full...
    assert!(tokio::time::timeout(Duration::from_millis(300), sender.send(event(-1))).await.is_err());
    // ... and goes through once the server answers again.
    proxy.open();
    let last =
        tokio::time::timeout(Duration::from_secs(10), sender.send(*full)).await.expect("send waited forever").unwrap();
    queued.push(last);
    let report = sender.close().await;
    assert_eq!(report.accepted as usize, queued.len());
    let mut seqs = Vec::new();
    for receipt in queued {
        seqs.push(receipt.outcome().await.seq().unwrap());
    }
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    // The send that gave up waiting queued nothing.
    assert_eq!(server.events().await.len(), seqs.len());
}

#[tokio::test]
async fn close_sends_what_is_queued_without_waiting_for_the_linger() {
    let server = TestServer::start().await;
    let client = Client::new(&server.base, &server.firm.ingest_key).unwrap();
    let options = SenderOptions { linger: Duration::from_secs(30), ..SenderOptions::default() };
    let sender = client.sender(options);
    for n in 0..37 {
        sender.send(varied(n)).await.unwrap();
    }
    let started = Instant::now();
    let report = sender.close().await;
    assert!(started.elapsed() < Duration::from_secs(10), "close waited for the linger");
    assert_eq!((report.accepted, report.failed, report.rejected), (37, 0, 0));
    assert!(report.all_stored() && report.failures.is_empty());
    assert_eq!(server.events().await.len(), 37);
}

#[tokio::test]
async fn a_rejected_events_detail_reaches_the_caller_and_the_others_are_stored() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    let client = Client::new(&proxy.base, &server.firm.ingest_key).unwrap();
    let sender = client.sender(SenderOptions { linger: Duration::from_secs(5), ..SenderOptions::default() });
    let base = |n: usize| {
        Event::new(activity("case.updated").unwrap(), actor(ActorType::User, "u", "U"))
            .description(format!("event {n}"))
    };
    let in_an_hour = Timestamp::now().plus_millis(3_600_000);
    let events = vec![
        base(0),
        base(1).occurred_at(in_an_hour),
        base(2),
        base(3).description("d".repeat(2001)).related(RecordType::Case, "", "no id"),
        base(4),
    ];
    let mut receipts = Vec::new();
    for event in events {
        receipts.push(sender.send(event).await.unwrap());
    }
    let report = sender.close().await;
    let mut outcomes = Vec::new();
    for receipt in receipts {
        outcomes.push(receipt.outcome().await);
    }
    let seqs: Vec<Option<u64>> = outcomes.iter().map(Outcome::seq).collect();
    assert_eq!(seqs, [Some(1), None, Some(2), None, Some(3)]);
    let Outcome::Rejected(one) = &outcomes[1] else { panic!("{:?}", outcomes[1]) };
    assert_eq!(one.status, 422);
    assert_eq!(one.problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["occurred_at"]);
    assert!(one.problems[0].message.contains("future"), "{one}");
    let Outcome::Rejected(three) = &outcomes[3] else { panic!("{:?}", outcomes[3]) };
    let mut fields: Vec<&str> = three.problems.iter().map(|p| p.field.as_str()).collect();
    fields.sort();
    assert_eq!(fields, ["description", "related[0].id"]);
    assert_eq!((report.accepted, report.rejected, report.failed), (3, 2, 0));
    let rejected: Vec<String> =
        report.failures.iter().map(|f| f.event.to_json()["description"].as_str().unwrap()[..7].to_string()).collect();
    assert_eq!(rejected, ["event 1", "ddddddd"]);
    // One refused request, then the three good events once, in order.
    assert_eq!(proxy.ingests().iter().map(|s| (s.status, s.events)).collect::<Vec<_>>(), [(422, 5), (201, 3)]);
    let stored: Vec<Value> = server.events().await.iter().map(|e| e["description"].clone()).collect();
    assert_eq!(stored, ["event 0", "event 2", "event 4"]);
}
