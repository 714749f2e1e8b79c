//! What several servers agree on besides the log (`casetrail_store::ServiceStore`):
//! the public key ring, failed sign-ins and leases. A check and the change it decides
//! run in one transaction, serialized where two servers could race: the key ring and
//! each sign-in subject by transaction-scoped advisory locks (subjects locked in
//! order, so two attempts never deadlock), a lease by the upsert's own row lock.

use async_trait::async_trait;
use casetrail_core::Timestamp;
use casetrail_store::{
    KeyStanding, LeaseName, LoginAttempt, LoginLimit, PublicKeyEntry, ServiceStore, StoreError, StoreResult,
};
use uuid::Uuid;

use crate::db::{Db, get, ts};
use crate::{PostgresStore, transact};

/// Advisory lock classes of this module (the first key of the two-key form).
const KEY_RING_LOCK: i32 = 0x6b72_6e67;
const LOGIN_LOCK: i32 = 0x6c6f_676e;

/// The second advisory key of one sign-in subject: its first four bytes.
fn subject_lock(subject: &[u8; 32]) -> i32 {
    i32::from_be_bytes([subject[0], subject[1], subject[2], subject[3]])
}

#[async_trait]
impl ServiceStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        let client = self.client().await?;
        // Unprepared: one round trip, nothing in the statement cache.
        Db::pooled(&client).batch("SELECT 1").await
    }

    async fn public_keys(&self) -> StoreResult<Vec<PublicKeyEntry>> {
        let client = self.client().await?;
        let sql = "SELECT key_id, public_key, created_at, retired_at FROM signing_keys ORDER BY created_at, key_id";
        let rows = Db::pooled(&client).query(sql, &[]).await?;
        rows.iter()
            .map(|r| {
                let key_id: String = get(r, 0)?;
                let bytes: Vec<u8> = get(r, 1)?;
                let public_key = <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| StoreError::Corrupt(format!("public key {key_id} is not 32 bytes")))?;
                let retired_at: Option<i64> = get(r, 3)?;
                Ok(PublicKeyEntry { key_id, public_key, created_at: ts(get(r, 2)?), retired_at: retired_at.map(ts) })
            })
            .collect()
    }

    async fn register_signing_key(
        &self,
        key_id: &str,
        public_key: [u8; 32],
        now: Timestamp,
    ) -> StoreResult<KeyStanding> {
        transact!(self, |db| register(db, key_id, public_key, now.as_millis()).await)
    }

    async fn add_retired_key(&self, key_id: &str, public_key: [u8; 32], retired_at: Timestamp) -> StoreResult<()> {
        let client = self.client().await?;
        let sql = "INSERT INTO signing_keys (key_id, public_key, created_at, retired_at) VALUES ($1, $2, $3, $3)
                   ON CONFLICT (key_id) DO NOTHING";
        Db::pooled(&client).execute(sql, &[&key_id, &public_key.as_slice(), &retired_at.as_millis()]).await?;
        Ok(())
    }

    async fn reserve_login_attempt(
        &self,
        limits: &[LoginLimit],
        window_ms: i64,
        now: Timestamp,
    ) -> StoreResult<Result<LoginAttempt, u64>> {
        transact!(self, |db| reserve(db, limits, window_ms, now.as_millis()).await)
    }

    async fn refund_login_attempt(&self, attempt: LoginAttempt) -> StoreResult<()> {
        let client = self.client().await?;
        Db::pooled(&client).execute("DELETE FROM login_attempts WHERE attempt = $1", &[&attempt.0]).await?;
        Ok(())
    }

    async fn forget_login_attempts(&self, before: Timestamp) -> StoreResult<u64> {
        let client = self.client().await?;
        Db::pooled(&client).execute("DELETE FROM login_attempts WHERE at < $1", &[&before.as_millis()]).await
    }

    async fn take_lease(&self, name: LeaseName, holder: Uuid, now: Timestamp, ttl_ms: i64) -> StoreResult<bool> {
        let client = self.client().await?;
        let now = now.as_millis();
        let sql = "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
                   ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                   WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
                   RETURNING holder";
        let row =
            Db::pooled(&client).query_opt(sql, &[&name.key(), &holder, &now.saturating_add(ttl_ms), &now]).await?;
        Ok(match row {
            Some(row) => get::<Uuid>(&row, 0)? == holder,
            None => false,
        })
    }

    async fn release_lease(&self, name: LeaseName, holder: Uuid) -> StoreResult<()> {
        let client = self.client().await?;
        Db::pooled(&client)
            .execute("DELETE FROM leases WHERE name = $1 AND holder = $2", &[&name.key(), &holder])
            .await?;
        Ok(())
    }
}

async fn register(db: Db<'_>, key_id: &str, public_key: [u8; 32], at: i64) -> StoreResult<KeyStanding> {
    // Advisory locks are the database's, not the schema's: keyed by the schema, so
    // that services on other schemas of one database (tests, benchmarks) do not queue
    // behind each other's key registration.
    db.execute("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", &[&KEY_RING_LOCK]).await?;
    if let Some(row) = db.query_opt("SELECT retired_at FROM signing_keys WHERE key_id = $1", &[&key_id]).await? {
        let retired: Option<i64> = get(&row, 0)?;
        return Ok(if retired.is_some() { KeyStanding::Retired } else { KeyStanding::Current });
    }
    db.execute("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL", &[&at]).await?;
    db.execute(
        "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ($1, $2, $3)",
        &[&key_id, &public_key.as_slice(), &at],
    )
    .await?;
    Ok(KeyStanding::Current)
}

async fn reserve(
    db: Db<'_>,
    limits: &[LoginLimit],
    window_ms: i64,
    now: i64,
) -> StoreResult<Result<LoginAttempt, u64>> {
    let mut locks: Vec<i32> = limits.iter().map(|l| subject_lock(&l.subject)).collect();
    locks.sort_unstable();
    locks.dedup();
    for lock in locks {
        db.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOGIN_LOCK, &lock]).await?;
    }
    let mut wait: Option<u64> = None;
    for limit in limits {
        // The `max`-th newest attempt in the window, if there are that many.
        let offset = i64::from(limit.max.max(1)) - 1;
        let sql = "SELECT at FROM login_attempts WHERE subject = $1 AND at > $2 ORDER BY at DESC LIMIT 1 OFFSET $3";
        if let Some(row) = db.query_opt(sql, &[&limit.subject.as_slice(), &(now - window_ms), &offset]).await? {
            let at: i64 = get(&row, 0)?;
            let ms = (at + window_ms - now).max(1) as u64;
            wait = Some(wait.map_or(ms, |w| w.max(ms)));
        }
    }
    if let Some(ms) = wait {
        return Ok(Err(ms));
    }
    let attempt = Uuid::now_v7();
    for limit in limits {
        db.execute(
            "INSERT INTO login_attempts (subject, at, attempt) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&limit.subject.as_slice(), &now, &attempt],
        )
        .await?;
    }
    Ok(Ok(LoginAttempt(attempt)))
}
