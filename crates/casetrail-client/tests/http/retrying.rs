//! Retries: a lost answer, `429` and `503` with `Retry-After`, a server restart, and
//! the refusals that must not be retried (another `4xx`, a wrong or revoked key).

use std::time::{Duration, Instant};

use casetrail_client::{ActorType, Client, Error, Event, Outcome, RetryPolicy, SenderOptions, activity, actor};
use serde_json::json;

use crate::proxy::{Fault, Proxy};
use crate::support::{TestServer, eventually};

fn event(n: usize) -> Event {
    Event::new(activity("client.created").unwrap(), actor(ActorType::User, "u_1", "Jane Doe")).metadata("n", n)
}

/// Quick retries, so the tests do not wait for the default backoff.
fn quick() -> RetryPolicy {
    RetryPolicy { initial: Duration::from_millis(50), max_delay: Duration::from_millis(200), ..RetryPolicy::default() }
}

fn ns(stored: &[serde_json::Value]) -> Vec<u64> {
    stored.iter().map(|e| e["metadata"]["n"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_stores_nothing_twice() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    // The server commits the first batch; its answer is replaced by a 503.
    proxy.fail_next([Fault::AfterForward { status: 503, retry_after: Some("1") }]);
    let client = Client::new(&proxy.base, &server.firm.ingest_key).unwrap();
    let mut events: Vec<Event> = (0..20).map(event).collect();
    let started = Instant::now();
    let outcomes = client.ingest(&mut events, &quick()).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not honoured");
    let seqs: Vec<u64> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Duplicate { seq, .. } => *seq,
            other => panic!("the retry should find the first attempt's events: {other:?}"),
        })
        .collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<u64>>());
    assert_eq!(proxy.ingests().iter().map(|s| (s.status, s.events)).collect::<Vec<_>>(), [(503, 20), (200, 20)]);
    let stored = server.events().await;
    assert_eq!(ns(&stored), (0..20).collect::<Vec<u64>>(), "each once");
    // The keys were kept on the events: sending them again stores nothing either.
    let again = client.ingest(&mut events, &quick()).await;
    assert!(again.iter().all(|o| matches!(o, Outcome::Duplicate { .. })));
    assert_eq!(server.events().await.len(), 20);
}

#[tokio::test]
async fn rate_limits_and_unavailability_are_waited_out() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    proxy.fail_next([
        Fault::Instead { status: 429, retry_after: Some("2") },
        Fault::Instead { status: 503, retry_after: None },
        Fault::Instead { status: 408, retry_after: None },
    ]);
    let client = Client::new(&proxy.base, &server.firm.ingest_key).unwrap();
    let sender = client.sender(SenderOptions { retry: quick(), ..SenderOptions::default() });
    let receipt = sender.send(event(0)).await.unwrap();
    assert!(matches!(receipt.outcome().await, Outcome::Accepted { seq: 1, .. }));
    let seen = proxy.ingests();
    assert_eq!(seen.iter().map(|s| s.status).collect::<Vec<_>>(), [429, 503, 408, 201]);
    assert!(seen[1].at - seen[0].at >= Duration::from_secs(2), "Retry-After: 2 was not honoured");
    assert!(sender.close().await.all_stored());
}

#[tokio::test]
async fn retries_run_out_into_a_failure_that_says_so() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    proxy.fail_next((0..3).map(|_| Fault::Instead { status: 503, retry_after: None }));
    let client = Client::new(&proxy.base, &server.firm.ingest_key).unwrap();
    let policy = RetryPolicy { max_attempts: 3, ..quick() };
    let outcomes = client.ingest(&mut [event(0), event(1)], &policy).await;
    for outcome in &outcomes {
        let Outcome::Failed(err) = outcome else { panic!("{outcome:?}") };
        assert!(matches!(&**err, Error::GaveUp { attempts: 3, last } if last.status() == Some(503)), "{err}");
    }
    assert_eq!(proxy.ingests().len(), 3);
    assert!(server.events().await.is_empty());
}

#[tokio::test]
async fn another_client_error_is_never_retried() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    proxy.fail_next([Fault::Instead { status: 409, retry_after: Some("1") }]);
    let client = Client::new(&proxy.base, &server.firm.ingest_key).unwrap();
    let outcomes = client.ingest(&mut [event(0)], &quick()).await;
    let Outcome::Failed(err) = &outcomes[0] else { panic!("{outcomes:?}") };
    assert!(matches!(&**err, Error::Api { status: 409, code, .. } if code == "injected"), "{err}");
    assert_eq!(proxy.ingests().len(), 1, "a 409 is not retried");
}

#[tokio::test]
async fn events_sent_while_the_server_restarts_arrive_once() {
    let mut server = TestServer::start().await;
    let client = Client::new(&server.base, &server.firm.ingest_key).unwrap();
    let options = SenderOptions {
        max_batch: 10,
        linger: Duration::from_millis(10),
        retry: RetryPolicy { max_attempts: 100, ..quick() },
        ..SenderOptions::default()
    };
    let sender = client.sender(options);
    for n in 0..10 {
        sender.send(event(n)).await.unwrap();
    }
    sender.flush().await.unwrap();
    server.stop().await;
    // Sent while nothing listens: refused connections, retried.
    let mut receipts = Vec::new();
    for n in 10..30 {
        receipts.push(sender.send(event(n)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart().await;
    let report = sender.close().await;
    assert_eq!((report.accepted, report.duplicates, report.failed), (30, 0, 0), "{:?}", report.failures.first());
    for (n, receipt) in receipts.into_iter().enumerate() {
        assert_eq!(receipt.outcome().await.seq(), Some(n as u64 + 11));
    }
    assert_eq!(ns(&server.events().await), (0..30).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_wrong_revoked_or_unscoped_key_is_a_clear_error_without_retries() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    // A key of the firm's own, then revoked (both changes are events of the log).
    let (status, created) = server
        .admin(reqwest::Method::POST, "/api/v1/api-keys", Some(json!({"name": "CRM", "scopes": ["events:write"]})))
        .await;
    assert_eq!(status, 201, "{created}");
    let revoked = created["key"].as_str().unwrap().to_string();
    let path = format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap());
    assert_eq!(server.admin(reqwest::Method::DELETE, &path, None).await.0, 204);
    let logged = server.events().await.len();

    for (key, unauthenticated) in
        [("ct_not_a_key_at_all", true), (revoked.as_str(), true), (server.firm.admin_key.as_str(), false)]
    {
        let before = proxy.ingests().len();
        let client = Client::new(&proxy.base, key).unwrap();
        let sender = client.sender(SenderOptions::default());
        let receipt = sender.send(event(0)).await.unwrap();
        let Outcome::Failed(err) = receipt.outcome().await else { panic!("stored with {key:.8}…") };
        assert!(err.is_credential_problem(), "{err}");
        if unauthenticated {
            assert!(matches!(&*err, Error::Unauthenticated { .. }), "{err}");
            assert!(err.to_string().contains("wrong or was revoked"), "{err}");
        } else {
            assert!(matches!(&*err, Error::Forbidden { message, .. } if message.contains("events:write")), "{err}");
        }
        let report = sender.close().await;
        assert_eq!((report.failed, report.failures.len()), (1, 1));
        assert_eq!(proxy.ingests().len(), before + 1, "a refused key is not retried");
    }
    assert_eq!(server.events().await.len(), logged, "nothing stored");
    let missing =
        eventually(Duration::from_secs(1), async || (proxy.arrived() == proxy.seen().len()).then_some(())).await;
    assert!(missing.is_some(), "every request was answered");
}
