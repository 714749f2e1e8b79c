//! Browse filters: time range, actor, activity and category, case, client, and their
//! combinations, always newest `occurred_at` first, ties by higher `seq`.

use std::sync::Arc;

use serde_json::json;

use super::support::*;
use crate::{AccountId, Store};

/// Nine events whose seq order is not their time order, three of them at the same
/// instant. Newest first they are seqs 8, 7, 6, 9, 5, 1, 4, 3, 2.
///
/// | seq | occurred_at          | actor | activity                 | related                          |
/// |-----|----------------------|-------|--------------------------|----------------------------------|
/// | 1   | 2025-06-02T08:30Z    | u_ann | case.updated             | case c1                          |
/// | 2   | 2025-06-01T09:00Z    | u_ann | case.created             | case c1, client cl1              |
/// | 3   | 2025-06-01T12:00Z    | u_bob | client.updated           | client cl1                       |
/// | 4   | 2025-06-02T00:00Z    | u_ann | communication.email_sent | case c2, client cl2              |
/// | 5   | 2025-06-02T08:30Z    | u_bob | case.updated             | case c2                          |
/// | 6   | 2025-06-03T00:00Z    | sys   | settings.updated         | —                                |
/// | 7   | 2025-06-03T15:00Z    | u_bob | client.created           | client cl3                       |
/// | 8   | 2025-06-04T10:00Z    | u_cy  | team.user_invited        | user u_dee                       |
/// | 9   | 2025-06-02T08:30Z    | u_cy  | case.deleted             | case c3                          |
pub async fn filter_fixture(store: &dyn Store) -> AccountId {
    let account = new_account(store, "Filters LLP").await;
    let case1 = json!({"type": "case", "id": "c1", "name": "Smith v. Jones"});
    let case2 = json!({"type": "case", "id": "c2", "name": "Doe Estate"});
    let client1 = json!({"type": "client", "id": "cl1", "name": "John Smith"});
    let client2 = json!({"type": "client", "id": "cl2", "name": "Jane Doe"});
    let ev = |at: &str, actor: &str, activity: &str, related: serde_json::Value| {
        new_event(json!({
            "occurred_at": at,
            "actor": {"id": actor, "name": format!("Name of {actor}")},
            "activity": activity,
            "related": related,
        }))
    };
    let events = vec![
        ev("2025-06-02T08:30:00Z", "u_ann", "case.updated", json!([case1])),
        ev("2025-06-01T09:00:00Z", "u_ann", "case.created", json!([case1, client1])),
        ev("2025-06-01T12:00:00Z", "u_bob", "client.updated", json!([client1])),
        ev("2025-06-02T00:00:00Z", "u_ann", "communication.email_sent", json!([case2, client2])),
        ev("2025-06-02T08:30:00Z", "u_bob", "case.updated", json!([case2])),
        ev("2025-06-03T00:00:00Z", "sys", "settings.updated", json!([])),
        ev(
            "2025-06-03T15:00:00Z",
            "u_bob",
            "client.created",
            json!([{"type": "client", "id": "cl3", "name": "Ana Núñez"}]),
        ),
        ev(
            "2025-06-04T10:00:00Z",
            "u_cy",
            "team.user_invited",
            json!([{"type": "user", "id": "u_dee", "name": "Dee Nguyen"}]),
        ),
        ev("2025-06-02T08:30:00Z", "u_cy", "case.deleted", json!([{"type": "case", "id": "c3", "name": "Old Matter"}])),
    ];
    let appended = append(store, account, events).await;
    assert_eq!(seqs_of(&appended), (1..=9).collect::<Vec<u64>>());
    account
}

/// Runs every `(parameters, expected seqs)` case, naming the failing one.
/// Query parameters and the seqs they must find, newest first.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [u64]);

async fn check(store: &dyn Store, account: AccountId, cases: &[Case<'_>]) {
    for (params, expected) in cases {
        let got = browse(store, account, params).await;
        assert_eq!(&got, expected, "filter {params:?}");
    }
}

/// No filter: everything, newest occurred_at first, equal instants by higher seq.
pub async fn browse_orders_newest_first_ties_by_seq(store: Arc<dyn Store>) {
    let store = &*store;
    let account = filter_fixture(store).await;
    check(store, account, &[(&[], &[8, 7, 6, 9, 5, 1, 4, 3, 2]), (&[("q", "")], &[8, 7, 6, 9, 5, 1, 4, 3, 2])]).await;

    let q = query(&[("limit", "4")]);
    let first = page(store, account, &q).await;
    let seqs: Vec<u64> = first.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [8, 7, 6, 9], "the page holds `limit` events");
    assert!(first.next_cursor.is_some(), "more remain, so there is a next_cursor");
}

