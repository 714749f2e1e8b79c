//! Helpers the conformance tests share: realistic events built through the real ingest
//! parser, one-batch appends, whole-chain reads and browse shortcuts.
//!
//! They are public so a backend's own tests can build the same events.

use std::collections::HashSet;

use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::query::BrowseQuery;
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_core::{Event, NewEvent, Timestamp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{AccountId, AppendBatch, Appended, Page, Store};

/// Ingest rules that accept anything valid: no retention window, reserved types allowed.
pub fn rules() -> IngestRules {
    IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: true }
}

/// Parses a request body (one event or `{"events": [...]}`) as the server would.
pub fn parse_events(body: Value) -> Vec<NewEvent> {
    match parse_ingest(&body, &rules()) {
        Ok(events) => events,
        Err(err) => panic!("test event refused by the ingest parser: {err:?}\nbody: {body}"),
    }
}

/// Parses one event object.
pub fn new_event(body: Value) -> NewEvent {
    let mut events = parse_events(body);
    assert_eq!(events.len(), 1, "one event object parses to one event");
    events.remove(0)
}

/// A small valid event: a `case.updated` by `u_test` with this description, now.
pub fn plain(description: &str) -> NewEvent {
    new_event(json!({
        "actor": {"id": "u_test", "name": "Test User"},
        "activity": "case.updated",
        "description": description,
    }))
}

/// Like [`plain`], with an idempotency key.
pub fn keyed(key: &str, description: &str) -> NewEvent {
    new_event(json!({
        "idempotency_key": key,
        "actor": {"id": "u_test", "name": "Test User"},
        "activity": "case.updated",
        "description": description,
    }))
}

/// A valid event by `actor` (id and name alike) of `activity` at `occurred_at`.
pub fn at(actor: &str, activity: &str, occurred_at: &str, description: &str) -> NewEvent {
    new_event(json!({
        "occurred_at": occurred_at,
        "actor": {"id": actor, "name": actor},
        "activity": activity,
        "description": description,
    }))
}

/// A `case.updated` by `u_test` at `occurred_at`, related to `related` (a JSON array
/// of `{"type", "id", "name"}`).
pub fn related_at(occurred_at: &str, description: &str, related: Value) -> NewEvent {
    new_event(json!({
        "occurred_at": occurred_at,
        "actor": {"id": "u_test", "name": "Test User"},
        "activity": "case.updated",
        "description": description,
        "related": related,
    }))
}

/// Parses an RFC 3339 timestamp, panicking on a typo in a test.
pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap_or_else(|e| panic!("bad test timestamp {s:?}: {e}"))
}

/// Creates an account and returns its id.
pub async fn new_account(store: &dyn Store, name: &str) -> AccountId {
    store.create_account(name).await.expect("create_account").id
}

/// Appends one batch for one account in its own call; checks the answer's shape.
pub async fn append(store: &dyn Store, account: AccountId, events: Vec<NewEvent>) -> Vec<Appended> {
    let n = events.len();
    let mut answer = store.append(vec![AppendBatch { account_id: account, events }]).await.expect("append");
    assert_eq!(answer.len(), 1, "append answers one list per batch");
    let answer = answer.remove(0);
    assert_eq!(answer.len(), n, "append answers one entry per event, in input order");
    answer
}

/// The seqs of an append's answer.
pub fn seqs_of(appended: &[Appended]) -> Vec<u64> {
    appended.iter().map(|a| a.seq).collect()
}

/// The whole chain of an account, in seq order, read in pages of 100.
pub async fn whole_chain(store: &dyn Store, account: AccountId) -> Vec<ChainedEvent> {
    let mut out: Vec<ChainedEvent> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.seq);
        let page = store.chain(account, after, 100).await.expect("chain");
        assert!(page.len() <= 100, "chain() returned {} events for limit 100", page.len());
        let mut last = after;
        for e in &page {
            assert!(
                e.seq > last,
                "chain(after_seq {after}) returned seq {} after seq {last}: not ascending past after_seq",
                e.seq
            );
            last = e.seq;
        }
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Parses a stored body, panicking with the body when it does not parse.
pub fn body(event: &ChainedEvent) -> Event {
    event.event().unwrap_or_else(|e| panic!("stored body of seq {} does not parse: {e}\n{}", event.seq, event.body))
}

