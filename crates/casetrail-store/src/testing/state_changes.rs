//! The state changes the suite makes through the store: holds, purges and the
//! account-wide legal hold.
//!
//! Every test reaches `add_hold`, `remove_hold`, `purge` and `change_account` through
//! these helpers only, so a change to those methods' signatures is adapted here, once.
//! The changes record nothing here; what a recorded change appends is the subject of
//! the `changes` module.

use casetrail_core::integrity::{ChainKey, KeyRing};
use casetrail_core::{RecordType, Timestamp};

use crate::{AccountChange, AccountId, Hold, PurgeBatch, PurgeRun, Store, StoreResult, unrecorded};

/// The key the suite signs purge tombstones and checkpoints with: fixed, so a failure
/// reproduces byte for byte.
pub fn test_key() -> ChainKey {
    ChainKey::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[7; 32]))
}

/// The public half of [`test_key`], for verification.
pub fn test_key_ring() -> KeyRing {
    KeyRing::new([test_key().verifying_key()])
}

/// A hold on a case or client, placed by "Test Admin" at `created_at`.
pub fn hold(account: AccountId, kind: RecordType, id: &str, created_at: Timestamp) -> Hold {
    Hold {
        account_id: account,
        kind,
        id: id.to_string(),
        reason: format!("litigation about {} {id}", kind.key()),
        created_by: "Test Admin".to_string(),
        created_at,
    }
}

/// Places a hold; the answer is the store's, so a test can expect a `Conflict`.
pub async fn place_hold(store: &dyn Store, hold: &Hold) -> StoreResult<()> {
    let placed = store.add_hold(hold, unrecorded()).await?;
    assert_eq!(&placed.value, hold, "add_hold answers the hold it placed");
    Ok(())
}

/// Places a case or client hold dated now, panicking on any error.
pub async fn hold_record(store: &dyn Store, account: AccountId, kind: RecordType, id: &str) -> Hold {
    let h = hold(account, kind, id, Timestamp::now());
    place_hold(store, &h).await.unwrap_or_else(|e| panic!("add_hold {} {id}: {e:?}", kind.key()));
    h
}

/// Lifts a hold; `None` when there was none.
pub async fn lift_hold(store: &dyn Store, account: AccountId, kind: RecordType, id: &str) -> Option<Hold> {
    let lifted = store.remove_hold(account, kind, id, unrecorded()).await;
    lifted.unwrap_or_else(|e| panic!("remove_hold {} {id}: {e:?}", kind.key())).map(|r| r.value)
}

/// A retention run over `account` with `cutoff`, started now by casetrail.
pub fn purge_run(account: AccountId, cutoff: Timestamp) -> PurgeRun {
    PurgeRun {
        id: uuid::Uuid::now_v7(),
        account_id: account,
        cutoffs: crate::PurgeCutoffs::uniform(cutoff, Some(90)),
        actor: casetrail_core::Actor {
            id: "casetrail".into(),
            name: "casetrail retention".into(),
            email: None,
            kind: casetrail_core::ActorType::System,
        },
        started_at: Timestamp::now(),
    }
}

/// One purge batch signed with [`test_key`]; checks it stays within `max_events`.
pub async fn purge_batch(store: &dyn Store, account: AccountId, cutoff: Timestamp, max_events: u32) -> PurgeBatch {
    let run = purge_run(account, cutoff);
    let batch = store.purge(&run, max_events, &test_key()).await.expect("purge");
    // The suite's purges record nothing (what a finished run records is the subject
    // of the `purge_runs` module); the tally goes with the finish.
    let finished = store.finish_purge_run(account, run.id, unrecorded()).await.expect("finish_purge_run");
    assert_eq!(finished.map(|f| f.value.purged), (batch.purged > 0).then_some(batch.purged), "the tally is the batch");
    assert!(batch.purged <= u64::from(max_events), "a batch of at most {max_events} purged {}", batch.purged);
    assert_eq!(batch.first_seq.is_some(), batch.purged > 0, "first_seq is set exactly when something went: {batch:?}");
    assert_eq!(batch.last_seq.is_some(), batch.purged > 0, "last_seq is set exactly when something went: {batch:?}");
    batch
}

/// Purges as the server does: batch after batch until one removes fewer than
/// `max_events`. Answers every batch, the last (short) one included.
pub async fn purge_all(store: &dyn Store, account: AccountId, cutoff: Timestamp, max_events: u32) -> Vec<PurgeBatch> {
    let mut batches = Vec::new();
    loop {
        let batch = purge_batch(store, account, cutoff, max_events).await;
        batches.push(batch);
        if batch.purged < u64::from(max_events) {
            return batches;
        }
        assert!(batches.len() < 10_000, "purge never ran dry: {} full batches", batches.len());
    }
}

/// The events every batch removed together.
pub fn purged_count(batches: &[PurgeBatch]) -> u64 {
    batches.iter().map(|b| b.purged).sum()
}

/// Places or lifts the account-wide legal hold, keeping every other setting.
pub async fn set_legal_hold(store: &dyn Store, account: AccountId, on: bool) {
    let changed = store.change_account(account, AccountChange::LegalHold(on), unrecorded()).await;
    assert_eq!(changed.expect("change_account").value.after.legal_hold, on);
    let read = store.account(account).await.expect("account").expect("the account exists");
    assert_eq!(read.legal_hold, on, "the legal hold setting persists");
}
