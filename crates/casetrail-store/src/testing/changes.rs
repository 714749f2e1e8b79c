//! Changes that record themselves: the change and its audit event commit together or
//! not at all, the recorder sees what the transaction read, and concurrent targeted
//! changes never undo each other.

use std::sync::Arc;

use casetrail_core::{Activity, Actor, ActorType, Change, NewEvent, RecordType, Timestamp};
use serde_json::Value;

use super::accounts::{create_user, new_user};
use super::state_changes::hold;
use super::support::*;
use crate::{
    Account, AccountChange, AccountId, ConflictCode, NewApiKey, ProfileUpdate, Recorder, Role, Scope, Store,
    StoreError, Transition,
};

fn audit(activity: &str, description: String, changes: Vec<Change>) -> NewEvent {
    NewEvent {
        idempotency_key: None,
        occurred_at: Timestamp::now(),
        actor: Actor { id: "u_admin".into(), name: "Ada Admin".into(), email: None, kind: ActorType::User },
        activity: Activity::from_key(activity).expect("a catalog activity"),
        description,
        related: Vec::new(),
        changes,
        metadata: Default::default(),
        context: Default::default(),
    }
}

/// Records a legal hold change with its before and after values.
fn hold_recorder() -> Recorder<Transition<Account>> {
    Box::new(|t: &Transition<Account>| {
        let change =
            Change { field: "legal_hold".into(), before: t.before.legal_hold.into(), after: t.after.legal_hold.into() };
        Some(audit("system_log.legal_hold_changed", format!("legal hold {}", t.after.legal_hold), vec![change]))
    })
}

/// Records a rename with its before and after values.
fn name_recorder() -> Recorder<Transition<Account>> {
    Box::new(|t: &Transition<Account>| {
        let change =
            Change { field: "name".into(), before: t.before.name.clone().into(), after: t.after.name.clone().into() };
        Some(audit("settings.updated", format!("renamed to {}", t.after.name), vec![change]))
    })
}

/// A recorder that fails after the change was applied inside the transaction.
fn failing<T>() -> Recorder<T> {
    Box::new(|_| panic!("the recorder failed on purpose"))
}

fn rename(name: &str) -> AccountChange {
    AccountChange::Profile(ProfileUpdate { name: Some(name.to_string()), ..Default::default() })
}

/// The change and its event land together: the event is in the chain at the seq the
/// store answered, built from the state the transaction read.
pub async fn a_change_and_its_record_commit_together(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Record LLP").await;
    append(store, account, vec![plain("first")]).await;
    let done = store.change_account(account, AccountChange::LegalHold(true), hold_recorder()).await.unwrap();
    assert_eq!((done.value.before.legal_hold, done.value.after.legal_hold), (false, true));
    let appended = done.event.expect("the change was recorded");
    assert_eq!(appended.seq, 2, "the record follows the chain head");
    let chain = whole_chain(store, account).await;
    assert_chain(account, &chain);
    let event = body(&chain[1]);
    assert_eq!((event.id, event.activity.key()), (appended.id, "system_log.legal_hold_changed"));
    assert_eq!((&event.changes[0].before, &event.changes[0].after), (&Value::Bool(false), &Value::Bool(true)));
    assert!(store.account(account).await.unwrap().unwrap().legal_hold, "the change itself is stored");

    // A recorder that answers nothing appends nothing; the change still stands.
    let quiet = store.change_account(account, rename("Quiet LLP"), Box::new(|_| None)).await.unwrap();
    assert_eq!(quiet.event, None);
    assert_eq!(store.account(account).await.unwrap().unwrap().name, "Quiet LLP");
    assert_eq!(whole_chain(store, account).await.len(), 2, "no event without a record");
}

/// A record that fails leaves neither the change nor any event, for every kind of
/// change that records itself.
pub async fn a_failed_record_leaves_neither_change_nor_event(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Atomic LLP").await;
    let admin = create_user(store, account, "admin@atomic.test", Role::Admin).await;
    let other = create_user(store, account, "other@atomic.test", Role::Admin).await;
    let key = NewApiKey { account_id: account, name: "CRM".into(), scopes: vec![Scope::Admin], secret_hash: [5; 32] };
    let key = store.create_api_key(key, crate::unrecorded()).await.unwrap().value;
    let held = hold(account, RecordType::Case, "c_held", Timestamp::now());
    store.add_hold(&held, crate::unrecorded()).await.unwrap();
    let before = store.account(account).await.unwrap().unwrap();

    let failed = |what: &str, outcome: Result<(), StoreError>| {
        assert!(outcome.is_err(), "{what}: a failing record must fail the change");
    };
    failed("legal hold", store.change_account(account, AccountChange::LegalHold(true), failing()).await.map(drop));
    failed("retention", store.change_account(account, AccountChange::retention_days(None), failing()).await.map(drop));
    failed("profile", store.change_account(account, rename("Gone LLP"), failing()).await.map(drop));
    failed(
        "create user",
        store.create_user(new_user(account, "new@atomic.test", Role::Member), failing()).await.map(drop),
    );
    failed("set role", store.set_user_role(account, admin.id, Role::Member, failing()).await.map(drop));
    failed("delete user", store.delete_user(account, other.id, failing()).await.map(drop));
    let second =
        NewApiKey { account_id: account, name: "Two".into(), scopes: vec![Scope::Admin], secret_hash: [6; 32] };
    failed("create key", store.create_api_key(second, failing()).await.map(drop));
    failed("revoke key", store.revoke_api_key(account, key.id, failing()).await.map(drop));
    let another = hold(account, RecordType::Client, "k_new", Timestamp::now());
    failed("add hold", store.add_hold(&another, failing()).await.map(drop));
    failed("remove hold", store.remove_hold(account, RecordType::Case, "c_held", failing()).await.map(drop));
    let now = Timestamp::now();
    let sign_in = crate::Session {
        token_hash: [9; 32],
        account_id: account,
        user_id: admin.id,
        csrf_token: "csrf".into(),
        created_at: now,
        expires_at: now.plus_millis(3_600_000),
    };
    failed("create session", store.create_session(sign_in, failing()).await.map(drop));
    assert_eq!(store.session([9; 32], now).await.unwrap(), None, "a sign-in without its record leaves no session");

    assert_eq!(store.account(account).await.unwrap().as_ref(), Some(&before), "the account is as it was");
    let users = store.users(account).await.unwrap();
    assert_eq!(
        users.iter().map(|u| (u.email.as_str(), u.role)).collect::<Vec<_>>(),
        [("admin@atomic.test", Role::Admin), ("other@atomic.test", Role::Admin)]
    );
    let keys = store.api_keys(account).await.unwrap();
    assert_eq!(keys.iter().map(|k| (k.id, k.revoked_at)).collect::<Vec<_>>(), [(key.id, None)]);
    assert_eq!(store.holds(account).await.unwrap(), [held], "the holds are as they were");
    assert!(whole_chain(store, account).await.is_empty(), "no event was appended");
    // The store still works after a failed change.
    let done = store.change_account(account, AccountChange::LegalHold(true), hold_recorder()).await.unwrap();
    assert_eq!(done.event.map(|e| e.seq), Some(1));
}

