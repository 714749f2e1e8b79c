//! Verification of the rows derived from each event's body at ingest (`append.rs`):
//! its case/client links, its related-records index rows (`record_events`), its
//! `search` lexemes and its picker entries, read for a
//! whole page of events in a few statements and compared with what the same
//! derivation gives from the body (see `casetrail_store::derived`).
//!
//! The GIN index on `search` is PostgreSQL's own and follows the column, so the
//! column is what is compared: its lexemes must be exactly [`lexemes`] of the body.

use std::collections::HashMap;

use casetrail_core::RecordType;
use casetrail_core::chain::ChainedEvent;
use casetrail_core::integrity::Columns;
use casetrail_store::StoreResult;
use casetrail_store::derived::{
    DerivedPage, PickerCheck, PickerKey, StoredActor, StoredHistory, StoredLinks, StoredPickers, StoredRecord,
    picker_keys,
};

use crate::db::{Db, get};
use crate::search::lexemes;

/// One row of the page: the chain row, its columns, and the lexemes of its `search`.
pub(crate) type PageRow = (ChainedEvent, Columns, Vec<String>);

/// Fills in `Columns::derived` for every row of the page.
pub(crate) async fn check_page(db: Db<'_>, pk: i64, rows: &mut [PageRow]) -> StoreResult<()> {
    let mut page = DerivedPage::parse(rows.iter().map(|r| &r.0));
    let Some((first, last)) = page.seq_range() else { return Ok(()) };
    let links = db
        .query(
            "SELECT seq, kind, record_id, occurred_at FROM event_records WHERE acct = $1 AND seq BETWEEN $2 AND $3",
            &[&pk, &first, &last],
        )
        .await?;
    let mut stored = StoredLinks::new();
    for r in &links {
        stored.entry(get::<i64>(r, 0)? as u64).or_default().push((get(r, 1)?, get(r, 2)?, get(r, 3)?));
    }
    page.check_links(stored);
    // The related-records index: one range of its `(acct, seq)` index too.
    let indexed = db
        .query(
            "SELECT seq, kind, record_id, occurred_at, leads FROM record_events
             WHERE acct = $1 AND seq BETWEEN $2 AND $3",
            &[&pk, &first, &last],
        )
        .await?;
    let mut history = StoredHistory::new();
    for r in &indexed {
        let row = (get(r, 1)?, get(r, 2)?, get(r, 3)?, get(r, 4)?);
        history.entry(get::<i64>(r, 0)? as u64).or_default().push(row);
    }
    page.check_history(history);

    let events = page.events();
    let mut search = Vec::new();
    for (i, _, event) in &events {
        let mut expected: Vec<&str> = Vec::new();
        let words = lexemes(event);
        expected.extend(words.split(' ').filter(|w| !w.is_empty()));
        expected.sort_unstable();
        let stored = &mut rows[*i].2;
        stored.sort_unstable();
        if expected.len() != stored.len() || expected.iter().zip(stored.iter()).any(|(a, b)| a != b) {
            search.push(*i);
        }
    }

    let (actors, records) = stored_pickers(db, pk, &picker_keys(events.iter().map(|(_, _, e)| *e))).await?;
    let mut check = PickerCheck::run(&events, &actors, &records);
    for candidate in std::mem::take(&mut check.candidates) {
        if !mentioned_later(db, pk, &candidate.key, candidate.occurred_at, candidate.seq).await? {
            check.confirm(&candidate);
        }
    }
    page.apply(check, &search, rows.iter_mut().map(|r| &mut r.1));
    Ok(())
}

/// The stored picker entries for `keys`, two statements whatever their number.
async fn stored_pickers(db: Db<'_>, pk: i64, keys: &[PickerKey]) -> StoreResult<StoredPickers> {
    let mut actor_ids: Vec<&str> = Vec::new();
    let (mut kinds, mut record_ids): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for key in keys {
        match key {
            PickerKey::Actor(id) => actor_ids.push(id),
            PickerKey::Record(kind, id) => {
                kinds.push(kind);
                record_ids.push(id);
            }
        }
    }
    let mut actors = HashMap::new();
    let rows = db
        .query(
            "SELECT actor_id, name, email, search, last_seen FROM actors WHERE acct = $1 AND actor_id = ANY($2)",
            &[&pk, &actor_ids],
        )
        .await?;
    for r in &rows {
        let row = StoredActor { name: get(r, 1)?, email: get(r, 2)?, search: get(r, 3)?, last_seen: get(r, 4)? };
        actors.insert(get(r, 0)?, row);
    }
    let mut records = HashMap::new();
    let rows = db
        .query(
            "SELECT r.kind, r.record_id, r.name, r.search, r.last_seen
             FROM unnest($2::text[], $3::text[]) AS k (kind, record_id)
             JOIN records r ON r.acct = $1 AND r.kind = k.kind AND r.record_id = k.record_id",
            &[&pk, &kinds, &record_ids],
        )
        .await?;
    for r in &rows {
        let kind: String = get(r, 0)?;
        // Only kinds asked for come back; a kind no type has cannot, but is skipped.
        let Some(kind) = RecordType::from_key(&kind).map(RecordType::key) else { continue };
        let row = StoredRecord { name: get(r, 2)?, search: get(r, 3)?, last_seen: get(r, 4)? };
        records.insert((kind, get(r, 1)?), row);
    }
    Ok((actors, records))
}

/// Whether an event after `seq` may mention the entry at `occurred_at`: a retained
/// one (found by index), or a purged one (any purge of a later seq). Only actors and
/// cases and clients have such an index; other records' names are not confirmed.
async fn mentioned_later(db: Db<'_>, pk: i64, key: &PickerKey, at: i64, seq: u64) -> StoreResult<bool> {
    let seq = seq as i64;
    let purged_later = db
        .query_one("SELECT EXISTS (SELECT 1 FROM tombstones WHERE acct = $1 AND last_seq > $2)", &[&pk, &seq])
        .await?;
    if get::<bool>(&purged_later, 0)? {
        return Ok(true);
    }
    let row = match key {
        PickerKey::Actor(id) => {
            db.query_one(
                "SELECT EXISTS (SELECT 1 FROM events WHERE acct = $1 AND actor_id = $2 AND occurred_at = $3 AND seq > $4)",
                &[&pk, id, &at, &seq],
            )
            .await?
        }
        PickerKey::Record(kind, id)
            if matches!(RecordType::from_key(kind), Some(RecordType::Case | RecordType::Client)) =>
        {
            db.query_one(
                "SELECT EXISTS (SELECT 1 FROM event_records
                 WHERE acct = $1 AND kind = $2 AND record_id = $3 AND occurred_at = $4 AND seq > $5)",
                &[&pk, kind, id, &at, &seq],
            )
            .await?
        }
        PickerKey::Record(..) => return Ok(true),
    };
    get(&row, 0)
}
