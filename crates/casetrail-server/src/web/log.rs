//! `/settings/system-log`: the log, newest first, with search, filters that live in
//! the URL, and keyset paging.
//!
//! The store pages only towards older entries (a `next_cursor`). "Newer" works
//! without JavaScript by carrying the cursors of the pages before this one in the
//! URL: `cursor` is this page's start, `prev` the earlier pages' starts joined with
//! `.` (the first page, which has no cursor, is implied). Cursors are base64url, so
//! `.` never occurs in one.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_core::query::{BrowseQuery, ParamError, search_words};
use casetrail_core::{ChainedEvent, RecordType};
use casetrail_store::{Account, AccountId, ActorSummary, RecordSummary};
use jiff::tz::TimeZone;

use super::filters::{
    ActivityGroup, Chip, Filters, Names, Picker, Preset, activity_groups, actor_picker, date_presets, record_picker,
};
use super::format::{RecordLink, actor_kind_label, avatar_class, initials, record_link, short_time};
use super::{OrErrorPage, PageAdmin, PageError, Shell, render_off_thread};
use crate::AppState;
use crate::api::QueryPairs;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// How many actors and records the pickers offer before anyone types.
const PICKER_ACTORS: u32 = 200;
const PICKER_RECORDS: u32 = 100;
/// How many earlier pages "Newer" can walk back through.
const MAX_STACK: usize = 200;
/// Related records shown in a row before "+ n more".
const ROW_RELATED: usize = 3;

/// One row of the log.
#[derive(Debug)]
pub struct Row {
    pub href: String,
    pub date: String,
    pub time: String,
    pub utc: String,
    pub actor_name: String,
    pub actor_email: String,
    pub actor_kind: Option<&'static str>,
    pub initials: String,
    pub avatar: String,
    pub activity_label: &'static str,
    pub category_key: &'static str,
    pub category_label: &'static str,
    pub description: String,
    pub related: Vec<RecordLink>,
    pub more_related: usize,
    pub changes: usize,
}

/// The paging links of a page.
#[derive(Debug, Default)]
pub struct Paging {
    pub newest: Option<String>,
    pub newer: Option<String>,
    pub older: Option<String>,
    /// The 1-based positions of the first and last rows shown.
    pub first: usize,
    pub last: usize,
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    shell: Option<Shell>,
    filters: Filters,
    filter_count: usize,
    chips: Vec<Chip>,
    presets: Vec<Preset>,
    user_picker: Picker,
    record_pickers: Vec<Picker>,
    activity_groups: Vec<ActivityGroup>,
    rows: Vec<Row>,
    paging: Paging,
    problem: Option<String>,
    /// The export links: the current filters only, never the paging.
    export_csv: String,
    export_xlsx: String,
    export_evidence: String,
}

pub async fn page(
    State(state): State<AppState>,
    PageAdmin(principal): PageAdmin,
    QueryPairs(params): QueryPairs,
) -> Result<Response, PageError> {
    let (shell, account) = Shell::for_page(&state, &principal).await?;
    let mut page =
        build(&state, &principal, &account, &params).await.or_error_page(Some(&shell), "show the log page")?;
    page.shell = Some(shell);
    Ok(render_off_thread(StatusCode::OK, page).await)
}

