//! Purges: exactly the events older than the cutoff go, held ones stay, batches are
//! bounded, each gap keeps one signed tombstone however many batches and runs made it,
//! the preview tells what the purge then removes, and the whole chain verifies after.

use std::collections::BTreeSet;
use std::sync::Arc;

use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::integrity::Tombstone;
use casetrail_core::{RecordType, Timestamp};
use serde_json::{Value, json};

use super::state_changes::*;
use super::support::*;
use super::verify::assert_chain_verifies;
use crate::{AccountId, PurgeBatch, PurgePreview, Store};

/// `2025-01-01T00:00Z` plus `hours`, as RFC 3339 (up to four weeks on).
fn hour(hours: u32) -> String {
    assert!(hours < 28 * 24, "test dates stay within January");
    format!("2025-01-{:02}T{:02}:00:00Z", 1 + hours / 24, hours % 24)
}

fn case(id: &str) -> Value {
    json!({"type": "case", "id": id, "name": format!("Matter {id}")})
}

fn client(id: &str) -> Value {
    json!({"type": "client", "id": id, "name": format!("Client {id}")})
}

/// The `(first_seq, last_seq)` of every tombstone, in seq order.
async fn tombstone_spans(store: &dyn Store, account: AccountId) -> Vec<(u64, u64)> {
    store.tombstones(account).await.expect("tombstones").iter().map(|t| (t.first_seq, t.last_seq)).collect()
}

async fn remaining_seqs(store: &dyn Store, account: AccountId) -> Vec<u64> {
    whole_chain(store, account).await.iter().map(|e| e.seq).collect()
}

/// Asserts a tombstone stands for `first..=last` of the chain as it was before purging.
fn assert_tombstone_of(t: &Tombstone, original: &[ChainedEvent], first: u64, last: u64, purged_after: Timestamp) {
    let at = |seq: u64| &original[seq as usize - 1];
    assert_eq!((t.first_seq, t.last_seq), (first, last));
    assert_eq!(t.first_prev_hash, at(first).prev_hash, "tombstone {first}-{last}: prev_hash of its first event");
    assert_eq!(t.last_hash, at(last).hash, "tombstone {first}-{last}: hash of its last event");
    assert_eq!(t.key_id, test_key().key_id, "signed with the purging key");
    assert_eq!(t.verify(&test_key_ring()), Ok(()));
    assert_at_time("purged_at", t.purged_at, purged_after, Timestamp::now());
}

/// Events strictly older than the cutoff go, wherever they sit in the chain; an event
/// exactly at the cutoff stays; nothing of a purged event can be found any more.
pub async fn purge_removes_only_events_older_than_the_cutoff(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Cutoff LLP").await;
    // Backdated events land out of time order: seqs 1, 2 and 4 are the old ones.
    append(
        store,
        account,
        vec![
            related_at(&hour(96), "fourth day quokka", json!([case("c-1")])),
            related_at(&hour(0), "first day wombat", json!([case("c-2")])),
            related_at(&hour(9 * 24), "at the cutoff", json!([case("c-2")])),
            related_at(&hour(24), "second day numbat", json!([client("cl-1")])),
            related_at(&hour(19 * 24), "later", json!([case("c-1")])),
            plain("today"),
        ],
    )
    .await;
    let original = whole_chain(store, account).await;
    let head = store.head(account).await.unwrap();
    let cutoff = ts(&hour(9 * 24));

    let started = Timestamp::now();
    let batch = purge_batch(store, account, cutoff, 100).await;
    assert_eq!(batch, PurgeBatch { purged: 3, first_seq: Some(1), last_seq: Some(4), behind: None });
    assert_eq!(remaining_seqs(store, account).await, [3, 5, 6]);
    assert_eq!(store.head(account).await.unwrap(), head, "a purge of old events leaves the head");
    let tombstones = store.tombstones(account).await.unwrap();
    assert_eq!(tombstones.len(), 2, "{tombstones:?}");
    assert_tombstone_of(&tombstones[0], &original, 1, 2, started);
    assert_tombstone_of(&tombstones[1], &original, 4, 4, started);

    for gone in [0, 1, 3] {
        let id = body(&original[gone]).id;
        assert_eq!(store.event(account, id).await.unwrap(), None, "purged seq {} is gone", gone + 1);
    }
    assert_eq!(browse(store, account, &[]).await, [6, 5, 3]);
    assert_eq!(browse(store, account, &[("case", "c-2")]).await, [3], "no case link survives its event");
    assert_eq!(browse(store, account, &[("client", "cl-1")]).await, Vec::<u64>::new());
    for word in ["quokka", "wombat", "numbat"] {
        assert_eq!(browse(store, account, &[("q", word)]).await, Vec::<u64>::new(), "{word} is unsearchable");
    }

    let report = assert_chain_verifies(store, account).await;
    assert_eq!((report.events_checked, report.purged, report.reached), (3, 3, 6));

    assert_eq!(purge_batch(store, account, cutoff, 100).await, PurgeBatch::default(), "nothing left to purge");
    assert_eq!(store.tombstones(account).await.unwrap(), tombstones, "an empty purge leaves the tombstones");
}

