//! Merkle proofs over HTTP (docs/API.md §15): checkpoints carry a tree head whose note
//! verifies, inclusion and consistency proofs verify against the checkpoints' roots,
//! and every bad request is refused in the error shape.

use casetrail_core::ChainHash;
use casetrail_core::integrity::{Checkpoint, KeyRing};
use casetrail_core::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, TestApp, event, spawn_app};

async fn seed(app: &TestApp, n: usize) -> Vec<Value> {
    let events: Vec<Value> = (0..n).map(|i| event("case.updated", &format!("proof event {}", i + 1))).collect();
    app.ingest_ok(&json!({ "events": events })).await;
    let (_, page) = app.admin_get("/api/v1/events?limit=200").await;
    let mut events = page["events"].as_array().unwrap().clone();
    events.sort_by_key(|e| e["seq"].as_u64());
    events
}

async fn checkpoint(app: &TestApp) -> Value {
    let (status, cp) = app.admin_send(reqwest::Method::POST, "/api/v1/integrity/checkpoints", None).await;
    assert_eq!(status, 201, "{cp}");
    cp
}

fn hashes(list: &Value) -> Vec<ChainHash> {
    list.as_array().unwrap().iter().map(|h| h.as_str().unwrap().parse().unwrap()).collect()
}

fn hash(v: &Value) -> ChainHash {
    v.as_str().unwrap().parse().unwrap()
}

async fn ring(app: &TestApp) -> KeyRing {
    let (_, key) = app.admin_get("/api/v1/integrity/public-key").await;
    let mut ring = KeyRing::default();
    ring.add_base64(key["public_key"].as_str().unwrap()).unwrap();
    ring
}

#[tokio::test]
async fn checkpoints_carry_a_signed_tree_head() {
    let app = spawn_app().await;
    seed(&app, 5).await;
    let cp = checkpoint(&app).await;
    assert_eq!((cp["seq"].as_u64(), cp["tree_size"].as_u64()), (Some(5), Some(5)));
    let root = hash(&cp["root_hash"]);
    let name = format!("casetrail/{}", app.account_id());
    let note = cp["note"].as_str().unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(root.0);
    assert!(note.starts_with(&format!("{name}\n5\n{b64}\n\n\u{2014} {name} ")), "{note}");
    assert!(note.ends_with('\n'));
    let parsed: Checkpoint = serde_json::from_value(cp.clone()).unwrap();
    assert_eq!(parsed.verify(&ring(&app).await), Ok(()));
    let (_, list) = app.admin_get("/api/v1/integrity/checkpoints").await;
    assert_eq!(list["checkpoints"][0], cp);
    app.stop().await;
}

#[tokio::test]
async fn inclusion_proofs_verify_against_each_checkpoint() {
    let app = spawn_app().await;
    let events = seed(&app, 9).await;
    let first = checkpoint(&app).await;
    let more = seed(&app, 4).await;
    let second = checkpoint(&app).await;
    assert_eq!(more.len(), 13);
    for (cp, size) in [(&first, 9u64), (&second, 13)] {
        for e in &more[..size as usize] {
            let id = e["id"].as_str().unwrap();
            let (status, proof) = app.admin_get(&format!("/api/v1/events/{id}/proof?tree_size={size}")).await;
            assert_eq!(status, 200, "{proof}");
            let seq = e["seq"].as_u64().unwrap();
            assert_eq!((proof["leaf_index"].as_u64(), proof["tree_size"].as_u64()), (Some(seq - 1), Some(size)));
            assert_eq!(&proof["checkpoint"], cp);
            let path = hashes(&proof["inclusion_path"]);
            let leaf = leaf_hash(&hash(&e["hash"]));
            assert!(verify_inclusion(&leaf, seq - 1, size, &path, &hash(&cp["root_hash"])), "seq {seq} in {size}");
            assert!(!verify_inclusion(&leaf, seq - 1, size, &path, &hash(&events[0]["hash"])));
        }
    }
    // Without tree_size: the newest checkpoint.
    let id = events[0]["id"].as_str().unwrap();
    let (_, proof) = app.admin_get(&format!("/api/v1/events/{id}/proof")).await;
    assert_eq!(proof["tree_size"], 13);
    app.stop().await;
}

