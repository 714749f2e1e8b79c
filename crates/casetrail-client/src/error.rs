//! What can go wrong talking to casetrail, and what the server said when it refused.

use serde::Deserialize;

/// An error from the client: the server refused the request, or it could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `401`: the server knows no such key — it is wrong, or it was revoked.
    #[error("casetrail refused the API key (401 {code}): it is wrong or was revoked: {message}")]
    Unauthenticated {
        /// The error code of the answer (`unauthenticated`).
        code: String,
        /// The server's message.
        message: String,
    },
    /// `403`: the key is valid but may not do this (an ingest-only key reading the
    /// feed, an admin key without `events:write` ingesting).
    #[error("casetrail refused the request for this key (403 {code}): {message}")]
    Forbidden {
        /// The error code of the answer (`forbidden`).
        code: String,
        /// The server's message, which names the missing scope.
        message: String,
    },
    /// Any other answer that is not a success and is not retried: a `400`, a `404`,
    /// a `409`, …, or a retryable status after the retries ran out.
    #[error("casetrail answered {status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The error code of the answer (`bad_request`, `unavailable`, …).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The request could not be sent or its answer not read: no connection, a
    /// timeout, a connection closed halfway.
    #[error("could not reach casetrail: {0}")]
    Transport(#[source] reqwest::Error),
    /// A successful status with a body that is not what the API promises.
    #[error("casetrail's answer was not understood: {0}")]
    Protocol(String),
    /// A retryable failure lasted through every attempt the retry policy allows.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// How many requests were made.
        attempts: u32,
        /// The last attempt's failure.
        last: Box<Error>,
    },
    /// The base URL given to the client is not an `http://` or `https://` URL.
    #[error("not a casetrail base URL: {0}")]
    InvalidUrl(String),
    /// The sender is closed (or its background task is gone): nothing more is taken.
    #[error("the sender is closed")]
    Closed,
}

impl Error {
    /// The HTTP status of the refusal, when the server answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthenticated { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::Api { status, .. } => Some(*status),
            Error::GaveUp { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Whether the key itself was refused (`401` or `403`): every later request with
    /// it will be refused too.
    pub fn is_credential_problem(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// The error for a refusal with `status` and the body of the API's error shape
    /// (`{"error": {"code", "message", "details"}}`), or whatever text it was.
    pub(crate) fn from_answer(status: u16, body: &[u8]) -> Error {
        let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => (parsed.error.code, parsed.error.message),
            Err(_) => (String::from("unknown"), String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()),
        };
        match status {
            401 => Error::Unauthenticated { code, message },
            403 => Error::Forbidden { code, message },
            _ => Error::Api { status, code, message },
        }
    }
}

/// One refused field, as the server named it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Problem {
    /// The field, relative to the event (`activity`, `related[2].type`), or `""` when
    /// the whole event was refused (too large).
    pub field: String,
    /// Why (`unknown activity type "case.opened"`).
    pub message: String,
}

/// Why the server refused one event: its status (`422`, or `413` for an event too
/// large to send at all), message and every bad field of this event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `422` (`validation_failed`) or `413` (`payload_too_large`).
    pub status: u16,
    /// The server's message for the whole request.
    pub message: String,
    /// This event's bad fields, relative to the event.
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<String> = self.problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
        if fields.is_empty() { write!(f, "{}", self.message) } else { write!(f, "{}", fields.join("; ")) }
    }
}

/// The API's error shape.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorMembers,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorMembers {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub details: Vec<Problem>,
}

/// A 422's details, split by the event they name: `events[3].activity` is event 3's
/// `activity`. Answers `None` when any detail names no event of the batch (then the
/// refusal cannot be pinned on single events).
pub(crate) fn problems_by_event(details: &[Problem], batch_len: usize) -> Option<Vec<(usize, Problem)>> {
    details
        .iter()
        .map(|detail| {
            let rest = detail.field.strip_prefix("events[")?;
            let (index, field) = rest.split_once(']')?;
            let index: usize = index.parse().ok().filter(|i| *i < batch_len)?;
            let field = field.strip_prefix('.').unwrap_or(field);
            Some((index, Problem { field: field.to_string(), message: detail.message.clone() }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(field: &str) -> Problem {
        Problem { field: field.to_string(), message: "bad".to_string() }
    }

    #[test]
    fn details_are_pinned_on_the_events_they_name() {
        let details = [problem("events[3].activity"), problem("events[0].related[2].type"), problem("events[3]")];
        let split = problems_by_event(&details, 4).unwrap();
        assert_eq!(split, vec![(3, problem("activity")), (0, problem("related[2].type")), (3, problem(""))]);
        assert_eq!(problems_by_event(&[problem("events[4].activity")], 4), None, "past the batch");
        assert_eq!(problems_by_event(&[problem("body")], 4), None, "no event named");
        assert_eq!(problems_by_event(&[problem("events[x].activity")], 4), None);
    }

    #[test]
    fn refusals_keep_the_servers_code_and_message() {
        let body = br#"{"error":{"code":"unauthenticated","message":"missing or invalid API key","details":[]}}"#;
        let err = Error::from_answer(401, body);
        assert!(matches!(&err, Error::Unauthenticated { message, .. } if message == "missing or invalid API key"));
        assert!(err.is_credential_problem());
        assert!(err.to_string().contains("wrong or was revoked"), "{err}");
        let err = Error::from_answer(502, b"<html>bad gateway</html>");
        assert!(
            matches!(&err, Error::Api { status: 502, code, message } if code == "unknown" && message.contains("bad gateway"))
        );
        assert_eq!(err.status(), Some(502));
    }
}