/// Events related to a held case or client stay; a held event between purged runs
/// keeps them two tombstones; lifting the holds lets them go and the gaps merge.
pub async fn case_and_client_holds_keep_their_events(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Held LLP").await;
    append(
        store,
        account,
        vec![
            related_at(&hour(0), "one", json!([])),
            related_at(&hour(1), "two", json!([case("c-free")])),
            related_at(&hour(2), "three", json!([case("c-held")])),
            related_at(&hour(3), "four", json!([])),
            related_at(&hour(4), "five", json!([case("c-free"), client("cl-held")])),
            related_at(&hour(5), "six", json!([client("cl-free")])),
            related_at(&hour(6), "seven", json!([])),
            plain("today"),
        ],
    )
    .await;
    let original = whole_chain(store, account).await;
    hold_record(store, account, RecordType::Case, "c-held").await;
    hold_record(store, account, RecordType::Client, "cl-held").await;
    let cutoff = ts(&hour(24));

    let preview = store.purge_preview(account, None, cutoff).await.unwrap();
    assert_eq!(preview, PurgePreview { events: 5, oldest: Some(ts(&hour(0))), newest: Some(ts(&hour(6))) });
    let started = Timestamp::now();
    assert_eq!(purged_count(&purge_all(store, account, cutoff, 100).await), 5);
    assert_eq!(remaining_seqs(store, account).await, [3, 5, 8]);
    let tombstones = store.tombstones(account).await.unwrap();
    assert_eq!(tombstones.len(), 3, "{tombstones:?}");
    assert_tombstone_of(&tombstones[0], &original, 1, 2, started);
    assert_tombstone_of(&tombstones[1], &original, 4, 4, started);
    assert_tombstone_of(&tombstones[2], &original, 6, 7, started);
    assert_eq!(browse(store, account, &[("case", "c-free")]).await, [5], "a held event keeps all its links");
    assert_chain_verifies(store, account).await;

    lift_hold(store, account, RecordType::Case, "c-held").await.expect("the case hold was there");
    assert_eq!(
        purge_batch(store, account, cutoff, 100).await,
        PurgeBatch { purged: 1, first_seq: Some(3), last_seq: Some(3), behind: None }
    );
    assert_eq!(tombstone_spans(store, account).await, [(1, 4), (6, 7)], "seq 3 joins the gaps around it");
    lift_hold(store, account, RecordType::Client, "cl-held").await.expect("the client hold was there");
    assert_eq!(purged_count(&purge_all(store, account, cutoff, 100).await), 1);
    assert_eq!(remaining_seqs(store, account).await, [8]);
    let tombstones = store.tombstones(account).await.unwrap();
    assert_eq!(tombstones.len(), 1);
    assert_tombstone_of(&tombstones[0], &original, 1, 7, started);
    let report = assert_chain_verifies(store, account).await;
    assert_eq!((report.events_checked, report.purged), (1, 7));
}

