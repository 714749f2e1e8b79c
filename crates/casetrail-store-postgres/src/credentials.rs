//! API keys and sign-in sessions: their rows, looked up by hash, never by secret.

use casetrail_core::Timestamp;
use casetrail_store::{AccountId, ApiKey, KeyId, NewApiKey, Session, StoreError, StoreResult, UserId};
use uuid::Uuid;

use crate::db::{Db, get, ts};
use crate::records::*;

pub(crate) async fn create_api_key(db: Db<'_>, pk: i64, key: &NewApiKey) -> StoreResult<ApiKey> {
    let id = KeyId::new_v7();
    let scopes: Vec<&str> = key.scopes.iter().map(|s| s.key()).collect();
    db.execute(
        "INSERT INTO api_keys (id, acct, name, scopes, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id.into_inner(),
            &pk,
            &key.name,
            &scopes.join(" "),
            &key.secret_hash.as_slice(),
            &Timestamp::now().as_millis(),
        ],
    )
    .await?;
    key_by_id(db, id).await?.ok_or_else(|| StoreError::Corrupt("key vanished after insert".into()))
}

pub(crate) async fn api_keys(db: Db<'_>, account: AccountId) -> StoreResult<Vec<ApiKey>> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.pk = k.acct WHERE a.id = $1 ORDER BY k.created_at, k.id"
    );
    db.query(&sql, &[&account.into_inner()]).await?.iter().map(key_row).collect()
}

pub(crate) async fn api_key_by_hash(db: Db<'_>, secret_hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.pk = k.acct WHERE k.secret_hash = $1");
    db.query_opt(&sql, &[&secret_hash.as_slice()]).await?.as_ref().map(key_row).transpose()
}

/// Sets the revocation time unless one is set; answers the key as it then is.
pub(crate) async fn revoke_api_key(db: Db<'_>, pk: i64, account: AccountId, id: KeyId) -> StoreResult<Option<ApiKey>> {
    db.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 AND acct = $3",
        &[&Timestamp::now().as_millis(), &id.into_inner(), &pk],
    )
    .await?;
    Ok(key_by_id(db, id).await?.filter(|k| k.account_id == account))
}

pub(crate) async fn touch_api_key(db: Db<'_>, id: KeyId, at: Timestamp) -> StoreResult<()> {
    db.execute("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", &[&at.as_millis(), &id.into_inner()]).await?;
    Ok(())
}

pub(crate) async fn create_session(db: Db<'_>, pk: i64, s: &Session) -> StoreResult<()> {
    db.execute(
        "INSERT INTO sessions (token_hash, acct, user_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &s.token_hash.as_slice(),
            &pk,
            &s.user_id.into_inner(),
            &s.csrf_token,
            &s.created_at.as_millis(),
            &s.expires_at.as_millis(),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn session(db: Db<'_>, token_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<Session>> {
    let row = db
        .query_opt(
            "SELECT a.id, s.user_id, s.csrf_token, s.created_at, s.expires_at FROM sessions s
             JOIN accounts a ON a.pk = s.acct WHERE s.token_hash = $1 AND s.expires_at > $2",
            &[&token_hash.as_slice(), &now.as_millis()],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Session {
        token_hash,
        account_id: AccountId::from(get::<Uuid>(&r, 0)?),
        user_id: UserId::from(get::<Uuid>(&r, 1)?),
        csrf_token: get(&r, 2)?,
        created_at: ts(get(&r, 3)?),
        expires_at: ts(get(&r, 4)?),
    }))
}

pub(crate) async fn delete_session(db: Db<'_>, token_hash: [u8; 32]) -> StoreResult<()> {
    db.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash.as_slice()]).await?;
    Ok(())
}

pub(crate) async fn delete_expired_sessions(db: Db<'_>, now: Timestamp) -> StoreResult<u64> {
    db.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now.as_millis()]).await
}
