//! `/login` and `/logout`: email and password, a session cookie, CSRF tokens,
//! failed-login limits and the `team.*` sign-in events (docs/API.md §3).
//!
//! A sign-in attempt is counted before its password is checked and given back only
//! when it was right ([`crate::limiter`]). A wrong password answers the same way,
//! after the same work, whether or not the email belongs to a user: an unknown email
//! hashes the password as a known one verifies it, and the `team.login_failed`
//! event of a known one is committed after the answer.

use askama::Template;
use axum::Form;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use casetrail_core::{Context, Timestamp};
use casetrail_store::{Session, User};
use serde::Deserialize;
use tokio::sync::OwnedSemaphorePermit;

use super::csrf::{CsrfToken, LOGIN_CSRF_COOKIE, LoginCsrfForm, session_post_is_genuine};
use super::{ClientIp, LOG_PATH, render};
use crate::AppState;
use crate::auth::{SESSION_COOKIE, authenticate, hash_password, random_token, token_hash, user_actor, verify_password};
use crate::error::ApiError;
use crate::limiter::{HASHING_WAIT, MAX_EMAIL_CHARS};
use casetrail_app::AuditEvent;

/// How long the login form's pre-session CSRF cookie lasts.
const LOGIN_CSRF_SECS: i64 = 3600;

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

/// Where to go after signing in: a path on this site, else the log. Anything a
/// browser could read as another origin is refused: a leading `//`, a backslash
/// (read as `/`), and every control character, space or non-ASCII byte (tabs and
/// newlines are dropped from URLs, so `/\t/evil.example` is `//evil.example`, and
/// none of them can be put in a `Location` header anyway).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => LOG_PATH,
    }
}

/// Every cookie casetrail sets: for the whole site, never readable by scripts,
/// `Secure` when the server is configured for TLS. `Max-Age=0` removes it.
fn cookie(name: &'static str, value: String, max_age_secs: i64, secure: bool, same_site: SameSite) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .secure(secure)
        .build()
}

fn login_page(state: &AppState, status: StatusCode, next: &str, email: &str, error: Option<&str>) -> Response {
    let csrf = random_token();
    let page = render(status, &LoginPage { csrf: &csrf, next, email, error });
    let jar = CookieJar::new().add(cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        LOGIN_CSRF_SECS,
        state.config.secure_cookies,
        SameSite::Strict,
    ));
    (jar, page).into_response()
}

/// The login page with a 429 and how long to wait.
fn wait_page(state: &AppState, next: &str, email: &str, wait_secs: u64, message: &str) -> Response {
    let mut response = login_page(state, StatusCode::TOO_MANY_REQUESTS, next, email, Some(message));
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_secs.max(1)));
    response
}

fn too_many_failures(state: &AppState, next: &str, email: &str, wait_secs: u64) -> Response {
    wait_page(state, next, email, wait_secs, "Too many failed sign-ins. Please wait and try again.")
}

fn hashing_full(state: &AppState, next: &str, email: &str) -> Response {
    let message = "Too many sign-ins at once. Please wait a moment and try again.";
    wait_page(state, next, email, HASHING_WAIT.as_secs().max(1), message)
}

/// The store could not count the attempt: 503, try again shortly.
fn unavailable(state: &AppState, next: &str, email: &str) -> Response {
    let message = "Sign-in is unavailable right now. Please try again in a moment.";
    let mut response = login_page(state, StatusCode::SERVICE_UNAVAILABLE, next, email, Some(message));
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_SECS));
    response
}

/// How long a client is asked to wait when sign-in is unavailable.
const UNAVAILABLE_RETRY_SECS: u64 = 5;

fn failed(state: &AppState, next: &str, email: &str) -> Response {
    let message = "That email and password do not match an account.";
    login_page(state, StatusCode::UNAUTHORIZED, next, email, Some(message))
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

impl CsrfToken for LoginForm {
    fn csrf_token(&self) -> &str {
        &self.csrf
    }
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

/// Checks the password against the stored hash, or, with none, hashes it at the
/// same cost. The permit is held until the hash is done, even if the caller left.
async fn password_matches(permit: OwnedSemaphorePermit, password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        match phc {
            Some(phc) => verify_password(&password, &phc),
            None => hash_password(&password).map(|_| false).unwrap_or(false),
        }
    })
    .await
    .unwrap_or(false)
}

