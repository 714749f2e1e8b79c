//! Syslog over TLS with the stream's own `ca_cert` (docs/API.md §13): a TLS RFC 5424
//! listener of the test's own on 127.0.0.1, with a CA and a server certificate made
//! here. Trusting the wrong CA, the handshake fails, the stream says so and nothing
//! is skipped; given the right one, every event arrives framed and in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

use super::delivery::{WITHIN, ingest_n, private, stream_state};
use super::streams::create;
use crate::support::receivers::{read_frames, wait_until};
use crate::support::{TestApp, spawn_app_with};

/// A certificate authority made for one test.
fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A TLS syslog listener whose certificate (for `localhost`) `ca` signed: keeps the
/// octet-counted messages of every connection whose handshake succeeded, and counts
/// the handshakes that failed.
struct TlsSyslogReceiver {
    port: u16,
    messages: Arc<Mutex<Vec<String>>>,
    refused_handshakes: Arc<Mutex<u32>>,
}

impl TlsSyslogReceiver {
    async fn start(ca: &CertifiedIssuer<'static, KeyPair>) -> TlsSyslogReceiver {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&key, ca).unwrap();
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let refused_handshakes = Arc::new(Mutex::new(0));
        let (kept, refused) = (messages.clone(), refused_handshakes.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, kept, refused) = (acceptor.clone(), kept.clone(), refused.clone());
                tokio::spawn(async move {
                    match acceptor.accept(socket).await {
                        Ok(tls) => read_frames(tls, kept).await,
                        Err(_) => *refused.lock().unwrap() += 1,
                    }
                });
            }
        });
        TlsSyslogReceiver { port, messages, refused_handshakes }
    }

    fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// The `seq` of each message's event (the compact JSON after the header).
    async fn seqs(&self, n: usize) -> Vec<u64> {
        let got = wait_until(WITHIN, || {
            let got = self.messages();
            (got.len() >= n).then_some(got)
        })
        .await
        .unwrap_or_else(|| panic!("{n} messages did not arrive over TLS: {:?}", self.messages()));
        got.iter()
            .map(|m| {
                assert!(m.starts_with("<85>1 "), "{m}");
                let body: Value = serde_json::from_str(&m[m.find(" - {").unwrap() + 3..]).unwrap();
                body["seq"].as_u64().unwrap()
            })
            .collect()
    }
}

async fn failing(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let state = stream_state(app, id).await;
        if state["failures"].as_u64().unwrap_or(0) >= 1 {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stream never failed: {}", stream_state(app, id).await)
}

#[tokio::test]
async fn a_tls_syslog_stream_trusts_its_ca_cert_and_only_it() {
    let app = spawn_app_with(private()).await;
    let (ca, stranger) = (authority("casetrail test CA"), authority("some other CA"));
    let receiver = TlsSyslogReceiver::start(&ca).await;
    let url = format!("tls://localhost:{}", receiver.port);
    let body = json!({"name": "tls syslog", "kind": "syslog", "url": url, "ca_cert": stranger.pem()});
    let (status, created) = create(&app, body).await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("ca_cert").is_none(), "the CA is not shown back");
    let id = created["id"].as_str().unwrap().to_string();
    ingest_n(&app, 0, 3).await;

    // The wrong CA: the handshake fails, the stream says why, nothing is skipped.
    let state = failing(&app, &id).await;
    let error = state["last_error"].as_str().unwrap();
    assert!(error.starts_with("the TLS handshake failed: invalid peer certificate"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert_eq!(state["delivered_seq"], 1, "the position stays after the creation record");
    assert!(receiver.messages().is_empty());
    assert!(*receiver.refused_handshakes.lock().unwrap() >= 1, "the listener saw the handshake refused");

    // The right CA: everything since arrives, framed and in order, then what follows.
    let patch = json!({"ca_cert": ca.pem()});
    let (status, changed) = app.admin_send(reqwest::Method::PATCH, &format!("/api/v1/streams/{id}"), Some(patch)).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(receiver.seqs(4).await, [2, 3, 4, 5], "the three events and the change's own record");
    ingest_n(&app, 3, 2).await;
    assert_eq!(receiver.seqs(6).await, [2, 3, 4, 5, 6, 7]);
    // The acknowledgement is written just after the last frame.
    let mut settled = Value::Null;
    for _ in 0..100 {
        settled = stream_state(&app, &id).await;
        if settled["delivered_seq"] == 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(settled["delivered_seq"], 7, "{settled}");
    assert_eq!((settled["failures"].as_u64(), settled["last_error"].is_null()), (Some(0), true), "{settled}");
    app.stop().await;
}
