//! The storage backend every server test runs on, chosen by
//! `CASETRAIL_TEST_DATABASE_URL`, and the one backend-specific thing tests may do:
//! alter a stored event behind the store's back.
//!
//! A new backend is one more arm in [`open_test_store`] and in [`Tamper::event_body`];
//! no test names a backend.

use std::sync::Arc;

use casetrail_store::{AccountId, Store};
use casetrail_store_sqlite::SqliteStore;

/// The variable that picks the backend: unset, empty or `sqlite` for a fresh
/// temporary SQLite file per test.
pub const DATABASE_URL_VAR: &str = "CASETRAIL_TEST_DATABASE_URL";

/// A fresh, empty store for one test, and what it takes to tamper with it.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub tamper: Tamper,
}

/// Edits the stored chain directly, the way an attacker with database access would.
/// Cheap to clone and `'static`, so browser bodies can carry one.
#[derive(Clone)]
pub struct Tamper {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// Holding the store keeps its temporary file alive as long as the test's app.
    Sqlite(SqliteStore),
}

/// Opens the store `CASETRAIL_TEST_DATABASE_URL` names.
pub async fn open_test_store() -> TestStore {
    let url = std::env::var(DATABASE_URL_VAR).unwrap_or_default();
    let backend = match url.trim() {
        "" | "sqlite" => Backend::Sqlite(SqliteStore::open_temporary().expect("a temporary SQLite store")),
        other => panic!(
            "{DATABASE_URL_VAR}={other:?}: that storage backend is not built yet; \
             leave {DATABASE_URL_VAR} unset (or set it to `sqlite`) to test on a temporary SQLite file"
        ),
    };
    let store: Arc<dyn Store> = match &backend {
        Backend::Sqlite(sqlite) => Arc::new(sqlite.clone()),
    };
    TestStore { store, tamper: Tamper { backend } }
}

impl Tamper {
    /// Replaces `from` with `to` in the stored body of `account`'s event `seq`, leaving
    /// its hash as it was. Panics unless exactly that one body changed, so a test
    /// cannot pass by tampering with nothing.
    pub async fn event_body(&self, account: AccountId, seq: u64, from: &str, to: &str) {
        assert_ne!(from, to, "tampering must change something");
        match &self.backend {
            Backend::Sqlite(sqlite) => {
                let db = rusqlite::Connection::open(sqlite.path()).expect("the test store's SQLite file");
                let changed = db
                    .execute(
                        "UPDATE events SET body = replace(body, ?1, ?2)
                         WHERE seq = ?3 AND instr(body, ?1) > 0
                           AND acct = (SELECT pk FROM accounts WHERE id = ?4)",
                        rusqlite::params![from, to, seq as i64, account.as_bytes().as_slice()],
                    )
                    .expect("tampering with an event body");
                assert_eq!(changed, 1, "event {seq} of account {account} has no {from:?} in its body");
            }
        }
    }
}
