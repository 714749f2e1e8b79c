//! Group commit: several requests' batches, one transaction, a handful of statements
//! whatever the number of events.

use std::collections::{BTreeSet, HashMap};

use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::merkle::Frontier;
use casetrail_core::{Event, Timestamp};
use casetrail_store::derived::filter_links;
use casetrail_store::{
    AccountId, AppendBatch, Appended, EventId, PickerUpdates, StoreError, StoreResult, picker_search,
};
use uuid::Uuid;

use crate::db::{Db, get, pg, violates};
use crate::search::lexemes;
use crate::tree::NodeRows;

/// The moving head of one account's chain within the transaction.
struct Head {
    pk: i64,
    seq: u64,
    hash: ChainHash,
    /// The Merkle tree's right edge; `None` for an account whose tree could not be
    /// built (`casetrail_store::tree`), which appends then leave without one.
    tree: Option<Frontier>,
}

/// Appends every batch inside the caller's transaction; the caller commits.
pub(crate) async fn append_all(db: Db<'_>, batches: Vec<AppendBatch>) -> StoreResult<Vec<Vec<Appended>>> {
    let recorded_at = Timestamp::now();
    let mut heads = lock_heads(db, &batches).await?;
    // Keys already stored, then keys taken earlier in this same transaction: the
    // unique index would catch both, but only as an error.
    let mut taken = stored_keys(db, &batches, &heads).await?;
    let mut rows = EventRows::default();
    let mut nodes = NodeRows::default();
    let mut pickers = PickerUpdates::default();
    let mut out = Vec::with_capacity(batches.len());

    for batch in batches {
        let head = heads.get_mut(&batch.account_id).ok_or(StoreError::UnknownAccount)?;
        let mut answers = Vec::with_capacity(batch.events.len());
        for new in batch.events {
            if let Some(original) = new.idempotency_key.as_ref().and_then(|k| taken.get(&(head.pk, k.clone()))) {
                answers.push(*original);
                continue;
            }
            let seq = head.seq + 1;
            let id = EventId::new_v7();
            let event = new.into_event(id, batch.account_id, seq, recorded_at);
            let sealed = ChainedEvent::seal(&event, head.hash);
            pickers.saw(head.pk, &event);
            head.seq = seq;
            head.hash = sealed.hash;
            if let Some(tree) = &mut head.tree {
                nodes.push(head.pk, tree.push(&sealed.hash));
            }
            let appended = Appended { id, seq, duplicate: false };
            if let Some(key) = &event.idempotency_key {
                taken.insert((head.pk, key.clone()), Appended { duplicate: true, ..appended });
            }
            rows.push(head.pk, event, sealed);
            answers.push(appended);
        }
        out.push(answers);
    }

    rows.insert(db).await?;
    nodes.insert(db).await?;
    flush_pickers(pickers, db).await?;
    move_heads(db, &heads).await?;
    Ok(out)
}

/// Locks the head row of every account the batches touch, in one statement ordered
/// by key: two transactions lock overlapping sets in the same order, so they queue
/// and never deadlock. An unknown account refuses the whole append.
async fn lock_heads(db: Db<'_>, batches: &[AppendBatch]) -> StoreResult<HashMap<AccountId, Head>> {
    let ids: Vec<Uuid> =
        batches.iter().map(|b| b.account_id.into_inner()).collect::<BTreeSet<_>>().into_iter().collect();
    let rows = db
        .query(
            "SELECT pk, id, head_seq, head_hash FROM accounts WHERE id = ANY($1) ORDER BY pk FOR NO KEY UPDATE",
            &[&ids],
        )
        .await?;
    if rows.len() != ids.len() {
        return Err(StoreError::UnknownAccount);
    }
    let mut heads = HashMap::with_capacity(rows.len());
    for row in rows {
        let hash: Vec<u8> = get(&row, 3)?;
        let hash =
            ChainHash::from_slice(&hash).ok_or_else(|| StoreError::Corrupt("chain head is not 32 bytes".into()))?;
        let id = AccountId::from(get::<Uuid>(&row, 1)?);
        heads.insert(id, Head { pk: get(&row, 0)?, seq: get::<i64>(&row, 2)? as u64, hash, tree: None });
    }
    let sizes: Vec<(i64, u64)> = heads.values().map(|h| (h.pk, h.seq)).collect();
    let mut trees = crate::tree::frontiers(db, &sizes).await?;
    for head in heads.values_mut() {
        head.tree = trees.remove(&head.pk).flatten();
    }
    Ok(heads)
}

