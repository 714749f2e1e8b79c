//! Opening the pool: the URL (and keeping its password out of every message), TLS,
//! timeouts and the settings every connection gets.

use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

/// Connections per store. Each is a server process, so a few servers on one database
/// stay well inside PostgreSQL's default `max_connections` of 100.
pub(crate) const POOL_SIZE: usize = 8;
/// One TCP connection attempt, when the URL does not set `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Opening one connection, TLS and authentication included. Short, because a request
/// waits for it when the pool has none: with the database gone, a request must be
/// answered `503` in a few seconds, not hang until its client gives up.
const CREATE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a caller waits for a free connection before the store answers
/// `Unavailable`. Statements take milliseconds; eight connections all held for this
/// long mean a database that stopped answering.
const WAIT_TIMEOUT: Duration = Duration::from_secs(3);
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(5);

/// What every connection is set to when it opens. A row lock not granted within
/// `lock_timeout` fails the statement (as `Busy`) instead of queueing behind a stuck
/// writer; `statement_timeout` bounds reads (appends lift it for their transaction: an
/// acknowledged write must not be cut short by a slow disk); a transaction left open
/// by a stalled caller is ended by the server.
const SESSION_SETTINGS: &str = "SET lock_timeout = '10s'; SET statement_timeout = '60s'; \
    SET idle_in_transaction_session_timeout = '120s'";

/// Why a store could not be opened. Built only from the redacted URL and from
/// messages with every form of the password taken out, and it keeps no source error,
/// so neither its `Display`, its `Debug` nor its (empty) source chain can show a secret.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the PostgreSQL store at {url}: {what}: {cause}")]
pub struct ConnectError {
    url: String,
    what: &'static str,
    cause: String,
}

/// The URL as given, and what must never appear in a message about it.
pub(crate) struct Target {
    pub url: String,
    pub redacted: String,
    secrets: Vec<String>,
}

impl Target {
    pub fn new(url: &str) -> Target {
        let mut secrets = raw_passwords(url);
        secrets.extend(secrets.iter().map(|s| percent_decoded(s)).collect::<Vec<_>>());
        if let Ok(config) = url.parse::<tokio_postgres::Config>()
            && let Some(password) = config.get_password()
        {
            secrets.push(String::from_utf8_lossy(password).into_owned());
        }
        secrets.retain(|s| !s.is_empty());
        Target { url: url.to_string(), redacted: redact(url), secrets }
    }

    /// A connect error saying `what` failed because of `cause` and every error
    /// under it (tokio-postgres keeps the reason, say the TLS failure, in its
    /// source), with the secrets taken out.
    pub fn error(&self, what: &'static str, cause: impl std::error::Error) -> ConnectError {
        let mut text = cause.to_string();
        let mut next = cause.source();
        while let Some(err) = next {
            // A wrapper often repeats its source's text in its own (the pool does).
            let more = err.to_string();
            if !text.ends_with(&more) {
                text = format!("{text}: {more}");
            }
            next = err.source();
        }
        self.message(what, text)
    }

    /// Like [`Target::error`], for a cause that is only a message.
    pub fn message(&self, what: &'static str, cause: impl std::fmt::Display) -> ConnectError {
        let mut cause = cause.to_string();
        for secret in &self.secrets {
            cause = cause.replace(secret.as_str(), "***");
        }
        ConnectError { url: self.redacted.clone(), what, cause }
    }
}

/// Builds the pool (it opens no connection yet).
pub(crate) fn pool(target: &Target) -> Result<Pool, ConnectError> {
    let mut config: tokio_postgres::Config =
        target.url.parse().map_err(|e| target.error("the connection URL does not parse", e))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let tls = crate::tls::connector(config.get_ssl_mode()).map_err(|e| target.error("TLS could not be set up", e))?;
    let manager = Manager::from_config(config, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(POOL_SIZE)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(CREATE_TIMEOUT))
        .wait_timeout(Some(WAIT_TIMEOUT))
        .recycle_timeout(Some(RECYCLE_TIMEOUT))
        .post_create(Hook::async_fn(|client, _| {
            Box::pin(async move { client.batch_execute(SESSION_SETTINGS).await.map_err(HookError::Backend) })
        }))
        .build()
        .map_err(|e| target.error("the connection pool could not be built", e))
}

