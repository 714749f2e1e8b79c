//! The feed as a stream: seq order across pages, resuming from `after_seq`, the long
//! poll picking up new events, and a key that may not read it.

use std::time::{Duration, Instant};

use casetrail_client::{ActorType, Client, Error, Event, FeedOptions, RetryPolicy, StoredEvent, activity, actor};
use futures_util::StreamExt as _;

use crate::proxy::Proxy;
use crate::support::TestServer;

fn event(n: usize) -> Event {
    Event::new(activity("case.updated").unwrap(), actor(ActorType::User, "u_1", "Jane Doe"))
        .description(format!("event {n}"))
}

async fn next(
    feed: &mut (impl futures_util::Stream<Item = Result<StoredEvent, Error>> + Unpin),
    within: Duration,
) -> StoredEvent {
    tokio::time::timeout(within, feed.next())
        .await
        .expect("the feed yielded nothing in time")
        .expect("the feed ended")
        .unwrap()
}

#[tokio::test]
async fn the_feed_yields_events_in_seq_order_and_picks_up_new_ones_during_a_long_poll() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server.base).await;
    let ingest = Client::new(&server.base, &server.firm.ingest_key).unwrap();
    let outcomes = ingest.ingest(&mut (0..250).map(event).collect::<Vec<_>>(), &RetryPolicy::default()).await;
    assert!(outcomes.iter().all(|o| o.is_stored()));

    let admin = Client::new(&proxy.base, &server.firm.admin_key).unwrap();
    let options = FeedOptions { after_seq: 0, limit: 100, wait: Duration::from_secs(20), ..FeedOptions::default() };
    let mut feed = Box::pin(admin.feed(options));
    let mut got = Vec::new();
    for _ in 0..250 {
        got.push(next(&mut feed, Duration::from_secs(10)).await);
    }
    assert_eq!(got.iter().map(StoredEvent::seq).collect::<Vec<_>>(), (1..=250).collect::<Vec<u64>>());
    assert_eq!(got[41].event.description, "event 41");
    assert_eq!((got[41].category.as_str(), got[41].activity_label.as_str()), ("case", "Case updated"));
    assert_eq!(got[41].prev_hash, got[40].hash, "whole events, chained");
    let pages: Vec<String> = proxy.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(pages.len(), 3, "pages of 100: {pages:?}");

    // Caught up: the next request waits at the server for the first new event.
    let pending = tokio::spawn(async move {
        let started = Instant::now();
        let event = next(&mut feed, Duration::from_secs(15)).await;
        (event, started.elapsed(), feed)
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let committed = Instant::now();
    ingest.ingest(&mut [event(250), event(251)], &RetryPolicy::default()).await;
    let (first, waited, mut feed) = pending.await.unwrap();
    assert_eq!((first.seq(), first.event.description.as_str()), (251, "event 250"));
    assert!(waited >= Duration::from_millis(1400), "answered before anything was new: {waited:?}");
    assert!(committed.elapsed() < Duration::from_secs(5), "the long poll did not answer at the commit");
    assert_eq!(next(&mut feed, Duration::from_secs(5)).await.seq(), 252);
    // One request waited through the pause: a long poll, not a busy loop.
    assert_eq!(proxy.seen().len(), 4, "{:?}", proxy.seen().iter().map(|s| s.at).collect::<Vec<_>>());

    // Another feed resumes after a seq.
    let mut resumed = Box::pin(admin.feed(FeedOptions { after_seq: 248, ..options }));
    let seqs = [
        next(&mut resumed, Duration::from_secs(5)).await.seq(),
        next(&mut resumed, Duration::from_secs(5)).await.seq(),
    ];
    assert_eq!(seqs, [249, 250]);
}

#[tokio::test]
async fn a_key_that_may_not_read_ends_the_feed_with_its_error() {
    let server = TestServer::start().await;
    for (key, forbidden) in [(server.firm.ingest_key.as_str(), true), ("ct_wrong", false)] {
        let client = Client::new(&server.base, key).unwrap();
        let mut feed = Box::pin(client.feed(FeedOptions::default()));
        let err = tokio::time::timeout(Duration::from_secs(5), feed.next()).await.unwrap().unwrap().unwrap_err();
        if forbidden {
            assert!(matches!(&err, Error::Forbidden { .. }), "{err}");
        } else {
            assert!(matches!(&err, Error::Unauthenticated { .. }), "{err}");
        }
        assert!(feed.next().await.is_none(), "the feed ends after its error");
    }
}
