//! Many clients at once: every acknowledged event stored exactly once, a gapless
//! chain, and a graceful shutdown that finishes in-flight commits.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// Batches each sender posts, and the most posts one sender makes (a bound, far above
/// what the test needs, so a server that never stops cannot hang it).
const BATCH: u64 = 50;
const MAX_POSTS: usize = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_commits() {
    let app = spawn_app().await;
    let stopping = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for sender in 0..8 {
        let (client, url, key) = (app.client.clone(), app.url("/api/v1/events"), app.firm.ingest_key.clone());
        let stopping = stopping.clone();
        // Posts until the server stops answering; counts what it acknowledged, and
        // which acknowledgements were for posts begun before shutdown and answered
        // after it began: the ones shutdown had to finish.
        senders.push(tokio::spawn(async move {
            let (mut acknowledged, mut finished_by_shutdown) = (0u64, 0u64);
            for post in 0..MAX_POSTS {
                let body: Vec<Value> =
                    (0..BATCH).map(|j| event("case.updated", &format!("{sender}-{post}-{j}"))).collect();
                let begun_before_shutdown = !stopping.load(Ordering::SeqCst);
                let answer = client.post(&url).bearer_auth(&key).json(&json!({ "events": body })).send().await;
                let Ok(answer) = answer else { break };
                assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap_or_default());
                acknowledged += BATCH;
                if begun_before_shutdown && stopping.load(Ordering::SeqCst) {
                    finished_by_shutdown += 1;
                }
            }
            (acknowledged, finished_by_shutdown)
        }));
    }
    // Shut down only once commits are under way (a bounded wait).
    let (store, account) = (app.store.clone(), app.account_id());
    let head = async || store.head(account).await.unwrap().map_or(0, |h| h.seq);
    let deadline = Instant::now() + Duration::from_secs(20);
    while head().await < 10 * BATCH {
        assert!(Instant::now() < deadline, "no commits after 20 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stopping.store(true, Ordering::SeqCst);
    app.stop().await;

    let (mut acknowledged, mut finished_by_shutdown) = (0, 0);
    for sender in senders {
        let (a, f) = sender.await.unwrap();
        acknowledged += a;
        finished_by_shutdown += f;
    }
    assert!(finished_by_shutdown > 0, "no post was in flight when shutdown began");
    let head = head().await;
    assert!(acknowledged >= 10 * BATCH, "acknowledged {acknowledged}");
    assert_eq!(head, acknowledged, "every acknowledged batch is stored, and nothing else");
}
