//! The [`Store`] implementation: each method runs on the writer or a reader
//! connection and delegates to the module that owns the tables.

use async_trait::async_trait;
use casetrail_core::chain::ChainedEvent;
use casetrail_core::integrity::{ChainKey, Checkpoint, Columns, Tombstone};
use casetrail_core::query::BrowseQuery;
use casetrail_core::{RecordType, Timestamp};
use casetrail_store::{
    Account, AccountId, ActorSummary, ApiKey, AppendBatch, Appended, ChainHead, Hold, NewApiKey, NewUser, Page,
    PurgeBatch, PurgePreview, RecordSummary, Role, Session, Store, StoreError, StoreResult, User,
};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::records::*;
use crate::{SqliteStore, account_pk, account_pk_opt, append, browse, credentials, db, integrity, retention};

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(&self, name: &str) -> StoreResult<Account> {
        let name = name.to_string();
        self.write(move |conn| {
            let id = Uuid::now_v7();
            let now = Timestamp::now().as_millis();
            conn.execute(
                "INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![id.as_bytes().as_slice(), name, now],
            )
            .map_err(db)?;
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
            conn.query_row(&sql, [id.as_bytes().as_slice()], account_row).map_err(db)
        })
        .await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.read(move |conn| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
            conn.query_row(&sql, [id.as_bytes().as_slice()], account_row).optional().map_err(db)
        })
        .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.read(move |conn| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY pk");
            let mut st = conn.prepare(&sql).map_err(db)?;
            st.query_map([], account_row).map_err(db)?.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn update_account(&self, account: &Account) -> StoreResult<()> {
        let a = account.clone();
        self.write(move |conn| {
            let urls = serde_json::to_string(&a.record_urls).map_err(StoreError::backend)?;
            let n = conn
                .execute(
                    "UPDATE accounts SET name = ?1, timezone = ?2, record_urls = ?3, retention_days = ?4, legal_hold = ?5
                     WHERE id = ?6",
                    params![a.name, a.timezone, urls, a.retention_days, a.legal_hold, a.id.as_bytes().as_slice()],
                )
                .map_err(db)?;
            if n == 0 { Err(StoreError::UnknownAccount) } else { Ok(()) }
        })
        .await
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        self.write(move |conn| {
            let pk = account_pk(conn, user.account_id)?;
            let id = Uuid::now_v7();
            let result = conn.execute(
                "INSERT INTO users (id, acct, email, email_norm, name, role, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id.as_bytes().as_slice(),
                    pk,
                    user.email,
                    user.email.to_lowercase(),
                    user.name,
                    user.role.key(),
                    user.password_hash,
                    Timestamp::now().as_millis()
                ],
            );
            match result {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict("email already used".into())),
                other => other.map_err(db)?,
            };
            user_by(conn, "u.id = ?1 AND u.acct = ?2", id.as_bytes(), pk)?
                .ok_or_else(|| StoreError::Corrupt("user vanished after insert".into()))
        })
        .await
    }

    async fn users(&self, account: AccountId) -> StoreResult<Vec<User>> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users u JOIN accounts a ON a.pk = u.acct WHERE a.id = ?1 ORDER BY u.created_at, u.email"
            );
            let mut st = conn.prepare(&sql).map_err(db)?;
            st.query_map([account.as_bytes().as_slice()], user_row).map_err(db)?.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn user(&self, account: AccountId, id: Uuid) -> StoreResult<Option<User>> {
        self.read(move |conn| {
            let Some(pk) = account_pk_opt(conn, account)? else {
                return Ok(None);
            };
            user_by(conn, "u.id = ?1 AND u.acct = ?2", id.as_bytes(), pk)
        })
        .await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        let email = email.to_lowercase();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u JOIN accounts a ON a.pk = u.acct WHERE u.email_norm = ?1"
            );
            conn.query_row(&sql, [email], |r| Ok((user_row(r)?, r.get(6)?))).optional().map_err(db)
        })
        .await
    }

    async fn set_user_role(&self, account: AccountId, id: Uuid, role: Role) -> StoreResult<Option<User>> {
        self.write(move |conn| {
            let Some(pk) = account_pk_opt(conn, account)? else {
                return Ok(None);
            };
            conn.execute(
                "UPDATE users SET role = ?1 WHERE id = ?2 AND acct = ?3",
                params![role.key(), id.as_bytes().as_slice(), pk],
            )
            .map_err(db)?;
            user_by(conn, "u.id = ?1 AND u.acct = ?2", id.as_bytes(), pk)
        })
        .await
    }

    async fn delete_user(&self, account: AccountId, id: Uuid) -> StoreResult<bool> {
        self.write(move |conn| {
            let Some(pk) = account_pk_opt(conn, account)? else {
                return Ok(false);
            };
            let tx = conn.transaction().map_err(db)?;
            let n = tx
                .execute("DELETE FROM users WHERE id = ?1 AND acct = ?2", params![id.as_bytes().as_slice(), pk])
                .map_err(db)?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1 AND acct = ?2", params![id.as_bytes().as_slice(), pk])
                .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        self.write(move |conn| credentials::create_api_key(conn, &key)).await
    }

    async fn api_keys(&self, account: AccountId) -> StoreResult<Vec<ApiKey>> {
        self.read(move |conn| credentials::api_keys(conn, account)).await
    }

    async fn api_key_by_hash(&self, secret_hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
        self.read(move |conn| credentials::api_key_by_hash(conn, secret_hash)).await
    }

    async fn revoke_api_key(&self, account: AccountId, id: Uuid) -> StoreResult<Option<ApiKey>> {
        self.write(move |conn| credentials::revoke_api_key(conn, account, id)).await
    }

    async fn touch_api_key(&self, id: Uuid, at: Timestamp) -> StoreResult<()> {
        self.write(move |conn| credentials::touch_api_key(conn, id, at)).await
    }

    async fn create_session(&self, s: Session) -> StoreResult<()> {
        self.write(move |conn| credentials::create_session(conn, &s)).await
    }

    async fn session(&self, token_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<Session>> {
        self.read(move |conn| credentials::session(conn, token_hash, now)).await
    }

    async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()> {
        self.write(move |conn| credentials::delete_session(conn, token_hash)).await
    }

    async fn append(&self, batches: Vec<AppendBatch>) -> StoreResult<Vec<Vec<Appended>>> {
        let out = self
            .write(move |conn| {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
                let out = append::append_all(&tx, batches)?;
                tx.commit().map_err(db)?;
                Ok(out)
            })
            .await?;
        let added = out.iter().flatten().filter(|a| !a.duplicate).count();
        self.changed(added as u64).await;
        Ok(out)
    }

    async fn events(&self, account: AccountId, query: &BrowseQuery) -> StoreResult<Page> {
        let query = query.clone();
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::page(conn, pk, &query),
            None => Ok(Page::default()),
        })
        .await
    }

    async fn event(&self, account: AccountId, id: Uuid) -> StoreResult<Option<ChainedEvent>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::by_id(conn, pk, id),
            None => Ok(None),
        })
        .await
    }

    async fn chain(&self, account: AccountId, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainedEvent>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::chain(conn, pk, after_seq, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn head(&self, account: AccountId) -> StoreResult<Option<ChainHead>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::head(conn, pk),
            None => Ok(None),
        })
        .await
    }

    async fn chain_rows(
        &self,
        account: AccountId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<(ChainedEvent, Columns)>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => integrity::chain_rows(conn, pk, account, after_seq, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn add_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        let c = checkpoint.clone();
        self.write(move |conn| {
            let pk = account_pk(conn, c.account_id)?;
            integrity::add_checkpoint(conn, pk, &c)
        })
        .await
    }

    async fn checkpoints(&self, account: AccountId, limit: u32) -> StoreResult<Vec<Checkpoint>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => integrity::checkpoints(conn, pk, account, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn tombstones(&self, account: AccountId) -> StoreResult<Vec<Tombstone>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => integrity::tombstones(conn, pk, account),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn holds(&self, account: AccountId) -> StoreResult<Vec<Hold>> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => retention::holds(conn, pk, account),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn add_hold(&self, hold: &Hold) -> StoreResult<()> {
        let hold = hold.clone();
        self.write(move |conn| {
            let pk = account_pk(conn, hold.account_id)?;
            retention::add_hold(conn, pk, &hold)
        })
        .await
    }

    async fn remove_hold(&self, account: AccountId, kind: RecordType, id: &str) -> StoreResult<Option<Hold>> {
        let id = id.to_string();
        self.write(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => retention::remove_hold(conn, pk, account, kind, &id),
            None => Ok(None),
        })
        .await
    }

    async fn purge_preview(&self, account: AccountId, cutoff: Timestamp) -> StoreResult<PurgePreview> {
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => retention::preview(conn, pk, cutoff),
            None => Ok(PurgePreview::default()),
        })
        .await
    }

    async fn purge(
        &self,
        account: AccountId,
        cutoff: Timestamp,
        max_events: u32,
        key: &ChainKey,
    ) -> StoreResult<PurgeBatch> {
        let key = ChainKey::from_signing_key(key.signing_key().clone());
        let batch = self
            .write(move |conn| {
                let pk = account_pk(conn, account)?;
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
                let batch = retention::purge(&tx, pk, account, cutoff, max_events, &key)?;
                tx.commit().map_err(db)?;
                Ok(batch)
            })
            .await?;
        self.changed(batch.purged).await;
        Ok(batch)
    }

    async fn reclaim_space(&self) -> StoreResult<()> {
        // Chunk by chunk, stepping back between chunks so that waiting writes get the
        // (unfair) write lock first.
        while self.write(|conn| retention::reclaim_chunk(conn)).await? {
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        Ok(())
    }

    async fn actors(&self, account: AccountId, words: &[String], limit: u32) -> StoreResult<Vec<ActorSummary>> {
        let words = words.to_vec();
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::actors(conn, pk, &words, limit),
            None => Ok(Vec::new()),
        })
        .await
    }

    async fn records(
        &self,
        account: AccountId,
        kind: Option<RecordType>,
        words: &[String],
        limit: u32,
    ) -> StoreResult<Vec<RecordSummary>> {
        let words = words.to_vec();
        self.read(move |conn| match account_pk_opt(conn, account)? {
            Some(pk) => browse::records(conn, pk, kind, &words, limit),
            None => Ok(Vec::new()),
        })
        .await
    }
}
