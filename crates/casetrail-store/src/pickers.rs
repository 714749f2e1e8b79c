//! What an append teaches the filter pickers (`EventStore::actors`, `records`): the
//! newest name of every actor and related record a transaction saw, gathered once per
//! transaction so each backend writes one upsert per actor and record.

use std::collections::HashMap;

use casetrail_core::Event;

/// Actors and records seen by one append transaction, keyed by the backend's internal
/// account key; for each, the name seen at the latest `occurred_at`.
#[derive(Debug, Default)]
pub struct PickerUpdates {
    /// (account key, actor id) → (name, email, occurred_at in ms).
    pub actors: HashMap<(i64, String), (String, Option<String>, i64)>,
    /// (account key, record type, record id) → (name, occurred_at in ms).
    pub records: HashMap<(i64, &'static str, String), (Option<String>, i64)>,
}

impl PickerUpdates {
    /// Notes the event's actor and related records; a later `occurred_at` wins.
    pub fn saw(&mut self, account_key: i64, event: &Event) {
        let at = event.occurred_at.as_millis();
        let actor = &event.actor;
        let entry = self.actors.entry((account_key, actor.id.clone())).or_insert((String::new(), None, i64::MIN));
        if at >= entry.2 {
            *entry = (actor.name.clone(), actor.email.clone(), at);
        }
        for r in &event.related {
            let entry = self.records.entry((account_key, r.kind.key(), r.id.clone())).or_insert((None, i64::MIN));
            if at >= entry.1 {
                *entry = (r.name.clone(), at);
            }
        }
    }
}

/// `" word word ..."`: each normalized word after a space, so `LIKE '% pre%'` is a
/// word-prefix match, the same on every backend.
pub fn picker_search(parts: &[Option<&String>]) -> String {
    let mut out = String::new();
    for word in parts.iter().flatten().flat_map(|p| casetrail_core::query::keywords(p)) {
        out.push(' ');
        out.push_str(&word);
    }
    out
}
