//! The sign-in form under abuse: hostile `next` targets, simultaneous guesses,
//! oversized emails, the failed-sign-in event recorded after the answer, and the
//! exact attributes of every cookie it sets.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Barrier;

use crate::support::{TestApp, hidden_value, spawn_app};

const LOG: &str = "/settings/system-log";
const FAILED: &str = "That email and password do not match an account.";

/// A cookie-keeping client that has loaded the form, and the form's token.
async fn opened_form(app: &TestApp) -> (reqwest::Client, String) {
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_value(&form, "csrf").expect("the form carries a token");
    (client, csrf)
}

async fn post_login(app: &TestApp, client: &reqwest::Client, fields: &[(&str, &str)]) -> reqwest::Response {
    client.post(app.url("/login")).form(fields).send().await.unwrap()
}

/// One sign-in from a fresh form.
async fn sign_in(app: &TestApp, email: &str, password: &str, next: Option<&str>) -> reqwest::Response {
    let (client, csrf) = opened_form(app).await;
    let mut fields = vec![("email", email), ("password", password), ("csrf", csrf.as_str())];
    if let Some(next) = next {
        fields.push(("next", next));
    }
    post_login(app, &client, &fields).await
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_string()).collect()
}

/// A cookie's attributes, sorted, for the one named `name`.
fn cookie_attributes(response: &reqwest::Response, name: &str) -> Vec<String> {
    let cookie = set_cookies(response)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"));
    let mut attributes: Vec<String> = cookie.split("; ").map(str::to_string).collect();
    attributes.sort_unstable();
    attributes
}

