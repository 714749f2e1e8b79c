//! Streams delivering to receivers of our own on 127.0.0.1 (docs/API.md §13): every
//! event, in order, through failures, restarts and a second server; filters,
//! formats, the HMAC signature, Splunk HEC's shape and RFC 5424 syslog frames.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::streams::{create, spawn_private};
use crate::support::receivers::{HttpReceiver, SyslogReceiver, seqs};
use crate::support::{TestApp, event};

pub const WITHIN: Duration = Duration::from_secs(15);

pub fn private() -> casetrail_server::ServerConfig {
    casetrail_server::ServerConfig { allow_private_stream_destinations: true, ..Default::default() }
}

/// A recent instant with milliseconds `.060`, as RFC 3339 and as epoch seconds with
/// three decimals.
fn recent() -> (String, String) {
    let secs = jiff::Timestamp::now().as_second() - 60;
    let at = jiff::Timestamp::from_second(secs).unwrap();
    (at.strftime("%Y-%m-%dT%H:%M:%S.060Z").to_string(), format!("{secs}.060"))
}

pub async fn ingest_n(app: &TestApp, from: usize, n: usize) {
    let events: Vec<Value> = (from..from + n).map(|i| event("case.updated", &format!("event {i}"))).collect();
    app.ingest_ok(&json!({ "events": events })).await;
}

pub async fn stream_state(app: &TestApp, id: &str) -> Value {
    app.admin_get(&format!("/api/v1/streams/{id}")).await.1
}

