//! Sending one batch of events and working out what became of each.
//!
//! A batch is atomic on the server: one bad event refuses them all with a 422 that
//! names every bad event by index. The bad ones are then [`Outcome::Rejected`] with
//! their own fields, and the others are sent again at once, in order, with the same
//! idempotency keys. A `413` (a body over 1 MiB) splits the batch in halves; an event
//! too large on its own is rejected with the server's message.

use std::collections::VecDeque;
use std::sync::Arc;

use casetrail_core::EventId;
use serde::Deserialize;

use crate::client::{Answer, Client};
use crate::error::{Error, ErrorBody, Problem, Rejection, problems_by_event};
use crate::retry::RetryPolicy;

/// The server's body limit: a batch's body must not be larger.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The API's batch limit.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// What became of one event.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Stored now, at `seq` of the account's chain.
    Accepted {
        /// The stored event's id.
        id: EventId,
        /// Its position in the chain.
        seq: u64,
    },
    /// Its idempotency key was stored before (by an earlier attempt whose answer was
    /// lost, or by another send): nothing new was stored; these are the original's.
    Duplicate {
        /// The original event's id.
        id: EventId,
        /// The original event's seq.
        seq: u64,
    },
    /// The server refused the event itself (422, or 413 when it is too large): sending
    /// it again would not help.
    Rejected(Rejection),
    /// It could not be delivered: a refused key, another refusal of the request, or
    /// retries that ran out. Whether it was stored is unknown only in the last case
    /// (sending it again with the same key is then safe).
    Failed(Arc<Error>),
}

impl Outcome {
    /// Whether the event is in the log (accepted now or before).
    pub fn is_stored(&self) -> bool {
        matches!(self, Outcome::Accepted { .. } | Outcome::Duplicate { .. })
    }

    /// The seq of the stored event, when it is stored.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Outcome::Accepted { seq, .. } | Outcome::Duplicate { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct IngestAnswer {
    events: Vec<IngestedEvent>,
}

#[derive(Deserialize)]
struct IngestedEvent {
    id: EventId,
    seq: u64,
    duplicate: bool,
}

/// `{"events":[e0,e1,…]}` from events already serialized.
pub fn batch_body<'a>(events: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 * 1024);
    body.extend_from_slice(b"{\"events\":[");
    for (i, event) in events.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(event);
    }
    body.extend_from_slice(b"]}");
    body
}

/// The body size of a batch of events of these sizes.
pub fn body_len(count: usize, event_bytes: usize) -> usize {
    b"{\"events\":[]}".len() + event_bytes + count.saturating_sub(1)
}

/// Sends `events` (each serialized), splitting and resending as the answers ask;
/// answers one outcome per event, in order.
pub async fn deliver(client: &Client, policy: &RetryPolicy, events: &[&[u8]]) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
    // Groups of indexes still to send, in order.
    let mut groups: VecDeque<Vec<usize>> = VecDeque::from([(0..events.len()).collect()]);
    while let Some(group) = groups.pop_front() {
        if group.is_empty() {
            continue;
        }
        let body = batch_body(group.iter().map(|&i| events[i]));
        let answer = match client.post_events(body, policy).await {
            Ok(answer) => answer,
            Err(err) => {
                fail(&mut outcomes, &group, err);
                continue;
            }
        };
        match answer.status {
            200 | 201 => match parse_accepted(&answer, group.len()) {
                Ok(list) => group.iter().zip(list).for_each(|(&i, o)| outcomes[i] = Some(o)),
                Err(err) => fail(&mut outcomes, &group, err),
            },
            422 => match rejections(&answer, group.len()) {
                Some(rejected) => {
                    let mut rest = Vec::new();
                    for (position, &i) in group.iter().enumerate() {
                        match rejected.iter().find(|(at, _)| *at == position) {
                            Some((_, rejection)) => outcomes[i] = Some(Outcome::Rejected(rejection.clone())),
                            None => rest.push(i),
                        }
                    }
                    groups.push_front(rest);
                }
                None => fail(&mut outcomes, &group, Error::from_answer(422, &answer.body)),
            },
            413 if group.len() > 1 => {
                let (first, second) = group.split_at(group.len() / 2);
                groups.push_front(second.to_vec());
                groups.push_front(first.to_vec());
            }
            413 => {
                let message = Error::from_answer(413, &answer.body);
                let message = match message {
                    Error::Api { message, .. } => message,
                    other => other.to_string(),
                };
                let problems = vec![Problem { field: String::new(), message: message.clone() }];
                outcomes[group[0]] = Some(Outcome::Rejected(Rejection { status: 413, message, problems }));
            }
            status => fail(&mut outcomes, &group, Error::from_answer(status, &answer.body)),
        }
    }
    outcomes.into_iter().map(|o| o.unwrap_or_else(|| Outcome::Failed(Arc::new(Error::Closed)))).collect()
}

