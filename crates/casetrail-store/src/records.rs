//! The records a store keeps beside events: accounts, users, API keys, sessions, and
//! the summaries that feed the filter pickers.

use std::collections::BTreeMap;
use std::fmt;

use casetrail_core::{AccountId, KeyId, RecordType, Timestamp, UserId, Zone};

/// One firm.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    /// The IANA time zone in which dates are read and shown.
    pub timezone: Zone,
    /// Record type key → URL template containing `{id}`.
    pub record_urls: BTreeMap<String, String>,
    /// `None` keeps events forever.
    pub retention_days: Option<u32>,
    pub legal_hold: bool,
    pub created_at: Timestamp,
    /// The masking patterns (docs/API.md §14), as last set; checked when set.
    pub masking: Vec<String>,
    /// Category key → its own retention (`None`: forever), replacing
    /// `retention_days` for the events of that category.
    pub retention_categories: BTreeMap<String, Option<u32>>,
}

pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// The shortest and longest policies an account may choose (besides forever).
pub const MIN_RETENTION_DAYS: u32 = 90;
pub const MAX_RETENTION_DAYS: u32 = 3650;

impl Account {
    /// The rules of the zone in which the account reads and shows dates.
    pub fn time_zone(&self) -> &jiff::tz::TimeZone {
        self.timezone.tz()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn key(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn from_key(key: &str) -> Option<Role> {
        match key {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// A user to create. The password arrives already hashed (argon2id PHC string).
#[derive(Clone)]
pub struct NewUser {
    pub account_id: AccountId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("account_id", &self.account_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// May only ingest.
    EventsWrite,
    /// May do all an admin user may do.
    Admin,
}

impl Scope {
    pub fn key(self) -> &'static str {
        match self {
            Scope::EventsWrite => "events:write",
            Scope::Admin => "admin",
        }
    }

    pub fn from_key(key: &str) -> Option<Scope> {
        match key {
            "events:write" => Some(Scope::EventsWrite),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: KeyId,
    pub account_id: AccountId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A key to create; only the SHA-256 of its secret is stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub account_id: AccountId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub secret_hash: [u8; 32],
}

/// A signed-in browser. The cookie holds a random token; the store keeps its hash.
#[derive(Clone, PartialEq)]
pub struct Session {
    pub token_hash: [u8; 32],
    pub account_id: AccountId,
    pub user_id: UserId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("account_id", &self.account_id)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An actor the log has seen, for the user picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorSummary {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

/// A related record the log has seen, for the case and client pickers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    pub kind: RecordType,
    pub id: String,
    pub name: Option<String>,
}

/// Events related to a held case or client are kept past the retention window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub account_id: AccountId,
    /// `Case` or `Client`.
    pub kind: RecordType,
    pub id: String,
    pub reason: String,
    /// Who placed it (a user's or key's display name).
    pub created_by: String,
    pub created_at: Timestamp,
}
