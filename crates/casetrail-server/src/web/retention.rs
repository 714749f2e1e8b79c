//! `/settings/system-log/retention`: the retention policy, the account-wide legal
//! hold and the holds on cases and clients, with forms to change each.
//!
//! Every change is a form post with the session's CSRF token and records its event
//! exactly as the API does. A new retention policy — the account's period and each
//! category's own (`retention_policy`) — first shows a dry run (how many entries of
//! each category the next purge would remove, and from when to when); only the
//! confirming post applies it. A post answers with the page itself and a notice or a message.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use casetrail_app::retention::set_legal_hold;
use casetrail_core::activity::CATEGORIES;
use casetrail_store::Account;

use super::csrf::CsrfForm;
use super::filters::Opt;
use super::retention_holds::{self, HoldRow};
use super::{OrErrorPage, PageAdmin, PageError, Shell, render};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

use super::retention_policy::{self, CategoryRow, DryRun, category_rows, policy_label};

/// The page's own address.
pub const RETENTION_PATH: &str = "/settings/system-log/retention";

#[derive(Template)]
#[template(path = "retention.html")]
struct RetentionPage {
    shell: Option<Shell>,
    policy: String,
    retention_days: String,
    /// Each category's line of the policy form.
    categories: Vec<CategoryRow>,
    /// Categories with a period of their own, in words, beside the policy.
    own_policies: Vec<String>,
    legal_hold: bool,
    holds: Vec<HoldRow>,
    notice: Option<String>,
    error: Option<String>,
    dry_run: Option<DryRun>,
    /// What the hold form held when it was refused, to show it again.
    hold_type: String,
    hold_id: String,
    hold_reason: String,
    /// The hold form's pick (`case:c_1042`), and the cases and clients its picker
    /// offers before anyone types (and without a script).
    hold_record: String,
    hold_cases: Vec<Opt>,
    hold_clients: Vec<Opt>,
    /// How often the server purges by itself, in words ("every hour").
    purge_every: String,
}

/// An interval in words, as the page says how often the purge runs: the server's
/// real setting, not a promise.
pub fn every(interval: std::time::Duration) -> String {
    let secs = interval.as_secs().max(1);
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    if n == 1 { format!("every {unit}") } else { format!("every {n} {unit}s") }
}

async fn build(state: &AppState, account: &Account) -> ApiResult<RetentionPage> {
    let tz = account.time_zone().clone();
    let holds = retention_holds::hold_rows(state, account, &tz).await?;
    let (hold_cases, hold_clients) = retention_holds::picker_options(state, account).await?;
    Ok(RetentionPage {
        shell: None,
        policy: policy_label(account.retention_days),
        retention_days: account.retention_days.map(|d| d.to_string()).unwrap_or_default(),
        categories: category_rows(account),
        own_policies: CATEGORIES
            .iter()
            .filter_map(|c| {
                let own = account.retention_categories.get(c.key)?;
                Some(format!("{}: {}", c.label, policy_label(*own).to_lowercase()))
            })
            .collect(),
        legal_hold: account.legal_hold,
        holds,
        notice: None,
        error: None,
        dry_run: None,
        hold_type: "case".into(),
        hold_id: String::new(),
        hold_reason: String::new(),
        hold_record: String::new(),
        hold_cases,
        hold_clients,
        purge_every: every(state.config.retention_every),
    })
}

/// Shows the page, with what the last post said.
async fn show(
    state: &AppState,
    principal: &Principal,
    status: StatusCode,
    adjust: impl FnOnce(&mut RetentionPage),
) -> Response {
    let shown = async {
        let (shell, account) = Shell::for_page(state, principal).await?;
        let mut page = build(state, &account).await.or_error_page(Some(&shell), "show the retention page")?;
        page.shell = Some(shell);
        adjust(&mut page);
        Ok::<_, PageError>(render(status, &page))
    };
    shown.await.into_response()
}

