//! The event generator: a stream of ingest bodies (docs/API.md §4), made on the fly.
//!
//! Each event is drawn in three steps: *when* (the n-th of `count` evenly spaced shares
//! of the busy-hours distribution, jittered within its share, so times never go back),
//! *what* (an activity type from [`activity_mix`], working-hours or after-hours
//! weights), and *the details*, which come from a small model of the firm — case
//! statuses move forward, contacts change from what they were, integrations are
//! connected before they are disconnected. The model has a fixed size, so memory does
//! not grow with the number of events.

use casetrail_core::Timestamp;
use fastrand::Rng;
use serde_json::{Map, Value, json};

use crate::firm::{self, Client, Firm, Staff};
use crate::people::Who;
use crate::schedule::{LocalTime, Schedule};
use crate::world::World;

/// An activity the generator makes, with its docs/API.md §8 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    CaseCreated,
    CaseUpdated,
    CaseDeleted,
    CaseExported,
    ClientCreated,
    ClientUpdated,
    ClientMerged,
    ContactChanged,
    SmsSent,
    SmsReceived,
    EmailSent,
    EmailReceived,
    CallMade,
    CallReceived,
    AiCall,
    LoggedIn,
    LoginFailed,
    UserInvited,
    RoleChanged,
    UserRemoved,
    SettingsUpdated,
    IntegrationConnected,
    IntegrationDisconnected,
    AutomationCreated,
    AutomationModified,
}

/// (kind, key, weight in working hours, weight after hours). The working-hours weights
/// are per mille and add up to 1000.
#[rustfmt::skip]
const MIX: &[(Kind, &str, u32, u32)] = &[
    (Kind::EmailSent,               "communication.email_sent",            150,  90),
    (Kind::EmailReceived,           "communication.email_received",        115, 260),
    (Kind::SmsSent,                 "communication.sms_sent",               85, 110),
    (Kind::SmsReceived,             "communication.sms_received",           60, 170),
    (Kind::CallMade,                "communication.call_made",              65,  10),
    (Kind::CallReceived,            "communication.call_received",          45,  40),
    (Kind::AiCall,                  "communication.ai_call_initiated",      20,  70),
    (Kind::CaseUpdated,             "case.updated",                        190,  90),
    (Kind::CaseCreated,             "case.created",                         37,  20),
    (Kind::CaseExported,            "case.exported",                        12,   3),
    (Kind::CaseDeleted,             "case.deleted",                          4,   0),
    (Kind::ClientUpdated,           "client.updated",                       75,  30),
    (Kind::ContactChanged,          "client.contact_changed",               40,  30),
    (Kind::ClientCreated,           "client.created",                       30,  40),
    (Kind::ClientMerged,            "client.merged",                         4,   0),
    (Kind::LoggedIn,                "team.user_logged_in",                  30,  40),
    (Kind::LoginFailed,             "team.login_failed",                     8,  20),
    (Kind::UserInvited,             "team.user_invited",                     3,   0),
    (Kind::RoleChanged,             "team.user_role_changed",                3,   0),
    (Kind::UserRemoved,             "team.user_removed",                     3,   0),
    (Kind::SettingsUpdated,         "settings.updated",                      6,   2),
    (Kind::IntegrationConnected,    "settings.integration_connected",        3,   0),
    (Kind::IntegrationDisconnected, "settings.integration_disconnected",     3,   0),
    (Kind::AutomationCreated,       "settings.automation_created",           3,   1),
    (Kind::AutomationModified,      "settings.automation_modified",          6,   2),
];

/// The activity mix: `(activity key, weight in working hours, weight after hours)`.
///
/// Working-hours weights are per mille (they add up to 1000); after-hours weights
/// (evenings, nights, weekends) are relative. On top of the mix, a staff member's
/// first action of a (local) day is preceded by their `team.user_logged_in`.
pub fn activity_mix() -> impl Iterator<Item = (&'static str, u32, u32)> {
    MIX.iter().map(|&(_, key, day, night)| (key, day, night))
}

impl Kind {
    pub(crate) fn key(self) -> &'static str {
        MIX.iter().find(|m| m.0 == self).map_or("case.updated", |m| m.1)
    }
}

/// When an event happens, and which one it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment {
    /// UTC milliseconds since the epoch.
    pub ms: i64,
    pub local: LocalTime,
    /// The event's index, 0-based.
    pub n: usize,
}

/// Before/after values, in either form of docs/API.md §4.
#[derive(Debug, Clone)]
pub(crate) enum Changes {
    None,
    List(Vec<Value>),
    Snapshots(Value, Value),
}

/// One event before it is rendered as JSON.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub kind: Kind,
    pub who: Who,
    pub description: String,
    pub related: Vec<Value>,
    pub changes: Changes,
    pub metadata: Map<String, Value>,
    /// Where the action came from, when not the actor's usual place.
    pub context: Option<Value>,
}

