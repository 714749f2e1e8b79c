//! Keyset pagination: walking every page returns every matching event exactly once, in
//! order, even while new events are being appended.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use casetrail_core::chain::ChainedEvent;
use casetrail_core::{NewEvent, Timestamp};

use super::support::*;
use serde_json::json;

use crate::{AccountId, Store};

/// Event `i` of the paging fixture: ten instants, two events at each, appended in an
/// order unlike their time order; actors alternate `u_even` / `u_odd`.
fn fixture_event(i: usize) -> NewEvent {
    let minute = (i * 7) % 10;
    let actor = if i.is_multiple_of(2) { "u_even" } else { "u_odd" };
    at(actor, "case.updated", &format!("2026-03-01T09:{minute:02}:00Z"), &format!("Paged event number {i}"))
}

/// Appends the 20 fixture events (in three calls) and returns (occurred_at, seq) of
/// each, by seq.
async fn paging_fixture(store: &dyn Store, account: AccountId) -> Vec<(Timestamp, u64)> {
    let events: Vec<NewEvent> = (0..20).map(fixture_event).collect();
    let mut keys = Vec::new();
    for chunk in [&events[..7], &events[7..8], &events[8..]] {
        let appended = append(store, account, chunk.to_vec()).await;
        for (e, a) in chunk.iter().zip(appended) {
            keys.push((e.occurred_at, a.seq));
        }
    }
    assert_eq!(keys.iter().map(|k| k.1).collect::<Vec<_>>(), (1..=20).collect::<Vec<u64>>());
    keys
}

/// The expected browse order of (occurred_at, seq) keys.
fn newest_first(mut keys: Vec<(Timestamp, u64)>) -> Vec<u64> {
    keys.sort_by(|a, b| b.cmp(a));
    keys.into_iter().map(|k| k.1).collect()
}

/// Walks every page of a browse, passing each `next_cursor` back as the server would
/// (encoded, then decoded from the query string). Checks each page's size.
pub async fn walk(store: &dyn Store, account: AccountId, pairs: &[(&str, &str)], limit: u32) -> Vec<ChainedEvent> {
    walk_from(store, account, pairs, limit, None, Duration::ZERO).await
}

