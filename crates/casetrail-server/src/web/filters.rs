//! The log's filters as they live in the URL: read from the query string, written
//! back into links (chips that remove one filter, paging links that keep them all),
//! and shown in the filter form's pickers.

use std::collections::HashMap;

use casetrail_core::activity::{self, CATEGORIES};
use casetrail_core::{Activity, RecordType};
use casetrail_store::{ActorSummary, RecordSummary};
use jiff::tz::TimeZone;

use super::LOG_PATH;
use super::format::{date_label, encode};

/// The filters of the URL, as the reader gave them (trimmed; blanks dropped).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub q: String,
    pub from: String,
    pub to: String,
    pub actors: Vec<String>,
    pub activities: Vec<String>,
    pub case: String,
    pub client: String,
    /// Page size, kept in links when the URL sets one.
    pub limit: String,
}

impl Filters {
    pub fn from_params(params: &[(String, String)]) -> Filters {
        let mut f = Filters::default();
        for (key, value) in params {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let value = value.to_string();
            match key.as_str() {
                "q" => f.q = value,
                "from" => f.from = value,
                "to" => f.to = value,
                "actor" if !f.actors.contains(&value) => f.actors.push(value),
                "activity" if !f.activities.contains(&value) => f.activities.push(value),
                "case" => f.case = value,
                "client" => f.client = value,
                "limit" => f.limit = value,
                _ => {}
            }
        }
        f
    }

    /// The query pairs, in a stable order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let mut one = |key: &'static str, value: &String| {
            if !value.is_empty() {
                pairs.push((key, value.clone()));
            }
        };
        one("q", &self.q);
        one("from", &self.from);
        one("to", &self.to);
        for a in &self.actors {
            one("actor", a);
        }
        for a in &self.activities {
            one("activity", a);
        }
        one("case", &self.case);
        one("client", &self.client);
        one("limit", &self.limit);
        pairs
    }

    /// How many filters narrow the log (the page size is not one).
    pub fn count(&self) -> usize {
        self.pairs().iter().filter(|(k, _)| *k != "limit").count()
    }

    /// The log with these filters and extra pairs (cursor, prev).
    pub fn href(&self, extra: &[(&'static str, String)]) -> String {
        href(self.pairs().into_iter().chain(extra.iter().cloned()))
    }

    /// Chips for the active filters, each a link to the log without it.
    pub fn chips(&self, names: &Names, tz: &TimeZone) -> Vec<Chip> {
        let pairs = self.pairs();
        pairs
            .iter()
            .enumerate()
            .filter(|(_, (key, _))| *key != "limit")
            .map(|(i, (key, value))| {
                let (label, text) = match *key {
                    "q" => ("Search", format!("\u{201c}{value}\u{201d}")),
                    "from" => ("From", date_label(value, tz)),
                    "to" => ("Through", date_label(value, tz)),
                    "actor" => ("User", names.actor(value)),
                    "activity" => ("Activity", activity_label(value)),
                    "case" => ("Case", names.record(RecordType::Case, value)),
                    _ => ("Client", names.record(RecordType::Client, value)),
                };
                let rest = pairs.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| p.clone());
                Chip { label, text, remove_href: href(rest) }
            })
            .collect()
    }
}

