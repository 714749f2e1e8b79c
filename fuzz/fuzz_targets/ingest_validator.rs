//! The ingest validator (`casetrail_core::validate::parse_ingest`) on any JSON body.
//!
//! Properties, beyond not panicking:
//! - a refusal names at least one field, each with a message; a batch refused as too
//!   large really holds more than 1000 events;
//! - what is accepted keeps the limits of docs/API.md §4 (batch size, description,
//!   related, changes, metadata size, the time window, no reserved activity);
//! - allowing the reserved activities only ever accepts more, never something else;
//! - an accepted event, stored, reads back as itself: its canonical body parses to the
//!   same event, canonicalizes to the same bytes, and the chain hash checks;
//! - an accepted event sent again as the host would send it is accepted as itself.
#![no_main]

use casetrail_core::validate::{
    IngestError, IngestRules, MAX_BATCH, MAX_CHANGES, MAX_FUTURE_MILLIS, MAX_METADATA_BYTES, MAX_RELATED, NewEvent,
    parse_ingest,
};
use casetrail_core::retention::RetentionWindow;
use casetrail_core::{AccountId, ChainHash, ChainedEvent, EventId, Timestamp};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

#[path = "json_eq.rs"]
mod json_eq;
use json_eq::same_json;

/// 2026-11-25T10:00:00Z: a fixed clock keeps every run reproducible.
const NOW_MILLIS: i64 = 1_795_600_800_000;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let now = Timestamp::from_millis(NOW_MILLIS).unwrap();
    // A retention window of a year when the body is long enough to be odd-sized, none
    // otherwise: both branches of the window rule get inputs.
    let window_start = (data.len() % 2 == 1).then(|| RetentionWindow::uniform(Some(now.minus_days(365))));
    let rules = IngestRules { now, window_start, allow_reserved: false };

    let outcome = parse_ingest(&body, &rules);
    let with_reserved = parse_ingest(&body, &IngestRules { allow_reserved: true, ..rules });
    match &outcome {
        Err(IngestError::TooManyEvents(n)) => {
            assert!(*n > MAX_BATCH, "a batch of {n} refused as too large");
            assert_eq!(with_reserved, outcome);
        }
        Err(IngestError::Invalid(errors)) => {
            assert!(!errors.is_empty(), "refused without naming a field");
            for e in errors {
                // A member named "" is named by its (empty) name.
                assert!(
                    !e.message.is_empty() && (!e.field.is_empty() || e.message.starts_with("unknown member")),
                    "{e:?}"
                );
            }
        }
        Ok(events) => {
            assert!((1..=MAX_BATCH).contains(&events.len()));
            assert_eq!(with_reserved.as_ref().ok(), Some(events), "allowing reserved types changed an accepted body");
            for event in events {
                check_accepted(event, &rules);
            }
        }
    }
});

fn check_accepted(event: &NewEvent, rules: &IngestRules) {
    assert!(!event.activity.is_reserved());
    assert!(event.occurred_at <= rules.now.plus_millis(MAX_FUTURE_MILLIS));
    if let Some(start) = rules.window_start.and_then(|w| w.start_for(Some(event.activity))) {
        assert!(event.occurred_at >= start);
    }
    assert!(event.related.len() <= MAX_RELATED);
    assert!(event.changes.len() <= MAX_CHANGES);
    assert!(serde_json::to_string(&event.metadata).unwrap().len() <= MAX_METADATA_BYTES);
    assert!(!event.actor.id.trim().is_empty() && !event.actor.name.trim().is_empty());

    // Stored and read back.
    let stored = event.clone().into_event(EventId::new_v7(), AccountId::new_v7(), 7, rules.now);
    let sealed = ChainedEvent::seal(&stored, ChainHash::GENESIS);
    assert!(sealed.hash_is_consistent());
    let read_back = sealed.event().expect("a stored body must parse");
    let (read_json, stored_json) = (serde_json::to_value(&read_back).unwrap(), serde_json::to_value(&stored).unwrap());
    assert!(same_json(&read_json, &stored_json), "the stored body reads back as another event: {read_json}");
    assert_eq!(read_back.canonical_body(), sealed.body, "canonical body is not stable");
    let api: Value = serde_json::from_str(&sealed.to_api_json().unwrap()).expect("the API form must be JSON");
    assert_eq!(api["hash"], json!(sealed.hash.to_hex()));

    // Sent again, as a host would send what it reads.
    let again = json!({
        "idempotency_key": event.idempotency_key,
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "activity": event.activity,
        "description": event.description,
        "related": event.related,
        "changes": event.changes,
        "metadata": event.metadata,
        "context": event.context,
    });
    let resent = parse_ingest(&again, rules);
    assert_eq!(resent.as_ref().map(|e| &e[..]), Ok(std::slice::from_ref(event)), "{again}");
}
