//! What `/metrics` shows (docs/API.md §13), kept in one explicit registry per
//! [`App`](crate::App): no global recorder, so parallel tests and several apps in one
//! process each count their own.
//!
//! No label carries an account, a user, a key or event content: HTTP requests are
//! counted by the route's *template* (`/api/v1/events/{id}`) and status, and the
//! stream gauges by the stream's id only. The stream gauges are read from the
//! database at each scrape ([`Metrics::render`]), not from this process's own
//! delivery: with several servers each stream is delivered by one of them, and every
//! server must still show every stream's lag.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`]'s text: OpenMetrics, which Prometheus
/// asks for first and parses natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The labels of an HTTP request count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabel {
    stream: String,
}

/// One stream's state for the gauges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamGauge {
    pub stream: String,
    /// Events of the chain after the stream's position.
    pub lag: u64,
    /// Consecutive failed deliveries.
    pub failures: u32,
}

/// Seconds, from a fast commit (a millisecond) to a slow request (a minute).
const LATENCY_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    events_ingested: Counter,
    commit_seconds: Histogram,
    http_requests: Family<RequestLabels, Counter>,
    http_seconds: Family<RouteLabel, Histogram, fn() -> Histogram>,
    stream_lag: Family<StreamLabel, Gauge>,
    stream_failures: Family<StreamLabel, Gauge>,
    /// Scrapes fill the stream gauges and encode them as one step.
    rendering: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::default();
        let events_ingested = Counter::default();
        // The counter's `_total` suffix is added by the encoder.
        registry.register(
            "casetrail_events_ingested",
            "Events appended to a chain (duplicates of an idempotency key not counted)",
            events_ingested.clone(),
        );
        let commit_seconds = latency_histogram();
        registry.register(
            "casetrail_ingest_commit_seconds",
            "How long the group commit of ingested events took",
            commit_seconds.clone(),
        );
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "casetrail_http_requests",
            "HTTP requests answered, by route template and status",
            http_requests.clone(),
        );
        let http_seconds: Family<RouteLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "casetrail_http_request_duration_seconds",
            "How long answering an HTTP request took, by route template",
            http_seconds.clone(),
        );
        let stream_lag = Family::<StreamLabel, Gauge>::default();
        registry.register("casetrail_stream_lag_events", "Events after a stream's position", stream_lag.clone());
        let stream_failures = Family::<StreamLabel, Gauge>::default();
        registry.register(
            "casetrail_stream_failures",
            "Consecutive failed deliveries of a stream",
            stream_failures.clone(),
        );
        Metrics {
            registry,
            events_ingested,
            commit_seconds,
            http_requests,
            http_seconds,
            stream_lag,
            stream_failures,
            rendering: Mutex::new(()),
        }
    }
}

impl Metrics {
    /// One group commit: how many new events it appended and how long it took.
    pub fn committed(&self, appended: u64, took: Duration) {
        self.events_ingested.inc_by(appended);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    /// One event appended by a change that recorded itself (a setting, the team, a
    /// key, a hold, a stream, a sign-in, a purge's tally), in the change's own
    /// transaction rather than through the writer: it counts as ingested too.
    pub fn recorded(&self) {
        self.events_ingested.inc();
    }

    /// One answered HTTP request; `route` is the route's template.
    pub fn answered(&self, route: &str, status: u16, took: Duration) {
        self.http_requests.get_or_create(&RequestLabels { route: route.to_string(), status }).inc();
        self.http_seconds.get_or_create(&RouteLabel { route: route.to_string() }).observe(took.as_secs_f64());
    }

    /// The text of a scrape, with the stream gauges set to `streams` (every stream
    /// of every account, as the database has them now).
    pub fn render(&self, streams: &[StreamGauge]) -> String {
        let _one_at_a_time = self.rendering.lock().unwrap_or_else(|p| p.into_inner());
        self.stream_lag.clear();
        self.stream_failures.clear();
        for s in streams {
            let label = StreamLabel { stream: s.stream.clone() };
            self.stream_lag.get_or_create(&label).set(i64::try_from(s.lag).unwrap_or(i64::MAX));
            self.stream_failures.get_or_create(&label).set(i64::from(s.failures));
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_shows_counts_by_route_template_and_the_streams_given() {
        let metrics = Metrics::default();
        metrics.committed(3, Duration::from_millis(2));
        metrics.committed(0, Duration::from_millis(1));
        metrics.answered("/api/v1/events/{id}", 404, Duration::from_millis(3));
        let gauges = [StreamGauge { stream: "s1".into(), lag: 7, failures: 2 }];
        let text = metrics.render(&gauges);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"casetrail_events_ingested_total 3"), "{text}");
        assert!(lines.contains(&"casetrail_ingest_commit_seconds_count 2"), "{text}");
        assert!(lines.contains(&"casetrail_http_requests_total{route=\"/api/v1/events/{id}\",status=\"404\"} 1"));
        assert!(lines.contains(&"casetrail_stream_lag_events{stream=\"s1\"} 7"), "{text}");
        assert!(lines.contains(&"casetrail_stream_failures{stream=\"s1\"} 2"), "{text}");
        assert_eq!(lines.last(), Some(&"# EOF"));
        // A stream deleted since the last scrape is gone from the next.
        let text = metrics.render(&[]);
        assert!(!text.contains("stream=\"s1\""), "{text}");
    }
}
