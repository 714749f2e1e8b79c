//! One `casetrail serve` on the test database of `cli_support` (SQLite, or a
//! PostgreSQL schema when `CASETRAIL_TEST_DATABASE_URL` says so) that a test kills
//! with SIGKILL and starts again on the same store and the same address, so clients
//! simply retry where they were; and the seeded randomness that picks the moments.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use std::sync::Mutex;

use casetrail_store::AccountId;
use serde_json::{Value, json};

use crate::cli_support::TestDb;
use crate::multi_server_support::Server;

/// A restartable server, its database and one firm's credentials.
pub struct Service {
    /// Before `db`: the server goes before its database does. Behind a lock so that
    /// a test may kill and restart it while it reads the database through `db`.
    server: Mutex<Server>,
    pub db: TestDb,
    pub account: AccountId,
    pub ingest_key: String,
    pub admin_key: String,
    /// `127.0.0.1:PORT`, the address every start listens on.
    listen: String,
}

impl Service {
    /// A fresh database with one firm, and a server on it on a free port.
    pub fn start() -> Service {
        let db = TestDb::new();
        let firm = db.create_account("Crash Test LLP", "admin@crash.example");
        let text = |k: &str| firm[k].as_str().unwrap().to_string();
        let server = serve(&db, "127.0.0.1:0");
        let listen = server.url.trim_start_matches("http://").to_string();
        Service {
            server: Mutex::new(server),
            account: text("account_id").parse().unwrap(),
            ingest_key: text("ingest_key"),
            admin_key: text("admin_key"),
            listen,
            db,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// SIGKILL: no shutdown, no flush, as a machine that loses power.
    pub fn kill(&self) {
        self.server.lock().unwrap().kill();
    }

    /// Starts the server again on the same store and address (a listening socket is
    /// free again as soon as its process is gone).
    pub fn restart(&self) {
        let server = serve(&self.db, &self.listen);
        assert_eq!(server.url, self.url(), "the server came back on its old address");
        *self.server.lock().unwrap() = server;
    }

    /// GET `path` with the admin key; it must answer 200.
    pub fn admin_get(&self, path: &str) -> Value {
        let (status, body) = self.db.block_on(admin_get(&self.url(), &self.admin_key, path));
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The chain head as the store holds it.
    pub fn head_seq(&self) -> u64 {
        let store = self.db.store();
        self.db.block_on(store.head(self.account)).unwrap().map_or(0, |h| h.seq)
    }

    /// The whole chain as the store holds it, oldest first.
    pub fn chain(&self) -> Vec<casetrail_core::ChainedEvent> {
        let store = self.db.store();
        self.db.block_on(store.chain(self.account, 0, u32::MAX)).unwrap()
    }

    /// Both checks of the whole chain agree that it is intact up to `head`: the
    /// server's `GET /api/v1/integrity` and `casetrail verify` from outside.
    pub fn assert_chain_verifies(&self, head: u64) {
        let report = self.admin_get("/api/v1/integrity");
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["problems"], json!([]), "{report}");
        assert_eq!(report["last_seq"], head, "{report}");
        let out = self.db.run(&["verify"], &[]);
        assert_eq!(out.status.code(), Some(0), "verify: {}{}", out_text(&out.stdout), out_text(&out.stderr));
    }
}

fn out_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn serve(db: &TestDb, listen: &str) -> Server {
    let mut cmd = db.cmd(&["serve"]);
    cmd.args(["--listen", listen]);
    // The stream crash test's receiver listens on 127.0.0.1.
    cmd.env("CASETRAIL_ALLOW_PRIVATE_STREAM_DESTINATIONS", "true");
    Server::spawn(cmd)
}

/// GET `url``path` with `key`: the status and the JSON body.
pub async fn admin_get(url: &str, key: &str, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new().get(format!("{url}{path}")).bearer_auth(key).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Posts `body` to the ingest endpoint once. `None` when no answer came (the
/// connection was refused or cut, or the client gave up waiting): the events may or
/// may not be stored.
pub async fn try_ingest(http: &reqwest::Client, url: &str, key: &str, body: &Value) -> Option<(u16, Value)> {
    let response = http.post(format!("{url}/api/v1/events")).bearer_auth(key).json(body).send().await.ok()?;
    let status = response.status().as_u16();
    // A server killed between the status line and the body leaves no answer either.
    let answer = response.json::<Value>().await.ok()?;
    Some((status, answer))
}

/// A small, seeded generator (xorshift64*), so that a failing run can be repeated
/// exactly: the seed is printed, and `CASETRAIL_CRASH_SEED` sets it.
pub struct Rng(u64);

impl Rng {
    pub fn seeded(test: &str) -> Rng {
        let seed = match std::env::var("CASETRAIL_CRASH_SEED") {
            Ok(text) => text.trim().parse().expect("CASETRAIL_CRASH_SEED is a whole number"),
            Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64,
        };
        eprintln!("{test}: seed {seed} (CASETRAIL_CRASH_SEED={seed} repeats this run)");
        // The state must not be zero, or it stays zero.
        Rng(seed | 1)
    }

    /// A number in `range` (`start..end`, end excluded).
    pub fn within(&mut self, range: std::ops::Range<u64>) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let next = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        range.start + next % (range.end - range.start)
    }
}

/// Waits until `done` holds, checking every few milliseconds; panics with `what`
/// after `within`.
pub fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
