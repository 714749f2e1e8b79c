//! How values read on a page: times in the firm's zone, people's initials, record
//! links, and JSON values shown as text.

use std::collections::BTreeMap;

use casetrail_core::{RecordType, Related, Timestamp};
use jiff::tz::TimeZone;
use serde_json::Value;

use super::LOG_PATH;

/// Percent-encodes a query value (`application/x-www-form-urlencoded`).
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Percent-encodes a value for a URL path segment or query alike: the form encoding,
/// with spaces as `%20` (a literal `+` is already `%2B`).
pub fn encode_component(value: &str) -> String {
    encode(value).replace('+', "%20")
}

/// A time as two short lines: `Nov 25, 2026` and `10:15 AM EST`.
pub fn short_time(ts: Timestamp, tz: &TimeZone) -> (String, String) {
    let zoned = ts.to_jiff().to_zoned_datetime(tz.clone());
    (zoned.strftime("%b %-d, %Y").to_string(), zoned.strftime("%-I:%M %p %Z").to_string())
}

/// A time in full, to the millisecond: `Wed, Nov 25, 2026, 10:15:30.123 AM EST`.
pub fn long_time(ts: Timestamp, tz: &TimeZone) -> String {
    let zoned = ts.to_jiff().to_zoned_datetime(tz.clone());
    zoned.strftime("%a, %b %-d, %Y, %-I:%M:%S%.3f %p %Z").to_string()
}

/// A day as people write it: `Nov 25, 2026`; anything else is shown as given.
pub fn date_label(value: &str, tz: &TimeZone) -> String {
    if let Ok(date) = value.parse::<jiff::civil::Date>() {
        return date.strftime("%b %-d, %Y").to_string();
    }
    match Timestamp::parse(value) {
        Ok(ts) => {
            let (day, time) = short_time(ts, tz);
            format!("{day} {time}")
        }
        Err(_) => value.to_string(),
    }
}

/// Up to two initials of a name, for avatars: `Jane Doe` → `JD`.
pub fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() { "?".to_string() } else { letters }
}

/// One of eight avatar colors, the same for an actor id on every page.
pub fn avatar_class(id: &str) -> String {
    let sum = id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("av-{}", sum % 8)
}

/// A related record as a page shows it: a link to its history page, and one to the
/// CRM's own page when the firm configured a URL template for its type.
#[derive(Debug, Clone)]
pub struct RecordLink {
    pub type_key: &'static str,
    pub type_label: &'static str,
    pub name: String,
    pub id: String,
    /// The record's history page.
    pub href: String,
    /// The CRM's page for this record.
    pub external: Option<String>,
}

pub fn record_link(record: &Related, record_urls: &BTreeMap<String, String>) -> RecordLink {
    RecordLink {
        type_key: record.kind.key(),
        type_label: record.kind.label(),
        name: record.display_name().to_string(),
        id: record.id.clone(),
        href: history_href(record.kind, &record.id),
        external: crm_url(record_urls.get(record.kind.key()), &record.id),
    }
}

/// `/settings/system-log/records/{type}/{id}`, the id as one path segment.
pub fn history_href(kind: RecordType, id: &str) -> String {
    format!("{LOG_PATH}/records/{}/{}", kind.key(), encode_component(id))
}

/// The log filtered by a record, where the log has a filter for its type (cases and
/// clients); other records have none, and their history page is the way in.
pub fn record_log_href(kind: RecordType, id: &str) -> Option<String> {
    match kind {
        RecordType::Case => Some(format!("{LOG_PATH}?case={}", encode(id))),
        RecordType::Client => Some(format!("{LOG_PATH}?client={}", encode(id))),
        _ => None,
    }
}

/// A CRM link for a record of this type, when the firm has a template for it.
pub fn record_crm_url(kind: RecordType, id: &str, record_urls: &BTreeMap<String, String>) -> Option<String> {
    crm_url(record_urls.get(kind.key()), id)
}

