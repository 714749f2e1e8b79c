//! The web UI: sign-in and the System Log pages, server-rendered with askama.
//!
//! Pages are admin-only: a signed-out visitor is sent to `/login` and back afterwards;
//! a member gets a plain 403 page. Every page carries a strict Content-Security-Policy
//! and is never cached.

mod login;
mod pages;

use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::auth::{Principal, authenticate};

pub fn routes() -> axum::Router<AppState> {
    let headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    let mut router = axum::Router::new()
        .route("/", get(|| async { Redirect::to("/settings/system-log") }))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", axum::routing::post(login::logout))
        .merge(pages::routes());
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::overriding(HeaderName::from(name), HeaderValue::from_static(value)));
    }
    router
}

/// The client's address, when the server was started with connect info.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
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
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/settings/system-log");
                let target = format!("/login?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
                return Err(Redirect::to(&target).into_response());
            }
            Err(err) => return Err(err.into_response()),
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
    csrf: &'a str,
}

fn forbidden_page(principal: &Principal) -> Response {
    let (name, csrf) = match &principal.credential {
        crate::auth::Credential::Session { session, user } => (user.name.as_str(), session.csrf_token.as_str()),
        crate::auth::Credential::Key(_) => ("", ""),
    };
    render(StatusCode::FORBIDDEN, &ForbiddenPage { name, csrf })
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
    if let Some(site) = parts_headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
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
