//! Typed ids: an account, a user, an API key and an event are each a uuid, but a
//! distinct type, so a call such as `user(account, id)` cannot compile with its
//! arguments swapped.
//!
//! Each serializes exactly as the bare uuid (serde `transparent`): the JSON of the API
//! and the event body the hash chain covers are byte-for-byte what a plain [`Uuid`]
//! gives. Storage converts at its edge with `From<Uuid>` and `into_inner()`.
//!
//! ```
//! use casetrail_core::{AccountId, UserId};
//! fn user(_account: AccountId, _id: UserId) {}
//! let (account, id) = (AccountId::new_v7(), UserId::new_v7());
//! user(account, id);
//! ```
//!
//! The same call with its arguments swapped does not compile:
//!
//! ```compile_fail,E0308
//! use casetrail_core::{AccountId, UserId};
//! fn user(_account: AccountId, _id: UserId) {}
//! let (account, id) = (AccountId::new_v7(), UserId::new_v7());
//! user(id, account);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (v7) id.
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }

            /// The all-zero id: a placeholder where no real id exists.
            pub const fn nil() -> Self {
                Self(Uuid::nil())
            }

            /// The untyped uuid, for storage and other edges.
            pub const fn into_inner(self) -> Uuid {
                self.0
            }

            /// The 16 bytes of the uuid, as stored.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        // Debug prints the bare uuid too, as the untyped ids did, so logs and
        // assertion messages read the same.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

uuid_id!(
    /// The id of an account (a law firm): the tenant every record belongs to.
    AccountId
);
uuid_id!(
    /// The id of a user of an account.
    UserId
);
uuid_id!(
    /// The id of an API key.
    KeyId
);
uuid_id!(
    /// The id of an event of an account's log.
    EventId
);

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "0193a5b2-0000-7000-8000-00000000002a";

    fn uuid() -> Uuid {
        Uuid::parse_str(TEXT).unwrap()
    }

    #[test]
    fn serializes_as_the_bare_uuid_string() {
        assert_eq!(serde_json::to_string(&EventId::from(uuid())).unwrap(), format!("\"{TEXT}\""));
        assert_eq!(serde_json::to_string(&AccountId::from(uuid())).unwrap(), serde_json::to_string(&uuid()).unwrap());
        assert_eq!(serde_json::to_value(UserId::from(uuid())).unwrap(), serde_json::Value::String(TEXT.into()));
    }

    #[test]
    fn deserializes_from_the_bare_uuid_string() {
        let key: KeyId = serde_json::from_str(&format!("\"{TEXT}\"")).unwrap();
        assert_eq!(key.into_inner(), uuid());
        assert!(serde_json::from_str::<KeyId>("\"not-a-uuid\"").is_err());
        assert!(serde_json::from_str::<KeyId>(&format!("{{\"0\":\"{TEXT}\"}}")).is_err(), "no wrapper object");
    }

    #[test]
    fn display_debug_and_parse_match_uuid() {
        let id = UserId::from(uuid());
        assert_eq!(id.to_string(), uuid().to_string());
        assert_eq!(id.to_string(), TEXT);
        assert_eq!(format!("{id:?}"), format!("{:?}", uuid()));
        assert_eq!(TEXT.parse::<UserId>().unwrap(), id);
        assert!("42".parse::<UserId>().is_err());
        assert_eq!(id.as_bytes(), uuid().as_bytes());
    }

    #[test]
    fn fresh_ids_are_v7_and_distinct() {
        let (a, b) = (AccountId::new_v7(), AccountId::new_v7());
        assert_ne!(a, b);
        assert_eq!(a.into_inner().get_version_num(), 7);
        assert_eq!(AccountId::nil().into_inner(), Uuid::nil());
    }
}