#[tokio::test]
async fn a_hostile_next_falls_back_to_the_log_and_a_local_one_is_kept() {
    let app = spawn_app().await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    let hostile = [
        "/\t/evil.example",
        "/\t\t/x",
        "/\n/x",
        "/\r\n/x",
        "\r\n",
        "//evil",
        "https://evil",
        "/\\evil",
        "javascript:alert(1)",
    ];
    for next in hostile {
        let response = sign_in(&app, &email, &password, Some(next)).await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(response.headers()["location"], LOG, "{next:?}");
    }
    let local = "/settings/system-log?actor=u_1&q=a%20b";
    let response = sign_in(&app, &email, &password, Some(local)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], local);

    // The form never carries a hostile target on to the post either.
    let page = app.client.get(app.url("/login?next=/%09/evil.example")).send().await.unwrap();
    assert_eq!(hidden_value(&page.text().await.unwrap(), "next").as_deref(), Some(LOG));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_wrong_guesses_are_counted_before_they_are_checked() {
    let app = spawn_app().await;
    let email = app.firm.admin.email.clone();
    let mut forms = Vec::new();
    for _ in 0..40 {
        forms.push(opened_form(&app).await);
    }
    let start = Arc::new(Barrier::new(forms.len()));
    let mut guesses = Vec::new();
    for (i, (client, csrf)) in forms.into_iter().enumerate() {
        let (url, email, start) = (app.url("/login"), email.clone(), start.clone());
        guesses.push(tokio::spawn(async move {
            let password = format!("wrong-guess-{i}");
            start.wait().await;
            let fields = [("email", email.as_str()), ("password", password.as_str()), ("csrf", csrf.as_str())];
            client.post(url).form(&fields).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!((1..=5).contains(&checked), "at most 5 guesses are checked: {statuses:?}");
    assert_eq!(checked + refused, 40, "every other guess is refused: {statuses:?}");

    // A guess refused because hashing was full is not a failure; top up to the limit.
    let mut failures = checked;
    for _ in 0..5 {
        let status = sign_in(&app, &email, "one-more-wrong-guess", None).await.status();
        if status == 429 {
            break;
        }
        assert_eq!(status, 401);
        failures += 1;
    }
    assert_eq!(failures, 5, "exactly five failures were checked in all");
    let right = sign_in(&app, &email, &app.firm.admin_password, None).await;
    assert_eq!(right.status(), 429, "the right password is refused while blocked");
    let wait: u64 = right.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(right.text().await.unwrap().contains("Too many failed sign-ins."));

    // Each checked failure is recorded once, after its answer.
    assert_eq!(login_failures(&app, 5).await.len(), 5);
    app.stop().await;
}

/// The `team.login_failed` events, waiting (boundedly) until there are `expected`.
async fn login_failures(app: &TestApp, expected: usize) -> Vec<Value> {
    let mut events = Vec::new();
    for _ in 0..100 {
        let (status, list) = app.admin_get("/api/v1/events?activity=team.login_failed").await;
        assert_eq!(status, 200);
        events = list["events"].as_array().unwrap().clone();
        if events.len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    events
}

#[tokio::test]
async fn an_email_over_254_characters_is_a_failure_that_is_neither_counted_nor_echoed() {
    let app = spawn_app().await;
    let too_long = format!("{}@smithjones.example", "a".repeat(255 - "@smithjones.example".len()));
    assert_eq!(too_long.len(), 255);
    for _ in 0..6 {
        let response = sign_in(&app, &too_long, "whatever-password", None).await;
        assert_eq!(response.status(), 401);
        let page = response.text().await.unwrap();
        assert!(page.contains(FAILED));
        assert!(!page.contains(&too_long), "the page does not echo it");
    }
    // 254 characters is still an email: counted, and blocked after five.
    let longest = &too_long[1..];
    for _ in 0..5 {
        assert_eq!(sign_in(&app, longest, "whatever-password", None).await.status(), 401);
    }
    assert_eq!(sign_in(&app, longest, "whatever-password", None).await.status(), 429);
    // Neither counted against the address: 11 failures from it, under its 20.
    let admin = sign_in(&app, &app.firm.admin.email, &app.firm.admin_password, None).await;
    assert_eq!(admin.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_sign_in_of_a_known_email_is_recorded_as_before() {
    let app = spawn_app().await;
    let email = app.firm.admin.email.clone();
    let (client, csrf) = opened_form(&app).await;
    let fields = [("email", format!(" {email} ")), ("password", "wrong".into()), ("csrf", csrf)];
    let response =
        client.post(app.url("/login")).header("user-agent", "login-test/1.0").form(&fields).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().contains(FAILED));
    let failures = login_failures(&app, 1).await;
    assert_eq!(failures.len(), 1);
    let event = &failures[0];
    assert_eq!(event["actor"]["id"], app.firm.admin.id.to_string());
    assert_eq!(event["actor"]["email"], email.as_str());
    assert_eq!(event["actor"]["type"], "user");
    assert_eq!(event["description"], format!("Failed sign-in for {email}"));
    assert_eq!(event["metadata"], serde_json::json!({"email": email}));
    assert_eq!(event["context"]["ip"], "127.0.0.1");
    assert_eq!(event["context"]["user_agent"], "login-test/1.0");
    app.stop().await;
}

#[tokio::test]
async fn every_cookie_keeps_its_attributes() {
    let app = spawn_app().await;
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = cookie_attributes(&form, "casetrail_login_csrf");
    let token = csrf_cookie.iter().find_map(|a| a.strip_prefix("casetrail_login_csrf=")).unwrap().to_string();
    assert_eq!(token.len(), 43, "32 random bytes, base64url");
    // Sorted: the attributes' capitals come before the cookie's own name.
    let expected = [
        "HttpOnly".to_string(),
        "Max-Age=3600".into(),
        "Path=/".into(),
        "SameSite=Strict".into(),
        format!("casetrail_login_csrf={token}"),
    ];
    assert_eq!(csrf_cookie, expected);
    assert_eq!(hidden_value(&form.text().await.unwrap(), "csrf").as_deref(), Some(token.as_str()));

    let fields = [("email", app.firm.admin.email.as_str()), ("password", &app.firm.admin_password), ("csrf", &token)];
    let signed_in = post_login(&app, &client, &fields).await;
    assert_eq!(signed_in.status(), 303);
    let session = cookie_attributes(&signed_in, "casetrail_session");
    assert_eq!(&session[..4], ["HttpOnly", "Max-Age=43200", "Path=/", "SameSite=Lax"]);
    assert!(session[4].starts_with("casetrail_session=") && session[4].len() == "casetrail_session=".len() + 43);
    assert_eq!(
        cookie_attributes(&signed_in, "casetrail_login_csrf"),
        ["HttpOnly", "Max-Age=0", "Path=/", "SameSite=Strict", "casetrail_login_csrf="]
    );

    let page = client.get(app.url(LOG)).send().await.unwrap().text().await.unwrap();
    let session_csrf = hidden_value(&page, "csrf").expect("the sign-out form's token");
    let signed_out = client.post(app.url("/logout")).form(&[("csrf", session_csrf)]).send().await.unwrap();
    assert_eq!(signed_out.status(), 303);
    assert_eq!(signed_out.headers()["location"], "/login");
    assert_eq!(
        cookie_attributes(&signed_out, "casetrail_session"),
        ["HttpOnly", "Max-Age=0", "Path=/", "SameSite=Lax", "casetrail_session="]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_matching_token_pair_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let (client, csrf) = opened_form(&app).await;
    let fields = [("email", app.firm.admin.email.as_str()), ("password", &app.firm.admin_password), ("csrf", &csrf)];
    let response =
        client.post(app.url("/login")).header("origin", "https://evil.example").form(&fields).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(set_cookies(&response).iter().all(|c| !c.starts_with("casetrail_session=")));
    assert!(response.text().await.unwrap().contains("Your sign-in form expired."));
    app.stop().await;
}

/// Wrong guesses for different users, all from one client address as `forwarded`.
async fn failures_from(app: &TestApp, forwarded: &str, count: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..count {
        let (client, csrf) = opened_form(app).await;
        let email = format!("nobody{i}@{}.example", forwarded.replace('.', "-"));
        let fields = [("email", email.as_str()), ("password", "wrong-password-1"), ("csrf", csrf.as_str())];
        let response =
            client.post(app.url("/login")).header("x-forwarded-for", forwarded).form(&fields).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_address_limit_keys_on_the_forwarded_client() {
    let localhost: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let config = casetrail_server::ServerConfig { trusted_proxies: vec![localhost], ..Default::default() };
    let app = crate::support::spawn_app_with(config).await;
    let first = failures_from(&app, "203.0.113.1", 21).await;
    assert_eq!(first[..20], [401; 20], "twenty failures per address are allowed");
    assert_eq!(first[20], 429, "the twenty-first from that client is refused");
    assert_eq!(failures_from(&app, "203.0.113.2", 1).await, [401], "another client behind the proxy is not");

    // Without trusted proxies the header is never believed: every attempt is the
    // peer's, whatever it claims.
    let plain = spawn_app().await;
    let mut statuses = failures_from(&plain, "203.0.113.1", 20).await;
    statuses.extend(failures_from(&plain, "203.0.113.2", 1).await);
    assert_eq!(statuses[20], 429, "a forged header does not buy more guesses");
}
