//! Streams (`casetrail_store::StreamStore`): their settings, positions and leases in
//! the `streams` table. Creating, changing and deleting one appends its record in the
//! same `IMMEDIATE` transaction; the delivery calls are single statements whose
//! `WHERE` holds the lease and position checks, so a process that lost the lease
//! changes nothing.

use async_trait::async_trait;
use casetrail_core::Timestamp;
use casetrail_store::{
    AccountId, NewStream, Recorded, Recorder, StoreError, StoreResult, Stream, StreamFilters, StreamFormat, StreamKind,
    StreamPatch, StreamSettings, StreamStore, Transition,
};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use uuid::Uuid;

use crate::changes::append_record;
use crate::records::{ts, uuid};
use crate::{SqliteStore, account_pk, account_pk_opt, db};

const COLUMNS: &str = "s.id, a.id, s.name, s.kind, s.url, s.format, s.filters, s.enabled, s.secret, s.ca_cert, \
                       s.created_at, s.delivered_seq, s.last_delivery_at, s.last_error, s.failures";
const FROM: &str = "streams s JOIN accounts a ON a.pk = s.acct";

fn corrupt(column: usize, what: &str) -> rusqlite::Error {
    let err = std::io::Error::other(format!("unreadable stream {what}"));
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(err))
}

fn stream_row(r: &Row<'_>) -> rusqlite::Result<Stream> {
    let kind: String = r.get(3)?;
    let format: String = r.get(5)?;
    let filters: String = r.get(6)?;
    let filters = serde_json::from_str(&filters).ok().and_then(|v| StreamFilters::from_json(&v));
    Ok(Stream {
        id: uuid(r.get(0)?)?,
        account_id: uuid(r.get(1)?)?,
        settings: StreamSettings {
            name: r.get(2)?,
            kind: StreamKind::from_key(&kind).ok_or_else(|| corrupt(3, "kind"))?,
            url: r.get(4)?,
            format: StreamFormat::from_key(&format).ok_or_else(|| corrupt(5, "format"))?,
            filters: filters.ok_or_else(|| corrupt(6, "filters"))?,
            enabled: r.get(7)?,
            secret: r.get(8)?,
            ca_cert: r.get(9)?,
        },
        created_at: ts(r.get(10)?),
        delivered_seq: r.get::<_, i64>(11)?.max(0) as u64,
        last_delivery_at: r.get::<_, Option<i64>>(12)?.map(ts),
        last_error: r.get(13)?,
        failures: r.get::<_, i64>(14)?.clamp(0, i64::from(u32::MAX)) as u32,
    })
}

fn stream_by_id(conn: &rusqlite::Connection, pk: i64, id: Uuid) -> StoreResult<Option<Stream>> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE s.id = ?1 AND s.acct = ?2");
    conn.query_row(&sql, params![id.as_bytes().as_slice(), pk], stream_row).optional().map_err(db)
}

fn create(tx: &Transaction<'_>, new: NewStream, record: Recorder<Stream>) -> StoreResult<Recorded<Stream>> {
    let pk = account_pk(tx, new.account_id)?;
    let head: i64 = tx.query_row("SELECT head_seq FROM accounts WHERE pk = ?1", [pk], |r| r.get(0)).map_err(db)?;
    let position = match new.from_seq {
        Some(seq) => seq.saturating_sub(1) as i64,
        None => head,
    };
    let id = Uuid::now_v7();
    let s = &new.settings;
    tx.execute(
        "INSERT INTO streams (id, acct, name, kind, url, format, filters, enabled, secret, ca_cert, created_at,
                              delivered_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            id.as_bytes().as_slice(),
            pk,
            s.name,
            s.kind.key(),
            s.url,
            s.format.key(),
            s.filters.to_json().to_string(),
            s.enabled,
            s.secret,
            s.ca_cert,
            Timestamp::now().as_millis(),
            position
        ],
    )
    .map_err(db)?;
    let mut created =
        stream_by_id(tx, pk, id)?.ok_or_else(|| StoreError::Corrupt("stream vanished after insert".into()))?;
    let event = append_record(tx, new.account_id, record(&created))?;
    // A stream starting at the head starts after its own creation's record too.
    if let (None, Some(appended)) = (new.from_seq, event) {
        tx.execute(
            "UPDATE streams SET delivered_seq = ?1 WHERE id = ?2",
            params![appended.seq as i64, id.as_bytes().as_slice()],
        )
        .map_err(db)?;
        created.delivered_seq = appended.seq;
    }
    Ok(Recorded { value: created, event })
}

fn change(
    tx: &Transaction<'_>,
    account: AccountId,
    id: Uuid,
    patch: StreamPatch,
    record: Recorder<Transition<Stream>>,
) -> StoreResult<Option<Recorded<Transition<Stream>>>> {
    let Some(pk) = account_pk_opt(tx, account)? else { return Ok(None) };
    let Some(before) = stream_by_id(tx, pk, id)? else { return Ok(None) };
    let after = patch.apply(&before);
    let s = &after.settings;
    tx.execute(
        "UPDATE streams SET name = ?1, url = ?2, format = ?3, filters = ?4, enabled = ?5, secret = ?6, ca_cert = ?7,
                            delivered_seq = ?8, failures = ?9
         WHERE id = ?10 AND acct = ?11",
        params![
            s.name,
            s.url,
            s.format.key(),
            s.filters.to_json().to_string(),
            s.enabled,
            s.secret,
            s.ca_cert,
            after.delivered_seq as i64,
            after.failures,
            id.as_bytes().as_slice(),
            pk
        ],
    )
    .map_err(db)?;
    let transition = Transition { before, after };
    let event = append_record(tx, account, record(&transition))?;
    Ok(Some(Recorded { value: transition, event }))
}

