//! The activity catalog of docs/API.md §8: every kind of event the System Log knows,
//! grouped by category, with the labels people read.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One category of activity (`case`, `client`, ...), with its types in display order.
#[derive(Debug)]
pub struct Category {
    pub key: &'static str,
    pub label: &'static str,
    pub types: &'static [ActivityType],
}

/// One activity type: its key (`case.updated`) and label (`Case updated`).
#[derive(Debug, PartialEq, Eq)]
pub struct ActivityType {
    pub key: &'static str,
    pub label: &'static str,
}

macro_rules! category {
    ($key:literal, $label:literal, [$(($tkey:literal, $tlabel:literal)),+ $(,)?]) => {
        Category {
            key: $key,
            label: $label,
            types: &[$(ActivityType { key: $tkey, label: $tlabel }),+],
        }
    };
}

/// The whole catalog, in the order of docs/API.md §8.
pub static CATEGORIES: &[Category] = &[
    category!(
        "case",
        "Case",
        [
            ("case.created", "Case created"),
            ("case.updated", "Case updated"),
            ("case.deleted", "Case deleted"),
            ("case.exported", "Case exported"),
        ]
    ),
    category!(
        "client",
        "Client",
        [
            ("client.created", "Client created"),
            ("client.updated", "Client updated"),
            ("client.merged", "Client merged"),
            ("client.contact_changed", "Contact information changed"),
        ]
    ),
    category!(
        "communication",
        "Communication",
        [
            ("communication.sms_sent", "SMS sent"),
            ("communication.sms_received", "SMS received"),
            ("communication.email_sent", "Email sent"),
            ("communication.email_received", "Email received"),
            ("communication.call_made", "Call made"),
            ("communication.call_received", "Call received"),
            ("communication.ai_call_initiated", "AI call initiated"),
        ]
    ),
    category!(
        "team",
        "Team",
        [
            ("team.user_logged_in", "User logged in"),
            ("team.login_failed", "Login failed"),
            ("team.user_invited", "User invited"),
            ("team.user_role_changed", "User role changed"),
            ("team.user_removed", "User removed"),
        ]
    ),
    category!(
        "settings",
        "Settings",
        [
            ("settings.updated", "Settings updated"),
            ("settings.integration_connected", "Integration connected"),
            ("settings.integration_disconnected", "Integration disconnected"),
            ("settings.automation_created", "Automation created"),
            ("settings.automation_modified", "Automation modified"),
        ]
    ),
    category!(
        "system_log",
        "System Log",
        [
            ("system_log.exported", "System Log exported"),
            ("system_log.purged", "System Log purged"),
            ("system_log.retention_changed", "Retention changed"),
            ("system_log.legal_hold_changed", "Legal hold changed"),
        ]
    ),
];

/// The category whose events only casetrail itself may write.
pub const RESERVED_CATEGORY: &str = "system_log";

/// A known activity type. Cheap to copy; serializes as its key.
#[derive(Clone, Copy)]
pub struct Activity {
    category: &'static Category,
    kind: &'static ActivityType,
}

impl Activity {
    /// Looks up a key such as `case.updated`; `None` when the catalog has no such type.
    pub fn from_key(key: &str) -> Option<Activity> {
        let (cat, _) = key.split_once('.')?;
        let category = category(cat)?;
        let kind = category.types.iter().find(|t| t.key == key)?;
        Some(Activity { category, kind })
    }

    pub fn key(self) -> &'static str {
        self.kind.key
    }

    pub fn label(self) -> &'static str {
        self.kind.label
    }

    pub fn category(self) -> &'static Category {
        self.category
    }

    /// Whether only casetrail itself may write this type (`system_log.*`).
    pub fn is_reserved(self) -> bool {
        self.category.key == RESERVED_CATEGORY
    }

    /// Every activity type of the catalog, in order.
    pub fn all() -> impl Iterator<Item = Activity> {
        CATEGORIES.iter().flat_map(|category| category.types.iter().map(move |kind| Activity { category, kind }))
    }
}

/// Looks up a category by key.
pub fn category(key: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.key == key)
}

impl PartialEq for Activity {
    fn eq(&self, other: &Activity) -> bool {
        self.kind.key == other.kind.key
    }
}

impl Eq for Activity {}

impl fmt::Debug for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Activity({})", self.key())
    }
}

impl fmt::Display for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl Serialize for Activity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for Activity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Activity::from_key(&key).ok_or_else(|| serde::de::Error::custom(format!("unknown activity type {key:?}")))
    }
}

