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
    RetentionStore, StoreResult,
};
use uuid::Uuid;

use crate::{SqliteStore, account_pk, account_pk_opt, append, browse, changes, integrity, purge_runs, retention};

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(&self, batches: Vec<AppendBatch>) -> StoreResult<Vec<Vec<Appended>>> {
        let out = self.transact(move |tx| append::append_all(tx, batches)).await?;
        let added = out.iter().flatten().filter(|a| !a.duplicate).count();
        self.changed(added as u64).await;
        Ok(out)
    }

    async fn events(&self, account: AccountId, query: &BrowseQuery) -> StoreResult<Page> {
        let query = query.clone();
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::page(conn, pk, &query),
            None => Ok(Page::default()),
        })
        .await
    }

    async fn event(&self, account: AccountId, id: EventId) -> StoreResult<Option<ChainedEvent>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::by_id(conn, pk, id),
            None => Ok(None),
        })
        .await
    }

    async fn chain(&self, account: AccountId, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::chain(conn, pk, after_seq, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn head(&self, account: AccountId) -> StoreResult<Option<ChainHead>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::head(conn, pk),
            None => Ok(None),
        })
        .await
    }

    async fn actors(&self, account: AccountId, words: &[String], limit: u32) -> StoreResult<Vec<ActorSummary>> {
        let words = words.to_vec();
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::actors(conn, pk, &words, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn records(
        &self,
        account: AccountId,
        kind: Option<RecordType>,
        words: &[String],
        limit: u32,
    ) -> StoreResult<Vec<RecordSummary>> {
        let words = words.to_vec();
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::records(conn, pk, kind, &words, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn record_events(&self, account: AccountId, kind: RecordType, id: &str) -> StoreResult<Option<RecordEvents>> {
        let id = id.to_string();
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => crate::history::record_events(conn, pk, kind, &id),
            None => Ok(None),
        })
        .await
    }
}

#[async_trait]
impl IntegrityStore for SqliteStore {
    async fn chain_rows(
        &self,
        account: AccountId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<(ChainedEvent, Columns)>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => integrity::chain_rows(conn, pk, account, after_seq, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        let c = checkpoint.clone();
        self.write(move |conn| {
            let pk = account_pk(conn, c.account_id)?;
            integrity::add_checkpoint(conn, pk, &c)
        })
        .await
    }

    async fn checkpoints(&self, account: AccountId, limit: u32) -> StoreResult<Vec<Checkpoint>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => integrity::checkpoints(conn, pk, account, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn tombstones(&self, account: AccountId) -> StoreResult<Vec<Tombstone>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => integrity::tombstones(conn, pk, account),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn tree_nodes(&self, account: AccountId, nodes: &[NodeId]) -> StoreResult<HashMap<NodeId, ChainHash>> {
        let nodes = nodes.to_vec();
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => crate::tree::read_nodes(conn, pk, &nodes),
            None => Ok(HashMap::new()),
        })
        .await
    }
}

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn holds(&self, account: AccountId) -> StoreResult<Vec<Hold>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => retention::holds(conn, pk, account),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn add_hold(&self, hold: &Hold, record: Recorder<Hold>) -> StoreResult<Recorded<Hold>> {
        let hold = hold.clone();
        self.transact(move |tx| changes::add_hold(tx, &hold, record)).await
    }

    async fn remove_hold(
        &self,
        account: AccountId,
        kind: RecordType,
        id: &str,
        record: Recorder<Hold>,
    ) -> StoreResult<Option<Recorded<Hold>>> {
        let id = id.to_string();
        self.transact(move |tx| changes::remove_hold(tx, account, kind, &id, record)).await
    }

    async fn purge_preview(
        &self,
        account: AccountId,
        category: Option<&'static Category>,
        cutoff: Timestamp,
    ) -> StoreResult<PurgePreview> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => retention::preview(conn, pk, category, cutoff),
            None => Ok(PurgePreview::default()),
        })
        .await
    }

    async fn purge(&self, run: &PurgeRun, max_events: u32, key: &ChainKey) -> StoreResult<PurgeBatch> {
        let key = ChainKey::from_signing_key(key.signing_key().clone());
        let run = run.clone();
        let batch = self
            .transact(move |tx| {
                let pk = account_pk(tx, run.account_id)?;
                if let Some(other) = purge_runs::live_other_run(tx, pk, run.id)? {
                    return Ok(PurgeBatch { behind: Some(other), ..PurgeBatch::default() });
                }
                let batch = retention::purge(tx, pk, run.account_id, &run.cutoffs, max_events, &key)?;
                purge_runs::note_batch(tx, pk, &run, &batch)?;
                Ok(batch)
            })
            .await?;
        self.changed(batch.purged).await;
        Ok(batch)
    }

    async fn finish_purge_run(
        &self,
        account: AccountId,
        run: Uuid,
        record: Recorder<PurgeRunSummary>,
    ) -> StoreResult<Option<Recorded<PurgeRunSummary>>> {
        self.transact(move |tx| purge_runs::finish(tx, account, run, record)).await
    }

    async fn unfinished_purge_runs(&self, idle_before: Timestamp) -> StoreResult<Vec<PurgeRunSummary>> {
        self.read(move |conn| purge_runs::unfinished(conn, idle_before)).await
    }

    async fn reclaim_space(&self) -> StoreResult<()> {
        // Chunk by chunk, stepping back between chunks so that waiting writes get the
        // (unfair) write lock first.
        while self.write(|conn| retention::reclaim_chunk(conn)).await? {
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        Ok(())
    }
}
