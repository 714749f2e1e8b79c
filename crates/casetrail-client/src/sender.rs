//! [`Sender`]: events queued one at a time and sent in batches, in the background.
//!
//! The sender is a bounded queue in front of one background task. The task takes
//! events off the queue into a batch and sends it once it holds
//! [`SenderOptions::max_batch`] events (at most 1000, the API's limit), once the next
//! event would take its body past 1 MiB, or [`SenderOptions::linger`] after its first
//! event — whichever comes first. While [`SenderOptions::max_in_flight`] batches are
//! out the task takes nothing more, so the queue fills and [`Sender::send`] waits:
//! that is the backpressure, and memory stays bounded however slow the server is.
//!
//! Each event's fate comes back through its [`Receipt`]; [`Sender::close`] sends
//! everything still queued and reports every event that did not make it.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::Client;
use crate::deliver::{MAX_BATCH_EVENTS, MAX_BODY_BYTES, Outcome, body_len, deliver};
use crate::error::Error;
use crate::event::Event;
use crate::report::{CloseReport, Receipt};
use crate::retry::RetryPolicy;

/// How a [`Sender`] batches, queues and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderOptions {
    /// Events the queue holds before [`Sender::send`] waits (and
    /// [`Sender::try_send`] answers [`TrySendError::Full`]); at least 1. Besides
    /// these, up to `max_batch × (max_in_flight + 1)` events are in batches being
    /// gathered or sent.
    pub capacity: usize,
    /// The most events in one request, from 1 to 1000.
    pub max_batch: usize,
    /// How long a batch waits for more events after its first one.
    pub linger: Duration,
    /// Batches sent at once. With 1 (the default) events reach the log in the order
    /// they were queued; with more, batches may overtake each other.
    pub max_in_flight: usize,
    /// How each request is retried.
    pub retry: RetryPolicy,
}

impl Default for SenderOptions {
    fn default() -> SenderOptions {
        SenderOptions {
            capacity: 10_000,
            max_batch: MAX_BATCH_EVENTS,
            linger: Duration::from_millis(50),
            max_in_flight: 1,
            retry: RetryPolicy::default(),
        }
    }
}

/// [`Sender::try_send`] could not queue the event; it is given back.
#[derive(Debug)]
pub enum TrySendError {
    /// The queue is full: try again later, or [`send`](Sender::send) to wait.
    Full(Box<Event>),
    /// The sender is closed.
    Closed(Box<Event>),
}

/// [`Sender::send`] could not queue the event, as the sender is closed; it is given back.
#[derive(Debug)]
pub struct SendError(pub Box<Event>);

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the sender is closed")
    }
}

impl std::error::Error for SendError {}

/// One queued event, with where its outcome goes.
#[derive(Debug)]
pub(crate) struct Pending {
    pub event: Event,
    pub bytes: Vec<u8>,
    pub reply: oneshot::Sender<Outcome>,
}

enum Command {
    /// Boxed: an event is large, and most of the queue's slots are empty.
    Event(Box<Pending>),
    Flush(oneshot::Sender<()>),
}

/// Queues events and sends them in batches, with retries, from a background task.
///
/// Made by [`Client::sender`], inside a tokio runtime. `send`, `try_send` and `flush`
/// take `&self`, so one sender can be shared (in an `Arc`) by many tasks.
///
/// **Close it.** [`close`](Self::close) sends what is queued and answers a
/// [`CloseReport`]. A sender dropped without `close` still sends what was queued in
/// the background, but nobody learns what failed, and whatever is still queued when
/// the runtime shuts down is lost.
#[derive(Debug)]
pub struct Sender {
    queue: mpsc::Sender<Command>,
    worker: tokio::task::JoinHandle<CloseReport>,
}

impl Sender {
    pub(crate) fn start(client: Client, options: SenderOptions) -> Sender {
        let options = SenderOptions {
            capacity: options.capacity.max(1),
            max_batch: options.max_batch.clamp(1, MAX_BATCH_EVENTS),
            max_in_flight: options.max_in_flight.max(1),
            ..options
        };
        let (queue, commands) = mpsc::channel(options.capacity);
        let worker = tokio::spawn(Worker::new(client, options).run(commands));
        Sender { queue, worker }
    }

    /// Queues an event, waiting while the queue is full. Answers its [`Receipt`].
    pub async fn send(&self, event: Event) -> Result<Receipt, SendError> {
        let (pending, receipt) = pending(event);
        match self.queue.send(Command::Event(pending)).await {
            Ok(()) => Ok(receipt),
            Err(mpsc::error::SendError(command)) => Err(SendError(event_of(command))),
        }
    }

