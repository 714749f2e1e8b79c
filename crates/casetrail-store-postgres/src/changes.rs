//! Changes that record themselves (`casetrail_store::change`): each function runs
//! inside the caller's transaction, locks the account's row first (see
//! [`lock_account`]), reads the rows it changes, applies a targeted update, and
//! appends the recorder's event with the same append code, which takes the same lock.

use std::panic::{AssertUnwindSafe, catch_unwind};

use casetrail_core::{NewEvent, RecordType, Timestamp};
use casetrail_store::{
    Account, AccountChange, AccountId, ApiKey, AppendBatch, Appended, ConflictCode, Hold, KeyId, NewApiKey, NewUser,
    Recorded, Recorder, Role, Session, StoreError, StoreResult, Transition, User, UserId,
};

use crate::db::{Db, get, pg, violates};
use crate::records::*;
use crate::{append, credentials, failure, retention};

/// Runs a recorder. It only assembles a value, but one that panics must fail the
/// change (and roll it back), not the caller's task.
pub(crate) fn build<T>(record: Recorder<T>, value: &T) -> StoreResult<Option<NewEvent>> {
    catch_unwind(AssertUnwindSafe(|| record(value))).map_err(|_| failure("the change's recorder panicked"))
}

/// Appends an event (if any) inside the change's transaction.
pub(crate) async fn append_record(
    db: Db<'_>,
    account: AccountId,
    event: Option<NewEvent>,
) -> StoreResult<Option<Appended>> {
    let Some(event) = event else { return Ok(None) };
    let mut answers = append::append_all(db, vec![AppendBatch { account_id: account, events: vec![event] }]).await?;
    Ok(answers.pop().and_then(|mut batch| batch.pop()))
}

/// Runs the recorder on `value` and appends what it answers.
async fn recorded<T: Send>(db: Db<'_>, account: AccountId, value: T, record: Recorder<T>) -> StoreResult<Recorded<T>> {
    let event = build(record, &value)?;
    let event = append_record(db, account, event).await?;
    Ok(Recorded { value, event })
}

pub(crate) async fn change_account(
    db: Db<'_>,
    id: AccountId,
    change: AccountChange,
    record: Recorder<Transition<Account>>,
) -> StoreResult<Recorded<Transition<Account>>> {
    let pk = lock_known_account(db, id).await?;
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE pk = $1");
    let before = account_row(&db.query_one(&sql, &[&pk]).await?)?;
    let after = change.apply(&before);
    // Only the columns this change owns are written: another setting changed by a
    // concurrent request is never written back with an old value.
    match &change {
        AccountChange::Profile(_) => {
            let urls = serde_json::to_string(&after.record_urls).map_err(StoreError::backend)?;
            db.execute(
                "UPDATE accounts SET name = $1, timezone = $2, record_urls = $3 WHERE pk = $4",
                &[&after.name, &after.timezone.name(), &urls, &pk],
            )
            .await?
        }
        AccountChange::Retention { .. } => {
            // Both columns are this change's; the row is locked, so a member the
            // request left out is written back as this transaction read it.
            let days = after.retention_days.map(|d| d as i32);
            let text = serde_json::to_string(&after.retention_categories).map_err(StoreError::backend)?;
            db.execute(
                "UPDATE accounts SET retention_days = $1, retention_categories = $2 WHERE pk = $3",
                &[&days, &text, &pk],
            )
            .await?
        }
        AccountChange::LegalHold(on) => {
            db.execute("UPDATE accounts SET legal_hold = $1 WHERE pk = $2", &[on, &pk]).await?
        }
        AccountChange::Masking(patterns) => {
            let text = serde_json::to_string(patterns).map_err(StoreError::backend)?;
            db.execute("UPDATE accounts SET masking = $1 WHERE pk = $2", &[&text, &pk]).await?
        }
    };
    recorded(db, id, Transition { before, after }, record).await
}

pub(crate) async fn create_user(db: Db<'_>, user: NewUser, record: Recorder<User>) -> StoreResult<Recorded<User>> {
    let pk = lock_known_account(db, user.account_id).await?;
    let id = UserId::new_v7();
    let inserted = db
        .try_execute(
            "INSERT INTO users (id, acct, email, email_norm, name, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &id.into_inner(),
                &pk,
                &user.email,
                &user.email.to_lowercase(),
                &user.name,
                &user.role.key(),
                &user.password_hash,
                &Timestamp::now().as_millis(),
            ],
        )
        .await;
    match inserted {
        Err(e) if violates(&e, "users_email") => return Err(StoreError::Conflict(ConflictCode::EmailTaken)),
        other => other.map_err(pg)?,
    };
    let created =
        user_by_id(db, pk, id).await?.ok_or_else(|| StoreError::Corrupt("user vanished after insert".into()))?;
    recorded(db, user.account_id, created, record).await
}

