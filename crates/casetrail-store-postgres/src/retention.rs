//! Holds and purging: events past the retention window go, held ones stay, and
//! each run of purged seqs leaves one signed tombstone.

use casetrail_core::activity::Category;
use casetrail_core::chain::ChainHash;
use casetrail_core::integrity::{ChainKey, PurgedRun, Tombstone};
use casetrail_core::{RecordType, Related, Timestamp};
use casetrail_store::{AccountId, ConflictCode, Hold, PurgeBatch, PurgeCutoffs, PurgePreview, StoreError, StoreResult};

use crate::db::{Db, get, pg, ts, violates};
use crate::integrity;

pub(crate) async fn holds(db: Db<'_>, pk: i64, account: AccountId) -> StoreResult<Vec<Hold>> {
    let rows = db
        .query(
            "SELECT kind, record_id, reason, created_by, created_at FROM holds WHERE acct = $1
             ORDER BY created_at, kind COLLATE \"C\", record_id COLLATE \"C\"",
            &[&pk],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind: String = get(r, 0)?;
        let kind = RecordType::from_key(&kind).ok_or_else(|| StoreError::Corrupt(format!("hold on {kind:?}")))?;
        out.push(Hold {
            account_id: account,
            kind,
            id: get(r, 1)?,
            reason: get(r, 2)?,
            created_by: get(r, 3)?,
            created_at: ts(get(r, 4)?),
        });
    }
    Ok(out)
}

pub(crate) async fn add_hold(db: Db<'_>, pk: i64, h: &Hold) -> StoreResult<()> {
    let inserted = db
        .try_execute(
            "INSERT INTO holds (acct, kind, record_id, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&pk, &h.kind.key(), &h.id, &h.reason, &h.created_by, &h.created_at.as_millis()],
        )
        .await;
    match inserted {
        Err(e) if violates(&e, "holds_record") => Err(StoreError::Conflict(ConflictCode::HoldExists)),
        other => other.map(drop).map_err(pg),
    }
}

pub(crate) async fn remove_hold(
    db: Db<'_>,
    pk: i64,
    account: AccountId,
    kind: RecordType,
    id: &str,
) -> StoreResult<Option<Hold>> {
    let found = holds(db, pk, account).await?.into_iter().find(|h| h.kind == kind && h.id == id);
    if found.is_some() {
        db.execute("DELETE FROM holds WHERE acct = $1 AND kind = $2 AND record_id = $3", &[&pk, &kind.key(), &id])
            .await?;
    }
    Ok(found)
}

/// What no hold keeps (`$1` the account): nothing at all while the account has its
/// legal hold, else nothing related to a held case or client. Both are read by the
/// statement itself, so each purge batch sees the holds as of its own statement,
/// and a hold placed in the middle of a long purge stops the batches after it.
const NOT_HELD: &str = "NOT (SELECT a.legal_hold FROM accounts a WHERE a.pk = $1)
    AND NOT EXISTS (
        SELECT 1 FROM holds h JOIN event_records r ON r.acct = h.acct AND r.kind = h.kind AND r.record_id = h.record_id
        WHERE h.acct = $1 AND r.seq = e.seq)";

/// What a purge with `cutoff` (`$2`) would remove, of one category's events (its
/// activity types, `$3`, each an index range) or of all.
pub(crate) async fn preview(
    db: Db<'_>,
    pk: i64,
    category: Option<&'static Category>,
    cutoff: Timestamp,
) -> StoreResult<PurgePreview> {
    let aggregate = "SELECT count(*), min(e.occurred_at), max(e.occurred_at) FROM events e";
    let row = match category {
        None => {
            let sql = format!("{aggregate} WHERE e.acct = $1 AND e.occurred_at < $2 AND {NOT_HELD}");
            db.query_one(&sql, &[&pk, &cutoff.as_millis()]).await?
        }
        Some(category) => {
            let sql = format!(
                "{aggregate} WHERE e.acct = $1 AND e.activity = ANY($3::text[]) AND e.occurred_at < $2 AND {NOT_HELD}"
            );
            let types: Vec<&str> = category.types.iter().map(|t| t.key).collect();
            db.query_one(&sql, &[&pk, &cutoff.as_millis(), &types]).await?
        }
    };
    Ok(PurgePreview {
        events: get::<i64>(&row, 0)? as u64,
        oldest: get::<Option<i64>>(&row, 1)?.map(ts),
        newest: get::<Option<i64>>(&row, 2)?.map(ts),
    })
}

/// The statement that removes one batch: the oldest `$3` events the run may remove.
/// With one cutoff (`$2`) for every category the time index walks the log; otherwise
/// each activity type (`$4`) gets its own cutoff (`$5`) and index range, read oldest
/// first up to `$3` each (LATERAL), and the oldest `$3` of them all go, so a
/// category's purge never reads another category's kept events.
fn delete_batch(uniform: bool) -> String {
    let doomed = if uniform {
        format!(
            "SELECT e.seq FROM events e WHERE e.acct = $1 AND e.occurred_at < $2 AND {NOT_HELD}
                 ORDER BY e.occurred_at, e.seq LIMIT $3"
        )
    } else {
        format!(
            "SELECT c.seq FROM unnest($2::text[], $4::bigint[]) AS k (activity, cutoff)
             CROSS JOIN LATERAL (
                SELECT e.seq, e.occurred_at FROM events e
                WHERE e.acct = $1 AND e.activity = k.activity AND e.occurred_at < k.cutoff AND {NOT_HELD}
                ORDER BY e.occurred_at, e.seq LIMIT $3) c
             ORDER BY c.occurred_at, c.seq LIMIT $3"
        )
    };
    format!(
        "WITH doomed AS ({doomed})
         DELETE FROM events e USING doomed d WHERE e.acct = $1 AND e.seq = d.seq
         RETURNING e.seq, e.occurred_at, e.body, e.prev_hash, e.hash"
    )
}

