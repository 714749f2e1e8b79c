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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// `allow_private_stream_destinations`: receivers on loopback and private
    /// networks are allowed (a SIEM inside the firm's network, tests).
    pub allow_private: bool,
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
    map
}

/// The `settings.updated` record of a stream's change; `None` when nothing changed.
fn stream_event(
    actor: Actor,
    description: String,
    before: Option<&Stream>,
    after: Option<&Stream>,
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
    if changes.is_empty() {
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
        stream_event(actor, description, None, Some(created))
    });
    let new = NewStream { account_id: account, settings: request.settings, from_seq: request.from_seq };
    Ok(app.store.create_stream(new, record).await?.value)
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
    let record = Box::new(move |t: &Transition<Stream>| {
        stream_event(actor, describe(&t.after), Some(&t.before), Some(&t.after))
    });
    let changed = app.store.change_stream(stream.account_id, stream.id, patch, record).await?;
    Ok(changed.ok_or(AppError::NotFound("stream"))?.value.after)
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
        stream_event(actor, format!("Deleted the stream \"{}\"", gone.settings.name), Some(gone), None)
    });
    app.store.delete_stream(account, id, record).await?.ok_or(AppError::NotFound("stream"))?;
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
