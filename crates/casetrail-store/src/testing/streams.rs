//! Streams (`StreamStore`): where a new stream starts, what a patch and a replay
//! change, the record each change appends, and the lease that lets one handle at a
//! time move a stream's position.

use std::sync::Arc;

use uuid::Uuid;

use super::support::{append, new_account, plain, ts, unknown_id, whole_chain};
use crate::{
    NewStream, Recorder, Store, StreamFilters, StreamFormat, StreamKind, StreamPatch, StreamSettings, Transition,
};

fn settings(name: &str) -> StreamSettings {
    StreamSettings {
        name: name.into(),
        kind: StreamKind::Webhook,
        url: "https://siem.example.com/hook".into(),
        format: StreamFormat::Json,
        filters: StreamFilters { activity: vec!["team".into()], ..Default::default() },
        enabled: true,
        secret: Some("whsec_secret".into()),
        ca_cert: None,
    }
}

fn record<T>(description: &'static str) -> Recorder<T> {
    Box::new(move |_| Some(plain(description)))
}

/// A new stream starts after the head and its own record, or before `from_seq`; a
/// patch changes only what it names; a replay moves the position; deleting removes
/// it; each change appends its record; another account never sees it.
pub async fn streams_are_created_changed_replayed_and_deleted_with_their_records(store: Arc<dyn Store>) {
    let account = new_account(store.as_ref(), "Smith LLP").await;
    append(store.as_ref(), account, vec![plain("a"), plain("b")]).await;
    let created = store
        .create_stream(NewStream { account_id: account, settings: settings("SOC"), from_seq: None }, record("created"))
        .await
        .unwrap();
    assert_eq!(created.event.map(|e| e.seq), Some(3));
    let stream = created.value;
    assert_eq!(stream.delivered_seq, 3, "after the two events and its own record");
    assert_eq!(stream.settings, settings("SOC"));
    assert_eq!((stream.failures, stream.last_error.clone(), stream.last_delivery_at), (0, None, None));
    let from_one = NewStream { account_id: account, settings: settings("Replay"), from_seq: Some(1) };
    let second = store.create_stream(from_one, record("created")).await.unwrap().value;
    assert_eq!(second.delivered_seq, 0);
    let listed: Vec<Uuid> = store.streams(account).await.unwrap().iter().map(|s| s.id).collect();
    assert_eq!(listed, [stream.id, second.id]);

    let patch = StreamPatch { name: Some("SOC 2".into()), enabled: Some(false), ..Default::default() };
    let changed = store.change_stream(account, stream.id, patch, record::<Transition<_>>("changed")).await.unwrap();
    let changed = changed.unwrap();
    assert_eq!(changed.value.before.settings.name, "SOC");
    let after = changed.value.after;
    assert_eq!((after.settings.name.as_str(), after.settings.enabled), ("SOC 2", false));
    assert_eq!(after.settings.url, stream.settings.url, "untouched");
    assert_eq!(store.stream(account, stream.id).await.unwrap(), Some(after));
    let replay = StreamPatch { resume_at: Some(2), ..Default::default() };
    let replayed = store.change_stream(account, stream.id, replay, record("replayed")).await.unwrap().unwrap();
    assert_eq!(replayed.value.after.delivered_seq, 1);

    let other = new_account(store.as_ref(), "Other LLP").await;
    assert_eq!(store.streams(other).await.unwrap(), vec![]);
    assert_eq!(store.stream(other, stream.id).await.unwrap(), None);
    assert!(store.delete_stream(other, stream.id, record("deleted")).await.unwrap().is_none());
    assert!(store.change_stream(account, unknown_id(), StreamPatch::default(), record("x")).await.unwrap().is_none());
    let deleted = store.delete_stream(account, stream.id, record("deleted")).await.unwrap().unwrap();
    assert_eq!(deleted.value.id, stream.id);
    assert_eq!(store.stream(account, stream.id).await.unwrap(), None);
    let descriptions: Vec<String> =
        whole_chain(store.as_ref(), account).await.iter().map(|e| super::support::body(e).description).collect();
    assert_eq!(descriptions, ["a", "b", "created", "created", "changed", "replayed", "deleted"]);
    assert_eq!(store.all_streams().await.unwrap().iter().map(|s| s.id).collect::<Vec<_>>(), [second.id]);
}

/// One handle at a time holds a stream's lease, and only the holder moves the
/// position, only from the position it read; a lease left to expire is taken over.
pub async fn only_a_streams_lease_holder_moves_it(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let account = new_account(first.as_ref(), "Smith LLP").await;
    let new = NewStream { account_id: account, settings: settings("SOC"), from_seq: Some(1) };
    let id = first.create_stream(new, record("created")).await.unwrap().value.id;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let now = ts("2026-01-01T00:00:00Z");
    assert!(first.take_stream_lease(id, a, now, 30_000).await.unwrap());
    assert!(!second.take_stream_lease(id, b, now, 30_000).await.unwrap(), "held by a");
    assert!(first.take_stream_lease(id, a, now.plus_millis(10_000), 30_000).await.unwrap(), "renewed");
    assert!(!second.stream_delivered(id, b, 0, 5, now).await.unwrap(), "b does not hold it");
    assert_eq!(second.stream_failed(id, b, "boom").await.unwrap(), None);
    assert_eq!(first.stream_failed(id, a, "the receiver answered 503").await.unwrap(), Some(1));
    assert_eq!(first.stream_failed(id, a, "the receiver answered 503").await.unwrap(), Some(2));
    let failing = second.stream(account, id).await.unwrap().unwrap();
    assert_eq!((failing.failures, failing.last_error.as_deref()), (2, Some("the receiver answered 503")));
    assert!(!first.stream_delivered(id, a, 3, 5, now).await.unwrap(), "not from the position a read");
    assert!(first.stream_delivered(id, a, 0, 5, now).await.unwrap());
    let moved = second.stream(account, id).await.unwrap().unwrap();
    assert_eq!((moved.delivered_seq, moved.failures, moved.last_error), (5, 0, None));
    assert_eq!(moved.last_delivery_at, Some(now));
    // a's lease expires unrenewed: b takes it, and a can no longer move the stream.
    assert!(second.take_stream_lease(id, b, now.plus_millis(40_001), 30_000).await.unwrap());
    assert!(!first.stream_delivered(id, a, 5, 9, now).await.unwrap());
    first.release_stream_lease(id, a).await.unwrap();
    assert!(
        !first.take_stream_lease(id, a, now.plus_millis(40_002), 30_000).await.unwrap(),
        "a's release let go nothing"
    );
    second.release_stream_lease(id, b).await.unwrap();
    assert!(first.take_stream_lease(id, a, now.plus_millis(40_003), 30_000).await.unwrap());
}
