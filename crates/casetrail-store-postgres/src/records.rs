//! Row mapping for accounts, users and API keys, and the lookups the changes share.

use std::collections::BTreeMap;

use casetrail_store::{Account, AccountId, ApiKey, KeyId, Role, Scope, StoreError, StoreResult, User, UserId};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::db::{Db, get, ts};

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, name, timezone, record_urls, retention_days, legal_hold, created_at, masking, retention_categories";

pub(crate) fn account_row(r: &Row) -> StoreResult<Account> {
    let urls: String = get(r, 3)?;
    let zone: String = get(r, 2)?;
    // The zone parsed when it was set, so one that no longer does means the row was
    // changed behind the store's back.
    let timezone =
        casetrail_core::Zone::parse(&zone).ok_or_else(|| StoreError::Corrupt(format!("unknown time zone {zone:?}")))?;
    Ok(Account {
        id: AccountId::from(get::<Uuid>(r, 0)?),
        name: get(r, 1)?,
        timezone,
        record_urls: serde_json::from_str::<BTreeMap<String, String>>(&urls).unwrap_or_default(),
        retention_days: get::<Option<i32>>(r, 4)?.map(|d| d as u32),
        legal_hold: get(r, 5)?,
        created_at: ts(get(r, 6)?),
        masking: json_column(r, 7)?,
        retention_categories: json_column(r, 8)?,
    })
}

/// A JSON text column that casetrail wrote; one that no longer parses was changed
/// behind the store's back.
fn json_column<T: serde::de::DeserializeOwned>(r: &Row, index: usize) -> StoreResult<T> {
    let text: String = get(r, index)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("account column {index}: {e}")))
}

/// The stored key, or `candidate` stored now. One statement: the row lock makes a
/// second caller wait and then see the first one's key.
pub(crate) async fn fingerprint_key(
    db: Db<'_>,
    account: AccountId,
    candidate: &casetrail_store::FingerprintKey,
) -> StoreResult<casetrail_store::FingerprintKey> {
    let sql = "UPDATE accounts SET masking_key = coalesce(masking_key, $1) WHERE id = $2 RETURNING masking_key";
    let row = db.query_opt(sql, &[&candidate.as_bytes().as_slice(), &account.into_inner()]).await?;
    let bytes: Vec<u8> = get(&row.ok_or(StoreError::UnknownAccount)?, 0)?;
    let bytes: [u8; 32] =
        bytes.try_into().map_err(|_| StoreError::Corrupt("a fingerprint key is not 32 bytes".into()))?;
    Ok(casetrail_store::FingerprintKey::from_bytes(bytes))
}

pub(crate) const USER_COLUMNS: &str = "u.id, a.id, u.email, u.name, u.role, u.created_at";

pub(crate) fn user_row(r: &Row) -> StoreResult<User> {
    let role: String = get(r, 4)?;
    Ok(User {
        id: UserId::from(get::<Uuid>(r, 0)?),
        account_id: AccountId::from(get::<Uuid>(r, 1)?),
        email: get(r, 2)?,
        name: get(r, 3)?,
        role: Role::from_key(&role).unwrap_or(Role::Member),
        created_at: ts(get(r, 5)?),
    })
}

pub(crate) const KEY_COLUMNS: &str = "k.id, a.id, k.name, k.scopes, k.created_at, k.last_used_at, k.revoked_at";

pub(crate) fn key_row(r: &Row) -> StoreResult<ApiKey> {
    let scopes: String = get(r, 3)?;
    Ok(ApiKey {
        id: KeyId::from(get::<Uuid>(r, 0)?),
        account_id: AccountId::from(get::<Uuid>(r, 1)?),
        name: get(r, 2)?,
        scopes: scopes.split(' ').filter_map(Scope::from_key).collect(),
        created_at: ts(get(r, 4)?),
        last_used_at: get::<Option<i64>>(r, 5)?.map(ts),
        revoked_at: get::<Option<i64>>(r, 6)?.map(ts),
    })
}

/// The user `id` of the account `pk`.
pub(crate) async fn user_by_id(db: Db<'_>, pk: i64, id: UserId) -> StoreResult<Option<User>> {
    let sql =
        format!("SELECT {USER_COLUMNS} FROM users u JOIN accounts a ON a.pk = u.acct WHERE u.id = $1 AND u.acct = $2");
    db.query_opt(&sql, &[&id.into_inner(), &pk]).await?.as_ref().map(user_row).transpose()
}

pub(crate) async fn key_by_id(db: Db<'_>, id: KeyId) -> StoreResult<Option<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.pk = k.acct WHERE k.id = $1");
    db.query_opt(&sql, &[&id.into_inner()]).await?.as_ref().map(key_row).transpose()
}

/// Locks the account's row for the rest of the transaction and answers its key;
/// `None` when there is no such account. Every change that records itself starts
/// here, so changes of one account (and their rules) run one at a time, and the
/// locks of a transaction are always taken account first.
pub(crate) async fn lock_account(db: Db<'_>, id: AccountId) -> StoreResult<Option<i64>> {
    let row = db.query_opt("SELECT pk FROM accounts WHERE id = $1 FOR NO KEY UPDATE", &[&id.into_inner()]).await?;
    row.map(|r| get(&r, 0)).transpose()
}

/// Like [`lock_account`], but an unknown account is an error.
pub(crate) async fn lock_known_account(db: Db<'_>, id: AccountId) -> StoreResult<i64> {
    lock_account(db, id).await?.ok_or(StoreError::UnknownAccount)
}
