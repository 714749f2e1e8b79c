//! What a stream sends of each event: which events (its filters) and in which shape
//! (`json`: the API's object; `ocsf`: an OCSF 1.x API Activity event).

use casetrail_core::{ChainedEvent, Event, RecordType};
use casetrail_store::{StreamFilters, StreamFormat};
use serde_json::{Value, json};

/// One event read for delivery: its API text and its parsed content.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub seq: u64,
    /// The event exactly as the API returns it.
    pub api_json: String,
    pub event: Event,
}

impl Outgoing {
    pub fn read(chained: &ChainedEvent) -> Result<Outgoing, serde_json::Error> {
        Ok(Outgoing { seq: chained.seq, api_json: chained.to_api_json()?, event: chained.event()? })
    }
}

/// Whether the event passes every filter that is given (any value of each list).
pub fn matches(filters: &StreamFilters, event: &Event) -> bool {
    let any = |values: &[String], test: &dyn Fn(&str) -> bool| values.is_empty() || values.iter().any(|v| test(v));
    let related = |kind: RecordType, id: &str| event.related.iter().any(|r| r.kind == kind && r.id == id);
    any(&filters.activity, &|v| event.activity.key() == v || event.activity.category().key == v)
        && any(&filters.actor, &|v| event.actor.id == v)
        && any(&filters.case, &|v| related(RecordType::Case, v))
        && any(&filters.client, &|v| related(RecordType::Client, v))
}

/// OCSF's API Activity class.
const OCSF_CLASS_UID: u32 = 6003;
const OCSF_CATEGORY_UID: u32 = 6;
const OCSF_VERSION: &str = "1.1.0";

/// OCSF's activity id for an activity key: create, read, update, delete, or other.
fn ocsf_activity_id(key: &str) -> u32 {
    let verb = key.rsplit('.').next().unwrap_or("");
    match verb {
        "created" | "added" | "uploaded" | "invited" => 1,
        "viewed" | "exported" | "downloaded" => 2,
        "updated" | "changed" | "renamed" => 3,
        "deleted" | "removed" | "purged" => 4,
        _ => 99,
    }
}

/// The event in the stream's format, as compact JSON text.
pub fn render(format: StreamFormat, out: &Outgoing) -> String {
    match format {
        StreamFormat::Json => out.api_json.clone(),
        StreamFormat::Ocsf => ocsf(out).to_string(),
    }
}

fn ocsf(out: &Outgoing) -> Value {
    let e = &out.event;
    let whole: Value = serde_json::from_str(&out.api_json).unwrap_or(Value::Null);
    let activity_id = ocsf_activity_id(e.activity.key());
    let mut user = json!({"uid": e.actor.id, "name": e.actor.name});
    if let Some(email) = &e.actor.email {
        user["email_addr"] = json!(email);
    }
    let mut ocsf = json!({
        "class_uid": OCSF_CLASS_UID,
        "class_name": "API Activity",
        "category_uid": OCSF_CATEGORY_UID,
        "category_name": "Application Activity",
        "activity_id": activity_id,
        "type_uid": OCSF_CLASS_UID * 100 + activity_id,
        "severity_id": 1,
        "time": e.occurred_at.as_millis(),
        "actor": {"user": user},
        "api": {"operation": e.activity.key()},
        "message": e.description,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": e.id.to_string(),
            "product": {"name": "casetrail", "vendor_name": "casetrail"},
        },
        "unmapped": {"casetrail": whole},
    });
    if let Some(ip) = &e.context.ip {
        ocsf["src_endpoint"] = json!({"ip": ip});
    }
    ocsf
}

#[cfg(test)]
mod tests {
    use super::*;
    use casetrail_core::chain::{ChainHash, ChainedEvent};
    use casetrail_core::validate::{IngestRules, parse_ingest};
    use casetrail_core::{AccountId, EventId, Timestamp};

    fn outgoing(body: Value) -> Outgoing {
        let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
        let new = parse_ingest(&body, &rules).unwrap().remove(0);
        let event = new.into_event(EventId::new_v7(), AccountId::nil(), 7, Timestamp::now());
        Outgoing::read(&ChainedEvent::seal(&event, ChainHash::default())).unwrap()
    }

    fn sample() -> Outgoing {
        outgoing(json!({
            "occurred_at": "2026-11-25T10:15:30.123Z",
            "actor": {"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.com"},
            "activity": "case.updated", "description": "Changed status",
            "related": [{"type": "case", "id": "c_204"}, {"type": "client", "id": "cl_88"}],
            "context": {"ip": "203.0.113.5"},
        }))
    }

    #[test]
    fn filters_match_any_value_of_each_list_given_and_all_lists() {
        let e = sample().event;
        let f = |activity: &[&str], actor: &[&str], case: &[&str], client: &[&str]| StreamFilters {
            activity: activity.iter().map(|s| s.to_string()).collect(),
            actor: actor.iter().map(|s| s.to_string()).collect(),
            case: case.iter().map(|s| s.to_string()).collect(),
            client: client.iter().map(|s| s.to_string()).collect(),
        };
        assert!(matches(&f(&[], &[], &[], &[]), &e));
        assert!(matches(&f(&["team", "case"], &[], &[], &[]), &e), "by category");
        assert!(matches(&f(&["case.updated"], &["u_1", "u_17"], &["c_204"], &["cl_88"]), &e));
        assert!(!matches(&f(&["case.created"], &[], &[], &[]), &e));
        assert!(!matches(&f(&[], &["u_1"], &[], &[]), &e));
        assert!(!matches(&f(&[], &[], &["cl_88"], &[]), &e), "a client id is no case");
        assert!(!matches(&f(&["case"], &[], &[], &["cl_1"]), &e), "every list must match");
    }

    #[test]
    fn ocsf_maps_the_members_the_contract_names() {
        let out = sample();
        let ocsf: Value = serde_json::from_str(&render(StreamFormat::Ocsf, &out)).unwrap();
        assert_eq!(ocsf["class_uid"], 6003);
        assert_eq!(ocsf["activity_id"], 3);
        assert_eq!(ocsf["type_uid"], 600303);
        assert_eq!(ocsf["time"], 1_795_601_730_123_i64);
        assert_eq!(
            ocsf["actor"]["user"],
            json!({"uid": "u_17", "name": "Jane Doe", "email_addr": "jane@smithlaw.com"})
        );
        assert_eq!(ocsf["api"]["operation"], "case.updated");
        assert_eq!(ocsf["message"], "Changed status");
        assert_eq!(ocsf["src_endpoint"]["ip"], "203.0.113.5");
        let whole: Value = serde_json::from_str(&out.api_json).unwrap();
        assert_eq!(ocsf["unmapped"]["casetrail"], whole);
        assert_eq!(render(StreamFormat::Json, &out), out.api_json);
    }
}
