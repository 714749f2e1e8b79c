//! Streams (docs/API.md §13): sending an account's log, as it grows, to the systems
//! its security team uses — a webhook, Splunk's HTTP Event Collector, a syslog
//! collector — at least once and in seq order.
//!
//! The log is the queue: a stream is a position in its account's chain, kept in the
//! database (`casetrail_store::StreamStore`) and moved only once the receiver
//! acknowledged, so nothing is copied between the commit and the delivery.
//!
//! - [`settings`] reads what an admin sends and checks each member;
//!   [`destination`] refuses receivers on private addresses, at creation and at every
//!   connection.
//! - The operations below change a stream and record the change (`settings.updated`,
//!   without any secret) in one transaction.
//! - [`deliver`] is the background work: one task per stream, while this server holds
//!   the stream's lease; [`sinks`] send, [`format`] filters and shapes each event.

pub mod deliver;
pub mod destination;
pub mod format;
pub mod settings;
pub mod sinks;
pub mod tls;

use casetrail_core::diff::diff;
use casetrail_core::{Actor, Change, FieldError, NewEvent, OwnActivity, RecordType, Related};
use casetrail_store::{AccountId, NewStream, Stream, StreamPatch, Transition};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{App, AppError, AppResult, AuditEvent};

/// What streams may reach, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// `allow_private_stream_destinations`: receivers on loopback and private
    /// networks are allowed (a SIEM inside the firm's network, tests).
    pub allow_private: bool,
    /// The pause after a first failed delivery, doubled after each further one up to
    /// [`deliver::MAX_BACKOFF`]; [`deliver::FIRST_BACKOFF`] unless a test wants a
    /// long one from the start.
    pub first_backoff: std::time::Duration,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions { allow_private: false, first_backoff: deliver::FIRST_BACKOFF }
    }
}

/// A stream as the API shows it: everything but its secret, token and CA.
pub fn view(stream: &Stream) -> Value {
    let s = &stream.settings;
    json!({
        "id": stream.id.to_string(),
        "name": s.name,
        "kind": s.kind.key(),
        "url": s.url,
        "format": s.format.key(),
        "filters": s.filters.to_json(),
        "enabled": s.enabled,
        "created_at": stream.created_at.to_string(),
        "delivered_seq": stream.delivered_seq,
        "last_delivery_at": stream.last_delivery_at.map(|t| t.to_string()),
        "last_error": stream.last_error,
        "failures": stream.failures,
    })
}

/// A stream's destination as a page shows it: an http(s) URL without its query and
/// fragment (a receiver may take a key there) and never with a user or password;
/// `tcp://` and `tls://` addresses as they are.
pub fn shown_destination(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else { return url.to_string() };
    if !matches!(parsed.scheme(), "http" | "https") {
        return url.to_string();
    }
    let had_query = parsed.query().is_some_and(|q| !q.is_empty());
    parsed.set_query(None);
    parsed.set_fragment(None);
    // Refused at creation; stripped here too, whatever the stored URL holds.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let mut shown = parsed.to_string();
    if had_query {
        shown.push_str("?\u{2026}");
    }
    shown
}

/// What a change record compares: the settings and the position.
fn recorded_view(stream: &Stream) -> Map<String, Value> {
    let s = &stream.settings;
    let mut map = Map::new();
    map.insert("name".into(), json!(s.name));
    map.insert("kind".into(), json!(s.kind.key()));
    map.insert("url".into(), json!(s.url));
    map.insert("format".into(), json!(s.format.key()));
    map.insert("filters".into(), s.filters.to_json());
    map.insert("enabled".into(), json!(s.enabled));
    map.insert("delivered_seq".into(), json!(stream.delivered_seq));
    // A CA certificate is public, but long: recorded by its fingerprint.
    if let Some(pem) = &s.ca_cert {
        map.insert("ca_cert".into(), json!(ca_fingerprint(pem)));
    }
    map
}

/// `sha256:` and the first 16 hex digits of the PEM text's SHA-256.
fn ca_fingerprint(pem: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(pem.trim().as_bytes());
    format!("sha256:{}", hex::encode(&digest[..8]))
}

/// The `settings.updated` record of a stream's change; `None` when nothing changed,
/// unless the change is recorded `always` (a replay is, even to where the stream
/// already was: it clears the failures and tries again at once).
fn stream_event(
    actor: Actor,
    description: String,
    before: Option<&Stream>,
    after: Option<&Stream>,
    always: bool,
) -> Option<NewEvent> {
    let empty = Map::new();
    let (b, a) = (before.map(recorded_view), after.map(recorded_view));
    let mut changes = diff(b.as_ref().unwrap_or(&empty), a.as_ref().unwrap_or(&empty));
    // A new secret or token is recorded as replaced, never with its value.
    if let (Some(before), Some(after)) = (before, after)
        && before.settings.secret != after.settings.secret
    {
        let field = if after.settings.kind == casetrail_store::StreamKind::SplunkHec { "token" } else { "secret" };
        changes.push(Change { field: field.into(), before: json!("(hidden)"), after: json!("(replaced)") });
    }
    if changes.is_empty() && !always {
        return None;
    }
    let stream = after.or(before)?;
    let related = Related {
        kind: RecordType::Setting,
        id: format!("stream:{}", stream.id),
        name: Some(format!("Stream \"{}\"", stream.settings.name)),
    };
    Some(AuditEvent::new(actor, OwnActivity::SettingsUpdated, description).related(related).changes(changes).build())
}

/// Tells this server's delivery that a stream changed, so that it acts on the change
/// now (other servers see it at their next look at the stream, within a second).
fn woken(app: &App, id: Uuid) {
    // No listener (the delivery is not running, as in the command line): nothing to wake.
    let _ = app.stream_changes.send(id);
}

