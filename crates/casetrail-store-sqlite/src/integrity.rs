//! Checkpoints, tombstones and the chain rows that verification reads.

use casetrail_core::Timestamp;
use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::integrity::{Checkpoint, Columns, Tombstone};
use casetrail_store::{AccountId, EventId, StoreResult};
use rusqlite::{Connection, Row, params};
use uuid::Uuid;

use crate::db;

fn hash(bytes: Vec<u8>) -> ChainHash {
    // A hash column of the wrong length can only come from tampering; it reads as
    // zeros and the verifier reports the mismatch.
    ChainHash::from_slice(&bytes).unwrap_or_default()
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH)
}

/// A page of the chain with each row's indexed columns, and the rows derived from
/// its body checked (`derived.rs`), all read in one transaction so that an append or
/// a purge committing meanwhile cannot make the page disagree with itself.
pub(crate) fn chain_rows(
    conn: &Connection,
    pk: i64,
    account: AccountId,
    after: u64,
    limit: u32,
) -> StoreResult<Vec<(ChainedEvent, Columns)>> {
    let snapshot = conn.unchecked_transaction().map_err(db)?;
    let mut st = snapshot
        .prepare_cached(
            "SELECT seq, body, prev_hash, hash, id, occurred_at, actor_id, activity, idem_key, acct, rid FROM events
             WHERE acct = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .map_err(db)?;
    let rows = st
        .query_map(params![pk, after as i64, limit], |r| {
            let id: Vec<u8> = r.get(4)?;
            let acct: i64 = r.get(9)?;
            Ok((
                ChainedEvent {
                    seq: r.get::<_, i64>(0)? as u64,
                    body: r.get(1)?,
                    prev_hash: hash(r.get(2)?),
                    hash: hash(r.get(3)?),
                },
                Columns {
                    // The row was selected by account, so the account is this one.
                    account_id: if acct == pk { account } else { AccountId::nil() },
                    id: Uuid::from_slice(&id).map(EventId::from).unwrap_or(EventId::nil()),
                    occurred_at: ts(r.get(5)?),
                    actor_id: r.get(6)?,
                    activity: r.get(7)?,
                    idempotency_key: r.get(8)?,
                    derived: Vec::new(),
                },
                r.get::<_, i64>(10)?,
            ))
        })
        .map_err(db)?;
    let mut rows: Vec<crate::derived::PageRow> = rows.collect::<Result<_, _>>().map_err(db)?;
    drop(st);
    crate::derived::check_page(&snapshot, pk, &mut rows)?;
    snapshot.commit().map_err(db)?;
    Ok(rows.into_iter().map(|(event, columns, _)| (event, columns)).collect())
}

pub(crate) fn add_checkpoint(conn: &Connection, pk: i64, c: &Checkpoint) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO checkpoints (acct, seq, hash, signed_at, key_id, signature, root_hash, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            pk,
            c.seq as i64,
            c.hash.0.as_slice(),
            c.signed_at.as_millis(),
            c.key_id,
            c.signature,
            c.root_hash.as_ref().map(|h| h.0.to_vec()),
            c.note
        ],
    )
    .map_err(db)?;
    Ok(())
}

pub(crate) fn checkpoints(conn: &Connection, pk: i64, account: AccountId, limit: u32) -> StoreResult<Vec<Checkpoint>> {
    let mut st = conn
        .prepare_cached(
            "SELECT seq, hash, signed_at, key_id, signature, root_hash, note FROM checkpoints WHERE acct = ?1
             ORDER BY seq DESC, signed_at DESC LIMIT ?2",
        )
        .map_err(db)?;
    let rows = st
        .query_map(params![pk, limit], |r| {
            let seq = r.get::<_, i64>(0)? as u64;
            Ok(Checkpoint {
                account_id: account,
                seq,
                hash: hash(r.get(1)?),
                signed_at: ts(r.get(2)?),
                key_id: r.get(3)?,
                signature: r.get(4)?,
                tree_size: seq,
                root_hash: r.get::<_, Option<Vec<u8>>>(5)?.map(hash),
                note: r.get(6)?,
            })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

const TOMBSTONE_COLUMNS: &str = "first_seq, last_seq, first_prev_hash, last_hash, purged_at, key_id, signature";

fn tombstone_row(account: AccountId) -> impl Fn(&Row<'_>) -> rusqlite::Result<Tombstone> {
    move |r| {
        Ok(Tombstone {
            account_id: account,
            first_seq: r.get::<_, i64>(0)? as u64,
            last_seq: r.get::<_, i64>(1)? as u64,
            first_prev_hash: hash(r.get(2)?),
            last_hash: hash(r.get(3)?),
            purged_at: ts(r.get(4)?),
            key_id: r.get(5)?,
            signature: r.get(6)?,
        })
    }
}

pub(crate) fn tombstones(conn: &Connection, pk: i64, account: AccountId) -> StoreResult<Vec<Tombstone>> {
    let sql = format!("SELECT {TOMBSTONE_COLUMNS} FROM tombstones WHERE acct = ?1 ORDER BY first_seq");
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    let rows = st.query_map([pk], tombstone_row(account)).map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

/// The tombstone whose run ends at `seq`, if any.
pub(crate) fn tombstone_ending_at(
    conn: &Connection,
    pk: i64,
    account: AccountId,
    seq: u64,
) -> StoreResult<Option<Tombstone>> {
    tombstone_where(conn, pk, account, "last_seq", seq)
}

/// The tombstone whose run starts at `seq`, if any.
pub(crate) fn tombstone_starting_at(
    conn: &Connection,
    pk: i64,
    account: AccountId,
    seq: u64,
) -> StoreResult<Option<Tombstone>> {
    tombstone_where(conn, pk, account, "first_seq", seq)
}

fn tombstone_where(
    conn: &Connection,
    pk: i64,
    account: AccountId,
    column: &str,
    seq: u64,
) -> StoreResult<Option<Tombstone>> {
    use rusqlite::OptionalExtension;
    let sql = format!("SELECT {TOMBSTONE_COLUMNS} FROM tombstones WHERE acct = ?1 AND {column} = ?2");
    let mut st = conn.prepare_cached(&sql).map_err(db)?;
    st.query_row(params![pk, seq as i64], tombstone_row(account)).optional().map_err(db)
}

pub(crate) fn replace_tombstones(conn: &Connection, pk: i64, remove: &[u64], add: &Tombstone) -> StoreResult<()> {
    for first in remove {
        conn.execute("DELETE FROM tombstones WHERE acct = ?1 AND first_seq = ?2", params![pk, *first as i64])
            .map_err(db)?;
    }
    conn.execute(
        &format!("INSERT INTO tombstones (acct, {TOMBSTONE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            pk,
            add.first_seq as i64,
            add.last_seq as i64,
            add.first_prev_hash.0.as_slice(),
            add.last_hash.0.as_slice(),
            add.purged_at.as_millis(),
            add.key_id,
            add.signature
        ],
    )
    .map_err(db)?;
    Ok(())
}