impl Draft {
    pub fn new(kind: Kind, who: Who, description: String) -> Draft {
        Draft {
            kind,
            who,
            description,
            related: Vec::new(),
            changes: Changes::None,
            metadata: Map::new(),
            context: None,
        }
    }

    pub fn related(mut self, records: impl IntoIterator<Item = Value>) -> Draft {
        self.related.extend(records);
        self
    }

    pub fn changes(mut self, changes: Changes) -> Draft {
        self.changes = changes;
        self
    }

    /// Sets the metadata from a `json!({...})` object.
    pub fn metadata(mut self, metadata: Value) -> Draft {
        if let Value::Object(map) = metadata {
            self.metadata = map;
        }
        self
    }
}

/// One change of the `changes` form.
pub(crate) fn change(field: &str, before: impl Into<Value>, after: impl Into<Value>) -> Value {
    json!({"field": field, "before": before.into(), "after": after.into()})
}

/// Draws until the value differs from `old`, within a few tries: an entry that changes
/// a field to what it already was is not what a host sends.
pub(crate) fn redraw<T: PartialEq>(old: &T, draw: impl FnMut() -> T) -> T {
    redraw_by(|value| value == old, draw)
}

/// [`redraw`], with `is_old` telling whether a drawn value is the old one.
pub(crate) fn redraw_by<T>(is_old: impl Fn(&T) -> bool, mut draw: impl FnMut() -> T) -> T {
    let mut value = draw();
    for _ in 0..16 {
        if !is_old(&value) {
            break;
        }
        value = draw();
    }
    value
}

/// Generates `count` ingest event objects of a firm between two instants.
///
/// Same firm, seed, count and range: byte-identical events. Times are
/// non-decreasing, mostly in working hours on weekdays (US Eastern), and each event
/// has the idempotency key `demo-<seed>-<n>` (`n` from 1). Memory does not depend on
/// `count`, so it can stream millions of events.
///
/// ```
/// use casetrail_demo::{firm, EventGenerator};
/// let end = jiff::Timestamp::from_second(1_795_000_000).unwrap();
/// let start = end - jiff::SignedDuration::from_hours(24 * 14);
/// let events: Vec<_> = EventGenerator::new(&firm(1), 1, 100, start, end).collect();
/// assert_eq!(events.len(), 100);
/// assert_eq!(events[0]["idempotency_key"], "demo-1-1");
/// ```
#[derive(Debug, Clone)]
pub struct EventGenerator {
    seed: u64,
    count: usize,
    next: usize,
    schedule: Schedule,
    last_ms: i64,
    rng: Rng,
    world: World,
    /// An action held back one event, while its actor signs in first.
    pending: Option<Draft>,
}

impl EventGenerator {
    /// `count` events of `firm` from `start` to `end`, drawn from `seed`.
    ///
    /// Instants before 1970 or after 9999 are moved into that range (casetrail keeps
    /// no others); an `end` before `start` puts every event at `start`.
    pub fn new(firm: &Firm, seed: u64, count: usize, start: jiff::Timestamp, end: jiff::Timestamp) -> EventGenerator {
        // The range casetrail_core::Timestamp keeps.
        let bound = |t: jiff::Timestamp| t.as_millisecond().clamp(0, casetrail_core::Timestamp::MAX.as_millis());
        let (start, end) = (bound(start), bound(end));
        let mut rng = Rng::with_seed(seed ^ 0x6576_656e_7473_5f5f);
        let world = World::new(firm, &mut rng);
        EventGenerator {
            seed,
            count,
            next: 0,
            schedule: Schedule::new(seed, start, end),
            last_ms: start,
            rng,
            world,
            pending: None,
        }
    }

    /// The demo of `casetrail serve --demo`: `count` events over the `days` days that
    /// end a minute before `now`.
    pub fn recent(firm: &Firm, seed: u64, count: usize, now: jiff::Timestamp, days: u32) -> EventGenerator {
        let before = |t: jiff::Timestamp, d| t.checked_sub(d).unwrap_or(jiff::Timestamp::MIN);
        let end = before(now, jiff::SignedDuration::from_secs(60));
        let start = before(end, jiff::SignedDuration::from_hours(24 * i64::from(days)));
        EventGenerator::new(firm, seed, count, start, end)
    }