/// Creates a stream and records it; answers it with its secret or token (shown to
/// the admin this once).
pub async fn create(
    app: &App,
    options: StreamOptions,
    actor: &Actor,
    account: AccountId,
    body: &Map<String, Value>,
) -> AppResult<Stream> {
    let request = settings::parse_create(body).map_err(AppError::Invalid)?;
    let s = &request.settings;
    settings::check_destination(s.kind, &s.url, options.allow_private).await.map_err(|e| AppError::Invalid(vec![e]))?;
    let actor = actor.clone();
    let record = Box::new(move |created: &Stream| {
        let description = format!("Added the {} stream \"{}\"", created.settings.kind.key(), created.settings.name);
        stream_event(actor, description, None, Some(created), false)
    });
    let new = NewStream { account_id: account, settings: request.settings, from_seq: request.from_seq };
    let created = app.noted(app.store.create_stream(new, record).await?).value;
    woken(app, created.id);
    Ok(created)
}

/// The stream, or a 404-kind error.
pub async fn find(app: &App, account: AccountId, id: &str) -> AppResult<Stream> {
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound("stream"))?;
    app.store.stream(account, id).await?.ok_or(AppError::NotFound("stream"))
}

async fn change(
    app: &App,
    actor: &Actor,
    stream: &Stream,
    patch: StreamPatch,
    describe: impl FnOnce(&Stream) -> String + Send + 'static,
) -> AppResult<Stream> {
    let actor = actor.clone();
    let always = patch.resume_at.is_some();
    let record = Box::new(move |t: &Transition<Stream>| {
        stream_event(actor, describe(&t.after), Some(&t.before), Some(&t.after), always)
    });
    let changed = app.store.change_stream(stream.account_id, stream.id, patch, record).await?;
    let changed = app.noted(changed.ok_or(AppError::NotFound("stream"))?).value.after;
    woken(app, changed.id);
    Ok(changed)
}

/// Applies a `PATCH` (checked against the stream's kind) and records it.
pub async fn update(
    app: &App,
    options: StreamOptions,
    actor: &Actor,
    account: AccountId,
    id: &str,
    body: &Map<String, Value>,
) -> AppResult<Stream> {
    let stream = find(app, account, id).await?;
    let kind = stream.settings.kind;
    let patch = settings::parse_patch(kind, body).map_err(AppError::Invalid)?;
    if let Some(url) = &patch.url {
        settings::check_destination(kind, url, options.allow_private).await.map_err(|e| AppError::Invalid(vec![e]))?;
    }
    change(app, actor, &stream, patch, |s| format!("Changed the stream \"{}\"", s.settings.name)).await
}

/// Pauses or resumes a stream (the streams page's buttons).
pub async fn set_enabled(app: &App, actor: &Actor, account: AccountId, id: &str, enabled: bool) -> AppResult<Stream> {
    let stream = find(app, account, id).await?;
    let patch = StreamPatch { enabled: Some(enabled), ..Default::default() };
    let verb = if enabled { "Resumed" } else { "Paused" };
    change(app, actor, &stream, patch, move |s| format!("{verb} the stream \"{}\"", s.settings.name)).await
}

/// Moves the position so that delivery resumes with the first matching event whose
/// seq is `from_seq` or more, and records it.
pub async fn replay(app: &App, actor: &Actor, account: AccountId, id: &str, from_seq: u64) -> AppResult<Stream> {
    if from_seq == 0 || from_seq > i64::MAX as u64 {
        return Err(AppError::Invalid(vec![FieldError::new("from_seq", "must be a whole number, 1 or more")]));
    }
    let stream = find(app, account, id).await?;
    let patch = StreamPatch { resume_at: Some(from_seq), ..Default::default() };
    change(app, actor, &stream, patch, move |s| {
        format!("Replayed the stream \"{}\" from seq {from_seq}", s.settings.name)
    })
    .await
}

/// Deletes a stream and records it.
pub async fn delete(app: &App, actor: &Actor, account: AccountId, id: &str) -> AppResult<()> {
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound("stream"))?;
    let actor = actor.clone();
    let record = Box::new(move |gone: &Stream| {
        stream_event(actor, format!("Deleted the stream \"{}\"", gone.settings.name), Some(gone), None, false)
    });
    let gone = app.store.delete_stream(account, id, record).await?.ok_or(AppError::NotFound("stream"))?;
    app.noted(gone);
    woken(app, id);
    Ok(())
}

/// Every stream's lag and failures, as the database has them now (for `/metrics`).
pub async fn gauges(app: &App) -> AppResult<Vec<crate::metrics::StreamGauge>> {
    let streams = app.store.all_streams().await?;
    let mut heads = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(streams.len());
    for stream in streams {
        let head = match heads.get(&stream.account_id) {
            Some(head) => *head,
            None => {
                let head = app.store.head(stream.account_id).await?.map_or(0, |h| h.seq);
                heads.insert(stream.account_id, head);
                head
            }
        };
        out.push(crate::metrics::StreamGauge {
            stream: stream.id.to_string(),
            lag: head.saturating_sub(stream.delivered_seq),
            failures: stream.failures,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod shown_tests {
    #[test]
    fn a_destination_is_shown_without_its_query_or_credentials() {
        use super::shown_destination as shown;
        assert_eq!(shown("https://siem.example.com/hook?key=s3cret#x"), "https://siem.example.com/hook?\u{2026}");
        assert_eq!(shown("https://ann:pw@siem.example.com/"), "https://siem.example.com/");
        assert_eq!(shown("http://hec.example.com:8088"), "http://hec.example.com:8088/");
        assert_eq!(shown("tls://syslog.example.com:6514"), "tls://syslog.example.com:6514");
    }
}