/// Fills a CRM URL template; only web links, whatever the stored template says.
fn crm_url(template: Option<&String>, id: &str) -> Option<String> {
    let template = template?;
    let lower = template.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    Some(template.replace("{id}", &encode_component(id)))
}

/// A JSON value as a page shows it.
#[derive(Debug, Clone)]
pub enum Shown {
    /// A string, shown as text (newlines kept, long lines wrapped).
    Text(String),
    /// The empty string.
    EmptyString,
    /// `null`: no value on this side.
    Null,
    /// A number or boolean, as JSON writes it.
    Scalar(String),
    /// An array or object, pretty-printed JSON.
    Json(String),
    /// An array or object holding masked values somewhere inside: its pretty JSON
    /// cut where each masked value stands, so the page shows each as "hidden".
    JsonMasked(Vec<JsonPart>),
    /// A value masked at ingest: only its fingerprint is known.
    Masked(String),
}

/// A piece of [`Shown::JsonMasked`]: JSON text, or a masked value's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonPart {
    Text(String),
    Masked(String),
}

impl Shown {
    pub fn of(value: &Value) -> Shown {
        if let Some(fingerprint) = casetrail_core::mask::masked_fingerprint(value) {
            return Shown::Masked(fingerprint.to_string());
        }
        match value {
            Value::String(s) if s.is_empty() => Shown::EmptyString,
            Value::String(s) => Shown::Text(s.clone()),
            Value::Null => Shown::Null,
            Value::Bool(_) | Value::Number(_) => Shown::Scalar(value.to_string()),
            other if holds_masked(other) => {
                let mut parts = vec![JsonPart::Text(String::new())];
                pretty_parts(other, 0, &mut parts);
                Shown::JsonMasked(parts)
            }
            other => Shown::Json(pretty(other)),
        }
    }
}

/// Whether a masked value sits anywhere inside `value`.
fn holds_masked(value: &Value) -> bool {
    match value {
        Value::Object(m) => casetrail_core::mask::masked_fingerprint(value).is_some() || m.values().any(holds_masked),
        Value::Array(items) => items.iter().any(holds_masked),
        _ => false,
    }
}

/// Appends JSON text to the last part (starting a new one after a masked value).
fn push_text(parts: &mut Vec<JsonPart>, text: &str) {
    match parts.last_mut() {
        Some(JsonPart::Text(t)) => t.push_str(text),
        _ => parts.push(JsonPart::Text(text.to_string())),
    }
}

/// `value` as `serde_json`'s pretty printer writes it (two spaces per level), each
/// masked value a part of its own.
fn pretty_parts(value: &Value, depth: usize, parts: &mut Vec<JsonPart>) {
    if let Some(fingerprint) = casetrail_core::mask::masked_fingerprint(value) {
        parts.push(JsonPart::Masked(fingerprint.to_string()));
        return;
    }
    let indent = |d: usize| "  ".repeat(d);
    let (open, close, items): (&str, &str, Vec<(Option<&String>, &Value)>) = match value {
        Value::Object(m) if !m.is_empty() => ("{", "}", m.iter().map(|(k, v)| (Some(k), v)).collect()),
        Value::Array(a) if !a.is_empty() => ("[", "]", a.iter().map(|v| (None, v)).collect()),
        other => return push_text(parts, &other.to_string()),
    };
    push_text(parts, open);
    let last = items.len() - 1;
    for (i, (key, item)) in items.into_iter().enumerate() {
        push_text(parts, &format!("\n{}", indent(depth + 1)));
        if let Some(key) = key {
            push_text(parts, &format!("{}: ", Value::String(key.clone())));
        }
        pretty_parts(item, depth + 1, parts);
        if i < last {
            push_text(parts, ",");
        }
    }
    push_text(parts, &format!("\n{}{close}", indent(depth)));
}

pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// How an actor type reads (`None` for people, who need no label).
pub fn actor_kind_label(kind: casetrail_core::ActorType) -> Option<&'static str> {
    use casetrail_core::ActorType;
    match kind {
        ActorType::User => None,
        ActorType::System => Some("System"),
        ActorType::Automation => Some("Automation"),
        ActorType::Api => Some("API"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_values_inside_json_are_parts_of_their_own() {
        let fp = "0123456789abcdef";
        let value =
            serde_json::json!({"user": {"name": "Ann", "password": {"masked": fp}}, "pins": [{"masked": fp}, 4]});
        let Shown::JsonMasked(parts) = Shown::of(&value) else { panic!("{:?}", Shown::of(&value)) };
        assert_eq!(parts.iter().filter(|p| **p == JsonPart::Masked(fp.into())).count(), 2, "{parts:?}");
        // With the masked values put back, the text is serde_json's own pretty JSON.
        let text: String = parts
            .iter()
            .map(|p| match p {
                JsonPart::Text(t) => t.clone(),
                JsonPart::Masked(f) => serde_json::to_string_pretty(&serde_json::json!({"masked": f})).unwrap(),
            })
            .collect();
        let reindented = pretty(&value);
        assert_eq!(text.replace([' ', '\n'], ""), reindented.replace([' ', '\n'], ""));
        let plain = serde_json::json!({"user": {"name": "Ann"}, "list": [], "empty": {}});
        assert!(matches!(Shown::of(&plain), Shown::Json(_)));
        let Shown::JsonMasked(parts) = Shown::of(&serde_json::json!([[], {}, {"masked": fp}])) else { panic!() };
        assert_eq!(
            parts,
            [JsonPart::Text("[\n  [],\n  {},\n  ".into()), JsonPart::Masked(fp.into()), JsonPart::Text("\n]".into())]
        );
    }

    #[test]
    fn times_read_in_the_firm_zone() {
        let ts = Timestamp::parse("2026-11-25T15:15:30.123Z").unwrap();
        let tz = TimeZone::get("America/New_York").unwrap();
        let (day, time) = short_time(ts, &tz);
        assert_eq!(day, "Nov 25, 2026");
        assert_eq!(time, "10:15 AM EST");
        assert_eq!(long_time(ts, &tz), "Wed, Nov 25, 2026, 10:15:30.123 AM EST");
        assert_eq!(date_label("2026-11-01", &tz), "Nov 1, 2026");
    }

    #[test]
    fn initials_and_avatars() {
        assert_eq!(initials("Jane Doe"), "JD");
        assert_eq!(initials("  søren  ramírez lee"), "SR");
        assert_eq!(initials(""), "?");
        // 'u' 117, '_' 95, '1' 49: ((117 * 31 + 95) * 31 + 49) % 8 = 115431 % 8 = 7.
        assert_eq!(avatar_class("u_1"), "av-7");
        assert_eq!(avatar_class(""), "av-0");
    }

    #[test]
    fn record_links_lead_to_the_history_and_reach_the_crm() {
        let urls = BTreeMap::from([
            ("case".to_string(), "https://crm.example/cases/{id}".to_string()),
            ("client".to_string(), "javascript:alert({id})".to_string()),
        ]);
        let case = Related { kind: RecordType::Case, id: "c 1/2".into(), name: Some("Smith v. Jones".into()) };
        let link = record_link(&case, &urls);
        assert_eq!(link.href, "/settings/system-log/records/case/c%201%2F2", "the record's history page");
        assert_eq!(record_log_href(RecordType::Case, "c 1/2").as_deref(), Some("/settings/system-log?case=c+1%2F2"));
        assert_eq!(link.external.as_deref(), Some("https://crm.example/cases/c%201%2F2"));
        let client = Related { kind: RecordType::Client, id: "cl_1".into(), name: None };
        let link = record_link(&client, &urls);
        assert_eq!(link.name, "cl_1");
        assert!(link.external.is_none(), "only http(s) templates become links");
        let comm = Related { kind: RecordType::Communication, id: "sms_1".into(), name: Some("SMS to Ann".into()) };
        assert_eq!(record_link(&comm, &urls).href, "/settings/system-log/records/communication/sms_1");
        assert_eq!(record_log_href(RecordType::Communication, "sms_1"), None);
    }
}