/// Records `team.login_failed` for a known user once the answer has gone: waiting
/// for its commit would make a known email answer measurably slower.
fn record_failure_after_answer(state: &AppState, user: &User, context: Context) {
    let event = AuditEvent::new(
        user_actor(user),
        casetrail_core::OwnActivity::LoginFailed,
        format!("Failed sign-in for {}", user.email),
    )
    .metadata("email", user.email.clone())
    .context(context)
    .build();
    let (writer, account) = (state.writer.clone(), user.account_id);
    tokio::spawn(async move {
        if let Err(err) = writer.append(account, vec![event]).await {
            tracing::error!(error = ?err, "could not record a failed sign-in");
        }
    });
}

pub async fn submit(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    LoginCsrfForm { form, genuine }: LoginCsrfForm<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    if !genuine {
        let message = "Your sign-in form expired. Please try again.";
        return login_page(&state, StatusCode::FORBIDDEN, next, &form.email, Some(message));
    }
    let email = form.email.trim();
    if email.chars().count() > MAX_EMAIL_CHARS {
        // No user has such an email: neither counted nor looked up, but answered
        // after the same hashing as any unknown email.
        let Some(permit) = state.logins.hashing_permit().await else { return hashing_full(&state, next, "") };
        password_matches(permit, form.password, None).await;
        return failed(&state, next, "");
    }
    let now = Timestamp::now();
    let attempt = match state.logins.reserve(state.store.as_ref(), email, ip.0, now).await {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(wait)) => return too_many_failures(&state, next, email, wait),
        // Not counted means not checked: no sign-in passes a limit nobody could read.
        Err(err) => {
            tracing::error!(error = ?err, "could not count a sign-in attempt");
            return unavailable(&state, next, email);
        }
    };
    let Some(permit) = state.logins.hashing_permit().await else {
        // Never checked, so not a failure.
        state.logins.refund(state.store.as_ref(), attempt).await;
        return hashing_full(&state, next, email);
    };
    let found = match state.store.user_by_email(email).await {
        Ok(found) => found,
        Err(err @ casetrail_store::StoreError::Unavailable(_)) => {
            tracing::warn!(error = ?err, "could not look a user up: the database is unreachable");
            return unavailable(&state, next, email);
        }
        Err(err) => return ApiError::from(err).into_response(),
    };
    let phc = found.as_ref().map(|(_, phc)| phc.clone());
    let right = password_matches(permit, form.password, phc).await;
    let context = request_context(&headers, ip);
    match found {
        Some((user, _)) if right => {
            state.logins.refund(state.store.as_ref(), attempt).await;
            start_session(&state, &user, context, now, next).await
        }
        Some((user, _)) => {
            record_failure_after_answer(&state, &user, context);
            failed(&state, next, email)
        }
        None => failed(&state, next, email),
    }
}

