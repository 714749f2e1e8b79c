//! The tally of each retention run (`purge_runs`): added to in the transaction of each
//! purge batch, turned into the run's `system_log.purged` record and forgotten in one
//! transaction. A run cut short by a crash keeps its tally until it is found.

use casetrail_core::Timestamp;
use casetrail_store::{
    AccountId, PURGE_RUN_LIVE_MS, PurgeBatch, PurgeCutoffs, PurgeRun, PurgeRunSummary, Recorded, Recorder, StoreError,
    StoreResult,
};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::changes::{append_record, build};
use crate::db::{Db, get, ts};
use crate::records::lock_account;

const COLUMNS: &str = "r.run_id, a.id, r.started_at, r.cutoff, r.retention_days, r.actor, r.purged, r.first_seq, r.last_seq, r.last_batch_at, r.categories";

/// Adds what one batch removed to its run's tally, inside the batch's transaction.
pub(crate) async fn note_batch(db: Db<'_>, pk: i64, run: &PurgeRun, batch: &PurgeBatch) -> StoreResult<()> {
    let (Some(first), Some(last)) = (batch.first_seq, batch.last_seq) else { return Ok(()) };
    let actor = serde_json::to_string(&run.actor).map_err(StoreError::backend)?;
    db.execute(
        "INSERT INTO purge_runs
            (acct, run_id, started_at, cutoff, retention_days, actor, purged, first_seq, last_seq, last_batch_at,
             categories)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (acct, run_id) DO UPDATE SET
            purged = purge_runs.purged + excluded.purged,
            first_seq = least(purge_runs.first_seq, excluded.first_seq),
            last_seq = greatest(purge_runs.last_seq, excluded.last_seq),
            last_batch_at = excluded.last_batch_at",
        &[
            &pk,
            &run.id,
            &run.started_at.as_millis(),
            &run.cutoffs.cutoff.map(Timestamp::as_millis),
            &run.cutoffs.retention_days.map(|d| d as i32),
            &actor,
            &(batch.purged as i64),
            &(first as i64),
            &(last as i64),
            &Timestamp::now().as_millis(),
            &run.cutoffs.categories_json().to_string(),
        ],
    )
    .await?;
    Ok(())
}

/// Another run of the account that committed a batch within [`PURGE_RUN_LIVE_MS`],
/// read after the account's row is locked (so two runs' batches see each other).
pub(crate) async fn live_other_run(db: Db<'_>, pk: i64, run: Uuid) -> StoreResult<Option<Uuid>> {
    let live_since = Timestamp::now().as_millis() - PURGE_RUN_LIVE_MS;
    let row = db
        .query_opt(
            "SELECT run_id FROM purge_runs WHERE acct = $1 AND run_id <> $2 AND last_batch_at >= $3 LIMIT 1",
            &[&pk, &run, &live_since],
        )
        .await?;
    row.map(|r| get(&r, 0)).transpose()
}

fn summary_row(r: &Row) -> StoreResult<PurgeRunSummary> {
    let actor: String = get(r, 5)?;
    let actor = serde_json::from_str(&actor).map_err(|e| StoreError::Corrupt(format!("purge run actor: {e}")))?;
    let run = PurgeRun {
        id: get(r, 0)?,
        account_id: AccountId::from(get::<Uuid>(r, 1)?),
        started_at: ts(get(r, 2)?),
        cutoffs: PurgeCutoffs {
            cutoff: get::<Option<i64>>(r, 3)?.map(ts),
            retention_days: get::<Option<i32>>(r, 4)?.map(|d| d as u32),
            categories: PurgeCutoffs::categories_from_json(
                &serde_json::from_str(get::<&str>(r, 10)?).unwrap_or_default(),
            ),
        },
        actor,
    };
    Ok(PurgeRunSummary {
        run,
        purged: get::<i64>(r, 6)? as u64,
        first_seq: get::<i64>(r, 7)? as u64,
        last_seq: get::<i64>(r, 8)? as u64,
        last_batch_at: ts(get(r, 9)?),
    })
}

/// Appends the run's record and forgets its tally, inside the caller's transaction.
/// The account's row is locked first (as by every batch and change, so the locks of
/// a transaction are always taken account first), then the tally's row: two servers
/// finishing one run queue there, and the second finds the tally gone.
pub(crate) async fn finish(
    db: Db<'_>,
    account: AccountId,
    run: Uuid,
    record: Recorder<PurgeRunSummary>,
) -> StoreResult<Option<Recorded<PurgeRunSummary>>> {
    let Some(pk) = lock_account(db, account).await? else { return Ok(None) };
    let sql = format!(
        "SELECT {COLUMNS} FROM purge_runs r JOIN accounts a ON a.pk = r.acct
         WHERE r.acct = $1 AND r.run_id = $2 FOR UPDATE OF r"
    );
    let Some(row) = db.query_opt(&sql, &[&pk, &run]).await? else { return Ok(None) };
    let summary = summary_row(&row)?;
    db.execute("DELETE FROM purge_runs WHERE acct = $1 AND run_id = $2", &[&pk, &run]).await?;
    let event = build(record, &summary)?;
    let event = append_record(db, account, event).await?;
    Ok(Some(Recorded { value: summary, event }))
}

pub(crate) async fn unfinished(db: Db<'_>, idle_before: Timestamp) -> StoreResult<Vec<PurgeRunSummary>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM purge_runs r JOIN accounts a ON a.pk = r.acct
         WHERE r.last_batch_at < $1 ORDER BY r.started_at, r.run_id"
    );
    db.query(&sql, &[&idle_before.as_millis()]).await?.iter().map(summary_row).collect()
}
