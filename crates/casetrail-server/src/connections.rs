//! Accepting and serving HTTP/1.1 connections, with the time limits a server facing
//! the network needs (`axum::serve` takes no configuration, so none of them).
//!
//! - The request's headers must arrive within [`Timeouts::header`], counted by hyper
//!   from the first byte (or from the end of the previous answer, so an idle kept-alive
//!   connection is closed after that long too). A client that sends half a header and
//!   waits is disconnected.
//! - The body must arrive within [`Timeouts::body`] of the headers, whatever the pace:
//!   [`DeadlineBody`] fails the read once the time is up, and the handler answers `408`.
//! - The handler's limit is a layer of the router (`crate::timeouts`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::Timeouts;

/// Serves `router` on every connection `listener` accepts until `shutdown`
/// resolves, then lets the requests in flight finish.
pub(crate) async fn serve_connections(
    listener: TcpListener,
    router: axum::Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    wait_after_accept_error(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(|body| Body::new(DeadlineBody::new(body, timeouts.body)));
            // What `into_make_service_with_connect_info` would add: the sign-in
            // limits and the events' IP addresses read it.
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timeouts.header)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                // A client that went away or was too slow: nothing to act on.
                tracing::debug!(error = %err, %peer, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A client that reset its connection before it was accepted is no concern; anything
/// else (out of file descriptors) is logged, and accepting waits a moment for
/// connections to close, as hyper's own server did.
async fn wait_after_accept_error(err: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(err.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset) {
        return;
    }
    tracing::error!(error = %err, "could not accept a connection");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A request body that fails once `limit` has passed since the request's headers
/// arrived, however steadily it trickles in.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl DeadlineBody {
    fn new(inner: Incoming, limit: Duration) -> DeadlineBody {
        DeadlineBody { inner, deadline: Box::pin(tokio::time::sleep(limit)), limit }
    }
}

/// The body did not arrive in time; [`is_body_timeout`] finds it in an error chain.
#[derive(Debug)]
pub struct BodyTimedOut {
    pub limit: Duration,
}

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body did not arrive within {}", crate::error::in_seconds(self.limit))
    }
}

impl std::error::Error for BodyTimedOut {}

/// Whether reading a body failed because it came too slowly: the limit, if so.
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(timed_out) = err.downcast_ref::<BodyTimedOut>() {
            return Some(timed_out.limit);
        }
        next = err.source();
    }
    None
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        // Whatever has already arrived is still read; only waiting is bounded.
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut { limit: this.limit })))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
