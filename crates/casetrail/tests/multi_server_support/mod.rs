//! Starting several `casetrail serve` processes on one fresh PostgreSQL schema, with
//! one signing key file, and talking to them. Each test uses a part of it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casetrail_store::{AccountId, AppendBatch, EventStore};
use casetrail_store_postgres::PostgresStore;
use serde_json::{Value, json};

use crate::cli_support::{casetrail, postgres_server_url};

/// What `casetrail account create --json` answered.
#[derive(Debug, Clone)]
pub struct Firm {
    pub account: AccountId,
    pub admin_email: String,
    pub admin_password: String,
    pub ingest_key: String,
    pub admin_key: String,
}

/// One `casetrail serve` process.
#[derive(Debug)]
pub struct Server {
    pub url: String,
    child: Option<Child>,
}

impl Server {
    /// SIGKILL: no shutdown, no flush, as a machine that loses power.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill the server");
            child.wait().expect("reap the server");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Several servers on one database, and a store handle of the test's own on it.
pub struct Cluster {
    pub servers: Vec<Server>,
    pub store: Arc<PostgresStore>,
    pub firm: Firm,
    pub key_id: String,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// `n` servers on a fresh schema of the tests' PostgreSQL server.
    pub async fn start(n: usize) -> Cluster {
        Cluster::start_on(&postgres_server_url(), n).await
    }

    /// `n` servers on a fresh schema of the PostgreSQL server at `server_url`.
    pub async fn start_on(server_url: &str, n: usize) -> Cluster {
        let store = Arc::new(PostgresStore::open_temporary(server_url).await.expect("a fresh schema"));
        let database_url = store.url().to_string();
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("signing-key.pem");
        let generated = casetrail(dir.path()).args(["keys", "generate", "--output"]).arg(&key_file).output().unwrap();
        assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
        let key_id = String::from_utf8_lossy(&generated.stdout)
            .split_whitespace()
            .last()
            .expect("keys generate prints the key id")
            .to_string();

        let created = casetrail(dir.path())
            .args(["account", "create", "--database-url", &database_url, "--name", "Many Servers LLP"])
            .args(["--admin-email", "admin@many.example", "--json"])
            .output()
            .unwrap();
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let answer: Value = serde_json::from_slice(&created.stdout).unwrap();
        let text = |k: &str| answer[k].as_str().unwrap().to_string();
        let firm = Firm {
            account: text("account_id").parse().unwrap(),
            admin_email: text("admin_email"),
            admin_password: text("admin_password"),
            ingest_key: text("ingest_key"),
            admin_key: text("admin_key"),
        };

        let servers = (0..n).map(|i| spawn_server(dir.path(), i, &database_url, &key_file)).collect();
        Cluster { servers, store, firm, key_id, _dir: dir }
    }

    pub async fn admin_get(&self, server: &Server, path: &str) -> Value {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", server.url))
            .bearer_auth(&self.firm.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path} on {}", server.url);
        response.json().await.unwrap()
    }

    pub async fn head_seq(&self) -> u64 {
        self.store.head(self.firm.account).await.unwrap().map_or(0, |h| h.seq)
    }

    /// Appends `n` events dated 200 days ago straight into the store (the API refuses
    /// events older than the retention window); answers their seqs.
    pub async fn append_old_events(&self, n: usize) -> BTreeSet<u64> {
        use casetrail_core::validate::{IngestRules, parse_ingest};
        let rules = IngestRules { now: casetrail_core::Timestamp::now(), window_start: None, allow_reserved: false };
        let when = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - 200 * 86_400).unwrap().to_string();
        let mut seqs = BTreeSet::new();
        for chunk in 0..n.div_ceil(1000) {
            let events: Vec<Value> = (0..1000.min(n - chunk * 1000))
                .map(|i| {
                    json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated",
                                "description": format!("old event {chunk}-{i}"), "occurred_at": when})
                })
                .collect();
            let events = parse_ingest(&json!({ "events": events }), &rules).unwrap();
            let answer = self.store.append(vec![AppendBatch { account_id: self.firm.account, events }]).await.unwrap();
            seqs.extend(answer[0].iter().map(|a| a.seq));
        }
        seqs
    }
}

/// Starts `casetrail serve` on a free port and waits until it says where it listens.
fn spawn_server(dir: &Path, i: usize, database_url: &str, key_file: &Path) -> Server {
    let mut serve = casetrail(dir);
    serve
        .args(["serve", "--database-url", database_url, "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.join(format!("server-{i}")))
        .env("CASETRAIL_SIGNING_KEY_FILE", key_file);
    Server::spawn(serve)
}

impl Server {
    /// Runs `serve` (a `casetrail serve` command with its database and `--listen`
    /// already given) with JSON logs, and waits until it says where it listens.
    pub fn spawn(mut serve: Command) -> Server {
        let mut child = serve
            .env("CASETRAIL_LOG_FORMAT", "json")
            .env("CASETRAIL_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start casetrail serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the log to its end (so the pipe never fills), passing on the address.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && entry["fields"]["message"] == "casetrail is serving"
                {
                    let _ = tx.send(entry["fields"]["addr"].as_str().unwrap_or_default().to_string());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("casetrail serve said where it listens within 60 s");
        Server { url: format!("http://{addr}"), child: Some(child) }
    }
}

pub fn event(description: &str) -> Value {
    json!({"actor": {"id": "u1", "name": "Jane Doe"}, "activity": "case.updated", "description": description,
           "related": [{"type": "case", "id": "c_1", "name": "Smith v. Jones"}]})
}

/// [`event`] with an idempotency key.
pub fn keyed_event(description: &str, key: &str) -> Value {
    let mut e = event(description);
    e["idempotency_key"] = json!(key);
    e
}

/// Posts events and answers the `events` of the 200/201 answer.
pub async fn ingest(http: &reqwest::Client, url: &str, key: &str, body: Value) -> Vec<Value> {
    let response = http.post(format!("{url}/api/v1/events")).bearer_auth(key).json(&body).send().await.unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert!(status == 201 || status == 200, "ingest answered {status}: {answer}");
    answer["events"].as_array().unwrap().clone()
}

/// A client signed in through the login form of the server at `url`.
pub async fn sign_in(url: &str, email: &str, password: &str) -> reqwest::Client {
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(format!("{url}/login")).send().await.unwrap().text().await.unwrap();
    let at = form.find("name=\"csrf\"").expect("the login form carries a csrf token");
    let value = &form[at..][form[at..].find("value=\"").unwrap() + 7..];
    let csrf = value[..value.find('"').unwrap()].to_string();
    let response = client
        .post(format!("{url}/login"))
        .form(&[("email", email), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "sign-in redirects");
    client
}
