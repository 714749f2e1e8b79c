//! Retention by category (docs/API.md §14): what the account's policy keeps at a
//! given time, for ingest ([`Account::retention_start`]) and for a purge
//! ([`Account::purge_cutoffs`]), and the cutoffs a purge run carries.

use std::collections::BTreeMap;

use casetrail_core::activity::CATEGORIES;
use casetrail_core::retention::RetentionWindow;
use casetrail_core::{Activity, Timestamp};
use serde_json::{Value, json};

use crate::Account;

/// A category's retention of its own, as a run applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategoryCutoff {
    /// `None` keeps the category forever.
    pub days: Option<u32>,
    /// Its events older than this go; `None` when kept forever.
    pub cutoff: Option<Timestamp>,
}

/// What a purge removes: for each category, the events older than its cutoff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurgeCutoffs {
    /// For the categories without a retention of their own; `None` keeps them.
    pub cutoff: Option<Timestamp>,
    /// The account's `retention_days` the cutoff came from, for the record.
    pub retention_days: Option<u32>,
    /// The categories with a retention of their own, by key.
    pub categories: BTreeMap<String, CategoryCutoff>,
}

impl PurgeCutoffs {
    /// One cutoff for every category.
    pub fn uniform(cutoff: Timestamp, retention_days: Option<u32>) -> PurgeCutoffs {
        PurgeCutoffs { cutoff: Some(cutoff), retention_days, categories: BTreeMap::new() }
    }

    /// The cutoff of the events of `category`.
    pub fn cutoff_of(&self, category: &str) -> Option<Timestamp> {
        self.categories.get(category).map_or(self.cutoff, |c| c.cutoff)
    }

    /// `Some(cutoff)` when every category of the catalog has the same one: a purge
    /// can then walk the log by time alone, whatever the activity.
    pub fn uniform_cutoff(&self) -> Option<Option<Timestamp>> {
        let first = self.cutoff_of(CATEGORIES.first()?.key);
        CATEGORIES.iter().all(|c| self.cutoff_of(c.key) == first).then_some(first)
    }

    /// Every activity type of the catalog whose events may go, with its cutoff.
    pub fn activity_cutoffs(&self) -> Vec<(&'static str, Timestamp)> {
        Activity::all().filter_map(|a| Some((a.key(), self.cutoff_of(a.category().key)?))).collect()
    }

    /// Whether the run may remove anything at all.
    pub fn removes_anything(&self) -> bool {
        CATEGORIES.iter().any(|c| self.cutoff_of(c.key).is_some())
    }

    /// The categories' own retentions as the record of a run and the database keep
    /// them: `{"team": {"days": 2555, "cutoff": "…"}}`.
    pub fn categories_json(&self) -> Value {
        let map = self.categories.iter().map(|(key, c)| (key.clone(), json!({"days": c.days, "cutoff": c.cutoff})));
        Value::Object(map.collect())
    }

    /// Reads back [`PurgeCutoffs::categories_json`]; members it cannot read are left
    /// out.
    pub fn categories_from_json(value: &Value) -> BTreeMap<String, CategoryCutoff> {
        let Some(map) = value.as_object() else { return BTreeMap::new() };
        map.iter()
            .filter_map(|(key, c)| {
                let days = c.get("days")?.as_u64().and_then(|d| u32::try_from(d).ok());
                let cutoff = c.get("cutoff")?.as_str().and_then(|t| Timestamp::parse(t).ok());
                Some((key.clone(), CategoryCutoff { days, cutoff }))
            })
            .collect()
    }
}

impl Account {
    /// How many days the events of `category` are kept (`None`: forever): the
    /// category's own retention, or else the account's.
    pub fn retention_days_of(&self, category: &str) -> Option<u32> {
        self.retention_categories.get(category).copied().unwrap_or(self.retention_days)
    }

