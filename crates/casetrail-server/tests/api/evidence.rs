//! `GET /api/v1/events/export?format=evidence` (docs/API.md §15): a zip of the
//! matching events, each with a proof that leads to a checkpoint signed for it.
//! (The offline checkers, ours and the independent script, are tested on such zips
//! in the CLI's tests.)

use std::io::Read;

use casetrail_core::ChainHash;
use casetrail_core::integrity::{Checkpoint, KeyRing};
use casetrail_core::merkle::{leaf_hash, verify_inclusion};
use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, TestApp, spawn_app};

fn on_case(case: &str, description: &str) -> Value {
    json!({"actor": {"id": "u_1", "name": "Ann Lee"}, "activity": "case.updated", "description": description,
           "occurred_at": "2026-11-20T10:00:00Z", "related": [{"type": "case", "id": case, "name": format!("Matter {case}")}]})
}

async fn seed(app: &TestApp) {
    let events: Vec<Value> =
        (0..30).map(|i| on_case(if i % 3 == 0 { "c_204" } else { "c_9" }, &format!("step {i}"))).collect();
    app.ingest_ok(&json!({ "events": events })).await;
}

fn entry(zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    let mut text = String::new();
    zip.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}")).read_to_string(&mut text).unwrap();
    text
}

fn lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn an_evidence_export_proves_each_matching_event() {
    let app = spawn_app().await;
    seed(&app).await;
    let response = app.get("/api/v1/events/export?format=evidence&case=c_204", &app.firm.admin_key).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment; filename=\"system-log-evidence-"), "{disposition}");
    assert!(disposition.ends_with(".zip\""), "{disposition}");
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, ["README.txt", "checkpoint.json", "events.jsonl", "proofs.jsonl", "public-keys.json"]);
    assert!(entry(&mut zip, "README.txt").contains("inclusion path"));

    let checkpoint: Checkpoint = serde_json::from_str(&entry(&mut zip, "checkpoint.json")).unwrap();
    assert_eq!(checkpoint.tree_size, 30, "signed at the start: it covers every event so far");
    let keys: Value = serde_json::from_str(&entry(&mut zip, "public-keys.json")).unwrap();
    let mut ring = KeyRing::default();
    for k in keys.as_array().unwrap() {
        ring.add_base64(k["public_key"].as_str().unwrap()).unwrap();
    }
    assert_eq!(checkpoint.verify(&ring), Ok(()));
    let (_, published) = app.admin_get("/api/v1/integrity/public-key").await;
    assert!(keys.as_array().unwrap().iter().any(|k| k["key_id"] == published["key_id"]));

    let events = lines(&entry(&mut zip, "events.jsonl"));
    let proofs = lines(&entry(&mut zip, "proofs.jsonl"));
    assert_eq!((events.len(), proofs.len()), (10, 10));
    let (_, page) = app.admin_get("/api/v1/events?case=c_204&limit=100").await;
    assert_eq!(&events, page["events"].as_array().unwrap(), "the events whole, newest first, as the API gives them");
    let root = checkpoint.root_hash.unwrap();
    for (e, p) in events.iter().zip(&proofs) {
        assert_eq!((&p["id"], &p["seq"]), (&e["id"], &e["seq"]));
        assert_eq!(p["leaf_index"].as_u64(), Some(e["seq"].as_u64().unwrap() - 1));
        let path: Vec<ChainHash> = serde_json::from_value(p["inclusion_path"].clone()).unwrap();
        let leaf = leaf_hash(&e["hash"].as_str().unwrap().parse().unwrap());
        assert!(verify_inclusion(&leaf, p["leaf_index"].as_u64().unwrap(), 30, &path, &root), "{p}");
    }

    // Recorded like any export, once it ended.
    let mut found = Value::Null;
    for _ in 0..100 {
        let (_, list) = app.admin_get("/api/v1/events?activity=system_log.exported&limit=1").await;
        if let Some(e) = list["events"].as_array().unwrap().first() {
            found = e.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let meta = &found["metadata"];
    assert_eq!((&meta["format"], &meta["rows"], &meta["complete"]), (&json!("evidence"), &json!(10), &json!(true)));
    assert_eq!(meta["filters"], json!({"case": "c_204"}));
    app.stop().await;
}

#[tokio::test]
async fn only_an_admin_gets_evidence() {
    let app = spawn_app().await;
    seed(&app).await;
    let path = "/api/v1/events/export?format=evidence";
    assert_eq!(app.get(path, &app.firm.ingest_key).await.status(), 403);
    assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 401);
    let member = app.add_member("mo@evidence.example").await;
    let browser = app.signed_in(&member, MEMBER_PASSWORD).await;
    assert_eq!(browser.get(app.url(path)).send().await.unwrap().status(), 403);
    assert_eq!(app.get("/api/v1/events/export?format=evidence&case=", &app.firm.admin_key).await.status(), 200);
    assert_eq!(app.get("/api/v1/events/export?format=evidence&activity=nope", &app.firm.admin_key).await.status(), 400);
    // Another firm's evidence holds none of these events.
    let other = app.other_firm().await;
    let bytes = app.get(path, &other.admin_key).await.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(entry(&mut zip, "events.jsonl"), "");
    app.stop().await;
}

#[tokio::test]
async fn an_account_without_a_tree_is_told_why_it_gets_no_proof() {
    let app = spawn_app().await;
    seed(&app).await;
    let (status, first) = app.admin_get("/api/v1/events?limit=1").await;
    assert_eq!(status, 200);
    let id = first["events"][0]["id"].as_str().unwrap().to_string();
    // A checkpoint with a tree head first, so that only the tree is missing.
    let (status, _) = app.admin_send(reqwest::Method::POST, "/api/v1/integrity/checkpoints", None).await;
    assert_eq!(status, 201);
    app.forget_tree().await;

    for path in [
        "/api/v1/events/export?format=evidence".to_string(),
        "/api/v1/events/export?format=evidence&case=c_204".to_string(),
        format!("/api/v1/events/{id}/proof"),
        "/api/v1/integrity/consistency?from=1&to=30".to_string(),
    ] {
        let response = app.get(&path, &app.firm.admin_key).await;
        assert_eq!(response.status(), 409, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "conflict", "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("this account has no Merkle tree"), "{path}: {message}");
    }
    // Every other export still works, and no evidence export was recorded.
    let csv = app.get("/api/v1/events/export?format=csv", &app.firm.admin_key).await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.text().await.unwrap().lines().count(), 31, "a header and the 30 events");
    let (_, exports) = app.admin_get("/api/v1/events?activity=system_log.exported").await;
    let formats: Vec<&Value> = exports["events"].as_array().unwrap().iter().map(|e| &e["metadata"]["format"]).collect();
    assert!(!formats.contains(&&json!("evidence")), "{formats:?}");
    // A tree deleted behind the server's back is no legacy account: a checkpoint
    // signed a tree head, and verification says the tree no longer matches it.
    let (status, report) = app.admin_get("/api/v1/integrity").await;
    assert_eq!((status, &report["ok"]), (200, &json!(false)), "{report}");
    let kinds: Vec<&Value> = report["problems"].as_array().unwrap().iter().map(|p| &p["kind"]).collect();
    assert!(kinds.contains(&&json!("hash_mismatch")), "{report}");
    app.stop().await;
}
