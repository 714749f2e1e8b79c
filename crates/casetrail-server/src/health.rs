//! `GET /healthz` (readiness: can this server reach its database?) and `GET /livez`
//! (liveness: is the process serving at all?).
//!
//! A balancer probes `/healthz` often, and many balancers probe every server, so the
//! answer must cost next to nothing and never hang: one `ping` at most per
//! [`FRESH_FOR`], bounded by [`PING_WITHIN`], and every probe in between is answered
//! from the last result. Probes that arrive while a ping is out wait for that ping
//! instead of starting their own.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_store::StoreResult;
use serde_json::json;
use tokio::sync::Mutex;

use crate::AppState;

/// How long one answer of the database is believed.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// How long a ping may take before the database counts as unreachable.
pub const PING_WITHIN: Duration = Duration::from_secs(1);

/// The newest word on the database, shared by every request of one server.
#[derive(Debug, Default)]
pub struct DatabaseHealth {
    /// When the last ping ended, and whether the database answered it.
    last: Mutex<Option<(Instant, bool)>>,
}

impl DatabaseHealth {
    /// Whether the database answers: the last result while it is fresh, else the
    /// result of `ping()` (given [`PING_WITHIN`]), which then becomes the last.
    pub async fn reachable<F>(&self, ping: impl FnOnce() -> F) -> bool
    where
        F: Future<Output = StoreResult<()>>,
    {
        // Held across the ping: a burst of probes makes one round trip, not many.
        let mut last = self.last.lock().await;
        if let Some((at, answered)) = *last
            && at.elapsed() < FRESH_FOR
        {
            return answered;
        }
        let answered = match tokio::time::timeout(PING_WITHIN, ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                tracing::warn!(error = ?err, "health check: the database did not answer");
                false
            }
            Err(_) => {
                tracing::warn!(within = ?PING_WITHIN, "health check: the database did not answer in time");
                false
            }
        };
        *last = Some((Instant::now(), answered));
        answered
    }
}

/// `200 {"status":"ok"}` while the database answers, `503` naming it while it does
/// not (the server itself runs on and recovers by itself once it is back).
pub async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    if state.health.reachable(|| async move { store.ping().await }).await {
        (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
    } else {
        let body = json!({"status": "unavailable", "database": "unreachable"});
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    }
}

/// `200 {"status":"ok"}` whenever the process serves requests, whatever the database
/// does: a liveness probe must not restart servers over a database outage.
pub async fn livez() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use casetrail_store::StoreError;

    use super::*;

    /// A ping that counts itself and answers `answer`.
    fn counted(calls: &Arc<AtomicU32>, answer: bool) -> impl Future<Output = StoreResult<()>> + use<> {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            if answer { Ok(()) } else { Err(StoreError::unavailable(std::io::Error::other("refused"))) }
        }
    }

    #[tokio::test]
    async fn a_flood_of_probes_costs_one_ping_per_second() {
        let health = DatabaseHealth::default();
        let calls = Arc::new(AtomicU32::new(0));
        for _ in 0..200 {
            assert!(health.reachable(|| counted(&calls, true)).await);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "answered from the first ping");
        tokio::time::sleep(FRESH_FOR + Duration::from_millis(50)).await;
        // The next answer is a new ping's, and says the database has gone.
        assert!(!health.reachable(|| counted(&calls, false)).await);
        assert!(!health.reachable(|| counted(&calls, true)).await, "still the fresh failure");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn simultaneous_probes_share_the_ping_in_flight() {
        let health = Arc::new(DatabaseHealth::default());
        let calls = Arc::new(AtomicU32::new(0));
        let probes: Vec<_> = (0..20)
            .map(|_| {
                let (health, calls) = (health.clone(), calls.clone());
                tokio::spawn(async move {
                    health
                        .reachable(|| async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        for probe in probes {
            assert!(probe.await.unwrap());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_ping_that_hangs_counts_as_unreachable_within_the_bound() {
        let health = DatabaseHealth::default();
        let started = Instant::now();
        assert!(!health.reachable(std::future::pending::<StoreResult<()>>).await);
        let took = started.elapsed();
        assert!(took >= PING_WITHIN && took < PING_WITHIN + Duration::from_millis(500), "{took:?}");
    }
}
