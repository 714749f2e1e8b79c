//! The streams page (docs/API.md §13, §16): a stream added, paused, resumed,
//! replayed and deleted, delivering to a receiver of the test's own; its secret
//! shown once; a bad URL and a private destination refused with a message; a
//! member shown the 403 page.

use std::time::Duration;

use crate::driver::{Browser, with_browser};
use crate::screenshots::when_asked;
use crate::support::receivers::{HttpReceiver, seqs};
use crate::support::{MEMBER_PASSWORD, TestApp, event, hidden_value, spawn_app, spawn_app_with};

const WITHIN: Duration = Duration::from_secs(15);
const PATH: &str = "/settings/system-log/streams";

async fn submit(b: &Browser, button: &str) {
    b.script("window.__posting = true").await;
    b.click(button).await;
    b.wait_until("!window.__posting").await;
}

/// Reloads the page until the first stream's `css` reads `text` (its position is
/// written just after the receiver answered).
async fn reload_until(b: &Browser, css: &str, text: &str) {
    for _ in 0..100 {
        b.goto(PATH).await;
        if b.texts(css).await.first().map(String::as_str) == Some(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never read {text:?}: {:?}", b.texts(css).await);
}

async fn fill_add_form(b: &Browser, name: &str, kind: &str, url: &str) {
    b.type_into("#stream-name", name).await;
    b.find(&format!("#stream-kind option[value={kind}]")).await.click().await.unwrap();
    b.type_into("#stream-url", url).await;
}

async fn error(b: &Browser) -> String {
    b.find("#error").await.text().await.unwrap()
}

async fn notice(b: &Browser) -> String {
    b.find("#notice").await.text().await.unwrap()
}

/// The descriptions of the account's `settings.updated` records, oldest first.
async fn recorded(app: &TestApp) -> (Vec<String>, String) {
    let (_, page) = app.admin_get("/api/v1/events?activity=settings.updated&limit=100").await;
    let mut said: Vec<String> =
        page["events"].as_array().unwrap().iter().map(|e| e["description"].as_str().unwrap().to_string()).collect();
    said.reverse();
    (said, page.to_string())
}

#[tokio::test]
async fn a_stream_is_added_paused_resumed_replayed_and_deleted_from_the_page() {
    let app = spawn_app_with(casetrail_server::ServerConfig {
        allow_private_stream_destinations: true,
        ..Default::default()
    })
    .await;
    let receiver = HttpReceiver::start().await;
    let hook = format!("{}/hook?key=kept-out-of-sight", receiver.base);
    let shown_hook = format!("{}/hook?\u{2026}", receiver.base);
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    let (base, ingest_key) = (app.base.clone(), app.firm.ingest_key.clone());
    let got = std::sync::Arc::new(receiver);
    let seen = got.clone();
    with_browser(&app, 1280, move |b| async move {
        let ingest = |description: &'static str| {
            let (base, key) = (base.clone(), ingest_key.clone());
            async move {
                let status = reqwest::Client::new()
                    .post(format!("{base}/api/v1/events"))
                    .bearer_auth(key)
                    .json(&event("case.updated", description))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 201);
            }
        };
        b.goto("/settings/system-log").await;
        b.sign_in(&email, &password).await;
        b.click("#streams-link").await;
        b.wait_for_location(PATH).await;
        assert!(b.find("#no-streams").await.text().await.unwrap().starts_with("No streams yet."));

        // A bad URL is named, and the form keeps what was typed.
        fill_add_form(&b, "SOC webhook", "webhook", "ftp://siem.example.com/hook").await;
        submit(&b, "#add-stream-button").await;
        assert_eq!(error(&b).await, "Destination: must be an http:// or https:// URL for a webhook stream.");
        assert_eq!(b.find("#stream-name").await.prop("value").await.unwrap().unwrap(), "SOC webhook");
        assert_eq!(b.find("#stream-url").await.prop("value").await.unwrap().unwrap(), "ftp://siem.example.com/hook");
        assert!(b.texts("li.stream").await.is_empty(), "nothing was added");

        // Added: the secret is shown in this answer only.
        b.type_into("#stream-url", &hook).await;
        submit(&b, "#add-stream-button").await;
        assert!(notice(&b).await.starts_with("Added the stream \u{201c}SOC webhook\u{201d}."), "{}", notice(&b).await);
        let secret = b.find("#new-secret").await.text().await.unwrap();
        assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
        when_asked(&b, "streams-added").await;
        assert_eq!(b.texts(".stream-name").await, ["SOC webhook"]);
        assert_eq!(b.texts(".stream-state").await, ["Delivering"]);
        assert_eq!(b.texts(".destination").await, [shown_hook], "the query is not shown");
        b.goto(PATH).await;
        assert!(b.texts("#secret-once").await.is_empty());
        let html = b.client.source().await.unwrap();
        assert!(!html.contains(&secret) && !html.contains("kept-out-of-sight"), "the secret or the key is shown again");

        // It delivers; the page shows where it is.
        ingest("first").await;
        ingest("second").await;
        let events = seen.wait_for(2, WITHIN).await;
        assert_eq!(seqs(&events), [3, 4], "seq 1 is the sign-in, seq 2 the stream's creation record");
        reload_until(&b, ".stream-position", "#4").await;
        assert_eq!(b.texts(".stream-lag").await, ["Up to date"]);
        assert_eq!(b.find("#head").await.text().await.unwrap(), "#4");
        when_asked(&b, "streams").await;

        // Paused: it keeps its position while entries pile up.
        submit(&b, ".stream-pause").await;
        assert!(notice(&b).await.starts_with("Paused \u{201c}SOC webhook\u{201d}."));
        assert_eq!(b.texts(".stream-state").await, ["Paused"]);
        ingest("while paused").await;
        b.goto(PATH).await;
        // A round that began just before the pause may still have sent its record.
        let position = 2 + seen.events().len() as u64;
        assert!(position == 4 || position == 5, "{position}");
        assert_eq!(b.texts(".stream-position").await, [format!("#{position}")]);
        let lag = if position == 4 { "2 entries" } else { "1 entry" };
        assert_eq!(b.texts(".stream-lag").await, [lag], "the pause's record and the new entry wait");

        // Resumed: everything since arrives, in order.
        submit(&b, ".stream-resume").await;
        let resumed = format!("Resumed \u{201c}SOC webhook\u{201d}: it sends from entry #{} on.", position + 1);
        assert_eq!(notice(&b).await, resumed);
        let events = seen.wait_for(5, WITHIN).await;
        assert_eq!(seqs(&events), [3, 4, 5, 6, 7], "the pause, the entry, the resume");

        // A replay that is not a number is refused in words; a real one resends.
        b.type_into(".replay-seq", "soon").await;
        submit(&b, ".stream-replay").await;
        assert_eq!(
            error(&b).await,
            "\u{201c}soon\u{201d} can't be replayed from: enter an entry number (its seq), 1 or more."
        );
        b.type_into(".replay-seq", "4").await;
        submit(&b, ".stream-replay").await;
        assert!(notice(&b).await.contains("sends again from entry #4"), "{}", notice(&b).await);
        let events = seen.wait_for(10, WITHIN).await;
        assert_eq!(seqs(&events)[5..], [4, 5, 6, 7, 8], "from 4 again, then the replay's record");

        // Deleted, after a confirmation.
        submit(&b, ".stream-delete").await;
        let confirm = b.find("#confirm-delete").await.text().await.unwrap();
        assert!(confirm.contains("Delete the stream \u{201c}SOC webhook\u{201d}?"), "{confirm}");
        assert_eq!(b.texts(".stream-name").await, ["SOC webhook"], "not yet");
        submit(&b, "#confirm-delete-button").await;
        assert_eq!(notice(&b).await, "Deleted the stream \u{201c}SOC webhook\u{201d}. Delivery has stopped.");
        assert!(b.texts("li.stream").await.is_empty());
        assert!(b.find("#no-streams").await.is_displayed().await.unwrap());
    })
    .await;
    // Every change was recorded as the API records it, and no record holds the secret.
    let (said, log) = recorded(&app).await;
    assert_eq!(
        said,
        [
            "Added the webhook stream \"SOC webhook\"",
            "Paused the stream \"SOC webhook\"",
            "Resumed the stream \"SOC webhook\"",
            "Replayed the stream \"SOC webhook\" from seq 4",
            "Deleted the stream \"SOC webhook\"",
        ]
    );
    assert!(!log.contains("whsec_"), "a secret reached the log: {log}");
    app.stop().await;
}

