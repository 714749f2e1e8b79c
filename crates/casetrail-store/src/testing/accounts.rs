//! Accounts and users: the defaults of a new account, updates, unique emails, roles and
//! deletion.

use std::sync::Arc;

use crate::UserId;
use casetrail_core::Timestamp;

use super::support::*;
use crate::{
    Account, AccountChange, AccountId, ConflictCode, DEFAULT_RETENTION_DAYS, NewUser, ProfileUpdate, Role, Store,
    StoreError, StoreResult, User, unrecorded,
};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$cGFzc3dvcmRoYXNo";

/// A user to create, with a password hash derived from the email.
pub(super) fn new_user(account: AccountId, email: &str, role: Role) -> NewUser {
    NewUser {
        account_id: account,
        email: email.to_string(),
        name: format!("User {email}"),
        role,
        password_hash: format!("{HASH}-{email}"),
    }
}

/// Creates a user (recording nothing), panicking on any error.
pub(super) async fn create_user(store: &dyn Store, account: AccountId, email: &str, role: Role) -> User {
    let created = store.create_user(new_user(account, email, role), unrecorded()).await;
    created.unwrap_or_else(|e| panic!("create_user {email}: {e:?}")).value
}

/// Sets the whole profile of an account, recording nothing.
async fn set_profile(store: &dyn Store, account: &Account) {
    let update = ProfileUpdate {
        name: Some(account.name.clone()),
        timezone: Some(account.timezone.clone()),
        record_urls: Some(account.record_urls.clone()),
    };
    let done = store.change_account(account.id, AccountChange::Profile(update), unrecorded()).await;
    let recorded = done.expect("change_account");
    assert_eq!(recorded.event, None, "an unrecorded change appends nothing");
    assert_eq!(&recorded.value.after, account, "the change answers the account as it is after");
}

async fn set_role(store: &dyn Store, account: AccountId, id: UserId, role: Role) -> StoreResult<Option<User>> {
    let changed = store.set_user_role(account, id, role, unrecorded()).await?;
    Ok(changed.map(|r| r.value.after))
}

async fn delete(store: &dyn Store, account: AccountId, id: UserId) -> bool {
    store.delete_user(account, id, unrecorded()).await.expect("delete_user").is_some()
}

/// A new account has the defaults of docs/API.md; updates persist; unknown ids are None.
pub async fn account_defaults_and_updates(store: Arc<dyn Store>) {
    let store = &*store;
    let before = Timestamp::now();
    let created = store.create_account("Smith & Jones LLP").await.expect("create_account");
    let after = Timestamp::now();
    assert_eq!(created.name, "Smith & Jones LLP");
    assert_eq!(created.timezone, "UTC");
    assert_eq!(created.retention_days, Some(DEFAULT_RETENTION_DAYS));
    assert_eq!(created.retention_days, Some(90));
    assert!(!created.legal_hold);
    assert!(created.record_urls.is_empty());
    assert_at_time("account created_at", created.created_at, before, after);
    assert_eq!(store.account(created.id).await.unwrap().as_ref(), Some(&created), "account() reads it back whole");

    let other = store.create_account("Other Firm").await.expect("create_account");
    assert_ne!(other.id, created.id);
    let all = store.accounts().await.unwrap();
    for acct in [&created, &other] {
        assert_eq!(all.iter().filter(|x| x.id == acct.id).collect::<Vec<_>>(), [acct], "accounts() lists each once");
    }

    let mut updated = created.clone();
    updated.name = "Smith, Jones & Ñúñez LLP".into();
    updated.timezone = casetrail_core::Zone::parse("America/New_York").expect("a known zone");
    updated.record_urls.insert("case".into(), "https://crm.example.com/cases/{id}".into());
    updated.record_urls.insert("client".into(), "https://crm.example.com/clients/{id}?tab=1".into());
    set_profile(store, &updated).await;
    let read = store.account(created.id).await.unwrap().expect("account after update");
    assert_eq!(read.name, updated.name);
    assert_eq!(read.timezone, "America/New_York");
    assert_eq!(read.record_urls, updated.record_urls);
    assert_eq!(read.created_at, created.created_at, "an update keeps created_at");
    assert_eq!(store.account(other.id).await.unwrap(), Some(other), "an update touches one account only");

    updated.record_urls.remove("client");
    set_profile(store, &updated).await;
    let read = store.account(created.id).await.unwrap().expect("account after second update");
    assert_eq!(read.record_urls.keys().collect::<Vec<_>>(), ["case"], "record_urls are replaced, not merged");

    assert_eq!(store.account(unknown_id()).await.unwrap(), None);
    assert!(whole_chain(store, created.id).await.is_empty(), "creating an account writes no event");
}

