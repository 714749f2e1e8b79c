use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::ids::EventId;
use crate::integrity::{ChainKey, Columns, KeyRing, Tombstone};
use crate::time::Timestamp;
use crate::validate::{IngestRules, parse_ingest};

fn key(seed: u8) -> ChainKey {
    ChainKey::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
}

fn account() -> AccountId {
    AccountId::from(uuid::Uuid::from_u128(0xacc0))
}

/// A valid chain of `n` events with their columns.
fn chain(n: u64) -> Vec<(ChainedEvent, Columns)> {
    let now = Timestamp::parse("2026-11-25T12:00:00Z").unwrap();
    let rules = IngestRules { now, window_start: None, allow_reserved: false };
    let mut prev = ChainHash::GENESIS;
    (1..=n)
        .map(|seq| {
            let body = json!({"actor": {"id": format!("u{}", seq % 3), "name": "Jane"}, "activity": "case.updated",
                              "description": format!("event {seq}"), "idempotency_key": format!("k{seq}")});
            let new = parse_ingest(&body, &rules).unwrap().remove(0);
            let event = new.into_event(EventId::from(uuid::Uuid::from_u128(seq as u128)), account(), seq, now);
            let sealed = ChainedEvent::seal(&event, prev);
            prev = sealed.hash;
            let columns = Columns {
                account_id: account(),
                id: event.id,
                occurred_at: event.occurred_at,
                actor_id: event.actor.id.clone(),
                activity: event.activity.key().to_string(),
                idempotency_key: event.idempotency_key.clone(),
                derived: Vec::new(),
            };
            (sealed, columns)
        })
        .collect()
}

fn verify(events: &[(ChainedEvent, Columns)], keys: &KeyRing, checkpoints: &[Checkpoint]) -> Report {
    let mut v = Verifier::new(account(), keys, checkpoints);
    for (e, c) in events {
        v.event(e, Some(c));
    }
    v.finish()
}

fn kinds(report: &Report) -> Vec<(u64, ProblemKind)> {
    report.problems.iter().map(|p| (p.seq, p.kind)).collect()
}

#[test]
fn an_intact_chain_verifies_clean() {
    let events = chain(10);
    let k = key(1);
    let keys = KeyRing::new([k.verifying_key()]);
    let cp = Checkpoint::sign(&k, account(), 10, events[9].0.hash, Timestamp::EPOCH);
    let report = verify(&events, &keys, &[cp]);
    assert_eq!(kinds(&report), []);
    assert_eq!((report.events_checked, report.first_seq, report.last_seq), (10, Some(1), Some(10)));
    assert_eq!(report.head_hash, Some(events[9].0.hash));
}

#[test]
fn each_kind_of_tampering_is_named_at_its_seq() {
    let keys = KeyRing::default();
    let mut edited = chain(5);
    edited[2].0.body = edited[2].0.body.replace("event 3", "event X");
    assert_eq!(kinds(&verify(&edited, &keys, &[])), [(3, ProblemKind::HashMismatch)]);

    let mut deleted = chain(5);
    deleted.remove(3);
    assert_eq!(kinds(&verify(&deleted, &keys, &[])), [(4, ProblemKind::Missing)]);

    let mut swapped = chain(5);
    swapped.swap(1, 2);
    let got = kinds(&verify(&swapped, &keys, &[]));
    assert!(got.contains(&(2, ProblemKind::Missing)) && got.contains(&(2, ProblemKind::BrokenLink)), "{got:?}");

    let mut column = chain(5);
    column[1].1.actor_id = "someone-else".into();
    let report = verify(&column, &keys, &[]);
    assert_eq!(kinds(&report), [(2, ProblemKind::HashMismatch)]);
    assert!(report.problems[0].message.contains("actor_id"));

    // Each derived row the store found disagreeing is one problem at that seq; on a
    // body whose hash fails, only the hash is reported.
    let mut derived = chain(5);
    derived[3].1.derived = vec!["case link", "search index entry"];
    derived[4].1.derived = vec!["actor picker entry"];
    derived[4].0.body = derived[4].0.body.replace("event 5", "event X");
    let report = verify(&derived, &keys, &[]);
    let got: Vec<(u64, &str)> = report.problems.iter().map(|p| (p.seq, p.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (4, "the stored case link differs from what the hashed content gives"),
            (4, "the stored search index entry differs from what the hashed content gives"),
            (5, "the stored hash does not match the event's content"),
        ]
    );

    // A whole re-hashed tail (an insider rewriting every later hash) still breaks at
    // the first rewritten link unless the rewrite starts from a consistent prev.
    let mut relinked = chain(5);
    relinked[2].0.prev_hash = ChainHash([7; 32]);
    relinked[2].0.hash = crate::chain::link(&relinked[2].0.prev_hash, &relinked[2].0.body);
    assert_eq!(kinds(&verify(&relinked, &keys, &[])), [(3, ProblemKind::BrokenLink), (4, ProblemKind::BrokenLink)]);
}

