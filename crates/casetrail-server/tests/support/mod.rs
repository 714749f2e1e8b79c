//! A real server on `127.0.0.1:0` per test, over a fresh store of the backend
//! `CASETRAIL_TEST_DATABASE_URL` picks (see [`backend`]).
#![allow(dead_code)]

pub mod backend;
pub mod receivers;

use std::net::SocketAddr;
use std::sync::Arc;

use casetrail_app::provision::{Provisioned, create_account, create_user};
use casetrail_server::ServerConfig;
use casetrail_store::{Role, Store};
use serde_json::Value;
use tokio::sync::oneshot;

use self::backend::{Tamper, open_test_store};

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub store: Arc<dyn Store>,
    tamper: Tamper,
    pub firm: Provisioned,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub const MEMBER_PASSWORD: &str = "member-password-123";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn account_id(&self) -> casetrail_store::AccountId {
        self.firm.account.id
    }

    pub async fn get(&self, path: &str, key: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(key).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(key).json(body).send().await.expect("POST")
    }

    /// POSTs raw bytes as JSON.
    pub async fn post_raw(&self, path: &str, key: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn ingest(&self, body: &Value) -> reqwest::Response {
        self.post_json("/api/v1/events", &self.firm.ingest_key, body).await
    }

    /// Ingests and asserts success; returns the answer body.
    pub async fn ingest_ok(&self, body: &Value) -> Value {
        let response = self.ingest(body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status == 201 || status == 200, "ingest answered {status}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let response = self.get(path, &self.firm.admin_key).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A second account on the same server.
    pub async fn other_firm(&self) -> Provisioned {
        create_account(self.store.as_ref(), "Other Firm LLP", "boss@otherfirm.example", "Other Boss").await.unwrap()
    }

    /// A member user of this account; returns their email.
    pub async fn add_member(&self, email: &str) -> String {
        create_user(self.store.as_ref(), &self.firm.account, email, "Mia Member", Role::Member, MEMBER_PASSWORD)
            .await
            .unwrap();
        email.to_string()
    }

    /// A client with a cookie jar, signed in through the login form.
    pub async fn signed_in(&self, email: &str, password: &str) -> reqwest::Client {
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let form = client.get(self.url("/login")).send().await.unwrap().text().await.unwrap();
        let csrf = hidden_value(&form, "csrf").expect("the login form carries a csrf token");
        let response = client
            .post(self.url("/login"))
            .form(&[("email", email), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "sign-in should redirect");
        client
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

/// Tampers with this app's account, without borrowing the app.
#[derive(Clone)]
pub struct Tamperer {
    tamper: Tamper,
    account: casetrail_store::AccountId,
}

impl Tamperer {
    /// See [`TestApp::tamper_event_body`].
    pub async fn event_body(&self, seq: u64, from: &str, to: &str) {
        self.tamper.event_body(self.account, seq, from, to).await;
    }
}

/// The `value` of `<input ... name="NAME" value="...">` in a page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + 7;
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerConfig::default()).await
}

/// [`spawn_app`] with the server configured otherwise.
pub async fn spawn_app_with(config: ServerConfig) -> TestApp {
    let backend::TestStore { store, tamper } = open_test_store().await;
    let firm =
        create_account(store.as_ref(), "Smith & Jones LLP", "admin@smithjones.example", "Ada Admin").await.unwrap();
    let (addr, tx, server) = serve_on(store.clone(), config).await;
    TestApp {
        addr,
        base: format!("http://{addr}"),
        store,
        tamper,
        firm,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    /// A second server on this app's store — another process on the same database —
    /// serving the same firm, with a signing key of its own.
    pub async fn another_server(&self) -> TestApp {
        self.another_server_with(ServerConfig::default()).await
    }

    /// [`TestApp::another_server`], configured otherwise.
    pub async fn another_server_with(&self, config: ServerConfig) -> TestApp {
        let (addr, shutdown, server) = serve_on(self.store.clone(), config).await;
        TestApp {
            addr,
            base: format!("http://{addr}"),
            store: self.store.clone(),
            tamper: self.tamper.clone(),
            firm: self.firm.clone(),
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }
}

/// Starts a server over `store` on a free port.
async fn serve_on(
    store: Arc<dyn Store>,
    config: ServerConfig,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(casetrail_server::serve(listener, store, config, async {
        let _ = rx.await;
    }));
    (addr, tx, server)
}

/// A valid event with the given activity and description.
pub fn event(activity: &str, description: &str) -> Value {
    serde_json::json!({
        "actor": {"id": "u_17", "name": "Jane Doe", "email": "jane@smithlaw.com"},
        "activity": activity,
        "description": description,
    })
}

/// An instant an hour ago written at +01:00 with microseconds, and how the API must
/// show it (UTC, milliseconds truncated).
pub fn an_hour_ago() -> (String, String) {
    let base = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - 3600).unwrap();
    let utc = base.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let plus_one = jiff::Timestamp::from_second(base.as_second() + 3600).unwrap();
    let local = format!("{}.123456+01:00", plus_one.strftime("%Y-%m-%dT%H:%M:%S"));
    (local, format!("{utc}.123Z"))
}

/// RFC 3339 for `secs` seconds ago.
pub fn ago(secs: i64) -> String {
    let t = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - secs).unwrap();
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl TestApp {
    /// Appends events straight to the store, past the ingest window: how old events
    /// come to exist (they were ingested when they were new).
    pub async fn append_direct(&self, events: Vec<Value>) -> Vec<casetrail_store::Appended> {
        use casetrail_core::validate::{IngestRules, parse_ingest};
        let rules = IngestRules { now: casetrail_core::Timestamp::now(), window_start: None, allow_reserved: false };
        let events = parse_ingest(&serde_json::json!({ "events": events }), &rules).expect("valid events");
        let batch = casetrail_store::AppendBatch { account_id: self.account_id(), events };
        self.store.append(vec![batch]).await.unwrap().remove(0)
    }

    /// Replaces `from` with `to` in the stored body of this account's event `seq`
    /// behind the store's back (its hash stays): a broken chain, on any backend.
    pub async fn tamper_event_body(&self, seq: u64, from: &str, to: &str) {
        self.tamperer().event_body(seq, from, to).await;
    }

    /// Whether `needle` is anywhere in the database (see `TamperWith::stored_anywhere`).
    pub async fn stored_anywhere(&self, needle: &str) -> bool {
        self.tamper.stored_anywhere(needle).await
    }

    /// Deletes this account's Merkle tree (see `TamperWith::forget_tree`).
    pub async fn forget_tree(&self) {
        self.tamper.forget_tree(self.account_id()).await
    }

    /// Holds up every write of an event until the guard is dropped.
    pub async fn lock_events(&self) -> Box<dyn std::any::Any + Send> {
        self.tamper.lock_events().await
    }

    /// [`TestApp::tamper_event_body`] as an owned handle, for browser test bodies,
    /// which cannot borrow the app.
    pub fn tamperer(&self) -> Tamperer {
        Tamperer { tamper: self.tamper.clone(), account: self.account_id() }
    }

    pub async fn admin_send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(&self.firm.admin_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// An event `days` days old, related to the given case and client.
pub fn old_event(days: i64, description: &str, case: Option<&str>, client: Option<&str>) -> Value {
    let mut related = Vec::new();
    if let Some(c) = case {
        related.push(serde_json::json!({"type": "case", "id": c, "name": format!("Case {c}")}));
    }
    if let Some(c) = client {
        related.push(serde_json::json!({"type": "client", "id": c, "name": format!("Client {c}")}));
    }
    serde_json::json!({
        "actor": {"id": "u_1", "name": "Jane Doe"},
        "activity": "case.updated",
        "description": description,
        "occurred_at": ago(days * 86_400),
        "related": related,
    })
}
