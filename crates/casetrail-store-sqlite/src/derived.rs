//! Verification of the rows derived from each event's body at ingest (`append.rs`):
//! its case/client links, its related-records index rows (`record_events`), its
//! entry in the FTS5 index and its picker entries, read
//! for a whole page of events at once and compared with what the same derivation
//! gives from the body (see `casetrail_store::derived`).
//!
//! The FTS5 table is contentless, so its text cannot be read back; the index itself
//! is asked instead. For every distinct word of the page one query returns the events
//! of the page's rowid range that the index finds by that exact word, which must be
//! the events whose text has it; and each event's token count (`events_fts_docsize`)
//! must be its number of words, which catches words added beside the expected ones.

use std::collections::HashMap;

use casetrail_core::RecordType;
use casetrail_core::chain::ChainedEvent;
use casetrail_core::integrity::Columns;
use casetrail_core::query::search_text;
use casetrail_store::StoreResult;
use casetrail_store::derived::{
    DerivedPage, PickerCheck, PickerKey, StoredActor, StoredHistory, StoredLinks, StoredPickers, StoredRecord,
    picker_keys,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db;

/// One row of the page: the chain row, its columns, and its `events.rid` (the FTS5
/// rowid).
pub(crate) type PageRow = (ChainedEvent, Columns, i64);

/// Fills in `Columns::derived` for every row of the page.
pub(crate) fn check_page(conn: &Connection, pk: i64, rows: &mut [PageRow]) -> StoreResult<()> {
    let mut page = DerivedPage::parse(rows.iter().map(|r| &r.0));
    let Some(seqs) = page.seq_range() else { return Ok(()) };
    page.check_links(stored_links(conn, pk, seqs)?);
    page.check_history(stored_history(conn, pk, seqs)?);

    let events = page.events();
    let mut texts: Vec<Option<String>> = vec![None; rows.len()];
    for (i, _, event) in &events {
        texts[*i] = Some(search_text(event));
    }
    let rids: Vec<i64> = rows.iter().map(|r| r.2).collect();
    let search = search_disagreements(conn, &rids, &texts)?;

    let (actors, records) = stored_pickers(conn, pk, &picker_keys(events.iter().map(|(_, _, e)| *e)))?;
    let mut check = PickerCheck::run(&events, &actors, &records);
    for candidate in std::mem::take(&mut check.candidates) {
        if !mentioned_later(conn, pk, &candidate.key, candidate.occurred_at, candidate.seq)? {
            check.confirm(&candidate);
        }
    }
    page.apply(check, &search, rows.iter_mut().map(|r| &mut r.1));
    Ok(())
}

/// The stored case/client links of the page's seqs, by seq.
fn stored_links(conn: &Connection, pk: i64, (first, last): (i64, i64)) -> StoreResult<StoredLinks> {
    let mut st = conn
        .prepare_cached(
            "SELECT seq, kind, record_id, occurred_at FROM event_records WHERE acct = ?1 AND seq BETWEEN ?2 AND ?3",
        )
        .map_err(db)?;
    let mut out = StoredLinks::new();
    let mut rows = st.query(params![pk, first, last]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let seq: i64 = r.get(0).map_err(db)?;
        out.entry(seq as u64).or_default().push((r.get(1).map_err(db)?, r.get(2).map_err(db)?, r.get(3).map_err(db)?));
    }
    Ok(out)
}

/// The stored related-records index rows of the page's seqs, by seq: one range of
/// the `(acct, seq)` index, like the links.
fn stored_history(conn: &Connection, pk: i64, (first, last): (i64, i64)) -> StoreResult<StoredHistory> {
    let mut st = conn
        .prepare_cached(
            "SELECT seq, kind, record_id, occurred_at, leads FROM record_events
             WHERE acct = ?1 AND seq BETWEEN ?2 AND ?3",
        )
        .map_err(db)?;
    let mut out = StoredHistory::new();
    let mut rows = st.query(params![pk, first, last]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let seq: i64 = r.get(0).map_err(db)?;
        let row = (r.get(1).map_err(db)?, r.get(2).map_err(db)?, r.get(3).map_err(db)?, r.get(4).map_err(db)?);
        out.entry(seq as u64).or_default().push(row);
    }
    Ok(out)
}

/// Positions in the page whose FTS5 entry is not what their search text indexes to.
fn search_disagreements(conn: &Connection, rids: &[i64], texts: &[Option<String>]) -> StoreResult<Vec<usize>> {
    let (Some(lo), Some(hi)) = (rids.iter().min(), rids.iter().max()) else { return Ok(Vec::new()) };
    let position: HashMap<i64, usize> = rids.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    let mut bad = vec![false; rids.len()];

    let sizes = token_counts(conn, *lo, *hi)?;
    let mut by_word: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, text) in texts.iter().enumerate() {
        let Some(text) = text else { continue };
        let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
        // FTS5's tokenizer splits ASCII exactly as casetrail-core does; past ASCII it
        // may cut a word in two, so only ASCII texts have a known count.
        let stored = sizes.get(&rids[i]).copied();
        if stored.is_none() || (text.is_ascii() && stored != Some(words.len() as u64)) {
            bad[i] = true;
        }
        for w in words {
            by_word.entry(w).or_default().push(i);
        }
    }

    let mut st = conn
        .prepare_cached("SELECT rowid FROM events_fts WHERE events_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3")
        .map_err(db)?;
    for (word, mut expected) in by_word {
        // Words are letters and digits only, so quoting makes one exact phrase, split
        // by FTS5's tokenizer the way it split the indexed text.
        let mut rows = st.query(params![format!("\"{word}\""), lo, hi]).map_err(db)?;
        let mut found = Vec::with_capacity(expected.len());
        while let Some(r) = rows.next().map_err(db)? {
            if let Some(i) = position.get(&r.get::<_, i64>(0).map_err(db)?) {
                found.push(*i);
            }
        }
        if found.is_empty() && !word.is_ascii() {
            // A word FTS5's tokenizer keeps nothing of cannot be searched for either.
            continue;
        }
        expected.sort_unstable();
        expected.dedup();
        found.sort_unstable();
        // Both lists are sorted: any position in one but not the other disagrees.
        let (mut a, mut b) = (0, 0);
        loop {
            match (expected.get(a), found.get(b)) {
                (Some(x), Some(y)) if x == y => (a, b) = (a + 1, b + 1),
                (Some(x), Some(y)) if x < y => (bad[*x], a) = (true, a + 1),
                (Some(x), None) => (bad[*x], a) = (true, a + 1),
                (_, Some(y)) => (bad[*y], b) = (true, b + 1),
                (None, None) => break,
            }
        }
    }
    Ok(bad.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| i).collect())
}

