//! The Merkle tree's stored nodes (`merkle_nodes`, one row per full subtree), read
//! for proofs and extended by appends in their own transaction.

use std::collections::HashMap;

use casetrail_core::chain::ChainHash;
use casetrail_core::merkle::{Frontier, NodeId};
use casetrail_store::StoreResult;
use casetrail_store::tree::TreeBuilder;
use tokio_postgres::Client;

use crate::db::{Db, get, pg};

/// Rows read per statement while building a tree for stored events.
const BUILD_PAGE: i64 = 10_000;

/// The stored hashes of nodes of several accounts, in one statement; absent ones
/// are left out.
pub(crate) async fn read_nodes(db: Db<'_>, wanted: &[(i64, NodeId)]) -> StoreResult<HashMap<(i64, NodeId), ChainHash>> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let acct: Vec<i64> = wanted.iter().map(|(pk, _)| *pk).collect();
    let level: Vec<i16> = wanted.iter().map(|(_, n)| i16::from(n.level)).collect();
    let idx: Vec<i64> = wanted.iter().map(|(_, n)| n.index as i64).collect();
    let rows = db
        .query(
            "SELECT m.acct, m.level, m.idx, m.hash FROM unnest($1::bigint[], $2::smallint[], $3::bigint[]) AS w (acct, level, idx)
             JOIN merkle_nodes m ON m.acct = w.acct AND m.level = w.level AND m.idx = w.idx",
            &[&acct, &level, &idx],
        )
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in &rows {
        let hash: Vec<u8> = get(r, 3)?;
        // A hash of the wrong length can only come from tampering; it is left out, so
        // a proof that needs it cannot be made.
        if let Some(hash) = ChainHash::from_slice(&hash) {
            let node = NodeId { level: get::<i16>(r, 1)? as u8, index: get::<i64>(r, 2)? as u64 };
            out.insert((get(r, 0)?, node), hash);
        }
    }
    Ok(out)
}

/// The right edges of the trees of these `(account pk, size)`s; `None` for an account
/// that has no tree that far (see `casetrail_store::tree`).
pub(crate) async fn frontiers(db: Db<'_>, sizes: &[(i64, u64)]) -> StoreResult<HashMap<i64, Option<Frontier>>> {
    let wanted: Vec<(i64, NodeId)> =
        sizes.iter().flat_map(|&(pk, size)| Frontier::needed(size).into_iter().map(move |n| (pk, n))).collect();
    let found = read_nodes(db, &wanted).await?;
    Ok(sizes
        .iter()
        .map(|&(pk, size)| {
            let nodes: HashMap<NodeId, ChainHash> =
                found.iter().filter(|((p, _), _)| *p == pk).map(|((_, n), h)| (*n, *h)).collect();
            (pk, Frontier::resume(size, &nodes))
        })
        .collect())
}

/// New nodes of any accounts, column by column, for one `unnest`.
#[derive(Default)]
pub(crate) struct NodeRows {
    acct: Vec<i64>,
    level: Vec<i16>,
    idx: Vec<i64>,
    hash: Vec<Vec<u8>>,
}

impl NodeRows {
    pub(crate) fn push(&mut self, pk: i64, nodes: Vec<(NodeId, ChainHash)>) {
        for (node, hash) in nodes {
            self.acct.push(pk);
            self.level.push(i16::from(node.level));
            self.idx.push(node.index as i64);
            self.hash.push(hash.0.to_vec());
        }
    }

    pub(crate) async fn insert(self, db: Db<'_>) -> StoreResult<()> {
        if self.acct.is_empty() {
            return Ok(());
        }
        db.execute(
            "INSERT INTO merkle_nodes (acct, level, idx, hash)
             SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::bytea[])",
            &[&self.acct, &self.level, &self.idx, &self.hash],
        )
        .await?;
        Ok(())
    }
}

/// Builds the tree of every account whose tree has fewer leaves than its chain
/// (events stored before the tree existed), each in one transaction that holds the
/// account's head row as an append does, so appends from other servers wait for it
/// and two servers starting at once build it once. When every tree is complete it
/// costs one indexed read per account.
pub(crate) async fn build_missing(client: &mut Client) -> StoreResult<()> {
    let accounts = client.query("SELECT pk FROM accounts", &[]).await.map_err(pg)?;
    for row in accounts {
        let pk: i64 = get(&row, 0)?;
        let tx = client.transaction().await.map_err(pg)?;
        let head = tx
            .query_one("SELECT head_seq, head_hash FROM accounts WHERE pk = $1 FOR NO KEY UPDATE", &[&pk])
            .await
            .map_err(pg)?;
        let (head_seq, head_hash): (i64, Vec<u8>) = (get(&head, 0)?, get(&head, 1)?);
        let leaves: Option<i64> = tx
            .query_one("SELECT max(idx) FROM merkle_nodes WHERE acct = $1 AND level = 0", &[&pk])
            .await
            .map_err(pg)?
            .get(0);
        let size = leaves.map_or(0, |m| m as u64 + 1);
        if size < head_seq as u64 {
            let db = Db::plain(tx.client());
            build_account(db, pk, size, (head_seq as u64, ChainHash::from_slice(&head_hash).unwrap_or_default()))
                .await?;
        }
        tx.commit().await.map_err(pg)?;
    }
    Ok(())
}

async fn build_account(db: Db<'_>, pk: i64, size: u64, (head_seq, head_hash): (u64, ChainHash)) -> StoreResult<()> {
    let Some(Some(start)) = frontiers(db, &[(pk, size)]).await?.remove(&pk) else { return Ok(()) };
    let mut builder = TreeBuilder::new(start);
    let mut after = size as i64;
    loop {
        let rows = db
            .query(
                "SELECT seq, prev_hash, hash FROM events WHERE acct = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&pk, &after, &BUILD_PAGE],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = get(last, 0)?;
        let mut nodes = NodeRows::default();
        for r in &rows {
            let prev = ChainHash::from_slice(&get::<Vec<u8>>(r, 1)?).unwrap_or_default();
            let hash = ChainHash::from_slice(&get::<Vec<u8>>(r, 2)?).unwrap_or_default();
            match builder.event(get::<i64>(r, 0)? as u64, &prev, &hash) {
                Some(made) => nodes.push(pk, made),
                None => return nodes.insert(db).await,
            }
        }
        nodes.insert(db).await?;
    }
    let mut nodes = NodeRows::default();
    if let Some(made) = builder.finish(head_seq, &head_hash) {
        nodes.push(pk, made);
    }
    nodes.insert(db).await
}
