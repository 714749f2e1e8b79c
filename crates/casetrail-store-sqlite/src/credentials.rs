//! API keys and sign-in sessions: their rows, looked up by hash, never by secret.

use casetrail_core::Timestamp;
use casetrail_store::{AccountId, ApiKey, KeyId, NewApiKey, Session, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

use crate::records::*;
use crate::{account_pk, account_pk_opt, db};

pub(crate) fn create_api_key(conn: &Connection, key: &NewApiKey) -> StoreResult<ApiKey> {
    let pk = account_pk(conn, key.account_id)?;
    let id = KeyId::new_v7();
    let scopes: Vec<&str> = key.scopes.iter().map(|s| s.key()).collect();
    conn.execute(
        "INSERT INTO api_keys (id, acct, name, scopes, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id.as_bytes().as_slice(),
            pk,
            key.name,
            scopes.join(" "),
            key.secret_hash.as_slice(),
            Timestamp::now().as_millis()
        ],
    )
    .map_err(db)?;
    key_by_id(conn, id)?.ok_or_else(|| StoreError::Corrupt("key vanished after insert".into()))
}

pub(crate) fn api_keys(conn: &Connection, account: AccountId) -> StoreResult<Vec<ApiKey>> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.pk = k.acct WHERE a.id = ?1 ORDER BY k.created_at, k.id"
    );
    let mut st = conn.prepare(&sql).map_err(db)?;
    st.query_map([account.as_bytes().as_slice()], key_row).map_err(db)?.collect::<Result<_, _>>().map_err(db)
}

/// The key lookup of every API request. The account's id comes from a subquery, not a
/// join: with one table in its `FROM`, a lookup by a unique index takes SQLite's
/// shortcut planner. The join went through the full planner, which notes `?1` as a
/// value the plan might depend on (the small-integer guess of SQLite 3.54's
/// `whereLoopOutputAdjust`); rusqlite clears the bindings of every statement it caches,
/// and `sqlite3_clear_bindings` expires a statement so noted, so the lookup was
/// prepared anew on every request: 9 % of the CPU of single-event ingest (perf).
const KEY_BY_HASH: &str = "SELECT k.id, (SELECT a.id FROM accounts a WHERE a.pk = k.acct), k.name, k.scopes, \
     k.created_at, k.last_used_at, k.revoked_at FROM api_keys k WHERE k.secret_hash = ?1";

pub(crate) fn api_key_by_hash(conn: &Connection, secret_hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
    conn.prepare_cached(KEY_BY_HASH)
        .and_then(|mut st| st.query_row([secret_hash.as_slice()], key_row).optional())
        .map_err(db)
}

pub(crate) fn revoke_api_key(conn: &Connection, account: AccountId, id: KeyId) -> StoreResult<Option<ApiKey>> {
    let Some(pk) = account_pk_opt(conn, account)? else { return Ok(None) };
    conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?1) WHERE id = ?2 AND acct = ?3",
        params![Timestamp::now().as_millis(), id.as_bytes().as_slice(), pk],
    )
    .map_err(db)?;
    Ok(key_by_id(conn, id)?.filter(|k| k.account_id == account))
}

pub(crate) fn touch_api_key(conn: &Connection, id: KeyId, at: Timestamp) -> StoreResult<()> {
    conn.execute(
        "UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2",
        params![at.as_millis(), id.as_bytes().as_slice()],
    )
    .map_err(db)?;
    Ok(())
}

pub(crate) fn create_session(conn: &Connection, s: &Session) -> StoreResult<()> {
    let pk = account_pk(conn, s.account_id)?;
    conn.execute(
        "INSERT INTO sessions (token_hash, acct, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            s.token_hash.as_slice(),
            pk,
            s.user_id.as_bytes().as_slice(),
            s.csrf_token,
            s.created_at.as_millis(),
            s.expires_at.as_millis()
        ],
    )
    .map_err(db)?;
    Ok(())
}

pub(crate) fn session(conn: &Connection, token_hash: [u8; 32], now: Timestamp) -> StoreResult<Option<Session>> {
    conn.prepare_cached(
        "SELECT a.id, s.user_id, s.csrf_token, s.created_at, s.expires_at FROM sessions s
         JOIN accounts a ON a.pk = s.acct WHERE s.token_hash = ?1 AND s.expires_at > ?2",
    )
    .and_then(|mut st| {
        st.query_row(params![token_hash.as_slice(), now.as_millis()], |r| {
            Ok(Session {
                token_hash,
                account_id: uuid(r.get(0)?)?,
                user_id: uuid(r.get(1)?)?,
                csrf_token: r.get(2)?,
                created_at: ts(r.get(3)?),
                expires_at: ts(r.get(4)?),
            })
        })
        .optional()
    })
    .map_err(db)
}

pub(crate) fn delete_session(conn: &Connection, token_hash: [u8; 32]) -> StoreResult<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash.as_slice()]).map_err(db)?;
    Ok(())
}

pub(crate) fn delete_expired_sessions(conn: &Connection, now: Timestamp) -> StoreResult<u64> {
    let n = conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now.as_millis()]).map_err(db)?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use casetrail_store::{AccountId, NewApiKey, Scope};
    use rusqlite::StatementStatus;

    use super::*;

    /// A file with the store's schema, one account and one key; the key's hash.
    fn keyed_file(dir: &std::path::Path) -> (Connection, AccountId, [u8; 32]) {
        let mut conn = Connection::open(dir.join("keys.db")).unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let account = AccountId::new_v7();
        conn.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES (?1, 'Firm', 0)",
            [account.as_bytes().as_slice()],
        )
        .unwrap();
        let secret_hash = [7u8; 32];
        let key =
            NewApiKey { account_id: account, name: "ingest".into(), scopes: vec![Scope::EventsWrite], secret_hash };
        create_api_key(&conn, &key).unwrap();
        (conn, account, secret_hash)
    }

    #[test]
    fn the_key_lookup_is_prepared_once_whatever_the_hashes_asked() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, account, secret_hash) = keyed_file(dir.path());
        for round in 0..5u8 {
            let found = api_key_by_hash(&conn, secret_hash).unwrap().expect("the key is found by its hash");
            assert_eq!(found.account_id, account);
            assert_eq!(found.name, "ingest");
            assert!(api_key_by_hash(&conn, [round; 32]).unwrap().is_none(), "no key has hash {round}");
        }
        let st = conn.prepare_cached(KEY_BY_HASH).unwrap();
        assert_eq!(st.get_status(StatementStatus::RePrepare), 0, "re-prepared while cached");
    }
}
