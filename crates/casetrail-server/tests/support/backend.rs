//! The storage backend every server test runs on, chosen by
//! `CASETRAIL_TEST_DATABASE_URL`, and the one backend-specific thing tests may do:
//! alter a stored event behind the store's back.
//!
//! Unset (or `sqlite`): a fresh temporary SQLite file per test. A `postgres://` URL
//! names a database for tests: each test gets a schema of its own in it, dropped when
//! the test's store goes (`scripts/test` creates a throwaway database per run and runs
//! every server test a second time on it). No test names a backend.

use std::sync::Arc;

use casetrail_store::{AccountId, Store};
use casetrail_store_postgres::PostgresStore;
use casetrail_store_sqlite::SqliteStore;

/// The variable that picks the backend: unset, empty or `sqlite` for a fresh
/// temporary SQLite file per test.
pub const DATABASE_URL_VAR: &str = "CASETRAIL_TEST_DATABASE_URL";

/// A fresh, empty store for one test, and what it takes to tamper with it.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub tamper: Tamper,
}

/// Opens the store `CASETRAIL_TEST_DATABASE_URL` names.
pub async fn open_test_store() -> TestStore {
    let url = std::env::var(DATABASE_URL_VAR).unwrap_or_default();
    match url.trim() {
        "" | "sqlite" => sqlite(),
        pg if pg.starts_with("postgres://") || pg.starts_with("postgresql://") => postgres(pg).await,
        other => {
            // The scheme only: a database URL may carry a password.
            let scheme = other.split_once("://").map_or(other, |(scheme, _)| scheme);
            panic!(
                "{DATABASE_URL_VAR} names a `{scheme}` backend, which the tests cannot run on yet; \
                 leave {DATABASE_URL_VAR} unset (or set it to `sqlite`) to test on a temporary SQLite file"
            )
        }
    }
}

/// A fresh schema in the test database; the tamper hook connects on its own, as
/// someone with access to the database would.
async fn postgres(url: &str) -> TestStore {
    let store = PostgresStore::open_temporary(url).await.expect("a temporary PostgreSQL schema");
    TestStore { store: Arc::new(store.clone()), tamper: Tamper(Arc::new(PostgresTamper(store))) }
}

struct PostgresTamper(PostgresStore);

#[async_trait::async_trait]
impl TamperWith for PostgresTamper {
    async fn event_body(&self, account: AccountId, seq: u64, from: &str, to: &str) -> usize {
        let (client, connection) =
            tokio_postgres::connect(self.0.url(), tokio_postgres::NoTls).await.expect("the test database");
        tokio::spawn(connection);
        let changed = client
            .execute(
                "UPDATE events SET body = replace(body, $1, $2)
                 WHERE seq = $3 AND strpos(body, $1) > 0 AND acct = (SELECT pk FROM accounts WHERE id = $4)",
                &[&from, &to, &(seq as i64), &uuid::Uuid::from(account)],
            )
            .await
            .expect("tampering with an event body");
        changed as usize
    }

    async fn forget_tree(&self, account: AccountId) {
        let (client, connection) =
            tokio_postgres::connect(self.0.url(), tokio_postgres::NoTls).await.expect("the test database");
        tokio::spawn(connection);
        let sql = "DELETE FROM merkle_nodes WHERE acct = (SELECT pk FROM accounts WHERE id = $1)";
        let gone = client.execute(sql, &[&uuid::Uuid::from(account)]).await.expect("deleting the tree");
        assert!(gone > 0, "the account had a tree to forget");
    }

    async fn lock_events(&self) -> Box<dyn std::any::Any + Send> {
        let (client, connection) =
            tokio_postgres::connect(self.0.url(), tokio_postgres::NoTls).await.expect("the test database");
        tokio::spawn(connection);
        // Held until the client is dropped, which ends its session and the lock.
        // EXCLUSIVE: reads go on, every write of an event waits.
        client.batch_execute("BEGIN; LOCK TABLE events IN EXCLUSIVE MODE").await.expect("locking events");
        Box::new(client)
    }

    async fn stored_anywhere(&self, needle: &str) -> bool {
        let (client, connection) =
            tokio_postgres::connect(self.0.url(), tokio_postgres::NoTls).await.expect("the test database");
        tokio::spawn(connection);
        let tables = client
            .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()", &[])
            .await
            .expect("listing the schema's tables");
        assert!(tables.len() > 5, "the schema's tables were found");
        for table in tables {
            let name: String = table.get(0);
            let sql = format!("SELECT count(*) FROM \"{name}\" t WHERE strpos(t::text, $1) > 0");
            let found: i64 = client.query_one(&sql, &[&needle]).await.expect("scanning a table").get(0);
            if found > 0 {
                return true;
            }
        }
        false
    }
}

