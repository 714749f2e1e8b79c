//! Holds: case and client holds are listed, unique per record and per account, and
//! lifted; the account-wide legal hold stops every purge and empties every preview,
//! also when it is placed between two batches of one purge.

use std::sync::Arc;

use casetrail_core::RecordType;
use serde_json::json;

use super::state_changes::*;
use super::support::*;
use super::verify::assert_chain_verifies;
use crate::{PurgeBatch, PurgePreview, Store, StoreError};

/// Holds round-trip whole, list oldest first, refuse a second hold on one record, and
/// removal answers the hold once, then `None`.
pub async fn holds_are_listed_and_a_second_hold_conflicts(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Holds LLP").await;
    assert_eq!(store.holds(account).await.unwrap(), [], "a new account holds nothing");

    let on_case = hold(account, RecordType::Case, "c-17", ts("2025-03-01T09:00:00.125Z"));
    let on_client = hold(account, RecordType::Client, "cl-4", ts("2025-03-02T10:30:00Z"));
    // The same id as another record type is another record.
    let on_client_named_like_the_case = hold(account, RecordType::Client, "c-17", ts("2025-03-03T00:00:00Z"));
    for h in [&on_client, &on_case, &on_client_named_like_the_case] {
        place_hold(store, h).await.unwrap_or_else(|e| panic!("add_hold {h:?}: {e:?}"));
    }
    let listed = store.holds(account).await.unwrap();
    assert_eq!(listed, [on_case.clone(), on_client.clone(), on_client_named_like_the_case.clone()]);

    let mut again = hold(account, RecordType::Case, "c-17", ts("2025-04-01T00:00:00Z"));
    again.reason = "another reason".into();
    let second = place_hold(store, &again).await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "a second hold on case c-17: {second:?}");
    assert_eq!(store.holds(account).await.unwrap(), listed, "a refused hold changes nothing");

    assert_eq!(lift_hold(store, account, RecordType::Case, "c-17").await, Some(on_case.clone()));
    assert_eq!(lift_hold(store, account, RecordType::Case, "c-17").await, None, "a lifted hold is gone");
    assert_eq!(lift_hold(store, account, RecordType::Case, "never-held").await, None);
    assert_eq!(store.holds(account).await.unwrap(), [on_client, on_client_named_like_the_case]);

    // Once lifted, the record may be held again.
    place_hold(store, &again).await.expect("a lifted record can be held again");
    let relisted = store.holds(account).await.unwrap();
    assert_eq!(relisted.last(), Some(&again));
    assert_eq!(relisted.len(), 3);
}

/// One account's holds are invisible to another, do not conflict with its holds, cannot
/// be lifted by it, and protect only that account's events.
pub async fn holds_are_per_account(store: Arc<dyn Store>) {
    let store = &*store;
    let a = new_account(store, "Alpha LLP").await;
    let b = new_account(store, "Beta LLP").await;
    let case = json!([{"type": "case", "id": "c-shared", "name": "Shared v. Name"}]);
    for account in [a, b] {
        append(store, account, vec![related_at("2025-01-01T00:00:00Z", "old", case.clone())]).await;
    }

    let a_hold = hold_record(store, a, RecordType::Case, "c-shared").await;
    assert_eq!(store.holds(b).await.unwrap(), [], "another account's hold is not listed");
    assert_eq!(lift_hold(store, b, RecordType::Case, "c-shared").await, None, "nor can it be lifted");
    assert_eq!(store.holds(a).await.unwrap(), std::slice::from_ref(&a_hold));
    assert_eq!(store.holds(unknown_id()).await.unwrap(), [], "an unknown account holds nothing");

    let cutoff = ts("2025-06-01T00:00:00Z");
    let empty = PurgePreview::default();
    assert_eq!(store.purge_preview(a, None, cutoff).await.unwrap(), empty, "a's hold keeps a's event");
    let b_preview = store.purge_preview(b, None, cutoff).await.unwrap();
    assert_eq!(b_preview.events, 1, "a's hold does not keep b's event");
    assert_eq!(purge_all(store, b, cutoff, 10).await[0].purged, 1);
    assert_eq!(purge_all(store, a, cutoff, 10).await[0].purged, 0);
    assert_eq!(whole_chain(store, a).await.len(), 1);
    assert_eq!(whole_chain(store, b).await.len(), 0);

    let b_hold = hold_record(store, b, RecordType::Case, "c-shared").await;
    assert_eq!(store.holds(b).await.unwrap(), [b_hold], "the same record may be held in each account");
    assert_eq!(store.holds(a).await.unwrap(), [a_hold]);
}

/// With the account's legal hold on, `purge` removes nothing and `purge_preview` counts
/// nothing, whatever the cutoff; a hold placed between two batches stops the second;
/// another account's purge is not affected.
pub async fn account_legal_hold_stops_purge_and_preview(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Frozen LLP").await;
    let other = new_account(store, "Thawed LLP").await;
    let old: Vec<_> =
        (1..=6).map(|d| at("u_test", "case.updated", &format!("2025-01-0{d}T12:00:00Z"), "old")).collect();
    append(store, account, old.clone()).await;
    append(store, other, old).await;
    let before = whole_chain(store, account).await;
    let cutoff = ts("2025-06-01T00:00:00Z");

    set_legal_hold(store, account, true).await;
    assert_eq!(store.purge_preview(account, None, cutoff).await.unwrap(), PurgePreview::default());
    assert_eq!(purge_batch(store, account, cutoff, 100).await, PurgeBatch::default());
    assert_eq!(whole_chain(store, account).await, before, "a legal hold keeps every event");
    assert_eq!(store.tombstones(account).await.unwrap(), [], "and leaves no tombstone");
    assert_eq!(purged_count(&purge_all(store, other, cutoff, 100).await), 6, "another account still purges");

    // Lifted: purging starts; placed again between two batches: the next batch stops.
    set_legal_hold(store, account, false).await;
    let first = purge_batch(store, account, cutoff, 2).await;
    assert_eq!(first, PurgeBatch { purged: 2, first_seq: Some(1), last_seq: Some(2), behind: None });
    set_legal_hold(store, account, true).await;
    assert_eq!(purge_batch(store, account, cutoff, 2).await, PurgeBatch::default(), "the hold is read by every batch");
    assert_eq!(store.purge_preview(account, None, cutoff).await.unwrap(), PurgePreview::default());
    let seqs: Vec<u64> = whole_chain(store, account).await.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [3, 4, 5, 6]);

    set_legal_hold(store, account, false).await;
    let preview = store.purge_preview(account, None, cutoff).await.unwrap();
    assert_eq!(preview.events, 4, "once lifted, the preview counts again");
    assert_eq!(purged_count(&purge_all(store, account, cutoff, 2).await), 4);
    let spans: Vec<(u64, u64)> =
        store.tombstones(account).await.unwrap().iter().map(|t| (t.first_seq, t.last_seq)).collect();
    assert_eq!(spans, [(1, 6)]);
    let report = assert_chain_verifies(store, account).await;
    assert_eq!((report.purged, report.events_checked), (6, 0));
}