/// Waits until the stream has failed `n` times in a row: it is then in its backoff.
pub async fn failed(app: &TestApp, id: &str, n: u64) -> Value {
    for _ in 0..200 {
        let state = stream_state(app, id).await;
        if state["failures"].as_u64().unwrap_or(0) >= n {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stream did not fail {n} times: {}", stream_state(app, id).await)
}

/// The stream once its position reached `seq` (the acknowledgement is written just
/// after the receiver answered).
async fn settled(app: &TestApp, id: &str, seq: u64) -> Value {
    for _ in 0..100 {
        let stream = stream_state(app, id).await;
        if stream["delivered_seq"].as_u64() == Some(seq) {
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stream_state(app, id).await
}

#[tokio::test]
async fn a_webhook_gets_every_new_event_in_order_signed() {
    let app = spawn_private().await;
    let receiver = HttpReceiver::start().await;
    ingest_n(&app, 0, 2).await;
    let (status, created) =
        create(&app, json!({"name": "hook", "kind": "webhook", "url": format!("{}/hook", receiver.base)})).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    ingest_n(&app, 2, 3).await;
    let events = receiver.wait_for(3, WITHIN).await;
    // Seqs 1–2 existed and 3 is the stream's creation record: it starts after them.
    assert_eq!(seqs(&events), [4, 5, 6], "only events after the creation, in seq order");
    assert_eq!(events[0]["description"], "event 2");
    assert_eq!(events[0]["hash"].as_str().unwrap().len(), 64, "the API's object, whole");
    let first = &receiver.received()[0];
    assert_eq!(first.path, "/hook");
    assert_eq!(first.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(body["stream_id"], id.as_str());
    assert!(first.headers["x-casetrail-delivery"].to_str().unwrap().starts_with(&id));
    // The signature verifies with the secret shown at creation.
    let signature = first.headers["x-casetrail-signature"].to_str().unwrap();
    let (t, v1) = signature.strip_prefix("t=").unwrap().split_once(",v1=").unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&first.body);
    assert_eq!(hex::encode(mac.finalize().into_bytes()), v1);
    let t: i64 = t.parse().unwrap();
    assert!((jiff::Timestamp::now().as_second() - t).abs() < 60);
    let stream = settled(&app, &id, 6).await;
    assert_eq!(stream["delivered_seq"], 6);
    assert_eq!(stream["failures"], 0);
    assert!(stream["last_delivery_at"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_gets_every_event_once_it_answers_again_even_across_a_restart() {
    let app = spawn_private().await;
    let receiver = HttpReceiver::start().await;
    receiver.fail(true);
    let (_, created) = create(&app, json!({"name": "hook", "kind": "webhook", "url": receiver.base})).await;
    let id = created["id"].as_str().unwrap().to_string();
    ingest_n(&app, 0, 3).await;
    // It fails, with backoff, and says so.
    let stream = failed(&app, &id, 2).await;
    assert_eq!(stream["last_error"], "the receiver answered 503 Service Unavailable");
    assert_eq!(stream["delivered_seq"], 1, "nothing acknowledged after its creation record, nothing skipped");
    // The server goes away in the middle; another starts on the same database.
    let second = app.another_server_with(private()).await;
    app.stop().await;
    ingest_n(&second, 3, 2).await;
    receiver.fail(false);
    let events = receiver.wait_for(5, Duration::from_secs(30)).await;
    assert_eq!(seqs(&events), [2, 3, 4, 5, 6], "seq 1 is the creation record");
    let stream = stream_state(&second, &id).await;
    assert_eq!((stream["failures"].as_u64(), stream["last_error"].is_null()), (Some(0), true));
    second.stop().await;
}

#[tokio::test]
async fn a_batch_failing_mid_round_keeps_the_batches_acknowledged_before_it() {
    let app = spawn_private().await;
    let receiver = HttpReceiver::start().await;
    // 1,500 events behind: one round reads them all and sends three batches of 500.
    for from in [0, 750] {
        ingest_n(&app, from, 750).await;
    }
    receiver.fail_after(1);
    let (_, created) =
        create(&app, json!({"name": "hook", "kind": "webhook", "url": receiver.base, "from_seq": 1})).await;
    let id = created["id"].as_str().unwrap().to_string();
    let stream = failed(&app, &id, 1).await;
    assert_eq!(stream["delivered_seq"], 500, "the first batch was acknowledged, the second was not");
    assert_eq!(seqs(&receiver.events()), (1..=500).collect::<Vec<u64>>());
    receiver.fail(false);
    // The rest, and the stream's creation record (seq 1501).
    let events = receiver.wait_for(1501, WITHIN).await;
    assert_eq!(seqs(&events), (1..=1501).collect::<Vec<u64>>(), "in order, none twice, none skipped");
    let refused = receiver.refused();
    let retried = receiver.received()[1].headers["x-casetrail-delivery"].to_str().unwrap().to_string();
    assert_eq!(refused[0], format!("{id}:501-1000"));
    assert_eq!(retried, refused[0], "the batch tried again keeps its delivery id");
    let stream = settled(&app, &id, 1501).await;
    assert_eq!((stream["delivered_seq"].as_u64(), stream["failures"].as_u64()), (Some(1501), Some(0)));
    app.stop().await;
}

#[tokio::test]
async fn filters_and_the_ocsf_format_are_exact_and_replay_resends() {
    let app = spawn_private().await;
    let receiver = HttpReceiver::start().await;
    let body = json!({"name": "ocsf", "kind": "webhook", "url": receiver.base, "format": "ocsf", "from_seq": 1,
                      "filters": {"activity": ["team", "case.deleted"], "actor": ["u_9"]}});
    let (_, created) = create(&app, body).await;
    let id = created["id"].as_str().unwrap().to_string();
    let mine = |activity: &str, actor: &str| {
        json!({"actor": {"id": actor, "name": "Ann"}, "activity": activity, "description": activity,
               "context": {"ip": "203.0.113.5"}})
    };
    let batch = json!({"events": [mine("case.created", "u_9"), mine("team.user_invited", "u_9"),
                                  mine("case.deleted", "u_1"), mine("case.deleted", "u_9")]});
    app.ingest_ok(&batch).await;
    let events = receiver.wait_for(2, WITHIN).await;
    // Seq 1 is the stream's own creation record, which the filters leave out too.
    assert_eq!(seqs(&events), [3, 5]);
    assert_eq!(events[0]["class_uid"], 6003);
    assert_eq!(events[0]["api"]["operation"], "team.user_invited");
    assert_eq!(events[0]["actor"]["user"]["uid"], "u_9");
    assert_eq!(events[0]["src_endpoint"]["ip"], "203.0.113.5");
    assert_eq!(events[1]["unmapped"]["casetrail"]["activity"], "case.deleted");
    // The position passed over the events the filters left out.
    assert_eq!(settled(&app, &id, 5).await["delivered_seq"], 5);
    let (status, _) = app
        .admin_send(reqwest::Method::POST, &format!("/api/v1/streams/{id}/replay"), Some(json!({"from_seq": 4})))
        .await;
    assert_eq!(status, 200);
    let events = receiver.wait_for(3, WITHIN).await;
    assert_eq!(seqs(&events), [3, 5, 5], "replay from 4 resends the first matching event at or after it");
    app.stop().await;
}

#[tokio::test]
async fn splunk_hec_gets_one_line_per_event_with_its_token() {
    let app = spawn_private().await;
    let receiver = HttpReceiver::start().await;
    let body = json!({"name": "splunk", "kind": "splunk_hec", "url": format!("{}/", receiver.base), "token": "t0k3n"});
    assert_eq!(create(&app, body).await.0, 201);
    let (at, epoch) = recent();
    let mut e = event("case.created", "hec");
    e["occurred_at"] = json!(at);
    app.ingest_ok(&json!({"events": [e, event("case.updated", "hec 2")]})).await;
    let lines = receiver.wait_for(2, WITHIN).await;
    let got = &receiver.received()[0];
    assert_eq!(got.path, "/services/collector/event");
    assert_eq!(got.headers["authorization"], "Splunk t0k3n");
    let text = std::str::from_utf8(&got.body).unwrap();
    assert!(text.starts_with(&format!("{{\"time\":{epoch},\"sourcetype\":\"casetrail\"")), "{text}");
    assert_eq!(lines[0]["source"], format!("casetrail:{}", app.account_id()));
    assert_eq!(lines[0]["event"]["description"], "hec");
    assert_eq!(seqs(&lines), [2, 3]);
    app.stop().await;
}

#[tokio::test]
async fn syslog_gets_rfc_5424_messages_with_octet_counting() {
    let app = spawn_private().await;
    let receiver = SyslogReceiver::start().await;
    let url = format!("tcp://{}", receiver.addr);
    assert_eq!(create(&app, json!({"name": "syslog", "kind": "syslog", "url": url})).await.0, 201);
    let (at, _) = recent();
    let mut e = event("team.user_role_changed", "perm");
    e["occurred_at"] = json!(at);
    app.ingest_ok(&json!({"events": [e, event("case.updated", "two")]})).await;
    let messages = receiver.wait_for(2, WITHIN).await;
    let (head, json_part) = messages[0].split_at(messages[0].find(" - {").unwrap());
    let fields: Vec<&str> = head.split(' ').collect();
    assert_eq!(fields[0], "<85>1");
    assert_eq!(fields[1], at);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(fields[2], host.trim(), "the server's host name");
    assert_eq!(&fields[3..], ["casetrail", "-", "team.user_role_changed"]);
    let body: Value = serde_json::from_str(&json_part[3..]).unwrap();
    assert_eq!((body["seq"].as_u64(), body["description"].as_str()), (Some(2), Some("perm")));
    assert!(messages[1].contains(" case.updated - {"));
    app.stop().await;
}

#[tokio::test]
async fn with_two_servers_each_event_is_delivered_once_in_order() {
    let first = spawn_private().await;
    let second = first.another_server_with(private()).await;
    let receiver = HttpReceiver::start().await;
    assert_eq!(create(&first, json!({"name": "hook", "kind": "webhook", "url": receiver.base})).await.0, 201);
    for round in 0..6 {
        let app = if round % 2 == 0 { &first } else { &second };
        ingest_n(app, round * 5, 5).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let events = receiver.wait_for(30, WITHIN).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Seq 1 is the stream's creation record; the stream starts after it.
    assert_eq!(seqs(&receiver.events()), (2..=31).collect::<Vec<u64>>(), "each once, in order");
    assert_eq!(events.len(), 30);
    second.stop().await;
    first.stop().await;
}

/// The check is made again at every connection: a stream created while private
/// destinations were allowed is not delivered by a server that does not allow them,
/// whether its host is a name (checked by the resolver) or an address.
#[tokio::test]
async fn a_private_destination_is_refused_at_connect_time_too() {
    let first = spawn_private().await;
    let receiver = HttpReceiver::start().await;
    let by_name = receiver.base.replace("127.0.0.1", "localhost");
    let (_, named) = create(&first, json!({"name": "named", "kind": "webhook", "url": by_name})).await;
    let (_, literal) = create(&first, json!({"name": "literal", "kind": "webhook", "url": receiver.base})).await;
    let strict = first.another_server().await;
    first.stop().await;
    // The first server may have sent the second stream's creation record already:
    // from here on, nothing more reaches the receiver.
    let (named, literal) = (
        stream_state(&strict, named["id"].as_str().unwrap()).await,
        stream_state(&strict, literal["id"].as_str().unwrap()).await,
    );
    let received = receiver.received().len();
    ingest_n(&strict, 0, 2).await;
    for stream in [&named, &literal] {
        let id = stream["id"].as_str().unwrap();
        let mut state = Value::Null;
        for _ in 0..100 {
            state = stream_state(&strict, id).await;
            if state["failures"].as_u64().unwrap_or(0) >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let error = state["last_error"].as_str().unwrap_or_default();
        assert!(error.contains("private, loopback or link-local"), "{state}");
        assert_eq!(state["delivered_seq"], stream["delivered_seq"], "nothing skipped");
    }
    assert_eq!(receiver.received().len(), received, "the strict server sent nothing");
    strict.stop().await;
}
