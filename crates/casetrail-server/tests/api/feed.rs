//! `GET /api/v1/events/feed` (docs/API.md §13): seq order, `after_seq`, `limit`, the
//! long poll, and every refusal.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{MEMBER_PASSWORD, event, spawn_app};

fn seqs(page: &Value) -> Vec<u64> {
    page["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn the_feed_answers_events_after_a_seq_in_seq_order() {
    let app = spawn_app().await;
    // Occurred newest first, so seq order is not time order.
    let events: Vec<Value> = (0..5)
        .map(|i| {
            let mut e = event("case.updated", &format!("event {i}"));
            e["occurred_at"] = json!(crate::support::ago(i * 10));
            e
        })
        .collect();
    app.ingest_ok(&json!({ "events": events })).await;
    let (status, page) = app.admin_get("/api/v1/events/feed").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(seqs(&page), [1, 2, 3, 4, 5]);
    assert_eq!(page["last_seq"], 5);
    assert_eq!(page["events"][0]["description"], "event 0");
    assert_eq!(page["events"][0]["hash"].as_str().unwrap().len(), 64, "whole event objects");
    let (_, page) = app.admin_get("/api/v1/events/feed?after_seq=2&limit=2").await;
    assert_eq!(seqs(&page), [3, 4]);
    assert_eq!(page["last_seq"], 4);
    // Nothing after the head: an empty page that keeps the position.
    let (_, page) = app.admin_get("/api/v1/events/feed?after_seq=5").await;
    assert_eq!(page, json!({"events": [], "last_seq": 5}));
    app.stop().await;
}

#[tokio::test]
async fn a_long_poll_answers_as_soon_as_an_event_is_committed() {
    let app = spawn_app().await;
    app.ingest_ok(&event("case.created", "first")).await;
    let client = app.client.clone();
    let url = app.url("/api/v1/events/feed?after_seq=1&wait=20");
    let key = app.firm.admin_key.clone();
    let started = Instant::now();
    let poll =
        tokio::spawn(async move { client.get(url).bearer_auth(key).send().await.unwrap().json::<Value>().await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.ingest_ok(&event("case.updated", "second")).await;
    let page = poll.await.unwrap().unwrap();
    let took = started.elapsed();
    assert_eq!(seqs(&page), [2]);
    assert_eq!(page["events"][0]["description"], "second");
    assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(5), "{took:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_long_poll_with_nothing_new_waits_then_answers_empty() {
    let app = spawn_app().await;
    let started = Instant::now();
    let (status, page) = app.admin_get("/api/v1/events/feed?wait=1").await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(page, json!({"events": [], "last_seq": 0}));
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(3), "{took:?}");
    app.stop().await;
}

/// Another server on the same database commits the event: the waiting server's own
/// writer never hears of it, so only its poll of the database can find it.
#[tokio::test]
async fn a_long_poll_sees_events_committed_by_another_server() {
    let first = spawn_app().await;
    let second = first.another_server().await;
    let client = first.client.clone();
    let url = first.url("/api/v1/events/feed?wait=20");
    let key = first.firm.admin_key.clone();
    let started = Instant::now();
    let poll =
        tokio::spawn(async move { client.get(url).bearer_auth(key).send().await.unwrap().json::<Value>().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    second.ingest_ok(&event("case.created", "from the other server")).await;
    let page = poll.await.unwrap().unwrap();
    assert_eq!(seqs(&page), [1]);
    assert_eq!(page["events"][0]["description"], "from the other server");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("wait=61", "wait"),
        ("wait=-1", "wait"),
        ("after_seq=-3", "after_seq"),
        ("after_seq=1e3", "after_seq"),
        ("cursor=abc", "cursor"),
    ] {
        let (status, body) = app.admin_get(&format!("/api/v1/events/feed?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{param}:")), "{query}: {message}");
    }
    let (status, _) = app.admin_get("/api/v1/events/feed?limit=1000&wait=0&after_seq=0").await;
    assert_eq!(status, 200, "the bounds themselves are accepted");
    app.stop().await;
}

#[tokio::test]
async fn only_the_accounts_admins_read_its_feed() {
    let app = spawn_app().await;
    app.ingest_ok(&event("case.created", "ours")).await;
    let path = "/api/v1/events/feed";
    assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 401);
    assert_eq!(app.get(path, "ctk_not-a-real-key").await.status(), 401);
    assert_eq!(app.get(path, &app.firm.ingest_key).await.status(), 403);
    let member = app.add_member("mia@smithjones.example").await;
    let session = app.signed_in(&member, MEMBER_PASSWORD).await;
    assert_eq!(session.get(app.url(path)).send().await.unwrap().status(), 403);
    // Another firm's admin key sees its own (empty) log, never ours.
    let other = app.other_firm().await;
    let page: Value = app.get(path, &other.admin_key).await.json().await.unwrap();
    assert_eq!(page, json!({"events": [], "last_seq": 0}));
    // A revoked key stops at once.
    let keys = app.store.api_keys(app.account_id()).await.unwrap();
    let admin = keys.iter().find(|k| k.scopes.contains(&casetrail_store::Scope::Admin)).unwrap();
    let revoked =
        app.client.delete(app.url(&format!("/api/v1/api-keys/{}", admin.id))).bearer_auth(&app.firm.admin_key);
    assert_eq!(revoked.send().await.unwrap().status(), 204);
    assert_eq!(app.get(path, &app.firm.admin_key).await.status(), 401);
    app.stop().await;
}
