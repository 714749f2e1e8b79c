//! The rows derived from event bodies (filter links, search entries, picker entries)
//! verify clean whatever the order and timing of the events, and the seed and the
//! tampering that each backend's own tamper tests apply with raw SQL (the tables of
//! these rows have the same names and columns in every backend; only the search
//! index differs, so each backend adds its own search tampering).

use std::sync::Arc;

use casetrail_core::NewEvent;
use casetrail_core::integrity::{KeyRing, ProblemKind};
use serde_json::json;

use super::support::{append, new_account, new_event};
use super::verify::{assert_chain_verifies, verify_chain};
use crate::{AccountId, Store};

/// The seed's events, seq 1 to 5: u_1 at seq 1, 3 and 5; u_2 at 2; u_3 at 4. Case c_1
/// at 1 and 3; clients cl_1 at 1 and cl_2 at 2; communication m_1 at 4.
pub fn derived_seed() -> Vec<NewEvent> {
    let jane = json!({"id": "u_1", "name": "Jane Doe", "email": "jane@smithlaw.com"});
    let smith = json!({"type": "case", "id": "c_1", "name": "Smith v. Jones"});
    let events = [
        (&jane, "Opened the Smith matter", json!([smith, {"type": "client", "id": "cl_1", "name": "John Smith"}])),
        (
            &json!({"id": "u_2", "name": "Omar Haddad"}),
            "Called the client about discovery",
            json!([{"type": "client", "id": "cl_2", "name": "Acme Corp"}]),
        ),
        (&jane, "Filed the motion", json!([smith])),
        (
            &json!({"id": "u_3", "name": "Ana Lima"}),
            "Sent the engagement letter",
            json!([{"type": "communication", "id": "m_1", "name": "Engagement letter"}]),
        ),
        (&jane, "Reviewed billing", json!([])),
    ];
    events
        .into_iter()
        .enumerate()
        .map(|(i, (actor, description, related))| {
            new_event(json!({
                "occurred_at": format!("2026-11-20T10:00:0{}Z", i + 1),
                "actor": actor, "activity": "case.updated", "description": description, "related": related,
            }))
        })
        .collect()
}

/// Two events relating to case `c_1` first and client `cl_1` second, seq 1 changing a
/// status and seq 2 changing nothing, and the `record_events` rows `(seq, kind,
/// leads)` they must have: what a backend's migration from the index's old `first`
/// (set on every event's first related record) must leave.
pub fn leading_seed() -> (Vec<NewEvent>, [(i64, &'static str, bool); 4]) {
    let event = |description: &str, changes: serde_json::Value| {
        new_event(json!({
            "actor": {"id": "u_1", "name": "Jane Doe"}, "activity": "case.updated", "description": description,
            "related": [{"type": "case", "id": "c_1", "name": "Smith v. Jones"}, {"type": "client", "id": "cl_1"}],
            "changes": changes,
        }))
    };
    let events = vec![
        event("changed", json!([{"field": "status", "before": "Intake", "after": "Active"}])),
        event("unchanged", json!([])),
    ];
    (events, [(1, "case", true), (1, "client", false), (2, "case", false), (2, "client", false)])
}

/// A change made behind the store's back and the `(seq, label)` of each problem it
/// must cause (the label is in the problem's message).
#[derive(Debug)]
pub struct Tamper {
    pub sql: &'static str,
    pub expected: &'static [(u64, &'static str)],
}

