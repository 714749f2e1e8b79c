//! The one rule for every form post of the web UI: it must come from our own pages
//! (`Sec-Fetch-Site` and `Origin`, see [`same_origin`]) and carry the token the page
//! was given, compared in constant time.
//!
//! - [`CsrfForm`]: a signed-in admin's post, checked against the session's token.
//! - [`LoginCsrfForm`]: the sign-in form, posted before there is a session, checked
//!   against the pre-session cookie the form page set (double submit).
//! - [`session_post_is_genuine`]: the same check for a post that may come without a
//!   session (sign-out).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::{PageAdmin, same_origin};
use crate::AppState;
use crate::auth::{Credential, Principal};

/// The pre-session CSRF cookie of the login form.
pub const LOGIN_CSRF_COOKIE: &str = "casetrail_login_csrf";

/// A form that carries a CSRF token in its `csrf` field.
pub trait CsrfToken {
    fn csrf_token(&self) -> &str;
}

impl CsrfToken for HashMap<String, String> {
    fn csrf_token(&self) -> &str {
        self.get("csrf").map(|t| t.trim()).unwrap_or("")
    }
}

/// The rule itself: sent from our own pages, with the token that was expected.
fn genuine(headers: &HeaderMap, expected: &str, sent: &str) -> bool {
    // An empty expectation (no cookie, no session) must never match an empty field.
    same_origin(headers) && !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

/// Whether a post by this signed-in caller carries their session's token.
pub fn session_post_is_genuine(principal: &Principal, headers: &HeaderMap, sent: &str) -> bool {
    match &principal.credential {
        Credential::Session { session, .. } => genuine(headers, &session.csrf_token, sent),
        // Keys never post forms.
        Credential::Key(_) => false,
    }
}

fn forged() -> Response {
    (StatusCode::FORBIDDEN, "invalid or missing CSRF token").into_response()
}

/// A form posted by a signed-in admin from one of our pages. Anyone else gets what
/// [`PageAdmin`] answers; a missing or wrong token is a plain 403.
#[derive(Debug)]
pub struct CsrfForm<T> {
    pub principal: Principal,
    pub form: T,
}

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned + CsrfToken + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let PageAdmin(principal) = PageAdmin::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let Form(form) = Form::<T>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !session_post_is_genuine(&principal, &headers, form.csrf_token()) {
            return Err(forged());
        }
        Ok(CsrfForm { principal, form })
    }
}

/// The sign-in form with whether its token matched the pre-session cookie. The
/// handler answers a mismatch itself, as it shows the form again.
#[derive(Debug)]
pub struct LoginCsrfForm<T> {
    pub form: T,
    pub genuine: bool,
}

impl<T, S> FromRequest<S> for LoginCsrfForm<T>
where
    T: DeserializeOwned + CsrfToken + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let Form(form) = Form::<T>::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        let jar = CookieJar::from_headers(&headers);
        let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value()).unwrap_or("");
        let genuine = genuine(&headers, expected, form.csrf_token());
        Ok(LoginCsrfForm { form, genuine })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    fn headers(origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        if let Some(origin) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        h
    }

    #[test]
    fn only_the_expected_token_from_our_own_origin_passes() {
        let ours = headers(Some("http://127.0.0.1:8080"));
        assert!(genuine(&ours, "tok", "tok"));
        assert!(!genuine(&ours, "tok", "tok2"));
        assert!(!genuine(&ours, "tok", ""));
        assert!(!genuine(&ours, "", ""), "no cookie and no field is not a match");
        assert!(!genuine(&headers(Some("https://evil.example")), "tok", "tok"));
        assert!(genuine(&headers(None), "tok", "tok"), "browsers that send no Origin rely on the token");
    }
}
