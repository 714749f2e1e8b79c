//! Streams (`casetrail_store::StreamStore`) in the `streams` table. Creating,
//! changing and deleting one locks the account's row first (as every change that
//! records itself does), so the head a new stream starts after cannot move under it,
//! and appends the record in the same transaction. The delivery calls are single
//! statements whose `WHERE` holds the lease and position checks: a server that lost
//! the lease, or whose position was moved by a replay, changes nothing.

use async_trait::async_trait;
use casetrail_core::Timestamp;
use casetrail_store::{
    AccountId, NewStream, Recorded, Recorder, StoreError, StoreResult, Stream, StreamFilters, StreamFormat, StreamKind,
    StreamPatch, StreamSettings, StreamStore, Transition,
};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::changes::{append_record, build};
use crate::db::{Db, get, ts};
use crate::records::lock_account;
use crate::{PostgresStore, failure, transact};

const COLUMNS: &str = "s.id, a.id, s.name, s.kind, s.url, s.format, s.filters, s.enabled, s.secret, s.ca_cert, \
                       s.created_at, s.delivered_seq, s.last_delivery_at, s.last_error, s.failures";
const FROM: &str = "streams s JOIN accounts a ON a.pk = s.acct";

fn stream_row(r: &Row) -> StoreResult<Stream> {
    let unreadable = |what: &str| StoreError::Corrupt(format!("unreadable stream {what}"));
    let kind: String = get(r, 3)?;
    let format: String = get(r, 5)?;
    let filters: String = get(r, 6)?;
    let filters = serde_json::from_str(&filters).ok().and_then(|v| StreamFilters::from_json(&v));
    let id: Uuid = get(r, 0)?;
    let account: Uuid = get(r, 1)?;
    Ok(Stream {
        id,
        account_id: account.into(),
        settings: StreamSettings {
            name: get(r, 2)?,
            kind: StreamKind::from_key(&kind).ok_or_else(|| unreadable("kind"))?,
            url: get(r, 4)?,
            format: StreamFormat::from_key(&format).ok_or_else(|| unreadable("format"))?,
            filters: filters.ok_or_else(|| unreadable("filters"))?,
            enabled: get(r, 7)?,
            secret: get(r, 8)?,
            ca_cert: get(r, 9)?,
        },
        created_at: ts(get(r, 10)?),
        delivered_seq: get::<i64>(r, 11)?.max(0) as u64,
        last_delivery_at: get::<Option<i64>>(r, 12)?.map(ts),
        last_error: get(r, 13)?,
        failures: get::<i32>(r, 14)?.max(0) as u32,
    })
}

async fn stream_by_id(db: Db<'_>, pk: i64, id: Uuid) -> StoreResult<Option<Stream>> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE s.id = $1 AND s.acct = $2");
    db.query_opt(&sql, &[&id, &pk]).await?.as_ref().map(stream_row).transpose()
}

async fn create(db: Db<'_>, new: NewStream, record: Recorder<Stream>) -> StoreResult<Recorded<Stream>> {
    let pk = lock_account(db, new.account_id).await?.ok_or(StoreError::UnknownAccount)?;
    let head: i64 = get(&db.query_one("SELECT head_seq FROM accounts WHERE pk = $1", &[&pk]).await?, 0)?;
    let position = match new.from_seq {
        Some(seq) => i64::try_from(seq.saturating_sub(1)).unwrap_or(i64::MAX),
        None => head,
    };
    let id = Uuid::now_v7();
    let s = &new.settings;
    let filters = s.filters.to_json().to_string();
    db.execute(
        "INSERT INTO streams (id, acct, name, kind, url, format, filters, enabled, secret, ca_cert, created_at,
                              delivered_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &id,
            &pk,
            &s.name,
            &s.kind.key(),
            &s.url,
            &s.format.key(),
            &filters,
            &s.enabled,
            &s.secret,
            &s.ca_cert,
            &Timestamp::now().as_millis(),
            &position,
        ],
    )
    .await?;
    let mut created = stream_by_id(db, pk, id).await?.ok_or_else(|| failure("stream vanished after insert"))?;
    let event = append_record(db, new.account_id, build(record, &created)?).await?;
    // A stream starting at the head starts after its own creation's record too.
    if let (None, Some(appended)) = (new.from_seq, event) {
        let seq = appended.seq as i64;
        db.execute("UPDATE streams SET delivered_seq = $1 WHERE id = $2", &[&seq, &id]).await?;
        created.delivered_seq = appended.seq;
    }
    Ok(Recorded { value: created, event })
}

async fn change(
    db: Db<'_>,
    account: AccountId,
    id: Uuid,
    patch: StreamPatch,
    record: Recorder<Transition<Stream>>,
) -> StoreResult<Option<Recorded<Transition<Stream>>>> {
    let Some(pk) = lock_account(db, account).await? else { return Ok(None) };
    let Some(before) = stream_by_id(db, pk, id).await? else { return Ok(None) };
    let after = patch.apply(&before);
    let s = &after.settings;
    let filters = s.filters.to_json().to_string();
    let position = i64::try_from(after.delivered_seq).unwrap_or(i64::MAX);
    let failures = i32::try_from(after.failures).unwrap_or(i32::MAX);
    db.execute(
        "UPDATE streams SET name = $1, url = $2, format = $3, filters = $4, enabled = $5, secret = $6, ca_cert = $7,
                            delivered_seq = $8, failures = $9
         WHERE id = $10 AND acct = $11",
        &[
            &s.name,
            &s.url,
            &s.format.key(),
            &filters,
            &s.enabled,
            &s.secret,
            &s.ca_cert,
            &position,
            &failures,
            &id,
            &pk,
        ],
    )
    .await?;
    let transition = Transition { before, after };
    let event = append_record(db, account, build(record, &transition)?).await?;
    Ok(Some(Recorded { value: transition, event }))
}

