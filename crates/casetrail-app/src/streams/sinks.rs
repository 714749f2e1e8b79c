//! The three ways of sending a batch (docs/API.md §13): `webhook` and `splunk_hec`
//! over HTTP(S), `syslog` as RFC 5424 messages over TCP or TLS with octet counting.
//!
//! Every connection goes to an address that `destination` checked when it was
//! resolved for this very connection: the HTTP client resolves through
//! [`CheckedResolver`] (and an IP literal in the URL is checked before each request),
//! the syslog sender resolves with `resolve_checked`. Redirects are never followed and
//! no proxy from the environment is used. A receiver has [`RECEIVER_TIMEOUT`] to
//! acknowledge.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use casetrail_store::{Stream, StreamFormat, StreamKind};
use hmac::{KeyInit, Mac};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::destination::{check_addrs, is_forbidden, resolve_checked};
use super::format::{Outgoing, render};

/// How long a receiver may take to acknowledge a batch (connecting included).
pub const RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a delivery failed: a short text, without secrets, shown as `last_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

fn failed(what: impl std::fmt::Display) -> SendError {
    SendError(what.to_string().chars().take(300).collect())
}

/// Resolves names for the HTTP client, refusing forbidden addresses at every
/// connection.
#[derive(Debug, Clone, Copy)]
struct CheckedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            // The port is the URL's; the client replaces the 0.
            let addrs = resolve_checked(&host, 0, allow_private)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client of every webhook and Splunk HEC stream.
pub fn http_client(allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(RECEIVER_TIMEOUT)
        .dns_resolver(Arc::new(CheckedResolver { allow_private }))
        .user_agent(concat!("casetrail/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with these settings always builds")
}

/// A URL whose host is an IP literal never reaches the resolver: checked here.
fn check_literal(url: &reqwest::Url, allow_private: bool) -> Result<(), SendError> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if !allow_private && is_forbidden(ip) {
        return Err(failed(format!("{ip} is a private, loopback or link-local address")));
    }
    Ok(())
}

/// The webhook's signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of
/// `"<t>." + body` under the stream's secret.
pub fn signature(secret: &str, unix_secs: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{unix_secs}.").as_bytes());
    mac.update(body);
    format!("t={unix_secs},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The webhook body: `{"stream_id": ..., "events": [...]}`.
pub fn webhook_body(stream: &Stream, batch: &[Outgoing]) -> String {
    let events: Vec<String> = batch.iter().map(|e| render(stream.settings.format, e)).collect();
    format!("{{\"stream_id\":\"{}\",\"events\":[{}]}}", stream.id, events.join(","))
}

/// Splunk HEC's body: one JSON object per event, newline-separated.
pub fn splunk_body(stream: &Stream, batch: &[Outgoing]) -> String {
    let source = serde_json::to_string(&format!("casetrail:{}", stream.account_id)).unwrap_or_default();
    let lines: Vec<String> = batch
        .iter()
        .map(|e| {
            let ms = e.event.occurred_at.as_millis();
            let (secs, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
            let event = render(stream.settings.format, e);
            format!("{{\"time\":{secs}.{frac:03},\"sourcetype\":\"casetrail\",\"source\":{source},\"event\":{event}}}")
        })
        .collect();
    lines.join("\n")
}

/// One syslog message, RFC 5424 with the framing of RFC 6587 §3.4.1 (its length in
/// bytes, a space, the message).
pub fn syslog_frame(hostname: &str, format: StreamFormat, event: &Outgoing) -> Vec<u8> {
    let msgid: String = event.event.activity.key().chars().take(32).collect();
    let message =
        format!("<85>1 {} {hostname} casetrail - {msgid} - {}", event.event.occurred_at, render(format, event));
    format!("{} {message}", message.len()).into_bytes()
}

/// The host name syslog messages carry: printable ASCII without spaces, at most 255
/// characters (RFC 5424's HOSTNAME), or `-` when unknown.
pub fn host_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name: String = raw.trim().chars().filter(|c| c.is_ascii_graphic()).take(255).collect();
    if name.is_empty() { "-".to_string() } else { name }
}

/// A writable syslog connection.
trait SyslogIo: AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncWrite + Unpin + Send + Sync> SyslogIo for T {}

/// Sends a stream's batches; keeps its syslog connection open between batches.
pub struct Sender {
    http: reqwest::Client,
    allow_private: bool,
    hostname: String,
    syslog: Option<Box<dyn SyslogIo>>,
    /// The URL and CA the open syslog connection was made for: a stream pointed
    /// elsewhere (or trusting another CA) connects again.
    syslog_for: Option<(String, Option<String>)>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("connected", &self.syslog.is_some()).finish_non_exhaustive()
    }
}

impl Sender {
    pub fn new(http: reqwest::Client, allow_private: bool, hostname: String) -> Sender {
        Sender { http, allow_private, hostname, syslog: None, syslog_for: None }
    }

    /// Sends one batch (seq ascending) and answers once the receiver acknowledged
    /// all of it. `delivery` is the batch's id, the same for every try.
    pub async fn send(&mut self, stream: &Stream, batch: &[Outgoing], delivery: &str) -> Result<(), SendError> {
        match stream.settings.kind {
            StreamKind::Webhook => self.webhook(stream, batch, delivery).await,
            StreamKind::SplunkHec => self.splunk(stream, batch).await,
            StreamKind::Syslog => {
                let sent = tokio::time::timeout(RECEIVER_TIMEOUT, self.syslog(stream, batch)).await;
                let outcome = sent.unwrap_or_else(|_| Err(failed("the syslog receiver timed out")));
                if outcome.is_err() {
                    // A connection that failed mid-batch is never written to again.
                    self.syslog = None;
                }
                outcome
            }
        }
    }

    async fn post(&self, request: reqwest::RequestBuilder) -> Result<(), SendError> {
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                failed("the receiver timed out")
            } else if e.is_connect() {
                failed(format!("could not connect: {}", root_cause(&e)))
            } else {
                failed(format!("the request failed: {}", root_cause(&e)))
            }
        })?;
        let status = response.status();
        if status.is_success() { Ok(()) } else { Err(failed(format!("the receiver answered {status}"))) }
    }

    async fn webhook(&self, stream: &Stream, batch: &[Outgoing], delivery: &str) -> Result<(), SendError> {
        let url = reqwest::Url::parse(&stream.settings.url).map_err(failed)?;
        check_literal(&url, self.allow_private)?;
        let body = webhook_body(stream, batch);
        let secret = stream.settings.secret.as_deref().unwrap_or("");
        let signed = signature(secret, jiff::Timestamp::now().as_second(), body.as_bytes());
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-casetrail-delivery", delivery)
            .header("x-casetrail-signature", signed)
            .body(body);
        self.post(request).await
    }

    async fn splunk(&self, stream: &Stream, batch: &[Outgoing]) -> Result<(), SendError> {
        let base = stream.settings.url.trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{base}/services/collector/event")).map_err(failed)?;
        check_literal(&url, self.allow_private)?;
        let token = stream.settings.secret.as_deref().unwrap_or("");
        let request = self
            .http
            .post(url)
            .header("authorization", format!("Splunk {token}"))
            .header("content-type", "application/json")
            .body(splunk_body(stream, batch));
        self.post(request).await
    }

    async fn syslog(&mut self, stream: &Stream, batch: &[Outgoing]) -> Result<(), SendError> {
        let target = (stream.settings.url.clone(), stream.settings.ca_cert.clone());
        if self.syslog_for.as_ref() != Some(&target) {
            self.syslog = None;
        }
        if self.syslog.is_none() {
            self.syslog = Some(self.connect_syslog(stream).await?);
            self.syslog_for = Some(target);
        }
        let Some(io) = self.syslog.as_mut() else { return Err(failed("no syslog connection")) };
        for event in batch {
            let frame = syslog_frame(&self.hostname, stream.settings.format, event);
            io.write_all(&frame).await.map_err(|e| failed(format!("the syslog connection failed: {e}")))?;
        }
        io.flush().await.map_err(|e| failed(format!("the syslog connection failed: {e}")))
    }

    async fn connect_syslog(&self, stream: &Stream) -> Result<Box<dyn SyslogIo>, SendError> {
        let target = super::settings::SyslogTarget::parse(&stream.settings.url).map_err(failed)?;
        let addrs = resolve_checked(&target.host, target.port, self.allow_private).await.map_err(failed)?;
        let tcp = connect_any(&target.host, &addrs, self.allow_private).await?;
        if !target.tls {
            return Ok(Box::new(tcp));
        }
        let config = super::tls::client_config(stream.settings.ca_cert.as_deref()).map_err(failed)?;
        let name = rustls::pki_types::ServerName::try_from(target.host.trim_matches(['[', ']']).to_string())
            .map_err(|_| failed("the syslog host is not a valid TLS name"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| failed(format!("the TLS handshake failed: {e}")))?;
        Ok(Box::new(tls))
    }
}

/// Connects to the first of the checked addresses that answers.
async fn connect_any(host: &str, addrs: &[SocketAddr], allow_private: bool) -> Result<TcpStream, SendError> {
    check_addrs(host, addrs, allow_private).map_err(failed)?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(failed(format!("could not connect to {host}: {}", last.map_or("no address".into(), |e| e.to_string()))))
}

/// The innermost cause of an HTTP failure, which says what happened (refused,
/// reset, a forbidden address) without the URL.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_time_dot_body() {
        // HMAC-SHA256("key", "1700000000.{}"), computed independently with Python's hmac.
        let got = signature("key", 1_700_000_000, b"{}");
        assert_eq!(got, "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
    }
}
