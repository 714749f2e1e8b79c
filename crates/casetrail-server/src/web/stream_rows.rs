//! The streams page's words: a stream as one row of its table, the add form read
//! into the API's create body, and the API's field errors as sentences.

use std::collections::HashMap;

use casetrail_app::streams::shown_destination;
use casetrail_core::FieldError;
use casetrail_store::{Stream, StreamFormat, StreamKind};
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use super::format::short_time;

/// One stream, as the table shows it.
#[derive(Debug)]
pub struct StreamRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub format: &'static str,
    /// Without a query string or credentials.
    pub destination: String,
    /// "activity: team, system_log · actor: u_9", or empty for every entry.
    pub filters: String,
    pub enabled: bool,
    /// `delivering`, `failing` or `paused`, for the state badge's class.
    pub state: &'static str,
    pub state_label: String,
    pub position: u64,
    /// Entries of the log after the position (the filters may pass over some).
    pub lag: u64,
    pub last_delivery: String,
    pub last_error: Option<String>,
    pub failures: u32,
    /// The replay form's first value: the entry after the position.
    pub next_seq: u64,
}

pub fn kind_label(kind: StreamKind) -> &'static str {
    match kind {
        StreamKind::Webhook => "Webhook",
        StreamKind::SplunkHec => "Splunk HEC",
        StreamKind::Syslog => "Syslog",
    }
}

pub fn row(stream: &Stream, head: u64, tz: &TimeZone) -> StreamRow {
    let s = &stream.settings;
    let (state, state_label) = match (s.enabled, stream.failures) {
        (false, _) => ("paused", "Paused".to_string()),
        (true, 0) => ("delivering", "Delivering".to_string()),
        (true, 1) => ("failing", "Failing: 1 try".to_string()),
        (true, n) => ("failing", format!("Failing: {n} tries")),
    };
    let filters = s
        .filters
        .members()
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(name, values)| format!("{name}: {}", values.join(", ")))
        .collect::<Vec<_>>()
        .join(" \u{b7} ");
    StreamRow {
        id: stream.id.to_string(),
        name: s.name.clone(),
        kind: kind_label(s.kind),
        format: if s.format == StreamFormat::Ocsf { "OCSF" } else { "JSON" },
        destination: shown_destination(&s.url),
        filters,
        enabled: s.enabled,
        state,
        state_label,
        position: stream.delivered_seq,
        lag: head.saturating_sub(stream.delivered_seq),
        last_delivery: stream
            .last_delivery_at
            .map(|t| short_time(t, tz))
            .map(|(d, t)| format!("{d}, {t}"))
            .unwrap_or_default(),
        last_error: stream.last_error.clone(),
        failures: stream.failures,
        next_seq: stream.delivered_seq.saturating_add(1),
    }
}

/// What the add form holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddForm {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub format: String,
    /// A webhook's secret or a Splunk HEC token; never shown back.
    pub secret: String,
    pub ca_cert: String,
    pub activity: String,
    pub actor: String,
    pub case: String,
    pub client: String,
    pub from_seq: String,
}

impl Default for AddForm {
    fn default() -> AddForm {
        AddForm {
            name: String::new(),
            kind: "webhook".into(),
            url: String::new(),
            format: "json".into(),
            secret: String::new(),
            ca_cert: String::new(),
            activity: String::new(),
            actor: String::new(),
            case: String::new(),
            client: String::new(),
            from_seq: String::new(),
        }
    }
}

impl AddForm {
    pub fn read(form: &HashMap<String, String>) -> AddForm {
        let field = |name: &str| form.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
        AddForm {
            name: field("name"),
            kind: field("kind"),
            url: field("url"),
            format: field("format"),
            secret: field("secret"),
            ca_cert: field("ca_cert"),
            activity: field("activity"),
            actor: field("actor"),
            case: field("case"),
            client: field("client"),
            from_seq: field("from_seq"),
        }
    }