/// Events of `activity` in seq order, as (before, after) of their first change.
async fn transitions(store: &dyn Store, account: AccountId, activity: &str) -> Vec<(Value, Value)> {
    let chain = whole_chain(store, account).await;
    let events = chain.iter().map(body).filter(|e| e.activity.key() == activity);
    events.map(|e| (e.changes[0].before.clone(), e.changes[0].after.clone())).collect()
}

/// Concurrent changes of different settings never undo each other, and the records
/// of one setting form an unbroken run of transitions ending at the stored value.
pub async fn concurrent_changes_never_undo_each_other(store: Arc<dyn Store>) {
    let account = new_account(&*store, "Busy LLP").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (a, b) = (store.clone(), store.clone());
        tasks.push(tokio::spawn(async move {
            a.change_account(account, AccountChange::LegalHold(i % 2 == 0), hold_recorder()).await.map(drop)
        }));
        tasks.push(tokio::spawn(async move {
            b.change_account(account, rename(&format!("Firm {i}")), name_recorder()).await.map(drop)
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("change_account");
    }
    let stored = store.account(account).await.unwrap().unwrap();
    for (activity, initial, last) in [
        ("system_log.legal_hold_changed", Value::Bool(false), Value::Bool(stored.legal_hold)),
        ("settings.updated", Value::from("Busy LLP"), Value::from(stored.name.clone())),
    ] {
        let runs = transitions(&*store, account, activity).await;
        assert_eq!(runs.len(), 50, "{activity}: one record per change");
        let mut expected_before = initial;
        for (before, after) in &runs {
            assert_eq!(before, &expected_before, "{activity}: each record starts where the previous ended");
            expected_before = after.clone();
        }
        assert_eq!(expected_before, last, "{activity}: the stored value is the last one recorded");
    }
}

/// Two concurrent demotions of an account's last two admins: exactly one passes.
pub async fn the_last_admin_survives_concurrent_demotions(store: Arc<dyn Store>) {
    let account = new_account(&*store, "Admins LLP").await;
    let ann = create_user(&*store, account, "ann@admins.test", Role::Admin).await;
    let bob = create_user(&*store, account, "bob@admins.test", Role::Admin).await;
    let demote = |id| {
        let store = store.clone();
        tokio::spawn(async move { store.set_user_role(account, id, Role::Member, crate::unrecorded()).await })
    };
    let (first, second) = (demote(ann.id), demote(bob.id));
    let outcomes = [first.await.expect("task"), second.await.expect("task")];
    let passed = outcomes.iter().filter(|o| matches!(o, Ok(Some(_)))).count();
    let refused = outcomes.iter().filter(|o| matches!(o, Err(StoreError::Conflict(ConflictCode::LastAdmin)))).count();
    assert_eq!((passed, refused), (1, 1), "{outcomes:?}");
    let admins = store.users(account).await.unwrap().into_iter().filter(|u| u.role == Role::Admin).count();
    assert_eq!(admins, 1);
    let last = store.users(account).await.unwrap().into_iter().find(|u| u.role == Role::Admin).unwrap();
    let removed = store.delete_user(account, last.id, crate::unrecorded()).await;
    assert!(matches!(removed, Err(StoreError::Conflict(ConflictCode::LastAdmin))), "{removed:?}");
}

/// Expired sessions go, live ones stay.
pub async fn expired_sessions_are_deleted(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Expired LLP").await;
    let user = create_user(store, account, "old@expired.test", Role::Admin).await;
    let now = Timestamp::now();
    for (token, expires_at) in
        [(1u8, now.plus_millis(-1)), (2, now.plus_millis(-86_400_000)), (3, now.plus_millis(60_000))]
    {
        let session = crate::Session {
            token_hash: [token; 32],
            account_id: account,
            user_id: user.id,
            csrf_token: format!("csrf-{token}"),
            created_at: now.plus_millis(-90_000_000),
            expires_at,
        };
        store.create_session(session, crate::unrecorded()).await.unwrap();
    }
    assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 2);
    assert!(store.session([3; 32], now).await.unwrap().is_some(), "a live session stays");
    assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 0, "nothing more to delete");
}
