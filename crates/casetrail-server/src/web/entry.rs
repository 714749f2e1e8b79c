//! `/settings/system-log/{id}`: one entry, whole — who, what, when, the records it
//! touched, its before and after values side by side, where it came from, and its
//! place in the hash chain, re-checked on every view.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use casetrail_core::{ChainHash, ChainedEvent, Event};
use casetrail_store::{Account, AccountId, EventId};

use super::format::{
    JsonPart, RecordLink, Shown, actor_kind_label, avatar_class, initials, long_time, pretty, record_link,
};
use super::{LOG_PATH, OrErrorPage, PageAdmin, PageError, Shell, not_found, render_off_thread};
use crate::AppState;
use crate::api::api_json;
use crate::error::{ApiError, ApiResult};

/// One changed field.
#[derive(Debug)]
pub struct ChangeRow {
    pub field: String,
    pub before: Shown,
    pub after: Shown,
}

/// One `name: value` line (context, metadata).
#[derive(Debug)]
pub struct Pair {
    pub name: String,
    pub value: Shown,
}

/// What the chain says about this entry.
#[derive(Debug)]
pub enum Link {
    /// The hash matches the contents, and `prev_hash` is the predecessor's hash.
    Verified,
    /// The hash matches, and `prev_hash` is the last hash that the retention
    /// policy's purge record keeps for the entries `first..=last` it removed.
    Purged { first: u64, last: u64 },
    /// Something does not match; `reason` says what.
    Broken { reason: &'static str },
}

#[derive(Template)]
#[template(path = "entry.html")]
struct EntryPage {
    shell: Option<Shell>,
    back: String,
    event: Event,
    category_key: &'static str,
    category_label: &'static str,
    activity_label: &'static str,
    occurred: String,
    recorded: String,
    actor_kind: &'static str,
    initials: String,
    avatar: String,
    related: Vec<RecordLink>,
    changes: Vec<ChangeRow>,
    context: Vec<Pair>,
    metadata: Vec<Pair>,
    seq: u64,
    prev_hash: String,
    hash: String,
    link: Link,
    raw: String,
}

pub async fn page(
    State(state): State<AppState>,
    PageAdmin(principal): PageAdmin,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (shell, account) = Shell::for_page(&state, &principal).await?;
    // Another firm's entry is as absent as one that never was.
    let Ok(id) = id.parse::<EventId>() else {
        return Ok(not_found(Some(shell)));
    };
    let found = state.store.event(principal.account_id, id).await.or_error_page(Some(&shell), "read an entry")?;
    let Some(chained) = found else {
        return Ok(not_found(Some(shell)));
    };
    let mut page = build(&state, &account, &chained, &headers).await.or_error_page(Some(&shell), "show an entry")?;
    page.shell = Some(shell);
    Ok(render_off_thread(StatusCode::OK, page).await)
}

async fn build(
    state: &AppState,
    account: &Account,
    chained: &ChainedEvent,
    headers: &HeaderMap,
) -> ApiResult<EntryPage> {
    let event = chained.event().map_err(|err| {
        ApiError::internal(anyhow::Error::new(err).context(format!("event seq {} is unreadable", chained.seq)))
    })?;
    let tz = account.time_zone().clone();
    let link = check_link(state, account.id, chained).await?;
    // Shown cut off where a value nests deeper than the parser goes; the API returns it whole.
    let raw: serde_json::Value = casetrail_core::bounded::parse_bounded(&api_json(chained)?)
        .map_err(|e| ApiError::internal(anyhow::Error::new(e)))?;
    let category = event.activity.category();
    let context = [
        ("IP address", &event.context.ip),
        ("User agent", &event.context.user_agent),
        ("Request ID", &event.context.request_id),
        ("Correlation ID", &event.context.correlation_id),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| Pair { name: name.to_string(), value: Shown::Text(v.clone()) }))
    .collect();
    let metadata =
        event.metadata.iter().map(|(name, value)| Pair { name: name.clone(), value: Shown::of(value) }).collect();
    let changes = event
        .changes
        .iter()
        .map(|c| ChangeRow { field: c.field.clone(), before: Shown::of(&c.before), after: Shown::of(&c.after) })
        .collect();
    Ok(EntryPage {
        shell: None,
        back: back_link(headers),
        category_key: category.key,
        category_label: category.label,
        activity_label: event.activity.label(),
        occurred: long_time(event.occurred_at, &tz),
        recorded: long_time(event.recorded_at, &tz),
        actor_kind: actor_kind_label(event.actor.kind).unwrap_or("Person"),
        initials: initials(&event.actor.name),
        avatar: avatar_class(&event.actor.id),
        related: event.related.iter().map(|r| record_link(r, &account.record_urls)).collect(),
        changes,
        context,
        metadata,
        seq: chained.seq,
        prev_hash: chained.prev_hash.to_hex(),
        hash: chained.hash.to_hex(),
        link,
        raw: pretty(&raw),
        event,
    })
}

/// Re-checks the entry's hash and its link to the entry before it.
async fn check_link(state: &AppState, account: AccountId, chained: &ChainedEvent) -> ApiResult<Link> {
    if !chained.hash_is_consistent() {
        return Ok(Link::Broken {
            reason: "Its hash does not match its contents: the entry was changed after it was recorded.",
        });
    }
    if chained.seq <= 1 {
        return Ok(if chained.prev_hash == ChainHash::GENESIS {
            Link::Verified
        } else {
            Link::Broken { reason: "It is the first entry, but its link does not start the chain." }
        });
    }
    let before = state.store.chain(account, chained.seq - 2, 1).await?;
    Ok(match before.first() {
        Some(prev) if prev.seq == chained.seq - 1 => {
            if prev.hash == chained.prev_hash && prev.hash_is_consistent() {
                Link::Verified
            } else {
                Link::Broken { reason: "It does not link to the entry before it: the chain was altered." }
            }
        }
        // The predecessor is gone: removed under the retention policy, whose purge
        // record keeps the last hash of what it removed; or missing.
        _ => {
            let purges = state.store.tombstones(account).await?;
            match purges.iter().find(|t| t.last_seq + 1 == chained.seq) {
                Some(t) if t.last_hash == chained.prev_hash => Link::Purged { first: t.first_seq, last: t.last_seq },
                Some(_) => Link::Broken {
                    reason: "It does not link to the purge record of the entries before it: the chain was altered.",
                },
                None => Link::Broken { reason: "The entry before it is missing, and no purge record explains why." },
            }
        }
    })
}

/// Back to the log as the reader left it, when they came from there.
fn back_link(headers: &HeaderMap) -> String {
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let path = referer.split_once("://").and_then(|(_, rest)| rest.strip_prefix(host)).filter(|_| !host.is_empty());
    match path {
        Some(p) if p == LOG_PATH || p.starts_with(&format!("{LOG_PATH}?")) => p.to_string(),
        _ => LOG_PATH.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn back_goes_to_the_log_the_reader_came_from() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("ct.example"));
        assert_eq!(back_link(&headers), LOG_PATH);
        headers.insert(
            header::REFERER,
            HeaderValue::from_static("https://ct.example/settings/system-log?q=smith&cursor=x"),
        );
        assert_eq!(back_link(&headers), "/settings/system-log?q=smith&cursor=x");
        headers.insert(header::REFERER, HeaderValue::from_static("https://evil.example/settings/system-log?q=1"));
        assert_eq!(back_link(&headers), LOG_PATH);
        headers.insert(header::REFERER, HeaderValue::from_static("https://ct.example/settings/system-logout"));
        assert_eq!(back_link(&headers), LOG_PATH);
    }
}
