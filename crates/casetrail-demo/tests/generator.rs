//! The generator's promises: deterministic, valid for ingest, ordered in time, every
//! host activity type, unique keys, a plausible firm.

use std::collections::{BTreeMap, HashSet};

use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_core::{Activity, ActorType, Timestamp};
use casetrail_demo::{EventGenerator, firm, ingest_batches};
use serde_json::Value;

fn range() -> (jiff::Timestamp, jiff::Timestamp) {
    ("2026-10-26T04:00:00Z".parse().unwrap(), "2026-11-25T17:00:00Z".parse().unwrap())
}

fn events(seed: u64, count: usize) -> Vec<Value> {
    let (start, end) = range();
    EventGenerator::new(&firm(seed), seed, count, start, end).collect()
}

fn rules() -> IngestRules {
    let end = Timestamp::from_jiff(range().1).unwrap();
    IngestRules { now: end.plus_millis(60_000), window_start: None, allow_reserved: false }
}

fn serialized(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| serde_json::to_string(e).unwrap()).collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_events() {
    let a = serialized(&events(42, 500));
    assert_eq!(a, serialized(&events(42, 500)));
    let b = serialized(&events(43, 500));
    assert_ne!(a, b);
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differing > 450, "only {differing} of 500 events differ");
    assert_eq!(firm(42), firm(42));
    assert_ne!(firm(42), firm(43));
}

#[test]
fn every_event_is_valid_ingest_and_in_order() {
    let (start, end) = range();
    let (start, end) = (Timestamp::from_jiff(start).unwrap(), Timestamp::from_jiff(end).unwrap());
    let events = events(7, 5_000);
    assert_eq!(events.len(), 5_000);
    let mut last = start;
    let mut keys = HashSet::new();
    let mut seen = BTreeMap::new();
    for (i, event) in events.iter().enumerate() {
        let parsed = parse_ingest(event, &rules());
        assert!(parsed.is_ok(), "event {i} refused: {parsed:?}\n{event:#}");
        let parsed = parsed.unwrap().remove(0);
        let at = event["occurred_at"].as_str().unwrap();
        assert_eq!(at, parsed.occurred_at.to_string(), "RFC 3339 with milliseconds and Z");
        assert!(parsed.occurred_at >= last, "event {i} goes back in time: {at}");
        assert!(parsed.occurred_at <= end, "event {i} after the end: {at}");
        last = parsed.occurred_at;
        assert!(keys.insert(parsed.idempotency_key.clone().unwrap()), "duplicate key at {i}");
        assert!(!parsed.description.is_empty() && event["description"].is_string());
        *seen.entry(parsed.activity.key()).or_insert(0) += 1;
    }
    for activity in Activity::all().filter(|a| !a.is_reserved()) {
        assert!(seen.contains_key(activity.key()), "{} never generated: {seen:?}", activity.key());
    }
    assert!(!seen.keys().any(|k| k.starts_with("system_log.")));
    // Communications are the most common, then case updates.
    let category = |c: &str| seen.iter().filter(|(k, _)| k.starts_with(c)).map(|(_, n)| n).sum::<i32>();
    assert!(category("communication.") > 2_000, "{seen:?}");
    assert!(seen["case.updated"] > seen["client.updated"], "{seen:?}");
}

#[test]
fn batches_are_valid_ingest_bodies() {
    let (start, end) = range();
    let generator = EventGenerator::new(&firm(3), 3, 2_345, start, end);
    let bodies: Vec<Value> = ingest_batches(generator, 1000).collect();
    assert_eq!(bodies.len(), 3);
    let mut total = 0;
    for body in &bodies {
        let parsed = parse_ingest(body, &rules());
        assert!(parsed.is_ok(), "{parsed:?}");
        total += parsed.unwrap().len();
    }
    assert_eq!(total, 2_345);
}

#[test]
fn the_firm_is_plausible() {
    let firm = firm(11);
    assert!(firm.staff.len() >= 10);
    assert!(firm.staff.iter().filter(|s| s.admin).count() >= 2);
    assert!(firm.cases.len() >= 200 && firm.clients.len() >= 200);
    let accented: Vec<&str> = firm.clients.iter().map(|c| c.name.as_str()).filter(|n| !n.is_ascii()).collect();
    assert!(accented.len() >= 20, "{accented:?}");
    for name in ["José Álvarez", "Zoë Müller", "Siobhán O'Brien"] {
        assert!(firm.clients.iter().any(|c| c.name == name), "{name}");
    }
    let staff_ids: HashSet<&str> = firm.staff.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(staff_ids.len(), firm.staff.len());
    assert!(firm.staff.iter().all(|s| s.email.is_ascii() && s.email.ends_with(&format!("@{}", firm.domain))));
    assert!(firm.cases.iter().any(|c| c.name == "Smith v. Jones"));
}

/// The local (UTC−5) day and whether it is working time, of an event.
fn local(event: &Value) -> (i64, bool) {
    let ms = Timestamp::parse(event["occurred_at"].as_str().unwrap()).unwrap().as_millis() - 5 * 3_600_000;
    let day = ms.div_euclid(86_400_000);
    let hour = ms.rem_euclid(86_400_000) / 3_600_000;
    let weekday = (day + 3).rem_euclid(7); // 0 is Monday
    (day, weekday < 5 && (8..18).contains(&hour))
}

