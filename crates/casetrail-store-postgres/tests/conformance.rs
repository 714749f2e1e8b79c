//! The store conformance suite, run against PostgreSQL.

mod support;

use std::sync::Arc;

use casetrail_store::testing::TestBackend;
use casetrail_store_postgres::PostgresStore;

/// Each test gets a schema of its own on the test server; a second handle connects to
/// that schema with its own pool, as a second server would.
struct Postgres;

impl TestBackend for Postgres {
    type Store = PostgresStore;

    async fn fresh(&self) -> Arc<PostgresStore> {
        Arc::new(support::fresh().await)
    }

    async fn reopen(&self, store: &PostgresStore) -> Arc<PostgresStore> {
        Arc::new(support::reopen(store).await)
    }
}

casetrail_store::store_conformance!(Postgres);
