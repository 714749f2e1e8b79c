//! The database goes away and comes back, and `casetrail serve` is never restarted.
//!
//! The test runs a PostgreSQL server of its own (`private_postgres`: `initdb` and
//! `pg_ctl` on a free port of 127.0.0.1, as the `postgres` user, so the test must run
//! as root), starts `casetrail serve` on it and ingests. Then it stops PostgreSQL
//! (`pg_ctl stop -m fast`): ingest, the API's reads and the pages answer `503` in the
//! error shape, each within a few seconds, `/healthz` says the database is
//! unreachable and `/livez` stays `200`. Then it starts PostgreSQL again: `/healthz`
//! turns `200` by itself, ingest works again, every event acknowledged before the
//! outage is stored exactly once, nothing refused during it is, and the chain verifies.

mod cli_support;
mod multi_server_support;
mod private_postgres;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use casetrail_store::EventStore;
use multi_server_support::{Cluster, ingest, keyed_event, sign_in};
use private_postgres::PrivatePostgres;
use serde_json::{Value, json};

/// Every request during the outage must be answered within this.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// How long the service may take to notice the outage, and to recover from it.
const NOTICE_WITHIN: Duration = Duration::from_secs(10);
const RECOVER_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_answers_503_while_its_database_is_down_and_recovers_without_a_restart() {
    // Declared first, dropped last: the servers and the test's store go before it.
    let postgres = PrivatePostgres::start();
    let cluster = Cluster::start_on(&postgres.url(), 1).await;
    let server = &cluster.servers[0];
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let key = cluster.firm.ingest_key.clone();
    let browser = sign_in(&server.url, &cluster.firm.admin_email, &cluster.firm.admin_password).await;

    // Before: everything answers, and what is acknowledged is kept by its key.
    let mut acknowledged = BTreeMap::new();
    for batch in 0..5 {
        let events: Vec<Value> = (0..4).map(|i| keyed(&format!("before-{batch}-{i}"))).collect();
        let answer = ingest(&http, &server.url, &key, json!({ "events": events })).await;
        for (i, stored) in answer.iter().enumerate() {
            acknowledged.insert(format!("before-{batch}-{i}"), stored["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(acknowledged.len(), 20);
    assert_eq!(get(&http, &server.url, "/healthz").await, (200, json!({"status": "ok"})));
    assert_eq!(get(&http, &server.url, "/livez").await, (200, json!({"status": "ok"})));
    let page = browser.get(format!("{}/settings/system-log", server.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);

    postgres.stop();

    // Ingest is refused, in the error shape, quickly, and from the first try on.
    let noticed_by = Instant::now() + NOTICE_WITHIN;
    let mut refused = 0;
    while refused < 5 {
        assert!(Instant::now() < noticed_by, "ingest was not refused {refused} times within {NOTICE_WITHIN:?}");
        let body = json!({ "events": [keyed(&format!("during-{refused}"))] });
        let request = http.post(format!("{}/api/v1/events", server.url)).bearer_auth(&key).json(&body);
        assert_unavailable(request, "ingest").await;
        refused += 1;
    }
    // Reading through the API and through the pages is refused alike.
    let browse = http.get(format!("{}/api/v1/events", server.url)).bearer_auth(&cluster.firm.admin_key);
    assert_unavailable(browse, "browse").await;
    let started = Instant::now();
    let page = browser.get(format!("{}/settings/system-log", server.url)).send().await.unwrap();
    assert!(started.elapsed() < ANSWER_WITHIN, "the page took {:?}", started.elapsed());
    assert_eq!(page.status(), 503);
    assert_eq!(page.headers()["retry-after"], "1");
    let html = page.text().await.unwrap();
    assert!(html.contains("temporarily unavailable"), "{html}");
    assert!(!html.contains("127.0.0.1") && !html.contains("refused"), "no internals on the page: {html}");

    // Readiness says why (once its last good answer has aged out); liveness does not care.
    let unready = json!({"status": "unavailable", "database": "unreachable"});
    let mut health = get(&http, &server.url, "/healthz").await;
    while health.0 != 503 {
        assert_eq!(health.0, 200, "{health:?}");
        assert!(Instant::now() < noticed_by, "/healthz still answers {health:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        health = get(&http, &server.url, "/healthz").await;
    }
    assert_eq!(health, (503, unready));
    assert_eq!(get(&http, &server.url, "/livez").await, (200, json!({"status": "ok"})));

    postgres.start_again();

    // Readiness comes back by itself; then ingest is taken again, at once.
    let recovered_by = Instant::now() + RECOVER_WITHIN;
    while get(&http, &server.url, "/healthz").await != (200, json!({"status": "ok"})) {
        assert!(Instant::now() < recovered_by, "/healthz did not turn 200 within {RECOVER_WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let answer = ingest(&http, &server.url, &key, json!({ "events": [keyed("after-0"), keyed("after-1")] })).await;
    assert_eq!(answer.iter().filter(|a| a["duplicate"] == false).count(), 2, "{answer:?}");
    for (i, stored) in answer.iter().enumerate() {
        acknowledged.insert(format!("after-{i}"), stored["id"].as_str().unwrap().to_string());
    }
    // An acknowledged event sent again is a duplicate of the one stored before the outage.
    let again = ingest(&http, &server.url, &key, json!({ "events": [keyed("before-2-3")] })).await;
    assert_eq!(again[0]["duplicate"], true);
    assert_eq!(again[0]["id"].as_str(), Some(acknowledged["before-2-3"].as_str()));
    assert_eq!(get(&http, &server.url, "/livez").await, (200, json!({"status": "ok"})));

    // Every acknowledged event is stored exactly once, under its id; nothing refused is.
    let chain = cluster.store.chain(cluster.firm.account, 0, u32::MAX).await.unwrap();
    let mut stored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for link in &chain {
        let body: Value = serde_json::from_str(&link.body).unwrap();
        if body["activity"] == "case.updated" {
            let key = body["idempotency_key"].as_str().unwrap_or_default().to_string();
            stored.entry(key).or_default().push(body["id"].as_str().unwrap().to_string());
        }
    }
    let expected: BTreeMap<String, Vec<String>> = acknowledged.into_iter().map(|(k, id)| (k, vec![id])).collect();
    assert_eq!(stored, expected, "the host's events in the chain, by idempotency key");

    let (status, verdict) = get_as(&http, &server.url, "/api/v1/integrity", &cluster.firm.admin_key).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(verdict["problems"], json!([]));
    assert_eq!(verdict["events_checked"].as_u64(), Some(chain.len() as u64));
}

/// A host event with its description as its idempotency key.
fn keyed(name: &str) -> Value {
    keyed_event(name, name)
}

/// Sends `request` and checks the whole 503 answer of docs/API.md §2.
async fn assert_unavailable(request: reqwest::RequestBuilder, what: &str) {
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let took = started.elapsed();
    assert!(took < ANSWER_WITHIN, "{what} took {took:?} to answer");
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(retry_after.as_deref(), Some("1"), "{what}");
    let expected = json!({"error": {"code": "unavailable",
        "message": "the service cannot use its database just now; try again shortly", "details": []}});
    assert_eq!(body, expected, "{what}");
}

async fn get(http: &reqwest::Client, url: &str, path: &str) -> (u16, Value) {
    let response = http.get(format!("{url}{path}")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get_as(http: &reqwest::Client, url: &str, path: &str, key: &str) -> (u16, Value) {
    let response = http.get(format!("{url}{path}")).bearer_auth(key).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
