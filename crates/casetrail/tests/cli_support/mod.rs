//! What the command-line tests share: a working directory and a fresh database of the
//! backend `CASETRAIL_TEST_DATABASE_URL` picks, the `casetrail` command pointed at it,
//! the store to seed and read it through, and plain SQL on it for what no store call
//! does (editing rows behind casetrail's back, counting rows mid-purge).
//!
//! Unset (or `sqlite`): the default SQLite file of the data dir `data`, which the
//! commands create. A `postgres://` URL names a server: each test gets a schema of its
//! own there (dropped when the test ends), and every command gets `--database-url` of
//! it besides `--data-dir data`, which still holds the signing keys.
#![allow(dead_code)]

pub mod tmpfs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_store::{AccountId, AppendBatch, Store};
use casetrail_store_postgres::PostgresStore;
use casetrail_store_sqlite::SqliteStore;
use serde_json::Value;

/// The variable that picks the backend, as for the server's tests.
pub const DATABASE_URL_VAR: &str = "CASETRAIL_TEST_DATABASE_URL";

/// The data dir every test passes, relative to its working directory.
pub const DATA_DIR: &str = "data";

/// The `casetrail` binary run in `dir`, with none of the settings the environment
/// could slip in; it names no database.
pub fn casetrail(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("casetrail"));
    cmd.env_remove("CASETRAIL_CONFIG")
        .env_remove("CASETRAIL_DATABASE_URL")
        .env_remove("CASETRAIL_SIGNING_KEY_FILE")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

