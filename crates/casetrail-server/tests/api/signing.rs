//! The ring of public keys lives in the database: every server registers its key,
//! `GET /api/v1/integrity/public-keys` lists them all, a checkpoint signed by one
//! server verifies on another, and a rotated key file is taken up without a restart.

use std::sync::Arc;
use std::time::Duration;

use casetrail_app::signing::file::{generate_key_file, read_key_file, replace_key_file};
use casetrail_app::signing::{KeySource, Keys};
use casetrail_server::ServerConfig;
use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, TestApp, event, spawn_app, spawn_app_with};

async fn seed(app: &TestApp, n: usize) {
    let events: Vec<Value> = (0..n).map(|i| event("case.updated", &format!("event {i}"))).collect();
    app.ingest_ok(&json!({ "events": events })).await;
}

async fn checkpoint(app: &TestApp) -> Value {
    let (status, cp) = app.admin_send(reqwest::Method::POST, "/api/v1/integrity/checkpoints", None).await;
    assert_eq!(status, 201, "{cp}");
    cp
}

async fn current_key(app: &TestApp) -> Value {
    let (status, key) = app.admin_get("/api/v1/integrity/public-key").await;
    assert_eq!(status, 200);
    key
}

/// `(key_id, retired)` of every listed key, oldest first, after checking each
/// entry's shape.
async fn listed(app: &TestApp) -> Vec<(String, bool)> {
    let (status, body) = app.admin_get("/api/v1/integrity/public-keys").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let millis = |v: &Value| {
        let s = v.as_str().unwrap_or_else(|| panic!("a timestamp: {v}"));
        assert!(s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.', "RFC 3339 with milliseconds: {s}");
        s.to_string()
    };
    let mut out = Vec::new();
    for key in body["keys"].as_array().unwrap() {
        let mut members: Vec<&str> = key.as_object().unwrap().keys().map(String::as_str).collect();
        members.sort_unstable();
        assert_eq!(members, ["algorithm", "created_at", "key_id", "public_key", "retired_at"]);
        assert_eq!(key["algorithm"], "ed25519");
        let created = millis(&key["created_at"]);
        if !key["retired_at"].is_null() {
            assert!(millis(&key["retired_at"]) >= created, "{key}");
        }
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD.decode(key["public_key"].as_str().unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        out.push((key["key_id"].as_str().unwrap().to_string(), !key["retired_at"].is_null()));
    }
    out
}

async fn verifies(app: &TestApp, query: &str) -> Value {
    let (status, report) = app.admin_get(&format!("/api/v1/integrity{query}")).await;
    assert_eq!(status, 200);
    assert_eq!(report["ok"], true, "{report}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_lists_every_key_and_verifies_what_the_other_signed() {
    let a = spawn_app().await;
    let b = a.another_server().await;
    let (ka, kb) = (current_key(&a).await, current_key(&b).await);
    let (ka_id, kb_id) = (ka["key_id"].as_str().unwrap().to_string(), kb["key_id"].as_str().unwrap().to_string());
    assert_ne!(ka_id, kb_id, "each test server has a key of its own");
    // Both servers started at once: whichever registered last holds the current key,
    // and the other keeps signing with its retired one.
    let mut keys = listed(&a).await;
    assert_eq!(listed(&b).await, keys, "every server lists the same keys");
    keys.sort();
    let mut ids = [ka_id.clone(), kb_id.clone()];
    ids.sort();
    assert_eq!(keys.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(keys.iter().filter(|(_, retired)| !retired).count(), 1, "one current key: {keys:?}");
    let (_, body) = b.admin_get("/api/v1/integrity/public-keys").await;
    for (server_key, id) in [(&ka, &ka_id), (&kb, &kb_id)] {
        let entry = body["keys"].as_array().unwrap().iter().find(|k| k["key_id"] == id.as_str()).unwrap();
        assert_eq!(entry["public_key"], server_key["public_key"]);
    }

    seed(&a, 5).await;
    let by_a = checkpoint(&a).await;
    assert_eq!(by_a["key_id"], ka_id.as_str());
    let report = verifies(&b, "?since=checkpoint").await;
    assert_eq!(report["checkpoint"], by_a, "b verifies a's checkpoint, signed with a key b does not hold");
    assert_eq!(report["incremental_from_seq"], 5);

    seed(&b, 3).await;
    let by_b = checkpoint(&b).await;
    assert_eq!(by_b["key_id"], kb_id.as_str());
    let report = verifies(&a, "?since=checkpoint").await;
    assert_eq!(report["checkpoint"], by_b, "and a verifies b's");
    assert_eq!(verifies(&a, "").await["events_checked"], 8);

    // The offline export carries both keys, whichever server writes it.
    let jsonl = a.get("/api/v1/events/export?format=jsonl", &a.firm.admin_key).await.text().await.unwrap();
    let mut ids: Vec<String> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["record"] == "public_key")
        .map(|l| l["key_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut both = vec![ka_id, kb_id];
    both.sort();
    assert_eq!(ids, both);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn the_key_list_is_for_admins_only() {
    let app = spawn_app().await;
    let path = "/api/v1/integrity/public-keys";
    assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 401);
    assert_eq!(app.get(path, &app.firm.ingest_key).await.status(), 403);
    let member = app.add_member("mia@smithjones.example").await;
    let session = app.signed_in(&member, MEMBER_PASSWORD).await;
    assert_eq!(session.get(app.url(path)).send().await.unwrap().status(), 403);
    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    assert_eq!(admin.get(app.url(path)).send().await.unwrap().status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_file_is_taken_up_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing-key.pem");
    let first = generate_key_file(&path).unwrap();
    let config = ServerConfig {
        keys: Arc::new(Keys::new(read_key_file(&path).unwrap(), [])),
        key_source: Some(KeySource::File(path.clone())),
        key_poll: Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    seed(&app, 4).await;
    assert_eq!(checkpoint(&app).await["key_id"], first.key_id.as_str());
    assert_eq!(listed(&app).await, [(first.key_id.clone(), false)]);

    let second = replace_key_file(&path).unwrap();
    let mut switched = false;
    for _ in 0..200 {
        if current_key(&app).await["key_id"] == second.key_id.as_str() {
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(switched, "the server took up the new key");
    assert_eq!(current_key(&app).await["public_key"], second.public_key_base64().as_str());
    assert_eq!(listed(&app).await, [(first.key_id.clone(), true), (second.key_id.clone(), false)]);

    seed(&app, 2).await;
    assert_eq!(checkpoint(&app).await["key_id"], second.key_id.as_str());
    let (_, list) = app.admin_get("/api/v1/integrity/checkpoints").await;
    let signers: Vec<&str> =
        list["checkpoints"].as_array().unwrap().iter().map(|c| c["key_id"].as_str().unwrap()).collect();
    // (The periodic task may have signed one of its own at start, with the first key.)
    assert_eq!(signers[0], second.key_id.as_str(), "{signers:?}");
    assert!(signers.len() >= 2 && signers[1..].iter().all(|k| *k == first.key_id), "{signers:?}");
    assert_eq!(verifies(&app, "").await["events_checked"], 6, "checkpoints of both keys verify");
    app.stop().await;
}