/// The kinds of records an event can be related to (docs/API.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Case,
    Client,
    User,
    Communication,
    Integration,
    Automation,
    Setting,
}

impl RecordType {
    pub const ALL: [RecordType; 7] = [
        RecordType::Case,
        RecordType::Client,
        RecordType::User,
        RecordType::Communication,
        RecordType::Integration,
        RecordType::Automation,
        RecordType::Setting,
    ];

    pub fn key(self) -> &'static str {
        match self {
            RecordType::Case => "case",
            RecordType::Client => "client",
            RecordType::User => "user",
            RecordType::Communication => "communication",
            RecordType::Integration => "integration",
            RecordType::Automation => "automation",
            RecordType::Setting => "setting",
        }
    }

    /// The label exports and the UI show (`Case`, `Client`, ...).
    pub fn label(self) -> &'static str {
        match self {
            RecordType::Case => "Case",
            RecordType::Client => "Client",
            RecordType::User => "User",
            RecordType::Communication => "Communication",
            RecordType::Integration => "Integration",
            RecordType::Automation => "Automation",
            RecordType::Setting => "Setting",
        }
    }

    pub fn from_key(key: &str) -> Option<RecordType> {
        RecordType::ALL.into_iter().find(|t| t.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_contract() {
        let keys: Vec<&str> = CATEGORIES.iter().map(|c| c.key).collect();
        assert_eq!(keys, ["case", "client", "communication", "team", "settings", "system_log"]);
        assert_eq!(Activity::all().count(), 29);
        for activity in Activity::all() {
            let (cat, _) = activity.key().split_once('.').unwrap();
            assert_eq!(cat, activity.category().key);
        }
        let contact = Activity::from_key("client.contact_changed").unwrap();
        assert_eq!(contact.label(), "Contact information changed");
        assert_eq!(contact.category().label, "Client");
    }

    #[test]
    fn unknown_and_reserved_keys() {
        assert!(Activity::from_key("case.opened").is_none());
        assert!(Activity::from_key("case").is_none());
        assert!(Activity::from_key("").is_none());
        assert!(Activity::from_key("system_log.purged").unwrap().is_reserved());
        assert!(!Activity::from_key("case.created").unwrap().is_reserved());
    }

    #[test]
    fn record_types_round_trip() {
        for t in RecordType::ALL {
            assert_eq!(RecordType::from_key(t.key()), Some(t));
        }
        assert_eq!(RecordType::from_key("matter"), None);
    }
}

/// The activity types casetrail writes about itself, so that code building its own
/// events names a type that exists rather than a string that might not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnActivity {
    UserLoggedIn,
    LoginFailed,
    UserInvited,
    UserRoleChanged,
    UserRemoved,
    SettingsUpdated,
    Exported,
    Purged,
    RetentionChanged,
    LegalHoldChanged,
}

impl OwnActivity {
    pub const ALL: [OwnActivity; 10] = [
        OwnActivity::UserLoggedIn,
        OwnActivity::LoginFailed,
        OwnActivity::UserInvited,
        OwnActivity::UserRoleChanged,
        OwnActivity::UserRemoved,
        OwnActivity::SettingsUpdated,
        OwnActivity::Exported,
        OwnActivity::Purged,
        OwnActivity::RetentionChanged,
        OwnActivity::LegalHoldChanged,
    ];

    pub fn key(self) -> &'static str {
        match self {
            OwnActivity::UserLoggedIn => "team.user_logged_in",
            OwnActivity::LoginFailed => "team.login_failed",
            OwnActivity::UserInvited => "team.user_invited",
            OwnActivity::UserRoleChanged => "team.user_role_changed",
            OwnActivity::UserRemoved => "team.user_removed",
            OwnActivity::SettingsUpdated => "settings.updated",
            OwnActivity::Exported => "system_log.exported",
            OwnActivity::Purged => "system_log.purged",
            OwnActivity::RetentionChanged => "system_log.retention_changed",
            OwnActivity::LegalHoldChanged => "system_log.legal_hold_changed",
        }
    }
}

impl From<OwnActivity> for Activity {
    fn from(own: OwnActivity) -> Activity {
        // Every key above is in the catalog (`every_own_activity_is_in_the_catalog`).
        Activity::from_key(own.key()).unwrap_or_else(|| unreachable!("{:?} is missing from the catalog", own))
    }
}

#[cfg(test)]
mod own_tests {
    use super::*;

    #[test]
    fn every_own_activity_is_in_the_catalog() {
        for own in OwnActivity::ALL {
            let activity = Activity::from_key(own.key()).map(|a| a.key());
            assert_eq!(activity, Some(own.key()));
        }
    }
}