fn fail(outcomes: &mut [Option<Outcome>], group: &[usize], err: Error) {
    let shared = Arc::new(err);
    for &i in group {
        outcomes[i] = Some(Outcome::Failed(shared.clone()));
    }
}

fn parse_accepted(answer: &Answer, expected: usize) -> Result<Vec<Outcome>, Error> {
    let parsed: IngestAnswer = serde_json::from_slice(&answer.body)
        .map_err(|e| Error::Protocol(format!("the ingest answer is not {{\"events\": [...]}}: {e}")))?;
    if parsed.events.len() != expected {
        return Err(Error::Protocol(format!("{expected} events sent, {} answered", parsed.events.len())));
    }
    Ok(parsed
        .events
        .into_iter()
        .map(|e| match e.duplicate {
            true => Outcome::Duplicate { id: e.id, seq: e.seq },
            false => Outcome::Accepted { id: e.id, seq: e.seq },
        })
        .collect())
}

/// The rejection of each event a 422 names, by position in the batch; `None` when
/// the answer names no event (nothing can be resent).
fn rejections(answer: &Answer, batch_len: usize) -> Option<Vec<(usize, Rejection)>> {
    let body: ErrorBody = serde_json::from_slice(&answer.body).ok()?;
    let named = problems_by_event(&body.error.details, batch_len)?;
    if named.is_empty() {
        return None;
    }
    let mut out: Vec<(usize, Rejection)> = Vec::new();
    for (index, problem) in named {
        match out.iter_mut().find(|(at, _)| *at == index) {
            Some((_, rejection)) => rejection.problems.push(problem),
            None => out
                .push((index, Rejection { status: 422, message: body.error.message.clone(), problems: vec![problem] })),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_events_joined() {
        let events: [&[u8]; 3] = [b"{\"a\":1}", b"{}", b"{\"b\":[2]}"];
        let body = batch_body(events.iter().copied());
        assert_eq!(body, br#"{"events":[{"a":1},{},{"b":[2]}]}"#);
        assert_eq!(body.len(), body_len(3, events.iter().map(|e| e.len()).sum()));
        assert_eq!(batch_body(std::iter::empty()).len(), body_len(0, 0));
    }

    #[test]
    fn a_422_groups_each_events_problems() {
        let body = br#"{"error":{"code":"validation_failed","message":"events[1].occurred_at: too far",
            "details":[{"field":"events[1].occurred_at","message":"too far"},
                       {"field":"events[3].description","message":"too long"},
                       {"field":"events[1].actor.name","message":"is required"}]}}"#;
        let answer = Answer { status: 422, body: body.to_vec() };
        let got = rejections(&answer, 4).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 1);
        let fields: Vec<&str> = got[0].1.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["occurred_at", "actor.name"]);
        assert_eq!((got[1].0, got[1].1.problems[0].field.as_str()), (3, "description"));
        assert_eq!(got[1].1.to_string(), "description: too long");
        let unnamed =
            br#"{"error":{"code":"validation_failed","message":"x","details":[{"field":"body","message":"x"}]}}"#;
        assert!(rejections(&Answer { status: 422, body: unnamed.to_vec() }, 4).is_none());
    }
}
