//! The request time limits (docs/API.md §2, "Time limits"): a client that sends half
//! a header, or trickles its body, is cut off; a request the server cannot answer in
//! time is answered `503` in the API's shape, or with a page.

use std::time::{Duration, Instant};

use casetrail_server::{ServerConfig, Timeouts};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestApp, spawn_app_with};

/// Longer than any limit set here: a test waiting this long has found no limit.
const PATIENCE: Duration = Duration::from_secs(10);

fn timeouts(header: u64, body: u64, handler: u64) -> ServerConfig {
    let secs = Duration::from_secs;
    ServerConfig {
        timeouts: Timeouts { header: secs(header), body: secs(body), handler: secs(handler) },
        ..Default::default()
    }
}

/// Everything the server sends until it closes the connection; panics if it has not
/// closed it within [`PATIENCE`].
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open; it sent {:?}", String::from_utf8_lossy(&received));
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn half_a_header_is_disconnected_after_the_header_limit() {
    let app = spawn_app_with(timeouts(1, 30, 30)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "closed after {waited:?}, before the limit");
    assert!(!answer.contains("200 OK"), "half a request was answered: {answer}");
    // A whole request on another connection is served as ever.
    let (status, body) = app.admin_get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    app.stop().await;
}

#[tokio::test]
async fn a_connection_left_idle_is_closed_after_the_header_limit() {
    let app = spawn_app_with(timeouts(1, 30, 30)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("{\"status\":\"ok\"}"), "{answer}");
    app.stop().await;
}

/// A POST of a `length`-byte JSON body whose headers go out at once.
fn post_head(app: &TestApp, length: usize) -> String {
    format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        app.firm.ingest_key
    )
}

#[tokio::test]
async fn a_body_trickled_byte_by_byte_is_cut_off_with_a_408() {
    let app = spawn_app_with(timeouts(30, 1, 30)).await;
    let body = serde_json::to_vec(&crate::support::event("case.updated", "sent slowly")).unwrap();
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(post_head(&app, body.len()).as_bytes()).await.unwrap();
    let started = Instant::now();
    // One byte every 100 ms: steady, but the whole body would take many seconds.
    let trickle = tokio::spawn(async move {
        for byte in body {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, reader.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the server waited for the whole trickle");
    let waited = started.elapsed();
    trickle.abort();
    let answer = String::from_utf8_lossy(&received);
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "answered after {waited:?}");
    let json: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["error"]["code"], "request_timeout");
    assert_eq!(json["error"]["message"], "the request body did not arrive within 1 second");
    // Nothing half-sent was stored.
    let (_, list) = app.admin_get("/api/v1/events?q=slowly").await;
    assert_eq!(list["events"].as_array().unwrap().len(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_request_the_database_holds_up_is_answered_503_in_time() {
    let app = spawn_app_with(timeouts(30, 30, 1)).await;
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = browser.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = crate::support::hidden_value(&form, "csrf").unwrap();
    let mut event = crate::support::event("case.updated", "held up");
    event["idempotency_key"] = "held-up-1".into();

    let lock = app.lock_events().await;
    let started = Instant::now();
    let response = app.ingest(&event).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(body["error"]["message"], "the server could not answer within 1 second; try again shortly");
    // A sign-in commits its session with its event: held up the same way, answered with a page.
    let email = app.firm.admin.email.clone();
    let fields = [("email", email.as_str()), ("password", app.firm.admin_password.as_str()), ("csrf", &csrf)];
    let page = browser.post(app.url("/login")).form(&fields).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("did not answer within 1 second, so"));
    assert!(started.elapsed() < Duration::from_secs(5), "the limit did not cut the requests short");
    drop(lock);

    // The 503 acknowledged nothing; sent again with its key, the event is stored once.
    let again = app.ingest(&event).await;
    assert!(again.status().is_success(), "{}", again.status());
    let (status, list) = app.admin_get("/api/v1/events?q=held").await;
    assert_eq!(status, 200, "{list}");
    let found: Vec<&Value> = list["events"].as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 1, "{list}");
    assert_eq!(found[0]["idempotency_key"], "held-up-1");
    app.stop().await;
}
