//! The filter pickers: the actors and related records an account's log has seen, with
//! their latest names, narrowed by words (prefix, AND) and record type, at most `limit`.

use std::sync::Arc;

use casetrail_core::RecordType;
use casetrail_core::query::keywords;
use serde_json::json;

use super::support::*;
use crate::{AccountId, ActorSummary, RecordSummary, Store};

/// Five events; u_jane and case c1 are renamed by a later event.
async fn picker_fixture(store: &dyn Store) -> AccountId {
    let account = new_account(store, "Pickers LLP").await;
    let events = vec![
        json!({"occurred_at": "2026-05-01T10:00:00Z", "activity": "case.updated",
               "actor": {"id": "u_jane", "name": "Jane Doe", "email": "jane@smithlaw.com"},
               "related": [{"type": "case", "id": "c1", "name": "Smith v. Jones"},
                           {"type": "client", "id": "cl1", "name": "John Smith"}]}),
        json!({"occurred_at": "2026-05-02T10:00:00Z", "activity": "team.user_invited",
               "actor": {"id": "u_bob", "name": "Bob Brown"},
               "related": [{"type": "case", "id": "c2", "name": "Brown Estate"},
                           {"type": "user", "id": "u_jane", "name": "Jane Doe"}]}),
        json!({"occurred_at": "2026-05-03T10:00:00Z", "activity": "case.updated",
               "actor": {"id": "u_jane", "name": "Jane Smith-Doe", "email": "jane@smithlaw.com"},
               "related": [{"type": "case", "id": "c1", "name": "Smith v. Jones LLC"},
                           {"type": "communication", "id": "m1", "name": "Intake call"}]}),
        json!({"occurred_at": "2026-05-04T10:00:00Z", "activity": "settings.integration_connected",
               "actor": {"id": "sys", "name": "Scheduler", "type": "system"},
               "related": [{"type": "integration", "id": "i1", "name": "Clio Sync"}]}),
        json!({"occurred_at": "2026-05-05T10:00:00Z", "activity": "client.created",
               "actor": {"id": "u_ann", "name": "Ann Åström"},
               "related": [{"type": "client", "id": "cl2", "name": "José Núñez"}]}),
    ];
    append(store, account, events.into_iter().map(new_event).collect()).await;
    account
}

fn actor(id: &str, name: &str, email: Option<&str>) -> ActorSummary {
    ActorSummary { id: id.into(), name: name.into(), email: email.map(Into::into) }
}

fn record(kind: RecordType, id: &str, name: &str) -> RecordSummary {
    RecordSummary { kind, id: id.into(), name: Some(name.into()) }
}

/// The actors matching `q` (tokenized as the server does), sorted by id.
async fn actors(store: &dyn Store, account: AccountId, q: &str, limit: u32) -> Vec<ActorSummary> {
    let mut got = store.actors(account, &keywords(q), limit).await.unwrap_or_else(|e| panic!("actors({q:?}): {e:?}"));
    assert!(got.len() <= limit as usize, "actors({q:?}) returned {} for limit {limit}", got.len());
    got.sort_by(|a, b| a.id.cmp(&b.id));
    got
}

/// The records of `kind` matching `q`, sorted by type and id.
async fn records(
    store: &dyn Store,
    account: AccountId,
    kind: Option<RecordType>,
    q: &str,
    limit: u32,
) -> Vec<RecordSummary> {
    let mut got = store
        .records(account, kind, &keywords(q), limit)
        .await
        .unwrap_or_else(|e| panic!("records({kind:?}, {q:?}): {e:?}"));
    assert!(got.len() <= limit as usize, "records({q:?}) returned {} for limit {limit}", got.len());
    got.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    got
}

/// Actors the log has seen, with their latest name and email, narrowed by words.
pub async fn actors_picker(store: Arc<dyn Store>) {
    let store = &*store;
    let account = picker_fixture(store).await;
    let jane = actor("u_jane", "Jane Smith-Doe", Some("jane@smithlaw.com"));
    let bob = actor("u_bob", "Bob Brown", None);
    let sys = actor("sys", "Scheduler", None);
    let ann = actor("u_ann", "Ann Åström", None);

    let mut all = vec![jane.clone(), bob.clone(), sys.clone(), ann.clone()];
    all.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(actors(store, account, "", 50).await, all, "every actor once, under the latest name");

    let cases: Vec<(&str, Vec<ActorSummary>)> = vec![
        ("jan", vec![jane.clone()]),
        ("JANE", vec![jane.clone()]),
        ("smith", vec![jane.clone()]),
        ("jane doe", vec![jane.clone()]),
        ("doe jane", vec![jane.clone()]),
        ("bro", vec![bob.clone()]),
        ("bob brown", vec![bob.clone()]),
        ("astrom", vec![ann.clone()]),
        ("ÅSTR", vec![ann.clone()]),
        ("sched", vec![sys.clone()]),
        ("smithlaw", vec![jane.clone()]),
        ("smith brown", vec![]),
        ("ane", vec![]),
        ("zzz", vec![]),
        ("\"*) 🚀", all.clone()),
        ("jane 🚀 (", vec![jane.clone()]),
    ];
    for (q, expected) in cases {
        assert_eq!(actors(store, account, q, 50).await, expected, "actors q={q:?}");
    }
}