/// An email is unique among all users of all accounts, ignoring case.
pub async fn users_emails_are_unique_case_insensitively(store: Arc<dyn Store>) {
    let store = &*store;
    let a = new_account(store, "Alpha LLP").await;
    let b = new_account(store, "Beta LLP").await;
    let before = Timestamp::now();
    let jane = create_user(store, a, "Jane.Doe@SmithLaw.com", Role::Admin).await;
    assert_eq!(jane.account_id, a);
    assert!(jane.email.eq_ignore_ascii_case("jane.doe@smithlaw.com"), "email kept: {}", jane.email);
    assert_eq!(jane.name, "User Jane.Doe@SmithLaw.com");
    assert_eq!(jane.role, Role::Admin);
    assert_at_time("user created_at", jane.created_at, before, Timestamp::now());
    assert_eq!(store.user(a, jane.id).await.unwrap().as_ref(), Some(&jane));
    assert_eq!(store.users(a).await.unwrap(), std::slice::from_ref(&jane));

    for (account, email) in [(a, "Jane.Doe@SmithLaw.com"), (a, "jane.doe@smithlaw.com"), (b, "JANE.DOE@SMITHLAW.COM")] {
        let result = store.create_user(new_user(account, email, Role::Member), unrecorded()).await;
        let conflict = matches!(result, Err(StoreError::Conflict(ConflictCode::EmailTaken)));
        assert!(conflict, "{email}: expected Conflict(EmailTaken), got {result:?}");
    }
    assert_eq!(store.users(a).await.unwrap().len(), 1, "a refused user is not stored");
    assert!(store.users(b).await.unwrap().is_empty(), "a refused user is not stored");

    let (found, hash) =
        store.user_by_email("jANE.dOE@smithlaw.COM").await.unwrap().expect("user_by_email ignores case");
    assert_eq!(found, jane);
    assert_eq!(hash, format!("{HASH}-Jane.Doe@SmithLaw.com"), "the password hash is returned as stored");
    assert_eq!(store.user_by_email("jane@smithlaw.com").await.unwrap(), None);
    assert_eq!(store.user_by_email("").await.unwrap(), None);

    let bob = create_user(store, b, "bob@beta.test", Role::Member).await;
    assert_ne!(bob.id, jane.id);
    assert_eq!(store.user_by_email("BOB@beta.test").await.unwrap().map(|(u, _)| u), Some(bob));
}

/// Roles change and persist; deleting a user removes them everywhere.
pub async fn user_role_and_deletion(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Roles LLP").await;
    let ann = create_user(store, account, "ann@roles.test", Role::Admin).await;
    let ben = create_user(store, account, "ben@roles.test", Role::Member).await;
    let last = set_role(store, account, ann.id, Role::Member).await;
    assert!(matches!(last, Err(StoreError::Conflict(ConflictCode::LastAdmin))), "the last admin stays: {last:?}");
    let cox = create_user(store, account, "cox@roles.test", Role::Admin).await;

    let demoted = set_role(store, account, ann.id, Role::Member).await.unwrap().expect("set_user_role");
    assert_eq!(demoted, User { role: Role::Member, ..ann.clone() }, "only the role changes");
    assert_eq!(store.user(account, ann.id).await.unwrap().map(|u| u.role), Some(Role::Member), "the role persists");
    let promoted = set_role(store, account, ben.id, Role::Admin).await.unwrap().expect("set_user_role");
    assert_eq!(promoted.role, Role::Admin);
    assert_eq!(store.user_by_email("ben@roles.test").await.unwrap().map(|(u, _)| u.role), Some(Role::Admin));
    assert_eq!(set_role(store, account, UserId::new_v7(), Role::Admin).await.unwrap(), None, "unknown user");

    assert!(delete(store, account, ann.id).await, "deleting an existing user answers it");
    assert_eq!(store.user(account, ann.id).await.unwrap(), None);
    assert_eq!(store.user_by_email("ann@roles.test").await.unwrap(), None);
    let left: Vec<UserId> = store.users(account).await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(left, [ben.id, cox.id]);
    assert!(!delete(store, account, ann.id).await, "deleting again answers None");
    assert_eq!(set_role(store, account, ann.id, Role::Admin).await.unwrap(), None, "a deleted user has no role");

    // The email is free again.
    let again = create_user(store, account, "ann@roles.test", Role::Member).await;
    assert_ne!(again.id, ann.id);
}