fn href(pairs: impl Iterator<Item = (&'static str, String)>) -> String {
    let query: Vec<String> = pairs.map(|(k, v)| format!("{k}={}", encode(&v))).collect();
    if query.is_empty() { LOG_PATH.to_string() } else { format!("{LOG_PATH}?{}", query.join("&")) }
}

/// How an `activity` value reads: a type's label, or a whole category.
pub fn activity_label(value: &str) -> String {
    if let Some(a) = Activity::from_key(value) {
        return a.label().to_string();
    }
    match activity::category(value) {
        Some(c) => format!("All {} activity", c.label),
        None => value.to_string(),
    }
}

/// A quick date range: a link to the log over those days, filters kept.
#[derive(Debug, Clone)]
pub struct Preset {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

/// Today, yesterday, the last 7 and the last 30 days, in the firm's time zone.
pub fn date_presets(filters: &Filters, tz: &TimeZone) -> Vec<Preset> {
    use jiff::ToSpan;
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date();
    [("Today", 0, 0), ("Yesterday", 1, 1), ("Last 7 days", 6, 0), ("Last 30 days", 29, 0)]
        .into_iter()
        .map(|(label, first, last)| {
            let mut f = filters.clone();
            f.from = today.saturating_sub(i64::from(first).days()).to_string();
            f.to = today.saturating_sub(i64::from(last).days()).to_string();
            Preset { label, active: f.from == filters.from && f.to == filters.to, href: f.href(&[]) }
        })
        .collect()
}

/// One removable filter.
#[derive(Debug, Clone)]
pub struct Chip {
    pub label: &'static str,
    pub text: String,
    pub remove_href: String,
}

/// Names of the actors and records the filters name by id.
#[derive(Debug, Default)]
pub struct Names {
    actors: HashMap<String, String>,
    records: HashMap<(RecordType, String), String>,
}

impl Names {
    pub fn add_actors(&mut self, actors: &[ActorSummary]) {
        for a in actors {
            self.actors.insert(a.id.clone(), a.name.clone());
        }
    }

    pub fn add_records(&mut self, records: &[RecordSummary]) {
        for r in records {
            let name = r.name.clone().unwrap_or_else(|| r.id.clone());
            self.records.insert((r.kind, r.id.clone()), name);
        }
    }

    pub fn has_actor(&self, id: &str) -> bool {
        self.actors.contains_key(id)
    }

    pub fn has_record(&self, kind: RecordType, id: &str) -> bool {
        self.records.contains_key(&(kind, id.to_string()))
    }

    pub fn actor(&self, id: &str) -> String {
        self.actors.get(id).cloned().unwrap_or_else(|| id.to_string())
    }

    pub fn record(&self, kind: RecordType, id: &str) -> String {
        self.records.get(&(kind, id.to_string())).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// One `<option>`.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    /// A second line in the type-ahead (an email, an id).
    pub detail: String,
    pub selected: bool,
}

/// A select of actors or records that the script turns into a type-ahead.
#[derive(Debug, Clone)]
pub struct Picker {
    /// The query parameter.
    pub name: &'static str,
    pub label: &'static str,
    /// The option that filters nothing.
    pub any: &'static str,
    /// Where the type-ahead looks things up (`q` is appended).
    pub source: &'static str,
    pub placeholder: &'static str,
    pub options: Vec<Opt>,
    /// Whether the URL filters by it.
    pub active: bool,
}

/// The options in name order. The one the URL selects is always among them, so
/// submitting the form from another filter never drops it.
fn sorted(mut options: Vec<Opt>, selected: &str) -> Vec<Opt> {
    if !selected.is_empty() && !options.iter().any(|o| o.value == selected) {
        options.push(Opt {
            value: selected.to_string(),
            label: selected.to_string(),
            detail: String::new(),
            selected: true,
        });
    }
    options.sort_by_cached_key(|o| o.label.to_lowercase());
    options
}

pub fn actor_picker(actors: &[ActorSummary], selected: &[String]) -> Picker {
    let options = actors
        .iter()
        .map(|a| Opt {
            value: a.id.clone(),
            label: a.name.clone(),
            detail: a.email.clone().unwrap_or_else(|| a.id.clone()),
            selected: selected.first() == Some(&a.id),
        })
        .collect();
    Picker {
        name: "actor",
        label: "User",
        any: "Anyone",
        source: "/api/v1/actors",
        placeholder: "Anyone \u{2014} type a name",
        options: sorted(options, selected.first().map_or("", String::as_str)),
        active: !selected.is_empty(),
    }
}

pub fn record_picker(kind: RecordType, records: &[RecordSummary], selected: &str) -> Picker {
    let options = records
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| Opt {
            value: r.id.clone(),
            label: r.name.clone().unwrap_or_else(|| r.id.clone()),
            detail: r.id.clone(),
            selected: r.id == selected,
        })
        .collect();
    let (name, label, any, source, placeholder) = match kind {
        RecordType::Client => {
            ("client", "Client", "Any client", "/api/v1/records?type=client", "Any client \u{2014} type a name")
        }
        _ => ("case", "Case", "Any case", "/api/v1/records?type=case", "Any case \u{2014} type a name"),
    };
    Picker { name, label, any, source, placeholder, options: sorted(options, selected), active: !selected.is_empty() }
}

/// One `<optgroup>` of the activity select: the whole category, then its types.
#[derive(Debug, Clone)]
pub struct ActivityGroup {
    pub key: &'static str,
    pub label: &'static str,
    pub all_selected: bool,
    pub types: Vec<Opt>,
}

pub fn activity_groups(selected: &[String]) -> Vec<ActivityGroup> {
    let first = selected.first().map(String::as_str).unwrap_or("");
    CATEGORIES
        .iter()
        .map(|c| ActivityGroup {
            key: c.key,
            label: c.label,
            all_selected: first == c.key,
            types: c
                .types
                .iter()
                .map(|t| Opt {
                    value: t.key.to_string(),
                    label: t.label.to_string(),
                    detail: String::new(),
                    selected: first == t.key,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn chips_remove_one_filter_each() {
        let f = Filters::from_params(&params(&[
            ("q", "smith & co"),
            ("actor", "u_1"),
            ("activity", "case"),
            ("case", ""),
            ("cursor", "abc"),
            ("limit", "10"),
        ]));
        assert_eq!(f.count(), 3);
        let mut names = Names::default();
        names.add_actors(&[ActorSummary { id: "u_1".into(), name: "Jane Doe".into(), email: None }]);
        let chips = f.chips(&names, &TimeZone::UTC);
        assert_eq!(chips.len(), 3);
        assert_eq!(chips[0].text, "\u{201c}smith & co\u{201d}");
        assert_eq!(chips[0].remove_href, "/settings/system-log?actor=u_1&activity=case&limit=10");
        assert_eq!(chips[1].text, "Jane Doe");
        assert_eq!(chips[2].text, "All Case activity");
        assert_eq!(chips[2].remove_href, "/settings/system-log?q=smith+%26+co&actor=u_1&limit=10");
        assert_eq!(Filters::default().href(&[]), "/settings/system-log");
    }
}
