//! `/settings/system-log/streams`: the account's streams (docs/API.md §13, §16) with
//! their state — position, lag, failures, last error — and forms to add, pause or
//! resume, replay and delete one.
//!
//! Every change goes through the same `casetrail_app::streams` operations as the API,
//! so it is checked (the destination resolved and refused when private) and recorded
//! alike. A post answers with the page itself and a notice or a message naming what
//! to fix; a new stream's secret or token is shown in that answer only. Deleting asks
//! first, as the retention page does for a new period.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::AppError;
use casetrail_app::streams::{self, settings::MAX_CA_CERT_BYTES};
use casetrail_store::{Account, StreamKind};

use super::csrf::CsrfForm;
use super::stream_rows::{AddForm, StreamRow, create_body, refusal, row};
use super::{OrErrorPage, PageAdmin, PageError, Shell, render};
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;

/// The page's own address.
pub const STREAMS_PATH: &str = "/settings/system-log/streams";

/// A new stream's secret or token, shown once.
#[derive(Debug)]
pub struct Revealed {
    pub stream: String,
    /// "signing secret" or "HEC token".
    pub what: &'static str,
    pub value: String,
}

/// A deletion waiting for its confirmation.
#[derive(Debug)]
pub struct ConfirmDelete {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "streams.html")]
struct StreamsPage {
    shell: Option<Shell>,
    streams: Vec<StreamRow>,
    head: u64,
    notice: Option<String>,
    errors: Vec<String>,
    revealed: Option<Revealed>,
    confirm_delete: Option<ConfirmDelete>,
    /// What the add form holds: empty, or what was refused, to fix.
    add: AddForm,
    max_ca_cert: usize,
}

async fn build(state: &AppState, account: &Account) -> ApiResult<StreamsPage> {
    let head = state.store.head(account.id).await?.map_or(0, |h| h.seq);
    let tz = account.time_zone().clone();
    let streams = state.store.streams(account.id).await?.iter().map(|s| row(s, head, &tz)).collect();
    Ok(StreamsPage {
        shell: None,
        streams,
        head,
        notice: None,
        errors: Vec::new(),
        revealed: None,
        confirm_delete: None,
        add: AddForm::default(),
        max_ca_cert: MAX_CA_CERT_BYTES,
    })
}

/// Shows the page, with what the last post said.
async fn show(
    state: &AppState,
    principal: &Principal,
    status: StatusCode,
    adjust: impl FnOnce(&mut StreamsPage),
) -> Response {
    let shown = async {
        let (shell, account) = Shell::for_page(state, principal).await?;
        let mut page = build(state, &account).await.or_error_page(Some(&shell), "show the streams page")?;
        page.shell = Some(shell);
        adjust(&mut page);
        Ok::<_, PageError>(render(status, &page))
    };
    shown.await.into_response()
}

pub async fn page(State(state): State<AppState>, PageAdmin(principal): PageAdmin) -> Response {
    show(&state, &principal, StatusCode::OK, |_| {}).await
}

/// What one post did.
enum Outcome {
    Done(String),
    Created(String, Option<Revealed>),
    Confirm(ConfirmDelete),
    /// Messages to fix, and the add form to show again when it was the add form.
    Refused(Vec<String>, Option<AddForm>),
}

fn refused(message: impl Into<String>) -> Outcome {
    Outcome::Refused(vec![message.into()], None)
}

pub async fn submit(
    State(state): State<AppState>,
    CsrfForm { principal, form }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
    let id = field("id");
    let outcome = match field("action").as_str() {
        "add" => add(&state, &principal, AddForm::read(&form)).await,
        "pause" => set_enabled(&state, &principal, &id, false).await,
        "resume" => set_enabled(&state, &principal, &id, true).await,
        "replay" => replay(&state, &principal, &id, &field("from_seq")).await,
        "delete" => ask_delete(&state, &principal, &id).await,
        "delete_confirmed" => delete(&state, &principal, &id).await,
        _ => Ok(refused("That action is not known. Reload the page and try again.")),
    };
    match outcome {
        Ok(Outcome::Done(notice)) => show(&state, &principal, StatusCode::OK, |p| p.notice = Some(notice)).await,
        Ok(Outcome::Created(notice, revealed)) => {
            show(&state, &principal, StatusCode::OK, |p| {
                p.notice = Some(notice);
                p.revealed = revealed;
            })
            .await
        }
        Ok(Outcome::Confirm(confirm)) => {
            show(&state, &principal, StatusCode::OK, |p| p.confirm_delete = Some(confirm)).await
        }
        Ok(Outcome::Refused(errors, add)) => {
            show(&state, &principal, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.errors = errors;
                if let Some(add) = add {
                    p.add = add;
                }
            })
            .await
        }
        Err(err) => {
            tracing::error!(error = ?err, "a stream change failed");
            show(&state, &principal, err.status, |p| {
                p.errors = vec!["That change could not be saved just now. Please try again.".into()];
            })
            .await
        }
    }
}

