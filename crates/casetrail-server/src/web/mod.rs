//! The web UI: sign-in and the System Log pages, server-rendered with askama.
//!
//! - [`login`]: `/login` and `/logout` (CSRF, rate limits, sign-in events).
//! - `csrf`: the one check every form post passes (`CsrfForm` for admins'
//!   forms, its pre-session variant for the sign-in form).
//! - `log`: `/settings/system-log`, the log itself with search, filters in the URL,
//!   removable chips and keyset paging that works without JavaScript.
//! - `entry`: `/settings/system-log/{id}`, one entry whole, with before and after
//!   values side by side and its chain link checked.
//! - `history`: `/settings/system-log/records/{type}/{id}`, one record's fields over
//!   time and its timeline; every related-record link of the log and entry pages
//!   leads there.
//! - `retention`: `/settings/system-log/retention`, the retention policy and holds,
//!   changed through CSRF-checked forms, a new policy only after its dry run;
//!   `retention_policy` is its policy form, the account's period and each
//!   category's own, and `retention_holds` its holds, picked by name.
//! - `privacy`: `/settings/system-log/privacy`, the masking patterns and a preview of
//!   what a pattern would hide.
//! - `streams`: `/settings/system-log/streams`, the account's streams with their
//!   position, lag and last error, and forms to add, pause, resume, replay and
//!   delete one (`stream_rows` words each row, the add form and its refusals).
//! - `integrity`: "Verify now", the chain re-walked and its verdict shown.
//! - `assets`: the stylesheet, script and icon, embedded in the binary and served
//!   with a content version so browsers may cache them for good.
//!
//! A page that fails answers [`PageError`]: the failure is logged and the reader sees
//! the 500 page, inside the app's frame when their account could be loaded.
//!
//! Pages are admin-only: a signed-out visitor is sent to `/login` and back afterwards;
//! a member gets a plain 403 page. Every page carries a strict Content-Security-Policy
//! (no inline scripts or styles, so everything the host sent is inert text) and is
//! never cached.

mod assets;
mod csrf;
mod entry;
mod filters;
mod format;
mod history;
pub(crate) mod integrity;
mod log;
mod login;
mod privacy;
#[cfg(test)]
mod render_tests;
mod retention;
mod retention_holds;
mod retention_policy;
mod shell;
mod stream_rows;
mod streams;

use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::auth::{Credential, Principal, authenticate};

pub use shell::Shell;

/// The base of every System Log page.
pub const LOG_PATH: &str = "/settings/system-log";

pub fn routes() -> axum::Router<AppState> {
    let headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; \
             object-src 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    let mut pages = axum::Router::new()
        .route("/", get(|| async { Redirect::to(LOG_PATH) }))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", axum::routing::post(login::logout))
        .route(LOG_PATH, get(log::page))
        .route(retention::RETENTION_PATH, get(retention::page).post(retention::submit))
        .route(privacy::PRIVACY_PATH, get(privacy::page).post(privacy::submit))
        .route(streams::STREAMS_PATH, get(streams::page).post(streams::submit))
        // A reload of the verdict's address goes back to the log, which has the button.
        .route(integrity::INTEGRITY_PATH, get(|| async { Redirect::to(LOG_PATH) }).post(integrity::verify))
        .route("/settings/system-log/records/{type}/{id}", get(history::page))
        .route("/settings/system-log/{id}", get(entry::page))
        // Any deeper path is still a System Log page: admins only, then a 404 page.
        .route("/settings/system-log/{id}/{*rest}", get(not_found_page));
    for (name, value) in headers {
        pages = pages.layer(SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value)));
    }
    // The assets carry their own headers: cacheable for a year, as their URLs change
    // with their content.
    pages.merge(assets::routes())
}

/// The client's address, when the server was started with connect info: the peer
/// of the connection, or behind a trusted proxy the client it names.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let trusted = &state.config.trusted_proxies;
        Ok(ClientIp(peer.map(|peer| client_behind(peer, &parts.headers, trusted))))
    }
}