/// The stored events that already hold any idempotency key of the batches.
async fn stored_keys(
    db: Db<'_>,
    batches: &[AppendBatch],
    heads: &HashMap<AccountId, Head>,
) -> StoreResult<HashMap<(i64, String), Appended>> {
    let mut accts = Vec::new();
    let mut keys = Vec::new();
    for batch in batches {
        let pk = heads.get(&batch.account_id).map(|h| h.pk).ok_or(StoreError::UnknownAccount)?;
        for key in batch.events.iter().filter_map(|e| e.idempotency_key.as_ref()) {
            accts.push(pk);
            keys.push(key.as_str());
        }
    }
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = db
        .query(
            "SELECT e.acct, e.idem_key, e.id, e.seq FROM unnest($1::bigint[], $2::text[]) AS k (acct, key)
             JOIN events e ON e.acct = k.acct AND e.idem_key = k.key",
            &[&accts, &keys],
        )
        .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let id = EventId::from(get::<Uuid>(&row, 2)?);
        let seq = get::<i64>(&row, 3)? as u64;
        found.insert((get(&row, 0)?, get(&row, 1)?), Appended { id, seq, duplicate: true });
    }
    Ok(found)
}

/// New events and their case/client links, column by column, for one `unnest` each.
#[derive(Default)]
struct EventRows {
    acct: Vec<i64>,
    seq: Vec<i64>,
    id: Vec<Uuid>,
    occurred_at: Vec<i64>,
    actor_id: Vec<String>,
    activity: Vec<&'static str>,
    idem_key: Vec<Option<String>>,
    body: Vec<String>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
    words: Vec<String>,
    links: BTreeSet<(i64, &'static str, String, i64, i64)>,
    history: crate::history::RecordLinks,
}

impl EventRows {
    fn push(&mut self, pk: i64, event: Event, sealed: ChainedEvent) {
        let occurred = event.occurred_at.as_millis();
        let seq = event.seq as i64;
        for (kind, record_id) in filter_links(&event) {
            self.links.insert((pk, kind, record_id.to_string(), occurred, seq));
        }
        self.history.push(pk, &event);
        self.words.push(lexemes(&event));
        self.acct.push(pk);
        self.seq.push(seq);
        self.id.push(event.id.into_inner());
        self.occurred_at.push(occurred);
        self.activity.push(event.activity.key());
        self.actor_id.push(event.actor.id);
        self.idem_key.push(event.idempotency_key);
        self.body.push(sealed.body);
        self.prev_hash.push(sealed.prev_hash.0.to_vec());
        self.hash.push(sealed.hash.0.to_vec());
    }