/// Like [`walk`], starting at `cursor` (encoded) and pausing between pages.
async fn walk_from(
    store: &dyn Store,
    account: AccountId,
    pairs: &[(&str, &str)],
    limit: u32,
    mut cursor: Option<String>,
    pause: Duration,
) -> Vec<ChainedEvent> {
    let limit_text = limit.to_string();
    let mut out: Vec<ChainedEvent> = Vec::new();
    for page_no in 0.. {
        assert!(page_no < 10_000, "the walk does not end");
        let mut params = pairs.to_vec();
        params.push(("limit", &limit_text));
        if let Some(c) = &cursor {
            params.push(("cursor", c));
        }
        let p = page(store, account, &query(&params)).await;
        assert!(p.events.len() <= limit as usize, "page {page_no} holds {} events, over limit {limit}", p.events.len());
        if page_no > 0 || cursor.is_some() {
            assert!(!p.events.is_empty(), "page {page_no} is empty: the page before it should have had no next_cursor");
        }
        out.extend(p.events.iter().cloned());
        match p.next_cursor {
            Some(next) => {
                assert_eq!(p.events.len(), limit as usize, "page {page_no} has a next_cursor, so it must be full");
                cursor = Some(next.encode());
            }
            None => return out,
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    unreachable!()
}

fn seqs(events: &[ChainedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

/// Pages of 3 (and 1, 7, 10, 20, 500) over 20 events, pairs of them at equal
/// instants: every event exactly once, in order; the last page has no next_cursor.
pub async fn paging_walks_every_event_once(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Paging LLP").await;
    let expected = newest_first(paging_fixture(store, account).await);

    for limit in [3, 1, 7, 10, 20, 500] {
        let walked = walk(store, account, &[], limit).await;
        assert_eq!(seqs(&walked), expected, "walk with limit {limit}");
        assert_newest_first(&walked);
    }

    let three = query(&[("limit", "3")]);
    let mut p = page(store, account, &three).await;
    let mut sizes = vec![p.events.len()];
    while let Some(c) = p.next_cursor {
        let q = query(&[("limit", "3"), ("cursor", &c.encode())]);
        p = page(store, account, &q).await;
        sizes.push(p.events.len());
    }
    assert_eq!(sizes, [3, 3, 3, 3, 3, 3, 2], "20 events in pages of 3");
}

/// Paging composes with filters.
pub async fn paging_with_filters(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Filtered Paging LLP").await;
    let keys = paging_fixture(store, account).await;
    let evens: Vec<(Timestamp, u64)> = keys.iter().copied().filter(|k| k.1 % 2 == 1).collect();
    let odds: Vec<(Timestamp, u64)> = keys.iter().copied().filter(|k| k.1 % 2 == 0).collect();

    let walked = walk(store, account, &[("actor", "u_even")], 3).await;
    assert_eq!(seqs(&walked), newest_first(evens.clone()), "actor filter, pages of 3");
    let walked = walk(store, account, &[("q", "paged"), ("actor", "u_odd")], 4).await;
    assert_eq!(seqs(&walked), newest_first(odds), "keywords and actor, pages of 4");
    let walked = walk(store, account, &[("from", "2026-03-01T09:03:00Z"), ("to", "2026-03-01T09:07:00Z")], 2).await;
    let in_range: Vec<(Timestamp, u64)> = keys
        .iter()
        .copied()
        .filter(|k| k.0 >= ts("2026-03-01T09:03:00Z") && k.0 < ts("2026-03-01T09:07:00Z"))
        .collect();
    assert_eq!(in_range.len(), 8);
    assert_eq!(seqs(&walked), newest_first(in_range), "time range, pages of 2");
    assert!(walk(store, account, &[("actor", "u_nobody")], 3).await.is_empty());
}

/// A walk that runs while events are appended (newer ones, which sort before where
/// the walk stands, and backdated ones) returns every original event exactly once,
/// never one twice, never a newer one, always in order.
pub async fn paging_is_stable_while_appending(store: Arc<dyn Store>) {
    let account = new_account(&*store, "Busy LLP").await;
    let original = newest_first(paging_fixture(&*store, account).await);

    // Start the walk before anything new arrives.
    let first = page(&*store, account, &query(&[("limit", "2")])).await;
    let mut walked = first.events.clone();
    let cursor = first.next_cursor.expect("20 events do not fit a page of 2");

    let writer_store = store.clone();
    let writer = tokio::spawn(async move {
        for round in 0..10 {
            let newer =
                at("u_new", "client.updated", &format!("2026-03-02T10:{round:02}:00Z"), &format!("newer {round}"));
            let older =
                at("u_old", "client.updated", &format!("2026-02-01T10:{round:02}:00Z"), &format!("older {round}"));
            let same = at("u_same", "client.updated", "2026-03-01T09:05:00Z", &format!("same instant {round}"));
            append(&*writer_store, account, vec![newer, older, same]).await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });

    tokio::time::sleep(Duration::from_millis(2)).await;
    let rest = walk_from(&*store, account, &[], 2, Some(cursor.encode()), Duration::from_millis(2)).await;
    walked.extend(rest);
    writer.await.expect("writer task panicked");

    assert_newest_first(&walked);
    let mut seen = HashSet::new();
    for e in &walked {
        assert!(seen.insert(e.seq), "seq {} returned twice by one walk", e.seq);
        let ev = body(e);
        assert_ne!(ev.actor.id, "u_new", "an event newer than the walk's position showed up: seq {}", e.seq);
    }
    let originals_seen: Vec<u64> = walked.iter().map(|e| e.seq).filter(|s| *s <= 20).collect();
    assert_eq!(originals_seen, original, "every original event exactly once, in order");

    // Afterwards, a fresh walk sees everything once.
    let everything = walk(&*store, account, &[], 3).await;
    assert_eq!(everything.len(), 50);
    assert_eq!(everything.iter().map(|e| e.seq).collect::<HashSet<_>>().len(), 50);
    assert_chain(account, &whole_chain(&*store, account).await);
}

/// Browse parameters, and which of the fixture's events (by number) they keep.
type Query<'a> = (&'a [(&'a str, &'a str)], &'a dyn Fn(usize) -> bool);

/// Keyword search pages the same whether a word matches a few events or thousands (a
/// backend may plan the two differently), alone and with other filters.
pub async fn search_pages_alike_for_rare_and_common_words(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Many Matches LLP").await;
    // 3000 events over 50 minutes, seq order not time order: every one says "common",
    // every 50th also "scarce", every 700th "rarely"; every 3rd is on case c_many.
    let mut keys = Vec::new();
    for chunk in 0..3usize {
        let events: Vec<_> = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                let at = format!("2026-04-01T10:{:02}:{:02}Z", (n * 7) % 50, n % 60);
                let mut text =
                    if n.is_multiple_of(50) { format!("Common note {n} scarce") } else { format!("Common note {n}") };
                if n.is_multiple_of(700) {
                    text += " rarely";
                }
                let related = if n.is_multiple_of(3) { json!([{"type": "case", "id": "c_many"}]) } else { json!([]) };
                new_event(json!({
                    "occurred_at": at, "actor": {"id": format!("u_{}", n % 4), "name": "Paging Person"},
                    "activity": "case.updated", "description": text, "related": related,
                }))
            })
            .collect();
        let appended = append(store, account, events).await;
        keys.extend(appended.iter().enumerate().map(|(i, a)| {
            let n = chunk * 1000 + i;
            (ts(&format!("2026-04-01T10:{:02}:{:02}Z", (n * 7) % 50, n % 60)), a.seq, n)
        }));
    }
    let expect =
        |keep: &dyn Fn(usize) -> bool| newest_first(keys.iter().filter(|k| keep(k.2)).map(|k| (k.0, k.1)).collect());
    let common = |_: usize| true;
    let scarce = |n: usize| n.is_multiple_of(50);
    let actor_case = |n: usize| n % 4 == 1 && n.is_multiple_of(3);
    let scarce_case = |n: usize| n.is_multiple_of(50) && n.is_multiple_of(3);
    let rarely = |n: usize| n.is_multiple_of(700);
    let rarely_scarce = |n: usize| n.is_multiple_of(700) && n.is_multiple_of(50);
    let scarce_actor = |n: usize| n.is_multiple_of(50) && n % 4 == 2;
    let cases: [Query<'_>; 9] = [
        (&[("q", "common")], &common),
        (&[("q", "scarce")], &scarce),
        (&[("q", "comm note")], &common),
        (&[("q", "common"), ("actor", "u_1"), ("case", "c_many")], &actor_case),
        (&[("q", "scarce"), ("case", "c_many")], &scarce_case),
        (&[("q", "rarely")], &rarely),
        (&[("q", "common rarely")], &rarely),
        (&[("q", "rarely scarce")], &rarely_scarce),
        (&[("q", "scarce"), ("actor", "u_2")], &scarce_actor),
    ];
    for (pairs, keep) in cases {
        let walked = walk(store, account, pairs, 500).await;
        assert_eq!(seqs(&walked), expect(keep), "{pairs:?}");
        assert_newest_first(&walked);
    }
}