    /// Queues an event if there is room now.
    pub fn try_send(&self, event: Event) -> Result<Receipt, TrySendError> {
        let (pending, receipt) = pending(event);
        match self.queue.try_send(Command::Event(pending)) {
            Ok(()) => Ok(receipt),
            Err(mpsc::error::TrySendError::Full(command)) => Err(TrySendError::Full(event_of(command))),
            Err(mpsc::error::TrySendError::Closed(command)) => Err(TrySendError::Closed(event_of(command))),
        }
    }

    /// Sends at once what is queued (without waiting for the linger) and waits until
    /// every event queued before this call has its outcome.
    pub async fn flush(&self) -> Result<(), Error> {
        let (done, flushed) = oneshot::channel();
        self.queue.send(Command::Flush(done)).await.map_err(|_| Error::Closed)?;
        flushed.await.map_err(|_| Error::Closed)
    }

    /// Takes no more events, sends everything queued, and reports what became of
    /// every event this sender took.
    pub async fn close(self) -> CloseReport {
        drop(self.queue);
        match self.worker.await {
            Ok(report) => report,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Cancelled: the runtime is shutting down; nothing more can be known.
            Err(_) => CloseReport::default(),
        }
    }
}

fn pending(mut event: Event) -> (Box<Pending>, Receipt) {
    let key = event.ensure_key().to_string();
    let bytes = event.to_bytes();
    let (reply, outcome) = oneshot::channel();
    (Box::new(Pending { event, bytes, reply }), Receipt::new(key, outcome))
}

fn event_of(command: Command) -> Box<Event> {
    match command {
        Command::Event(pending) => Box::new(pending.event),
        // Only events are sent through the paths that give a command back.
        Command::Flush(_) => unreachable!("a flush is never given back as an event"),
    }
}

/// The background task: gathers batches and sends them.
struct Worker {
    client: Client,
    options: SenderOptions,
    batch: Vec<Pending>,
    batch_bytes: usize,
    /// When the batch being gathered must go, however small.
    deadline: Option<Instant>,
    in_flight: JoinSet<Vec<(Pending, Outcome)>>,
    report: CloseReport,
}

impl Worker {
    fn new(client: Client, options: SenderOptions) -> Worker {
        Worker {
            client,
            options,
            batch: Vec::new(),
            batch_bytes: 0,
            deadline: None,
            in_flight: JoinSet::new(),
            report: CloseReport::default(),
        }
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) -> CloseReport {
        loop {
            let deadline = self.deadline;
            tokio::select! {
                biased;
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => self.record(done),
                command = commands.recv() => match command {
                    Some(Command::Event(pending)) => self.take(*pending).await,
                    Some(Command::Flush(done)) => {
                        self.dispatch().await;
                        self.settle().await;
                        let _ = done.send(());
                    }
                    None => break,
                },
                () = sleep_until(deadline), if deadline.is_some() => self.dispatch().await,
            }
        }
        self.dispatch().await;
        self.settle().await;
        self.report
    }

    /// Adds an event to the batch, sending the batch first if the event would take
    /// its body past the limit, and after if it is now full.
    async fn take(&mut self, pending: Pending) {
        let len = pending.bytes.len();
        if !self.batch.is_empty() && body_len(self.batch.len() + 1, self.batch_bytes + len) > MAX_BODY_BYTES {
            self.dispatch().await;
        }
        if self.batch.is_empty() {
            self.deadline = Some(Instant::now() + self.options.linger);
        }
        self.batch.push(pending);
        self.batch_bytes += len;
        if self.batch.len() >= self.options.max_batch {
            self.dispatch().await;
        }
    }

    /// Sends the batch being gathered, once a slot is free.
    async fn dispatch(&mut self) {
        self.deadline = None;
        if self.batch.is_empty() {
            return;
        }
        while self.in_flight.len() >= self.options.max_in_flight {
            if let Some(done) = self.in_flight.join_next().await {
                self.record(done);
            }
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let (client, policy) = (self.client.clone(), self.options.retry);
        self.in_flight.spawn(async move {
            let events: Vec<&[u8]> = batch.iter().map(|p| p.bytes.as_slice()).collect();
            let outcomes = deliver(&client, &policy, &events).await;
            batch.into_iter().zip(outcomes).collect()
        });
    }

    /// Waits for every batch out.
    async fn settle(&mut self) {
        while let Some(done) = self.in_flight.join_next().await {
            self.record(done);
        }
    }

    fn record(&mut self, done: Result<Vec<(Pending, Outcome)>, tokio::task::JoinError>) {
        match done {
            Ok(results) => {
                for (pending, outcome) in results {
                    self.report.count(&pending.event, &outcome);
                    let _ = pending.reply.send(outcome);
                }
            }
            // The batch's receipts see their channel closed and answer `Closed`.
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => {}
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
