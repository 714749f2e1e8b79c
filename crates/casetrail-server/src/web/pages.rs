//! The System Log pages. A first, plain version: the log, newest first, with
//! search and paging. The full UI (filters, entry view, export) builds on this.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::{PageAdmin, render};
use crate::AppState;
use crate::api::QueryPairs;
use crate::error::ApiError;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/settings/system-log", get(log))
}

struct Row {
    time: String,
    actor: String,
    activity: String,
    description: String,
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    account: String,
    user: String,
    csrf: String,
    q: String,
    rows: Vec<Row>,
    next: Option<String>,
}

async fn log(State(state): State<AppState>, PageAdmin(principal): PageAdmin, QueryPairs(params): QueryPairs) -> Response {
    let result = async {
        let query = crate::api::browse_query(&state, &principal, &params, &[]).await?;
        let page = state.store.events(principal.account_id, &query).await?;
        let account = state.account(principal.account_id).await?;
        let mut rows = Vec::with_capacity(page.events.len());
        for chained in &page.events {
            let e = chained.event().map_err(ApiError::internal)?;
            rows.push(Row {
                time: e.occurred_at.to_string(),
                actor: e.actor.name,
                activity: e.activity.label().to_string(),
                description: e.description,
            });
        }
        let (user, csrf) = match &principal.credential {
            crate::auth::Credential::Session { session, user } => (user.name.clone(), session.csrf_token.clone()),
            crate::auth::Credential::Key(_) => (String::new(), String::new()),
        };
        let q = params.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone()).unwrap_or_default();
        Ok::<_, ApiError>(LogPage { account: account.name, user, csrf, q, rows, next: page.next_cursor.map(|c| c.encode()) })
    }
    .await;
    match result {
        Ok(page) => render(StatusCode::OK, &page),
        Err(err) => axum::response::IntoResponse::into_response(err),
    }
}
