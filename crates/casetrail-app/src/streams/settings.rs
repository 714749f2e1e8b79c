//! Reading what an admin sends for a stream (docs/API.md §13): every bad member is
//! named (`kind`, `url`, `filters.activity`, `from_seq`), so the API answers one 422
//! with all of them. The destination of a URL is resolved and checked here too.

use casetrail_core::FieldError;
use casetrail_core::query::parse_activity;
use casetrail_store::{StreamFilters, StreamFormat, StreamKind, StreamPatch, StreamSettings};
use serde_json::{Map, Value};

use super::destination::resolve_checked;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_URL_CHARS: usize = 2_000;
pub const MAX_SECRET_CHARS: usize = 500;
pub const MAX_CA_CERT_BYTES: usize = 64 * 1024;
pub const MAX_FILTER_VALUES: usize = 50;
pub const MAX_FILTER_VALUE_CHARS: usize = 200;

/// The members a create may carry, and those a `PATCH` may change.
pub const CREATE_MEMBERS: [&str; 10] =
    ["name", "kind", "url", "format", "filters", "enabled", "secret", "token", "ca_cert", "from_seq"];
pub const PATCH_MEMBERS: [&str; 8] = ["name", "url", "format", "filters", "enabled", "secret", "token", "ca_cert"];

/// Where a syslog stream connects: `tcp://host:port` or `tls://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTarget {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl SyslogTarget {
    pub fn parse(url: &str) -> Result<SyslogTarget, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("tcp://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("tls://") {
            (true, rest)
        } else {
            return Err("must be tcp://host:port or tls://host:port for a syslog stream".into());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = rest.rsplit_once(':').ok_or("must name a port: tcp://host:port")?;
        let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or("must name a port from 1 to 65535")?;
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
        if bare.is_empty() || !bare.chars().all(plain) || (bare.contains(':') && bare == host) {
            return Err("must name a host: tcp://host:port".into());
        }
        Ok(SyslogTarget { tls, host: host.to_string(), port })
    }
}

/// Checks a URL's form for a kind; answers the host and port to resolve.
pub fn url_target(kind: StreamKind, url: &str) -> Result<(String, u16), String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    if kind == StreamKind::Syslog {
        let target = SyslogTarget::parse(url)?;
        return Ok((target.host, target.port));
    }
    let parsed = url::Url::parse(url).map_err(|_| "must be an http:// or https:// URL".to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("must be an http:// or https:// URL for a {} stream", kind.key()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry a user name or password; use the secret or token".into());
    }
    let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or("must name a host")?.to_string();
    let port = parsed.port_or_known_default().ok_or("must name a port")?;
    Ok((host, port))
}

/// Resolves the URL's host and refuses forbidden destinations (a 422 on `url`).
pub async fn check_destination(kind: StreamKind, url: &str, allow_private: bool) -> Result<(), FieldError> {
    let (host, port) = url_target(kind, url).map_err(|m| FieldError::new("url", m))?;
    resolve_checked(&host, port, allow_private).await.map(|_| ()).map_err(|e| FieldError::new("url", e.to_string()))
}

fn text(body: &Map<String, Value>, name: &str, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = body.get(name)?;
    match value.as_str().map(str::trim) {
        Some(s) if !s.is_empty() && s.chars().count() <= max => Some(s.to_string()),
        _ => {
            errors.push(FieldError::new(name, format!("must be a non-empty string of at most {max} characters")));
            None
        }
    }
}

/// `filters`: an object of `activity`, `actor`, `case`, `client`, each a list of
/// strings; activities must be known keys or categories.
pub fn parse_filters(value: &Value) -> Result<StreamFilters, Vec<FieldError>> {
    let Some(object) = value.as_object() else {
        return Err(vec![FieldError::new("filters", "must be an object of lists")]);
    };
    let mut filters = StreamFilters::default();
    let mut errors = Vec::new();
    for (name, values) in object {
        let field = format!("filters.{name}");
        let slot = match name.as_str() {
            "activity" => &mut filters.activity,
            "actor" => &mut filters.actor,
            "case" => &mut filters.case,
            "client" => &mut filters.client,
            _ => {
                errors.push(FieldError::new(&field, "unknown member; use activity, actor, case or client"));
                continue;
            }
        };
        let list: Option<Vec<String>> = values.as_array().and_then(|items| {
            items.iter().map(|v| v.as_str().filter(|s| valid_value(s)).map(str::to_string)).collect()
        });
        match list {
            Some(list) if list.len() <= MAX_FILTER_VALUES => {
                if name == "activity" {
                    for a in &list {
                        if let Err(e) = parse_activity(a) {
                            errors.push(FieldError::new(&field, e.message));
                        }
                    }
                }
                *slot = list;
            }
            _ => errors.push(FieldError::new(
                &field,
                format!(
                    "must be a list of at most {MAX_FILTER_VALUES} non-empty strings of at most \
                     {MAX_FILTER_VALUE_CHARS} characters"
                ),
            )),
        }
    }
    if errors.is_empty() { Ok(filters) } else { Err(errors) }
}