/// Creates the session, records `team.user_logged_in`, and sends the browser on
/// with its session cookie.
async fn start_session(state: &AppState, user: &User, context: Context, now: Timestamp, next: &str) -> Response {
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
        user_actor(user),
        casetrail_core::OwnActivity::UserLoggedIn,
        format!("{} signed in", user.name),
    )
    .context(context)
    .build();
    // The session and its sign-in record commit together: no session nobody can see.
    match state.store.create_session(session, Box::new(move |_| Some(event))).await {
        Ok(created) => {
            state.noted(created);
        }
        Err(err) => return ApiError::from(err).into_response(),
    }
    let secure = state.config.secure_cookies;
    let jar = CookieJar::new()
        .add(cookie(SESSION_COOKIE, token, state.config.session_hours * 3600, secure, SameSite::Lax))
        .add(cookie(LOGIN_CSRF_COOKIE, String::new(), 0, secure, SameSite::Strict));
    (jar, Redirect::to(next)).into_response()
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let principal = authenticate(&state, &parts).await.ok().flatten();
    // Only a signed-in caller's post is read; anyone else is simply sent to sign in.
    if let Some(principal) = principal
        && let crate::auth::Credential::Session { session, .. } = &principal.credential
    {
        let request = Request::from_parts(parts.clone(), body);
        let sent = Form::<LogoutForm>::from_request(request, &state).await.map(|Form(f)| f.csrf).unwrap_or_default();
        if !session_post_is_genuine(&principal, &parts.headers, &sent) {
            return (StatusCode::FORBIDDEN, "invalid or missing CSRF token").into_response();
        }
        if let Err(err) = state.store.delete_session(session.token_hash).await {
            return ApiError::from(err).into_response();
        }
    }
    let jar =
        CookieJar::new().add(cookie(SESSION_COOKIE, String::new(), 0, state.config.secure_cookies, SameSite::Lax));
    (jar, Redirect::to("/login")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_on_this_site_is_a_redirect_target() {
        for local in ["/settings/system-log", "/settings/system-log/abc?actor=u_1&q=a%20b", "/"] {
            assert_eq!(safe_next(Some(local)), local);
        }
        let hostile = [
            "/\t/evil.example",
            "/\t\t/x",
            "/\n/x",
            "/\r\n/x",
            "\r\n",
            "/ /x",
            "/\u{7f}/x",
            "/\u{e9}",
            "//evil",
            "https://evil",
            "/\\evil",
            "\\\\evil",
            "javascript:alert(1)",
            "",
        ];
        for next in hostile {
            assert_eq!(safe_next(Some(next)), LOG_PATH, "{next:?}");
        }
        assert_eq!(safe_next(None), LOG_PATH);
    }

    /// A store that cannot count the attempt refuses the sign-in with a 503, even
    /// with the right password: a limit nobody could read lets nobody through.
    #[tokio::test]
    async fn a_sign_in_the_store_cannot_count_is_refused_with_503() {
        let store = casetrail_store_sqlite::SqliteStore::open_temporary().unwrap();
        let firm = casetrail_app::provision::create_account(&store, "Firm", "ada@firm.example", "Ada").await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared: std::sync::Arc<dyn casetrail_store::Store> = std::sync::Arc::new(store.clone());
        let server = tokio::spawn(crate::serve(listener, shared, crate::ServerConfig::default(), async {
            let _ = stopped.await;
        }));
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let sign_in = async |password: &str| {
            let form = client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
            let at = form.find("name=\"csrf\"").unwrap();
            let value = &form[at..][form[at..].find("value=\"").unwrap() + 7..];
            let csrf = value[..value.find('"').unwrap()].to_string();
            let fields = [("email", "ada@firm.example"), ("password", password), ("csrf", csrf.as_str())];
            client.post(format!("{base}/login")).form(&fields).send().await.unwrap()
        };
        assert_eq!(sign_in(&firm.admin_password).await.status(), 303, "signs in while the store counts");

        rusqlite::Connection::open(store.path()).unwrap().execute_batch("DROP TABLE login_attempts").unwrap();
        let refused = sign_in(&firm.admin_password).await;
        assert_eq!(refused.status(), 503);
        assert_eq!(refused.headers()["retry-after"], "5");
        let cookies: Vec<String> =
            refused.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_string()).collect();
        assert!(cookies.iter().all(|c| !c.starts_with(SESSION_COOKIE)), "no session: {cookies:?}");
        assert!(refused.text().await.unwrap().contains("Sign-in is unavailable right now."));
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }

    #[test]
    fn cookies_keep_their_attributes() {
        let session = cookie(SESSION_COOKIE, "tok".into(), 43_200, true, SameSite::Lax).to_string();
        let mut attributes: Vec<&str> = session.split("; ").collect();
        attributes.sort_unstable();
        assert_eq!(
            attributes,
            ["HttpOnly", "Max-Age=43200", "Path=/", "SameSite=Lax", "Secure", "casetrail_session=tok"]
        );
        let cleared = cookie(LOGIN_CSRF_COOKIE, String::new(), 0, false, SameSite::Strict).to_string();
        let mut attributes: Vec<&str> = cleared.split("; ").collect();
        attributes.sort_unstable();
        assert_eq!(attributes, ["HttpOnly", "Max-Age=0", "Path=/", "SameSite=Strict", "casetrail_login_csrf="]);
    }
}
