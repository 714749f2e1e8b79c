//! Masking (docs/API.md §14): the account's patterns, recorded when they change, and
//! the step of ingest that replaces matching values with fingerprints before the
//! writer ever sees the events — so a masked value is never stored, hashed, indexed
//! for search or logged.
//!
//! The fingerprint key is the store's (one per account, shared by every server on
//! the database); this process keeps each account's key in memory once read, since
//! a key never changes.

use std::collections::BTreeMap;

use casetrail_core::mask::{FingerprintKey, Masker, Pattern};
use casetrail_core::query::BrowseQuery;
use casetrail_core::{Actor, Change, NewEvent, OwnActivity, RecordType, Related};
use casetrail_store::{Account, AccountChange, AccountId, Appended, Transition};
use serde_json::{Map, Value};

use crate::{App, AppResult, AuditEvent};

/// How many of the newest events the preview looks at.
pub const PREVIEW_EVENTS: u32 = 500;

impl App {
    /// The account's fingerprint key, made (from the operating system's random
    /// numbers) the first time any server needs it.
    pub async fn fingerprint_key(&self, account: AccountId) -> AppResult<FingerprintKey> {
        if let Some(key) = self.fingerprint_keys.lock().unwrap_or_else(|p| p.into_inner()).get(&account) {
            return Ok(key.clone());
        }
        let mut candidate = [0u8; 32];
        getrandom::fill(&mut candidate).expect("the operating system's random number generator failed");
        let key = self.store.fingerprint_key(account, FingerprintKey::from_bytes(candidate)).await?;
        self.fingerprint_keys.lock().unwrap_or_else(|p| p.into_inner()).insert(account, key.clone());
        Ok(key)
    }

    /// What ingest masks this account's events with.
    pub async fn masker(&self, account: &Account) -> AppResult<Masker> {
        Ok(Masker::new(&account.masking, self.fingerprint_key(account.id).await?))
    }

    /// Ingest of a host's events: masks them with the account's patterns, then
    /// appends them through the writer and waits for their commit.
    pub async fn ingest(&self, account: &Account, mut events: Vec<NewEvent>) -> AppResult<Vec<Appended>> {
        if !account.masking.is_empty() {
            let masker = self.masker(account).await?;
            events.iter_mut().for_each(|event| masker.mask_event(event));
        }
        self.append(account.id, events).await
    }
}

/// Replaces the account's patterns (already checked by
/// [`casetrail_core::mask::parse_patterns`]) and records `settings.updated` with the
/// list before and after; setting the same list records nothing.
pub async fn set_masking(app: &App, actor: &Actor, account: AccountId, patterns: Vec<String>) -> AppResult<Account> {
    let actor = actor.clone();
    let record = Box::new(move |t: &Transition<Account>| {
        if t.before.masking == t.after.masking {
            return None;
        }
        let change = Change {
            field: "masking.fields".into(),
            before: t.before.masking.clone().into(),
            after: t.after.masking.clone().into(),
        };
        let event = AuditEvent::new(actor, OwnActivity::SettingsUpdated, "Updated masking patterns")
            .related(Related { kind: RecordType::Setting, id: "masking".into(), name: Some("Masking".into()) })
            .changes(vec![change])
            .build();
        Some(event)
    });
    Ok(app.noted(app.store.change_account(account, AccountChange::Masking(patterns), record).await?).value.after)
}

/// One field path that a pattern would hide, and in how many of the newest events
/// it appears unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewPath {
    pub path: String,
    pub events: u64,
}

/// What `pattern` would hide if it were added: the change fields and metadata paths
/// of the account's newest [`PREVIEW_EVENTS`] events that it matches, most frequent
/// first. Events already stored keep their values; this shows what future events of
/// the same shape would lose.
pub async fn preview(app: &App, account: AccountId, pattern: &Pattern) -> AppResult<Vec<PreviewPath>> {
    let query = BrowseQuery { filter: Default::default(), cursor: None, limit: PREVIEW_EVENTS };
    let page = app.store.events(account, &query).await?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for chained in &page.events {
        let Ok(event) = chained.event() else { continue };
        let mut paths: Vec<String> = event.changes.iter().map(|c| c.field.clone()).collect();
        metadata_paths(&event.metadata, &mut String::new(), &mut paths);
        paths.retain(|p| pattern.matches(p));
        paths.sort();
        paths.dedup();
        for path in paths {
            *counts.entry(path).or_default() += 1;
        }
    }
    let mut found: Vec<PreviewPath> = counts.into_iter().map(|(path, events)| PreviewPath { path, events }).collect();
    found.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.path.cmp(&b.path)));
    Ok(found)
}

/// Every dotted path of `members`, objects walked into (a pattern may match any level).
fn metadata_paths(members: &Map<String, Value>, prefix: &mut String, out: &mut Vec<String>) {
    for (key, value) in members {
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(key);
        out.push(prefix.clone());
        if let Value::Object(inner) = value {
            metadata_paths(inner, prefix, out);
        }
        prefix.truncate(len);
    }
}
