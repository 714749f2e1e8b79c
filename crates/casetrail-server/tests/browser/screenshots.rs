//! The README's screenshots, from the demo firm: not a check, so ignored by default.
//!
//! ```sh
//! SCREENSHOT_DIR=docs/screenshots cargo test -p casetrail-server --test browser -- --ignored screenshots
//! ```
//!
//! writes `log.png` and `entry.png` (1280 wide), `log-phone.png` and
//! `entry-phone.png` (390 wide), `login.png` and `forbidden.png`, the Export menu,
//! the chain verdict, the retention page with a dry run and the streams page with a
//! delivering, a failing and a paused stream (`log-export`, `verify`, `retention`,
//! `streams`, each also `-phone`)
//! (default directory: `target/screenshots`).

use std::path::PathBuf;
use std::time::Duration;

use casetrail_app::provision::create_user;
use casetrail_demo::{DEFAULT_SEED, EventGenerator, firm, ingest_batches};
use casetrail_store::Role;

use crate::driver::{Browser, with_browser};
use crate::support::receivers::HttpReceiver;
use crate::support::{TestApp, spawn_app_with};

const PASSWORD: &str = "casetrail-demo-2026";

#[tokio::test]
#[ignore = "writes screenshots; run with --ignored"]
async fn screenshots() {
    // Private destinations allowed: the streams page shows one delivering to a
    // receiver on this machine.
    let config = casetrail_server::ServerConfig { allow_private_stream_destinations: true, ..Default::default() };
    let app = spawn_app_with(config).await;
    let demo = firm(DEFAULT_SEED);
    let record_urls =
        [("case", "https://crm.example.com/cases/{id}"), ("client", "https://crm.example.com/clients/{id}")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let profile = casetrail_store::ProfileUpdate {
        name: Some(demo.name.clone()),
        timezone: casetrail_core::Zone::parse(&demo.timezone),
        record_urls: Some(record_urls),
    };
    let change = casetrail_store::AccountChange::Profile(profile);
    let changed = app.store.change_account(app.account_id(), change, casetrail_store::unrecorded()).await.unwrap();
    let account = changed.value.after;
    let admin = demo.staff.iter().find(|s| s.admin).unwrap();
    let member = demo.staff.iter().find(|s| !s.admin).unwrap();
    create_user(app.store.as_ref(), &account, &admin.email, &admin.name, Role::Admin, PASSWORD).await.unwrap();
    create_user(app.store.as_ref(), &account, &member.email, &member.name, Role::Member, PASSWORD).await.unwrap();
    let events = EventGenerator::recent(&demo, DEFAULT_SEED, 6000, jiff::Timestamp::now(), 42);
    for batch in ingest_batches(events, 1000) {
        app.ingest_ok(&batch).await;
    }
    // The entry to show: the newest contact change with the most changed fields.
    let (_, page) = app.admin_get("/api/v1/events?activity=client.contact_changed&limit=200").await;
    let entry = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .max_by_key(|e| e["changes"].as_array().map_or(0, Vec::len))
        .map(|e| e["id"].as_str().unwrap().to_string())
        .unwrap();

    let receiver = HttpReceiver::start().await;
    demo_streams(&app, &receiver).await;

    let dir = PathBuf::from(std::env::var("SCREENSHOT_DIR").unwrap_or_else(|_| "../../target/screenshots".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let (admin_email, member_email) = (admin.email.clone(), member.email.clone());
    let tamper = app.tamperer();
    with_browser(&app, 1280, move |b| async move {
        b.goto("/login").await;
        save(&b, &dir, "login.png", 1280, 760, false).await;
        b.sign_in(&member_email, PASSWORD).await;
        save(&b, &dir, "forbidden.png", 1280, 760, false).await;
        b.click("form[action='/logout'] button").await;
        b.wait_for_location("/login").await;

        b.sign_in(&admin_email, PASSWORD).await;
        save(&b, &dir, "log.png", 1280, 900, false).await;
        save(&b, &dir, "log-phone.png", 390, 844, false).await;
        b.goto(&format!("/settings/system-log/{entry}")).await;
        save(&b, &dir, "entry.png", 1280, 900, true).await;
        save(&b, &dir, "entry-phone.png", 390, 844, true).await;

        b.goto("/settings/system-log").await;
        b.open_filter("Export").await;
        save(&b, &dir, "log-export.png", 1280, 500, false).await;
        save(&b, &dir, "log-export-phone.png", 390, 700, false).await;
        b.client.set_window_size(1280, 900).await.unwrap();
        b.goto("/settings/system-log").await;
        b.click("#verify button").await;
        b.wait_for_location("/integrity").await;
        save(&b, &dir, "verify.png", 1280, 600, false).await;
        save(&b, &dir, "verify-phone.png", 390, 700, false).await;
        tamper.event_body(17, "\"description\":\"", "\"description\":\"(altered) ").await;
        b.client.set_window_size(1280, 900).await.unwrap();
        b.click("#verify-again").await;
        b.wait_until("document.querySelector('.verdict-bad')").await;
        save(&b, &dir, "verify-broken.png", 1280, 600, false).await;
        save(&b, &dir, "verify-broken-phone.png", 390, 700, false).await;
        b.client.set_window_size(1280, 900).await.unwrap();
        b.goto("/settings/system-log/retention").await;
        b.type_into("#hold-id", "c_1042").await;
        b.type_into("#hold-reason", "Litigation hold, Smith v. Jones").await;
        b.click("#place-hold").await;
        b.wait_until("document.querySelector('#notice')").await;
        b.type_into("#retention-days", "120").await;
        b.click("#preview-retention").await;
        b.wait_until("document.querySelector('#dry-run')").await;
        save(&b, &dir, "retention.png", 1280, 900, true).await;
        save(&b, &dir, "retention-phone.png", 390, 844, true).await;
        b.client.set_window_size(1280, 900).await.unwrap();
        // Once the failing stream has failed and the webhook caught up.
        for _ in 0..100 {
            b.goto("/settings/system-log/streams").await;
            let states = b.texts(".stream-state").await;
            if states.iter().any(|s| s.starts_with("Failing")) && b.texts(".stream-lag").await[0] == "Up to date" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        save(&b, &dir, "streams.png", 1280, 900, true).await;
        save(&b, &dir, "streams-phone.png", 390, 844, true).await;
    })
    .await;
    app.stop().await;
}

/// Three streams for the streams page: a webhook delivering to `receiver`, a Splunk
/// collector whose name does not resolve (failing, with its error), and a paused
/// syslog stream far behind. The last two are written to the store directly, as
/// their names would be refused at creation.
async fn demo_streams(app: &TestApp, receiver: &HttpReceiver) {
    use casetrail_store::{NewStream, StreamFilters, StreamFormat, StreamKind, StreamSettings, unrecorded};
    let webhook = serde_json::json!({"name": "SOC webhook", "kind": "webhook",
                                     "url": format!("{}/casetrail", receiver.base.replace("127.0.0.1", "localhost"))});
    let (status, answer) = app.admin_send(reqwest::Method::POST, "/api/v1/streams", Some(webhook)).await;
    assert_eq!(status, 201, "{answer}");
    let settings = |name: &str, kind, url: &str, format, enabled| StreamSettings {
        name: name.into(),
        kind,
        url: url.into(),
        format,
        filters: StreamFilters::default(),
        enabled,
        secret: Some("demo-token".into()),
        ca_cert: None,
    };
    let mut splunk = settings(
        "Splunk Cloud",
        StreamKind::SplunkHec,
        "https://splunk.smithjones.example:8088",
        StreamFormat::Ocsf,
        true,
    );
    splunk.filters.activity = vec!["team".into(), "settings".into(), "system_log".into()];
    let mut syslog = settings(
        "Syslog collector",
        StreamKind::Syslog,
        "tls://syslog.smithjones.example:6514",
        StreamFormat::Json,
        false,
    );
    syslog.secret = None;
    for (settings, from_seq) in [(splunk, None), (syslog, Some(5200))] {
        let new = NewStream { account_id: app.account_id(), settings, from_seq };
        app.store.create_stream(new, unrecorded()).await.unwrap();
    }
}

/// Screenshots of a page that a test has just checked, at desktop and phone widths,
/// when `SCREENSHOT_DIR` names a directory: for looking at, not a check.
pub(crate) async fn when_asked(b: &Browser, name: &str) {
    let Ok(dir) = std::env::var("SCREENSHOT_DIR") else { return };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    save(b, &dir, &format!("{name}.png"), 1280, 900, true).await;
    save(b, &dir, &format!("{name}-phone.png"), 390, 844, true).await;
    b.client.set_window_size(1280, 900).await.unwrap();
}

/// A screenshot at `width`, of the viewport or of the whole page.
pub(crate) async fn save(b: &Browser, dir: &std::path::Path, name: &str, width: u32, height: u32, full: bool) {
    b.client.set_window_size(width, height).await.unwrap();
    let mut height = height;
    if full {
        let page = b.script("return document.documentElement.scrollHeight").await;
        height = page.as_u64().map_or(height, |h| (h as u32 + 140).clamp(height, 5000));
        b.client.set_window_size(width, height).await.unwrap();
    }
    let _ = b.script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let png = b.client.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}