#[tokio::test]
async fn private_destinations_and_missing_tokens_are_refused_and_a_token_is_shown_once() {
    let app = spawn_app().await;
    let (email, password) = (app.firm.admin.email.clone(), app.firm.admin_password.clone());
    with_browser(&app, 1280, move |b| async move {
        b.goto(PATH).await;
        b.sign_in(&email, &password).await;
        b.wait_for_location(PATH).await;

        // Loopback and private networks are refused without the server's setting.
        for url in ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]:8080/"] {
            fill_add_form(&b, "Inside", "webhook", url).await;
            submit(&b, "#add-stream-button").await;
            let said = error(&b).await;
            assert!(said.starts_with("Destination: "), "{said}");
            assert!(said.contains("a private, loopback or link-local address"), "{url}: {said}");
            assert!(said.contains("allow private stream destinations"), "{said}");
        }
        when_asked(&b, "streams-refused").await;
        // A Splunk stream needs its token; the refused form asks for it again.
        fill_add_form(&b, "Splunk", "splunk_hec", "https://203.0.113.10:8088").await;
        submit(&b, "#add-stream-button").await;
        assert_eq!(error(&b).await, "Token: is required for a splunk_hec stream.");
        assert_eq!(b.find("#stream-kind").await.prop("value").await.unwrap().unwrap(), "splunk_hec");
        assert!(b.texts("li.stream").await.is_empty());

        // A hostile name is shown as text; the token is shown once, by its name.
        b.type_into("#stream-name", "<script>alert(1)</script> Splunk").await;
        b.type_into("#stream-secret", "hec-token-5f2c").await;
        submit(&b, "#add-stream-button").await;
        assert_eq!(
            b.find("#secret-title").await.text().await.unwrap(),
            format!("The HEC token of \u{201c}<script>alert(1)</script> Splunk\u{201d}")
        );
        assert_eq!(b.find("#new-secret").await.text().await.unwrap(), "hec-token-5f2c");
        assert_eq!(b.texts(".stream-name").await, ["<script>alert(1)</script> Splunk"]);
        assert_eq!(b.texts(".stream-dest .tag").await, ["Splunk HEC", "JSON"]);
        b.goto(PATH).await;
        assert!(!b.client.source().await.unwrap().contains("hec-token-5f2c"), "the token is never shown again");
    })
    .await;
    let (said, log) = recorded(&app).await;
    assert_eq!(said, ["Added the splunk_hec stream \"<script>alert(1)</script> Splunk\""]);
    assert!(!log.contains("hec-token-5f2c"), "{log}");

    // Members get the 403 page and cannot post; the signed-out are sent to sign in.
    let member = app.add_member("mia@smithjones.example").await;
    let as_member = app.signed_in(&member, MEMBER_PASSWORD).await;
    let page = as_member.get(app.url(PATH)).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("only accessible to Admins"), "{html}");
    let csrf = hidden_value(&html, "csrf").unwrap_or_default();
    let post = as_member.post(app.url(PATH)).form(&[("action", "add"), ("name", "x"), ("csrf", &csrf)]);
    assert_eq!(post.send().await.unwrap().status(), 403);
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = anonymous.get(app.url(PATH)).send().await.unwrap();
    assert_eq!(response.headers()["location"], "/login?next=%2Fsettings%2Fsystem-log%2Fstreams");
    // An admin's post without the page's token is refused, and adds nothing.
    let admin = app.signed_in(&app.firm.admin.email, &app.firm.admin_password).await;
    let forged = admin.post(app.url(PATH)).form(&[("action", "add"), ("name", "x"), ("csrf", "forged")]);
    assert_eq!(forged.send().await.unwrap().status(), 403);
    let (_, list) = app.admin_get("/api/v1/streams").await;
    assert_eq!(list["streams"].as_array().unwrap().len(), 1);
    app.stop().await;
}
