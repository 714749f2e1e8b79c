//! The rows a backend derives from each event's body at ingest besides its own
//! columns — the case/client links the filters use, the related-records index of
//! the record histories and the picker entries — and the comparison that
//! verification makes between them and what the body gives now.
//!
//! Ingest and verification call the same functions here ([`filter_links`],
//! [`history_links`], [`PickerUpdates`](crate::PickerUpdates), [`picker_search`]),
//! so a row that verification expects is exactly the row that ingest wrote. Each
//! backend reads its stored rows for a page of events and hands them to
//! [`PickerCheck`], [`links_agree`] and [`history_agrees`]; disagreements become [`Columns::derived`] entries, which the
//! verifier reports as `hash_mismatch` at the event's seq.
//!
//! What the pickers may legitimately hold: a purge removes events but never picker
//! entries (a picker lists what the log has seen), so an entry no retained event
//! names is not evidence of anything and is not checked. What every retained event
//! requires: an entry for its actor and for each related record, last seen no earlier
//! than the event, whose search words are those of its own name, email and id, and —
//! when this event is the newest mention of it — with this event's name.
//!
//! [`Columns::derived`]: casetrail_core::integrity::Columns::derived

use std::collections::HashMap;

use casetrail_core::chain::ChainedEvent;
use casetrail_core::integrity::Columns;
use casetrail_core::{Event, RecordType};

use crate::picker_search;

/// The case and client links of an event, `(type key, record id)`, sorted and
/// without repeats: the rows `event_records` holds for it, each with the event's
/// `occurred_at` and `seq`.
pub fn filter_links(event: &Event) -> Vec<(&'static str, &str)> {
    let mut links: Vec<(&'static str, &str)> = event
        .related
        .iter()
        .filter(|r| matches!(r.kind, RecordType::Case | RecordType::Client))
        .map(|r| (r.kind.key(), r.id.as_str()))
        .collect();
    links.sort_unstable();
    links.dedup();
    links
}

/// The related-records index rows of an event (`record_events`), `(type key,
/// record id, leads)`, sorted and without repeats: one per record it names, of every
/// type, `leads` when the record is its first related one and the event changed
/// something (a record named twice is one row, leading if either mention does).
///
/// Only a leading event's changes are in the record's field history (docs/API.md
/// §14), so the history reads those alone: a busy client's history then reads its few
/// hundred updates, not its thousands of messages.
pub fn history_links(event: &Event) -> Vec<(&'static str, &str, bool)> {
    let changed = !event.changes.is_empty();
    let mut links: Vec<(&'static str, &str, bool)> =
        event.related.iter().enumerate().map(|(i, r)| (r.kind.key(), r.id.as_str(), i == 0 && changed)).collect();
    // The mention at position 0 sorts after a later one of the same record (true >
    // false), so keeping the last of each record keeps its `leads`.
    links.sort_unstable();
    let mut out: Vec<(&'static str, &str, bool)> = Vec::with_capacity(links.len());
    for link in links {
        match out.last_mut() {
            Some(last) if (last.0, last.1) == (link.0, link.1) => *last = link,
            _ => out.push(link),
        }
    }
    out
}

/// The stored related-records index rows of a page, by seq: `(type key, record id,
/// occurred_at in ms, first)` each.
pub type StoredHistory = HashMap<u64, Vec<(String, String, i64, bool)>>;

/// Whether the stored index rows of one event, in any order, are exactly
/// [`history_links`] at the event's `occurred_at`.
pub fn history_agrees(event: &Event, stored: &mut [(String, String, i64, bool)]) -> bool {
    let at = event.occurred_at.as_millis();
    stored.sort_unstable();
    let expected = history_links(event);
    stored.len() == expected.len()
        && stored
            .iter()
            .zip(&expected)
            .all(|((kind, id, t, first), (k, i, f))| kind == k && id == i && *t == at && first == f)
}

/// The stored case/client links of a page, by seq: `(type key, record id,
/// occurred_at in ms)` each.
pub type StoredLinks = HashMap<u64, Vec<(String, String, i64)>>;

/// Whether the stored links of one event, `(type key, record id, occurred_at in ms)`
/// in any order, are exactly [`filter_links`] at the event's `occurred_at`.
pub fn links_agree(event: &Event, stored: &mut [(String, String, i64)]) -> bool {
    let at = event.occurred_at.as_millis();
    stored.sort_unstable();
    let expected = filter_links(event);
    stored.len() == expected.len()
        && stored.iter().zip(&expected).all(|((kind, id, t), (k, i))| kind == k && id == i && *t == at)
}

/// An `actors` row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredActor {
    pub name: String,
    pub email: Option<String>,
    pub search: String,
    pub last_seen: i64,
}

/// A `records` row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub name: Option<String>,
    pub search: String,
    pub last_seen: i64,
}

/// A stored entry as [`PickerCheck::run`] compares it: name, email (actors only),
/// `last_seen`.
type Entry<'s> = (Option<&'s str>, Option<&'s str>, i64);

/// A record type key as `&'static str` (the keys a page names are all known types).
fn label_kind(kind: &str) -> &'static str {
    RecordType::from_key(kind).map_or("", RecordType::key)
}

