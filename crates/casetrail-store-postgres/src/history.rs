//! The related-records index, `record_events`: one row per record an event relates
//! to (every record type, unlike `event_records`, which holds the case and client
//! filters), with whether the event leads it (its first related record, and it
//! changed something). A record's history is then an index range: its count, its
//! first and last `occurred_at`, and the events it leads, without reading any other
//! event.

use std::collections::BTreeMap;

use casetrail_core::{Event, RecordType, Timestamp};
use casetrail_store::derived::history_links;
use casetrail_store::{RECENT_EVENTS, RecordEvents, StoreResult, name_in_body};

use crate::browse::{EVENT_COLUMNS, chained};
use crate::db::{Db, get};

/// The index rows of the events one append writes, for one `unnest`: those
/// [`history_links`] derives, which verification expects.
#[derive(Debug, Default)]
pub(crate) struct RecordLinks(BTreeMap<(i64, &'static str, String, i64, i64), bool>);

impl RecordLinks {
    pub(crate) fn push(&mut self, pk: i64, event: &Event) {
        let (occurred, seq) = (event.occurred_at.as_millis(), event.seq as i64);
        for (kind, id, leads) in history_links(event) {
            self.0.insert((pk, kind, id.to_string(), occurred, seq), leads);
        }
    }

    pub(crate) async fn insert(self, db: Db<'_>) -> StoreResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = self.0.into_iter().collect();
        let acct: Vec<i64> = rows.iter().map(|(k, _)| k.0).collect();
        let kind: Vec<&str> = rows.iter().map(|(k, _)| k.1).collect();
        let record_id: Vec<&str> = rows.iter().map(|(k, _)| k.2.as_str()).collect();
        let occurred_at: Vec<i64> = rows.iter().map(|(k, _)| k.3).collect();
        let seq: Vec<i64> = rows.iter().map(|(k, _)| k.4).collect();
        let leads: Vec<bool> = rows.iter().map(|(_, leads)| *leads).collect();
        db.execute(
            "INSERT INTO record_events (acct, kind, record_id, occurred_at, seq, leads)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::boolean[])",
            &[&acct, &kind, &record_id, &occurred_at, &seq, &leads],
        )
        .await?;
        Ok(())
    }
}

/// Forgets purged events' rows.
pub(crate) async fn unlink_events(db: Db<'_>, pk: i64, seqs: &[i64]) -> StoreResult<()> {
    db.execute("DELETE FROM record_events WHERE acct = $1 AND seq = ANY($2::bigint[])", &[&pk, &seqs]).await?;
    Ok(())
}

pub(crate) async fn record_events(
    db: Db<'_>,
    pk: i64,
    kind: RecordType,
    id: &str,
) -> StoreResult<Option<RecordEvents>> {
    let key: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&pk, &kind.key(), &id];
    let row = db
        .query_one(
            "SELECT count(*), min(occurred_at), max(occurred_at) FROM record_events
             WHERE acct = $1 AND kind = $2 AND record_id = $3",
            &key,
        )
        .await?;
    let count: i64 = get(&row, 0)?;
    let (Some(first), Some(last)) = (get::<Option<i64>>(&row, 1)?, get::<Option<i64>>(&row, 2)?) else {
        return Ok(None);
    };
    let ts = |ms: i64| Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH);

    let range = "FROM record_events r JOIN events e ON e.acct = r.acct AND e.seq = r.seq \
                 WHERE r.acct = $1 AND e.acct = $1 AND r.kind = $2 AND r.record_id = $3";
    let sql = format!("SELECT {EVENT_COLUMNS} {range} AND r.leads ORDER BY r.occurred_at, r.seq");
    let led = db.query(&sql, &key).await?.iter().map(|r| chained(r).map(|(e, _)| e)).collect::<StoreResult<_>>()?;

    let sql = format!("SELECT {EVENT_COLUMNS} {range} ORDER BY r.occurred_at DESC, r.seq DESC LIMIT {RECENT_EVENTS}");
    let recent: Vec<_> =
        db.query(&sql, &key).await?.iter().map(|r| chained(r).map(|(e, _)| e)).collect::<StoreResult<_>>()?;
    let mut name = recent.iter().find_map(|e| name_in_body(&e.body, kind, id));
    if name.is_none() {
        // Named only further back: the picker keeps the newest name it saw.
        let picker = "SELECT name FROM records WHERE acct = $1 AND kind = $2 AND record_id = $3";
        name = db.query_opt(picker, &key).await?.map(|r| get::<Option<String>>(&r, 0)).transpose()?.flatten();
    }
    Ok(Some(RecordEvents { events: count as u64, first_seen: ts(first), last_seen: ts(last), name, led, recent }))
}