fn gone() -> Outcome {
    refused("That stream no longer exists. It may have been deleted meanwhile.")
}

/// Adds a stream as `POST /api/v1/streams` does: the same checks, the same record.
async fn add(state: &AppState, principal: &Principal, form: AddForm) -> ApiResult<Outcome> {
    let body = create_body(&form);
    let options = state.config.stream_options();
    match streams::create(state, options, &principal.actor(), principal.account_id, &body).await {
        Ok(stream) => {
            let s = &stream.settings;
            let notice = format!(
                "Added the stream \u{201c}{}\u{201d}. It sends the entries after #{} as they come.",
                s.name, stream.delivered_seq
            );
            let what = if s.kind == StreamKind::SplunkHec { "HEC token" } else { "signing secret" };
            let revealed = s.secret.clone().map(|value| Revealed { stream: s.name.clone(), what, value });
            Ok(Outcome::Created(notice, revealed))
        }
        Err(AppError::Invalid(errors)) => Ok(Outcome::Refused(refusal(&errors), Some(form.without_secret()))),
        Err(err) => Err(err.into()),
    }
}

async fn set_enabled(state: &AppState, principal: &Principal, id: &str, on: bool) -> ApiResult<Outcome> {
    match streams::set_enabled(state, &principal.actor(), principal.account_id, id, on).await {
        Ok(stream) if on => Ok(Outcome::Done(format!(
            "Resumed \u{201c}{}\u{201d}: it sends from entry #{} on.",
            stream.settings.name,
            stream.delivered_seq + 1
        ))),
        Ok(stream) => Ok(Outcome::Done(format!(
            "Paused \u{201c}{}\u{201d}. It keeps its position and resumes from it.",
            stream.settings.name
        ))),
        Err(AppError::NotFound(_)) => Ok(gone()),
        Err(err) => Err(err.into()),
    }
}

async fn replay(state: &AppState, principal: &Principal, id: &str, from: &str) -> ApiResult<Outcome> {
    let Some(from_seq) = from.parse::<u64>().ok().filter(|n| (1..=i64::MAX as u64).contains(n)) else {
        let shown: String = from.chars().take(40).collect();
        return Ok(refused(format!(
            "\u{201c}{shown}\u{201d} can't be replayed from: enter an entry number (its seq), 1 or more."
        )));
    };
    match streams::replay(state, &principal.actor(), principal.account_id, id, from_seq).await {
        Ok(stream) => Ok(Outcome::Done(format!(
            "\u{201c}{}\u{201d} sends again from entry #{from_seq} (the first matching entry at or after it).",
            stream.settings.name
        ))),
        Err(AppError::NotFound(_)) => Ok(gone()),
        Err(AppError::Invalid(errors)) => Ok(Outcome::Refused(refusal(&errors), None)),
        Err(err) => Err(err.into()),
    }
}

async fn ask_delete(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Outcome> {
    match streams::find(state, principal.account_id, id).await {
        Ok(stream) => {
            Ok(Outcome::Confirm(ConfirmDelete { id: stream.id.to_string(), name: stream.settings.name.clone() }))
        }
        Err(AppError::NotFound(_)) => Ok(gone()),
        Err(err) => Err(err.into()),
    }
}

async fn delete(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Outcome> {
    let name = match streams::find(state, principal.account_id, id).await {
        Ok(stream) => stream.settings.name,
        Err(AppError::NotFound(_)) => return Ok(gone()),
        Err(err) => return Err(err.into()),
    };
    match streams::delete(state, &principal.actor(), principal.account_id, id).await {
        Ok(()) => Ok(Outcome::Done(format!("Deleted the stream \u{201c}{name}\u{201d}. Delivery has stopped."))),
        Err(AppError::NotFound(_)) => Ok(gone()),
        Err(err) => Err(err.into()),
    }
}
