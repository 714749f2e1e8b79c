//! Common search words are applied by walking the log beside the index's matches
//! (`search.rs`), in statements of growing size: every page must be exactly the
//! filtered log in page order, across those statements and across cursors, when
//! arrival order and time disagree and events share a millisecond.

use casetrail_core::{NewEvent, Timestamp};
use casetrail_store::EventStore;
use casetrail_store::testing::support::{append, new_account, new_event, query};
use casetrail_store_sqlite::SqliteStore;
use serde_json::json;

const EVENTS: usize = 6000;

type Params = Vec<(&'static str, &'static str)>;

/// How many seconds before the newest one event `i` happened: a permutation of
/// arrival in which every second holds two events.
fn seconds_back(i: usize) -> i64 {
    ((i * 7919) % (EVENTS / 2)) as i64
}

fn event(i: usize, newest: Timestamp) -> NewEvent {
    let words = if i.is_multiple_of(3) { "alpha gamma" } else { "alpha beta" };
    new_event(json!({
        "occurred_at": newest.plus_millis(-seconds_back(i) * 1000).to_string(),
        "actor": {"id": format!("u_{}", i % 4), "name": "Walker"},
        "activity": "case.updated",
        "description": format!("{words} number{i}"),
        "related": [{"type": "case", "id": format!("c_{}", i % 2)}],
    }))
}

/// The seqs of every event `keep` takes, in page order (newest first, then the
/// higher seq); event `i` is seq `i + 1`.
fn expected(keep: impl Fn(usize) -> bool) -> Vec<u64> {
    let mut kept: Vec<usize> = (0..EVENTS).filter(|i| keep(*i)).collect();
    kept.sort_by_key(|i| (seconds_back(*i), std::cmp::Reverse(*i)));
    kept.into_iter().map(|i| i as u64 + 1).collect()
}

async fn every_page(store: &SqliteStore, account: casetrail_store::AccountId, params: &[(&str, &str)]) -> Vec<u64> {
    let mut q = query(params);
    let mut seqs = Vec::new();
    loop {
        let page = store.events(account, &q).await.unwrap();
        assert!(page.events.len() <= q.limit as usize);
        seqs.extend(page.events.iter().map(|e| e.seq));
        match page.next_cursor {
            Some(cursor) => q.cursor = Some(cursor),
            None => return seqs,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn common_words_page_through_the_log_in_order() {
    let store = SqliteStore::open_temporary().unwrap();
    let account = new_account(&store, "Walk LLP").await;
    let newest = Timestamp::now().plus_millis(-60_000);
    for from in (0..EVENTS).step_by(1000) {
        append(&store, account, (from..from + 1000).map(|i| event(i, newest)).collect()).await;
    }
    let cases: Vec<(Params, Vec<u64>)> = vec![
        (vec![("q", "alpha")], expected(|_| true)),
        (vec![("q", "alpha be")], expected(|i| i % 3 != 0)),
        // 2000 matches.
        (vec![("q", "gam")], expected(|i| i.is_multiple_of(3))),
        (vec![("q", "alpha"), ("actor", "u_1")], expected(|i| i % 4 == 1)),
        (vec![("q", "beta"), ("case", "c_1")], expected(|i| i % 3 != 0 && i % 2 == 1)),
        // 111 matches: the index drives pages of 500, the walk pages of 37.
        (vec![("q", "number59")], expected(|i| i.to_string().starts_with("59"))),
        (vec![("q", "alpha number")], expected(|_| true)),
    ];
    check_every_limit(&store, account, cases).await;
}

/// `number599` begins 11 index terms (`number599`, `number5990` … `number5999`).
fn begins_number599(i: usize) -> bool {
    i == 599 || (5990..6000).contains(&i)
}

/// Queries of several words: each word must begin some word of the event, whether the
/// store reads it as one term, as the OR of the terms it begins, or as a prefix, and
/// whether the index drives the page or the walk does. A second account's events share
/// the index: they must never show up, nor make another account's words match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_words_page_through_the_log_in_order() {
    let store = SqliteStore::open_temporary().unwrap();
    let account = new_account(&store, "Walk LLP").await;
    let other = new_account(&store, "Other LLP").await;
    let newest = Timestamp::now().plus_millis(-60_000);
    for from in (0..EVENTS).step_by(1000) {
        append(&store, account, (from..from + 1000).map(|i| event(i, newest)).collect()).await;
    }
    let others = (0..1000).map(|i| {
        new_event(json!({
            "occurred_at": newest.to_string(),
            "actor": {"id": "u_9", "name": "Other"},
            "activity": "case.updated",
            "description": format!("alpha beta gamma omega number{i}"),
        }))
    });
    append(&store, other, others.collect()).await;
    let cases: Vec<(Params, Vec<u64>)> = vec![
        // Two common words and one of 11 terms: the index drives.
        (vec![("q", "alpha beta number599")], expected(|i| begins_number599(i) && i % 3 != 0)),
        // The same words in another order, shortened: a prefix-indexed word, a word of
        // one term, and the OR.
        (vec![("q", "number599 bet alph")], expected(|i| begins_number599(i) && i % 3 != 0)),
        // Three common words (2000 matches): the walk.
        (vec![("q", "alpha gamma number")], expected(|i| i.is_multiple_of(3))),
        (vec![("q", "alph gamm numb")], expected(|i| i.is_multiple_of(3))),
        // A word beginning more terms than are expanded stays a prefix term.
        (vec![("q", "alpha beta number59")], expected(|i| i.to_string().starts_with("59") && i % 3 != 0)),
        // Every word matches on its own, never together.
        (vec![("q", "beta gamma number")], vec![]),
        // A word matching nothing in this account (the other's `omega`), or at all.
        (vec![("q", "alpha omega number")], vec![]),
        (vec![("q", "alpha beta zzzz")], vec![]),
        // Hostile input: FTS5 syntax, quotes, emoji and case are separators or plain
        // text, so these are `alpha beta number599` again.
        (vec![("q", "\"Alpha\"* AND (BETA) 🙂 NEAR(number599)")], vec![]),
        (vec![("q", "\"Alpha\"* (BETA) 🙂 number599*")], expected(|i| begins_number599(i) && i % 3 != 0)),
    ];
    check_every_limit(&store, account, cases).await;
    let long = "a".repeat(5000);
    let page = store.events(account, &query(&[("q", &format!("alpha {long}"))])).await.unwrap();
    assert!(page.events.is_empty());
    let mine = every_page(&store, other, &[("q", "alpha beta numb"), ("limit", "37")]).await;
    assert_eq!(mine, (1..=1000).rev().collect::<Vec<u64>>());
}

async fn check_every_limit(store: &SqliteStore, account: casetrail_store::AccountId, cases: Vec<(Params, Vec<u64>)>) {
    for (params, want) in cases {
        for limit in ["500", "37"] {
            let mut params = params.clone();
            params.push(("limit", limit));
            let got = every_page(store, account, &params).await;
            assert_eq!(got.len(), want.len(), "{params:?}");
            assert_eq!(got, want, "{params:?}");
        }
    }
}