/// The PostgreSQL server for tests that need one whatever the backend: the test
/// backend's when it is PostgreSQL, else `CASETRAIL_TEST_POSTGRES_URL`, else the local
/// one (as the store's own PostgreSQL suite).
pub fn postgres_server_url() -> String {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if is_postgres(url.trim()) => url.trim().to_string(),
        _ => std::env::var("CASETRAIL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// One test's working directory and database.
pub struct TestDb {
    /// Before the runtime: the store's connections close on it, then its schema goes.
    backend: Backend,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

enum Backend {
    /// The data dir's own file, made by the first command.
    Sqlite,
    Postgres(PostgresStore),
}

impl TestDb {
    /// A fresh directory and database of the backend `CASETRAIL_TEST_DATABASE_URL` names.
    pub fn new() -> TestDb {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = std::env::var(DATABASE_URL_VAR).unwrap_or_default();
        let backend = match url.trim() {
            "" | "sqlite" => Backend::Sqlite,
            pg if is_postgres(pg) => Backend::Postgres(
                runtime.block_on(PostgresStore::open_temporary(pg)).expect("a temporary PostgreSQL schema"),
            ),
            other => {
                // The scheme only: a database URL may carry a password.
                let scheme = other.split_once("://").map_or(other, |(scheme, _)| scheme);
                panic!("{DATABASE_URL_VAR} names a `{scheme}` backend; the CLI tests run on sqlite or postgres://")
            }
        };
        TestDb { backend, runtime, dir }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite file, when the backend is SQLite: for what only SQLite does (a file
    /// created owner-only in the data dir).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match self.backend {
            Backend::Sqlite => Some(self.dir.path().join(DATA_DIR).join("casetrail.db")),
            Backend::Postgres(_) => None,
        }
    }

    /// A URL of this database for `--database-url` or `CASETRAIL_DATABASE_URL`: the
    /// data dir's file by its absolute path, or the test schema.
    pub fn url(&self) -> String {
        match &self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.dir.path().join(DATA_DIR).join("casetrail.db").display()),
            Backend::Postgres(store) => store.url().to_string(),
        }
    }

    /// `casetrail <name…> --data-dir data [--database-url <schema>]`; the caller adds
    /// the command's own flags.
    pub fn cmd(&self, name: &[&str]) -> Command {
        let mut cmd = casetrail(self.dir.path());
        cmd.args(name).args(["--data-dir", DATA_DIR]);
        if let Backend::Postgres(store) = &self.backend {
            cmd.args(["--database-url", store.url()]);
        }
        cmd
    }

    /// Runs [`TestDb::cmd`] with `args` after the name.
    pub fn run(&self, name: &[&str], args: &[&str]) -> Output {
        self.cmd(name).args(args).output().unwrap()
    }

    /// `account create --json`, which must succeed with one JSON object on stdout.
    pub fn create_account(&self, name: &str, email: &str) -> Value {
        let out = self.run(&["account", "create"], &["--name", name, "--admin-email", email, "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.trim_end().lines().count(), 1, "exactly one JSON object: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// [`TestDb::create_account`]'s account id.
    pub fn create_account_id(&self, name: &str, email: &str) -> String {
        self.create_account(name, email)["account_id"].as_str().unwrap().to_string()
    }

    /// The store on this database, as the commands open it (on SQLite, once a command
    /// has created the file).
    pub fn store(&self) -> Arc<dyn Store> {
        match &self.backend {
            Backend::Sqlite => Arc::new(SqliteStore::open(self.sqlite_file().unwrap()).unwrap()),
            Backend::Postgres(store) => Arc::new(store.clone()),
        }
    }

    /// Runs a store call (or any future) to its end.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Runs `future` on the test's runtime in the background (clients that talk to a
    /// server while the test watches the database).
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(future)
    }

    /// Appends `events` (ingest JSON objects) to `account`'s log through the store, in
    /// one batch, as the server would.
    pub fn append(&self, account: &str, events: Vec<Value>) {
        self.append_batches(account, vec![events]);
    }

    /// Appends each of `batches` (up to 1000 ingest JSON objects each) in a batch of
    /// its own, through one store.
    pub fn append_batches(&self, account: &str, batches: Vec<Vec<Value>>) {
        let rules = IngestRules { now: casetrail_core::Timestamp::now(), window_start: None, allow_reserved: false };
        let account: AccountId = account.parse().unwrap();
        let store = self.store();
        for events in batches {
            let events = parse_ingest(&serde_json::json!({ "events": events }), &rules).unwrap();
            self.block_on(store.append(vec![AppendBatch { account_id: account, events }])).unwrap();
        }
    }

    /// A connection of the test's own to the database, outside casetrail, as someone
    /// with access to it would have.
    pub fn sql(&self) -> Sql<'_> {
        match &self.backend {
            Backend::Sqlite => {
                let db = rusqlite::Connection::open(self.sqlite_file().unwrap()).unwrap();
                // A command may hold the write lock while the test looks.
                db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                Sql::Sqlite(db)
            }
            Backend::Postgres(store) => {
                let client = self.block_on(async {
                    let (client, connection) =
                        tokio_postgres::connect(store.url(), tokio_postgres::NoTls).await.expect("the test database");
                    tokio::spawn(connection);
                    client
                });
                Sql::Postgres(client, &self.runtime)
            }
        }
    }
}

/// Plain SQL on the test database. The tables and columns the tests touch (`events`,
/// `purge_runs`) have the same names and meaning on both backends, so each statement
/// is written once, in the SQL both accept.
pub enum Sql<'a> {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client, &'a tokio::runtime::Runtime),
}

impl Sql<'_> {
    /// Runs a statement; answers how many rows it changed.
    pub fn execute(&self, sql: &str) -> u64 {
        match self {
            Sql::Sqlite(db) => db.execute(sql, []).unwrap() as u64,
            Sql::Postgres(client, runtime) => runtime.block_on(client.execute(sql, &[])).unwrap(),
        }
    }

    /// The integer a one-row, one-column query answers (`count(*)`, or a sum cast to
    /// BIGINT, which PostgreSQL would otherwise answer as NUMERIC).
    pub fn number(&self, sql: &str) -> i64 {
        match self {
            Sql::Sqlite(db) => db.query_row(sql, [], |r| r.get(0)).unwrap(),
            Sql::Postgres(client, runtime) => runtime.block_on(client.query_one(sql, &[])).unwrap().get(0),
        }
    }

    /// The text column of each row a query answers.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        match self {
            Sql::Sqlite(db) => {
                let mut st = db.prepare(sql).unwrap();
                st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
            }
            Sql::Postgres(client, runtime) => {
                runtime.block_on(client.query(sql, &[])).unwrap().iter().map(|row| row.get(0)).collect()
            }
        }
    }
}
