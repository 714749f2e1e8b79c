//! Receivers of streams, on 127.0.0.1, that keep what they get and fail on command:
//! an HTTP endpoint (a webhook, or Splunk HEC's `/services/collector/event`) and an
//! RFC 5424 listener over TCP with octet-counted framing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::io::AsyncReadExt;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Default)]
struct Shared {
    got: Arc<Mutex<Vec<Received>>>,
    failing: Arc<AtomicBool>,
    /// With `Some(n)` in `fail_after`: acknowledge `n` more requests, then fail.
    allowance: Arc<Mutex<Option<usize>>>,
    /// The `X-Casetrail-Delivery` of each request answered 503.
    refused: Arc<Mutex<Vec<String>>>,
}

/// An HTTP receiver: answers 204 to every POST, or 503 while failing.
pub struct HttpReceiver {
    pub base: String,
    shared: Shared,
}

impl HttpReceiver {
    pub async fn start() -> HttpReceiver {
        let shared = Shared::default();
        let app = axum::Router::new().fallback(receive).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        HttpReceiver { base, shared }
    }

    /// From now on, every request is answered 503 (and not kept), or again 204.
    pub fn fail(&self, failing: bool) {
        *self.shared.allowance.lock().unwrap() = None;
        self.shared.failing.store(failing, Ordering::SeqCst);
    }

    /// Acknowledges `n` more requests, then answers 503 until [`HttpReceiver::fail`]
    /// says otherwise.
    pub fn fail_after(&self, n: usize) {
        *self.shared.allowance.lock().unwrap() = Some(n);
    }

    /// The delivery id of each request answered 503, in order.
    pub fn refused(&self) -> Vec<String> {
        self.shared.refused.lock().unwrap().clone()
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.got.lock().unwrap().clone()
    }

    /// Every event of every acknowledged request, in the order received.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.received().iter().flat_map(|r| events_of(&r.body)).collect()
    }

    /// Waits (at most `within`) until `n` events were acknowledged.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<serde_json::Value> {
        wait_until(within, || {
            let events = self.events();
            (events.len() >= n).then_some(events)
        })
        .await
        .unwrap_or_else(|| panic!("{n} events did not arrive within {within:?}: got {:?}", seqs(&self.events())))
    }
}

/// A webhook body's events, or a Splunk HEC body's lines.
fn events_of(body: &[u8]) -> Vec<serde_json::Value> {
    let text = std::str::from_utf8(body).unwrap();
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.get("events").is_some() => v["events"].as_array().unwrap().clone(),
        _ => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
    }
}

/// The `seq` of each event (or of the event inside a HEC line, or OCSF's unmapped).
pub fn seqs(events: &[serde_json::Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| {
            let e = if e.get("event").is_some() { &e["event"] } else { e };
            let e = if e.get("unmapped").is_some() { &e["unmapped"]["casetrail"] } else { e };
            e["seq"].as_u64().unwrap()
        })
        .collect()
}

async fn receive(State(shared): State<Shared>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    if let Some(left) = shared.allowance.lock().unwrap().as_mut() {
        match left.checked_sub(1) {
            Some(fewer) => *left = fewer,
            None => shared.failing.store(true, Ordering::SeqCst),
        }
    }
    if shared.failing.load(Ordering::SeqCst) {
        let delivery = headers.get("x-casetrail-delivery").and_then(|v| v.to_str().ok()).unwrap_or_default();
        shared.refused.lock().unwrap().push(delivery.to_string());
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    shared.got.lock().unwrap().push(Received { path: uri.path().to_string(), headers, body });
    StatusCode::NO_CONTENT
}

/// Polls `check` every 50 ms until it answers, or `within` passes.
pub async fn wait_until<T>(within: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A syslog listener: reads octet-counted frames from every connection.
pub struct SyslogReceiver {
    pub addr: std::net::SocketAddr,
    messages: Arc<Mutex<Vec<String>>>,
}

impl SyslogReceiver {
    pub async fn start() -> SyslogReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(read_frames(socket, kept.clone()));
            }
        });
        SyslogReceiver { addr, messages }
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<String> {
        wait_until(within, || {
            let got = self.messages();
            (got.len() >= n).then_some(got)
        })
        .await
        .unwrap_or_else(|| panic!("{n} syslog messages did not arrive: {:?}", self.messages()))
    }
}

/// `<length> <message>` frames, until the connection closes; a malformed frame
/// fails the test. Over TCP, or TLS once its handshake is done.
pub async fn read_frames(mut socket: impl tokio::io::AsyncRead + Unpin, into: Arc<Mutex<Vec<String>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(space) = buffer.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&buffer[..space]).unwrap().parse().expect("an octet count");
            if buffer.len() < space + 1 + len {
                break;
            }
            let message = String::from_utf8(buffer[space + 1..space + 1 + len].to_vec()).unwrap();
            into.lock().unwrap().push(message);
            buffer.drain(..space + 1 + len);
        }
    }
}
