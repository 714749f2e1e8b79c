//! A small firm's log for the browser tests: a few people, cases and clients over
//! the last three weeks.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::TestApp;

/// RFC 3339 for `days` days ago (and `minutes` more).
pub fn ago(days: i64, minutes: i64) -> String {
    let back = SignedDuration::from_hours(days * 24) + SignedDuration::from_mins(minutes);
    (Timestamp::now() - back).to_string()
}

pub fn jane() -> Value {
    json!({"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.example"})
}

pub fn bob() -> Value {
    json!({"id": "u_18", "name": "Bob Stone", "email": "bob@smithlaw.example"})
}

pub fn carla() -> Value {
    json!({"id": "u_19", "name": "Carla Díaz", "email": "carla@smithlaw.example"})
}

/// Five events, newest first: Carla's email (1 day ago), Jane's case update (2),
/// Jane's contact change (4), Bob's invitation (10), Bob's new client (20).
pub async fn firm(app: &TestApp) {
    let smith_case = json!({"type": "case", "id": "c_204", "name": "Smith v. Jones"});
    let lee_case = json!({"type": "case", "id": "c_300", "name": "Lee v. Acme Corp"});
    let john = json!({"type": "client", "id": "cl_88", "name": "John Smith"});
    let ann = json!({"type": "client", "id": "cl_90", "name": "Ann Lee"});
    app.ingest_ok(&json!({"events": [
        {"occurred_at": ago(20, 0), "actor": bob(), "activity": "client.created",
         "description": "Created client Ann Lee", "related": [ann]},
        {"occurred_at": ago(10, 0), "actor": bob(), "activity": "team.user_invited",
         "description": "Invited Dan Park as a member",
         "related": [{"type": "user", "id": "u_30", "name": "Dan Park"}]},
        {"occurred_at": ago(4, 0), "actor": jane(), "activity": "client.contact_changed",
         "description": "Changed the phone number of John Smith", "related": [john],
         "changes": [{"field": "phone", "before": "+1 212 555 0100", "after": "+1 212 555 0199"}]},
        {"occurred_at": ago(2, 0), "actor": jane(), "activity": "case.updated",
         "description": "Changed case status from Intake to Active",
         "related": [smith_case, john],
         "changes": [
             {"field": "status", "before": "Intake", "after": "Active"},
             {"field": "notes", "before": "First call.", "after": "First call.\nPolice report received."},
             {"field": "budget", "before": {"hours": 10}, "after": {"hours": 25, "capped": true}}
         ],
         "metadata": {"source": "web", "form": "case-edit"},
         "context": {"ip": "203.0.113.5", "user_agent": "Mozilla/5.0 (Test)", "request_id": "req_42"}},
        {"occurred_at": ago(1, 0), "actor": carla(), "activity": "communication.email_sent",
         "description": "Email sent to Ann Lee: Retainer agreement", "related": [lee_case, ann]}
    ]}))
    .await;
}

/// `n` numbered case notes, one a minute apart: "Note 001" is the oldest.
pub async fn numbered(app: &TestApp, n: usize) {
    let events: Vec<Value> = (1..=n)
        .map(|i| {
            json!({"occurred_at": ago(1, (n - i) as i64), "actor": jane(), "activity": "case.updated",
                   "description": format!("Note {i:03}"),
                   "related": [{"type": "case", "id": "c_1", "name": "Paging v. Test"}]})
        })
        .collect();
    app.ingest_ok(&json!({ "events": events })).await;
}
