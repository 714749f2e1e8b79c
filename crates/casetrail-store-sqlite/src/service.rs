//! What several processes on one file agree on (`casetrail_store::ServiceStore`):
//! the public key ring, failed sign-ins and leases. Each change runs in an
//! `IMMEDIATE` transaction on the writer, which takes the file's write lock before it
//! reads, so a check and the change it decides are never split by another process.

use async_trait::async_trait;
use casetrail_core::Timestamp;
use casetrail_store::{
    KeyStanding, LeaseName, LoginAttempt, LoginLimit, PublicKeyEntry, ServiceStore, StoreError, StoreResult,
};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::records::ts;
use crate::{SqliteStore, db};

#[async_trait]
impl ServiceStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        // A file has no server to lose; this still proves a reader opens and reads.
        self.read(|conn| conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map(drop).map_err(db)).await
    }

    async fn public_keys(&self) -> StoreResult<Vec<PublicKeyEntry>> {
        self.read(|conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT key_id, public_key, created_at, retired_at FROM signing_keys ORDER BY created_at, key_id",
                )
                .map_err(db)?;
            let rows = st
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get(2)?, r.get::<_, Option<i64>>(3)?))
                })
                .map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                let (key_id, public_key, created_at, retired_at) = row.map_err(db)?;
                let public_key = <[u8; 32]>::try_from(public_key.as_slice())
                    .map_err(|_| StoreError::Corrupt(format!("public key {key_id} is not 32 bytes")))?;
                out.push(PublicKeyEntry {
                    key_id,
                    public_key,
                    created_at: ts(created_at),
                    retired_at: retired_at.map(ts),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn register_signing_key(
        &self,
        key_id: &str,
        public_key: [u8; 32],
        now: Timestamp,
    ) -> StoreResult<KeyStanding> {
        let key_id = key_id.to_string();
        self.transact(move |tx| {
            let known: Option<Option<i64>> = tx
                .query_row("SELECT retired_at FROM signing_keys WHERE key_id = ?1", [&key_id], |r| r.get(0))
                .optional()
                .map_err(db)?;
            match known {
                Some(Some(_)) => return Ok(KeyStanding::Retired),
                Some(None) => return Ok(KeyStanding::Current),
                None => {}
            }
            let at = now.as_millis();
            tx.execute("UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL", [at]).map_err(db)?;
            tx.execute(
                "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES (?1, ?2, ?3)",
                params![key_id, public_key.as_slice(), at],
            )
            .map_err(db)?;
            Ok(KeyStanding::Current)
        })
        .await
    }

    async fn add_retired_key(&self, key_id: &str, public_key: [u8; 32], retired_at: Timestamp) -> StoreResult<()> {
        let key_id = key_id.to_string();
        self.transact(move |tx| {
            let at = retired_at.as_millis();
            tx.execute(
                "INSERT INTO signing_keys (key_id, public_key, created_at, retired_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (key_id) DO NOTHING",
                params![key_id, public_key.as_slice(), at],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn reserve_login_attempt(
        &self,
        limits: &[LoginLimit],
        window_ms: i64,
        now: Timestamp,
    ) -> StoreResult<Result<LoginAttempt, u64>> {
        let limits = limits.to_vec();
        self.transact(move |tx| {
            let now = now.as_millis();
            let mut wait: Option<u64> = None;
            for limit in &limits {
                // The `max`-th newest attempt in the window, if there are that many.
                let at_limit: Option<i64> = tx
                    .prepare_cached(
                        "SELECT at FROM login_attempts WHERE subject = ?1 AND at > ?2 ORDER BY at DESC LIMIT 1 OFFSET ?3",
                    )
                    .and_then(|mut st| {
                        let offset = i64::from(limit.max.max(1)) - 1;
                        st.query_row(params![limit.subject.as_slice(), now - window_ms, offset], |r| r.get(0))
                            .optional()
                    })
                    .map_err(db)?;
                if let Some(at) = at_limit {
                    let ms = (at + window_ms - now).max(1) as u64;
                    wait = Some(wait.map_or(ms, |w| w.max(ms)));
                }
            }
            if let Some(ms) = wait {
                return Ok(Err(ms));
            }
            let attempt = Uuid::now_v7();
            let mut st = tx
                .prepare_cached("INSERT OR IGNORE INTO login_attempts (subject, at, attempt) VALUES (?1, ?2, ?3)")
                .map_err(db)?;
            for limit in &limits {
                st.execute(params![limit.subject.as_slice(), now, attempt.as_bytes().as_slice()]).map_err(db)?;
            }
            Ok(Ok(LoginAttempt(attempt)))
        })
        .await
    }

    async fn refund_login_attempt(&self, attempt: LoginAttempt) -> StoreResult<()> {
        self.write(move |conn| {
            conn.execute("DELETE FROM login_attempts WHERE attempt = ?1", [attempt.0.as_bytes().as_slice()])
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn forget_login_attempts(&self, before: Timestamp) -> StoreResult<u64> {
        self.write(move |conn| {
            let n = conn.execute("DELETE FROM login_attempts WHERE at < ?1", [before.as_millis()]).map_err(db)?;
            Ok(n as u64)
        })
        .await
    }

    async fn take_lease(&self, name: LeaseName, holder: Uuid, now: Timestamp, ttl_ms: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            let now = now.as_millis();
            let held: Option<Vec<u8>> = conn
                .query_row(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4
                     RETURNING holder",
                    params![name.key(), holder.as_bytes().as_slice(), now.saturating_add(ttl_ms), now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            Ok(held.is_some_and(|h| h == holder.as_bytes()))
        })
        .await
    }

    async fn release_lease(&self, name: LeaseName, holder: Uuid) -> StoreResult<()> {
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name.key(), holder.as_bytes().as_slice()],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }
}
