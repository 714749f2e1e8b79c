//! The tally of each retention run (`purge_runs`): added to in the transaction of each
//! purge batch, turned into the run's `system_log.purged` record and forgotten in one
//! transaction. A run cut short by a crash keeps its tally until it is found.

use casetrail_core::Timestamp;
use casetrail_store::{
    AccountId, AppendBatch, PURGE_RUN_LIVE_MS, PurgeBatch, PurgeCutoffs, PurgeRun, PurgeRunSummary, Recorded, Recorder,
    StoreError, StoreResult,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use uuid::Uuid;

use crate::records::{ts, uuid};
use crate::{account_pk_opt, append, db};

const COLUMNS: &str = "r.run_id, a.id, r.started_at, r.cutoff, r.retention_days, r.actor, r.purged, r.first_seq, r.last_seq, r.last_batch_at, r.categories";

/// Adds what one batch removed to its run's tally, inside the batch's transaction.
pub(crate) fn note_batch(tx: &Transaction<'_>, pk: i64, run: &PurgeRun, batch: &PurgeBatch) -> StoreResult<()> {
    let (Some(first), Some(last)) = (batch.first_seq, batch.last_seq) else { return Ok(()) };
    let actor = serde_json::to_string(&run.actor).map_err(StoreError::backend)?;
    tx.prepare_cached(
        "INSERT INTO purge_runs
            (run_id, acct, started_at, cutoff, retention_days, actor, purged, first_seq, last_seq, last_batch_at,
             categories)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (run_id) DO UPDATE SET
            purged = purged + excluded.purged,
            first_seq = min(first_seq, excluded.first_seq),
            last_seq = max(last_seq, excluded.last_seq),
            last_batch_at = excluded.last_batch_at",
    )
    .and_then(|mut st| {
        st.execute(params![
            run.id.as_bytes().as_slice(),
            pk,
            run.started_at.as_millis(),
            run.cutoffs.cutoff.map(Timestamp::as_millis),
            run.cutoffs.retention_days,
            actor,
            batch.purged as i64,
            first as i64,
            last as i64,
            Timestamp::now().as_millis(),
            run.cutoffs.categories_json().to_string(),
        ])
    })
    .map_err(db)?;
    Ok(())
}

/// Another run of the account that committed a batch within [`PURGE_RUN_LIVE_MS`]
/// (read inside the batch's write transaction, so two runs' batches see each other).
pub(crate) fn live_other_run(tx: &Transaction<'_>, pk: i64, run: Uuid) -> StoreResult<Option<Uuid>> {
    let live_since = Timestamp::now().as_millis() - PURGE_RUN_LIVE_MS;
    let found: Option<Vec<u8>> = tx
        .prepare_cached(
            "SELECT run_id FROM purge_runs WHERE acct = ?1 AND run_id <> ?2 AND last_batch_at >= ?3 LIMIT 1",
        )
        .and_then(|mut st| st.query_row(params![pk, run.as_bytes().as_slice(), live_since], |r| r.get(0)).optional())
        .map_err(db)?;
    found.map(|bytes| uuid(bytes).map_err(db)).transpose()
}

fn summary_row(r: &Row<'_>) -> rusqlite::Result<PurgeRunSummary> {
    let actor: String = r.get(5)?;
    let actor = serde_json::from_str(&actor)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e)))?;
    let run = PurgeRun {
        id: uuid(r.get(0)?)?,
        account_id: uuid(r.get(1)?)?,
        started_at: ts(r.get(2)?),
        cutoffs: PurgeCutoffs {
            cutoff: r.get::<_, Option<i64>>(3)?.map(ts),
            retention_days: r.get::<_, Option<i64>>(4)?.map(|d| d as u32),
            categories: PurgeCutoffs::categories_from_json(
                &serde_json::from_str(&r.get::<_, String>(10)?).unwrap_or_default(),
            ),
        },
        actor,
    };
    Ok(PurgeRunSummary {
        run,
        purged: r.get::<_, i64>(6)? as u64,
        first_seq: r.get::<_, i64>(7)? as u64,
        last_seq: r.get::<_, i64>(8)? as u64,
        last_batch_at: ts(r.get(9)?),
    })
}

/// Appends the run's record and forgets its tally, inside the caller's transaction.
pub(crate) fn finish(
    tx: &Transaction<'_>,
    account: AccountId,
    run: Uuid,
    record: Recorder<PurgeRunSummary>,
) -> StoreResult<Option<Recorded<PurgeRunSummary>>> {
    let Some(pk) = account_pk_opt(tx, account)? else { return Ok(None) };
    let sql = format!(
        "SELECT {COLUMNS} FROM purge_runs r JOIN accounts a ON a.pk = r.acct WHERE r.run_id = ?1 AND r.acct = ?2"
    );
    let found = tx.query_row(&sql, params![run.as_bytes().as_slice(), pk], summary_row).optional().map_err(db)?;
    let Some(summary) = found else { return Ok(None) };
    tx.execute("DELETE FROM purge_runs WHERE run_id = ?1", [run.as_bytes().as_slice()]).map_err(db)?;
    let event = match record(&summary) {
        Some(event) => append::append_all(tx, vec![AppendBatch { account_id: account, events: vec![event] }])?
            .pop()
            .and_then(|mut batch| batch.pop()),
        None => None,
    };
    Ok(Some(Recorded { value: summary, event }))
}

pub(crate) fn unfinished(conn: &Connection, idle_before: Timestamp) -> StoreResult<Vec<PurgeRunSummary>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM purge_runs r JOIN accounts a ON a.pk = r.acct WHERE r.last_batch_at < ?1 ORDER BY r.started_at"
    );
    let mut st = conn.prepare(&sql).map_err(db)?;
    st.query_map([idle_before.as_millis()], summary_row).map_err(db)?.collect::<Result<_, _>>().map_err(db)
}
