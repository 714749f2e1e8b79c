//! Group commit: several requests' batches, one transaction.

use std::collections::HashMap;

use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::merkle::Frontier;
use casetrail_core::query::search_text;
use casetrail_core::{Event, Timestamp};
use casetrail_store::derived::filter_links;
use casetrail_store::{
    AccountId, AppendBatch, Appended, EventId, PickerUpdates, StoreError, StoreResult, picker_search,
};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use crate::{account_pk, db};

/// The moving head of one account's chain within the transaction.
struct Head {
    pk: i64,
    seq: u64,
    hash: ChainHash,
    /// The Merkle tree's right edge; `None` for an account whose tree could not be
    /// built (`casetrail_store::tree`), which appends then leave without one.
    tree: Option<Frontier>,
}

/// Appends every batch inside `tx`; the caller commits.
pub(crate) fn append_all(tx: &Transaction<'_>, batches: Vec<AppendBatch>) -> StoreResult<Vec<Vec<Appended>>> {
    let recorded_at = Timestamp::now();
    let mut heads: HashMap<AccountId, Head> = HashMap::new();
    // Keys taken earlier in this same transaction, which the unique index would
    // also catch, but only as an error.
    let mut taken: HashMap<(i64, String), Appended> = HashMap::new();
    let mut pickers = PickerUpdates::default();
    let mut out = Vec::with_capacity(batches.len());

    for batch in batches {
        let head = match heads.entry(batch.account_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(load_head(tx, batch.account_id)?),
        };
        let mut answers = Vec::with_capacity(batch.events.len());
        for new in batch.events {
            if let Some(key) = &new.idempotency_key
                && let Some(original) = find_duplicate(tx, &taken, head.pk, key)?
            {
                answers.push(original);
                continue;
            }
            let seq = head.seq + 1;
            let id = EventId::new_v7();
            let event = new.into_event(id, batch.account_id, seq, recorded_at);
            let sealed = ChainedEvent::seal(&event, head.hash);
            insert_event(tx, head.pk, &event, &sealed)?;
            if let Some(tree) = &mut head.tree {
                crate::tree::insert_nodes(tx, head.pk, &tree.push(&sealed.hash))?;
            }
            pickers.saw(head.pk, &event);
            head.seq = seq;
            head.hash = sealed.hash;
            let appended = Appended { id, seq, duplicate: false };
            if let Some(key) = event.idempotency_key {
                taken.insert((head.pk, key), Appended { duplicate: true, ..appended });
            }
            answers.push(appended);
        }
        out.push(answers);
    }

    let mut st = tx.prepare_cached("UPDATE accounts SET head_seq = ?1, head_hash = ?2 WHERE pk = ?3").map_err(db)?;
    for head in heads.values() {
        st.execute(params![head.seq as i64, head.hash.0.as_slice(), head.pk]).map_err(db)?;
    }
    flush_pickers(pickers, tx)?;
    Ok(out)
}

fn load_head(tx: &Transaction<'_>, account: AccountId) -> StoreResult<Head> {
    let pk = account_pk(tx, account)?;
    let (seq, hash): (i64, Vec<u8>) = tx
        .prepare_cached("SELECT head_seq, head_hash FROM accounts WHERE pk = ?1")
        .and_then(|mut st| st.query_row([pk], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db)?;
    let hash = ChainHash::from_slice(&hash).ok_or_else(|| StoreError::Corrupt("chain head is not 32 bytes".into()))?;
    let tree = crate::tree::frontier(tx, pk, seq as u64)?;
    Ok(Head { pk, seq: seq as u64, hash, tree })
}

fn find_duplicate(
    tx: &Transaction<'_>,
    taken: &HashMap<(i64, String), Appended>,
    pk: i64,
    key: &str,
) -> StoreResult<Option<Appended>> {
    if let Some(original) = taken.get(&(pk, key.to_string())) {
        return Ok(Some(*original));
    }
    let row: Option<(Vec<u8>, i64)> = tx
        .prepare_cached("SELECT id, seq FROM events WHERE acct = ?1 AND idem_key = ?2")
        .and_then(|mut st| st.query_row(params![pk, key], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(db)?;
    row.map(|(id, seq)| {
        let id = Uuid::from_slice(&id)
            .map(EventId::from)
            .map_err(|_| StoreError::Corrupt("event id is not a uuid".into()))?;
        Ok(Appended { id, seq: seq as u64, duplicate: true })
    })
    .transpose()
}

fn insert_event(tx: &Transaction<'_>, pk: i64, event: &Event, sealed: &ChainedEvent) -> StoreResult<()> {
    let occurred = event.occurred_at.as_millis();
    let seq = event.seq as i64;
    let mut st = tx
        .prepare_cached(
            "INSERT INTO events (acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db)?;
    st.execute(params![
        pk,
        seq,
        event.id.as_bytes().as_slice(),
        occurred,
        event.actor.id,
        event.activity.key(),
        event.idempotency_key,
        sealed.body,
        sealed.prev_hash.0.as_slice(),
        sealed.hash.0.as_slice(),
    ])
    .map_err(db)?;
    let rid = tx.last_insert_rowid();

    let mut link = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO event_records (acct, kind, record_id, occurred_at, seq) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db)?;
    for (kind, record_id) in filter_links(event) {
        link.execute(params![pk, kind, record_id, occurred, seq]).map_err(db)?;
    }
    crate::history::link_event(tx, pk, event)?;

    let mut fts = tx.prepare_cached("INSERT INTO events_fts (rowid, text) VALUES (?1, ?2)").map_err(db)?;
    fts.execute(params![rid, search_text(event)]).map_err(db)?;
    Ok(())
}

/// Writes what the transaction taught the pickers: upserts, keeping whichever name
/// was seen at the later `occurred_at`.
fn flush_pickers(pickers: PickerUpdates, tx: &Transaction<'_>) -> StoreResult<()> {
    let mut st = tx
        .prepare_cached(
            "INSERT INTO actors (acct, actor_id, name, email, search, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (acct, actor_id) DO UPDATE SET name = excluded.name, email = excluded.email,
                 search = excluded.search, last_seen = excluded.last_seen
                 WHERE excluded.last_seen >= actors.last_seen",
        )
        .map_err(db)?;
    for ((pk, id), (name, email, at)) in pickers.actors {
        let search = picker_search(&[Some(&name), email.as_ref(), Some(&id)]);
        st.execute(params![pk, id, name, email, search, at]).map_err(db)?;
    }
    let mut st = tx
        .prepare_cached(
            "INSERT INTO records (acct, kind, record_id, name, search, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (acct, kind, record_id) DO UPDATE SET name = coalesce(excluded.name, records.name),
                 search = CASE WHEN excluded.name IS NULL THEN records.search ELSE excluded.search END,
                 last_seen = excluded.last_seen WHERE excluded.last_seen >= records.last_seen",
        )
        .map_err(db)?;
    for ((pk, kind, id), (name, at)) in pickers.records {
        let search = picker_search(&[name.as_ref(), Some(&id)]);
        st.execute(params![pk, kind, id, name, search, at]).map_err(db)?;
    }
    Ok(())
}