/// Edits a backend's stored chain directly, the way someone with access to the
/// database could.
#[async_trait::async_trait]
pub trait TamperWith: Send + Sync {
    /// Replaces `from` with `to` in the stored body of `account`'s event `seq`,
    /// leaving its hash as it was; returns how many rows changed.
    async fn event_body(&self, account: AccountId, seq: u64, from: &str, to: &str) -> usize;

    /// Deletes `account`'s Merkle tree: what a store migrated from before the tree
    /// holds for an account that had purged two events in a row (their leaves are
    /// lost, so the tree could not be rebuilt).
    async fn forget_tree(&self, account: AccountId);

    /// Holds up every write of an event, as a long migration or a stuck session
    /// would, until the returned guard is dropped; reads go on.
    async fn lock_events(&self) -> Box<dyn std::any::Any + Send>;

    /// Whether `needle` occurs anywhere in what the database keeps: every byte of the
    /// SQLite file and its WAL, or the text of every row of every table of the
    /// PostgreSQL schema.
    async fn stored_anywhere(&self, needle: &str) -> bool;
}

/// A backend's [`TamperWith`], cheap to clone and `'static`, so browser test bodies
/// can carry one.
#[derive(Clone)]
pub struct Tamper(Arc<dyn TamperWith>);

impl Tamper {
    /// [`TamperWith::event_body`], panicking unless exactly that one body changed, so
    /// a test cannot pass by tampering with nothing.
    pub async fn event_body(&self, account: AccountId, seq: u64, from: &str, to: &str) {
        assert_ne!(from, to, "tampering must change something");
        let changed = self.0.event_body(account, seq, from, to).await;
        assert_eq!(changed, 1, "event {seq} of account {account} has no {from:?} in its body");
    }

    /// [`TamperWith::forget_tree`].
    pub async fn forget_tree(&self, account: AccountId) {
        self.0.forget_tree(account).await
    }

    /// [`TamperWith::lock_events`].
    pub async fn lock_events(&self) -> Box<dyn std::any::Any + Send> {
        self.0.lock_events().await
    }

    /// [`TamperWith::stored_anywhere`].
    pub async fn stored_anywhere(&self, needle: &str) -> bool {
        self.0.stored_anywhere(needle).await
    }
}

/// A temporary SQLite file, removed when the last clone of the store goes (the
/// tamper handle holds one, so the file lives as long as the test's app).
fn sqlite() -> TestStore {
    let sqlite = SqliteStore::open_temporary().expect("a temporary SQLite store");
    TestStore { store: Arc::new(sqlite.clone()), tamper: Tamper(Arc::new(SqliteTamper(sqlite))) }
}

struct SqliteTamper(SqliteStore);

#[async_trait::async_trait]
impl TamperWith for SqliteTamper {
    async fn event_body(&self, account: AccountId, seq: u64, from: &str, to: &str) -> usize {
        let db = rusqlite::Connection::open(self.0.path()).expect("the test store's SQLite file");
        db.execute(
            "UPDATE events SET body = replace(body, ?1, ?2)
             WHERE seq = ?3 AND instr(body, ?1) > 0 AND acct = (SELECT pk FROM accounts WHERE id = ?4)",
            rusqlite::params![from, to, seq as i64, account.as_bytes().as_slice()],
        )
        .expect("tampering with an event body")
    }

    async fn forget_tree(&self, account: AccountId) {
        let db = rusqlite::Connection::open(self.0.path()).expect("the test store's SQLite file");
        let sql = "DELETE FROM merkle_nodes WHERE acct = (SELECT pk FROM accounts WHERE id = ?1)";
        let gone = db.execute(sql, [account.as_bytes().as_slice()]).expect("deleting the tree");
        assert!(gone > 0, "the account had a tree to forget");
    }

    async fn lock_events(&self) -> Box<dyn std::any::Any + Send> {
        let db = rusqlite::Connection::open(self.0.path()).expect("the test store's SQLite file");
        // The one write lock, held: readers go on (WAL), the writer waits.
        db.execute_batch("BEGIN IMMEDIATE").expect("locking the database");
        Box::new(db)
    }

    async fn stored_anywhere(&self, needle: &str) -> bool {
        let mut files = vec![self.0.path().to_path_buf()];
        for suffix in ["-wal", "-journal"] {
            let mut name = self.0.path().as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        let needle = needle.as_bytes();
        files.iter().filter_map(|f| std::fs::read(f).ok()).any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
    }
}