/// The address a request comes from: `peer`, unless `peer` is a trusted proxy; then
/// the nearest address of `X-Forwarded-For` (read from the right) that is not itself
/// a trusted proxy. Anything a client wrote further left is never believed, and a hop
/// that does not parse stops the walk at the proxy.
pub fn client_behind(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod client_tests {
    use super::*;

    fn forwarded(values: &[&str]) -> axum::http::HeaderMap {
        let mut headers = axum::http::HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let (proxy, inner, client, liar): (IpAddr, IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "203.0.113.7".parse().unwrap(),
            "198.51.100.9".parse().unwrap(),
        );
        let headers = forwarded(&["198.51.100.9, 203.0.113.7"]);
        assert_eq!(client_behind(client, &headers, &[]), client, "no trusted proxy: the peer");
        assert_eq!(client_behind(liar, &headers, &[proxy]), liar, "an untrusted peer is the client");
        assert_eq!(client_behind(proxy, &headers, &[proxy]), client, "the hop the proxy added");
        let chained = forwarded(&["198.51.100.9", "203.0.113.7, 10.0.0.2"]);
        assert_eq!(client_behind(proxy, &chained, &[proxy, inner]), client, "through two proxies");
        assert_eq!(client_behind(proxy, &forwarded(&["junk"]), &[proxy]), proxy, "a bad hop stops at the proxy");
        assert_eq!(client_behind(proxy, &forwarded(&[]), &[proxy]), proxy, "no header: the proxy");
    }
}

/// A signed-in admin, for pages. Anyone else is redirected to sign in, or shown the
/// 403 page when signed in as a member.
#[derive(Debug)]
pub struct PageAdmin(pub Principal);

impl FromRequestParts<AppState> for PageAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = match authenticate(state, parts).await {
            Ok(Some(p)) if p.user().is_some() => p,
            Ok(_) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or(LOG_PATH);
                let target = format!("/login?next={}", format::encode(next));
                return Err(Redirect::to(&target).into_response());
            }
            Err(err) if err.status == StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(error = ?err.source, "could not authenticate a page request: the database is unreachable");
                return Err(unavailable_page(None));
            }
            Err(err) => {
                tracing::error!(error = ?err, "could not authenticate a page request");
                return Err(error_page(None));
            }
        };
        if !principal.can_read() {
            return Err(forbidden_page(&principal));
        }
        Ok(PageAdmin(principal))
    }
}

#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage<'a> {
    name: &'a str,
    email: &'a str,
    csrf: &'a str,
}

fn forbidden_page(principal: &Principal) -> Response {
    let (name, email, csrf) = match &principal.credential {
        Credential::Session { session, user } => (user.name.as_str(), user.email.as_str(), session.csrf_token.as_str()),
        Credential::Key(_) => ("", "", ""),
    };
    render(StatusCode::FORBIDDEN, &ForbiddenPage { name, email, csrf })
}

/// A page that says something is not there or went wrong, inside the app's frame
/// when the reader is known.
#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    shell: Option<Shell>,
    code: &'a str,
    title: &'a str,
    heading: &'a str,
    message: &'a str,
}

/// The 404 page for System Log paths: no such entry in this firm's log.
pub fn not_found(shell: Option<Shell>) -> Response {
    let page = StatusPage {
        shell,
        code: "Error 404",
        title: "Entry not found",
        heading: "We couldn't find that entry",
        message: "There is no entry at this address in your firm's System Log. \
                  It may have been removed under your retention policy, or the link is incomplete.",
    };
    render(StatusCode::NOT_FOUND, &page)
}

/// A logged 500, without internals.
pub fn error_page(shell: Option<Shell>) -> Response {
    let page = StatusPage {
        shell,
        code: "Error 500",
        title: "Something went wrong",
        heading: "Something went wrong",
        message: "The System Log could not be shown just now. The problem has been logged; \
                  please try again in a moment.",
    };
    render(StatusCode::INTERNAL_SERVER_ERROR, &page)
}

/// The database is out of reach: a 503 that asks the reader to try again, without
/// internals.
pub fn unavailable_page(shell: Option<Shell>) -> Response {
    let page = StatusPage {
        shell,
        code: "Error 503",
        title: "Temporarily unavailable",
        heading: "The System Log is temporarily unavailable",
        message: "casetrail cannot use its database just now. Nothing has been lost; \
                  please try again in a moment.",
    };
    let mut response = render(StatusCode::SERVICE_UNAVAILABLE, &page);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(crate::error::UNAVAILABLE_RETRY_SECS));
    response
}

