//! `GET /api/v1/integrity` and checkpoints: an intact store verifies clean, and an
//! event altered behind the store's back is named with its seq. (Every other kind of
//! tampering needs the backend's own tables: each backend's crate tests those.)

use serde_json::{Value, json};

use crate::support::{TestApp, event, spawn_app};

async fn seed(app: &TestApp, n: usize) {
    let events: Vec<Value> = (0..n).map(|i| event("case.updated", &format!("event {}", i + 1))).collect();
    app.ingest_ok(&json!({ "events": events })).await;
}

async fn problems(app: &TestApp, query: &str) -> Vec<(u64, String)> {
    let (status, body) = app.admin_get(&format!("/api/v1/integrity{query}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], body["problems"].as_array().unwrap().is_empty());
    body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["seq"].as_u64().unwrap(), p["kind"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn an_intact_chain_verifies_with_its_checkpoint() {
    let app = spawn_app().await;
    seed(&app, 12).await;
    let (status, cp) = app.admin_send(reqwest::Method::POST, "/api/v1/integrity/checkpoints", None).await;
    assert_eq!(status, 201);
    assert_eq!(cp["seq"], 12);
    let (_, body) = app.admin_get("/api/v1/integrity").await;
    assert_eq!(body["ok"], true);
    assert_eq!(
        (body["events_checked"].as_u64(), body["first_seq"].as_u64(), body["last_seq"].as_u64()),
        (Some(12), Some(1), Some(12))
    );
    assert_eq!(body["checkpoint"], cp);
    let (_, list) = app.admin_get("/api/v1/events?limit=1").await;
    assert_eq!(body["head_hash"], list["events"][0]["hash"]);

    // The checkpoint's signature verifies with the published key, over the JCS of its
    // four members, checked here with ed25519-dalek directly.
    let (_, key) = app.admin_get("/api/v1/integrity/public-key").await;
    assert_eq!(key["algorithm"], "ed25519");
    assert_eq!(key["key_id"], cp["key_id"]);
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(key["public_key"].as_str().unwrap()).unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw.try_into().unwrap()).unwrap();
    let message = format!(
        "{{\"account_id\":\"{}\",\"hash\":\"{}\",\"seq\":12,\"signed_at\":\"{}\"}}",
        cp["account_id"].as_str().unwrap(),
        cp["hash"].as_str().unwrap(),
        cp["signed_at"].as_str().unwrap()
    );
    let sig = base64::engine::general_purpose::STANDARD.decode(cp["signature"].as_str().unwrap()).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
    vk.verify_strict(message.as_bytes(), &sig).unwrap();

    let (_, list) = app.admin_get("/api/v1/integrity/checkpoints").await;
    assert_eq!(list["checkpoints"][0], cp);
    app.stop().await;
}

#[tokio::test]
async fn an_event_altered_behind_the_stores_back_is_reported_with_its_seq() {
    // Every kind of tampering, each named with its seq, is each backend's own test
    // (its tables are its own); here, how the API reports one.
    let app = spawn_app().await;
    seed(&app, 10).await;
    assert!(problems(&app, "").await.is_empty());
    app.tamper_event_body(3, "event 3", "event X").await;
    assert_eq!(problems(&app, "").await, [(3, "hash_mismatch".to_string())]);
    let (_, body) = app.admin_get("/api/v1/integrity").await;
    assert_eq!((body["ok"].as_bool(), body["events_checked"].as_u64()), (Some(false), Some(10)));
    let message = body["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains("hash"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn incremental_verification_starts_after_the_newest_good_checkpoint() {
    let app = spawn_app().await;
    seed(&app, 20).await;
    app.admin_send(reqwest::Method::POST, "/api/v1/integrity/checkpoints", None).await;
    seed(&app, 5).await;
    let (_, body) = app.admin_get("/api/v1/integrity?since=checkpoint").await;
    assert_eq!(body["ok"], true);
    assert_eq!(body["events_checked"], 5);
    assert_eq!(body["first_seq"], 21);
    assert_eq!(body["incremental_from_seq"], 20);
    // A change after the checkpoint is still found incrementally.
    app.tamper_event_body(23, "event 3", "event Y").await;
    assert_eq!(problems(&app, "?since=checkpoint").await, [(23, "hash_mismatch".to_string())]);
    let (status, _) = app.admin_get("/api/v1/integrity?since=yesterday").await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn a_thousand_events_sign_a_checkpoint_by_themselves() {
    let app = spawn_app().await;
    for _ in 0..2 {
        seed(&app, 600).await;
    }
    // The writer signs after answering; give it a moment by asking until it shows.
    let mut seqs = Vec::new();
    for _ in 0..50 {
        let (_, list) = app.admin_get("/api/v1/integrity/checkpoints").await;
        seqs = list["checkpoints"].as_array().unwrap().iter().map(|c| c["seq"].as_u64().unwrap()).collect();
        if !seqs.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seqs, [1200]);
    app.stop().await;
}

#[tokio::test]
async fn integrity_is_for_admins() {
    let app = spawn_app().await;
    for path in ["/api/v1/integrity", "/api/v1/integrity/checkpoints", "/api/v1/integrity/public-key"] {
        assert_eq!(app.get(path, &app.firm.ingest_key).await.status(), 403, "{path}");
        assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 401, "{path}");
    }
    let response = app
        .client
        .post(app.url("/api/v1/integrity/checkpoints"))
        .bearer_auth(&app.firm.ingest_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    app.stop().await;
}
