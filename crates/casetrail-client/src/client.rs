//! [`Client`]: where casetrail is and the key to use, and the requests themselves,
//! each retried by a [`RetryPolicy`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::error::Error;
use crate::retry::{RetryPolicy, is_retryable_status, is_retryable_transport, retry_after};

/// How long one request may take, from connecting to the last byte of the answer. A
/// group commit answers in milliseconds; this is for a server in trouble.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to one casetrail server with one API key. Cheap to clone (the
/// connection pool is shared).
///
/// Ingest needs a key with the `events:write` scope; the feed needs an `admin` key.
/// The key never appears in `Debug` output.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.inner.base).field("key", &"<redacted>").finish()
    }
}

/// One answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Client {
    /// A client for the server at `base_url` (`https://casetrail.example.com`, without
    /// `/api/v1`), with TLS through rustls and the system's trust store. Redirects are
    /// not followed: an API that moved should be configured, not chased with the key.
    pub fn new(base_url: &str, api_key: impl Into<String>) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::Transport)?;
        Client::with_http_client(base_url, api_key, http)
    }

    /// Like [`new`](Self::new), over an HTTP client of the caller's (its own proxy,
    /// roots, timeouts).
    pub fn with_http_client(
        base_url: &str,
        api_key: impl Into<String>,
        http: reqwest::Client,
    ) -> Result<Client, Error> {
        let base = base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base).map_err(|_| Error::InvalidUrl(base.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(Error::InvalidUrl(base.to_string()));
        }
        Ok(Client { inner: Arc::new(Inner { base: base.to_string(), key: api_key.into(), http }) })
    }

    /// The server's base URL, as given (without a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base)
    }

    /// `POST /api/v1/events` with a ready body, retried as `policy` says. Answers
    /// the first answer that is not worth retrying, whatever its status.
    pub(crate) async fn post_events(&self, body: Vec<u8>, policy: &RetryPolicy) -> Result<Answer, Error> {
        let url = self.url("/api/v1/events");
        retrying(policy, || {
            self.inner
                .http
                .post(&url)
                .bearer_auth(&self.inner.key)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
    }

    /// `GET /api/v1/events/feed`, with a timeout that leaves the long poll its wait.
    pub(crate) async fn get_feed(
        &self,
        after_seq: u64,
        limit: u32,
        wait: Duration,
        policy: &RetryPolicy,
    ) -> Result<Answer, Error> {
        let url = self.url("/api/v1/events/feed");
        let query =
            [("after_seq", after_seq.to_string()), ("limit", limit.to_string()), ("wait", wait.as_secs().to_string())];
        retrying(policy, || {
            self.inner.http.get(&url).bearer_auth(&self.inner.key).query(&query).timeout(REQUEST_TIMEOUT + wait)
        })
        .await
    }
}

/// Sends the request `build` makes until it gets an answer not worth retrying, or
/// the policy's attempts run out.
async fn retrying(policy: &RetryPolicy, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Answer, Error> {
    let attempts = policy.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (failure, asked) = match send(build()).await {
            Ok((answer, _)) if !is_retryable_status(answer.status) => return Ok(answer),
            Ok((answer, headers)) => (Error::from_answer(answer.status, &answer.body), retry_after(&headers)),
            Err(err) if is_retryable_transport(&err) => (Error::Transport(err), None),
            Err(err) => return Err(Error::Transport(err)),
        };
        if attempt >= attempts {
            return Err(if attempts == 1 { failure } else { Error::GaveUp { attempts, last: Box::new(failure) } });
        }
        tokio::time::sleep(policy.delay(attempt, asked)).await;
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<(Answer, HeaderMap), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    Ok((Answer { status, body }, headers))
}