pub async fn page(State(state): State<AppState>, PageAdmin(principal): PageAdmin) -> Response {
    show(&state, &principal, StatusCode::OK, |_| {}).await
}

/// What one post did: a notice, a message to fix, or a dry run to confirm.
pub(super) enum Outcome {
    Done(String),
    Refused(String),
    Confirm(DryRun),
}

pub async fn submit(
    State(state): State<AppState>,
    CsrfForm { principal, form }: CsrfForm<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
    let outcome = match field("action").as_str() {
        "add_hold" => retention_holds::add_hold(&state, &principal, &form).await,
        "lift_hold" => retention_holds::lift(&state, &principal, &field("type"), &field("id")).await,
        "legal_hold" => legal_hold(&state, &principal, field("legal_hold") == "on").await,
        "preview" => retention_policy::preview(&state, &principal, &form).await.map(|r| match r {
            Ok(dry_run) => Outcome::Confirm(dry_run),
            Err(message) => Outcome::Refused(message),
        }),
        "apply" => retention_policy::apply(&state, &principal, &form).await.map(|r| match r {
            Ok(notice) => Outcome::Done(notice),
            Err(message) => Outcome::Refused(message),
        }),
        "purge" => purge(&state, &principal).await,
        _ => Ok(Outcome::Refused("That action is not known. Reload the page and try again.".into())),
    };
    match outcome {
        Ok(Outcome::Done(notice)) => show(&state, &principal, StatusCode::OK, |p| p.notice = Some(notice)).await,
        Ok(Outcome::Confirm(dry_run)) => show(&state, &principal, StatusCode::OK, |p| p.dry_run = Some(dry_run)).await,
        Ok(Outcome::Refused(error)) => {
            let keep_hold = field("action") == "add_hold";
            show(&state, &principal, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.error = Some(error);
                if keep_hold {
                    p.hold_type = field("type");
                    p.hold_id = field("id");
                    p.hold_reason = field("reason");
                    p.hold_record = field("record");
                }
            })
            .await
        }
        Err(err) => {
            tracing::error!(error = ?err, "a retention change failed");
            show(&state, &principal, err.status, |p| {
                p.error = Some("That change could not be saved just now. Please try again.".into())
            })
            .await
        }
    }
}

async fn legal_hold(state: &AppState, principal: &Principal, on: bool) -> ApiResult<Outcome> {
    set_legal_hold(state, &principal.actor(), principal.account_id, on).await?;
    Ok(Outcome::Done(if on {
        "The account is under legal hold: nothing will be purged until it is lifted.".into()
    } else {
        "The account-wide legal hold is lifted.".into()
    }))
}

async fn purge(state: &AppState, principal: &Principal) -> ApiResult<Outcome> {
    let account = state.account(principal.account_id).await?;
    let purged = casetrail_app::retention::run_account(
        state.store.as_ref(),
        &state.keys,
        &state.metrics,
        &account,
        principal.actor(),
        &state.stop,
    )
    .await
    .map_err(ApiError::internal)?;
    Ok(Outcome::Done(match purged {
        0 if account.legal_hold => "Nothing was purged: the account is under legal hold.".to_string(),
        0 => "Nothing was purged: no entries are past the retention period.".to_string(),
        1 => "Purged 1 entry.".to_string(),
        n => format!("Purged {n} entries."),
    }))
}

#[cfg(test)]
mod every_tests {
    use std::time::Duration;

    #[test]
    fn intervals_read_as_words() {
        assert_eq!(super::every(Duration::from_secs(3600)), "every hour");
        assert_eq!(super::every(Duration::from_secs(7200)), "every 2 hours");
        assert_eq!(super::every(Duration::from_secs(86_400)), "every day");
        assert_eq!(super::every(Duration::from_secs(90)), "every 90 seconds");
        assert_eq!(super::every(Duration::from_secs(300)), "every 5 minutes");
        assert_eq!(super::every(Duration::from_millis(10)), "every second");
    }
}
