//! Two handles on one schema, as two servers on one database: their appends to one
//! account interleave into one gapless, verifying chain; a head locked elsewhere for
//! too long makes an append `Busy`, with nothing written.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use casetrail_store::testing::support::{append, assert_chain, new_account, plain, whole_chain};
use casetrail_store::testing::verify::assert_chain_verifies;
use casetrail_store::{AppendBatch, EventStore, Store, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_append_a_thousand_events_each_to_one_account() {
    const TASKS_PER_HANDLE: usize = 4;
    const BATCHES: usize = 50;
    const EVENTS: usize = 5; // 4 tasks x 50 batches x 5 events = 1000 per handle
    let store = support::fresh().await;
    let second: Arc<dyn Store> = Arc::new(support::reopen(&store).await);
    let first: Arc<dyn Store> = Arc::new(store);
    let account = new_account(&*first, "Shared LLP").await;

    let mut tasks = tokio::task::JoinSet::new();
    for (h, store) in [&first, &second].into_iter().enumerate() {
        for t in 0..TASKS_PER_HANDLE {
            let store = store.clone();
            tasks.spawn(async move {
                let mut seqs = Vec::new();
                for b in 0..BATCHES {
                    let events = (0..EVENTS).map(|i| plain(&format!("handle {h} task {t} batch {b} #{i}"))).collect();
                    let answer = append(&*store, account, events).await;
                    let got: Vec<u64> = answer.iter().map(|a| a.seq).collect();
                    assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "one batch's seqs are consecutive: {got:?}");
                    seqs.extend(got);
                }
                seqs
            });
        }
    }
    let mut seqs = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        seqs.extend(joined.expect("task panicked"));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=2000).collect::<Vec<u64>>(), "every seq handed out once, none skipped");

    let chain = whole_chain(&*second, account).await;
    assert_eq!(chain.len(), 2000);
    assert_chain(account, &chain);
    assert_eq!(whole_chain(&*first, account).await, chain, "both handles read one chain");
    assert_eq!(first.head(account).await.unwrap().map(|h| (h.seq, h.hash)), Some((2000, chain[1999].hash)));
    let report = assert_chain_verifies(&*first, account).await;
    assert_eq!((report.events_checked, report.reached), (2000, 2000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_locked_elsewhere_too_long_makes_an_append_busy() {
    let store = support::fresh().await;
    let account = new_account(&store, "Locked LLP").await;
    append(&store, account, vec![plain("before")]).await;

    // Another server's transaction holds the head's row lock and does not let go.
    let mut other = support::plain_client(store.url()).await;
    let tx = other.transaction().await.unwrap();
    tx.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", &[&account.into_inner()]).await.unwrap();

    let started = Instant::now();
    let outcome = store.append(vec![AppendBatch { account_id: account, events: vec![plain("blocked")] }]).await;
    let waited = started.elapsed();
    assert!(matches!(outcome, Err(StoreError::Busy(_))), "{outcome:?}");
    assert!(outcome.as_ref().unwrap_err().is_retryable());
    assert!(waited >= Duration::from_secs(9) && waited < Duration::from_secs(30), "waited {waited:?}");
    tx.rollback().await.unwrap();

    let chain = whole_chain(&store, account).await;
    assert_eq!(chain.len(), 1, "the refused append wrote nothing");
    assert_eq!(append(&store, account, vec![plain("after")]).await[0].seq, 2, "and the same call then succeeds");
}