    fn draft(&mut self, m: &Moment) -> Draft {
        let after_hours = m.local.after_hours();
        let (kind, ..) = *firm::weighted(&mut self.rng, MIX, |w| if after_hours { w.3 } else { w.2 });
        let rng = &mut self.rng;
        let w = &mut self.world;
        match kind {
            Kind::CaseCreated => w.case_created(rng, m),
            Kind::CaseUpdated => w.case_updated(rng, m),
            Kind::CaseDeleted => w.case_deleted(rng),
            Kind::CaseExported => w.case_exported(rng),
            Kind::ClientCreated => w.client_created(rng, m),
            Kind::ClientUpdated => w.client_updated(rng),
            Kind::ClientMerged => w.client_merged(rng),
            Kind::ContactChanged => w.contact_changed(rng),
            Kind::SmsSent | Kind::SmsReceived => w.sms(rng, m, kind),
            Kind::EmailSent | Kind::EmailReceived => w.email(rng, m, kind),
            Kind::CallMade | Kind::CallReceived => w.call(rng, m, kind),
            Kind::AiCall => w.ai_call(rng, m),
            Kind::LoggedIn => {
                let i = w.pick_staff(rng);
                w.logged_in(rng, i)
            }
            Kind::LoginFailed => w.login_failed(rng),
            Kind::UserInvited => w.user_invited(rng),
            Kind::RoleChanged => w.role_changed(rng),
            Kind::UserRemoved => w.user_removed(rng),
            Kind::SettingsUpdated => w.settings_updated(rng),
            Kind::IntegrationConnected => w.integration(rng, true),
            Kind::IntegrationDisconnected => w.integration(rng, false),
            Kind::AutomationCreated => w.automation_created(rng),
            Kind::AutomationModified => w.automation_modified(rng),
        }
    }

    /// The event as a host would send it.
    fn render(&mut self, draft: Draft, m: &Moment) -> Value {
        let mut event = Map::new();
        event.insert("idempotency_key".into(), format!("demo-{}-{}", self.seed, m.n + 1).into());
        let at = Timestamp::from_millis(m.ms).unwrap_or(Timestamp::EPOCH);
        event.insert("occurred_at".into(), at.to_string().into());
        event.insert("actor".into(), self.world.actor(&draft.who));
        event.insert("activity".into(), draft.kind.key().into());
        event.insert("description".into(), draft.description.into());
        if !draft.related.is_empty() {
            event.insert("related".into(), draft.related.into());
        }
        match draft.changes {
            Changes::None => {}
            Changes::List(changes) if changes.is_empty() => {}
            Changes::List(changes) => {
                event.insert("changes".into(), changes.into());
            }
            Changes::Snapshots(before, after) => {
                event.insert("before".into(), before);
                event.insert("after".into(), after);
            }
        }
        if !draft.metadata.is_empty() {
            event.insert("metadata".into(), Value::Object(draft.metadata));
        }
        let context = draft.context.or_else(|| self.world.context(&mut self.rng, &draft.who, m.local.after_hours()));
        if let Some(context) = context {
            event.insert("context".into(), context);
        }
        Value::Object(event)
    }
}

impl Iterator for EventGenerator {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        if self.next >= self.count {
            return None;
        }
        let n = self.next;
        self.next += 1;
        // The n-th of `count` equal shares, jittered within it: never before the last.
        let share = (n as f64 + self.rng.f64()) / self.count as f64;
        let ms = self.schedule.at(share).max(self.last_ms);
        self.last_ms = ms;
        let m = Moment { ms, local: LocalTime::of(ms), n };

        let draft = match self.pending.take() {
            Some(held) => held,
            None => self.draft(&m),
        };
        // Staff sign in before their first action of the day, which then waits a turn.
        let draft = match draft.who {
            Who::Staff(i)
                if !matches!(draft.kind, Kind::LoggedIn | Kind::LoginFailed)
                    && !self.world.signed_in(i, m.local.day) =>
            {
                self.pending = Some(draft);
                self.world.logged_in(&mut self.rng, i)
            }
            _ => draft,
        };
        if let (Kind::LoggedIn, Who::Staff(i)) = (draft.kind, &draft.who) {
            self.world.sign_in(*i, m.local.day);
        }
        Some(self.render(draft, &m))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for EventGenerator {}

impl std::iter::FusedIterator for EventGenerator {}

/// A reference to a staff member as a related record.
pub(crate) fn user_ref(staff: &Staff) -> Value {
    json!({"type": "user", "id": staff.id, "name": staff.name})
}

/// A reference to a client as a related record.
pub(crate) fn client_ref(client: &Client) -> Value {
    json!({"type": "client", "id": client.id, "name": client.name})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_covers_every_host_activity_once() {
        let keys: Vec<&str> = activity_mix().map(|(k, ..)| k).collect();
        let expected: Vec<&str> =
            casetrail_core::Activity::all().filter(|a| !a.is_reserved()).map(|a| a.key()).collect();
        assert_eq!(keys.len(), expected.len());
        for key in expected {
            assert!(keys.contains(&key), "{key}");
        }
        assert_eq!(activity_mix().map(|(_, day, _)| day).sum::<u32>(), 1000);
    }
}