    async fn insert(self, db: Db<'_>) -> StoreResult<()> {
        if self.seq.is_empty() {
            return Ok(());
        }
        // Our words hold no space, so `string_to_array` only undoes our join.
        db.try_execute(
            "INSERT INTO events (acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash, search)
             SELECT acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash,
                    array_to_tsvector(string_to_array(words, ' '))
             FROM unnest($1::bigint[], $2::bigint[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::bytea[], $10::bytea[], $11::text[])
                  AS u (acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash, words)",
            &[
                &self.acct,
                &self.seq,
                &self.id,
                &self.occurred_at,
                &self.actor_id,
                &self.activity,
                &self.idem_key,
                &self.body,
                &self.prev_hash,
                &self.hash,
                &self.words,
            ],
        )
        .await
        // Only a key stored by a transaction that did not hold this head's lock (none
        // of ours) gets here; trying again finds it and answers the duplicate.
        .map_err(|e| if violates(&e, "events_idem") { StoreError::Busy(Box::new(e)) } else { pg(e) })?;
        self.history.insert(db).await?;
        if self.links.is_empty() {
            return Ok(());
        }
        let links: Vec<_> = self.links.iter().collect();
        let acct: Vec<i64> = links.iter().map(|l| l.0).collect();
        let kind: Vec<&str> = links.iter().map(|l| l.1).collect();
        let record_id: Vec<&str> = links.iter().map(|l| l.2.as_str()).collect();
        let occurred_at: Vec<i64> = links.iter().map(|l| l.3).collect();
        let seq: Vec<i64> = links.iter().map(|l| l.4).collect();
        db.execute(
            "INSERT INTO event_records (acct, kind, record_id, occurred_at, seq)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])",
            &[&acct, &kind, &record_id, &occurred_at, &seq],
        )
        .await?;
        Ok(())
    }
}

/// Writes every moved head back, in one statement.
async fn move_heads(db: Db<'_>, heads: &HashMap<AccountId, Head>) -> StoreResult<()> {
    let pks: Vec<i64> = heads.values().map(|h| h.pk).collect();
    let seqs: Vec<i64> = heads.values().map(|h| h.seq as i64).collect();
    let hashes: Vec<Vec<u8>> = heads.values().map(|h| h.hash.0.to_vec()).collect();
    db.execute(
        "UPDATE accounts a SET head_seq = u.seq, head_hash = u.hash
         FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) AS u (pk, seq, hash)
         WHERE a.pk = u.pk AND a.head_seq <> u.seq",
        &[&pks, &seqs, &hashes],
    )
    .await?;
    Ok(())
}

/// Writes what the transaction taught the pickers: upserts, keeping whichever name
/// was seen at the later `occurred_at` (a record seen without a name keeps the name it
/// had).
async fn flush_pickers(pickers: PickerUpdates, db: Db<'_>) -> StoreResult<()> {
    if !pickers.actors.is_empty() {
        let rows: Vec<_> = pickers.actors.into_iter().collect();
        let acct: Vec<i64> = rows.iter().map(|((pk, _), _)| *pk).collect();
        let id: Vec<&str> = rows.iter().map(|((_, id), _)| id.as_str()).collect();
        let name: Vec<&str> = rows.iter().map(|(_, (name, _, _))| name.as_str()).collect();
        let email: Vec<Option<&str>> = rows.iter().map(|(_, (_, email, _))| email.as_deref()).collect();
        let search: Vec<String> = rows
            .iter()
            .map(|((_, id), (name, email, _))| picker_search(&[Some(name), email.as_ref(), Some(id)]))
            .collect();
        let seen: Vec<i64> = rows.iter().map(|(_, (_, _, at))| *at).collect();
        db.execute(
            "INSERT INTO actors (acct, actor_id, name, email, search, last_seen)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
                 ON CONFLICT (acct, actor_id) DO UPDATE SET name = excluded.name, email = excluded.email,
                    search = excluded.search, last_seen = excluded.last_seen
                 WHERE excluded.last_seen >= actors.last_seen",
            &[&acct, &id, &name, &email, &search, &seen],
        )
        .await?;
    }
    if !pickers.records.is_empty() {
        let rows: Vec<_> = pickers.records.into_iter().collect();
        let acct: Vec<i64> = rows.iter().map(|((pk, _, _), _)| *pk).collect();
        let kind: Vec<&str> = rows.iter().map(|((_, kind, _), _)| *kind).collect();
        let id: Vec<&str> = rows.iter().map(|((_, _, id), _)| id.as_str()).collect();
        let name: Vec<Option<&str>> = rows.iter().map(|(_, (name, _))| name.as_deref()).collect();
        let search: Vec<String> =
            rows.iter().map(|((_, _, id), (name, _))| picker_search(&[name.as_ref(), Some(id)])).collect();
        let seen: Vec<i64> = rows.iter().map(|(_, (_, at))| *at).collect();
        db.execute(
            "INSERT INTO records (acct, kind, record_id, name, search, last_seen)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
                 ON CONFLICT (acct, kind, record_id) DO UPDATE SET name = coalesce(excluded.name, records.name),
                    search = CASE WHEN excluded.name IS NULL THEN records.search ELSE excluded.search END,
                    last_seen = excluded.last_seen
                 WHERE excluded.last_seen >= records.last_seen",
            &[&acct, &kind, &id, &name, &search, &seen],
        )
        .await?;
    }
    Ok(())
}