async fn build(
    state: &AppState,
    principal: &Principal,
    account: &Account,
    params: &[(String, String)],
) -> ApiResult<LogPage> {
    let account_id = principal.account_id;
    let tz = account.time_zone().clone();
    let filters = Filters::from_params(params);
    let (query, problem) = match BrowseQuery::from_params(params, &tz, &["prev"]) {
        Ok(query) => (Some(query), None),
        Err(err) => (None, Some(describe(&err))),
    };
    let store = &state.store;
    let events = async {
        match &query {
            Some(q) => store.events(account_id, q).await.map(Some),
            None => Ok(None),
        }
    };
    let (page, actors, cases, clients) = tokio::join!(
        events,
        store.actors(account_id, &[], PICKER_ACTORS),
        store.records(account_id, Some(RecordType::Case), &[], PICKER_RECORDS),
        store.records(account_id, Some(RecordType::Client), &[], PICKER_RECORDS),
    );
    let (mut actors, mut cases, mut clients) = (actors?, cases?, clients?);

    // A filter may name an actor or record older than the pickers' first lists; look
    // it up so its chip and picker show a name, not an id.
    let mut names = Names::default();
    names.add_actors(&actors);
    names.add_records(&cases);
    names.add_records(&clients);
    for id in filters.actors.iter().take(5) {
        if !names.has_actor(id) {
            actors.extend(find_actor(state, account_id, id).await?);
        }
    }
    if !filters.case.is_empty() && !names.has_record(RecordType::Case, &filters.case) {
        cases.extend(find_record(state, account_id, RecordType::Case, &filters.case).await?);
    }
    if !filters.client.is_empty() && !names.has_record(RecordType::Client, &filters.client) {
        clients.extend(find_record(state, account_id, RecordType::Client, &filters.client).await?);
    }
    names.add_actors(&actors);
    names.add_records(&cases);
    names.add_records(&clients);

    let mut rows = Vec::new();
    let mut paging = Paging::default();
    if let (Some(page), Some(query)) = (page?, &query) {
        for chained in &page.events {
            rows.push(row(chained, account, &tz)?);
        }
        paging = paging_links(&filters, params, query, page.next_cursor.map(|c| c.encode()), rows.len());
    }

    let export = |format: &str| {
        let mut href = format!("/api/v1/events/export?format={format}");
        for (key, value) in filters.pairs().into_iter().filter(|(k, _)| *k != "limit") {
            href.push_str(&format!("&{key}={}", super::format::encode(&value)));
        }
        href
    };
    Ok(LogPage {
        shell: None,
        export_csv: export("csv"),
        export_xlsx: export("xlsx"),
        export_evidence: export("evidence"),
        filter_count: filters.count(),
        chips: filters.chips(&names, &tz),
        presets: date_presets(&filters, &tz),
        user_picker: actor_picker(&actors, &filters.actors),
        record_pickers: vec![
            record_picker(RecordType::Case, &cases, &filters.case),
            record_picker(RecordType::Client, &clients, &filters.client),
        ],
        activity_groups: activity_groups(&filters.activities),
        filters,
        rows,
        paging,
        problem,
    })
}

/// A bad parameter, in the reader's words.
fn describe(err: &ParamError) -> String {
    match err.param.as_str() {
        "to" if err.message.contains("after") => {
            "The \u{201c}through\u{201d} date is before the \u{201c}from\u{201d} date. \
             Change the dates to see entries."
                .to_string()
        }
        "from" | "to" => "A date in this link can't be read. Pick the dates again.".to_string(),
        "cursor" | "prev" => "This page link has expired. Start again from the newest entries.".to_string(),
        _ => format!(
            "This link has a filter that can't be used ({}: {}). Clear the filters to see the log.",
            err.param, err.message
        ),
    }
}

async fn find_actor(state: &AppState, account: AccountId, id: &str) -> ApiResult<Option<ActorSummary>> {
    let found = state.store.actors(account, &search_words(id), 50).await?;
    Ok(found.into_iter().find(|a| a.id == id))
}

async fn find_record(
    state: &AppState,
    account: AccountId,
    kind: RecordType,
    id: &str,
) -> ApiResult<Option<RecordSummary>> {
    let found = state.store.records(account, Some(kind), &search_words(id), 50).await?;
    Ok(found.into_iter().find(|r| r.id == id))
}

fn row(chained: &ChainedEvent, account: &Account, tz: &TimeZone) -> ApiResult<Row> {
    let e = chained.event().map_err(|err| {
        ApiError::internal(anyhow::Error::new(err).context(format!("event seq {} is unreadable", chained.seq)))
    })?;
    let (date, time) = short_time(e.occurred_at, tz);
    let category = e.activity.category();
    let mut related: Vec<RecordLink> = e.related.iter().map(|r| record_link(r, &account.record_urls)).collect();
    let more_related = related.len().saturating_sub(ROW_RELATED);
    related.truncate(ROW_RELATED);
    Ok(Row {
        href: format!("{}/{}", super::LOG_PATH, e.id),
        date,
        time,
        utc: e.occurred_at.to_string(),
        initials: initials(&e.actor.name),
        avatar: avatar_class(&e.actor.id),
        // "System" needs no "System" tag.
        actor_kind: actor_kind_label(e.actor.kind).filter(|k| !e.actor.name.eq_ignore_ascii_case(k)),
        actor_email: e.actor.email.unwrap_or_default(),
        actor_name: e.actor.name,
        activity_label: e.activity.label(),
        category_key: category.key,
        category_label: category.label,
        description: e.description,
        related,
        more_related,
        changes: e.changes.len(),
    })
}