struct Doomed {
    seq: u64,
    prev_hash: ChainHash,
    hash: ChainHash,
}

/// One purge batch inside the caller's transaction, which holds the account's row
/// lock: the oldest purgeable events go in one statement ([`delete_batch`]), then
/// their case/client links, then each run of consecutive seqs is merged into the
/// tombstones.
pub(crate) async fn purge(
    db: Db<'_>,
    pk: i64,
    account: AccountId,
    cutoffs: &PurgeCutoffs,
    max: u32,
    key: &ChainKey,
) -> StoreResult<PurgeBatch> {
    let max = i64::from(max);
    let rows = match cutoffs.uniform_cutoff() {
        Some(None) => return Ok(PurgeBatch::default()),
        Some(Some(cutoff)) => db.query(&delete_batch(true), &[&pk, &cutoff.as_millis(), &max]).await?,
        None => {
            let (activities, times): (Vec<&str>, Vec<i64>) =
                cutoffs.activity_cutoffs().into_iter().map(|(a, t)| (a, t.as_millis())).unzip();
            db.query(&delete_batch(false), &[&pk, &activities, &max, &times]).await?
        }
    };
    if rows.is_empty() {
        return Ok(PurgeBatch::default());
    }
    let mut doomed = Vec::with_capacity(rows.len());
    let mut links: (Vec<&'static str>, Vec<String>, Vec<i64>, Vec<i64>) = Default::default();
    for r in &rows {
        let seq: i64 = get(r, 0)?;
        let occurred: i64 = get(r, 1)?;
        // The case/client links are keyed by record, so the body says which to remove.
        #[derive(serde::Deserialize)]
        struct Links {
            related: Vec<Related>,
        }
        let body: &str = get(r, 2)?;
        let parsed: Links =
            serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("event seq {seq}: {e}")))?;
        for rel in parsed.related.into_iter().filter(|r| matches!(r.kind, RecordType::Case | RecordType::Client)) {
            links.0.push(rel.kind.key());
            links.1.push(rel.id);
            links.2.push(occurred);
            links.3.push(seq);
        }
        doomed.push(Doomed {
            seq: seq as u64,
            prev_hash: ChainHash::from_slice(&get::<Vec<u8>>(r, 3)?).unwrap_or_default(),
            hash: ChainHash::from_slice(&get::<Vec<u8>>(r, 4)?).unwrap_or_default(),
        });
    }
    if !links.0.is_empty() {
        db.execute(
            "DELETE FROM event_records r USING unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[])
                 AS x (kind, record_id, occurred_at, seq)
             WHERE r.acct = $1 AND r.kind = x.kind AND r.record_id = x.record_id
               AND r.occurred_at = x.occurred_at AND r.seq = x.seq",
            &[&pk, &links.0, &links.1, &links.2, &links.3],
        )
        .await?;
    }
    let seqs: Vec<i64> = doomed.iter().map(|d| d.seq as i64).collect();
    crate::history::unlink_events(db, pk, &seqs).await?;
    doomed.sort_by_key(|d| d.seq);
    let now = Timestamp::now();
    let mut start = 0;
    while start < doomed.len() {
        let mut end = start;
        while end + 1 < doomed.len() && doomed[end + 1].seq == doomed[end].seq + 1 {
            end += 1;
        }
        record_run(db, pk, account, &doomed[start], &doomed[end], now, key).await?;
        start = end + 1;
    }
    Ok(PurgeBatch {
        purged: doomed.len() as u64,
        first_seq: doomed.first().map(|d| d.seq),
        last_seq: doomed.last().map(|d| d.seq),
        behind: None,
    })
}

/// Writes the tombstone for the run `first..=last`, merged by core's rule with the
/// stored tombstones it touches, so consecutive purges keep one row per gap.
async fn record_run(
    db: Db<'_>,
    pk: i64,
    account: AccountId,
    first: &Doomed,
    last: &Doomed,
    now: Timestamp,
    key: &ChainKey,
) -> StoreResult<()> {
    let run =
        PurgedRun { first_seq: first.seq, last_seq: last.seq, first_prev_hash: first.prev_hash, last_hash: last.hash };
    let before = if first.seq > 1 {
        integrity::tombstone_where(db, pk, account, "last_seq", first.seq - 1).await?
    } else {
        None
    };
    let after = integrity::tombstone_where(db, pk, account, "first_seq", last.seq + 1).await?;
    let merged = Tombstone::merge_run(key, account, before.as_ref(), &run, after.as_ref(), now);
    integrity::replace_tombstones(db, pk, &merged.replaces, &merged.tombstone).await
}
