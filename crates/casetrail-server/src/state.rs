//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use casetrail_app::App;
use casetrail_app::signing::{KeySource, Keys};
use casetrail_core::{NewEvent, Timestamp};
use casetrail_store::{Account, AccountId, Appended, KeyId};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::ApiResult;
use crate::limiter::LoginLimiter;

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark cookies `Secure` (when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_hours: i64,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (for the
    /// sign-in limits). Empty: the header is never believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Signs checkpoints and purge tombstones (the key can change while the server
    /// runs, see `key_source`); with the database's ring, verifies them.
    pub keys: Arc<Keys>,
    /// Where `keys` came from, watched so that a rotated key is taken up without a
    /// restart; `None`: never changes (tests, an ephemeral key).
    pub key_source: Option<KeySource>,
    /// How often `key_source` is looked at.
    pub key_poll: std::time::Duration,
    /// How often the retention task purges by itself.
    pub retention_every: std::time::Duration,
    /// How long after start the first purge runs.
    pub retention_first_after: std::time::Duration,
    /// The writer signs a checkpoint whenever an account's chain has grown by this
    /// many events ([`casetrail_app::writer::CHECKPOINT_EVERY`]; `u64::MAX`: only the 10-minute
    /// and on-demand ones, as the benchmark needs to time an incremental check).
    pub checkpoint_every: u64,
    /// How long a client may take to send a request, and the server to answer it.
    pub timeouts: Timeouts,
    /// Streams may send to loopback and private addresses (docs/API.md §13).
    pub allow_private_stream_destinations: bool,
    /// The pause after a stream's first failed delivery, doubling after each further
    /// one ([`casetrail_app::streams::deliver::FIRST_BACKOFF`]; a test sets a long one
    /// to see that a replay does not wait it out).
    pub stream_first_backoff: std::time::Duration,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<crate::metrics::MetricsToken>,
}

/// The limits on how long one request may take (docs/API.md §2, "Time limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From a connection's first byte (or the end of its previous answer) to the end
    /// of a request's headers; also how long an idle kept-alive connection stays open.
    pub header: std::time::Duration,
    /// From the headers to the last byte of the body: a body trickled slower is cut
    /// off with a `408`.
    pub body: std::time::Duration,
    /// From the headers to the answer's headers: a handler still working is dropped
    /// and answered `503`. A download already streaming is not bound by it.
    pub handler: std::time::Duration,
}

impl Default for Timeouts {
    /// Generous for people and honest clients (a 1 MiB body in 30 s is a very slow
    /// link), short enough that idle or stalled connections cannot pile up.
    fn default() -> Timeouts {
        use std::time::Duration;
        Timeouts { header: Duration::from_secs(10), body: Duration::from_secs(30), handler: Duration::from_secs(60) }
    }
}

impl Default for ServerConfig {
    /// Test-friendly defaults: an ephemeral signing key.
    fn default() -> ServerConfig {
        ServerConfig {
            secure_cookies: false,
            session_hours: 12,
            trusted_proxies: Vec::new(),
            keys: Arc::new(Keys::ephemeral()),
            key_source: None,
            key_poll: casetrail_app::signing::watch::KEY_POLL,
            retention_every: std::time::Duration::from_secs(3600),
            retention_first_after: std::time::Duration::from_secs(3600),
            checkpoint_every: casetrail_app::writer::CHECKPOINT_EVERY,
            timeouts: Timeouts::default(),
            allow_private_stream_destinations: false,
            stream_first_backoff: casetrail_app::streams::deliver::FIRST_BACKOFF,
            metrics_token: None,
        }
    }
}

impl ServerConfig {
    /// What streams may reach and how their delivery backs off.
    pub fn stream_options(&self) -> casetrail_app::streams::StreamOptions {
        casetrail_app::streams::StreamOptions {
            allow_private: self.allow_private_stream_destinations,
            first_backoff: self.stream_first_backoff,
        }
    }
}

/// Shared by every request; cheap to clone. It derefs to the application's context
/// ([`App`]: store, writer, keys) and adds what only HTTP needs.
#[derive(Clone, Debug)]
pub struct AppState {
    pub app: App,
    pub config: Arc<ServerConfig>,
    pub(crate) logins: Arc<LoginLimiter>,
    key_use: Arc<Mutex<HashMap<KeyId, Timestamp>>>,
    /// Work that outlives its request (exports being written, the periodic tasks);
    /// shutdown waits for it.
    pub(crate) background: TaskTracker,
    /// Cancelled when the server stops.
    pub(crate) stop: CancellationToken,
    /// The last answer of the database to `/healthz`.
    pub(crate) health: Arc<crate::health::DatabaseHealth>,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// `last_used_at` is written at most this often per key, so that authenticating is
/// not a write on every request.
const KEY_USE_RESOLUTION_MS: i64 = 60_000;

impl AppState {
    pub fn new(app: App, config: ServerConfig) -> AppState {
        AppState {
            app,
            config: Arc::new(config),
            logins: Arc::new(LoginLimiter::default()),
            key_use: Arc::default(),
            background: TaskTracker::new(),
            stop: CancellationToken::new(),
            health: Arc::default(),
        }
    }

    /// The caller's account; it exists for any valid credential.
    pub async fn account(&self, id: AccountId) -> ApiResult<Account> {
        Ok(self.app.account(id).await?)
    }

    /// Appends events and waits for their commit.
    pub async fn append(&self, account: AccountId, events: Vec<NewEvent>) -> ApiResult<Vec<Appended>> {
        Ok(self.app.append(account, events).await?)
    }

    /// Records an event that casetrail itself writes (sign-ins, settings, exports).
    pub async fn record(&self, account: AccountId, event: NewEvent) -> ApiResult<Appended> {
        Ok(self.app.record(account, event).await?)
    }

    pub(crate) async fn note_key_use(&self, key: KeyId) {
        let now = Timestamp::now();
        {
            let mut seen = self.key_use.lock().unwrap_or_else(|p| p.into_inner());
            if seen.get(&key).is_some_and(|last| now.as_millis() - last.as_millis() < KEY_USE_RESOLUTION_MS) {
                return;
            }
            seen.insert(key, now);
        }
        if let Err(err) = self.store.touch_api_key(key, now).await {
            tracing::warn!(error = ?err, "could not record an API key's last use");
        }
    }
}
