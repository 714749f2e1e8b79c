//! Verifying an account's chain from the store, and signing checkpoints.

use casetrail_core::Timestamp;
use casetrail_core::chain::ChainHash;
use casetrail_core::integrity::{Checkpoint, KeyRing, ProblemKind, Report, Verifier};
use casetrail_store::{AccountId, Store, StoreResult};

use crate::signing::Keys;

/// Rows read per round trip while walking a chain.
const PAGE: u32 = 10_000;
/// Checkpoints considered by a verification (newest first); older ones are implied by
/// the chain between them.
const CHECKPOINTS: u32 = 10_000;

/// The outcome of verifying one account, with the newest checkpoint.
#[derive(Debug)]
pub struct Verification {
    pub report: Report,
    pub checkpoint: Option<Checkpoint>,
    /// The seq an incremental check started after (0 for a full one).
    pub started_after: u64,
}

/// Re-verifies `account`'s chain now. `incremental` starts from the newest checkpoint
/// whose signature verifies and whose hash the stored chain still has at its seq.
///
/// Signatures are checked against the keys in the database and the `local` ones
/// (what this process knows by itself: its own keys, a data dir's). The database's
/// ring is read after the checkpoints and tombstones it will check: a server
/// registers a key before it signs with it, so every key that signed them is in
/// the ring read after them, whichever server signed.
pub async fn verify_account(
    store: &dyn Store,
    account: AccountId,
    local: &KeyRing,
    incremental: bool,
) -> StoreResult<Verification> {
    verify_account_with_progress(store, account, local, incremental, &mut |_| {}).await
}

/// [`verify_account`], calling `progress` with the events checked so far after each
/// page (for a progress bar).
pub async fn verify_account_with_progress(
    store: &dyn Store,
    account: AccountId,
    local: &KeyRing,
    incremental: bool,
    progress: &mut (dyn FnMut(u64) + Send),
) -> StoreResult<Verification> {
    let checkpoints = store.checkpoints(account, CHECKPOINTS).await?;
    let newest = checkpoints.first().cloned();
    let tombstones = store.tombstones(account).await?;
    let ring = &crate::signing::ring(store, local).await?;

    let mut start = None;
    if incremental {
        for c in checkpoints.iter().filter(|c| c.verify(ring).is_ok()) {
            let at = store.chain_rows(account, c.seq.saturating_sub(1), 1).await?;
            if at.first().is_some_and(|(e, _)| e.seq == c.seq && e.hash == c.hash) {
                start = Some(c.clone());
                break;
            }
        }
    }
    let mut verifier = match &start {
        Some(from) => Verifier::resume(account, ring, from, &checkpoints),
        None => Verifier::new(account, ring, &checkpoints),
    };
    let started_after = start.as_ref().map_or(0, |c| c.seq);
    let mut pending = tombstones.into_iter().filter(|t| t.first_seq > started_after).peekable();
    let mut rows = store.chain_rows(account, started_after, PAGE).await?;
    let mut tree_problems = Vec::new();
    while let Some((last, _)) = rows.last() {
        let page: Vec<(u64, ChainHash)> = rows.iter().map(|(e, _)| (e.seq, e.hash)).collect();
        tree_problems.extend(crate::tree_check::leaf_problems(store, account, &page).await?);
        // The next page is read while this one is checked: reading and checking
        // (JSON, SHA-256) each take about half the time (BENCHMARKS.md). `join!` polls
        // the read first, which hands it to the store's blocking thread; the check is
        // CPU work of tens of milliseconds a page, kept off the runtime's workers.
        let after = last.seq;
        let check = async {
            off_the_runtime(|| {
                for (event, columns) in &rows {
                    while let Some(t) = pending.next_if(|t| t.first_seq < event.seq) {
                        verifier.tombstone(&t);
                    }
                    verifier.event(event, Some(columns));
                }
            })
        };
        let (next, ()) = tokio::join!(store.chain_rows(account, after, PAGE), check);
        progress(verifier.events_checked());
        rows = next?;
    }
    for t in pending {
        verifier.tombstone(&t);
    }
    let mut report = verifier.finish();
    // A leaf that differs from an event already reported (its hash or link broken)
    // adds nothing to that report.
    let reported: std::collections::HashSet<u64> = report.problems.iter().map(|p| p.seq).collect();
    report.problems.extend(tree_problems.into_iter().filter(|p| !reported.contains(&p.seq)));
    let checked = crate::tree_check::checkpoint_problems(store, account, &checkpoints, ring, started_after).await?;
    report.problems.extend(checked);
    // The head the store records must be where the walk ended; a head beyond it means
    // events were cut off the end.
    if let Some(head) = store.head(account).await? {
        let reached = report.reached;
        if head.seq > reached && !report.problems.iter().any(|p| p.kind == ProblemKind::Truncated) {
            report.problems.push(casetrail_core::integrity::Problem {
                seq: reached + 1,
                kind: ProblemKind::Truncated,
                message: format!("the chain ends at seq {reached} but its recorded head is seq {}", head.seq),
            });
        }
    }
    Ok(Verification { report, checkpoint: newest, started_after })
}

/// Runs CPU-bound work without stalling the other tasks of a worker thread: on a
/// multi-threaded runtime (the server) the worker hands its other tasks on first;
/// elsewhere (a current-thread runtime, as tests use) it runs in place.
fn off_the_runtime<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// Signs and stores a checkpoint of `account`'s current head, with the Merkle tree's
/// head of the same size (docs/API.md §15). The tree's nodes below the head never
/// change once written, so reading them after the head is as good as with it. An
/// account whose tree could not be built gets a checkpoint of the chain alone.
pub async fn checkpoint_now(store: &dyn Store, keys: &Keys, account: AccountId) -> StoreResult<Checkpoint> {
    let head = store.head(account).await?;
    let (seq, hash) = head.map_or((0, ChainHash::GENESIS), |h| (h.seq, h.hash));
    let key = keys.current();
    let checkpoint = match crate::proofs::root_at(store, account, seq).await? {
        Some(root) => Checkpoint::sign_with_tree(&key, account, (seq, hash), root, Timestamp::now()),
        None => Checkpoint::sign(&key, account, seq, hash, Timestamp::now()),
    };
    store.add_checkpoint(&checkpoint).await?;
    Ok(checkpoint)
}