/// `from` is inclusive, `to` exclusive for a timestamp and the whole day for a date.
pub async fn filter_by_time_range(store: Arc<dyn Store>) {
    let store = &*store;
    let account = filter_fixture(store).await;
    check(
        store,
        account,
        &[
            (&[("from", "2025-06-02")], &[8, 7, 6, 9, 5, 1, 4]),
            (&[("from", "2025-06-02T00:00:00Z")], &[8, 7, 6, 9, 5, 1, 4]),
            (&[("from", "2025-06-02T00:00:00.001Z")], &[8, 7, 6, 9, 5, 1]),
            (&[("to", "2025-06-03T00:00:00Z")], &[9, 5, 1, 4, 3, 2]),
            (&[("to", "2025-06-02")], &[9, 5, 1, 4, 3, 2]),
            (&[("to", "2025-06-01T09:00:00Z")], &[]),
            (&[("to", "2025-06-01T09:00:00.001Z")], &[2]),
            (&[("from", "2025-06-02T00:00:00Z"), ("to", "2025-06-03T00:00:00Z")], &[9, 5, 1, 4]),
            (&[("from", "2025-06-02T08:30:00Z"), ("to", "2025-06-02T08:30:00.001Z")], &[9, 5, 1]),
            (&[("from", "2025-06-02T10:30:00+02:00"), ("to", "2025-06-02T04:30:00.001-04:00")], &[9, 5, 1]),
            (&[("from", "2025-06-03"), ("to", "2025-06-03")], &[7, 6]),
            (&[("from", "2025-06-05")], &[]),
            (&[("to", "2025-05-31")], &[]),
        ],
    )
    .await;
}

/// `actor` selects by actor id; several are any of them.
pub async fn filter_by_actor(store: Arc<dyn Store>) {
    let store = &*store;
    let account = filter_fixture(store).await;
    check(
        store,
        account,
        &[
            (&[("actor", "u_bob")], &[7, 5, 3]),
            (&[("actor", "u_ann")], &[1, 4, 2]),
            (&[("actor", "u_bob"), ("actor", "u_cy")], &[8, 7, 9, 5, 3]),
            (&[("actor", "sys"), ("actor", "u_nobody")], &[6]),
            (&[("actor", "u_nobody")], &[]),
            (&[("actor", "U_BOB")], &[]),
            (&[("actor", "u_bo")], &[]),
            (&[("actor", "Name of u_bob")], &[]),
        ],
    )
    .await;
}

/// `activity` is a key or a whole category; several are any of them.
pub async fn filter_by_activity_and_category(store: Arc<dyn Store>) {
    let store = &*store;
    let account = filter_fixture(store).await;
    check(
        store,
        account,
        &[
            (&[("activity", "case.updated")], &[5, 1]),
            (&[("activity", "case")], &[9, 5, 1, 2]),
            (&[("activity", "client")], &[7, 3]),
            (&[("activity", "team")], &[8]),
            (&[("activity", "communication.email_sent")], &[4]),
            (&[("activity", "case"), ("activity", "client.created")], &[7, 9, 5, 1, 2]),
            (&[("activity", "settings"), ("activity", "team.user_invited")], &[8, 6]),
            (&[("activity", "client.merged")], &[]),
            (&[("activity", "system_log")], &[]),
        ],
    )
    .await;
}

/// `case` and `client` select by the id of a related record of that type.
pub async fn filter_by_case_and_client(store: Arc<dyn Store>) {
    let store = &*store;
    let account = filter_fixture(store).await;
    check(
        store,
        account,
        &[
            (&[("case", "c1")], &[1, 2]),
            (&[("case", "c2")], &[5, 4]),
            (&[("case", "c3")], &[9]),
            (&[("client", "cl1")], &[3, 2]),
            (&[("client", "cl2")], &[4]),
            (&[("client", "cl3")], &[7]),
            (&[("case", "cl1")], &[]),
            (&[("client", "c1")], &[]),
            (&[("case", "u_dee")], &[]),
            (&[("case", "C1")], &[]),
            (&[("case", "c")], &[]),
            (&[("case", "c1"), ("client", "cl1")], &[2]),
            (&[("case", "c2"), ("client", "cl1")], &[]),
        ],
    )
    .await;
}

/// Filters combine with AND.
pub async fn filters_combine_with_and(store: Arc<dyn Store>) {
    let store = &*store;
    let account = filter_fixture(store).await;
    check(
        store,
        account,
        &[
            (&[("actor", "u_ann"), ("case", "c1")], &[1, 2]),
            (&[("actor", "u_bob"), ("activity", "client")], &[7, 3]),
            (&[("activity", "case"), ("from", "2025-06-02")], &[9, 5, 1]),
            (&[("activity", "case"), ("to", "2025-06-02")], &[9, 5, 1, 2]),
            (&[("actor", "u_bob"), ("actor", "u_ann"), ("activity", "case.updated")], &[5, 1]),
            (&[("client", "cl1"), ("actor", "u_bob")], &[3]),
            (&[("client", "cl1"), ("activity", "case")], &[2]),
            (&[("case", "c2"), ("from", "2025-06-02T08:00:00Z")], &[5]),
            (&[("actor", "u_cy"), ("from", "2025-06-02T08:30:00Z"), ("to", "2025-06-04T10:00:00Z")], &[9]),
            (&[("actor", "u_ann"), ("activity", "client")], &[]),
            (&[("case", "c1"), ("q", "smith")], &[1, 2]),
            (&[("q", "doe"), ("activity", "case")], &[5]),
            (&[("q", "smith"), ("actor", "u_bob")], &[3]),
        ],
    )
    .await;
}
