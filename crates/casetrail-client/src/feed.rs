//! The pull feed (`GET /api/v1/events/feed`) as a [`Stream`] of events in seq order.
//!
//! The stream asks for the events after its position, yields them one by one, moves
//! its position to the page's `last_seq` and asks again. When there is nothing new, the
//! server holds the request open for up to [`FeedOptions::wait`] (a long poll), so a
//! caught-up stream costs one request per wait, and a new event arrives as soon as it
//! is committed. The stream never ends by itself; it yields an error and ends when a
//! request fails past its retries (or is refused: a wrong key, a key that is not an
//! admin's). To carry on after an error, start a new feed from the last seq seen.

use std::collections::VecDeque;
use std::time::Duration;

use futures_core::Stream;
use serde::Deserialize;

use crate::Client;
use crate::error::Error;
use crate::event::StoredEvent;
use crate::retry::RetryPolicy;

/// Where a feed starts and how it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedOptions {
    /// Yield the events with a seq after this one (0: from the first).
    pub after_seq: u64,
    /// Events per request, from 1 to 1000.
    pub limit: u32,
    /// How long the server may hold a request open while nothing is new, up to 60 s
    /// (the server may answer sooner).
    pub wait: Duration,
    /// How each request is retried.
    pub retry: RetryPolicy,
}

impl Default for FeedOptions {
    fn default() -> FeedOptions {
        FeedOptions { after_seq: 0, limit: 500, wait: Duration::from_secs(30), retry: RetryPolicy::default() }
    }
}

#[derive(Deserialize)]
struct FeedPage {
    events: Vec<StoredEvent>,
    last_seq: u64,
}

struct FeedState {
    client: Client,
    options: FeedOptions,
    after: u64,
    buffered: VecDeque<StoredEvent>,
    ended: bool,
}

/// The feed of `client`'s account from `options.after_seq` on.
pub(crate) fn feed(client: Client, options: FeedOptions) -> impl Stream<Item = Result<StoredEvent, Error>> + Send {
    let options =
        FeedOptions { limit: options.limit.clamp(1, 1000), wait: options.wait.min(Duration::from_secs(60)), ..options };
    let state = FeedState { client, after: options.after_seq, options, buffered: VecDeque::new(), ended: false };
    futures_util::stream::unfold(state, |mut state| async move {
        if state.ended {
            return None;
        }
        loop {
            if let Some(event) = state.buffered.pop_front() {
                return Some((Ok(event), state));
            }
            match next_page(&state).await {
                Ok(page) => {
                    state.after = page.last_seq;
                    state.buffered.extend(page.events);
                }
                Err(err) => {
                    state.ended = true;
                    return Some((Err(err), state));
                }
            }
        }
    })
}

async fn next_page(state: &FeedState) -> Result<FeedPage, Error> {
    let FeedOptions { limit, wait, retry, .. } = state.options;
    let answer = state.client.get_feed(state.after, limit, wait, &retry).await?;
    if answer.status != 200 {
        return Err(Error::from_answer(answer.status, &answer.body));
    }
    let page: FeedPage = serde_json::from_slice(&answer.body)
        .map_err(|e| Error::Protocol(format!("the feed's page is not {{\"events\": [...], \"last_seq\": N}}: {e}")))?;
    check_order(state.after, &page)?;
    Ok(page)
}

/// Seqs after the position, strictly ascending, ending at `last_seq`: anything else
/// would skip or repeat events.
fn check_order(after: u64, page: &FeedPage) -> Result<(), Error> {
    let mut previous = after;
    for event in &page.events {
        if event.seq() <= previous {
            return Err(Error::Protocol(format!("the feed answered seq {} after seq {previous}", event.seq())));
        }
        previous = event.seq();
    }
    if page.last_seq != previous {
        return Err(Error::Protocol(format!(
            "the feed's last_seq {} is not its last event's {previous}",
            page.last_seq
        )));
    }
    Ok(())
}
