//! A client for the application that sends casetrail its events (the host CRM), and
//! for systems that pull the log.
//!
//! - [`Client`]: the server's URL and an API key.
//! - [`Event`]: one event in the ingest shape of `POST /api/v1/events` — actor,
//!   activity type, `occurred_at`, related records, changes or before/after snapshots,
//!   metadata, context and idempotency key — built from the domain's own types
//!   ([`Actor`], [`Related`], [`Activity`], …), so the client sends exactly what the
//!   server parses.
//! - [`Sender`] (from [`Client::sender`]): a bounded queue and a background task that
//!   sends events in batches (up to 1000 or 1 MiB, or after a short linger), retries
//!   `408`, `429`, `5xx` and lost connections with exponential backoff and jitter
//!   (honouring `Retry-After`), never retries another `4xx`, and gives every event an
//!   idempotency key so that no retry stores anything twice. [`Sender::send`] waits
//!   while the queue is full; [`Sender::try_send`] answers [`TrySendError::Full`].
//!   Each event's [`Receipt`] answers its [`Outcome`]: accepted, duplicate, rejected
//!   (with the server's 422 detail for that event) or failed.
//!   [`Sender::flush`] sends what is queued now; [`Sender::close`] sends everything
//!   and answers a [`CloseReport`] of what failed.
//! - [`Client::ingest`]: one call that sends a list of events and answers their
//!   outcomes, for callers that batch themselves.
//! - [`Client::feed`]: `GET /api/v1/events/feed` as a [`Stream`] of [`StoredEvent`]s
//!   in seq order, resuming from `after_seq` and long-polling while nothing is new.
//!
//! ```no_run
//! use casetrail_client::{ActorType, Client, Event, FeedOptions, Outcome, RecordType, SenderOptions, actor, activity};
//! use futures_util::StreamExt as _;
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The host application holds an ingest key (scope `events:write`).
//! let client = Client::new("https://casetrail.example.com", std::env::var("CASETRAIL_INGEST_KEY")?)?;
//! let sender = client.sender(SenderOptions::default());
//!
//! let jane = actor(ActorType::User, "u_17", "Jane Doe");
//! let event = Event::new(activity("case.updated")?, jane)
//!     .idempotency_key("crm-7f3a-91")
//!     .description("Changed case status from Intake to Active")
//!     .related(RecordType::Case, "c_204", "Smith v. Jones")
//!     .change("status", "Intake", "Active");
//! let receipt = sender.send(event).await?;
//! match receipt.outcome().await {
//!     Outcome::Accepted { seq, .. } => println!("stored as seq {seq}"),
//!     Outcome::Duplicate { seq, .. } => println!("already stored as seq {seq}"),
//!     Outcome::Rejected(why) => eprintln!("refused: {why}"),
//!     Outcome::Failed(err) => eprintln!("not delivered: {err}"),
//! }
//!
//! // Events without a receipt kept: their failures show in the close report.
//! for n in 0..100 {
//!     let event = Event::new(activity("communication.email_sent")?, actor(ActorType::System, "mailer", "Mailer"))
//!         .metadata("n", json!(n));
//!     sender.send(event).await?;
//! }
//! let report = sender.close().await;
//! for failure in &report.failures {
//!     eprintln!("{:?}: {:?}", failure.event.key(), failure.outcome);
//! }
//!
//! // A system that pulls the log holds an admin key.
//! let admin = Client::new("https://casetrail.example.com", std::env::var("CASETRAIL_ADMIN_KEY")?)?;
//! let mut feed = Box::pin(admin.feed(FeedOptions { after_seq: 1041, ..FeedOptions::default() }));
//! while let Some(event) = feed.next().await {
//!     let event = event?;
//!     println!("{} {} {}", event.seq(), event.event.activity, event.event.description);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The dependencies are kept few on purpose: the domain crate (no I/O), `reqwest` with
//! rustls, `serde` and `tokio`'s channels and timers — nothing of the server's storage
//! or HTTP stack.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod deliver;
mod error;
mod event;
mod feed;
mod report;
mod retry;
mod sender;

pub use casetrail_core::{Activity, Actor, ActorType, Change, Context, EventId, RecordType, Related, Timestamp};
pub use client::Client;
pub use deliver::{MAX_BATCH_EVENTS, MAX_BODY_BYTES, Outcome};
pub use error::{Error, Problem, Rejection};
pub use event::{ActivityError, Event, StoredEvent, activity, actor};
pub use feed::FeedOptions;
pub use futures_core::Stream;
pub use report::{CloseReport, Failure, KEPT_FAILURES, Receipt};
pub use retry::RetryPolicy;
pub use sender::{SendError, Sender, SenderOptions, TrySendError};

impl Client {
    /// A [`Sender`] that batches events to this server in the background. Call it
    /// inside a tokio runtime (it spawns its task there).
    pub fn sender(&self, options: SenderOptions) -> Sender {
        Sender::start(self.clone(), options)
    }

    /// Sends `events` now, in batches of up to 1000 (or 1 MiB), retried as `retry`
    /// says, and answers one outcome per event, in order. Events without an
    /// idempotency key are given one first, so that sending the same events again
    /// stores nothing twice.
    pub async fn ingest(&self, events: &mut [Event], retry: &RetryPolicy) -> Vec<Outcome> {
        let bodies: Vec<Vec<u8>> = events
            .iter_mut()
            .map(|e| {
                e.ensure_key();
                e.to_bytes()
            })
            .collect();
        let mut outcomes = Vec::with_capacity(bodies.len());
        let mut start = 0;
        while start < bodies.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < bodies.len()
                && end - start < MAX_BATCH_EVENTS
                && (end == start || deliver::body_len(end - start + 1, bytes + bodies[end].len()) <= MAX_BODY_BYTES)
            {
                bytes += bodies[end].len();
                end += 1;
            }
            let chunk: Vec<&[u8]> = bodies[start..end].iter().map(Vec::as_slice).collect();
            outcomes.extend(deliver::deliver(self, retry, &chunk).await);
            start = end;
        }
        outcomes
    }

    /// The account's log from `options.after_seq` on, in seq order, as a stream that
    /// long-polls for new events. Needs an `admin` key.
    pub fn feed(&self, options: FeedOptions) -> impl Stream<Item = Result<StoredEvent, Error>> + Send + use<> {
        feed::feed(self.clone(), options)
    }
}