/// The URL with its password replaced by `***`, in either of the forms tokio-postgres
/// reads: `postgres://user:password@host/db?password=...` or `key=value` pairs.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    for (start, end) in password_spans(url).into_iter().rev() {
        out.replace_range(start..end, "***");
    }
    out
}

/// The password as written in the URL, in each place it may be written.
fn raw_passwords(url: &str) -> Vec<String> {
    password_spans(url).into_iter().map(|(s, e)| url[s..e].to_string()).collect()
}

/// `%XX` escapes decoded, as tokio-postgres reads a URL's parts.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Byte ranges of password values in `url`, in order, never overlapping.
fn password_spans(url: &str) -> Vec<(usize, usize)> {
    let Some(rest_at) = ["postgresql://", "postgres://"].iter().find(|p| url.starts_with(**p)).map(|p| p.len()) else {
        return key_value_password_spans(url);
    };
    let mut spans = Vec::new();
    let rest = &url[rest_at..];
    // Like tokio-postgres: the credentials run to the first '@', the password from
    // their first ':'.
    let mut params_from = rest_at;
    if let Some(at) = rest.find('@') {
        if let Some(colon) = rest[..at].find(':') {
            spans.push((rest_at + colon + 1, rest_at + at));
        }
        params_from = rest_at + at;
    }
    if let Some(q) = url[params_from..].find('?') {
        let mut pos = params_from + q + 1;
        for pair in url[pos..].split('&') {
            if let Some((key, _)) = pair.split_once('=')
                && key == "password"
            {
                spans.push((pos + key.len() + 1, pos + pair.len()));
            }
            pos += pair.len() + 1;
        }
    }
    spans
}

/// `password = value` in a `key=value` string: the value is either single-quoted
/// (with `\'` and `\\` escapes) or runs to the next whitespace.
fn key_value_password_spans(s: &str) -> Vec<(usize, usize)> {
    let bytes = s.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while let Some(found) = s[i..].find("password") {
        let key_start = i + found;
        let mut j = key_start + "password".len();
        let starts_key = key_start == 0 || bytes[key_start - 1].is_ascii_whitespace();
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if !starts_key || j >= bytes.len() || bytes[j] != b'=' {
            i = key_start + 1;
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let start = j;
        if j < bytes.len() && bytes[j] == b'\'' {
            j += 1;
            while j < bytes.len() && bytes[j] != b'\'' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(bytes.len());
            spans.push((start + 1, end.max(start + 1)));
            j = (end + 1).min(bytes.len());
        } else {
            while j < bytes.len() && !bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            spans.push((start, j));
        }
        i = j.max(key_start + 1);
    }
    spans.retain(|(s, e)| s < e);
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        let cases = [
            ("postgres://u:pw@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgresql://u:p%40w@h/db?sslmode=disable", "postgresql://u:***@h/db?sslmode=disable"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h/db", "postgres://h/db"),
            ("postgres://u@h/db?password=pw&sslmode=require", "postgres://u@h/db?password=***&sslmode=require"),
            ("postgres://u:a:b/c?d@h/db", "postgres://u:***@h/db"),
            ("host=h user=u password=pw dbname=d", "host=h user=u password=*** dbname=d"),
            ("host=h password = 'p w\\'x' dbname=d", "host=h password = '***' dbname=d"),
            ("host=h mypassword=x", "host=h mypassword=x"),
            ("password=pw", "password=***"),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn connect_errors_never_repeat_a_password_in_any_form() {
        let target = Target::new("postgres://u:p%40ss@h/db?password=other");
        let err = target.message("testing", "failed for p%40ss, p@ss and other");
        let shown = format!("{err} {err:?}");
        for secret in ["p%40ss", "p@ss", "other"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("postgres://u:***@h/db?password=***"), "{shown}");
    }
}