#[tokio::test]
async fn consistency_proofs_link_the_checkpoints() {
    let app = spawn_app().await;
    seed(&app, 6).await;
    let first = checkpoint(&app).await;
    seed(&app, 5).await;
    let second = checkpoint(&app).await;
    let (status, body) = app.admin_get("/api/v1/integrity/consistency?from=6&to=11").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["from"].as_u64(), body["to"].as_u64()), (Some(6), Some(11)));
    let path = hashes(&body["consistency_path"]);
    let (old, new) = (hash(&first["root_hash"]), hash(&second["root_hash"]));
    assert!(verify_consistency(6, 11, &old, &new, &path));
    assert!(!verify_consistency(6, 11, &new, &old, &path));
    let (_, same) = app.admin_get("/api/v1/integrity/consistency?from=11&to=11").await;
    assert_eq!(same["consistency_path"], json!([]));
    let (_, report) = app.admin_get("/api/v1/integrity").await;
    assert_eq!(report["ok"], true, "{report}");
    app.stop().await;
}

#[tokio::test]
async fn bad_proof_requests_are_refused() {
    let app = spawn_app().await;
    let events = seed(&app, 4).await;
    let id = events[3]["id"].as_str().unwrap().to_string();
    let (status, body) = app.admin_get(&format!("/api/v1/events/{id}/proof")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")), "no checkpoint yet: {body}");
    checkpoint(&app).await;
    let late = seed(&app, 2).await[5]["id"].as_str().unwrap().to_string();
    let proof = |q: &str| format!("/api/v1/events/{id}/proof{q}");
    for bad in [
        proof("?tree_size=abc"),
        proof("?tree_size=-1"),
        proof("?tree_size=3"),
        proof("?tree_size=5"),
        proof("?tree_size=99999999999999999999"),
        proof("?tree_size=4&tree_size=4"),
        proof("?size=4"),
        format!("/api/v1/events/{late}/proof"),
        "/api/v1/integrity/consistency".into(),
        "/api/v1/integrity/consistency?from=1".into(),
        "/api/v1/integrity/consistency?to=4".into(),
        "/api/v1/integrity/consistency?from=0&to=4".into(),
        "/api/v1/integrity/consistency?from=3&to=2".into(),
        "/api/v1/integrity/consistency?from=1&to=5".into(),
        "/api/v1/integrity/consistency?from=x&to=4".into(),
        "/api/v1/integrity/consistency?from=1&to=4&q=1".into(),
        "/api/v1/integrity/consistency?from=%27%3B--&to=4".into(),
    ] {
        let (status, body) = app.admin_get(&bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{bad}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{bad}");
    }
    for missing in [
        "/api/v1/events/not-a-uuid/proof".to_string(),
        "/api/v1/events/00000000-0000-7000-8000-000000000000/proof".into(),
    ] {
        let (status, body) = app.admin_get(&missing).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{missing}");
    }
    app.stop().await;
}

#[tokio::test]
async fn only_admins_of_the_account_get_proofs() {
    let app = spawn_app().await;
    let events = seed(&app, 3).await;
    checkpoint(&app).await;
    let id = events[0]["id"].as_str().unwrap();
    let paths = [format!("/api/v1/events/{id}/proof"), "/api/v1/integrity/consistency?from=1&to=3".to_string()];
    let other = app.other_firm().await;
    let member = app.add_member("mo@proofs.example").await;
    let browser = app.signed_in(&member, MEMBER_PASSWORD).await;
    let (status, key) = app
        .admin_send(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "Short-lived", "scopes": ["admin"]})),
        )
        .await;
    assert_eq!(status, 201);
    let revoked = key["key"].as_str().unwrap().to_string();
    let (status, _) = app
        .admin_send(reqwest::Method::DELETE, &format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, 204);
    for path in &paths {
        assert_eq!(app.get(path, &app.firm.admin_key).await.status(), 200, "{path}");
        assert_eq!(app.get(path, &app.firm.ingest_key).await.status(), 403, "{path}: ingest key");
        assert_eq!(app.get(path, &revoked).await.status(), 401, "{path}: revoked key");
        assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 401, "{path}: no key");
        assert_eq!(browser.get(app.url(path)).send().await.unwrap().status(), 403, "{path}: member");
    }
    // Another firm's admin: the event is not theirs, and they have no checkpoint.
    let response = app.get(&paths[0], &other.admin_key).await;
    assert_eq!(response.status(), 404);
    let response = app.get(&paths[1], &other.admin_key).await;
    assert_eq!(response.status(), 400, "their log has no checkpoint of size 3");
    app.stop().await;
}
