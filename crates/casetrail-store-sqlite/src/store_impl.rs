//! The account and credential roles of the store: each method runs on the writer or
//! a reader connection and delegates to the module that owns the tables; changes
//! that record themselves run in one transaction through [`changes`](crate::changes).

use async_trait::async_trait;
use casetrail_core::Timestamp;
use casetrail_store::{
    Account, AccountChange, AccountId, AccountStore, ApiKey, CredentialStore, FingerprintKey, KeyId, NewApiKey,
    NewUser, Recorded, Recorder, Role, Session, StoreResult, Transition, User, UserId,
};
use rusqlite::{OptionalExtension, params};

use crate::records::*;
use crate::{SqliteStore, account_pk_opt, changes, credentials, db};

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(&self, name: &str) -> StoreResult<Account> {
        let name = name.to_string();
        self.write(move |conn| {
            let id = AccountId::new_v7();
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
            // Read on every API request (ingest applies its retention and masking), so
            // kept prepared: parsing it anew was 3 % of single-event ingest's CPU.
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
            conn.prepare_cached(&sql)
                .and_then(|mut st| st.query_row([id.as_bytes().as_slice()], account_row).optional())
                .map_err(db)
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

    async fn change_account(
        &self,
        id: AccountId,
        change: AccountChange,
        record: Recorder<Transition<Account>>,
    ) -> StoreResult<Recorded<Transition<Account>>> {
        self.transact(move |tx| changes::change_account(tx, id, change, record)).await
    }

    async fn create_user(&self, user: NewUser, record: Recorder<User>) -> StoreResult<Recorded<User>> {
        self.transact(move |tx| changes::create_user(tx, user, record)).await
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

    async fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>> {
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

    async fn set_user_role(
        &self,
        account: AccountId,
        id: UserId,
        role: Role,
        record: Recorder<Transition<User>>,
    ) -> StoreResult<Option<Recorded<Transition<User>>>> {
        self.transact(move |tx| changes::set_user_role(tx, account, id, role, record)).await
    }

    async fn delete_user(
        &self,
        account: AccountId,
        id: UserId,
        record: Recorder<User>,
    ) -> StoreResult<Option<Recorded<User>>> {
        self.transact(move |tx| changes::delete_user(tx, account, id, record)).await
    }

    async fn fingerprint_key(&self, account: AccountId, candidate: FingerprintKey) -> StoreResult<FingerprintKey> {
        self.transact(move |tx| changes::fingerprint_key(tx, account, &candidate)).await
    }
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn create_api_key(&self, key: NewApiKey, record: Recorder<ApiKey>) -> StoreResult<Recorded<ApiKey>> {
        self.transact(move |tx| changes::create_api_key(tx, key, record)).await
    }

    async fn api_keys(&self, account: AccountId) -> StoreResult<Vec<ApiKey>> {
        self.read(move |conn| credentials::api_keys(conn, account)).await
    }

    async fn api_key_by_hash(&self, secret_hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
        self.read(move |conn| credentials::api_key_by_hash(conn, secret_hash)).await
    }

    async fn revoke_api_key(
        &self,
        account: AccountId,
        id: KeyId,
        record: Recorder<ApiKey>,
    ) -> StoreResult<Option<Recorded<ApiKey>>> {
        self.transact(move |tx| changes::revoke_api_key(tx, account, id, record)).await
    }

    async fn touch_api_key(&self, id: KeyId, at: Timestamp) -> StoreResult<()> {
        self.write(move |conn| credentials::touch_api_key(conn, id, at)).await
    }

    async fn create_session(&self, s: Session, record: Recorder<Session>) -> StoreResult<Recorded<Session>> {
        self.transact(move |tx| changes::create_session(tx, s, record)).await
    }

    async fn session(&self, token_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<Session>> {
        self.read(move |conn| credentials::session(conn, token_hash, now)).await
    }

    async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()> {
        self.write(move |conn| credentials::delete_session(conn, token_hash)).await
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(move |conn| credentials::delete_expired_sessions(conn, now)).await
    }
}
