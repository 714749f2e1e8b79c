//! The cell texts of §6, column by column.

mod common;

use casetrail_export::{COLUMNS, HEADER, row};
use common::{event, simple};
use serde_json::json;

#[test]
fn header_is_that_of_the_contract() {
    assert_eq!(
        HEADER.join(", "),
        "Timestamp, User, User email, Activity, Activity type, Details, Related records, Changes, IP address, Event ID"
    );
    assert_eq!(HEADER.len(), COLUMNS);
}

#[test]
fn a_typical_event() {
    let e = simple(7);
    assert_eq!(
        row(&e),
        [
            "2026-11-25T10:15:30.123Z",
            "Jane Doe",
            "jane@smithlaw.com",
            "Case updated",
            "case.updated",
            "Changed case status, #7",
            "Case: Smith v. Jones",
            "status: Intake → Active",
            "203.0.113.5",
            &e.id.to_string(),
        ]
    );
    assert_eq!(row(&e)[9], "0193a5b2-0000-7000-8000-000000000007");
}

#[test]
fn timestamps_are_utc_with_milliseconds() {
    let e = event(
        json!({"occurred_at": "2026-11-25T05:15:30+05:30", "actor": {"id": "u", "name": "U"}, "activity": "case.created"}),
        1,
    );
    assert_eq!(row(&e)[0], "2026-11-24T23:45:30.000Z");
}

#[test]
fn related_records_use_labels_and_fall_back_to_the_id() {
    let e = event(
        json!({
            "actor": {"id": "u", "name": "U"},
            "activity": "case.updated",
            "related": [
                {"type": "case", "id": "c_204", "name": "Smith v. Jones"},
                {"type": "client", "id": "cl_9", "name": "John Smith"},
                {"type": "user", "id": "u_3"},
                {"type": "communication", "id": "m_1", "name": null},
                {"type": "integration", "id": "i", "name": "Clio"},
                {"type": "automation", "id": "a", "name": "Nightly"},
                {"type": "setting", "id": "s", "name": "Retention"}
            ]
        }),
        1,
    );
    assert_eq!(
        row(&e)[6],
        "Case: Smith v. Jones; Client: John Smith; User: u_3; Communication: m_1; Integration: Clio; \
         Automation: Nightly; Setting: Retention"
    );
}

#[test]
fn changes_show_strings_bare_and_other_values_as_compact_json() {
    let e = event(
        json!({
            "actor": {"id": "u", "name": "U"},
            "activity": "case.updated",
            "changes": [
                {"field": "status", "before": "Intake", "after": "Active"},
                {"field": "assigned_to", "before": null, "after": "Bob"},
                {"field": "fee", "before": 1500, "after": 1750.25},
                {"field": "billable", "before": true, "after": false},
                {"field": "tags", "before": [], "after": ["urgent", 2, null]},
                {"field": "address", "before": {}, "after": {"city": "Köln", "zip": {"code": "50667"}, "a": "say \"hi\""}},
                {"field": "note", "before": "", "after": "null"},
                {"field": "big", "before": -0.5, "after": 12345678901234567890u64}
            ]
        }),
        1,
    );
    assert_eq!(
        row(&e)[7],
        "status: Intake → Active; assigned_to: null → Bob; fee: 1500 → 1750.25; billable: true → false; \
         tags: [] → [\"urgent\",2,null]; \
         address: {} → {\"a\":\"say \\\"hi\\\"\",\"city\":\"Köln\",\"zip\":{\"code\":\"50667\"}}; \
         note:  → null; big: -0.5 → 12345678901234567890"
    );
}

#[test]
fn snapshot_changes_are_rendered_like_sent_ones() {
    let e = event(
        json!({
            "actor": {"id": "u", "name": "U"},
            "activity": "client.updated",
            "before": {"name": "Jon", "address": {"city": "Bonn"}},
            "after": {"name": "John", "address": {"city": "Köln", "street": "Hohe Str. 1"}}
        }),
        1,
    );
    assert_eq!(row(&e)[7], "address.city: Bonn → Köln; address.street: null → Hohe Str. 1; name: Jon → John");
}

#[test]
fn absent_members_are_empty_cells() {
    let e = event(
        json!({"actor": {"id": "sys", "name": "Scheduler", "type": "system"}, "activity": "system_log.purged"}),
        1,
    );
    let r = row(&e);
    assert_eq!(r[2], "", "no email");
    assert_eq!(r[6], "", "no related records");
    assert_eq!(r[7], "", "no changes");
    assert_eq!(r[8], "", "no ip");
    assert_eq!(r[3], e.activity.label());
    assert_eq!(r[4], "system_log.purged");
}

#[test]
fn texts_are_not_altered() {
    for e in common::hostile_events() {
        let r = row(&e);
        assert_eq!(r[1], e.actor.name);
        assert_eq!(r[5], e.description);
        assert_eq!(r[8], e.context.ip.clone().unwrap_or_default());
    }
}