async fn delete(
    db: Db<'_>,
    account: AccountId,
    id: Uuid,
    record: Recorder<Stream>,
) -> StoreResult<Option<Recorded<Stream>>> {
    let Some(pk) = lock_account(db, account).await? else { return Ok(None) };
    let Some(gone) = stream_by_id(db, pk, id).await? else { return Ok(None) };
    db.execute("DELETE FROM streams WHERE id = $1 AND acct = $2", &[&id, &pk]).await?;
    let event = append_record(db, account, build(record, &gone)?).await?;
    Ok(Some(Recorded { value: gone, event }))
}

#[async_trait]
impl StreamStore for PostgresStore {
    async fn create_stream(&self, stream: NewStream, record: Recorder<Stream>) -> StoreResult<Recorded<Stream>> {
        transact!(self, |db| create(db, stream, record).await)
    }

    async fn streams(&self, account: AccountId) -> StoreResult<Vec<Stream>> {
        let client = self.client().await?;
        let db = Db::pooled(&client);
        let Some(pk) = self.account_pk(db, account).await? else { return Ok(Vec::new()) };
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE s.acct = $1 ORDER BY s.id");
        db.query(&sql, &[&pk]).await?.iter().map(stream_row).collect()
    }

    async fn stream(&self, account: AccountId, id: Uuid) -> StoreResult<Option<Stream>> {
        let client = self.client().await?;
        let db = Db::pooled(&client);
        let Some(pk) = self.account_pk(db, account).await? else { return Ok(None) };
        stream_by_id(db, pk, id).await
    }

    async fn change_stream(
        &self,
        account: AccountId,
        id: Uuid,
        patch: StreamPatch,
        record: Recorder<Transition<Stream>>,
    ) -> StoreResult<Option<Recorded<Transition<Stream>>>> {
        transact!(self, |db| change(db, account, id, patch, record).await)
    }

    async fn delete_stream(
        &self,
        account: AccountId,
        id: Uuid,
        record: Recorder<Stream>,
    ) -> StoreResult<Option<Recorded<Stream>>> {
        transact!(self, |db| delete(db, account, id, record).await)
    }

    async fn all_streams(&self) -> StoreResult<Vec<Stream>> {
        let client = self.client().await?;
        let sql = format!("SELECT {COLUMNS} FROM {FROM} ORDER BY s.id");
        Db::pooled(&client).query(&sql, &[]).await?.iter().map(stream_row).collect()
    }

    async fn take_stream_lease(&self, id: Uuid, holder: Uuid, now: Timestamp, ttl_ms: i64) -> StoreResult<bool> {
        let client = self.client().await?;
        let now = now.as_millis();
        let n = Db::pooled(&client)
            .execute(
                "UPDATE streams SET lease_holder = $1, lease_until = $2
                 WHERE id = $3 AND (lease_holder IS NULL OR lease_holder = $1 OR lease_until <= $4)",
                &[&holder, &now.saturating_add(ttl_ms), &id, &now],
            )
            .await?;
        Ok(n == 1)
    }

    async fn release_stream_lease(&self, id: Uuid, holder: Uuid) -> StoreResult<()> {
        let client = self.client().await?;
        Db::pooled(&client)
            .execute(
                "UPDATE streams SET lease_holder = NULL, lease_until = NULL WHERE id = $1 AND lease_holder = $2",
                &[&id, &holder],
            )
            .await?;
        Ok(())
    }

    async fn stream_delivered(&self, id: Uuid, holder: Uuid, from: u64, to: u64, at: Timestamp) -> StoreResult<bool> {
        let client = self.client().await?;
        let (from, to) = (from as i64, to as i64);
        let n = Db::pooled(&client)
            .execute(
                "UPDATE streams SET delivered_seq = $1, last_delivery_at = $2, failures = 0, last_error = NULL
                 WHERE id = $3 AND lease_holder = $4 AND delivered_seq = $5",
                &[&to, &at.as_millis(), &id, &holder, &from],
            )
            .await?;
        Ok(n == 1)
    }

    async fn stream_failed(&self, id: Uuid, holder: Uuid, error: &str) -> StoreResult<Option<u32>> {
        let client = self.client().await?;
        let row = Db::pooled(&client)
            .query_opt(
                "UPDATE streams SET failures = failures + 1, last_error = $1
                 WHERE id = $2 AND lease_holder = $3 RETURNING failures",
                &[&error, &id, &holder],
            )
            .await?;
        row.map(|r| get::<i32>(&r, 0).map(|n| n.max(0) as u32)).transpose()
    }
}
