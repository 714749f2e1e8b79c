//! Changes that record themselves: the store applies a change and appends the audit
//! event that describes it in **one** transaction, so no change is ever left without
//! its record (a crash between the two) and no record describes a state that a
//! concurrent change had already replaced.
//!
//! The event is built by the caller from what the change really did, read inside the
//! transaction: a [`Recorder`] gets the state before and after (a [`Transition`]) or
//! the record created or removed, and answers the event to append — or `None` when
//! there is nothing to record (the change changed nothing, or casetrail provisions
//! an account and writes no event for it).

use std::collections::BTreeMap;

use casetrail_core::{NewEvent, Zone};

use crate::{Account, Appended};

/// Builds a change's audit event from what it did; runs inside the transaction, so
/// it must not block (it only assembles a value).
pub type Recorder<T> = Box<dyn FnOnce(&T) -> Option<NewEvent> + Send>;

/// A recorder for changes casetrail makes without writing an event (provisioning).
pub fn unrecorded<T>() -> Recorder<T> {
    Box::new(|_| None)
}

/// What a row was before a change and what it is after.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition<T> {
    pub before: T,
    pub after: T,
}

/// A change's outcome and where its audit event landed (`None`: nothing recorded).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    pub value: T,
    pub event: Option<Appended>,
}

/// One targeted change of an account's settings. Each touches only its own columns,
/// so concurrent changes of different settings never undo each other.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountChange {
    /// Name, time zone and record URL templates; `None` leaves a member as it is.
    Profile(ProfileUpdate),
    /// The retention policy, already checked: `days` the account's (`Some(None)`
    /// keeps forever), `categories` the whole map of per-category retention; `None`
    /// leaves either as it is. One change, so a request setting both records both
    /// in one event.
    Retention {
        days: Option<Option<u32>>,
        categories: Option<BTreeMap<String, Option<u32>>>,
    },
    LegalHold(bool),
    /// The whole list of masking patterns, already checked.
    Masking(Vec<String>),
}

/// The members of the account profile that an update sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub timezone: Option<Zone>,
    pub record_urls: Option<BTreeMap<String, String>>,
}

impl AccountChange {
    /// Sets the account's `retention_days` only (`None` keeps forever).
    pub fn retention_days(days: Option<u32>) -> AccountChange {
        AccountChange::Retention { days: Some(days), categories: None }
    }

    /// The account as this change leaves it.
    pub fn apply(&self, account: &Account) -> Account {
        let mut after = account.clone();
        match self {
            AccountChange::Profile(update) => {
                if let Some(name) = &update.name {
                    after.name = name.clone();
                }
                if let Some(timezone) = &update.timezone {
                    after.timezone = timezone.clone();
                }
                if let Some(urls) = &update.record_urls {
                    after.record_urls = urls.clone();
                }
            }
            AccountChange::Retention { days, categories } => {
                if let Some(days) = days {
                    after.retention_days = *days;
                }
                if let Some(map) = categories {
                    after.retention_categories = map.clone();
                }
            }
            AccountChange::LegalHold(on) => after.legal_hold = *on,
            AccountChange::Masking(patterns) => after.masking = patterns.clone(),
        }
        after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casetrail_core::Timestamp;

    fn account() -> Account {
        Account {
            id: casetrail_core::AccountId::nil(),
            name: "Smith LLP".into(),
            timezone: Zone::utc(),
            record_urls: BTreeMap::new(),
            retention_days: Some(90),
            legal_hold: false,
            created_at: Timestamp::EPOCH,
            masking: casetrail_core::mask::default_patterns(),
            retention_categories: BTreeMap::new(),
        }
    }

    #[test]
    fn each_change_sets_only_its_own_members() {
        let before = account();
        let hold = AccountChange::LegalHold(true).apply(&before);
        assert_eq!(hold, Account { legal_hold: true, ..before.clone() });
        let days = AccountChange::retention_days(None).apply(&before);
        assert_eq!(days, Account { retention_days: None, ..before.clone() });
        let update = ProfileUpdate { timezone: Zone::parse("Europe/Paris"), ..Default::default() };
        let profile = AccountChange::Profile(update).apply(&before);
        assert_eq!(profile, Account { timezone: Zone::parse("Europe/Paris").unwrap(), ..before.clone() });
        let masking = AccountChange::Masking(vec!["pin".into()]).apply(&before);
        assert_eq!(masking, Account { masking: vec!["pin".into()], ..before.clone() });
        let map = BTreeMap::from([("team".to_string(), Some(2555))]);
        let categories = AccountChange::Retention { days: None, categories: Some(map.clone()) }.apply(&before);
        assert_eq!(categories, Account { retention_categories: map.clone(), ..before.clone() });
        let both = AccountChange::Retention { days: Some(Some(365)), categories: Some(map.clone()) }.apply(&before);
        assert_eq!(both, Account { retention_days: Some(365), retention_categories: map, ..before });
    }
}
