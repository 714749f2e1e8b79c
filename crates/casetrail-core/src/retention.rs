//! Where each category's retention window starts (docs/API.md §6 and §14): an
//! account keeps its events for `retention_days`, and a category may have a
//! retention of its own instead. Ingest refuses an event older than the start of
//! its category's window; the store purges by the same rule.

use crate::activity::{Activity, CATEGORIES};
use crate::time::Timestamp;

/// How many categories the catalog has (a test keeps it equal to [`CATEGORIES`]).
pub const CATEGORY_COUNT: usize = 6;

/// The position of a category in the catalog.
fn index_of(category: &str) -> Option<usize> {
    CATEGORIES.iter().position(|c| c.key == category)
}

/// For each category of the catalog, the oldest `occurred_at` its retention keeps
/// (`None`: kept forever), and whether that is the category's own retention rather
/// than the account's. Copied cheaply, like the rest of the ingest rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionWindow {
    /// Where the account's own window starts: the rule for anything outside the
    /// catalog (which ingest refuses anyway).
    default: Option<Timestamp>,
    starts: [Option<Timestamp>; CATEGORY_COUNT],
    own: [bool; CATEGORY_COUNT],
}

impl RetentionWindow {
    /// The same window for every category.
    pub fn uniform(start: Option<Timestamp>) -> RetentionWindow {
        RetentionWindow { default: start, starts: [start; CATEGORY_COUNT], own: [false; CATEGORY_COUNT] }
    }

    /// The account's window, with `own` giving the start of each category that has a
    /// retention of its own (`Some(None)`: that category is kept forever).
    pub fn new(default: Option<Timestamp>, own: impl Fn(&str) -> Option<Option<Timestamp>>) -> RetentionWindow {
        let mut window = RetentionWindow::uniform(default);
        for (i, category) in CATEGORIES.iter().enumerate().take(CATEGORY_COUNT) {
            if let Some(start) = own(category.key) {
                window.starts[i] = start;
                window.own[i] = true;
            }
        }
        window
    }

    /// Where the window of the events of `category` starts.
    pub fn start_of(&self, category: &str) -> Option<Timestamp> {
        index_of(category).map_or(self.default, |i| self.starts[i])
    }

    /// Where the window of an activity's events starts (the account's own for an
    /// activity the catalog does not know).
    pub fn start_for(&self, activity: Option<Activity>) -> Option<Timestamp> {
        activity.map_or(self.default, |a| self.start_of(a.category().key))
    }

    /// Whether `category` follows a retention of its own.
    pub fn is_own(&self, category: &str) -> bool {
        index_of(category).is_some_and(|i| self.own[i])
    }

    /// Whether nothing is ever outside the window.
    pub fn keeps_everything(&self) -> bool {
        self.default.is_none() && self.starts.iter().all(Option::is_none)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn the_catalog_has_as_many_categories_as_the_window() {
        assert_eq!(CATEGORIES.len(), CATEGORY_COUNT);
    }

    #[test]
    fn a_category_of_its_own_replaces_the_default_and_others_follow_it() {
        let default = at("2026-08-27T12:00:00Z");
        let team = at("2019-11-27T12:00:00Z");
        let window = RetentionWindow::new(Some(default), |c| match c {
            "team" => Some(Some(team)),
            "system_log" => Some(None),
            _ => None,
        });
        assert_eq!(window.start_of("team"), Some(team));
        assert_eq!(window.start_of("system_log"), None);
        assert_eq!(window.start_of("communication"), Some(default));
        assert_eq!(window.start_of("no_such_category"), Some(default));
        assert_eq!(window.start_for(Activity::from_key("team.user_logged_in")), Some(team));
        assert_eq!(window.start_for(None), Some(default));
        assert!(window.is_own("team") && window.is_own("system_log") && !window.is_own("case"));
        assert!(!window.keeps_everything());
        assert!(RetentionWindow::uniform(None).keeps_everything());
        assert!(!RetentionWindow::new(None, |c| (c == "case").then_some(Some(default))).keeps_everything());
    }
}
