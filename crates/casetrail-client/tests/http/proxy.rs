//! A small HTTP proxy of the tests' own in front of the server: it records every
//! request (when, what, how many events) and fails on command, so a test can lose an
//! answer after the server committed, refuse with 429 or 503, or hold requests.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

/// What the proxy does to one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward it (the server does the work), then answer this status instead of
    /// the server's answer: a lost answer.
    AfterForward { status: u16, retry_after: Option<&'static str> },
    /// Answer this status without forwarding.
    Instead { status: u16, retry_after: Option<&'static str> },
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    /// Events in an ingest body (`{"events": [...]}`), else 0.
    pub events: usize,
    pub body_bytes: usize,
    /// The status the proxy answered.
    pub status: u16,
}

#[derive(Clone)]
struct Shared {
    target: String,
    http: reqwest::Client,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests that reached the proxy, held or not.
    arrived: Arc<AtomicUsize>,
    /// Requests wait while this is `false`.
    open: Arc<watch::Sender<bool>>,
}

pub struct Proxy {
    pub base: String,
    shared: Shared,
}

impl Proxy {
    pub async fn start(target: &str) -> Proxy {
        let shared = Shared {
            target: target.to_string(),
            http: reqwest::Client::new(),
            faults: Arc::default(),
            seen: Arc::default(),
            arrived: Arc::default(),
            open: Arc::new(watch::Sender::new(true)),
        };
        let app = axum::Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Proxy { base, shared }
    }

    /// The next requests meet these faults, one each, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.faults.lock().unwrap().extend(faults);
    }

    /// Holds every request until [`open`](Self::open).
    pub fn hold(&self) {
        self.shared.open.send_replace(false);
    }

    pub fn open(&self) {
        self.shared.open.send_replace(true);
    }

    /// Requests that reached the proxy so far, held ones included.
    pub fn arrived(&self) -> usize {
        self.shared.arrived.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The ingest requests seen.
    pub fn ingests(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == "/api/v1/events").collect()
    }
}

async fn forward(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    shared.arrived.fetch_add(1, Ordering::SeqCst);
    let mut open = shared.open.subscribe();
    open.wait_for(|open| *open).await.unwrap();
    let events = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("events").and_then(|e| e.as_array()).map(Vec::len))
        .unwrap_or(0);
    let fault = shared.faults.lock().unwrap().pop_front();
    let record =
        |status: u16| Seen { at: Instant::now(), path: uri.path().to_string(), events, body_bytes: body.len(), status };
    if let Some(Fault::Instead { status, retry_after }) = fault {
        shared.seen.lock().unwrap().push(record(status));
        return refusal(status, retry_after);
    }
    let url = format!("{}{}", shared.target, uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut request = shared.http.request(method.clone(), url).body(body.clone());
    for name in ["authorization", "content-type"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let content_type = answer.headers().get("content-type").cloned();
    let bytes = answer.bytes().await.unwrap();
    if let Some(Fault::AfterForward { status, retry_after }) = fault {
        shared.seen.lock().unwrap().push(record(status));
        return refusal(status, retry_after);
    }
    shared.seen.lock().unwrap().push(record(status.as_u16()));
    let mut response = (status, bytes).into_response();
    if let Some(value) = content_type {
        response.headers_mut().insert("content-type", value);
    }
    response
}

fn refusal(status: u16, retry_after: Option<&'static str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let body =
        serde_json::json!({"error": {"code": "injected", "message": "injected by the test proxy", "details": []}});
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(value) = retry_after {
        response.headers_mut().insert("retry-after", value.parse().unwrap());
    }
    response
}
