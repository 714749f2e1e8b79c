//! When to try a request again, and how long to wait first.
//!
//! Retrying an ingest is always safe: every event carries an idempotency key, so an
//! event the server stored before its answer was lost is answered as a duplicate, not
//! stored twice. What is retried is what may succeed later: no connection, a timeout,
//! `408`, `429` and the `5xx` family (`503` while the database is out of reach). A
//! `4xx` other than `408` and `429` says the request itself is wrong, and is never
//! retried.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How often and how patiently to retry.
///
/// The wait before attempt *n + 1* is a random duration between zero and
/// `initial × 2ⁿ⁻¹` (capped at `max_delay`) — "full jitter", so that many senders
/// failing at once do not come back at once — and never shorter than the server's
/// `Retry-After` (itself capped at `max_retry_after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests made in all, the first one included; at least 1.
    pub max_attempts: u32,
    /// The cap of the first wait.
    pub initial: Duration,
    /// The cap of any computed wait.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one is waited this long.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Ten attempts, waits from 200 ms up to 30 s: about two and a half minutes of
    /// retrying at worst, which rides out a server restart or a database failover.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            initial: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// No retries at all: one attempt.
    pub fn never() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The wait after `attempt` (1 for the first request) failed, given the
    /// server's `Retry-After` if it sent one.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        let cap = self.initial.saturating_mul(1u32 << doublings).min(self.max_delay);
        let jittered = cap.mul_f64(random_fraction());
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max_retry_after)),
            None => jittered,
        }
    }
}

/// Whether a status is worth trying again.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || (500..600).contains(&status)
}

/// Whether a transport failure is worth trying again: everything but a request that
/// could not even be built (a bad URL or header).
pub fn is_retryable_transport(error: &reqwest::Error) -> bool {
    !error.is_builder()
}

/// The `Retry-After` of an answer: seconds, or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    let now = jiff::Timestamp::try_from(SystemTime::now()).ok()?;
    let secs = (at.as_millisecond() - now.as_millisecond()).max(0);
    Some(Duration::from_millis(u64::try_from(secs).ok()?))
}

/// A number in `[0, 1)`: enough randomness for jitter, without a dependency. Each
/// `RandomState` is seeded afresh by the standard library.
fn random_fraction() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn waits_grow_and_stay_under_their_cap() {
        let policy = RetryPolicy {
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            ..Default::default()
        };
        for attempt in 1..=12 {
            let cap = Duration::from_millis(100 * (1 << (attempt - 1).min(20))).min(Duration::from_secs(2));
            let waits: Vec<Duration> = (0..200).map(|_| policy.delay(attempt, None)).collect();
            assert!(waits.iter().all(|w| *w <= cap), "attempt {attempt}: {waits:?} over {cap:?}");
            // Jittered: not all the same, and not all tiny.
            assert!(waits.iter().any(|w| *w != waits[0]), "attempt {attempt} is not jittered");
            assert!(waits.iter().any(|w| *w > cap / 2), "attempt {attempt} never waits past half its cap");
        }
    }

    #[test]
    fn retry_after_is_a_floor_within_reason() {
        let policy = RetryPolicy::default();
        for _ in 0..50 {
            assert!(policy.delay(1, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        }
        assert_eq!(policy.delay(1, Some(Duration::from_secs(86_400))), policy.max_retry_after);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&soon).unwrap();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60), "{date}: {wait:?}");
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Thu, 01 Jan 1970 00:00:01 GMT"));
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a date past is no wait");
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn only_what_may_succeed_later_is_retried() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 413, 422] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }
}
