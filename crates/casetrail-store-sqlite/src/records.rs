//! Row mapping for accounts, users and API keys, shared by the [`Store`]
//! implementation in `store_impl.rs`.
//!
//! [`Store`]: casetrail_store::Store

use std::collections::BTreeMap;

use casetrail_core::Timestamp;
use casetrail_store::{Account, ApiKey, KeyId, Role, Scope, StoreResult, User};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};
use uuid::Uuid;

use crate::db;

pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH)
}

/// A stored 16-byte id, as whichever id type the column holds.
pub(crate) fn uuid<Id: From<Uuid>>(bytes: Vec<u8>) -> rusqlite::Result<Id> {
    Uuid::from_slice(&bytes)
        .map(Id::from)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e)))
}

/// A stored zone name; it parsed when it was set, so one that no longer does means
/// the row was changed behind the store's back.
fn zone(name: String) -> rusqlite::Result<casetrail_core::Zone> {
    casetrail_core::Zone::parse(&name).ok_or_else(|| {
        let err = std::io::Error::other(format!("unknown time zone {name:?}"));
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(err))
    })
}

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, name, timezone, record_urls, retention_days, legal_hold, created_at, masking, retention_categories";

pub(crate) fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    let urls: String = r.get(3)?;
    Ok(Account {
        id: uuid(r.get(0)?)?,
        name: r.get(1)?,
        timezone: zone(r.get(2)?)?,
        record_urls: serde_json::from_str::<BTreeMap<String, String>>(&urls).unwrap_or_default(),
        retention_days: r.get::<_, Option<i64>>(4)?.map(|d| d as u32),
        legal_hold: r.get(5)?,
        created_at: ts(r.get(6)?),
        masking: json_column(r, 7)?,
        retention_categories: json_column(r, 8)?,
    })
}

/// A JSON text column that casetrail wrote; one that no longer parses was changed
/// behind the store's back.
fn json_column<T: serde::de::DeserializeOwned>(r: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = r.get(index)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
}

pub(crate) const USER_COLUMNS: &str = "u.id, a.id, u.email, u.name, u.role, u.created_at";

pub(crate) fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(4)?;
    Ok(User {
        id: uuid(r.get(0)?)?,
        account_id: uuid(r.get(1)?)?,
        email: r.get(2)?,
        name: r.get(3)?,
        role: Role::from_key(&role).unwrap_or(Role::Member),
        created_at: ts(r.get(5)?),
    })
}

pub(crate) const KEY_COLUMNS: &str = "k.id, a.id, k.name, k.scopes, k.created_at, k.last_used_at, k.revoked_at";

pub(crate) fn key_row(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let scopes: String = r.get(3)?;
    Ok(ApiKey {
        id: uuid(r.get(0)?)?,
        account_id: uuid(r.get(1)?)?,
        name: r.get(2)?,
        scopes: scopes.split(' ').filter_map(Scope::from_key).collect(),
        created_at: ts(r.get(4)?),
        last_used_at: r.get::<_, Option<i64>>(5)?.map(ts),
        revoked_at: r.get::<_, Option<i64>>(6)?.map(ts),
    })
}

pub(crate) fn user_by(conn: &Connection, clause: &str, id: &[u8], pk: i64) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u JOIN accounts a ON a.pk = u.acct WHERE {clause}");
    conn.query_row(&sql, params![id, pk], user_row).optional().map_err(db)
}

pub(crate) fn key_by_id(conn: &Connection, id: KeyId) -> StoreResult<Option<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.pk = k.acct WHERE k.id = ?1");
    conn.query_row(&sql, [id.as_bytes().as_slice()], key_row).optional().map_err(db)
}

pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation)
}
