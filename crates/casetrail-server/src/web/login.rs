//! `/login` and `/logout`: email and password, a session cookie, CSRF tokens,
//! failed-login limits and the `team.*` sign-in events (API.md §3).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use casetrail_core::{Context, Timestamp};
use casetrail_store::Session;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{ClientIp, render, same_origin};
use crate::AppState;
use crate::auth::{SESSION_COOKIE, authenticate, hash_password, random_token, token_hash, user_actor, verify_password};
use casetrail_app::AuditEvent;

/// The pre-session CSRF cookie of the login form (double submit).
const LOGIN_CSRF_COOKIE: &str = "casetrail_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Only a local path may be a redirect target, never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/settings/system-log",
    }
}

fn cookie(name: &str, value: &str, max_age_secs: i64, secure: bool, same_site: &str) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let raw = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&raw).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn login_page(state: &AppState, status: StatusCode, next: &str, email: &str, error: Option<&str>) -> Response {
    let csrf = random_token();
    let mut response = render(status, &LoginPage { csrf: &csrf, next, email, error });
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, state.config.secure_cookies, "Strict"));
    response
}

pub async fn form(State(state): State<AppState>, Query(q): Query<NextParam>) -> Response {
    login_page(&state, StatusCode::OK, safe_next(q.next.as_deref()), "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

fn request_context(headers: &HeaderMap, ip: ClientIp) -> Context {
    Context {
        ip: ip.0.map(|ip| ip.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(1000).collect()),
        ..Context::default()
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_string();
    let expected = cookie_value(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !same_origin(&headers) || expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes())) {
        return login_page(
            &state,
            StatusCode::FORBIDDEN,
            &next,
            &form.email,
            Some("Your sign-in form expired. Please try again."),
        );
    }
    let now = Timestamp::now();
    let email = form.email.trim().to_string();
    if let Some(wait) = state.logins.blocked(&email, ip.0, now.as_millis()) {
        let mut response = login_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &email,
            Some("Too many failed sign-ins. Please wait and try again."),
        );
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.max(1)));
        return response;
    }
    let found = match state.store.user_by_email(&email).await {
        Ok(found) => found,
        Err(err) => return crate::error::ApiError::from(err).into_response(),
    };
    let password = form.password.clone();
    let phc = found.as_ref().map(|(_, h)| h.clone());
    // For an unknown email, hashing the password costs what verifying would, so the
    // answer's timing does not tell which emails exist.
    let ok = tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_password(&password, &phc),
        None => hash_password(&password).map(|_| false).unwrap_or(false),
    })
    .await
    .unwrap_or(false);
    let context = request_context(&headers, ip);
    let Some((user, _)) = found.filter(|_| ok) else {
        state.logins.fail(&email, ip.0, now.as_millis());
        if let Some((user, _)) = state.store.user_by_email(&email).await.ok().flatten() {
            let event = AuditEvent::new(
                user_actor(&user),
                casetrail_core::OwnActivity::LoginFailed,
                format!("Failed sign-in for {}", user.email),
            )
            .metadata("email", user.email.clone())
            .context(context)
            .build();
            if let Err(err) = state.record(user.account_id, event).await {
                tracing::error!(error = ?err, "could not record a failed sign-in");
            }
        }
        return login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            &next,
            &email,
            Some("That email and password do not match an account."),
        );
    };

    let token = random_token();
    let session = Session {
        token_hash: token_hash(&token),
        account_id: user.account_id,
        user_id: user.id,
        csrf_token: random_token(),
        created_at: now,
        expires_at: now.plus_millis(state.config.session_hours * 3_600_000),
    };
    let event = AuditEvent::new(
        user_actor(&user),
        casetrail_core::OwnActivity::UserLoggedIn,
        format!("{} signed in", user.name),
    )
    .context(context)
    .build();
    let stored = async {
        state.store.create_session(session).await?;
        state.record(user.account_id, event).await?;
        Ok::<_, crate::error::ApiError>(())
    };
    if let Err(err) = stored.await {
        return err.into_response();
    }
    let mut response = Redirect::to(&next).into_response();
    let secure = state.config.secure_cookies;
    let headers = response.headers_mut();
    headers
        .append(header::SET_COOKIE, cookie(SESSION_COOKIE, &token, state.config.session_hours * 3600, secure, "Lax"));
    headers.append(header::SET_COOKIE, cookie(LOGIN_CSRF_COOKIE, "", 0, secure, "Strict"));
    response
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let principal = authenticate(&state, &parts).await.ok().flatten();
    let request = axum::extract::Request::from_parts(parts.clone(), body);
    let form = <Form<LogoutForm> as axum::extract::FromRequest<AppState>>::from_request(request, &state).await.ok();
    if let (Some(principal), Some(Form(form))) = (principal, form)
        && let crate::auth::Credential::Session { session, .. } = &principal.credential
    {
        let valid =
            same_origin(&parts.headers) && bool::from(session.csrf_token.as_bytes().ct_eq(form.csrf.as_bytes()));
        if !valid {
            return (StatusCode::FORBIDDEN, "invalid or missing CSRF token").into_response();
        }
        if let Err(err) = state.store.delete_session(session.token_hash).await {
            return crate::error::ApiError::from(err).into_response();
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies, "Lax"));
    response
}