/// A picker entry, by what it is keyed on (besides the account).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PickerKey {
    Actor(String),
    Record(&'static str, String),
}

/// The kind a mention of an actor goes by inside [`PickerCheck::run`] (no record
/// type is empty).
const ACTOR: &str = "";

/// How the report names an entry of this kind (a record type key, or [`ACTOR`]).
fn label(kind: &str) -> &'static str {
    match RecordType::from_key(kind) {
        _ if kind == ACTOR => "actor picker entry",
        Some(RecordType::Case) => "case picker entry",
        Some(RecordType::Client) => "client picker entry",
        _ => "related record picker entry",
    }
}

impl PickerKey {
    /// How the report names an entry of this kind.
    pub fn label(&self) -> &'static str {
        match self {
            PickerKey::Actor(_) => label(ACTOR),
            PickerKey::Record(kind, _) => label(kind),
        }
    }
}

/// Every picker entry the events name, without repeats, sorted.
pub fn picker_keys<'e>(events: impl IntoIterator<Item = &'e Event>) -> Vec<PickerKey> {
    let mut keys = Vec::new();
    for event in events {
        keys.push(PickerKey::Actor(event.actor.id.clone()));
        keys.extend(event.related.iter().map(|r| PickerKey::Record(r.kind.key(), r.id.clone())));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A picker entry whose name differs from the newest mention of it in the page, when
/// that mention is as recent as the entry. It is a disagreement only if no later event
/// (in a later page, or purged) mentions it at the same `occurred_at`: the backend
/// asks its database, then calls [`PickerCheck::confirm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCandidate {
    /// The event's position in the page.
    pub index: usize,
    pub seq: u64,
    pub key: PickerKey,
    pub occurred_at: i64,
}

/// The picker disagreements of one page of events (in seq order).
#[derive(Debug, Default)]
pub struct PickerCheck {
    /// `(position in the page, label)` of every disagreement found so far.
    found: Vec<(usize, &'static str)>,
    /// Names to confirm with the database.
    pub candidates: Vec<NameCandidate>,
}

impl PickerCheck {
    /// Compares each event of the page (its position in the page and its seq beside
    /// it, in seq order) with the stored entries it names (absent from the maps when
    /// there is no row).
    pub fn run(
        page: &[(usize, u64, &Event)],
        actors: &HashMap<String, StoredActor>,
        records: &HashMap<(&'static str, String), StoredRecord>,
    ) -> PickerCheck {
        // Entries whose search words are not their own name's, email's and id's are
        // as good as absent: checked once per entry, not per mention.
        let actors: HashMap<(&str, &str), Entry<'_>> = actors
            .iter()
            .filter(|(id, s)| s.search == picker_search(&[Some(&s.name), s.email.as_ref(), Some(id)]))
            .map(|(id, s)| ((ACTOR, id.as_str()), (Some(s.name.as_str()), s.email.as_deref(), s.last_seen)))
            .collect();
        let records: HashMap<(&str, &str), Entry<'_>> = records
            .iter()
            .filter(|((_, id), s)| s.search == picker_search(&[s.name.as_ref(), Some(id)]))
            .map(|((kind, id), s)| ((*kind, id.as_str()), (s.name.as_deref(), None, s.last_seen)))
            .collect();
        let mut check = PickerCheck::default();
        // The newest `occurred_at` of any later mention in the page, by entry: a
        // mention with a later one at the same time or after is not the one whose
        // name the entry keeps (ingest lets the later of equal times win).
        let mut later: HashMap<(&str, &str), i64> = HashMap::new();
        for &(index, seq, event) in page.iter().rev() {
            let at = event.occurred_at.as_millis();
            let actor = &event.actor;
            // (entry, what this event says of it: a record's name only when it has
            // one; an actor's name and email always), the last mention first.
            let records_named = event.related.iter().rev().map(|r| {
                let key = (r.kind.key(), r.id.as_str());
                (key, records.get(&key), r.name.as_deref().map(|n| (n, None)))
            });
            let key = (ACTOR, actor.id.as_str());
            let mentions = records_named.chain(std::iter::once((
                key,
                actors.get(&key),
                Some((actor.name.as_str(), Some(actor.email.as_deref()))),
            )));
            for (key, stored, says) in mentions {
                let newest = later.get(&key).is_none_or(|t| *t < at);
                match (stored, says) {
                    (None, _) => check.note(index, label(key.0)),
                    (Some((_, _, seen)), _) if *seen < at => check.note(index, label(key.0)),
                    (Some((name, email, seen)), Some((said, said_email)))
                        if newest
                            && *seen == at
                            && (*name != Some(said) || said_email.is_some_and(|e| e != *email)) =>
                    {
                        let key = match key {
                            (ACTOR, id) => PickerKey::Actor(id.to_string()),
                            (kind, id) => PickerKey::Record(label_kind(kind), id.to_string()),
                        };
                        check.candidates.push(NameCandidate { index, seq, key, occurred_at: at });
                    }
                    _ => {}
                }
                let t = later.entry(key).or_insert(at);
                *t = (*t).max(at);
            }
        }
        check
    }

    /// Records a candidate the database found no later mention for.
    pub fn confirm(&mut self, candidate: &NameCandidate) {
        self.note(candidate.index, candidate.key.label());
    }

    fn note(&mut self, index: usize, label: &'static str) {
        self.found.push((index, label));
    }

    /// The disagreements by position in the page, each label once per event.
    pub fn finish(mut self) -> Vec<(usize, &'static str)> {
        self.found.sort_unstable();
        self.found.dedup();
        self.found
    }
}

/// Label of a disagreeing `event_records` set.
const LINKS: &str = "case or client link";
/// Label of a disagreeing set of `record_events` rows.
const HISTORY: &str = "record history index entry";
/// Label of a disagreeing search index entry.
const SEARCH_ENTRY: &str = "search index entry";

/// The stored picker entries a page names, by key (a key without a row is absent).
pub type StoredPickers = (HashMap<String, StoredActor>, HashMap<(&'static str, String), StoredRecord>);

/// One page of chain rows being checked: each body parsed once, and the
/// disagreements found so far by position in the page.
#[derive(Debug)]
pub struct DerivedPage {
    seqs: Vec<u64>,
    /// `None` for a body that is not an event: the verifier reports it as it is.
    events: Vec<Option<Event>>,
    found: Vec<(usize, &'static str)>,
}

impl DerivedPage {
    pub fn parse<'r>(rows: impl IntoIterator<Item = &'r ChainedEvent>) -> DerivedPage {
        let (seqs, events) = rows.into_iter().map(|e| (e.seq, serde_json::from_str(&e.body).ok())).unzip();
        DerivedPage { seqs, events, found: Vec::new() }
    }

    /// The first and last seq of the page.
    pub fn seq_range(&self) -> Option<(i64, i64)> {
        Some((*self.seqs.first()? as i64, *self.seqs.last()? as i64))
    }

    /// Each parsed event with its position in the page and its seq, in seq order.
    pub fn events(&self) -> Vec<(usize, u64, &Event)> {
        self.events.iter().enumerate().filter_map(|(i, e)| e.as_ref().map(|e| (i, self.seqs[i], e))).collect()
    }

    /// Compares each event's [`filter_links`] with the stored links of the page, by
    /// seq: `(type key, record id, occurred_at in ms)`.
    pub fn check_links(&mut self, mut stored: StoredLinks) {
        for i in 0..self.events.len() {
            let Some(event) = &self.events[i] else { continue };
            let mut links = stored.remove(&self.seqs[i]).unwrap_or_default();
            if !links_agree(event, &mut links) {
                self.found.push((i, LINKS));
            }
        }
    }

    /// Compares each event's [`history_links`] with the stored related-records index
    /// rows of the page, by seq.
    pub fn check_history(&mut self, mut stored: StoredHistory) {
        for i in 0..self.events.len() {
            let Some(event) = &self.events[i] else { continue };
            let mut rows = stored.remove(&self.seqs[i]).unwrap_or_default();
            if !history_agrees(event, &mut rows) {
                self.found.push((i, HISTORY));
            }
        }
    }

    /// Writes the disagreements into the page's columns, in page order: the links
    /// found so far, the pickers' (their candidates settled), and the positions whose
    /// search entry disagrees.
    pub fn apply<'c>(
        mut self,
        pickers: PickerCheck,
        search: &[usize],
        columns: impl IntoIterator<Item = &'c mut Columns>,
    ) {
        self.found.extend(pickers.finish());
        self.found.extend(search.iter().map(|i| (*i, SEARCH_ENTRY)));
        self.found.sort_unstable();
        self.found.dedup();
        let mut found = self.found.into_iter().peekable();
        for (i, c) in columns.into_iter().enumerate() {
            while let Some((_, label)) = found.next_if(|(at, _)| *at == i) {
                c.derived.push(label);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_links_are_one_row_per_record_leading_if_any_mention_does() {
        let body = serde_json::json!({
            "id": "018f0000-0000-7000-8000-000000000000", "account_id": "018f0000-0000-7000-8000-000000000001",
            "seq": 7, "occurred_at": "2026-11-25T10:00:00.000Z", "recorded_at": "2026-11-25T10:00:00.000Z",
            "actor": {"id": "u_1", "name": "Jane", "email": null, "type": "user"},
            "activity": "case.updated", "description": "x", "metadata": {}, "context": {},
            "changes": [{"field": "status", "before": "Intake", "after": "Active"}],
            "related": [{"type": "case", "id": "c_1", "name": null}, {"type": "user", "id": "u_9", "name": null},
                        {"type": "case", "id": "c_1", "name": "Again"}, {"type": "client", "id": "c_1", "name": null}],
        });
        let mut event: Event = serde_json::from_value(body).expect("an event body");
        assert_eq!(history_links(&event), [("case", "c_1", true), ("client", "c_1", false), ("user", "u_9", false)]);
        let mut stored = vec![
            ("user".to_string(), "u_9".to_string(), event.occurred_at.as_millis(), false),
            ("case".to_string(), "c_1".to_string(), event.occurred_at.as_millis(), true),
            ("client".to_string(), "c_1".to_string(), event.occurred_at.as_millis(), false),
        ];
        assert!(history_agrees(&event, &mut stored));
        // Sorted now: case, client, user.
        stored[2].3 = true;
        assert!(!history_agrees(&event, &mut stored), "a flipped `leads` disagrees");
        stored[2].3 = false;
        assert!(!history_agrees(&event, &mut stored[..2]), "a missing row disagrees");
        // An event that changed nothing leads no record, not even its first.
        event.changes.clear();
        assert_eq!(history_links(&event), [("case", "c_1", false), ("client", "c_1", false), ("user", "u_9", false)]);
        assert!(!history_agrees(&event, &mut stored), "stored as leading, it disagrees");
    }
}
