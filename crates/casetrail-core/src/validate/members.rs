//! The members of one event object, each checked on its own (docs/API.md §4).

use serde_json::{Map, Value};

use super::checker::{Checker, json_type, string_problem, truncate};
use super::{IngestRules, MAX_CHANGES, MAX_FUTURE_MILLIS, MAX_METADATA_BYTES, MAX_RELATED, MAX_STRING_CHARS};
use crate::activity::{Activity, RecordType};
use crate::diff::diff;
use crate::event::{Actor, ActorType, Change, Context, Related};
use crate::time::Timestamp;

/// `activity` is the event's member as sent: the window depends on its category (an
/// unknown one, refused on its own, is held to the account's window).
pub(super) fn parse_occurred_at(
    c: &mut Checker<'_>,
    value: Option<&Value>,
    activity: Option<&Value>,
    rules: &IngestRules,
) -> Option<Timestamp> {
    let s = match value {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) => s,
        Some(other) => {
            c.fail("occurred_at", format!("must be an RFC 3339 timestamp string, not {}", json_type(other)));
            return None;
        }
    };
    let ts = match Timestamp::parse(s) {
        Ok(ts) => ts,
        Err(err) => {
            c.fail("occurred_at", format!("{err}: {:?}", truncate(s, 64)));
            return None;
        }
    };
    if ts > rules.now.plus_millis(MAX_FUTURE_MILLIS) {
        c.fail("occurred_at", "may not be more than 5 minutes in the future");
    } else if let Some(window) = rules.window_start {
        let activity = activity.and_then(Value::as_str).and_then(Activity::from_key);
        if let Some(start) = window.start_for(activity).filter(|start| ts < *start) {
            let category = activity.map(|a| a.category().key).filter(|c| window.is_own(c));
            c.fail(
                "occurred_at",
                match category {
                    Some(category) => format!(
                        "lies before the retention window of the account's {category} events, which starts at {start}"
                    ),
                    None => format!("lies before the account's retention window, which starts at {start}"),
                },
            );
        }
    }
    Some(ts)
}

pub(super) fn parse_actor(c: &mut Checker<'_>, value: Option<&Value>) -> Option<Actor> {
    let obj = match value {
        None | Some(Value::Null) => {
            c.fail("actor", "is required");
            return None;
        }
        Some(Value::Object(obj)) => obj,
        Some(other) => {
            c.fail("actor", format!("must be an object, not {}", json_type(other)));
            return None;
        }
    };
    for key in obj.keys().filter(|k| !["id", "name", "email", "type"].contains(&k.as_str())) {
        c.fail(&format!("actor.{key}"), "unknown member");
    }
    let id = c.string(obj, "id", "actor.id", MAX_STRING_CHARS, true);
    let name = c.string(obj, "name", "actor.name", MAX_STRING_CHARS, true);
    let email = c.string(obj, "email", "actor.email", MAX_STRING_CHARS, false);
    let kind = match obj.get("type") {
        None | Some(Value::Null) => Some(ActorType::User),
        Some(Value::String(s)) => {
            let kind = ActorType::from_key(s);
            if kind.is_none() {
                c.fail(
                    "actor.type",
                    format!("must be one of user, system, automation, api; not {:?}", truncate(s, 64)),
                );
            }
            kind
        }
        Some(other) => {
            c.fail("actor.type", format!("must be a string, not {}", json_type(other)));
            None
        }
    };
    Some(Actor { id: id?, name: name?, email, kind: kind? })
}

pub(super) fn parse_activity(c: &mut Checker<'_>, value: Option<&Value>, rules: &IngestRules) -> Option<Activity> {
    match value {
        None | Some(Value::Null) => {
            c.fail("activity", "is required");
            None
        }
        Some(Value::String(key)) => match Activity::from_key(key) {
            None => {
                c.fail("activity", format!("unknown activity type {:?}", truncate(key, 64)));
                None
            }
            Some(a) if a.is_reserved() && !rules.allow_reserved => {
                c.fail("activity", format!("{:?} is written by casetrail itself and may not be sent", a.key()));
                None
            }
            Some(a) => Some(a),
        },
        Some(other) => {
            c.fail("activity", format!("must be a string, not {}", json_type(other)));
            None
        }
    }
}

pub(super) fn parse_related(c: &mut Checker<'_>, value: Option<&Value>) -> Vec<Related> {
    let items = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            c.fail("related", format!("must be an array, not {}", json_type(other)));
            return Vec::new();
        }
    };
    if items.len() > MAX_RELATED {
        c.fail("related", format!("must hold at most {MAX_RELATED} records"));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            c.fail(&format!("related[{i}]"), format!("must be an object, not {}", json_type(item)));
            continue;
        };
        for key in obj.keys().filter(|k| !["type", "id", "name"].contains(&k.as_str())) {
            c.fail(&format!("related[{i}].{key}"), "unknown member");
        }
        let kind = match obj.get("type") {
            Some(Value::String(s)) => {
                let kind = RecordType::from_key(s);
                if kind.is_none() {
                    c.fail(
                        &format!("related[{i}].type"),
                        format!("unknown record type {:?}; one of case, client, user, communication, integration, automation, setting", truncate(s, 64)),
                    );
                }
                kind
            }
            None | Some(Value::Null) => {
                c.fail(&format!("related[{i}].type"), "is required");
                None
            }
            Some(other) => {
                c.fail(&format!("related[{i}].type"), format!("must be a string, not {}", json_type(other)));
                None
            }
        };
        let id = c.string(obj, "id", &format!("related[{i}].id"), MAX_STRING_CHARS, true);
        let name = c.string(obj, "name", &format!("related[{i}].name"), MAX_STRING_CHARS, false);
        if let (Some(kind), Some(id)) = (kind, id) {
            out.push(Related { kind, id, name });
        }
    }
    out
}