/// Related records the log has seen, with their latest name, by type and words.
pub async fn records_picker(store: Arc<dyn Store>) {
    let store = &*store;
    let account = picker_fixture(store).await;
    let c1 = record(RecordType::Case, "c1", "Smith v. Jones LLC");
    let c2 = record(RecordType::Case, "c2", "Brown Estate");
    let cl1 = record(RecordType::Client, "cl1", "John Smith");
    let cl2 = record(RecordType::Client, "cl2", "José Núñez");
    let user = record(RecordType::User, "u_jane", "Jane Doe");
    let m1 = record(RecordType::Communication, "m1", "Intake call");
    let i1 = record(RecordType::Integration, "i1", "Clio Sync");

    let mut all = vec![c1.clone(), c2.clone(), cl1.clone(), cl2.clone(), user.clone(), m1.clone(), i1.clone()];
    all.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    assert_eq!(records(store, account, None, "", 50).await, all, "every record once, under the latest name");

    use RecordType::*;
    let cases: Vec<(Option<RecordType>, &str, Vec<RecordSummary>)> = vec![
        (Some(Case), "", vec![c1.clone(), c2.clone()]),
        (Some(Client), "", vec![cl1.clone(), cl2.clone()]),
        (Some(User), "", vec![user.clone()]),
        (Some(Setting), "", vec![]),
        (Some(Automation), "", vec![]),
        (None, "smith", vec![c1.clone(), cl1.clone()]),
        (Some(Client), "smith", vec![cl1.clone()]),
        (Some(Case), "smi", vec![c1.clone()]),
        (Some(Case), "smith llc", vec![c1.clone()]),
        (Some(Case), "llc", vec![c1.clone()]),
        (Some(Case), "jon smith", vec![c1.clone()]),
        (Some(Case), "estate", vec![c2.clone()]),
        (None, "brown", vec![c2.clone()]),
        (Some(Client), "jose", vec![cl2.clone()]),
        (Some(Client), "NÚÑEZ", vec![cl2.clone()]),
        (Some(Case), "jose", vec![]),
        (None, "intake", vec![m1.clone()]),
        (Some(Integration), "clio", vec![i1.clone()]),
        (None, "jane", vec![user.clone()]),
        (None, "smith brown", vec![]),
        (None, "mith", vec![]),
        (None, "\"*) 🚀", all.clone()),
    ];
    for (kind, q, expected) in cases {
        assert_eq!(records(store, account, kind, q, 50).await, expected, "records kind={kind:?} q={q:?}");
    }
}

/// Pickers return at most `limit` entries, each one once.
pub async fn pickers_respect_limit(store: Arc<dyn Store>) {
    let store = &*store;
    let account = picker_fixture(store).await;
    let all_actors = actors(store, account, "", 50).await;
    let all_records = records(store, account, None, "", 50).await;
    assert_eq!((all_actors.len(), all_records.len()), (4, 7));

    for limit in [1, 2, 3] {
        let some = actors(store, account, "", limit).await;
        assert_eq!(some.len(), limit as usize, "actors limit {limit}");
        assert!(some.iter().all(|a| all_actors.contains(a)));
        assert!(some.windows(2).all(|w| w[0].id != w[1].id), "each actor once");

        let some = records(store, account, None, "", limit).await;
        assert_eq!(some.len(), limit as usize, "records limit {limit}");
        assert!(some.iter().all(|r| all_records.contains(r)));
        assert!(some.windows(2).all(|w| (w[0].kind, &w[0].id) != (w[1].kind, &w[1].id)), "each record once");
    }
    assert_eq!(records(store, account, Some(RecordType::Case), "", 1).await.len(), 1);
    assert_eq!(actors(store, account, "jane", 1).await.len(), 1);
    assert_eq!(
        records(store, account, Some(RecordType::Client), "smith", 1).await,
        [record(RecordType::Client, "cl1", "John Smith")]
    );
}