/// The page took longer than the server's limit (docs/API.md §2, "Time limits").
pub fn timed_out_page(limit: std::time::Duration) -> Response {
    let within = crate::error::in_seconds(limit);
    let message = format!(
        "The System Log did not answer within {within}, so the request was stopped. \
         Nothing has been lost; please try again in a moment, perhaps with narrower filters."
    );
    let page = StatusPage {
        shell: None,
        code: "Error 503",
        title: "Temporarily unavailable",
        heading: "This took too long",
        message: &message,
    };
    let mut response = render(StatusCode::SERVICE_UNAVAILABLE, &page);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(crate::error::UNAVAILABLE_RETRY_SECS));
    response
}

/// Whether a page's failure is only the database being out of reach, for the errors
/// page handlers meet (the store's, the application's, the API layer's).
fn is_unavailable(error: &(dyn std::any::Any + Send)) -> bool {
    use casetrail_store::StoreError;
    if let Some(err) = error.downcast_ref::<StoreError>() {
        return matches!(err, StoreError::Unavailable(_));
    }
    if let Some(err) = error.downcast_ref::<casetrail_app::AppError>() {
        return err.is_unavailable();
    }
    error.downcast_ref::<crate::error::ApiError>().is_some_and(|err| err.status == StatusCode::SERVICE_UNAVAILABLE)
}

/// Why a page could not be shown. Answered as [`error_page`] (or [`unavailable_page`]
/// when the database is out of reach), framed when the reader is known, after
/// logging what failed.
#[derive(Debug)]
pub struct PageError {
    // Boxed: handlers return `Result<_, PageError>` and the error path is rare.
    shell: Option<Box<Shell>>,
    doing: &'static str,
    unavailable: bool,
    error: Box<dyn std::fmt::Debug + Send>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let shell = self.shell.map(|shell| *shell);
        if self.unavailable {
            tracing::warn!(error = ?self.error, "could not {}: the database is unreachable", self.doing);
            return unavailable_page(shell);
        }
        tracing::error!(error = ?self.error, "could not {}", self.doing);
        error_page(shell)
    }
}

/// `?` for page handlers: a failure becomes the logged 500 page.
pub trait OrErrorPage<T> {
    /// `doing` completes "could not …" in the log line; `shell` frames the page.
    fn or_error_page(self, shell: Option<&Shell>, doing: &'static str) -> Result<T, PageError>;
}

impl<T, E: std::fmt::Debug + Send + 'static> OrErrorPage<T> for Result<T, E> {
    fn or_error_page(self, shell: Option<&Shell>, doing: &'static str) -> Result<T, PageError> {
        self.map_err(|error| PageError {
            shell: shell.cloned().map(Box::new),
            doing,
            unavailable: is_unavailable(&error),
            error: Box::new(error),
        })
    }
}

async fn not_found_page(
    axum::extract::State(state): axum::extract::State<AppState>,
    PageAdmin(principal): PageAdmin,
) -> Response {
    not_found(Shell::load(&state, &principal).await.ok().map(|(shell, _)| shell))
}

/// [`render`] on a blocking thread, for the big pages (the log with its 500 rows and
/// pickers, an entry with large values): a render that takes long stalls no request
/// that the async workers serve meanwhile, `/healthz` among them.
pub async fn render_off_thread<T: Template + Send + 'static>(status: StatusCode, page: T) -> Response {
    match tokio::task::spawn_blocking(move || render(status, &page)).await {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(error = ?err, "a page's rendering thread failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Renders a template; a rendering failure is a logged 500.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Whether a form post comes from our own pages: `Sec-Fetch-Site` and `Origin`, when
/// the browser sends them, must not name another site.
pub fn same_origin(parts_headers: &axum::http::HeaderMap) -> bool {
    if let Some(site) = parts_headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match (parts_headers.get(header::ORIGIN), parts_headers.get(header::HOST)) {
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or("");
            let host = host.to_str().unwrap_or("");
            origin.split_once("://").is_some_and(|(_, rest)| rest == host)
        }
        _ => true,
    }
}
