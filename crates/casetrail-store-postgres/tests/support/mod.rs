//! What the PostgreSQL tests share: the server they run on, fresh stores, and plain
//! connections to the server beside the store's own.

#![allow(dead_code)]

use std::time::Duration;

use casetrail_store_postgres::PostgresStore;

/// The server the tests use: `CASETRAIL_TEST_POSTGRES_URL`, else the local one.
pub fn server_url() -> String {
    std::env::var("CASETRAIL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// `url` (in URL form) with one more query parameter.
pub fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
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

/// A connection of the test's own to `url`, without TLS.
pub async fn plain_client(url: &str) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config = url.parse().expect("a test URL parses");
    config.ssl_mode(tokio_postgres::config::SslMode::Disable);
    config.connect_timeout(Duration::from_secs(10));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect to the test server");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A new, empty schema on the test server, dropped when the guard is.
pub struct BareSchema {
    pub name: String,
}

impl BareSchema {
    pub async fn create() -> BareSchema {
        let name = format!("casetrail_t_{}", uuid::Uuid::now_v7().simple());
        plain_client(&server_url()).await.batch_execute(&format!("CREATE SCHEMA {name}")).await.expect("create schema");
        BareSchema { name }
    }

    /// A URL whose connections work in this schema.
    pub fn url(&self) -> String {
        with_param(&server_url(), &format!("options=-c%20search_path%3D{}", self.name))
    }

    pub async fn drop_now(self) {
        let sql = format!("DROP SCHEMA {} CASCADE", self.name);
        plain_client(&server_url()).await.batch_execute(&sql).await.expect("drop schema");
    }
}