/// Refuses a change that would leave the account without an admin: nobody could
/// then read its log. Counted under the account's row lock, so two concurrent
/// demotions of the last two admins cannot both pass.
async fn ensure_another_admin(db: Db<'_>, pk: i64, user: &User) -> StoreResult<()> {
    if user.role != Role::Admin {
        return Ok(());
    }
    let row = db.query_one("SELECT count(*) FROM users WHERE acct = $1 AND role = 'admin'", &[&pk]).await?;
    if get::<i64>(&row, 0)? <= 1 { Err(StoreError::Conflict(ConflictCode::LastAdmin)) } else { Ok(()) }
}

pub(crate) async fn set_user_role(
    db: Db<'_>,
    account: AccountId,
    id: UserId,
    role: Role,
    record: Recorder<Transition<User>>,
) -> StoreResult<Option<Recorded<Transition<User>>>> {
    let Some(pk) = lock_account(db, account).await? else { return Ok(None) };
    let Some(before) = user_by_id(db, pk, id).await? else { return Ok(None) };
    if role != Role::Admin {
        ensure_another_admin(db, pk, &before).await?;
    }
    db.execute("UPDATE users SET role = $1 WHERE id = $2 AND acct = $3", &[&role.key(), &id.into_inner(), &pk]).await?;
    let after = User { role, ..before.clone() };
    recorded(db, account, Transition { before, after }, record).await.map(Some)
}

pub(crate) async fn delete_user(
    db: Db<'_>,
    account: AccountId,
    id: UserId,
    record: Recorder<User>,
) -> StoreResult<Option<Recorded<User>>> {
    let Some(pk) = lock_account(db, account).await? else { return Ok(None) };
    let Some(user) = user_by_id(db, pk, id).await? else { return Ok(None) };
    ensure_another_admin(db, pk, &user).await?;
    let key = id.into_inner();
    db.execute("DELETE FROM users WHERE id = $1 AND acct = $2", &[&key, &pk]).await?;
    db.execute("DELETE FROM sessions WHERE acct = $1 AND user_id = $2", &[&pk, &key]).await?;
    recorded(db, account, user, record).await.map(Some)
}

pub(crate) async fn create_api_key(
    db: Db<'_>,
    key: NewApiKey,
    record: Recorder<ApiKey>,
) -> StoreResult<Recorded<ApiKey>> {
    let pk = lock_known_account(db, key.account_id).await?;
    let created = credentials::create_api_key(db, pk, &key).await?;
    recorded(db, key.account_id, created, record).await
}

pub(crate) async fn revoke_api_key(
    db: Db<'_>,
    account: AccountId,
    id: KeyId,
    record: Recorder<ApiKey>,
) -> StoreResult<Option<Recorded<ApiKey>>> {
    let Some(pk) = lock_account(db, account).await? else { return Ok(None) };
    let Some(before) = key_by_id(db, id).await?.filter(|k| k.account_id == account) else { return Ok(None) };
    if before.revoked_at.is_some() {
        // Revoked already: the first revocation time stands and was recorded then.
        return Ok(Some(Recorded { value: before, event: None }));
    }
    let Some(revoked) = credentials::revoke_api_key(db, pk, account, id).await? else { return Ok(None) };
    recorded(db, account, revoked, record).await.map(Some)
}

pub(crate) async fn create_session(
    db: Db<'_>,
    session: Session,
    record: Recorder<Session>,
) -> StoreResult<Recorded<Session>> {
    let pk = lock_known_account(db, session.account_id).await?;
    credentials::create_session(db, pk, &session).await?;
    let account = session.account_id;
    recorded(db, account, session, record).await
}

pub(crate) async fn add_hold(db: Db<'_>, hold: &Hold, record: Recorder<Hold>) -> StoreResult<Recorded<Hold>> {
    let pk = lock_known_account(db, hold.account_id).await?;
    retention::add_hold(db, pk, hold).await?;
    recorded(db, hold.account_id, hold.clone(), record).await
}

pub(crate) async fn remove_hold(
    db: Db<'_>,
    account: AccountId,
    kind: RecordType,
    id: &str,
    record: Recorder<Hold>,
) -> StoreResult<Option<Recorded<Hold>>> {
    let Some(pk) = lock_account(db, account).await? else { return Ok(None) };
    let Some(hold) = retention::remove_hold(db, pk, account, kind, id).await? else { return Ok(None) };
    recorded(db, account, hold, record).await.map(Some)
}