/// The cursors of the pages before this one, from `prev`.
fn stack(params: &[(String, String)]) -> Vec<String> {
    let is_cursor = |s: &&str| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    params
        .iter()
        .filter(|(k, _)| k == "prev")
        .flat_map(|(_, v)| v.split('.'))
        .filter(is_cursor)
        .map(str::to_string)
        .collect()
}

fn paging_links(
    filters: &Filters,
    params: &[(String, String)],
    query: &BrowseQuery,
    next: Option<String>,
    shown: usize,
) -> Paging {
    let mut stack = stack(params);
    let current = query.cursor.map(|c| c.encode());
    let depth = if current.is_some() { stack.len() + 1 } else { 0 };
    let first = depth * query.limit as usize + 1;
    let with = |cursor: Option<String>, prev: &[String]| {
        let mut extra = Vec::new();
        if let Some(c) = cursor {
            extra.push(("cursor", c));
        }
        if !prev.is_empty() {
            extra.push(("prev", prev.join(".")));
        }
        filters.href(&extra)
    };
    let older = next.map(|next| {
        let mut prev = stack.clone();
        if let Some(c) = &current {
            prev.push(c.clone());
        }
        if prev.len() > MAX_STACK {
            prev.remove(0);
        }
        with(Some(next), &prev)
    });
    let (newer, newest) = match current {
        None => (None, None),
        Some(_) => {
            let back = stack.pop();
            let newest = back.is_some().then(|| with(None, &[]));
            (Some(with(back, &stack)), newest)
        }
    };
    Paging { newest, newer, older, first: if shown == 0 { 0 } else { first }, last: first + shown.saturating_sub(1) }
}

#[cfg(test)]
mod tests {
    use casetrail_core::Timestamp;
    use casetrail_core::query::Cursor;

    use super::*;

    fn cursor(seq: u64) -> String {
        Cursor { occurred_at: Timestamp::from_millis(1_000_000).unwrap(), seq }.encode()
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn links(pairs: &[(&str, &str)], next: Option<String>) -> Paging {
        let params = params(pairs);
        let query = BrowseQuery::from_params(&params, &TimeZone::UTC, &["prev"]).unwrap();
        paging_links(&Filters::from_params(&params), &params, &query, next, 10)
    }

    #[test]
    fn newer_walks_back_the_way_older_came() {
        let (c2, c3, c4) = (cursor(2), cursor(3), cursor(4));
        let first = links(&[("q", "smith"), ("limit", "10")], Some(c2.clone()));
        assert_eq!((first.newer, first.newest), (None, None));
        assert_eq!(first.older.as_deref(), Some(format!("/settings/system-log?q=smith&limit=10&cursor={c2}").as_str()));
        assert_eq!((first.first, first.last), (1, 10));

        let second = links(&[("q", "smith"), ("limit", "10"), ("cursor", &c2)], Some(c3.clone()));
        assert_eq!(second.newer.as_deref(), Some("/settings/system-log?q=smith&limit=10"));
        assert_eq!(second.newest, None);
        assert_eq!(
            second.older.as_deref(),
            Some(format!("/settings/system-log?q=smith&limit=10&cursor={c3}&prev={c2}").as_str())
        );
        assert_eq!((second.first, second.last), (11, 20));

        let prev = c2.clone();
        let third = links(&[("q", "smith"), ("limit", "10"), ("cursor", &c3), ("prev", &prev)], Some(c4.clone()));
        assert_eq!(third.newer.as_deref(), Some(format!("/settings/system-log?q=smith&limit=10&cursor={c2}").as_str()));
        assert_eq!(third.newest.as_deref(), Some("/settings/system-log?q=smith&limit=10"));
        assert_eq!(
            third.older.as_deref(),
            Some(format!("/settings/system-log?q=smith&limit=10&cursor={c4}&prev={c2}.{c3}").as_str())
        );
        assert_eq!((third.first, third.last), (21, 30));
    }

    #[test]
    fn the_last_page_has_no_older_link() {
        let c2 = cursor(2);
        let last = links(&[("cursor", &c2)], None);
        assert!(last.older.is_none());
        assert_eq!(last.newer.as_deref(), Some("/settings/system-log"));
    }
}
