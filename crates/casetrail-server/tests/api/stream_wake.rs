//! A stream in backoff is tried again at once when it is replayed, resumed or pointed
//! elsewhere (docs/API.md §13), here or through another server: with a backoff of
//! five minutes from the first failure, the events must still arrive within seconds,
//! so a delivery that waited the backoff out fails these tests by minutes, not by a
//! race.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::delivery::{failed, ingest_n, private};
use super::streams::create;
use crate::support::receivers::{HttpReceiver, seqs};
use crate::support::{TestApp, spawn_app_with};

/// Far longer than the tests wait for anything.
const LONG_BACKOFF: Duration = Duration::from_secs(300);
/// How soon a woken stream must deliver.
const AT_ONCE: Duration = Duration::from_secs(5);

fn long_backoff() -> casetrail_server::ServerConfig {
    casetrail_server::ServerConfig { stream_first_backoff: LONG_BACKOFF, ..private() }
}

/// Waits until the stream has failed `n` times in a row: it is then in its backoff.
async fn change(app: &TestApp, method: Method, path: String, body: Value) -> Value {
    let (status, answer) = app.admin_send(method, &path, Some(body)).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

#[tokio::test]
async fn a_replay_a_new_destination_and_a_resume_end_the_backoff_at_once() {
    let app = spawn_app_with(long_backoff()).await;
    let (first, second) = (HttpReceiver::start().await, HttpReceiver::start().await);
    first.fail(true);
    let (_, created) = create(&app, json!({"name": "hook", "kind": "webhook", "url": first.base})).await;
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/streams/{id}");
    ingest_n(&app, 0, 2).await;
    let state = failed(&app, &id, 1).await;
    assert_eq!(state["delivered_seq"], 1, "{state}");

    // A replay, the receiver back: delivered now, not in five minutes.
    first.fail(false);
    change(&app, Method::POST, format!("{path}/replay"), json!({"from_seq": 2})).await;
    let got = first.wait_for(3, AT_ONCE).await;
    assert_eq!(seqs(&got), [2, 3, 4], "the two events and the replay's own record");

    // A new destination while the old one fails.
    first.fail(true);
    ingest_n(&app, 2, 1).await;
    failed(&app, &id, 1).await;
    change(&app, Method::PATCH, path.clone(), json!({"url": second.base})).await;
    let got = second.wait_for(2, AT_ONCE).await;
    assert_eq!(seqs(&got), [5, 6], "the event that failed, then the change's record");

    // Paused while failing, resumed once the receiver is back.
    second.fail(true);
    ingest_n(&app, 3, 1).await;
    failed(&app, &id, 1).await;
    change(&app, Method::PATCH, path.clone(), json!({"enabled": false})).await;
    second.fail(false);
    ingest_n(&app, 4, 1).await;
    change(&app, Method::PATCH, path.clone(), json!({"enabled": true})).await;
    let got = second.wait_for(6, AT_ONCE).await;
    assert_eq!(seqs(&got), [5, 6, 7, 8, 9, 10], "nothing skipped while paused");
    assert_eq!(seqs(&first.events()), [2, 3, 4], "the old destination got nothing more");
    app.stop().await;
}

#[tokio::test]
async fn a_replay_through_another_server_wakes_the_server_that_delivers() {
    let app = spawn_app_with(long_backoff()).await;
    let receiver = HttpReceiver::start().await;
    receiver.fail(true);
    let (_, created) = create(&app, json!({"name": "hook", "kind": "webhook", "url": receiver.base})).await;
    let id = created["id"].as_str().unwrap().to_string();
    ingest_n(&app, 0, 2).await;
    // The first server holds the lease and waits out its backoff; the second starts
    // only now, so it cannot be the one delivering.
    failed(&app, &id, 1).await;
    let other = app.another_server_with(long_backoff()).await;
    receiver.fail(false);
    change(&other, Method::POST, format!("/api/v1/streams/{id}/replay"), json!({"from_seq": 2})).await;
    let got = receiver.wait_for(3, AT_ONCE).await;
    assert_eq!(seqs(&got), [2, 3, 4]);
    other.stop().await;
    app.stop().await;
}