pub(super) fn parse_changes(c: &mut Checker<'_>, obj: &Map<String, Value>) -> Vec<Change> {
    let snapshots = (obj.get("before"), obj.get("after"));
    let changes = match (obj.get("changes"), snapshots) {
        (Some(_), (Some(_), _) | (_, Some(_))) => {
            c.fail("changes", "send either changes or before and after, not both");
            return Vec::new();
        }
        (None | Some(Value::Null), (None, None)) => return Vec::new(),
        (None, (before, after)) => return snapshot_changes(c, before, after),
        (Some(Value::Array(items)), _) => items,
        (Some(other), _) => {
            c.fail("changes", format!("must be an array, not {}", json_type(other)));
            return Vec::new();
        }
    };
    if changes.len() > MAX_CHANGES {
        c.fail("changes", format!("must hold at most {MAX_CHANGES} changes"));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(changes.len());
    for (i, item) in changes.iter().enumerate() {
        let Some(change) = item.as_object() else {
            c.fail(&format!("changes[{i}]"), format!("must be an object, not {}", json_type(item)));
            continue;
        };
        for key in change.keys().filter(|k| !["field", "before", "after"].contains(&k.as_str())) {
            c.fail(&format!("changes[{i}].{key}"), "unknown member");
        }
        if let Some(field) = c.string(change, "field", &format!("changes[{i}].field"), MAX_STRING_CHARS, true) {
            out.push(Change {
                field,
                before: change.get("before").cloned().unwrap_or(Value::Null),
                after: change.get("after").cloned().unwrap_or(Value::Null),
            });
        }
    }
    out
}

fn snapshot_changes(c: &mut Checker<'_>, before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
    let mut snapshot = |name: &str, v: Option<&Value>| match v {
        Some(Value::Object(o)) => Some(o.clone()),
        None | Some(Value::Null) => {
            c.fail(name, "is required with the other snapshot: send both before and after");
            None
        }
        Some(other) => {
            c.fail(name, format!("must be an object, not {}", json_type(other)));
            None
        }
    };
    let (Some(b), Some(a)) = (snapshot("before", before), snapshot("after", after)) else {
        return Vec::new();
    };
    let changes = diff(&b, &a);
    if changes.len() > MAX_CHANGES {
        c.fail("after", format!("before and after differ in more than {MAX_CHANGES} fields"));
        return Vec::new();
    }
    // A path is held to the rules of the `field` of a `changes` entry, so a stored
    // event can be sent again as it reads. It is named on the side that holds it (a
    // leaf that is null after is most likely gone from `after`).
    for change in &changes {
        if let Some(problem) = string_problem(&change.field, MAX_STRING_CHARS, true) {
            let side = if change.after.is_null() { "before" } else { "after" };
            c.fail(side, format!("the changed field {:?} {problem}", truncate(&change.field, 64)));
        }
    }
    changes
}

pub(super) fn parse_metadata(c: &mut Checker<'_>, value: Option<&Value>) -> Map<String, Value> {
    match value {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => {
            let size = serde_json::to_string(map).map(|s| s.len()).unwrap_or(usize::MAX);
            if size > MAX_METADATA_BYTES {
                c.fail("metadata", format!("must be at most 16 KiB of JSON, not {size} bytes"));
            }
            map.clone()
        }
        Some(other) => {
            c.fail("metadata", format!("must be an object, not {}", json_type(other)));
            Map::new()
        }
    }
}

pub(super) fn parse_context(c: &mut Checker<'_>, value: Option<&Value>) -> Context {
    let obj = match value {
        None | Some(Value::Null) => return Context::default(),
        Some(Value::Object(obj)) => obj,
        Some(other) => {
            c.fail("context", format!("must be an object, not {}", json_type(other)));
            return Context::default();
        }
    };
    for key in obj.keys().filter(|k| !Context::MEMBERS.contains(&k.as_str())) {
        c.fail(&format!("context.{key}"), "unknown member; one of ip, user_agent, request_id, correlation_id");
    }
    let mut member = |key: &str| c.string(obj, key, &format!("context.{key}"), MAX_STRING_CHARS, false);
    Context {
        ip: member("ip"),
        user_agent: member("user_agent"),
        request_id: member("request_id"),
        correlation_id: member("correlation_id"),
    }
}