/// Tokens FTS5 holds for each rowid in `lo..=hi` (its one column's size).
fn token_counts(conn: &Connection, lo: i64, hi: i64) -> StoreResult<HashMap<i64, u64>> {
    let mut st = conn.prepare_cached("SELECT id, sz FROM events_fts_docsize WHERE id BETWEEN ?1 AND ?2").map_err(db)?;
    let mut out = HashMap::new();
    let mut rows = st.query(params![lo, hi]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let sz: Vec<u8> = r.get(1).map_err(db)?;
        out.insert(r.get(0).map_err(db)?, varint(&sz));
    }
    Ok(out)
}

/// An SQLite varint (big-endian groups of 7 bits; the 9th byte holds 8), as FTS5
/// stores sizes. A malformed one reads as `u64::MAX`, which no count equals.
fn varint(bytes: &[u8]) -> u64 {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(9) {
        if i == 8 {
            return (value << 8) | u64::from(*b);
        }
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return value;
        }
    }
    u64::MAX
}

/// The stored picker entries for `keys` (a key without a row is absent).
fn stored_pickers(conn: &Connection, pk: i64, keys: &[PickerKey]) -> StoreResult<StoredPickers> {
    let mut actor = conn
        .prepare_cached("SELECT name, email, search, last_seen FROM actors WHERE acct = ?1 AND actor_id = ?2")
        .map_err(db)?;
    let mut record = conn
        .prepare_cached("SELECT name, search, last_seen FROM records WHERE acct = ?1 AND kind = ?2 AND record_id = ?3")
        .map_err(db)?;
    let (mut actors, mut records) = (HashMap::new(), HashMap::new());
    for key in keys {
        match key {
            PickerKey::Actor(id) => {
                let row = actor
                    .query_row(params![pk, id], |r| {
                        Ok(StoredActor { name: r.get(0)?, email: r.get(1)?, search: r.get(2)?, last_seen: r.get(3)? })
                    })
                    .optional()
                    .map_err(db)?;
                if let Some(row) = row {
                    actors.insert(id.clone(), row);
                }
            }
            PickerKey::Record(kind, id) => {
                let row = record
                    .query_row(params![pk, kind, id], |r| {
                        Ok(StoredRecord { name: r.get(0)?, search: r.get(1)?, last_seen: r.get(2)? })
                    })
                    .optional()
                    .map_err(db)?;
                if let Some(row) = row {
                    records.insert((*kind, id.clone()), row);
                }
            }
        }
    }
    Ok((actors, records))
}

/// Whether an event after `seq` may mention the entry at `occurred_at`: a retained
/// one (found by index), or a purged one (any purge of a later seq). Only actors and
/// cases and clients have such an index; other records' names are not confirmed.
fn mentioned_later(conn: &Connection, pk: i64, key: &PickerKey, at: i64, seq: u64) -> StoreResult<bool> {
    let seq = seq as i64;
    let purged_later: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones WHERE acct = ?1 AND last_seq > ?2)")
        .and_then(|mut st| st.query_row(params![pk, seq], |r| r.get(0)))
        .map_err(db)?;
    if purged_later {
        return Ok(true);
    }
    match key {
        PickerKey::Actor(id) => conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM events WHERE acct = ?1 AND actor_id = ?2 AND occurred_at = ?3 AND seq > ?4)",
            )
            .and_then(|mut st| st.query_row(params![pk, id, at, seq], |r| r.get(0)))
            .map_err(db),
        PickerKey::Record(kind, id) if matches!(RecordType::from_key(kind), Some(RecordType::Case | RecordType::Client)) => {
            conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM event_records
                 WHERE acct = ?1 AND kind = ?2 AND record_id = ?3 AND occurred_at = ?4 AND seq > ?5)",
            )
            .and_then(|mut st| st.query_row(params![pk, kind, id, at, seq], |r| r.get(0)))
            .map_err(db)
        }
        PickerKey::Record(..) => Ok(true),
    }
}
