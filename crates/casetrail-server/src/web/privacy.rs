//! `/settings/system-log/privacy`: the masking patterns (docs/API.md §14), edited one
//! per line, and a preview of what a pattern would hide: the change fields and
//! metadata paths of the newest entries that it matches.
//!
//! Saving goes through the same check and record as `PUT /api/v1/settings/masking`,
//! so a malformed pattern is refused with its line named and the list unchanged.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::masking::{PREVIEW_EVENTS, PreviewPath, preview, set_masking};
use casetrail_core::FieldError;
use casetrail_core::mask::{MAX_PATTERN_CHARS, MAX_PATTERNS, Pattern, parse_patterns};
use serde_json::Value;

use super::csrf::CsrfForm;
use super::{OrErrorPage, PageAdmin, PageError, Shell, render};
use crate::AppState;
use crate::auth::Principal;

/// The page's own address.
pub const PRIVACY_PATH: &str = "/settings/system-log/privacy";

/// A preview's answer, for one pattern.
#[derive(Debug)]
pub struct Preview {
    pub pattern: String,
    pub paths: Vec<PreviewPath>,
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    shell: Option<Shell>,
    patterns: Vec<String>,
    /// What the editor holds: the saved list, or the refused text to fix.
    text: String,
    notice: Option<String>,
    errors: Vec<String>,
    preview: Option<Preview>,
    preview_pattern: String,
    preview_events: u32,
    max_patterns: usize,
    max_chars: usize,
}

async fn show(
    state: &AppState,
    principal: &Principal,
    status: StatusCode,
    adjust: impl FnOnce(&mut PrivacyPage),
) -> Response {
    let shown = async {
        let (shell, account) = Shell::for_page(state, principal).await?;
        let mut page = PrivacyPage {
            shell: Some(shell),
            text: account.masking.join("\n"),
            patterns: account.masking,
            notice: None,
            errors: Vec::new(),
            preview: None,
            preview_pattern: String::new(),
            preview_events: PREVIEW_EVENTS,
            max_patterns: MAX_PATTERNS,
            max_chars: MAX_PATTERN_CHARS,
        };
        adjust(&mut page);
        Ok::<_, PageError>(render(status, &page))
    };
    shown.await.into_response()
}

pub async fn page(State(state): State<AppState>, PageAdmin(principal): PageAdmin) -> Response {
    show(&state, &principal, StatusCode::OK, |_| {}).await
}

/// The editor's lines as the API's `fields`: blank lines are dropped, each line is
/// trimmed (a pattern holds no spaces).
fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// `fields[3]: …` in the words of the page: the line it came from.
fn line_errors(errors: &[FieldError], lines: &[String]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let index = e.field.strip_prefix("fields[").and_then(|r| r.strip_suffix(']')).and_then(|i| i.parse().ok());
            match index.and_then(|i: usize| lines.get(i).map(|l| (i, l))) {
                Some((i, line)) => format!("Pattern {} \u{201c}{}\u{201d} {}.", i + 1, shorten(line), e.message),
                None => format!("The list {}.", e.message),
            }
        })
        .collect()
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('\u{2026}');
    }
    short
}

pub async fn submit(
    State(state): State<AppState>,
    CsrfForm { principal, form }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    match field("action").as_str() {
        "save" => save(&state, &principal, &field("fields")).await,
        "preview" => show_preview(&state, &principal, field("pattern").trim()).await,
        _ => {
            let refused = "That action is not known. Reload the page and try again.".to_string();
            show(&state, &principal, StatusCode::UNPROCESSABLE_ENTITY, |p| p.errors = vec![refused]).await
        }
    }
}

async fn save(state: &AppState, principal: &Principal, text: &str) -> Response {
    let given = lines(text);
    let value = Value::Array(given.iter().cloned().map(Value::String).collect());
    let patterns = match parse_patterns(Some(&value)) {
        Ok(patterns) => patterns,
        Err(errors) => {
            let errors = line_errors(&errors, &given);
            return show(state, principal, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.errors = errors;
                p.text = text.to_string();
            })
            .await;
        }
    };
    match set_masking(state, &principal.actor(), principal.account_id, patterns).await {
        Ok(account) => {
            let notice = format!(
                "Saved {} pattern{}. New entries are masked from now on; entries already in the log keep their values.",
                account.masking.len(),
                if account.masking.len() == 1 { "" } else { "s" }
            );
            show(state, principal, StatusCode::OK, |p| p.notice = Some(notice)).await
        }
        Err(err) => {
            tracing::error!(error = ?err, "saving the masking patterns failed");
            let status = crate::error::ApiError::from(err).status;
            show(state, principal, status, |p| {
                p.errors = vec!["The patterns could not be saved just now. Please try again.".into()];
                p.text = text.to_string();
            })
            .await
        }
    }
}

async fn show_preview(state: &AppState, principal: &Principal, text: &str) -> Response {
    let pattern = match Pattern::parse(text) {
        Ok(pattern) => pattern,
        Err(why) => {
            let error = format!("The pattern \u{201c}{}\u{201d} {why}.", shorten(text));
            let text = text.to_string();
            return show(state, principal, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.errors = vec![error];
                p.preview_pattern = text;
            })
            .await;
        }
    };
    let found = preview(state, principal.account_id, &pattern).await;
    let found = match found.or_error_page(None, "preview a masking pattern") {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let preview = Preview { pattern: text.to_string(), paths: found };
    let text = text.to_string();
    show(state, principal, StatusCode::OK, |p| {
        p.preview = Some(preview);
        p.preview_pattern = text;
    })
    .await
}