/// Tampering with SQL that every backend's schema takes as it is.
pub const SHARED_TAMPERS: &[Tamper] = &[
    // Case and client filters.
    Tamper { sql: "DELETE FROM event_records WHERE seq = 3", expected: &[(3, "case or client link")] },
    Tamper {
        sql: "UPDATE event_records SET record_id = 'c_9' WHERE seq = 1 AND kind = 'case'",
        expected: &[(1, "case or client link")],
    },
    Tamper {
        sql: "UPDATE event_records SET occurred_at = occurred_at - 1 WHERE seq = 2",
        expected: &[(2, "case or client link")],
    },
    Tamper {
        sql: "INSERT INTO event_records (acct, kind, record_id, occurred_at, seq)
              SELECT acct, 'case', 'c_1', occurred_at, seq FROM events WHERE seq = 2",
        expected: &[(2, "case or client link")],
    },
    // The related-records index of the record histories: a row gone, a row added,
    // a row pointing to another record, a row's `leads` flipped.
    Tamper { sql: "DELETE FROM record_events WHERE seq = 4", expected: &[(4, "record history index entry")] },
    Tamper {
        sql: "INSERT INTO record_events (acct, kind, record_id, occurred_at, seq, leads)
              SELECT acct, 'case', 'c_1', occurred_at, seq, false FROM events WHERE seq = 5",
        expected: &[(5, "record history index entry")],
    },
    Tamper {
        sql: "UPDATE record_events SET record_id = 'cl_2' WHERE seq = 1 AND record_id = 'cl_1'",
        expected: &[(1, "record history index entry")],
    },
    Tamper {
        sql: "UPDATE record_events SET leads = NOT leads WHERE seq = 3",
        expected: &[(3, "record history index entry")],
    },
    Tamper {
        sql: "UPDATE record_events SET occurred_at = occurred_at + 1 WHERE seq = 2",
        expected: &[(2, "record history index entry")],
    },
    // A filter column kept beside the body.
    Tamper { sql: "UPDATE events SET actor_id = 'u_2' WHERE seq = 3", expected: &[(3, "actor_id")] },
    // Pickers: an entry gone, older than an event, renamed, or not found by its words.
    Tamper { sql: "DELETE FROM actors WHERE actor_id = 'u_2'", expected: &[(2, "actor picker entry")] },
    Tamper {
        sql: "UPDATE actors SET last_seen = last_seen - 1 WHERE actor_id = 'u_1'",
        expected: &[(5, "actor picker entry")],
    },
    Tamper {
        sql: "UPDATE actors SET name = 'Someone Else', search = ' someone else u 3' WHERE actor_id = 'u_3'",
        expected: &[(4, "actor picker entry")],
    },
    Tamper {
        sql: "UPDATE records SET search = ' acme' WHERE record_id = 'cl_2'",
        expected: &[(2, "client picker entry")],
    },
    Tamper {
        sql: "DELETE FROM records WHERE record_id = 'c_1'",
        expected: &[(1, "case picker entry"), (3, "case picker entry")],
    },
    Tamper { sql: "DELETE FROM records WHERE record_id = 'm_1'", expected: &[(4, "related record picker entry")] },
    // An entry no retained event names is what a purge leaves: not a problem.
    Tamper {
        sql: "INSERT INTO actors (acct, actor_id, name, email, search, last_seen)
              SELECT acct, 'u_gone', 'Gone User', NULL, ' gone user u gone', 0 FROM events WHERE seq = 1",
        expected: &[],
    },
];

/// A new account holding [`derived_seed`], which verifies clean.
pub async fn seed_derived(store: &dyn Store) -> AccountId {
    let account = new_account(store, "Derived rows LLP").await;
    append(store, account, derived_seed()).await;
    assert_chain_verifies(store, account).await;
    account
}

/// Asserts that verification reports exactly the tamper's problems, each a
/// `hash_mismatch` at its seq naming the derived row.
pub async fn assert_tamper_reported(store: &dyn Store, account: AccountId, tamper: &Tamper) {
    let report = verify_chain(store, account, &KeyRing::default()).await;
    let got: Vec<(u64, ProblemKind, &str)> =
        report.problems.iter().map(|p| (p.seq, p.kind, p.message.as_str())).collect();
    assert_eq!(got.len(), tamper.expected.len(), "{}: {got:?}", tamper.sql);
    for ((seq, kind, message), (want_seq, label)) in got.iter().zip(tamper.expected) {
        assert_eq!((*seq, *kind), (*want_seq, ProblemKind::HashMismatch), "{}: {got:?}", tamper.sql);
        assert!(message.contains(label), "{}: {message:?} does not name {label:?}", tamper.sql);
    }
}

/// One actor and one case renamed within the same millisecond, mentioned with and
/// without a name, across pages of the walk and across transactions: the newest
/// mention wins at ingest, and verification expects the same winner.
pub async fn derived_rows_verify_across_pages(store: Arc<dyn Store>) {
    let store = &*store;
    let account = new_account(store, "Renamed LLP").await;
    let mention = |i: usize, at: &str| {
        let name = if i.is_multiple_of(3) { json!(null) } else { json!(format!("Case name {i}")) };
        new_event(json!({
            "occurred_at": at,
            "actor": {"id": "u_1", "name": format!("Jane {i}"), "email": format!("j{i}@smithlaw.com")},
            "activity": "case.updated", "description": format!("step {i}"),
            "related": [{"type": "case", "id": "c_1", "name": name}, {"type": "case", "id": "c_1", "name": "Twice"}],
        }))
    };
    // Seqs 1-10 at one time, seqs 11-20 at an earlier one (a late-arriving batch).
    for (first, at) in [(0, "2026-11-20T10:00:00.500Z"), (10, "2026-11-20T09:00:00Z")] {
        for half in [0, 5] {
            let events = (first + half..first + half + 5).map(|i| mention(i, at)).collect();
            append(store, account, events).await;
        }
    }
    assert_chain_verifies(store, account).await;
    let actors = store.actors(account, &[], 10).await.expect("actors");
    assert_eq!(actors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Jane 9"], "the newest mention wins");
}
