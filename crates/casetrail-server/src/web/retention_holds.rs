//! The retention page's holds: the table of holds on cases and clients, each by the
//! name the log gives it, and the form that places one — the case or client picked
//! with the log's type-ahead picker (`app.js`), or, without a script, from the
//! picker's list or by typing its id.
//!
//! The form's fields: `record` (`case:c_1042`, from the picker) or else `type` and
//! `id`; and `reason`. An id typed in wins over the pick, so a record the log has
//! not seen yet can be held too.

use std::collections::HashMap;

use casetrail_app::AppError;
use casetrail_app::holds::{MAX_REASON_CHARS, holdable, lift_hold, parse_hold, place_hold};
use casetrail_core::{RecordType, Timestamp};
use casetrail_store::{Account, StoreError};
use jiff::tz::TimeZone;

use super::filters::{Opt, record_picker};
use super::format::short_time;
use super::retention::Outcome;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;

/// How many cases and clients the picker lists before anyone types.
const PICKER_RECORDS: u32 = 100;

/// One hold, as the table shows it.
#[derive(Debug)]
pub struct HoldRow {
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub id: String,
    /// The name the log gives the record (its id when it never named it), and its
    /// history page.
    pub name: String,
    pub history: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: String,
}

pub(super) fn when(ts: Timestamp, tz: &TimeZone) -> String {
    let (date, time) = short_time(ts, tz);
    format!("{date}, {time}")
}

/// The holds of the account, each by the name the log gives its record.
pub(super) async fn hold_rows(state: &AppState, account: &Account, tz: &TimeZone) -> ApiResult<Vec<HoldRow>> {
    let holds = state.store.holds(account.id).await?;
    let mut rows = Vec::with_capacity(holds.len());
    for h in &holds {
        // A hold may name a record the log has not seen (yet, or any more).
        let seen = state.store.record_events(account.id, h.kind, &h.id).await?;
        rows.push(HoldRow {
            kind: h.kind.key(),
            kind_label: if h.kind == RecordType::Case { "Case" } else { "Client" },
            id: h.id.clone(),
            name: seen.and_then(|r| r.name).unwrap_or_else(|| h.id.clone()),
            history: super::format::history_href(h.kind, &h.id),
            reason: h.reason.clone(),
            created_by: h.created_by.clone(),
            created_at: when(h.created_at, tz),
        });
    }
    Ok(rows)
}

/// The cases and clients the picker offers first, as the log's filters offer them;
/// each option's value is `type:id`, so a pick names its type whatever the type
/// select says.
pub(super) async fn picker_options(state: &AppState, account: &Account) -> ApiResult<(Vec<Opt>, Vec<Opt>)> {
    let mut lists = Vec::with_capacity(2);
    for kind in [RecordType::Case, RecordType::Client] {
        let records = state.store.records(account.id, Some(kind), &[], PICKER_RECORDS).await?;
        let mut options = record_picker(kind, &records, "").options;
        for o in &mut options {
            o.value = format!("{}:{}", kind.key(), o.value);
        }
        lists.push(options);
    }
    let clients = lists.pop().unwrap_or_default();
    Ok((lists.pop().unwrap_or_default(), clients))
}

/// The type and id a hold form names: the id typed in with the type select, or
/// else the pick.
fn target(form: &HashMap<String, String>) -> (String, String) {
    let field = |name: &str| form.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
    let (kind, id, record) = (field("type"), field("id"), field("record"));
    if !id.is_empty() || record.is_empty() {
        return (kind, id);
    }
    match record.split_once(':') {
        Some((kind, id)) => (kind.to_string(), id.to_string()),
        None => (String::new(), record),
    }
}

/// Places a hold and records it, as `POST /api/v1/holds` does.
pub(super) async fn add_hold(
    state: &AppState,
    principal: &Principal,
    form: &HashMap<String, String>,
) -> ApiResult<Outcome> {
    let (kind, id) = target(form);
    let reason = form.get("reason").map(|r| r.trim()).unwrap_or_default();
    let request = match parse_hold(Some(&kind), Some(&id), Some(reason)) {
        Ok(request) => request,
        Err(errors) => return Ok(Outcome::Refused(refusal(&kind, &errors))),
    };
    let (kind, id) = (request.kind, request.id.clone());
    match place_hold(state, &principal.actor(), principal.account_id, request).await {
        Ok(_) => Ok(Outcome::Done(format!("Placed a hold on {} {id}.", kind.key()))),
        Err(AppError::Store(StoreError::Conflict(_))) => {
            Ok(Outcome::Refused(format!("The {} {id} is already under a hold.", kind.key())))
        }
        Err(err) => Err(err.into()),
    }
}
/// Why a hold could not be placed, in the words of the page.
fn refusal(kind: &str, errors: &[casetrail_core::FieldError]) -> String {
    match errors.first().map(|e| e.field.as_str()) {
        Some("type") => "Choose a case or a client to hold.".into(),
        Some("id") => format!("Pick the {kind} to hold, or enter its id."),
        _ => format!("The reason may be at most {MAX_REASON_CHARS} characters."),
    }
}

/// Lifts a hold and records it, as `DELETE /api/v1/holds/{type}/{id}` does.
pub(super) async fn lift(state: &AppState, principal: &Principal, kind: &str, id: &str) -> ApiResult<Outcome> {
    let gone = || Outcome::Refused("That hold is no longer in place.".into());
    let Some(kind) = holdable(kind) else { return Ok(gone()) };
    match lift_hold(state, &principal.actor(), principal.account_id, kind, id).await {
        Ok(hold) => Ok(Outcome::Done(format!("Lifted the hold on {} {}.", kind.key(), hold.id))),
        Err(AppError::NotFound(_)) => Ok(gone()),
        Err(err) => Err(err.into()),
    }
}
