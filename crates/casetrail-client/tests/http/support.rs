//! A real casetrail server on `127.0.0.1:0` per test, in this process, over a fresh
//! store of the backend `CASETRAIL_TEST_DATABASE_URL` picks (unset or `sqlite`: a
//! temporary SQLite file; `postgres://…`: a schema of its own, dropped at the end).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use casetrail_app::provision::{Provisioned, create_account};
use casetrail_server::ServerConfig;
use casetrail_store::Store;
use serde_json::Value;
use tokio::sync::oneshot;

pub const DATABASE_URL_VAR: &str = "CASETRAIL_TEST_DATABASE_URL";

/// A fresh, empty store of the backend the environment names.
pub async fn open_store() -> Arc<dyn Store> {
    let url = std::env::var(DATABASE_URL_VAR).unwrap_or_default();
    match url.trim() {
        "" | "sqlite" => {
            Arc::new(casetrail_store_sqlite::SqliteStore::open_temporary().expect("a temporary SQLite store"))
        }
        pg if pg.starts_with("postgres://") || pg.starts_with("postgresql://") => Arc::new(
            casetrail_store_postgres::PostgresStore::open_temporary(pg).await.expect("a temporary PostgreSQL schema"),
        ),
        other => panic!(
            "{DATABASE_URL_VAR} must be unset, `sqlite` or a postgres:// URL, not {:?}",
            other.split_once("://").map_or(other, |(scheme, _)| scheme)
        ),
    }
}

/// One server over one store, serving one firm.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub store: Arc<dyn Store>,
    pub firm: Provisioned,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let store = open_store().await;
        let firm =
            create_account(store.as_ref(), "Smith & Jones LLP", "admin@smithjones.example", "Ada Admin").await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        TestServer::serve(listener, store, firm)
    }

    fn serve(listener: tokio::net::TcpListener, store: Arc<dyn Store>, firm: Provisioned) -> TestServer {
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(casetrail_server::serve(listener, store.clone(), ServerConfig::default(), async {
            let _ = stopped.await;
        }));
        TestServer { addr, base: format!("http://{addr}"), store, firm, stop: Some(stop), task: Some(task) }
    }

    /// Stops the server gracefully and waits until it is gone (the store stays).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Serves the same store again on the same address.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("the same port again");
        *self = TestServer::serve(listener, self.store.clone(), self.firm.clone());
    }

    /// Every event of the log, in seq order, as the API shows it.
    pub async fn events(&self) -> Vec<Value> {
        let http = reqwest::Client::new();
        let mut out = Vec::new();
        loop {
            let url = format!("{}/api/v1/events/feed?limit=1000&after_seq={}", self.base, out.len());
            let page: Value =
                http.get(url).bearer_auth(&self.firm.admin_key).send().await.unwrap().json().await.unwrap();
            let events = page["events"].as_array().unwrap();
            if events.is_empty() {
                return out;
            }
            out.extend(events.iter().cloned());
        }
    }

    /// A request with the admin key, answering status and body.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request =
            reqwest::Client::new().request(method, format!("{}{path}", self.base)).bearer_auth(&self.firm.admin_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Polls `check` until it answers `Some`, at most `within`.
pub async fn eventually<T>(within: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if started.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
