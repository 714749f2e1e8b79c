//! Checkpoints, tombstones and the chain rows that verification reads.

use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::integrity::{Checkpoint, Columns, Tombstone};
use casetrail_store::{AccountId, EventId, StoreResult};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::db::{Db, get, ts};

fn hash(bytes: Vec<u8>) -> ChainHash {
    // A hash column of the wrong length can only come from tampering; it reads as
    // zeros and the verifier reports the mismatch.
    ChainHash::from_slice(&bytes).unwrap_or_default()
}

/// A page of the chain with each row's indexed columns, and the rows derived from
/// its body checked (`derived.rs`). The caller runs it in one snapshot, so that an
/// append or a purge committing meanwhile cannot make the page disagree with itself.
pub(crate) async fn chain_rows(
    db: Db<'_>,
    pk: i64,
    account: AccountId,
    after: u64,
    limit: u32,
) -> StoreResult<Vec<(ChainedEvent, Columns)>> {
    let rows = db
        .query(
            "SELECT seq, body, prev_hash, hash, id, occurred_at, actor_id, activity, idem_key, acct,
                    tsvector_to_array(search)
             FROM events WHERE acct = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&pk, &(after as i64), &i64::from(limit)],
        )
        .await?;
    let mut out: Vec<crate::derived::PageRow> = Vec::with_capacity(rows.len());
    for r in &rows {
        let acct: i64 = get(r, 9)?;
        out.push((
            ChainedEvent {
                seq: get::<i64>(r, 0)? as u64,
                body: get(r, 1)?,
                prev_hash: hash(get(r, 2)?),
                hash: hash(get(r, 3)?),
            },
            Columns {
                // The row was selected by account, so the account is this one.
                account_id: if acct == pk { account } else { AccountId::nil() },
                id: EventId::from(get::<Uuid>(r, 4)?),
                occurred_at: ts(get(r, 5)?),
                actor_id: get(r, 6)?,
                activity: get(r, 7)?,
                idempotency_key: get(r, 8)?,
                derived: Vec::new(),
            },
            get(r, 10)?,
        ));
    }
    drop(rows);
    crate::derived::check_page(db, pk, &mut out).await?;
    Ok(out.into_iter().map(|(event, columns, _)| (event, columns)).collect())
}

pub(crate) async fn add_checkpoint(db: Db<'_>, pk: i64, c: &Checkpoint) -> StoreResult<()> {
    db.execute(
        "INSERT INTO checkpoints (acct, seq, hash, signed_at, key_id, signature, root_hash, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &pk,
            &(c.seq as i64),
            &c.hash.0.as_slice(),
            &c.signed_at.as_millis(),
            &c.key_id,
            &c.signature,
            &c.root_hash.as_ref().map(|h| h.0.as_slice()),
            &c.note,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn checkpoints(db: Db<'_>, pk: i64, account: AccountId, limit: u32) -> StoreResult<Vec<Checkpoint>> {
    let rows = db
        .query(
            "SELECT seq, hash, signed_at, key_id, signature, root_hash, note FROM checkpoints WHERE acct = $1
             ORDER BY seq DESC, signed_at DESC LIMIT $2",
            &[&pk, &i64::from(limit)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let seq = get::<i64>(r, 0)? as u64;
            Ok(Checkpoint {
                account_id: account,
                seq,
                hash: hash(get(r, 1)?),
                signed_at: ts(get(r, 2)?),
                key_id: get(r, 3)?,
                signature: get(r, 4)?,
                tree_size: seq,
                root_hash: get::<Option<Vec<u8>>>(r, 5)?.map(hash),
                note: get(r, 6)?,
            })
        })
        .collect()
}

const TOMBSTONE_COLUMNS: &str = "first_seq, last_seq, first_prev_hash, last_hash, purged_at, key_id, signature";

fn tombstone_row(account: AccountId, r: &Row) -> StoreResult<Tombstone> {
    Ok(Tombstone {
        account_id: account,
        first_seq: get::<i64>(r, 0)? as u64,
        last_seq: get::<i64>(r, 1)? as u64,
        first_prev_hash: hash(get(r, 2)?),
        last_hash: hash(get(r, 3)?),
        purged_at: ts(get(r, 4)?),
        key_id: get(r, 5)?,
        signature: get(r, 6)?,
    })
}

pub(crate) async fn tombstones(db: Db<'_>, pk: i64, account: AccountId) -> StoreResult<Vec<Tombstone>> {
    let sql = format!("SELECT {TOMBSTONE_COLUMNS} FROM tombstones WHERE acct = $1 ORDER BY first_seq");
    db.query(&sql, &[&pk]).await?.iter().map(|r| tombstone_row(account, r)).collect()
}

/// The tombstone whose `column` (`first_seq` or `last_seq`) is `seq`, if any.
pub(crate) async fn tombstone_where(
    db: Db<'_>,
    pk: i64,
    account: AccountId,
    column: &'static str,
    seq: u64,
) -> StoreResult<Option<Tombstone>> {
    let sql = format!("SELECT {TOMBSTONE_COLUMNS} FROM tombstones WHERE acct = $1 AND {column} = $2");
    db.query_opt(&sql, &[&pk, &(seq as i64)]).await?.as_ref().map(|r| tombstone_row(account, r)).transpose()
}

pub(crate) async fn replace_tombstones(db: Db<'_>, pk: i64, remove: &[u64], add: &Tombstone) -> StoreResult<()> {
    if !remove.is_empty() {
        let firsts: Vec<i64> = remove.iter().map(|s| *s as i64).collect();
        db.execute("DELETE FROM tombstones WHERE acct = $1 AND first_seq = ANY($2)", &[&pk, &firsts]).await?;
    }
    db.execute(
        &format!("INSERT INTO tombstones (acct, {TOMBSTONE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
        &[
            &pk,
            &(add.first_seq as i64),
            &(add.last_seq as i64),
            &add.first_prev_hash.0.as_slice(),
            &add.last_hash.0.as_slice(),
            &add.purged_at.as_millis(),
            &add.key_id,
            &add.signature,
        ],
    )
    .await?;
    Ok(())
}
