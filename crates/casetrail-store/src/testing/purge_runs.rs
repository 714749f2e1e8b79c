//! Purge runs: each batch adds to its run's tally in its own transaction, so a run cut
//! short is found with what it removed; finishing a run records it once.

use std::sync::Arc;

use casetrail_core::Timestamp;
use serde_json::json;

use super::state_changes::{purge_run, test_key};
use super::support::*;
use crate::{PurgeRunSummary, Store};

/// Ten events from January 2025, far past any cutoff of today.
async fn old_account(store: &dyn Store, name: &str) -> crate::AccountId {
    let account = new_account(store, name).await;
    let events =
        (0..10).map(|i| at("u_1", "case.updated", &format!("2025-01-0{}T10:00:00Z", 1 + i % 9), &format!("old {i}")));
    append(store, account, events.collect()).await;
    account
}

/// The tally grows with each batch, is visible while the run is unfinished, and its
/// finish hands it to the recorder and appends the record exactly once.
pub async fn a_purge_run_is_tallied_and_recorded_once(store: Arc<dyn Store>) {
    let store = &*store;
    let account = old_account(store, "Tally LLP").await;
    let run = purge_run(account, Timestamp::now());
    let purged: Vec<u64> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(store.purge(&run, 4, &test_key()).await.expect("purge").purged);
        }
        out
    };
    assert_eq!(purged, [4, 4, 2]);

    let after_batches = Timestamp::now().plus_millis(1);
    let found = store.unfinished_purge_runs(after_batches).await.unwrap();
    let tally = found.iter().find(|s| s.run.id == run.id).expect("the unfinished run is found");
    assert_eq!((tally.purged, tally.first_seq, tally.last_seq), (10, 1, 10));
    assert_eq!(tally.run, run, "the run is kept as it was started");
    let idle_before = tally.last_batch_at;
    let quiet = store.unfinished_purge_runs(idle_before).await.unwrap();
    assert!(quiet.iter().all(|s| s.run.id != run.id), "a run busy since `idle_before` is not taken for dead");

    let wrong = store.finish_purge_run(new_account(store, "Other LLP").await, run.id, Box::new(|_| None)).await;
    assert_eq!(wrong.unwrap(), None, "a run is finished only in its own account");

    let record = Box::new(|s: &PurgeRunSummary| {
        Some(new_event(json!({
            "actor": {"id": "casetrail", "name": "casetrail retention", "type": "system"},
            "activity": "case.updated",
            "description": format!("purged {} ({}-{})", s.purged, s.first_seq, s.last_seq),
        })))
    });
    let finished = store.finish_purge_run(account, run.id, record).await.unwrap().expect("the run is finished");
    assert_eq!(finished.value.purged, 10);
    let appended = finished.event.expect("the record is appended");
    assert_eq!(appended.seq, 11, "the record follows the purged events' seqs");
    let chain = whole_chain(store, account).await;
    assert_eq!(chain.len(), 1, "only the record remains");
    assert_eq!(body(&chain[0]).description, "purged 10 (1-10)");

    let again = store.finish_purge_run(account, run.id, Box::new(|_| panic!("a finished run has no tally"))).await;
    assert_eq!(again.unwrap(), None, "a run is recorded once");
    let left = store.unfinished_purge_runs(Timestamp::now().plus_millis(1)).await.unwrap();
    assert!(left.iter().all(|s| s.run.id != run.id), "a finished run is no longer unfinished");
}

/// A run that removed nothing has no tally and records nothing.
pub async fn a_purge_run_that_removes_nothing_records_nothing(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Young LLP").await;
    append(store, account, vec![plain("new")]).await;
    let run = purge_run(account, Timestamp::now().minus_days(90));
    assert_eq!(store.purge(&run, 500, &test_key()).await.unwrap().purged, 0);
    let unfinished = store.unfinished_purge_runs(Timestamp::now().plus_millis(1)).await.unwrap();
    assert!(unfinished.iter().all(|s| s.run.id != run.id));
    let finished = store.finish_purge_run(account, run.id, Box::new(|_| panic!("nothing to record"))).await;
    assert_eq!(finished.unwrap(), None);
    assert_eq!(whole_chain(store, account).await.len(), 1);
}

/// While one run of an account is live, another run's batch removes nothing and
/// names the live run; once that run is finished the other goes ahead. So two runs
/// (two servers, or the CLI beside a server) never interleave their batches, and each
/// run's `first_seq..last_seq` holds only what it removed itself.
pub async fn a_second_purge_run_waits_behind_a_live_one(store: Arc<dyn Store>) {
    let store = &*store;
    // Dated in seq order, so that the oldest-first purge takes them in seq order too.
    let account = new_account(store, "Two Runs LLP").await;
    let events = (1..=10).map(|d| at("u_1", "case.updated", &format!("2025-01-{d:02}T10:00:00Z"), &format!("old {d}")));
    append(store, account, events.collect()).await;
    let first = purge_run(account, Timestamp::now());
    let second = purge_run(account, Timestamp::now());
    assert_eq!(store.purge(&first, 4, &test_key()).await.unwrap().purged, 4);

    let waiting = store.purge(&second, 4, &test_key()).await.unwrap();
    assert_eq!(waiting, crate::PurgeBatch { behind: Some(first.id), ..Default::default() });
    let elsewhere = old_account(store, "Elsewhere LLP").await;
    let other_account = purge_run(elsewhere, Timestamp::now());
    assert_eq!(store.purge(&other_account, 4, &test_key()).await.unwrap().purged, 4, "other accounts are not held up");
    assert_eq!(store.purge(&first, 4, &test_key()).await.unwrap().purged, 4, "the live run goes on");

    let finished = store.finish_purge_run(account, first.id, crate::unrecorded()).await.unwrap().expect("finished");
    assert_eq!((finished.value.purged, finished.value.first_seq, finished.value.last_seq), (8, 1, 8));
    let after = store.purge(&second, 4, &test_key()).await.unwrap();
    assert_eq!((after.purged, after.first_seq, after.last_seq, after.behind), (2, Some(9), Some(10), None));
    let finished = store.finish_purge_run(account, second.id, crate::unrecorded()).await.unwrap().expect("finished");
    assert_eq!((finished.value.purged, finished.value.first_seq, finished.value.last_seq), (2, 9, 10));
}
