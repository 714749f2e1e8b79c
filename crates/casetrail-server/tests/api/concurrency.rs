//! Many clients at once: every acknowledged event stored exactly once, a gapless
//! chain, and a graceful shutdown that finishes in-flight commits.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::support::{event, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_share_one_gapless_chain() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..8 {
        let app = app.clone();
        tasks.spawn(async move {
            let mut acked = Vec::new();
            for i in 0..25 {
                let mut e = event("communication.email_sent", &format!("client {client} email {i}"));
                // Every client also resends another client's key: stored once.
                e["idempotency_key"] = json!(format!("k-{}-{}", client % 4, i));
                let body =
                    if i % 5 == 0 { json!({"events": [e.clone(), event("case.updated", "batch mate")]}) } else { e };
                let answer = app.ingest_ok(&body).await;
                for a in answer["events"].as_array().unwrap() {
                    acked.push((a["id"].as_str().unwrap().to_string(), a["seq"].as_u64().unwrap()));
                }
            }
            acked
        });
    }
    let mut acked = HashSet::new();
    while let Some(result) = tasks.join_next().await {
        acked.extend(result.unwrap());
    }

    // Walk the chain as stored: seqs 1..=N, each linked to the one before.
    let mut seqs = Vec::new();
    let mut prev = "0".repeat(64);
    let mut cursor: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/events?limit=500&cursor={c}"),
            None => "/api/v1/events?limit=500".to_string(),
        };
        let (_, page) = app.admin_get(&path).await;
        all.extend(page["events"].as_array().unwrap().clone());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    all.sort_by_key(|e| e["seq"].as_u64().unwrap());
    for e in &all {
        seqs.push(e["seq"].as_u64().unwrap());
        assert_eq!(e["prev_hash"].as_str().unwrap(), prev, "seq {}", e["seq"]);
        prev = e["hash"].as_str().unwrap().to_string();
    }
    let n = all.len() as u64;
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "gapless");
    // 4 distinct key families × 25 keys stored once each, plus 8 × 5 batch mates.
    assert_eq!(n, 100 + 40);
    let stored: HashSet<(String, u64)> =
        all.iter().map(|e| (e["id"].as_str().unwrap().to_string(), e["seq"].as_u64().unwrap())).collect();
    assert!(acked.is_subset(&stored), "every acknowledged event is stored");
    assert_eq!(acked.len(), stored.len(), "and nothing unacknowledged is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_commits() {
    let app = spawn_app().await;
    let client = app.client.clone();
    let url = app.url("/api/v1/events");
    let key = app.firm.ingest_key.clone();
    let mut sends = Vec::new();
    for i in 0..20 {
        let (client, url, key) = (client.clone(), url.clone(), key.clone());
        sends.push(tokio::spawn(async move {
            let body: Vec<Value> = (0..50).map(|j| event("case.updated", &format!("{i}-{j}"))).collect();
            client.post(url).bearer_auth(key).json(&json!({ "events": body })).send().await.map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let store = app.store.clone();
    let account = app.account_id();
    app.stop().await;
    let mut acknowledged = 0;
    for send in sends {
        if let Ok(Ok(201)) = send.await {
            acknowledged += 50;
        }
    }
    let head = store.head(account).await.unwrap().map(|h| h.seq).unwrap_or(0);
    assert!(head >= acknowledged, "head {head} < acknowledged {acknowledged}");
    assert_eq!(head % 50, 0, "batches are atomic");
}