/// `max_events` bounds every batch; looping until a batch comes back short removes
/// exactly the purgeable set, oldest first, and the batches' runs merge into one
/// tombstone per gap.
pub async fn purge_batches_are_bounded_and_loop_to_the_purgeable_set(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Batches LLP").await;
    let mut events: Vec<_> = (1..=23)
        .map(|i| {
            let related = if i == 5 || i == 12 { json!([case("c-held")]) } else { json!([]) };
            related_at(&hour(i), &format!("old {i}"), related)
        })
        .collect();
    events.extend([plain("new 24"), plain("new 25")]);
    append(store, account, events).await;
    let original = whole_chain(store, account).await;
    hold_record(store, account, RecordType::Case, "c-held").await;
    let cutoff = ts(&hour(25 * 24));

    assert_eq!(store.purge_preview(account, None, cutoff).await.unwrap().events, 21);
    let started = Timestamp::now();
    let batches = purge_all(store, account, cutoff, 4).await;
    let got: Vec<(u64, Option<u64>, Option<u64>)> =
        batches.iter().map(|b| (b.purged, b.first_seq, b.last_seq)).collect();
    assert_eq!(
        got,
        [
            (4, Some(1), Some(4)),
            (4, Some(6), Some(9)),
            (4, Some(10), Some(14)),
            (4, Some(15), Some(18)),
            (4, Some(19), Some(22)),
            (1, Some(23), Some(23)),
        ],
        "oldest first, four at a time, the held seqs 5 and 12 skipped"
    );
    assert_eq!(remaining_seqs(store, account).await, [5, 12, 24, 25]);
    let tombstones = store.tombstones(account).await.unwrap();
    assert_eq!(tombstones.len(), 3, "{tombstones:?}");
    assert_tombstone_of(&tombstones[0], &original, 1, 4, started);
    assert_tombstone_of(&tombstones[1], &original, 6, 11, started);
    assert_tombstone_of(&tombstones[2], &original, 13, 23, started);
    let report = assert_chain_verifies(store, account).await;
    assert_eq!((report.events_checked, report.purged, report.reached), (4, 21, 25));
    assert_eq!(store.purge_preview(account, None, cutoff).await.unwrap(), PurgePreview::default());
}

/// Separate purges merge: a run ending right before a tombstone, one starting right
/// after, and one bridging two tombstones all leave a single tombstone.
pub async fn tombstones_merge_on_both_sides_across_separate_runs(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Merge LLP").await;
    // Old enough for the first cutoff: seqs 3, 6 and 7; for the second: also 1, 2, 4, 5
    // and 8 (held) and 9; never: 10.
    let days = [5u32, 5, 1, 5, 5, 1, 1, 5, 5];
    let mut events: Vec<_> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let related = if i == 7 { json!([case("c-held")]) } else { json!([]) };
            related_at(&hour(d * 24), &format!("seq {}", i + 1), related)
        })
        .collect();
    events.push(plain("today"));
    append(store, account, events).await;
    let original = whole_chain(store, account).await;
    hold_record(store, account, RecordType::Case, "c-held").await;

    let started = Timestamp::now();
    let first = purge_all(store, account, ts(&hour(2 * 24)), 100).await;
    assert_eq!(purged_count(&first), 3);
    assert_eq!(tombstone_spans(store, account).await, [(3, 3), (6, 7)]);
    assert_chain_verifies(store, account).await;

    // Seqs 1-2 end right before 3; 4-5 bridge 3 and 6-7; 9 starts right after the held 8.
    let second = purge_all(store, account, ts(&hour(6 * 24)), 100).await;
    assert_eq!(purged_count(&second), 5);
    assert_eq!(remaining_seqs(store, account).await, [8, 10]);
    let tombstones = store.tombstones(account).await.unwrap();
    assert_eq!(tombstones.len(), 2, "one tombstone per gap: {tombstones:?}");
    assert_tombstone_of(&tombstones[0], &original, 1, 7, started);
    assert_tombstone_of(&tombstones[1], &original, 9, 9, started);
    let report = assert_chain_verifies(store, account).await;
    assert_eq!((report.events_checked, report.purged, report.reached), (2, 8, 10));

    // The held event between the gaps keeps them two, until it goes too.
    lift_hold(store, account, RecordType::Case, "c-held").await.expect("the hold was there");
    assert_eq!(purged_count(&purge_all(store, account, ts(&hour(6 * 24)), 100).await), 1);
    let tombstones = store.tombstones(account).await.unwrap();
    assert_eq!(tombstones.len(), 1, "{tombstones:?}");
    assert_tombstone_of(&tombstones[0], &original, 1, 9, started);
    assert_eq!(tombstones[0].first_prev_hash, ChainHash::GENESIS);
    assert_chain_verifies(store, account).await;
}

