//! Who is asking: API keys (`Authorization: Bearer`), browser sessions (a cookie),
//! and what each may do (docs/API.md §3).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum_extra::extract::CookieJar;
use casetrail_core::{Actor, ActorType, Timestamp};
use casetrail_store::{AccountId, ApiKey, Role, Scope, Session, User};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "casetrail_session";
pub use casetrail_app::credentials::{KEY_PREFIX, hash_password, random_token, token_hash, verify_password};

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Key(ApiKey),
    Session { session: Session, user: User },
}

/// An authenticated caller, always of exactly one account.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: AccountId,
    pub credential: Credential,
}

impl Principal {
    /// May read the log, export, and see settings, users and keys.
    pub fn can_read(&self) -> bool {
        match &self.credential {
            Credential::Key(key) => key.scopes.contains(&Scope::Admin),
            Credential::Session { user, .. } => user.role == Role::Admin,
        }
    }

    /// 403 unless an admin user or admin key.
    pub fn require_admin(&self) -> ApiResult<()> {
        if self.can_read() {
            return Ok(());
        }
        Err(match &self.credential {
            Credential::Key(_) => ApiError::forbidden("this API key may only ingest events"),
            Credential::Session { .. } => ApiError::forbidden("the System Log is only accessible to Admins"),
        })
    }

    /// 403 unless an admin *key*: API requests that change state need one.
    pub fn require_admin_key(&self) -> ApiResult<()> {
        self.require_admin()?;
        match &self.credential {
            Credential::Key(_) => Ok(()),
            Credential::Session { .. } => {
                Err(ApiError::forbidden("API requests that change state need an API key; use the web forms"))
            }
        }
    }

    /// 403 unless a key with `events:write`.
    pub fn require_ingest(&self) -> ApiResult<()> {
        match &self.credential {
            Credential::Key(key) if key.scopes.contains(&Scope::EventsWrite) => Ok(()),
            Credential::Key(_) => Err(ApiError::forbidden("this API key lacks the events:write scope")),
            Credential::Session { .. } => {
                Err(ApiError::forbidden("ingest needs an API key with the events:write scope"))
            }
        }
    }

    /// The actor of events that this caller's actions write.
    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::Key(key) => Actor {
                id: format!("key_{}", key.id),
                name: format!("API key \"{}\"", key.name),
                email: None,
                kind: ActorType::Api,
            },
            Credential::Session { user, .. } => user_actor(user),
        }
    }

    pub fn user(&self) -> Option<&User> {
        match &self.credential {
            Credential::Session { user, .. } => Some(user),
            Credential::Key(_) => None,
        }
    }
}

/// A casetrail user as the actor of an event.
pub fn user_actor(user: &User) -> Actor {
    Actor { id: user.id.to_string(), name: user.name.clone(), email: Some(user.email.clone()), kind: ActorType::User }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of the session cookie, if sent.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    CookieJar::from_headers(&parts.headers).get(SESSION_COOKIE).map(|c| c.value().to_string())
}

/// Resolves the caller, if any credential is valid. A sent but invalid bearer token
/// never falls back to the cookie.
pub async fn authenticate(state: &AppState, parts: &Parts) -> ApiResult<Option<Principal>> {
    if let Some(secret) = bearer(parts) {
        let Some(key) = state.store.api_key_by_hash(token_hash(secret)).await? else {
            return Ok(None);
        };
        if key.revoked_at.is_some() {
            return Ok(None);
        }
        state.note_key_use(key.id).await;
        return Ok(Some(Principal { account_id: key.account_id, credential: Credential::Key(key) }));
    }
    let Some(token) = session_cookie(parts) else {
        return Ok(None);
    };
    let now = Timestamp::now();
    let Some(session) = state.store.session(token_hash(&token), now).await? else {
        return Ok(None);
    };
    // The user is read on every request so that a role change or removal takes
    // effect at once.
    let Some(user) = state.store.user(session.account_id, session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(Principal { account_id: session.account_id, credential: Credential::Session { session, user } }))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = authenticate(state, parts).await?.ok_or_else(ApiError::unauthenticated)?;
        // Sessions are for reading the API; their writes go through the UI's forms.
        if let Credential::Session { .. } = principal.credential
            && !matches!(parts.method, Method::GET | Method::HEAD)
            && parts.uri.path().starts_with("/api/")
        {
            return Err(ApiError::forbidden("API requests that change state need an API key; use the web forms"));
        }
        Ok(principal)
    }
}
