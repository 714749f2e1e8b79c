//! What the PostgreSQL tests share: the server they run on.

use casetrail_store_postgres::PostgresStore;

/// The server the tests use: `CASETRAIL_TEST_POSTGRES_URL`, else the local one.
pub fn server_url() -> String {
    std::env::var("CASETRAIL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh store in a schema of its own.
pub async fn fresh() -> PostgresStore {
    match PostgresStore::open_temporary(&server_url()).await {
        Ok(store) => store,
        Err(err) => panic!("open a temporary PostgreSQL store: {err} ({err:?})"),
    }
}

/// A second, independent handle (its own pool) on the schema of `store`.
pub async fn reopen(store: &PostgresStore) -> PostgresStore {
    match PostgresStore::connect(store.url()).await {
        Ok(store) => store,
        Err(err) => panic!("open a second handle on the same schema: {err} ({err:?})"),
    }
}
