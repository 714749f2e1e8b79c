//! Three `casetrail serve` processes on one PostgreSQL database act as one service
//! (docs/SCALING.md): driven at once through all three, the chain stays gapless and
//! verifies; an idempotency key sent to two servers at once stores one event; a key
//! or a session made on one works on the others, and a revocation on one stops the
//! key on all; two retention runs at once purge each event once, in exactly one
//! `system_log.purged`; and a server killed with SIGKILL in the middle of ingest
//! loses nothing it acknowledged.
//!
//! The database is a fresh schema in the one `CASETRAIL_TEST_POSTGRES_URL` names
//! (`scripts/test` makes a throwaway database per run). The test never skips.

mod cli_support;
mod multi_server_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use casetrail_store::Store;
use multi_server_support::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_on_one_database_act_as_one_service() {
    let cluster = Cluster::start(3).await;
    let store: Arc<dyn Store> = cluster.store.clone();
    let account = cluster.firm.account;

    concurrent_ingest_through_every_server(&cluster).await;
    one_idempotency_key_sent_to_two_servers_at_once(&cluster).await;
    credentials_cross_servers(&cluster).await;
    let ring_answer = checkpoints_and_public_keys_agree(&cluster).await;
    two_retention_runs_at_once(&cluster).await;
    a_server_killed_mid_ingest_loses_nothing_acknowledged(cluster).await;

    // The whole chain, read from the database: gapless from 1 and verifying.
    let head = store.head(account).await.unwrap().expect("events were written");
    let tombstones = store.tombstones(account).await.unwrap();
    let purged: u64 = tombstones.iter().map(|t| t.last_seq - t.first_seq + 1).sum();
    let chain = store.chain(account, 0, u32::MAX).await.unwrap();
    assert_eq!(chain.len() as u64 + purged, head.seq, "every seq is an event or inside a tombstone");
    // With the key ring the database holds: what every server and `verify` use.
    let mut ring = casetrail_core::integrity::KeyRing::new([]);
    for key in &ring_answer["keys"].as_array().expect("keys")[..] {
        ring.add_base64(key["public_key"].as_str().unwrap()).expect("an Ed25519 public key");
    }
    let mut stored: Vec<String> = store.public_keys().await.unwrap().into_iter().map(|k| k.key_id).collect();
    stored.sort();
    let listed: Vec<String> = ring.public_keys().into_iter().map(|(id, _)| id).collect();
    assert_eq!(listed, stored, "the endpoint lists the database's ring");
    let report = casetrail_store::testing::verify::verify_chain(store.as_ref(), account, &ring).await;
    assert!(report.ok(), "the chain does not verify: {:#?}", report.problems);
    assert_eq!(report.reached, head.seq);
}

/// 3 servers × 4 clients × 25 requests of 8 events, all at once.
async fn concurrent_ingest_through_every_server(cluster: &Cluster) {
    let before = cluster.head_seq().await;
    let mut tasks = tokio::task::JoinSet::new();
    for (s, server) in cluster.servers.iter().enumerate() {
        for c in 0..4 {
            let (url, key) = (server.url.clone(), cluster.firm.ingest_key.clone());
            tasks.spawn(async move {
                let http = reqwest::Client::new();
                let mut seqs = Vec::new();
                for r in 0..25 {
                    let events: Vec<Value> =
                        (0..8).map(|i| event(&format!("server {s} client {c} req {r} #{i}"))).collect();
                    let answer = ingest(&http, &url, &key, json!({ "events": events })).await;
                    seqs.extend(answer.iter().map(|e| e["seq"].as_u64().unwrap()));
                }
                seqs
            });
        }
    }
    let mut seqs = Vec::new();
    while let Some(done) = tasks.join_next().await {
        seqs.extend(done.unwrap());
    }
    seqs.sort_unstable();
    let expected: Vec<u64> = (before + 1..=before + 2400).collect();
    assert_eq!(seqs, expected, "2400 events, each seq handed out once, no gap");
    for server in &cluster.servers {
        let report = cluster.admin_get(server, "/api/v1/integrity").await;
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["last_seq"], before + 2400, "every server sees the same head");
    }
}

/// Twenty keys, each sent to servers 0 and 1 at the same instant.
async fn one_idempotency_key_sent_to_two_servers_at_once(cluster: &Cluster) {
    let http = reqwest::Client::new();
    for k in 0..20 {
        let body = json!({ "idempotency_key": format!("twice-{k}"), "actor": {"id": "u1", "name": "Jane"},
                           "activity": "case.updated", "description": format!("sent twice {k}") });
        let key = &cluster.firm.ingest_key;
        let (a, b) = tokio::join!(
            ingest(&http, &cluster.servers[0].url, key, body.clone()),
            ingest(&http, &cluster.servers[1].url, key, body.clone())
        );
        assert_eq!(a[0]["id"], b[0]["id"], "both servers answer the one stored event");
        let duplicates = [&a[0], &b[0]].iter().filter(|e| e["duplicate"] == true).count();
        assert_eq!(duplicates, 1, "exactly one of the two stored it: {a:?} {b:?}");
    }
    let found = cluster.admin_get(&cluster.servers[2], "/api/v1/events?q=twice&limit=100").await;
    assert_eq!(found["events"].as_array().unwrap().len(), 20, "one event per key");
}