fn valid_value(s: &str) -> bool {
    !s.trim().is_empty() && s.chars().count() <= MAX_FILTER_VALUE_CHARS
}

fn format_of(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<StreamFormat> {
    let value = body.get("format")?;
    let format = value.as_str().and_then(StreamFormat::from_key);
    if format.is_none() {
        errors.push(FieldError::new("format", "must be \"json\" or \"ocsf\""));
    }
    format
}

fn enabled_of(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<bool> {
    let value = body.get("enabled")?;
    if value.as_bool().is_none() {
        errors.push(FieldError::new("enabled", "must be true or false"));
    }
    value.as_bool()
}

/// `secret`, `token` and `ca_cert`, each only where its kind takes it.
fn credentials_of(
    kind: StreamKind,
    body: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> (Option<String>, Option<String>) {
    let mut only = |name: &str, allowed: bool, what: &str| {
        if body.contains_key(name) && !allowed {
            errors.push(FieldError::new(name, format!("only a {what} stream takes one")));
        }
    };
    only("secret", kind == StreamKind::Webhook, "webhook");
    only("token", kind == StreamKind::SplunkHec, "splunk_hec");
    only("ca_cert", kind == StreamKind::Syslog, "syslog");
    let secret = match kind {
        StreamKind::Webhook => text(body, "secret", MAX_SECRET_CHARS, errors),
        StreamKind::SplunkHec => text(body, "token", MAX_SECRET_CHARS, errors),
        StreamKind::Syslog => None,
    };
    let ca_cert = match body.get("ca_cert") {
        Some(value) if kind == StreamKind::Syslog => match value.as_str() {
            Some(pem) if pem.len() <= MAX_CA_CERT_BYTES => match super::tls::pem_certificates(pem) {
                Ok(_) => Some(pem.to_string()),
                Err(e) => {
                    errors.push(FieldError::new("ca_cert", e));
                    None
                }
            },
            _ => {
                errors
                    .push(FieldError::new("ca_cert", format!("must be PEM text of at most {MAX_CA_CERT_BYTES} bytes")));
                None
            }
        },
        _ => None,
    };
    (secret, ca_cert)
}

/// A stream to create, checked (the destination is checked apart, as it resolves).
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub settings: StreamSettings,
    pub from_seq: Option<u64>,
}

/// Reads a create body. A webhook without a secret gets one made here.
pub fn parse_create(body: &Map<String, Value>) -> Result<CreateRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = text(body, "name", MAX_NAME_CHARS, &mut errors);
    if !body.contains_key("name") {
        errors.push(FieldError::new("name", "is required"));
    }
    let kind = body.get("kind").and_then(Value::as_str).and_then(StreamKind::from_key);
    if kind.is_none() {
        errors.push(FieldError::new("kind", "must be \"webhook\", \"splunk_hec\" or \"syslog\""));
    }
    let url = body.get("url").and_then(Value::as_str).map(str::trim);
    match (kind, url) {
        (_, None) if body.contains_key("url") => errors.push(FieldError::new("url", "must be a string")),
        (_, None) => errors.push(FieldError::new("url", "is required")),
        (Some(kind), Some(url)) => {
            if let Err(m) = url_target(kind, url) {
                errors.push(FieldError::new("url", m));
            }
        }
        (None, Some(_)) => {}
    }
    let format = format_of(body, &mut errors).unwrap_or(StreamFormat::Json);
    let filters = match body.get("filters") {
        None | Some(Value::Null) => StreamFilters::default(),
        Some(value) => parse_filters(value).unwrap_or_else(|e| {
            errors.extend(e);
            StreamFilters::default()
        }),
    };
    let enabled = enabled_of(body, &mut errors).unwrap_or(true);
    let (mut secret, ca_cert) = kind.map(|k| credentials_of(k, body, &mut errors)).unwrap_or_default();
    match kind {
        Some(StreamKind::SplunkHec) if secret.is_none() && !body.contains_key("token") => {
            errors.push(FieldError::new("token", "is required for a splunk_hec stream"));
        }
        Some(StreamKind::Webhook) if secret.is_none() && !body.contains_key("secret") => {
            secret = Some(format!("whsec_{}", crate::credentials::random_token()));
        }
        _ => {}
    }
    if ca_cert.is_some() && url.is_some_and(|u| u.starts_with("tcp://")) {
        errors.push(FieldError::new("ca_cert", "only a tls:// syslog stream uses one"));
    }
    let from_seq = match body.get("from_seq") {
        None => None,
        Some(value) => match value.as_u64().filter(|n| (1..=i64::MAX as u64).contains(n)) {
            Some(n) => Some(n),
            None => {
                errors.push(FieldError::new("from_seq", "must be a whole number, 1 or more"));
                None
            }
        },
    };
    match (name, kind, url) {
        (Some(name), Some(kind), Some(url)) if errors.is_empty() => Ok(CreateRequest {
            settings: StreamSettings { name, kind, url: url.to_string(), format, filters, enabled, secret, ca_cert },
            from_seq,
        }),
        _ => Err(errors),
    }
}

/// Reads a `PATCH` body for a stream of `kind`.
pub fn parse_patch(kind: StreamKind, body: &Map<String, Value>) -> Result<StreamPatch, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = text(body, "name", MAX_NAME_CHARS, &mut errors);
    let url = match body.get("url") {
        None => None,
        Some(value) => match value.as_str().map(str::trim) {
            Some(url) => match url_target(kind, url) {
                Ok(_) => Some(url.to_string()),
                Err(m) => {
                    errors.push(FieldError::new("url", m));
                    None
                }
            },
            None => {
                errors.push(FieldError::new("url", "must be a string"));
                None
            }
        },
    };
    let format = format_of(body, &mut errors);
    let filters = match body.get("filters") {
        None => None,
        Some(value) => parse_filters(value).map_err(|e| errors.extend(e)).ok(),
    };
    let enabled = enabled_of(body, &mut errors);
    let (secret, ca_cert) = credentials_of(kind, body, &mut errors);
    if errors.is_empty() {
        Ok(StreamPatch { name, url, format, filters, enabled, secret, ca_cert, resume_at: None })
    } else {
        Err(errors)
    }
}

