//! Changes that record themselves (`casetrail_store::change`): each function runs
//! inside the caller's `IMMEDIATE` transaction, reads the rows it changes, applies a
//! targeted update, and appends the recorder's event to the chain in the same
//! transaction.

use casetrail_core::{NewEvent, Timestamp};
use casetrail_store::{
    Account, AccountChange, AccountId, ApiKey, AppendBatch, Appended, ConflictCode, FingerprintKey, Hold, KeyId,
    NewApiKey, NewUser, Recorded, Recorder, Role, Session, StoreError, StoreResult, Transition, User, UserId,
};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::records::*;
use crate::{account_pk, account_pk_opt, append, credentials, db, retention};

/// Appends a change's event (if any) inside the change's transaction.
pub(crate) fn append_record(
    tx: &Transaction<'_>,
    account: AccountId,
    event: Option<NewEvent>,
) -> StoreResult<Option<Appended>> {
    let Some(event) = event else { return Ok(None) };
    let mut answers = append::append_all(tx, vec![AppendBatch { account_id: account, events: vec![event] }])?;
    Ok(answers.pop().and_then(|mut batch| batch.pop()))
}

/// Runs the recorder on `value` and appends what it answers.
fn recorded<T>(tx: &Transaction<'_>, account: AccountId, value: T, record: Recorder<T>) -> StoreResult<Recorded<T>> {
    let event = append_record(tx, account, record(&value))?;
    Ok(Recorded { value, event })
}

pub(crate) fn account_by_id(tx: &Transaction<'_>, id: AccountId) -> StoreResult<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
    tx.query_row(&sql, [id.as_bytes().as_slice()], account_row).optional().map_err(db)
}

pub(crate) fn change_account(
    tx: &Transaction<'_>,
    id: AccountId,
    change: AccountChange,
    record: Recorder<Transition<Account>>,
) -> StoreResult<Recorded<Transition<Account>>> {
    let before = account_by_id(tx, id)?.ok_or(StoreError::UnknownAccount)?;
    let after = change.apply(&before);
    let key = id.as_bytes().as_slice();
    // Only the columns this change owns are written: another setting changed by a
    // concurrent request is never written back with an old value.
    match &change {
        AccountChange::Profile(_) => {
            let urls = serde_json::to_string(&after.record_urls).map_err(StoreError::backend)?;
            tx.execute(
                "UPDATE accounts SET name = ?1, timezone = ?2, record_urls = ?3 WHERE id = ?4",
                params![after.name, after.timezone.name(), urls, key],
            )
        }
        AccountChange::Retention { .. } => {
            // Both columns are this change's; inside IMMEDIATE, a member the request
            // left out is written back as this transaction read it.
            let text = serde_json::to_string(&after.retention_categories).map_err(StoreError::backend)?;
            tx.execute(
                "UPDATE accounts SET retention_days = ?1, retention_categories = ?2 WHERE id = ?3",
                params![after.retention_days, text, key],
            )
        }
        AccountChange::LegalHold(on) => {
            tx.execute("UPDATE accounts SET legal_hold = ?1 WHERE id = ?2", params![on, key])
        }
        AccountChange::Masking(patterns) => {
            let text = serde_json::to_string(patterns).map_err(StoreError::backend)?;
            tx.execute("UPDATE accounts SET masking = ?1 WHERE id = ?2", params![text, key])
        }
    }
    .map_err(db)?;
    recorded(tx, id, Transition { before, after }, record)
}

/// The stored key, or `candidate` stored now; inside `IMMEDIATE`, so two processes
/// asking at once agree on one.
pub(crate) fn fingerprint_key(
    tx: &Transaction<'_>,
    account: AccountId,
    candidate: &FingerprintKey,
) -> StoreResult<FingerprintKey> {
    let key = account.as_bytes().as_slice();
    tx.execute(
        "UPDATE accounts SET masking_key = ?1 WHERE id = ?2 AND masking_key IS NULL",
        params![candidate.as_bytes().as_slice(), key],
    )
    .map_err(db)?;
    let stored: Option<Option<Vec<u8>>> =
        tx.query_row("SELECT masking_key FROM accounts WHERE id = ?1", [key], |r| r.get(0)).optional().map_err(db)?;
    let bytes = stored.ok_or(StoreError::UnknownAccount)?.unwrap_or_default();
    let bytes: [u8; 32] =
        bytes.try_into().map_err(|_| StoreError::Corrupt("a fingerprint key is not 32 bytes".into()))?;
    Ok(FingerprintKey::from_bytes(bytes))
}

pub(crate) fn create_user(tx: &Transaction<'_>, user: NewUser, record: Recorder<User>) -> StoreResult<Recorded<User>> {
    let pk = account_pk(tx, user.account_id)?;
    let id = UserId::new_v7();
    let result = tx.execute(
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
        Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict(ConflictCode::EmailTaken)),
        other => other.map_err(db)?,
    };
    let created = user_by(tx, "u.id = ?1 AND u.acct = ?2", id.as_bytes(), pk)?
        .ok_or_else(|| StoreError::Corrupt("user vanished after insert".into()))?;
    recorded(tx, user.account_id, created, record)
}