    /// The form to show again after a refusal: the secret is typed again.
    pub fn without_secret(self) -> AddForm {
        AddForm { secret: String::new(), ..self }
    }
}

/// A list field: values separated by commas or lines.
fn list(text: &str) -> Vec<String> {
    text.split([',', '\n']).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
}

/// The API's create body for the form. An empty field is left out (the API's
/// default); everything else goes as typed, for the API's checks to judge.
pub fn create_body(form: &AddForm) -> Map<String, Value> {
    let mut body = Map::new();
    let mut put = |name: &str, value: &str| {
        if !value.is_empty() {
            body.insert(name.to_string(), json!(value));
        }
    };
    put("name", &form.name);
    put("kind", &form.kind);
    put("url", &form.url);
    put("format", &form.format);
    put("ca_cert", &form.ca_cert);
    // One field on the page; the API names it by the kind.
    let secret_member = if form.kind == "splunk_hec" { "token" } else { "secret" };
    put(secret_member, &form.secret);
    let mut filters = Map::new();
    for (name, text) in
        [("activity", &form.activity), ("actor", &form.actor), ("case", &form.case), ("client", &form.client)]
    {
        let values = list(text);
        if !values.is_empty() {
            filters.insert(name.to_string(), json!(values));
        }
    }
    if !filters.is_empty() {
        body.insert("filters".into(), Value::Object(filters));
    }
    if !form.from_seq.is_empty() {
        let value = form.from_seq.parse::<u64>().map_or_else(|_| json!(form.from_seq), |n| json!(n));
        body.insert("from_seq".into(), value);
    }
    body
}

/// A field's name on the page.
fn label(field: &str) -> &str {
    match field {
        "name" => "Name",
        "kind" => "Kind",
        "url" => "Destination",
        "format" => "Format",
        "secret" => "Secret",
        "token" => "Token",
        "ca_cert" => "CA certificate",
        "filters.activity" => "Activities",
        "filters.actor" => "Actors",
        "filters.case" => "Cases",
        "filters.client" => "Clients",
        "from_seq" => "Start from entry",
        other => other,
    }
}

/// The API's field errors as the page's sentences, each naming its field.
pub fn refusal(errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let mut sentence = format!("{}: {}.", label(&e.field), e.message);
            if e.field == "url" && e.message.contains("private, loopback or link-local") {
                sentence.push_str(
                    " Streams may not send inside a private network unless the server is configured to allow \
                     private stream destinations.",
                );
            }
            sentence
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_apis_body_with_empty_fields_left_out() {
        let form = AddForm {
            name: "SOC".into(),
            kind: "splunk_hec".into(),
            url: "https://hec.example.com".into(),
            secret: "t0k3n".into(),
            activity: "team, system_log\ncase.deleted".into(),
            from_seq: "12".into(),
            ..AddForm::default()
        };
        let body = Value::Object(create_body(&form));
        assert_eq!(
            body,
            json!({"name": "SOC", "kind": "splunk_hec", "url": "https://hec.example.com", "format": "json",
                   "token": "t0k3n", "filters": {"activity": ["team", "system_log", "case.deleted"]}, "from_seq": 12})
        );
        let bad = AddForm { from_seq: "soon".into(), ..AddForm::default() };
        let body = create_body(&bad);
        assert_eq!(body["from_seq"], json!("soon"), "for the API to refuse, naming it");
        assert!(!body.contains_key("name") && !body.contains_key("secret") && !body.contains_key("url"));
    }

    #[test]
    fn errors_read_as_sentences_naming_the_field() {
        let errors = [
            FieldError::new("url", "must be an http:// or https:// URL"),
            FieldError::new("url", "localhost resolves to 127.0.0.1, a private, loopback or link-local address"),
        ];
        let said = refusal(&errors);
        assert_eq!(said[0], "Destination: must be an http:// or https:// URL.");
        assert!(said[1].starts_with("Destination: localhost resolves to 127.0.0.1"), "{}", said[1]);
        assert!(said[1].contains("allow private stream destinations"));
    }
}