#[test]
fn checkpoints_catch_truncation_rewrites_and_forgery() {
    let events = chain(6);
    let k = key(1);
    let keys = KeyRing::new([k.verifying_key()]);
    let cp = Checkpoint::sign(&k, account(), 6, events[5].0.hash, Timestamp::EPOCH);
    let report = verify(&events[..4], &keys, std::slice::from_ref(&cp));
    assert_eq!(kinds(&report), [(5, ProblemKind::Truncated)]);

    let forged = Checkpoint { seq: 5, ..cp.clone() };
    assert_eq!(kinds(&verify(&events, &keys, &[forged])), [(5, ProblemKind::BadSignature)]);
    let outsider = Checkpoint::sign(&key(2), account(), 6, events[5].0.hash, Timestamp::EPOCH);
    assert_eq!(kinds(&verify(&events, &keys, &[outsider])), [(6, ProblemKind::BadSignature)]);

    // Rewriting the whole chain consistently is caught by the signed hash.
    let mut rewritten = chain(6);
    let mut prev = ChainHash::GENESIS;
    for (e, _) in rewritten.iter_mut() {
        e.body = e.body.replace("event", "EVENT");
        e.prev_hash = prev;
        e.hash = crate::chain::link(&prev, &e.body);
        prev = e.hash;
    }
    assert_eq!(kinds(&verify(&rewritten, &keys, &[cp])), [(6, ProblemKind::HashMismatch)]);
}

#[test]
fn signed_tombstones_bridge_purged_ranges_and_forged_ones_do_not() {
    let events = chain(8);
    let k = key(1);
    let keys = KeyRing::new([k.verifying_key()]);
    let t = Tombstone::sign(&k, account(), (2, 4), (events[0].0.hash, events[3].0.hash), Timestamp::EPOCH);
    let mut v = Verifier::new(account(), &keys, &[]);
    v.event(&events[0].0, Some(&events[0].1));
    v.tombstone(&t);
    for (e, c) in &events[4..] {
        v.event(e, Some(c));
    }
    let report = v.finish();
    assert_eq!(kinds(&report), []);
    assert_eq!((report.events_checked, report.purged), (5, 3));

    let forged = Tombstone::sign(&key(9), account(), (2, 4), (events[0].0.hash, events[3].0.hash), Timestamp::EPOCH);
    let mut v = Verifier::new(account(), &keys, &[]);
    v.event(&events[0].0, Some(&events[0].1));
    v.tombstone(&forged);
    for (e, c) in &events[4..] {
        v.event(e, Some(c));
    }
    assert_eq!(kinds(&v.finish()), [(2, ProblemKind::BadSignature)]);
}

#[test]
fn resuming_from_a_checkpoint_checks_only_what_follows() {
    let events = chain(10);
    let k = key(1);
    let keys = KeyRing::new([k.verifying_key()]);
    let cp = Checkpoint::sign(&k, account(), 7, events[6].0.hash, Timestamp::EPOCH);
    let mut v = Verifier::resume(account(), &keys, &cp, std::slice::from_ref(&cp));
    for (e, c) in &events[7..] {
        v.event(e, Some(c));
    }
    let report = v.finish();
    assert_eq!(kinds(&report), []);
    assert_eq!((report.events_checked, report.first_seq), (3, Some(8)));
}

proptest! {
    /// Any single change to any stored field of any event is detected.
    #[test]
    fn any_single_mutation_is_detected(index in 0usize..8, field in 0u8..9, byte in any::<u8>()) {
        let keys = KeyRing::default();
        let mut events = chain(8);
        let (e, c) = &mut events[index];
        match field {
            0 => { let pos = (byte as usize) % e.body.len(); let mut b = e.body.clone().into_bytes(); b[pos] = if b[pos] == b'a' { b'b' } else { b'a' }; e.body = String::from_utf8_lossy(&b).into_owned(); }
            1 => e.hash.0[(byte % 32) as usize] ^= 1,
            2 => e.prev_hash.0[(byte % 32) as usize] ^= 1,
            3 => e.seq += 1 + u64::from(byte % 3),
            4 => c.actor_id.push('x'),
            5 => c.activity = "case.deleted".into(),
            6 => c.occurred_at = c.occurred_at.plus_millis(1 + i64::from(byte)),
            7 => c.id = EventId::from(uuid::Uuid::from_u128(999)),
            _ => c.idempotency_key = None,
        }
        let report = verify(&events, &keys, &[]);
        prop_assert!(!report.ok(), "undetected mutation {} of event {}", field, index);
    }
}
