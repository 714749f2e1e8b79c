//! Two independent handles on one database, as two server processes would hold: their
//! appends never fork or gap the chain, an idempotency key sent through both at once
//! is stored once, and a purge on one runs safely beside appends and holds on the
//! other. No in-process lock can pass these; only the database's own can.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use tokio::task::JoinSet;

use super::state_changes::*;
use super::support::*;
use super::verify::assert_chain_verifies;
use crate::{AccountId, Appended, PurgeBatch, PurgePreview, Store};

/// Asserts both handles read the same intact chain and head; answers its length.
async fn assert_same_chain(first: &dyn Store, second: &dyn Store, account: AccountId) -> usize {
    let chain = whole_chain(first, account).await;
    assert_eq!(whole_chain(second, account).await, chain, "both handles read the same chain");
    assert_eq!(first.head(account).await.unwrap(), second.head(account).await.unwrap(), "and the same head");
    assert_chain_verifies(first, account).await;
    chain.len()
}

/// Eight tasks, four per handle, append to two accounts at once: every seq is handed
/// out once, without gaps, and each account's chain links and verifies.
pub async fn two_handles_append_concurrently_without_fork_or_gap(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    const TASKS_PER_HANDLE: usize = 4;
    const ROUNDS: usize = 12;
    let a = new_account(&*first, "Alpha LLP").await;
    let b = new_account(&*second, "Beta LLP").await;
    assert_eq!(second.account(a).await.unwrap().map(|x| x.id), Some(a), "the second handle sees the first's account");

    let mut tasks = JoinSet::new();
    for (h, store) in [&first, &second].into_iter().enumerate() {
        for t in 0..TASKS_PER_HANDLE {
            let store = store.clone();
            tasks.spawn(async move {
                let mut got: Vec<(AccountId, u64)> = Vec::new();
                for round in 0..ROUNDS {
                    let account = if (t + round) % 2 == 0 { a } else { b };
                    let n = 1 + (t + round) % 3;
                    let events = (0..n).map(|i| plain(&format!("handle {h} task {t} round {round} #{i}"))).collect();
                    let answer = append(&*store, account, events).await;
                    got.extend(answer.iter().map(|x| (account, x.seq)));
                    tokio::task::yield_now().await;
                }
                got
            });
        }
    }
    let mut seqs: HashMap<AccountId, Vec<u64>> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        for (account, seq) in joined.expect("task panicked") {
            seqs.entry(account).or_default().push(seq);
        }
    }

    for account in [a, b] {
        let mut mine = seqs.remove(&account).unwrap_or_default();
        mine.sort_unstable();
        let n = mine.len() as u64;
        assert_eq!(mine, (1..=n).collect::<Vec<_>>(), "each seq answered once, none skipped");
        let len = assert_same_chain(&*first, &*second, account).await;
        assert_eq!(len as u64, n, "the chain holds every answered event");
        assert_chain(account, &whole_chain(&*second, account).await);
    }
}

/// The same idempotency key, sent through both handles at the same moment, is stored
/// exactly once, and both answers name that one event.
pub async fn same_key_through_two_handles_is_stored_once(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    const KEYS: usize = 20;
    let account = new_account(&*first, "Race LLP").await;
    for k in 0..KEYS {
        let key = format!("race-{k}");
        let send = |store: Arc<dyn Store>, via: &'static str| {
            let key = key.clone();
            tokio::spawn(async move {
                append(&*store, account, vec![keyed(&key, &format!("{key} via {via}")), plain(&format!("{key} {via}"))])
                    .await
            })
        };
        let (one, two) = tokio::join!(send(first.clone(), "first"), send(second.clone(), "second"));
        let (one, two): (Vec<Appended>, Vec<Appended>) = (one.expect("task"), two.expect("task"));
        assert_eq!(
            [one[0].duplicate, two[0].duplicate].iter().filter(|d| !**d).count(),
            1,
            "{key}: exactly one handle stores it: {one:?} {two:?}"
        );
        assert_eq!((one[0].id, one[0].seq), (two[0].id, two[0].seq), "{key}: both answers name the same event");
        assert!(!one[1].duplicate && !two[1].duplicate, "unkeyed events are never duplicates");
    }

    let len = assert_same_chain(&*first, &*second, account).await;
    assert_eq!(len, 3 * KEYS, "each key once, plus both unkeyed events of every round");
    let chain = whole_chain(&*first, account).await;
    let keys: Vec<String> = chain.iter().filter_map(|e| body(e).idempotency_key).collect();
    let distinct: BTreeSet<&String> = keys.iter().collect();
    assert_eq!((keys.len(), distinct.len()), (KEYS, KEYS), "every key stored exactly once");
}

/// One handle purges in small batches while the other appends; then a legal hold placed
/// through the second handle stops the first's purge at once.
pub async fn purge_on_one_handle_while_the_other_appends(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let account = new_account(&*first, "Busy LLP").await;
    let old = |i: usize| at("u_test", "case.updated", &format!("2025-01-{:02}T12:00:00Z", 1 + i % 28), "old");
    append(&*first, account, (0..60).map(old).collect()).await;
    let cutoff = ts("2025-06-01T00:00:00Z");

    let purging = {
        let store = first.clone();
        tokio::spawn(async move { purged_count(&purge_all(&*store, account, cutoff, 5).await) })
    };
    let appending = {
        let store = second.clone();
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            for round in 0..10 {
                let events = (0..3).map(|i| plain(&format!("new {round}.{i}"))).collect();
                seqs.extend(seqs_of(&append(&*store, account, events).await));
                tokio::task::yield_now().await;
            }
            seqs
        })
    };
    assert_eq!(purging.await.expect("purge task"), 60);
    assert_eq!(appending.await.expect("append task"), (61..=90).collect::<Vec<u64>>());
    let remaining: Vec<u64> = whole_chain(&*second, account).await.iter().map(|e| e.seq).collect();
    assert_eq!(remaining, (61..=90).collect::<Vec<u64>>());
    let spans: Vec<(u64, u64)> =
        second.tombstones(account).await.unwrap().iter().map(|t| (t.first_seq, t.last_seq)).collect();
    assert_eq!(spans, [(1, 60)]);
    assert_same_chain(&*first, &*second, account).await;

    // Old events arrive late; a legal hold placed through the second handle keeps them
    // from the first handle's purge.
    append(&*second, account, (0..5).map(old).collect()).await;
    set_legal_hold(&*second, account, true).await;
    assert_eq!(first.purge_preview(account, None, cutoff).await.unwrap(), PurgePreview::default());
    assert_eq!(purge_batch(&*first, account, cutoff, 100).await, PurgeBatch::default());
    set_legal_hold(&*second, account, false).await;
    assert_eq!(purged_count(&purge_all(&*first, account, cutoff, 100).await), 5);
    let spans: Vec<(u64, u64)> =
        first.tombstones(account).await.unwrap().iter().map(|t| (t.first_seq, t.last_seq)).collect();
    assert_eq!(spans, [(1, 60), (91, 95)]);
    assert_same_chain(&*first, &*second, account).await;
}