#[test]
fn activity_looks_like_a_law_firm() {
    let events = events(5, 5_000);
    let working = events.iter().filter(|e| local(e).1).count();
    assert!(working > 4_000, "only {working} of 5000 in working hours");

    let mut signed_in = HashSet::new();
    let mut actor_types = HashSet::new();
    let mut snapshot_fields = HashSet::new();
    let mut accented = 0;
    for (i, e) in events.iter().enumerate() {
        let parsed = parse_ingest(e, &rules()).unwrap().remove(0);
        actor_types.insert(format!("{:?}", parsed.actor.kind));
        let activity = parsed.activity.key();
        if parsed.actor.kind == ActorType::User {
            assert!(parsed.context.ip.is_some() && parsed.context.user_agent.is_some(), "event {i}: {e}");
            let key = (parsed.actor.id.clone(), local(e).0);
            if activity == "team.user_logged_in" {
                signed_in.insert(key);
            } else if activity != "team.login_failed" {
                assert!(signed_in.contains(&key), "event {i}: {} acts before signing in that day", parsed.actor.name);
            }
        }
        if e.get("before").is_some() {
            snapshot_fields.extend(parsed.changes.iter().map(|c| c.field.clone()));
        }
        if parsed.related.iter().any(|r| !r.display_name().is_ascii()) {
            accented += 1;
        }
        let metadata = &e["metadata"];
        match activity {
            "communication.call_made" | "communication.call_received" => {
                assert!(metadata["duration_seconds"].is_u64())
            }
            "communication.ai_call_initiated" => {
                for key in ["agent", "purpose", "outcome"] {
                    assert!(metadata[key].is_string(), "{e}");
                }
            }
            a if a.starts_with("communication.") => {
                assert!(
                    metadata["direction"].is_string() && metadata["to"].is_string() && metadata["from"].is_string(),
                    "{e}"
                )
            }
            "team.user_role_changed" => assert_eq!(parsed.changes[0].field, "role"),
            "team.login_failed" => assert!(metadata["email"].is_string()),
            "client.contact_changed" | "team.user_invited" | "team.user_removed" | "settings.updated" => {
                assert!(!parsed.description.is_empty())
            }
            _ => {}
        }
        if activity == "case.updated" {
            for c in parsed.changes.iter().filter(|c| c.field == "status") {
                assert_ne!(c.before, c.after);
            }
        }
    }
    for kind in ["User", "Automation", "System", "Api"] {
        assert!(actor_types.contains(kind), "no {kind} actor: {actor_types:?}");
    }
    assert!(snapshot_fields.contains("address.city"), "{snapshot_fields:?}");
    assert!(snapshot_fields.iter().any(|f| f.starts_with("court.")), "{snapshot_fields:?}");
    assert!(accented > 100, "only {accented} events name someone with an accent");
}

#[test]
fn case_statuses_move_forward() {
    let mut status: BTreeMap<String, String> = BTreeMap::new();
    for e in events(9, 5_000).iter().filter(|e| e["activity"] == "case.updated") {
        let Some(changes) = e["changes"].as_array() else {
            continue;
        };
        let case = e["related"][0]["id"].as_str().unwrap().to_string();
        for c in changes.iter().filter(|c| c["field"] == "status") {
            let (before, after) = (c["before"].as_str().unwrap(), c["after"].as_str().unwrap());
            if let Some(previous) = status.get(&case) {
                assert_eq!(previous, before, "{case} jumped");
            }
            status.insert(case.clone(), after.to_string());
        }
    }
    assert!(status.len() > 100);
}

#[test]
fn long_streams_stay_valid_past_the_model_caps() {
    let (start, end) = ("2025-11-25T00:00:00Z".parse().unwrap(), range().1);
    let generator = EventGenerator::new(&firm(1), 1, 60_000, start, end);
    assert_eq!(generator.len(), 60_000);
    let mut last = String::new();
    let mut count = 0;
    for (i, e) in generator.enumerate() {
        if i % 7 == 0 {
            assert!(parse_ingest(&e, &rules()).is_ok(), "event {i}: {e}");
        }
        let at = e["occurred_at"].as_str().unwrap().to_string();
        assert!(at >= last);
        last = at;
        count += 1;
    }
    assert_eq!(count, 60_000);
}

#[test]
fn edge_ranges_and_counts() {
    let (_, end) = range();
    assert_eq!(EventGenerator::new(&firm(1), 1, 0, end, end).count(), 0);
    let same: Vec<Value> = EventGenerator::new(&firm(1), 1, 50, end, end).collect();
    assert!(same.iter().all(|e| e["occurred_at"] == "2026-11-25T17:00:00.000Z"));
    let recent: Vec<Value> = EventGenerator::recent(&firm(1), 1, 200, end, 21).collect();
    assert!(
        recent
            .iter()
            .all(|e| { parse_ingest(e, &IngestRules { now: Timestamp::from_jiff(end).unwrap(), ..rules() },).is_ok() })
    );
}

/// The activities that record a change of a record or a setting.
const CHANGE_TYPES: &[&str] = &[
    "case.updated",
    "client.updated",
    "client.contact_changed",
    "team.user_role_changed",
    "settings.updated",
    "settings.integration_connected",
    "settings.integration_disconnected",
    "settings.automation_modified",
];

#[test]
fn every_change_records_its_before_and_after_values() {
    let mut checked = BTreeMap::new();
    for seed in [1, 2026, 77] {
        for (i, e) in events(seed, 5_000).iter().enumerate() {
            let parsed = parse_ingest(e, &rules()).unwrap().remove(0);
            let activity = parsed.activity.key();
            if !CHANGE_TYPES.contains(&activity) {
                continue;
            }
            *checked.entry(activity).or_insert(0) += 1;
            assert!(!parsed.changes.is_empty(), "seed {seed}, event {i}: {activity} without changes\n{e:#}");
            for c in &parsed.changes {
                assert_ne!(c.before, c.after, "seed {seed}, event {i}: {} did not change\n{e:#}", c.field);
            }
        }
    }
    for activity in CHANGE_TYPES {
        assert!(checked.get(activity).is_some_and(|&n| n > 0), "{activity} never generated: {checked:?}");
    }
}
