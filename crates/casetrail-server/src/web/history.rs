//! `/settings/system-log/records/{type}/{id}`: one record's history (docs/API.md §14)
//! — its name and type, how many entries concern it and since when, each of its
//! fields over time (the value now, and every change with who and when), and a
//! timeline of its newest entries; with links to the log filtered by it and to the
//! record in the CRM.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_app::AppError;
use casetrail_app::history::{FieldHistory, RecordHistory, record_history};
use casetrail_core::RecordType;
use casetrail_store::{Account, RECENT_EVENTS};
use jiff::tz::TimeZone;

use super::format::{JsonPart, Shown, avatar_class, initials, long_time, record_crm_url, record_log_href, short_time};
use super::{LOG_PATH, OrErrorPage, PageAdmin, PageError, Shell, not_found, render_off_thread};
use crate::AppState;

/// One change of a field, as the page shows it.
#[derive(Debug)]
pub struct ChangeStep {
    pub before: Shown,
    pub after: Shown,
    pub when: String,
    pub when_long: String,
    pub actor: String,
    pub entry: String,
}

/// A field: its value now and the changes that led there, newest first.
#[derive(Debug)]
pub struct FieldRow {
    pub field: String,
    pub now: Shown,
    pub steps: Vec<ChangeStep>,
}

/// One entry of the timeline.
#[derive(Debug)]
pub struct TimelineRow {
    pub date: String,
    pub time: String,
    pub activity: &'static str,
    pub category: &'static str,
    pub description: String,
    pub actor: String,
    pub initials: String,
    pub avatar: String,
    pub entry: String,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    shell: Option<Shell>,
    type_key: &'static str,
    type_label: &'static str,
    name: String,
    id: String,
    events: u64,
    first_seen: String,
    last_seen: String,
    log_href: Option<String>,
    crm_href: Option<String>,
    fields: Vec<FieldRow>,
    timeline: Vec<TimelineRow>,
    /// More entries than the timeline shows.
    more: bool,
}

fn entry_href(id: impl std::fmt::Display) -> String {
    format!("{LOG_PATH}/{id}")
}

fn field_row(f: &FieldHistory, tz: &TimeZone) -> FieldRow {
    let now = f.changes.last().map_or(Shown::Null, |c| Shown::of(&c.after));
    let steps = f
        .changes
        .iter()
        .rev()
        .map(|c| {
            let (date, time) = short_time(c.occurred_at, tz);
            ChangeStep {
                before: Shown::of(&c.before),
                after: Shown::of(&c.after),
                when: format!("{date}, {time}"),
                when_long: long_time(c.occurred_at, tz),
                actor: c.actor_name.clone(),
                entry: entry_href(c.event_id),
            }
        })
        .collect();
    FieldRow { field: f.field.clone(), now, steps }
}

fn build(history: RecordHistory, account: &Account) -> HistoryPage {
    let tz = account.time_zone();
    let timeline = history
        .recent
        .iter()
        .map(|e| {
            let (date, time) = short_time(e.occurred_at, tz);
            TimelineRow {
                date,
                time,
                activity: e.activity.label(),
                category: e.activity.category().key,
                description: e.description.clone(),
                actor: e.actor.name.clone(),
                initials: initials(&e.actor.name),
                avatar: avatar_class(&e.actor.id),
                entry: entry_href(e.id),
            }
        })
        .collect();
    HistoryPage {
        shell: None,
        type_key: history.kind.key(),
        type_label: history.kind.label(),
        name: history.name.clone().unwrap_or_else(|| history.id.clone()),
        events: history.events,
        first_seen: long_time(history.first_seen, tz),
        last_seen: long_time(history.last_seen, tz),
        log_href: record_log_href(history.kind, &history.id),
        crm_href: record_crm_url(history.kind, &history.id, &account.record_urls),
        fields: history.fields.iter().map(|f| field_row(f, tz)).collect(),
        timeline,
        more: history.events > u64::from(RECENT_EVENTS),
        id: history.id,
    }
}

pub async fn page(
    State(state): State<AppState>,
    PageAdmin(principal): PageAdmin,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (shell, account) = Shell::for_page(&state, &principal).await?;
    let Some(kind) = RecordType::from_key(&kind) else {
        return Ok(not_found(Some(shell)));
    };
    let history = match record_history(&state, account.id, kind, &id).await {
        Err(AppError::NotFound(_)) => return Ok(not_found(Some(shell))),
        other => other.or_error_page(Some(&shell), "show a record's history")?,
    };
    let mut page = build(history, &account);
    page.shell = Some(shell);
    Ok(render_off_thread(StatusCode::OK, page).await)
}
