//! Streams (docs/API.md §13): where an account's log is sent as it grows, and how far
//! each has got. The log is the queue: a stream is only a position in its account's
//! chain (`delivered_seq`), kept here and moved only after the receiver acknowledged,
//! so no event is copied anywhere to wait for delivery.
//!
//! One server at a time delivers a stream: it holds the stream's lease (a holder id
//! and an expiry on the stream's own row), and the position moves only for that
//! holder, from the position it read ([`StreamStore::stream_delivered`]), so a replay
//! or another server's delivery in between is never overwritten.

use async_trait::async_trait;
use casetrail_core::{AccountId, Timestamp};
use uuid::Uuid;

use crate::{Recorded, Recorder, StoreResult, Transition};

/// Where a stream sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Webhook,
    SplunkHec,
    Syslog,
}

impl StreamKind {
    pub const ALL: [StreamKind; 3] = [StreamKind::Webhook, StreamKind::SplunkHec, StreamKind::Syslog];

    pub fn key(self) -> &'static str {
        match self {
            StreamKind::Webhook => "webhook",
            StreamKind::SplunkHec => "splunk_hec",
            StreamKind::Syslog => "syslog",
        }
    }

    pub fn from_key(key: &str) -> Option<StreamKind> {
        StreamKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// How each event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// The API's event object, whole.
    Json,
    /// An OCSF 1.x API Activity event.
    Ocsf,
}

impl StreamFormat {
    pub const ALL: [StreamFormat; 2] = [StreamFormat::Json, StreamFormat::Ocsf];

    pub fn key(self) -> &'static str {
        match self {
            StreamFormat::Json => "json",
            StreamFormat::Ocsf => "ocsf",
        }
    }

    pub fn from_key(key: &str) -> Option<StreamFormat> {
        StreamFormat::ALL.into_iter().find(|f| f.key() == key)
    }
}

/// Which events a stream sends: for every list that is not empty, the event matches
/// one of its values. Empty everywhere: every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamFilters {
    /// Activity keys or categories.
    pub activity: Vec<String>,
    pub actor: Vec<String>,
    pub case: Vec<String>,
    pub client: Vec<String>,
}

impl StreamFilters {
    /// The members in the API's order, with their lists.
    pub fn members(&self) -> [(&'static str, &Vec<String>); 4] {
        [("activity", &self.activity), ("actor", &self.actor), ("case", &self.case), ("client", &self.client)]
    }

    /// As stored and shown: only the members that filter.
    pub fn to_json(&self) -> serde_json::Value {
        let map = self
            .members()
            .into_iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(name, values)| (name.to_string(), serde_json::json!(values)))
            .collect();
        serde_json::Value::Object(map)
    }

    /// Reads what [`StreamFilters::to_json`] wrote; `None` for anything else.
    pub fn from_json(value: &serde_json::Value) -> Option<StreamFilters> {
        let mut filters = StreamFilters::default();
        for (name, values) in value.as_object()? {
            let list: Vec<String> =
                values.as_array()?.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<_>>()?;
            match name.as_str() {
                "activity" => filters.activity = list,
                "actor" => filters.actor = list,
                "case" => filters.case = list,
                "client" => filters.client = list,
                _ => return None,
            }
        }
        Some(filters)
    }
}

/// What an admin sets on a stream.
#[derive(Clone, PartialEq, Eq)]
pub struct StreamSettings {
    pub name: String,
    pub kind: StreamKind,
    pub url: String,
    pub format: StreamFormat,
    pub filters: StreamFilters,
    pub enabled: bool,
    /// The webhook's HMAC secret or the Splunk HEC token; never shown after it was set.
    pub secret: Option<String>,
    /// PEM certificates a `tls://` syslog stream trusts besides the system's roots.
    pub ca_cert: Option<String>,
}

/// By hand, so that a secret or token never reaches a log.
impl std::fmt::Debug for StreamSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSettings")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("format", &self.format)
            .field("filters", &self.filters)
            .field("enabled", &self.enabled)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("ca_cert", &self.ca_cert.as_ref().map(String::len))
            .finish()
    }
}

/// A stream as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub id: Uuid,
    pub account_id: AccountId,
    pub settings: StreamSettings,
    pub created_at: Timestamp,
    /// The highest seq whose delivery was acknowledged (or passed over by the filters).
    pub delivered_seq: u64,
    pub last_delivery_at: Option<Timestamp>,
    /// A short text without secrets; `None` after a delivery succeeded.
    pub last_error: Option<String>,
    /// Consecutive failed deliveries.
    pub failures: u32,
}

/// A stream to create. It starts after `from_seq - 1` when given, else after the
/// account's head as the creating transaction reads it.
#[derive(Debug, Clone)]
pub struct NewStream {
    pub account_id: AccountId,
    pub settings: StreamSettings,
    pub from_seq: Option<u64>,
}