/// `{"from_seq": N}` of a replay.
pub fn parse_replay(body: &Map<String, Value>) -> Result<u64, Vec<FieldError>> {
    body.get("from_seq")
        .and_then(Value::as_u64)
        .filter(|n| (1..=i64::MAX as u64).contains(n))
        .ok_or_else(|| vec![FieldError::new("from_seq", "is required: a whole number, 1 or more")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(result: Result<CreateRequest, Vec<FieldError>>) -> Vec<String> {
        result.err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_create_names_every_bad_member() {
        let bad = body(json!({"kind": "kafka", "url": 7, "format": "xml", "filters": {"activity": ["nope"], "q": []},
                              "enabled": "yes", "from_seq": 0}));
        assert_eq!(
            fields(parse_create(&bad)),
            ["name", "kind", "url", "format", "filters.activity", "filters.q", "enabled", "from_seq"]
        );
        let no_token = body(json!({"name": "Splunk", "kind": "splunk_hec", "url": "https://hec.example.com"}));
        assert_eq!(fields(parse_create(&no_token)), ["token"]);
        let wrong_scheme = body(json!({"name": "S", "kind": "syslog", "url": "https://x.example.com"}));
        assert_eq!(fields(parse_create(&wrong_scheme)), ["url"]);
        let secret_on_syslog =
            body(json!({"name": "S", "kind": "syslog", "url": "tcp://x.example.com:514", "secret": "s"}));
        assert_eq!(fields(parse_create(&secret_on_syslog)), ["secret"]);
    }

    #[test]
    fn a_webhook_without_a_secret_gets_one_and_defaults_apply() {
        let ok =
            parse_create(&body(json!({"name": " SOC ", "kind": "webhook", "url": "https://siem.example.com/hook"})))
                .unwrap();
        assert_eq!(ok.settings.name, "SOC");
        assert_eq!(ok.settings.format, StreamFormat::Json);
        assert!(ok.settings.enabled);
        assert!(ok.settings.secret.as_deref().is_some_and(|s| s.starts_with("whsec_") && s.len() > 40));
        assert_eq!(ok.from_seq, None);
    }

    #[test]
    fn urls_are_checked_for_their_kind() {
        assert_eq!(url_target(StreamKind::Webhook, "https://h.example.com/x"), Ok(("h.example.com".into(), 443)));
        assert_eq!(url_target(StreamKind::Syslog, "tls://[::1]:6514"), Ok(("[::1]".into(), 6514)));
        for (kind, bad) in [
            (StreamKind::Webhook, "ftp://h.example.com"),
            (StreamKind::Webhook, "https://user:pw@h.example.com"),
            (StreamKind::SplunkHec, "not a url"),
            (StreamKind::Syslog, "tcp://h.example.com"),
            (StreamKind::Syslog, "tcp://h example.com:514"),
            (StreamKind::Syslog, "udp://h.example.com:514"),
            (StreamKind::Syslog, "tcp://:514"),
        ] {
            assert!(url_target(kind, bad).is_err(), "{bad} accepted for {kind:?}");
        }
    }
}