    /// The oldest `occurred_at` the policy keeps at `now`, per category; `None` keeps
    /// everything. Ingest refuses anything older whether or not a legal hold is on:
    /// a hold is temporary, and such an event would go at the first purge after it.
    pub fn retention_start(&self, now: Timestamp) -> Option<RetentionWindow> {
        let start = |days: Option<u32>| days.map(|d| now.minus_days(i64::from(d)));
        let window = RetentionWindow::new(start(self.retention_days), |category| {
            self.retention_categories.get(category).map(|days| start(*days))
        });
        (!window.keeps_everything()).then_some(window)
    }

    /// What a purge may remove at `now`; `None` when nothing may go (every category
    /// kept forever, or the account-wide legal hold).
    pub fn purge_cutoffs(&self, now: Timestamp) -> Option<PurgeCutoffs> {
        if self.legal_hold {
            return None;
        }
        let cutoff = |days: Option<u32>| days.map(|d| now.minus_days(i64::from(d)));
        let cutoffs = PurgeCutoffs {
            cutoff: cutoff(self.retention_days),
            retention_days: self.retention_days,
            categories: self
                .retention_categories
                .iter()
                .map(|(key, days)| (key.clone(), CategoryCutoff { days: *days, cutoff: cutoff(*days) }))
                .collect(),
        };
        cutoffs.removes_anything().then_some(cutoffs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casetrail_core::Zone;

    fn account(days: Option<u32>, categories: &[(&str, Option<u32>)]) -> Account {
        Account {
            id: casetrail_core::AccountId::nil(),
            name: "Smith LLP".into(),
            timezone: Zone::utc(),
            record_urls: BTreeMap::new(),
            retention_days: days,
            legal_hold: false,
            created_at: Timestamp::EPOCH,
            masking: Vec::new(),
            retention_categories: categories.iter().map(|(k, d)| (k.to_string(), *d)).collect(),
        }
    }

    #[test]
    fn each_category_follows_its_own_days_or_the_account_s() {
        let now = Timestamp::parse("2026-11-25T12:00:00Z").unwrap();
        let a = account(Some(90), &[("team", Some(2555)), ("system_log", None)]);
        let cutoffs = a.purge_cutoffs(now).unwrap();
        assert_eq!(cutoffs.cutoff_of("case"), Some(now.minus_days(90)));
        assert_eq!(cutoffs.cutoff_of("team"), Some(now.minus_days(2555)));
        assert_eq!(cutoffs.cutoff_of("system_log"), None);
        assert_eq!(cutoffs.uniform_cutoff(), None);
        let activities = cutoffs.activity_cutoffs();
        assert!(activities.contains(&("team.login_failed", now.minus_days(2555))));
        assert!(!activities.iter().any(|(k, _)| k.starts_with("system_log.")));
        assert_eq!(activities.len(), Activity::all().count() - 4);
        let window = a.retention_start(now).unwrap();
        assert_eq!(window.start_of("team"), Some(now.minus_days(2555)));
        assert_eq!(window.start_of("client"), Some(now.minus_days(90)));

        // Forever by default, but sign-ins go after seven years.
        let a = account(None, &[("team", Some(2555))]);
        let cutoffs = a.purge_cutoffs(now).unwrap();
        assert_eq!((cutoffs.cutoff_of("case"), cutoffs.cutoff_of("team")), (None, Some(now.minus_days(2555))));
        assert!(account(None, &[]).purge_cutoffs(now).is_none());
        assert!(account(None, &[]).retention_start(now).is_none());
        assert!(account(Some(90), &[("case", Some(90))]).purge_cutoffs(now).unwrap().uniform_cutoff().is_some());
        assert!(Account { legal_hold: true, ..a }.purge_cutoffs(now).is_none());
    }

    #[test]
    fn the_categories_read_back_as_written() {
        let now = Timestamp::parse("2026-11-25T12:00:00Z").unwrap();
        let cutoffs = account(Some(90), &[("team", Some(2555)), ("system_log", None)]).purge_cutoffs(now).unwrap();
        let json = cutoffs.categories_json();
        assert_eq!(json["team"]["days"], 2555);
        assert_eq!(json["system_log"], json!({"days": null, "cutoff": null}));
        assert_eq!(PurgeCutoffs::categories_from_json(&json), cutoffs.categories);
    }
}