/// Refuses a change that would leave the account without an admin: nobody could
/// then read its log. Counted inside the change's transaction, so two concurrent
/// demotions of the last two admins cannot both pass.
fn ensure_another_admin(tx: &Transaction<'_>, pk: i64, user: &User) -> StoreResult<()> {
    if user.role != Role::Admin {
        return Ok(());
    }
    let admins: i64 = tx
        .query_row("SELECT count(*) FROM users WHERE acct = ?1 AND role = 'admin'", [pk], |r| r.get(0))
        .map_err(db)?;
    if admins <= 1 { Err(StoreError::Conflict(ConflictCode::LastAdmin)) } else { Ok(()) }
}

pub(crate) fn set_user_role(
    tx: &Transaction<'_>,
    account: AccountId,
    id: UserId,
    role: Role,
    record: Recorder<Transition<User>>,
) -> StoreResult<Option<Recorded<Transition<User>>>> {
    let Some(pk) = account_pk_opt(tx, account)? else { return Ok(None) };
    let Some(before) = user_by(tx, "u.id = ?1 AND u.acct = ?2", id.as_bytes(), pk)? else { return Ok(None) };
    if role != Role::Admin {
        ensure_another_admin(tx, pk, &before)?;
    }
    tx.execute(
        "UPDATE users SET role = ?1 WHERE id = ?2 AND acct = ?3",
        params![role.key(), id.as_bytes().as_slice(), pk],
    )
    .map_err(db)?;
    let after = User { role, ..before.clone() };
    recorded(tx, account, Transition { before, after }, record).map(Some)
}

pub(crate) fn delete_user(
    tx: &Transaction<'_>,
    account: AccountId,
    id: UserId,
    record: Recorder<User>,
) -> StoreResult<Option<Recorded<User>>> {
    let Some(pk) = account_pk_opt(tx, account)? else { return Ok(None) };
    let Some(user) = user_by(tx, "u.id = ?1 AND u.acct = ?2", id.as_bytes(), pk)? else { return Ok(None) };
    ensure_another_admin(tx, pk, &user)?;
    let key = id.as_bytes().as_slice();
    tx.execute("DELETE FROM users WHERE id = ?1 AND acct = ?2", params![key, pk]).map_err(db)?;
    tx.execute("DELETE FROM sessions WHERE user_id = ?1 AND acct = ?2", params![key, pk]).map_err(db)?;
    recorded(tx, account, user, record).map(Some)
}

pub(crate) fn create_api_key(
    tx: &Transaction<'_>,
    key: NewApiKey,
    record: Recorder<ApiKey>,
) -> StoreResult<Recorded<ApiKey>> {
    let created = credentials::create_api_key(tx, &key)?;
    recorded(tx, key.account_id, created, record)
}

pub(crate) fn revoke_api_key(
    tx: &Transaction<'_>,
    account: AccountId,
    id: KeyId,
    record: Recorder<ApiKey>,
) -> StoreResult<Option<Recorded<ApiKey>>> {
    let Some(before) = key_by_id(tx, id)?.filter(|k| k.account_id == account) else { return Ok(None) };
    if before.revoked_at.is_some() {
        // Revoked already: the first revocation time stands and was recorded then.
        return Ok(Some(Recorded { value: before, event: None }));
    }
    let Some(revoked) = credentials::revoke_api_key(tx, account, id)? else { return Ok(None) };
    recorded(tx, account, revoked, record).map(Some)
}

pub(crate) fn create_session(
    tx: &Transaction<'_>,
    session: Session,
    record: Recorder<Session>,
) -> StoreResult<Recorded<Session>> {
    credentials::create_session(tx, &session)?;
    let account = session.account_id;
    recorded(tx, account, session, record)
}

pub(crate) fn add_hold(tx: &Transaction<'_>, hold: &Hold, record: Recorder<Hold>) -> StoreResult<Recorded<Hold>> {
    let pk = account_pk(tx, hold.account_id)?;
    retention::add_hold(tx, pk, hold)?;
    recorded(tx, hold.account_id, hold.clone(), record)
}

pub(crate) fn remove_hold(
    tx: &Transaction<'_>,
    account: AccountId,
    kind: casetrail_core::RecordType,
    id: &str,
    record: Recorder<Hold>,
) -> StoreResult<Option<Recorded<Hold>>> {
    let Some(pk) = account_pk_opt(tx, account)? else { return Ok(None) };
    let Some(hold) = retention::remove_hold(tx, pk, account, kind, id)? else { return Ok(None) };
    recorded(tx, account, hold, record).map(Some)
}
