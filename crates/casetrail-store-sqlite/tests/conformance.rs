//! The store conformance suite, run against SQLite.

use std::sync::Arc;

use casetrail_store::testing::TestBackend;
use casetrail_store_sqlite::SqliteStore;

/// Each test gets a file in a temporary directory of its own; a second handle opens
/// the same file with its own writer and readers, as a second process would.
struct Sqlite;

impl TestBackend for Sqlite {
    type Store = SqliteStore;

    async fn fresh(&self) -> Arc<SqliteStore> {
        Arc::new(SqliteStore::open_temporary().expect("open a temporary SQLite store"))
    }

    async fn reopen(&self, store: &SqliteStore) -> Arc<SqliteStore> {
        Arc::new(SqliteStore::open(store.path()).expect("open a second handle on the same file"))
    }
}

casetrail_store::store_conformance!(Sqlite);