/// Asserts what every chain must be: seqs 1..=n, genesis first, each link on its
/// predecessor, every hash consistent with its body, every body this account's.
pub fn assert_chain(account: AccountId, chain: &[ChainedEvent]) {
    let mut prev = ChainHash::GENESIS;
    let mut ids = HashSet::new();
    for (i, e) in chain.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        assert_eq!(e.seq, expected_seq, "seqs must be 1, 2, 3, ... without gaps");
        assert_eq!(e.prev_hash, prev, "seq {} must link to the hash of seq {}", e.seq, e.seq - 1);
        assert!(e.hash_is_consistent(), "seq {}: hash does not match prev_hash and body", e.seq);
        let ev = body(e);
        assert_eq!(ev.seq, e.seq, "the body's seq is the chain seq");
        assert_eq!(ev.account_id, account, "seq {} belongs to another account", e.seq);
        assert!(ids.insert(ev.id), "event id {} appears twice in the chain", ev.id);
        prev = e.hash;
    }
}

/// Builds a query from parameters, as the server does (UTC, no extra parameters).
pub fn query(pairs: &[(&str, &str)]) -> BrowseQuery {
    let params: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    BrowseQuery::from_params(&params, &jiff::tz::TimeZone::UTC, &[])
        .unwrap_or_else(|e| panic!("bad test query {pairs:?}: {e}"))
}

/// One page; panics on an error, naming the query.
pub async fn page(store: &dyn Store, account: AccountId, q: &BrowseQuery) -> Page {
    match store.events(account, q).await {
        Ok(page) => page,
        Err(e) => panic!("events() failed for {q:?}: {e:?}"),
    }
}

/// The seqs matching the parameters, newest first, in one page of up to 500.
/// Also checks that the page is complete, ordered and this account's own.
pub async fn browse(store: &dyn Store, account: AccountId, pairs: &[(&str, &str)]) -> Vec<u64> {
    let mut pairs = pairs.to_vec();
    pairs.push(("limit", "500"));
    let q = query(&pairs);
    let page = page(store, account, &q).await;
    assert!(page.next_cursor.is_none(), "{pairs:?}: a page holding every match has no next_cursor");
    assert_newest_first(&page.events);
    for e in &page.events {
        assert_eq!(body(e).account_id, account, "{pairs:?}: returned another account's event");
    }
    page.events.iter().map(|e| e.seq).collect()
}

/// Asserts the browse order: newest `occurred_at` first, ties by higher `seq` first.
pub fn assert_newest_first(events: &[ChainedEvent]) {
    let keys: Vec<(Timestamp, u64)> = events.iter().map(|e| (body(e).occurred_at, e.seq)).collect();
    for pair in keys.windows(2) {
        assert!(pair[0] > pair[1], "browse order broken: {:?} came before {:?}", pair[0], pair[1]);
    }
}

/// How far a store's clock (a database server's, say) may be off from this process's.
pub const CLOCK_SLACK_MILLIS: i64 = 5_000;

/// Asserts that a time the store set lies between `before` and `after` (taken around
/// the call), give or take [`CLOCK_SLACK_MILLIS`].
pub fn assert_at_time(what: &str, at: Timestamp, before: Timestamp, after: Timestamp) {
    let (lo, hi) = (before.plus_millis(-CLOCK_SLACK_MILLIS), after.plus_millis(CLOCK_SLACK_MILLIS));
    assert!(lo <= at && at <= hi, "{what} {at} is not the time of the call ({before} .. {after})");
}

/// A random id, of whichever kind the call needs, that no store has handed out.
pub fn unknown_id<Id: From<Uuid>>() -> Id {
    Id::from(Uuid::now_v7())
}
