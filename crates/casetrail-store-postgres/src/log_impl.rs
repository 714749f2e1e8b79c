//! The log's roles of the store: appending and browsing events, what verification
//! reads, and holds and purging.

use async_trait::async_trait;
use std::collections::HashMap;

use casetrail_core::activity::Category;
use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::integrity::{ChainKey, Checkpoint, Columns, Tombstone};
use casetrail_core::merkle::NodeId;
use casetrail_core::query::BrowseQuery;
use casetrail_core::{RecordType, Timestamp};
use casetrail_store::{
    AccountId, ActorSummary, AppendBatch, Appended, ChainHead, EventId, EventStore, Hold, IntegrityStore, Page,
    PurgeBatch, PurgePreview, PurgeRun, PurgeRunSummary, RecordEvents, RecordSummary, Recorded, Recorder,
    RetentionStore, StoreError, StoreResult,
};
use uuid::Uuid;

use crate::db::Db;
use crate::records::lock_known_account;
use crate::{PostgresStore, append, browse, changes, integrity, page, purge_runs, retention, transact};

/// Runs `$read` (using `$pk` and the [`Db`] named `$db`, already awaited) on a
/// pooled connection when the account exists, else answers `$none`.
macro_rules! for_account {
    ($store:expr, $account:expr, |$db:ident, $pk:ident| $read:expr, $none:expr) => {{
        let client = $store.client().await?;
        let $db = Db::pooled(&client);
        match $store.account_pk($db, $account).await? {
            Some($pk) => $read,
            None => Ok($none),
        }
    }};
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(&self, batches: Vec<AppendBatch>) -> StoreResult<Vec<Vec<Appended>>> {
        let appended: StoreResult<Vec<Vec<Appended>>> = transact!(self, |db| async {
            // An acknowledged append must not be cut short by a slow disk or a long
            // wait for the head's lock (`lock_timeout` still bounds the latter).
            db.batch("SET LOCAL statement_timeout = 0").await?;
            append::append_all(db, batches).await
        }
        .await);
        if let Ok(out) = &appended {
            self.appended(out.iter().flatten().filter(|a| !a.duplicate).count() as u64);
        }
        appended
    }

    async fn events(&self, account: AccountId, query: &BrowseQuery) -> StoreResult<Page> {
        for_account!(self, account, |db, pk| page::page(db, pk, query).await, Page::default())
    }

    async fn event(&self, account: AccountId, id: EventId) -> StoreResult<Option<ChainedEvent>> {
        for_account!(self, account, |db, pk| browse::by_id(db, pk, id).await, None)
    }

    async fn chain(&self, account: AccountId, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>> {
        for_account!(self, account, |db, pk| browse::chain(db, pk, after_seq, limit).await, Vec::new())
    }

    async fn head(&self, account: AccountId) -> StoreResult<Option<ChainHead>> {
        for_account!(self, account, |db, pk| browse::head(db, pk).await, None)
    }

    async fn actors(&self, account: AccountId, words: &[String], limit: u32) -> StoreResult<Vec<ActorSummary>> {
        for_account!(self, account, |db, pk| browse::actors(db, pk, words, limit).await, Vec::new())
    }

    async fn records(
        &self,
        account: AccountId,
        kind: Option<RecordType>,
        words: &[String],
        limit: u32,
    ) -> StoreResult<Vec<RecordSummary>> {
        for_account!(self, account, |db, pk| browse::records(db, pk, kind, words, limit).await, Vec::new())
    }

    async fn record_events(&self, account: AccountId, kind: RecordType, id: &str) -> StoreResult<Option<RecordEvents>> {
        for_account!(self, account, |db, pk| crate::history::record_events(db, pk, kind, id).await, None)
    }
}

#[async_trait]
impl IntegrityStore for PostgresStore {
    async fn chain_rows(
        &self,
        account: AccountId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<(ChainedEvent, Columns)>> {
        transact!(self, |db| async {
            db.batch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
            match self.account_pk(db, account).await? {
                Some(pk) => integrity::chain_rows(db, pk, account, after_seq, limit).await,
                None => Ok(Vec::new()),
            }
        }
        .await)
    }

    async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        let client = self.client().await?;
        let db = Db::pooled(&client);
        let pk = self.account_pk(db, checkpoint.account_id).await?.ok_or(StoreError::UnknownAccount)?;
        integrity::add_checkpoint(db, pk, checkpoint).await
    }

    async fn checkpoints(&self, account: AccountId, limit: u32) -> StoreResult<Vec<Checkpoint>> {
        for_account!(self, account, |db, pk| integrity::checkpoints(db, pk, account, limit).await, Vec::new())
    }

    async fn tombstones(&self, account: AccountId) -> StoreResult<Vec<Tombstone>> {
        for_account!(self, account, |db, pk| integrity::tombstones(db, pk, account).await, Vec::new())
    }

    async fn tree_nodes(&self, account: AccountId, nodes: &[NodeId]) -> StoreResult<HashMap<NodeId, ChainHash>> {
        for_account!(
            self,
            account,
            |db, pk| {
                let wanted: Vec<(i64, NodeId)> = nodes.iter().map(|n| (pk, *n)).collect();
                let found = crate::tree::read_nodes(db, &wanted).await?;
                Ok(found.into_iter().map(|((_, n), h)| (n, h)).collect())
            },
            HashMap::new()
        )
    }
}

#[async_trait]
impl RetentionStore for PostgresStore {
    async fn holds(&self, account: AccountId) -> StoreResult<Vec<Hold>> {
        for_account!(self, account, |db, pk| retention::holds(db, pk, account).await, Vec::new())
    }

    async fn add_hold(&self, hold: &Hold, record: Recorder<Hold>) -> StoreResult<Recorded<Hold>> {
        transact!(self, |db| changes::add_hold(db, hold, record).await)
    }

    async fn remove_hold(
        &self,
        account: AccountId,
        kind: RecordType,
        id: &str,
        record: Recorder<Hold>,
    ) -> StoreResult<Option<Recorded<Hold>>> {
        transact!(self, |db| changes::remove_hold(db, account, kind, id, record).await)
    }

    async fn purge_preview(
        &self,
        account: AccountId,
        category: Option<&'static Category>,
        cutoff: Timestamp,
    ) -> StoreResult<PurgePreview> {
        for_account!(
            self,
            account,
            |db, pk| retention::preview(db, pk, category, cutoff).await,
            PurgePreview::default()
        )
    }

    async fn purge(&self, run: &PurgeRun, max_events: u32, key: &ChainKey) -> StoreResult<PurgeBatch> {
        transact!(self, |db| async {
            // The account's row first: batches of two runs (on two servers) queue here,
            // so the second reads what the first left and never purges an event twice.
            let pk = lock_known_account(db, run.account_id).await?;
            if let Some(other) = purge_runs::live_other_run(db, pk, run.id).await? {
                return Ok(PurgeBatch { behind: Some(other), ..PurgeBatch::default() });
            }
            let batch = retention::purge(db, pk, run.account_id, &run.cutoffs, max_events, key).await?;
            purge_runs::note_batch(db, pk, run, &batch).await?;
            Ok::<_, StoreError>(batch)
        }
        .await)
    }

    async fn finish_purge_run(
        &self,
        account: AccountId,
        run: Uuid,
        record: Recorder<PurgeRunSummary>,
    ) -> StoreResult<Option<Recorded<PurgeRunSummary>>> {
        transact!(self, |db| purge_runs::finish(db, account, run, record).await)
    }

    async fn unfinished_purge_runs(&self, idle_before: Timestamp) -> StoreResult<Vec<PurgeRunSummary>> {
        let client = self.client().await?;
        purge_runs::unfinished(Db::pooled(&client), idle_before).await
    }

    // `reclaim_space` keeps the trait's default: autovacuum gives dead rows' space
    // back to each table for reuse by itself.
}