fn delete(
    tx: &Transaction<'_>,
    account: AccountId,
    id: Uuid,
    record: Recorder<Stream>,
) -> StoreResult<Option<Recorded<Stream>>> {
    let Some(pk) = account_pk_opt(tx, account)? else { return Ok(None) };
    let Some(gone) = stream_by_id(tx, pk, id)? else { return Ok(None) };
    tx.execute("DELETE FROM streams WHERE id = ?1 AND acct = ?2", params![id.as_bytes().as_slice(), pk]).map_err(db)?;
    let event = append_record(tx, account, record(&gone))?;
    Ok(Some(Recorded { value: gone, event }))
}

#[async_trait]
impl StreamStore for SqliteStore {
    async fn create_stream(&self, stream: NewStream, record: Recorder<Stream>) -> StoreResult<Recorded<Stream>> {
        self.transact(move |tx| create(tx, stream, record)).await
    }

    async fn streams(&self, account: AccountId) -> StoreResult<Vec<Stream>> {
        self.read(move |conn| {
            let Some(pk) = account_pk_opt(conn, account)? else { return Ok(Vec::new()) };
            let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE s.acct = ?1 ORDER BY s.id");
            let mut st = conn.prepare_cached(&sql).map_err(db)?;
            st.query_map([pk], stream_row).map_err(db)?.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn stream(&self, account: AccountId, id: Uuid) -> StoreResult<Option<Stream>> {
        self.read(move |conn| {
            let Some(pk) = account_pk_opt(conn, account)? else { return Ok(None) };
            stream_by_id(conn, pk, id)
        })
        .await
    }

    async fn change_stream(
        &self,
        account: AccountId,
        id: Uuid,
        patch: StreamPatch,
        record: Recorder<Transition<Stream>>,
    ) -> StoreResult<Option<Recorded<Transition<Stream>>>> {
        self.transact(move |tx| change(tx, account, id, patch, record)).await
    }

    async fn delete_stream(
        &self,
        account: AccountId,
        id: Uuid,
        record: Recorder<Stream>,
    ) -> StoreResult<Option<Recorded<Stream>>> {
        self.transact(move |tx| delete(tx, account, id, record)).await
    }

    async fn all_streams(&self) -> StoreResult<Vec<Stream>> {
        self.read(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM {FROM} ORDER BY s.id");
            let mut st = conn.prepare_cached(&sql).map_err(db)?;
            st.query_map([], stream_row).map_err(db)?.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn take_stream_lease(&self, id: Uuid, holder: Uuid, now: Timestamp, ttl_ms: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            let now = now.as_millis();
            let n = conn
                .execute(
                    "UPDATE streams SET lease_holder = ?1, lease_until = ?2
                     WHERE id = ?3 AND (lease_holder IS NULL OR lease_holder = ?1 OR lease_until <= ?4)",
                    params![holder.as_bytes().as_slice(), now.saturating_add(ttl_ms), id.as_bytes().as_slice(), now],
                )
                .map_err(db)?;
            Ok(n == 1)
        })
        .await
    }

    async fn release_stream_lease(&self, id: Uuid, holder: Uuid) -> StoreResult<()> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE streams SET lease_holder = NULL, lease_until = NULL WHERE id = ?1 AND lease_holder = ?2",
                params![id.as_bytes().as_slice(), holder.as_bytes().as_slice()],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn stream_delivered(&self, id: Uuid, holder: Uuid, from: u64, to: u64, at: Timestamp) -> StoreResult<bool> {
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE streams SET delivered_seq = ?1, last_delivery_at = ?2, failures = 0, last_error = NULL
                     WHERE id = ?3 AND lease_holder = ?4 AND delivered_seq = ?5",
                    params![
                        to as i64,
                        at.as_millis(),
                        id.as_bytes().as_slice(),
                        holder.as_bytes().as_slice(),
                        from as i64
                    ],
                )
                .map_err(db)?;
            Ok(n == 1)
        })
        .await
    }

    async fn stream_failed(&self, id: Uuid, holder: Uuid, error: &str) -> StoreResult<Option<u32>> {
        let error = error.to_string();
        self.write(move |conn| {
            let failures: Option<i64> = conn
                .query_row(
                    "UPDATE streams SET failures = failures + 1, last_error = ?1
                     WHERE id = ?2 AND lease_holder = ?3 RETURNING failures",
                    params![error, id.as_bytes().as_slice(), holder.as_bytes().as_slice()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            Ok(failures.map(|n| n.clamp(0, i64::from(u32::MAX)) as u32))
        })
        .await
    }
}
