//! `POST /settings/system-log/integrity`: "Verify now" on the log page. Re-walks the
//! account's whole chain (as `GET /api/v1/integrity` does) and shows the verdict:
//! intact with its range, or each problem with its seq, and the newest checkpoint.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use casetrail_core::integrity::ProblemKind;

use super::csrf::CsrfForm;
use super::format::short_time;
use super::{OrErrorPage, PageError, Shell, render};
use crate::AppState;
use casetrail_app::integrity::verify_account;

/// Where the form posts.
pub const INTEGRITY_PATH: &str = "/settings/system-log/integrity";

/// One problem the walk found.
#[derive(Debug)]
pub struct ProblemRow {
    pub seq: u64,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "integrity.html")]
struct IntegrityPage {
    shell: Option<Shell>,
    ok: bool,
    events_checked: u64,
    /// `seq A–B`, empty for an empty log.
    range: String,
    purged: u64,
    problems: Vec<ProblemRow>,
    /// The newest checkpoint: its seq and when it was signed.
    checkpoint: Option<(u64, String)>,
}

fn kind_label(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::HashMismatch => "Contents altered",
        ProblemKind::BrokenLink => "Broken link",
        ProblemKind::Missing => "Entries missing",
        ProblemKind::BadSignature => "Bad signature",
        ProblemKind::Truncated => "Chain cut short",
    }
}

pub async fn verify(
    State(state): State<AppState>,
    CsrfForm { principal, .. }: CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (shell, account) = Shell::for_page(&state, &principal).await?;
    let v = verify_account(state.store.as_ref(), principal.account_id, &state.keys.local_ring(), false)
        .await
        .or_error_page(Some(&shell), "verify the chain")?;
    let tz = account.time_zone().clone();
    let r = &v.report;
    let range = match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) if a == b => format!("seq {a}"),
        (Some(a), Some(b)) => format!("seq {a}\u{2013}{b}"),
        _ => String::new(),
    };
    let page = IntegrityPage {
        shell: Some(shell),
        ok: r.ok(),
        events_checked: r.events_checked,
        range,
        purged: r.purged,
        problems: r
            .problems
            .iter()
            .map(|p| ProblemRow {
                seq: p.seq,
                kind: p.kind.key(),
                kind_label: kind_label(p.kind),
                message: p.message.clone(),
            })
            .collect(),
        checkpoint: v.checkpoint.as_ref().map(|c| {
            let (date, time) = short_time(c.signed_at, &tz);
            (c.seq, format!("{date}, {time}"))
        }),
    };
    Ok(render(StatusCode::OK, &page))
}
