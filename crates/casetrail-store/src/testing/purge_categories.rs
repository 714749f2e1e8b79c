//! Purges by category (docs/API.md §14): each category's events go after its own
//! cutoff, a category kept forever loses nothing, holds still win, batches stay
//! oldest first across categories, the preview of a category counts what its purge
//! then removes, and the chain verifies after.

use std::collections::BTreeMap;
use std::sync::Arc;

use casetrail_core::activity::category;
use casetrail_core::{NewEvent, RecordType, Timestamp};
use serde_json::json;

use super::state_changes::*;
use super::support::*;
use super::verify::assert_chain_verifies;
use crate::{AccountId, CategoryCutoff, PurgeBatch, PurgeCutoffs, PurgeRun, Store, unrecorded};

fn days_ago(days: i64) -> String {
    Timestamp::now().minus_days(days).to_string()
}

fn event(activity: &str, days: i64, related: serde_json::Value) -> NewEvent {
    new_event(json!({
        "occurred_at": days_ago(days), "actor": {"id": "u_1", "name": "Jane Doe"},
        "activity": activity, "description": format!("{activity} {days} days ago"), "related": related,
    }))
}

/// Seqs 1–8: team 300 days old, communication 299, a held case 298, communication
/// 100, team 100, system_log 400, case 10, settings 95.
async fn seed(store: &dyn Store) -> AccountId {
    let account = new_account(store, "Categories LLP").await;
    let held = json!([{"type": "case", "id": "c_held", "name": "Smith v. Jones"}]);
    append(
        store,
        account,
        vec![
            event("team.user_logged_in", 300, json!([])),
            event("communication.sms_sent", 299, json!([])),
            event("case.updated", 298, held),
            event("communication.email_received", 100, json!([])),
            event("team.login_failed", 100, json!([])),
            event("system_log.exported", 400, json!([])),
            event("case.updated", 10, json!([])),
            event("settings.updated", 95, json!([])),
        ],
    )
    .await;
    hold_record(store, account, RecordType::Case, "c_held").await;
    account
}

/// 90 days for all, but team 200 days and system_log forever.
fn cutoffs() -> PurgeCutoffs {
    let now = Timestamp::now();
    let own = |days: Option<u32>| CategoryCutoff { days, cutoff: days.map(|d| now.minus_days(i64::from(d))) };
    PurgeCutoffs {
        cutoff: Some(now.minus_days(90)),
        retention_days: Some(90),
        categories: BTreeMap::from([("team".to_string(), own(Some(200))), ("system_log".to_string(), own(None))]),
    }
}

async fn batch(store: &dyn Store, account: AccountId, cutoffs: &PurgeCutoffs, max: u32) -> PurgeBatch {
    let run = PurgeRun { cutoffs: cutoffs.clone(), ..purge_run(account, Timestamp::now()) };
    let batch = store.purge(&run, max, &test_key()).await.expect("purge");
    store.finish_purge_run(account, run.id, unrecorded()).await.expect("finish");
    batch
}

async fn remaining(store: &dyn Store, account: AccountId) -> Vec<u64> {
    whole_chain(store, account).await.iter().map(|e| e.seq).collect()
}

pub async fn each_category_is_purged_after_its_own_retention(store: Arc<dyn Store>) {
    let store = &*store;
    let account = seed(store).await;
    let cutoffs = cutoffs();
    let preview = |key: &'static str| {
        let cutoff = cutoffs.cutoff_of(key).expect("a cutoff");
        store.purge_preview(account, Some(category(key).unwrap()), cutoff)
    };
    // What each category would lose: the held case and the kept team event stay.
    let communication = preview("communication").await.unwrap();
    assert_eq!(communication.events, 2);
    assert_eq!(communication.oldest.map(|t| t.to_string()[..10].to_string()), Some(days_ago(299)[..10].to_string()));
    assert_eq!(preview("team").await.unwrap().events, 1);
    assert_eq!(preview("case").await.unwrap().events, 0, "the old case event is held");
    assert_eq!(preview("settings").await.unwrap().events, 1);
    assert_eq!(preview("client").await.unwrap().events, 0);

    // One event per batch: oldest first across the categories.
    let mut firsts = Vec::new();
    loop {
        let b = batch(store, account, &cutoffs, 1).await;
        if b.purged == 0 {
            break;
        }
        assert_eq!(b.purged, 1, "{b:?}");
        firsts.push(b.first_seq.unwrap());
        assert!(firsts.len() <= 8, "the purge never ran dry: {firsts:?}");
    }
    assert_eq!(firsts, [1, 2, 4, 8], "team at 300 days, communications at 299 and 100, settings at 95");
    assert_eq!(remaining(store, account).await, [3, 5, 6, 7]);
    let spans: Vec<(u64, u64)> =
        store.tombstones(account).await.unwrap().iter().map(|t| (t.first_seq, t.last_seq)).collect();
    assert_eq!(spans, [(1, 2), (4, 4), (8, 8)], "adjacent purges merge whatever their category");
    assert_chain_verifies(store, account).await;

    // Lifting the hold lets the old case event go; system_log stays forever.
    lift_hold(store, account, RecordType::Case, "c_held").await.expect("held");
    assert_eq!(batch(store, account, &cutoffs, 100).await.purged, 1);
    assert_eq!(remaining(store, account).await, [5, 6, 7]);
    assert_chain_verifies(store, account).await;
}

/// Forever by default, but one category goes after its own days: only that
/// category's old events are removed.
pub async fn a_category_is_purged_when_the_account_keeps_forever(store: Arc<dyn Store>) {
    let store = &*store;
    let account = seed(store).await;
    let now = Timestamp::now();
    let cutoffs = PurgeCutoffs {
        cutoff: None,
        retention_days: None,
        categories: BTreeMap::from([(
            "communication".to_string(),
            CategoryCutoff { days: Some(90), cutoff: Some(now.minus_days(90)) },
        )]),
    };
    assert_eq!(batch(store, account, &cutoffs, 500).await.purged, 2);
    assert_eq!(remaining(store, account).await, [1, 3, 5, 6, 7, 8]);
    assert_eq!(batch(store, account, &cutoffs, 500).await, PurgeBatch::default(), "nothing more");
    // A run whose every category is kept forever removes nothing.
    let forever = PurgeCutoffs { categories: BTreeMap::new(), ..cutoffs };
    assert_eq!(batch(store, account, &forever, 500).await, PurgeBatch::default());
    assert_chain_verifies(store, account).await;
}

/// A run cut short keeps its categories' cutoffs in its tally, so its record can
/// say what policy it applied.
pub async fn an_unfinished_run_keeps_its_category_cutoffs(store: Arc<dyn Store>) {
    let store = &*store;
    let account = seed(store).await;
    let run = PurgeRun { cutoffs: cutoffs(), ..purge_run(account, Timestamp::now()) };
    assert_eq!(store.purge(&run, 2, &test_key()).await.unwrap().purged, 2);
    let found = store.unfinished_purge_runs(Timestamp::now().plus_millis(1)).await.unwrap();
    let found: Vec<_> = found.into_iter().filter(|s| s.run.id == run.id).collect();
    assert_eq!(found.len(), 1);
    // Times are kept in milliseconds, as the run's were made.
    assert_eq!(found[0].run.cutoffs, run.cutoffs);
    assert_eq!((found[0].purged, found[0].first_seq, found[0].last_seq), (2, 1, 2));
    store.finish_purge_run(account, run.id, unrecorded()).await.unwrap();
}
