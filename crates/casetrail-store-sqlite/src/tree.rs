//! The Merkle tree's stored nodes (`merkle_nodes`, one row per full subtree), read
//! for proofs and extended by appends in their own transaction.

use std::collections::HashMap;

use casetrail_core::chain::ChainHash;
use casetrail_core::merkle::{Frontier, NodeId};
use casetrail_store::StoreResult;
use casetrail_store::tree::TreeBuilder;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::db;

/// Rows read per statement while building a tree for stored events.
const BUILD_PAGE: i64 = 10_000;

/// The stored hashes of `nodes`; absent ones are left out.
pub(crate) fn read_nodes(conn: &Connection, pk: i64, nodes: &[NodeId]) -> StoreResult<HashMap<NodeId, ChainHash>> {
    let mut st =
        conn.prepare_cached("SELECT hash FROM merkle_nodes WHERE acct = ?1 AND level = ?2 AND idx = ?3").map_err(db)?;
    let mut out = HashMap::with_capacity(nodes.len());
    for node in nodes {
        let hash: Option<Vec<u8>> =
            st.query_row(params![pk, node.level, node.index as i64], |r| r.get(0)).optional().map_err(db)?;
        // A hash of the wrong length can only come from tampering; it is left out, so
        // a proof that needs it cannot be made.
        if let Some(hash) = hash.as_deref().and_then(ChainHash::from_slice) {
            out.insert(*node, hash);
        }
    }
    Ok(out)
}

/// The right edge of the tree of `size` leaves, or `None` when the account has no
/// tree that far (see `casetrail_store::tree`).
pub(crate) fn frontier(conn: &Connection, pk: i64, size: u64) -> StoreResult<Option<Frontier>> {
    let nodes = read_nodes(conn, pk, &Frontier::needed(size))?;
    Ok(Frontier::resume(size, &nodes))
}

pub(crate) fn insert_nodes(conn: &Connection, pk: i64, nodes: &[(NodeId, ChainHash)]) -> StoreResult<()> {
    let mut st =
        conn.prepare_cached("INSERT INTO merkle_nodes (acct, level, idx, hash) VALUES (?1, ?2, ?3, ?4)").map_err(db)?;
    for (node, hash) in nodes {
        st.execute(params![pk, node.level, node.index as i64, hash.0.as_slice()]).map_err(db)?;
    }
    Ok(())
}

/// Builds the tree of every account whose tree has fewer leaves than its chain
/// (events stored before the tree existed), each in one `IMMEDIATE` transaction, so
/// two processes opening the file at once build it once. Run at every open: when
/// every tree is complete it costs one indexed read per account.
pub(crate) fn build_missing(conn: &mut Connection) -> StoreResult<()> {
    let accounts: Vec<(i64, i64)> = {
        let mut st = conn.prepare("SELECT pk, head_seq FROM accounts").map_err(db)?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db)?.collect::<Result<_, _>>().map_err(db)?
    };
    for (pk, head_seq) in accounts {
        if leaves(conn, pk)? >= head_seq as u64 {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
        build_account(&tx, pk)?;
        tx.commit().map_err(db)?;
    }
    Ok(())
}

fn leaves(conn: &Connection, pk: i64) -> StoreResult<u64> {
    let max: Option<i64> = conn
        .query_row("SELECT max(idx) FROM merkle_nodes WHERE acct = ?1 AND level = 0", [pk], |r| r.get(0))
        .map_err(db)?;
    Ok(max.map_or(0, |m| m as u64 + 1))
}

fn build_account(tx: &Connection, pk: i64) -> StoreResult<()> {
    let size = leaves(tx, pk)?;
    let Some(start) = frontier(tx, pk, size)? else { return Ok(()) };
    let (head_seq, head_hash): (i64, Vec<u8>) = tx
        .query_row("SELECT head_seq, head_hash FROM accounts WHERE pk = ?1", [pk], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db)?;
    let mut builder = TreeBuilder::new(start);
    let mut after = size as i64;
    let mut st = tx
        .prepare("SELECT seq, prev_hash, hash FROM events WHERE acct = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")
        .map_err(db)?;
    loop {
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = st
            .query_map(params![pk, after, BUILD_PAGE], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        for (seq, prev, hash) in &rows {
            let (prev, hash) =
                (ChainHash::from_slice(prev).unwrap_or_default(), ChainHash::from_slice(hash).unwrap_or_default());
            match builder.event(*seq as u64, &prev, &hash) {
                Some(nodes) => insert_nodes(tx, pk, &nodes)?,
                None => return Ok(()),
            }
        }
    }
    if let Some(nodes) = builder.finish(head_seq as u64, &ChainHash::from_slice(&head_hash).unwrap_or_default()) {
        insert_nodes(tx, pk, &nodes)?;
    }
    Ok(())
}
