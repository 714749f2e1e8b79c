//! Creating an account with its first admin and keys (`casetrail account create`,
//! the demo, and tests). Creating an account writes no event: its first event is seq 1.

use casetrail_store::{Account, NewApiKey, NewUser, Role, Scope, Store, User, unrecorded};

use crate::credentials::{hash_password_blocking, new_key_secret, random_token, token_hash};

/// What a new account's owner needs, shown once.
#[derive(Clone)]
pub struct Provisioned {
    pub account: Account,
    pub admin: User,
    pub admin_password: String,
    pub ingest_key: String,
    pub admin_key: String,
}

impl std::fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioned")
            .field("account", &self.account.id)
            .field("admin", &self.admin.email)
            .finish_non_exhaustive()
    }
}

/// Creates an account, its admin with a generated password, an `events:write` key
/// and an `admin` key.
pub async fn create_account(
    store: &dyn Store,
    name: &str,
    admin_email: &str,
    admin_name: &str,
) -> anyhow::Result<Provisioned> {
    create_account_with_password(store, name, admin_email, admin_name, random_token()).await
}

/// [`create_account`] with the admin's password chosen by the caller (the demo).
pub async fn create_account_with_password(
    store: &dyn Store,
    name: &str,
    admin_email: &str,
    admin_name: &str,
    admin_password: String,
) -> anyhow::Result<Provisioned> {
    // The account and its admin are two writes: an email in use would leave a firm
    // with no admin behind, so it is refused before anything is written. (Two
    // provisionings racing for one email can still leave one such firm; the CLI
    // and the demo are the only callers.)
    if store.user_by_email(admin_email).await?.is_some() {
        return Err(casetrail_store::StoreError::Conflict(casetrail_store::ConflictCode::EmailTaken).into());
    }
    let account = store.create_account(name).await?;
    let admin = create_user(store, &account, admin_email, admin_name, Role::Admin, &admin_password).await?;
    let ingest_key = create_key(store, &account, "Host application (ingest)", vec![Scope::EventsWrite]).await?;
    let admin_key = create_key(store, &account, "Administration", vec![Scope::Admin]).await?;
    Ok(Provisioned { account, admin, admin_password, ingest_key, admin_key })
}

/// Creates a user with the given password (already checked by the caller).
pub async fn create_user(
    store: &dyn Store,
    account: &Account,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> anyhow::Result<User> {
    let password_hash = hash_password_blocking(password.to_string()).await?;
    let user =
        NewUser { account_id: account.id, email: email.to_string(), name: name.to_string(), role, password_hash };
    // Provisioning writes no event: an account's first event is the host's seq 1.
    Ok(store.create_user(user, unrecorded()).await?.value)
}

/// Creates a key and returns its secret.
pub async fn create_key(
    store: &dyn Store,
    account: &Account,
    name: &str,
    scopes: Vec<Scope>,
) -> anyhow::Result<String> {
    let secret = new_key_secret();
    let key = NewApiKey { account_id: account.id, name: name.to_string(), scopes, secret_hash: token_hash(&secret) };
    store.create_api_key(key, unrecorded()).await?;
    Ok(secret)
}