/// A targeted change of a stream: `None` leaves a member as it is. Applied to the
/// row as the changing transaction reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub format: Option<StreamFormat>,
    pub filters: Option<StreamFilters>,
    pub enabled: Option<bool>,
    pub secret: Option<String>,
    pub ca_cert: Option<String>,
    /// A replay: delivery resumes with the first matching event whose seq ≥ this.
    pub resume_at: Option<u64>,
}

impl StreamPatch {
    /// The stream as this patch leaves it. A replay clears the failure count, so the
    /// stream tries again at once instead of after its backoff.
    pub fn apply(&self, stream: &Stream) -> Stream {
        let mut after = stream.clone();
        let s = &mut after.settings;
        if let Some(name) = &self.name {
            s.name = name.clone();
        }
        if let Some(url) = &self.url {
            s.url = url.clone();
        }
        if let Some(format) = self.format {
            s.format = format;
        }
        if let Some(filters) = &self.filters {
            s.filters = filters.clone();
        }
        if let Some(enabled) = self.enabled {
            s.enabled = enabled;
        }
        if let Some(secret) = &self.secret {
            s.secret = Some(secret.clone());
        }
        if let Some(ca_cert) = &self.ca_cert {
            s.ca_cert = Some(ca_cert.clone());
        }
        if let Some(seq) = self.resume_at {
            after.delivered_seq = seq.saturating_sub(1);
            after.failures = 0;
        }
        after
    }
}

/// Streams and their delivery state.
#[async_trait]
pub trait StreamStore: Send + Sync + std::fmt::Debug {
    /// Creates a stream and appends its record in one transaction; an unknown
    /// account is `UnknownAccount`.
    async fn create_stream(&self, stream: NewStream, record: Recorder<Stream>) -> StoreResult<Recorded<Stream>>;
    /// The account's streams, oldest first.
    async fn streams(&self, account: AccountId) -> StoreResult<Vec<Stream>>;
    async fn stream(&self, account: AccountId, id: Uuid) -> StoreResult<Option<Stream>>;
    /// Applies a patch and appends its record; `None` when there is no such stream.
    async fn change_stream(
        &self,
        account: AccountId,
        id: Uuid,
        patch: StreamPatch,
        record: Recorder<Transition<Stream>>,
    ) -> StoreResult<Option<Recorded<Transition<Stream>>>>;
    /// Deletes a stream and appends its record; `None` when there was none.
    async fn delete_stream(
        &self,
        account: AccountId,
        id: Uuid,
        record: Recorder<Stream>,
    ) -> StoreResult<Option<Recorded<Stream>>>;
    /// Every stream of every account, for delivery and the metrics.
    async fn all_streams(&self) -> StoreResult<Vec<Stream>>;

    /// Takes the stream's lease, or renews it when `holder` has it, until
    /// `now + ttl_ms`; `true` when `holder` holds it afterwards.
    async fn take_stream_lease(&self, id: Uuid, holder: Uuid, now: Timestamp, ttl_ms: i64) -> StoreResult<bool>;
    /// Lets the lease go, if `holder` has it.
    async fn release_stream_lease(&self, id: Uuid, holder: Uuid) -> StoreResult<()>;
    /// Moves the position from `from` to `to` after an acknowledged delivery (and
    /// clears the failures), only while `holder` holds the lease and the position is
    /// still `from`; `false` (nothing changed) otherwise.
    async fn stream_delivered(&self, id: Uuid, holder: Uuid, from: u64, to: u64, at: Timestamp) -> StoreResult<bool>;
    /// Counts a failed delivery and keeps its error, while `holder` holds the lease;
    /// answers the consecutive failures, `None` when the lease is not `holder`'s.
    async fn stream_failed(&self, id: Uuid, holder: Uuid, error: &str) -> StoreResult<Option<u32>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_through_their_json() {
        let filters = StreamFilters { activity: vec!["team".into()], case: vec!["c_1".into()], ..Default::default() };
        let json = filters.to_json();
        assert_eq!(json, serde_json::json!({"activity": ["team"], "case": ["c_1"]}));
        assert_eq!(StreamFilters::from_json(&json), Some(filters));
        assert_eq!(StreamFilters::from_json(&serde_json::json!({"q": ["x"]})), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let settings = StreamSettings {
            name: "SOC".into(),
            kind: StreamKind::Webhook,
            url: "https://siem.example.com/hook".into(),
            format: StreamFormat::Json,
            filters: StreamFilters::default(),
            enabled: true,
            secret: Some("whsec_very_secret".into()),
            ca_cert: None,
        };
        let text = format!("{settings:?}");
        assert!(!text.contains("very_secret"), "{text}");
        assert!(text.contains("***"));
    }
}