/// A key made on server 0 works on 1 and 2; revoked on 0, it fails on 2 at once. A
/// session signed in on 1 reads on 0 and 2.
async fn credentials_cross_servers(cluster: &Cluster) {
    let http = reqwest::Client::new();
    let [a, b, c] = [&cluster.servers[0], &cluster.servers[1], &cluster.servers[2]];
    let created: Value = http
        .post(format!("{}/api/v1/api-keys", a.url))
        .bearer_auth(&cluster.firm.admin_key)
        .json(&json!({"name": "crm", "scopes": ["events:write"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (created["id"].as_str().unwrap(), created["key"].as_str().unwrap());
    ingest(&http, &b.url, secret, event("made on a, used on b")).await;
    let revoked = http
        .delete(format!("{}/api/v1/api-keys/{id}", a.url))
        .bearer_auth(&cluster.firm.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let refused = http
        .post(format!("{}/api/v1/events", c.url))
        .bearer_auth(secret)
        .json(&event("after the revocation"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "revoked on a, refused on c at once");

    let session = sign_in(&b.url, &cluster.firm.admin_email, &cluster.firm.admin_password).await;
    for server in [a, c] {
        let page = session.get(format!("{}/api/v1/events?limit=1", server.url)).send().await.unwrap();
        assert_eq!(page.status(), 200, "a session signed in on one server works on {}", server.url);
    }
}

/// A checkpoint signed by one server verifies on the others, which list the same keys.
async fn checkpoints_and_public_keys_agree(cluster: &Cluster) -> Value {
    let http = reqwest::Client::new();
    let signed = http
        .post(format!("{}/api/v1/integrity/checkpoints", cluster.servers[2].url))
        .bearer_auth(&cluster.firm.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 201);
    let keys = cluster.admin_get(&cluster.servers[0], "/api/v1/integrity/public-keys").await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1, "one key, shared by every server: {keys}");
    assert_eq!(keys["keys"][0]["key_id"], cluster.key_id.as_str());
    for server in &cluster.servers {
        assert_eq!(cluster.admin_get(server, "/api/v1/integrity/public-keys").await, keys);
        let report = cluster.admin_get(server, "/api/v1/integrity?since=checkpoint").await;
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["checkpoint"]["key_id"], cluster.key_id.as_str());
    }
    keys
}

/// 3,000 events from 200 days ago; retention run through servers 0 and 1 at once.
async fn two_retention_runs_at_once(cluster: &Cluster) {
    let old = cluster.append_old_events(3_000).await;
    let http = reqwest::Client::new();
    let run = |server: &Server| {
        http.post(format!("{}/api/v1/retention/run", server.url)).bearer_auth(&cluster.firm.admin_key).send()
    };
    let (a, b) = tokio::join!(run(&cluster.servers[0]), run(&cluster.servers[1]));
    let (a, b): (Value, Value) = (a.unwrap().json().await.unwrap(), b.unwrap().json().await.unwrap());
    // Each server's own hourly run may have taken part of it first; what the two
    // answer is what they removed themselves.
    let answered = a["purged"].as_u64().unwrap() + b["purged"].as_u64().unwrap();
    assert!(answered <= 3_000, "no event is purged twice: {a} {b}");
    let preview = cluster.admin_get(&cluster.servers[2], "/api/v1/retention/preview").await;
    assert_eq!(preview["events"], 0, "nothing purgeable is left: {preview}");

    let records = cluster.admin_get(&cluster.servers[2], "/api/v1/events?activity=system_log.purged&limit=100").await;
    let mut counted = BTreeSet::new();
    let mut sum = 0;
    for record in records["events"].as_array().unwrap() {
        let m = &record["metadata"];
        sum += m["purged"].as_u64().unwrap();
        for seq in m["first_seq"].as_u64().unwrap()..=m["last_seq"].as_u64().unwrap() {
            if old.contains(&seq) {
                assert!(counted.insert(seq), "seq {seq} is in two purge records: {records:#}");
            }
        }
    }
    assert_eq!(sum, 3_000, "the purge records count every purged event once: {records}");
    assert_eq!(counted, old, "and cover exactly the old events");
}

/// Clients ingest through server 2 until it is killed; every event it acknowledged
/// is in the log, read through server 0.
async fn a_server_killed_mid_ingest_loses_nothing_acknowledged(mut cluster: Cluster) {
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..4 {
        let (url, key, acked) = (cluster.servers[2].url.clone(), cluster.firm.ingest_key.clone(), acknowledged.clone());
        clients.spawn(async move {
            let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
            for r in 0..2_000 {
                let events: Vec<Value> =
                    (0..5).map(|i| event(&format!("doomed server client {c} req {r} #{i}"))).collect();
                let sent =
                    http.post(format!("{url}/api/v1/events")).bearer_auth(&key).json(&json!({ "events": events }));
                let Ok(response) = sent.send().await else { return };
                if response.status() != 201 {
                    return;
                }
                let Ok(body) = response.json::<Value>().await else { return };
                let ids = body["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string());
                acked.lock().unwrap().extend(ids);
            }
        });
    }
    // Kill it once it has acknowledged a good number, in the middle of the stream (the
    // clients would send 40,000 events: far more than are acknowledged by then).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < 1_500 {
        assert!(std::time::Instant::now() < deadline, "server 2 acknowledged 1,500 events within 2 minutes");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    cluster.servers[2].kill();
    while clients.join_next().await.is_some() {}
    let acked = acknowledged.lock().unwrap().clone();
    assert!(acked.len() >= 1_500);
    let http = reqwest::Client::new();
    for id in &acked {
        let found = http
            .get(format!("{}/api/v1/events/{id}", cluster.servers[0].url))
            .bearer_auth(&cluster.firm.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), 200, "acknowledged event {id} is in the log");
    }
    let report = cluster.admin_get(&cluster.servers[0], "/api/v1/integrity").await;
    assert_eq!(report["ok"], true, "{report}");
}
