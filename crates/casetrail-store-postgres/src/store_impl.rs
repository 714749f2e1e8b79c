//! The account and credential roles of the store: reads on a pooled connection,
//! changes that record themselves in one transaction through
//! [`changes`](crate::changes).

use async_trait::async_trait;
use casetrail_core::Timestamp;
use casetrail_store::{
    Account, AccountChange, AccountId, AccountStore, ApiKey, CredentialStore, FingerprintKey, KeyId, NewApiKey,
    NewUser, Recorded, Recorder, Role, Session, StoreResult, Transition, User, UserId,
};

use crate::db::{Db, get};
use crate::records::*;
use crate::{PostgresStore, changes, credentials, transact};

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_account(&self, name: &str) -> StoreResult<Account> {
        let client = self.client().await?;
        let sql =
            format!("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3) RETURNING {ACCOUNT_COLUMNS}");
        let id = AccountId::new_v7().into_inner();
        let row = Db::pooled(&client).query_one(&sql, &[&id, &name, &Timestamp::now().as_millis()]).await?;
        account_row(&row)
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        let client = self.client().await?;
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        Db::pooled(&client).query_opt(&sql, &[&id.into_inner()]).await?.as_ref().map(account_row).transpose()
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        let client = self.client().await?;
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY pk");
        Db::pooled(&client).query(&sql, &[]).await?.iter().map(account_row).collect()
    }

    async fn change_account(
        &self,
        id: AccountId,
        change: AccountChange,
        record: Recorder<Transition<Account>>,
    ) -> StoreResult<Recorded<Transition<Account>>> {
        transact!(self, |db| changes::change_account(db, id, change, record).await)
    }

    async fn create_user(&self, user: NewUser, record: Recorder<User>) -> StoreResult<Recorded<User>> {
        transact!(self, |db| changes::create_user(db, user, record).await)
    }

    async fn users(&self, account: AccountId) -> StoreResult<Vec<User>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN accounts a ON a.pk = u.acct WHERE a.id = $1
             ORDER BY u.created_at, u.email COLLATE \"C\""
        );
        Db::pooled(&client).query(&sql, &[&account.into_inner()]).await?.iter().map(user_row).collect()
    }

    async fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>> {
        let client = self.client().await?;
        let db = Db::pooled(&client);
        match self.account_pk(db, account).await? {
            Some(pk) => user_by_id(db, pk, id).await,
            None => Ok(None),
        }
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u JOIN accounts a ON a.pk = u.acct WHERE u.email_norm = $1"
        );
        let row = Db::pooled(&client).query_opt(&sql, &[&email.to_lowercase()]).await?;
        row.map(|r| Ok((user_row(&r)?, get(&r, 6)?))).transpose()
    }

    async fn set_user_role(
        &self,
        account: AccountId,
        id: UserId,
        role: Role,
        record: Recorder<Transition<User>>,
    ) -> StoreResult<Option<Recorded<Transition<User>>>> {
        transact!(self, |db| changes::set_user_role(db, account, id, role, record).await)
    }

    async fn delete_user(
        &self,
        account: AccountId,
        id: UserId,
        record: Recorder<User>,
    ) -> StoreResult<Option<Recorded<User>>> {
        transact!(self, |db| changes::delete_user(db, account, id, record).await)
    }

    async fn fingerprint_key(&self, account: AccountId, candidate: FingerprintKey) -> StoreResult<FingerprintKey> {
        let client = self.client().await?;
        fingerprint_key(Db::pooled(&client), account, &candidate).await
    }
}

#[async_trait]
impl CredentialStore for PostgresStore {
    async fn create_api_key(&self, key: NewApiKey, record: Recorder<ApiKey>) -> StoreResult<Recorded<ApiKey>> {
        transact!(self, |db| changes::create_api_key(db, key, record).await)
    }

    async fn api_keys(&self, account: AccountId) -> StoreResult<Vec<ApiKey>> {
        let client = self.client().await?;
        credentials::api_keys(Db::pooled(&client), account).await
    }

    async fn api_key_by_hash(&self, secret_hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
        let client = self.client().await?;
        credentials::api_key_by_hash(Db::pooled(&client), secret_hash).await
    }

    async fn revoke_api_key(
        &self,
        account: AccountId,
        id: KeyId,
        record: Recorder<ApiKey>,
    ) -> StoreResult<Option<Recorded<ApiKey>>> {
        transact!(self, |db| changes::revoke_api_key(db, account, id, record).await)
    }

    async fn touch_api_key(&self, id: KeyId, at: Timestamp) -> StoreResult<()> {
        let client = self.client().await?;
        credentials::touch_api_key(Db::pooled(&client), id, at).await
    }

    async fn create_session(&self, s: Session, record: Recorder<Session>) -> StoreResult<Recorded<Session>> {
        transact!(self, |db| changes::create_session(db, s, record).await)
    }

    async fn session(&self, token_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<Session>> {
        let client = self.client().await?;
        credentials::session(Db::pooled(&client), token_hash, now).await
    }

    async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()> {
        let client = self.client().await?;
        credentials::delete_session(Db::pooled(&client), token_hash).await
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        let client = self.client().await?;
        credentials::delete_expired_sessions(Db::pooled(&client), now).await
    }
}