/// The preview's count, oldest and newest are exactly what the purge then removes.
pub async fn purge_preview_equals_what_purge_removes(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Preview LLP").await;
    let events: Vec<_> = (0..30u32)
        .map(|i| {
            let related = if i % 7 == 3 { json!([client("cl-held")]) } else { json!([case(&format!("c-{i}"))]) };
            related_at(&hour((i * 37) % (20 * 24)), &format!("event {i}"), related)
        })
        .collect();
    append(store, account, events).await;
    let original = whole_chain(store, account).await;
    hold_record(store, account, RecordType::Client, "cl-held").await;
    let cutoff = ts(&hour(8 * 24));

    assert_eq!(
        store.purge_preview(account, None, ts(&hour(0))).await.unwrap(),
        PurgePreview::default(),
        "nothing is older"
    );
    let preview = store.purge_preview(account, None, cutoff).await.unwrap();
    let batches = purge_all(store, account, cutoff, 3).await;
    let kept: BTreeSet<u64> = remaining_seqs(store, account).await.into_iter().collect();
    let removed: Vec<Timestamp> =
        original.iter().filter(|e| !kept.contains(&e.seq)).map(|e| body(e).occurred_at).collect();
    assert!(preview.events > 3 && preview.events < 30, "the fixture purges some: {preview:?}");
    assert_eq!(purged_count(&batches), preview.events);
    assert_eq!(removed.len() as u64, preview.events);
    assert_eq!(preview.oldest, removed.iter().min().copied());
    assert_eq!(preview.newest, removed.iter().max().copied());
    for e in &original {
        let b = body(e);
        let held = e.seq % 7 == 4; // event i is seq i + 1
        let should_go = b.occurred_at < cutoff && !held;
        assert_eq!(!kept.contains(&e.seq), should_go, "seq {} at {}", e.seq, b.occurred_at);
    }
    assert_eq!(store.purge_preview(account, None, cutoff).await.unwrap(), PurgePreview::default(), "nothing left");
    assert_chain_verifies(store, account).await;
}

/// Giving space back after a purge changes nothing a reader can see.
pub async fn reclaim_space_keeps_the_chain(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Space LLP").await;
    let big = "x".repeat(1_900);
    let mut events: Vec<_> = (0..200).map(|i| related_at(&hour(i % 24), &format!("{big} {i}"), json!([]))).collect();
    events.push(plain("today"));
    append(store, account, events).await;
    assert_eq!(purged_count(&purge_all(store, account, ts(&hour(24)), 64).await), 200);
    let before = whole_chain(store, account).await;
    let tombstones = store.tombstones(account).await.unwrap();
    store.reclaim_space().await.expect("reclaim_space");
    assert_eq!(whole_chain(store, account).await, before);
    assert_eq!(before.iter().map(|e| e.seq).collect::<Vec<_>>(), [201]);
    assert_eq!(store.tombstones(account).await.unwrap(), tombstones);
    assert_eq!(tombstone_spans(store, account).await, [(1, 200)]);
    assert_chain_verifies(store, account).await;
}
