//! Test stores: each in a schema of its own (`casetrail_t_<uuid>`) of the database a
//! server URL names, reached through `search_path`, and dropped with the store's
//! last clone. Tests running at once on one server never see each other's rows, and
//! a second handle on the same schema is one `connect(store.url())` away.

use std::sync::Arc;
use std::time::Duration;

use casetrail_store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::connect::Target;
use crate::{Inner, PostgresStore};

/// Schemas of test stores that were never dropped (a killed test) go once they are
/// this old; the uuid v7 in their name says when they were made.
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

impl PostgresStore {
    /// A fresh store in a new schema of the database `server_url` names; the schema
    /// is dropped (best effort) when the last clone of the store is dropped.
    pub async fn open_temporary(server_url: &str) -> StoreResult<PostgresStore> {
        let server = Target::new(server_url);
        let schema = format!("casetrail_t_{}", Uuid::now_v7().simple());
        let client = plain_client(&server).await?;
        drop_stale_schemas(&client).await;
        client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.map_err(|e| server_error(&server, e))?;
        drop(client);
        let guard = TemporarySchema { server_url: server_url.to_string(), schema: schema.clone() };
        // On failure the guard, dropped here, removes the schema again.
        let store = PostgresStore::connect(&with_search_path(server_url, &schema)).await?;
        let inner =
            Arc::into_inner(store.inner).ok_or_else(|| StoreError::Corrupt("store shared while opening".into()))?;
        Ok(PostgresStore { inner: Arc::new(Inner { _schema: Some(guard), ..inner }) })
    }

    /// A URL that reaches this store's database and schema, for a second handle
    /// (`PostgresStore::connect(store.url())`) or a child process. A store opened with
    /// it does not drop the schema.
    pub fn url(&self) -> &str {
        &self.inner.target.url
    }
}

fn server_error(server: &Target, e: tokio_postgres::Error) -> StoreError {
    StoreError::backend(server.error("could not prepare a test schema", e))
}

/// One connection of its own to the server, outside any pool.
async fn plain_client(server: &Target) -> StoreResult<tokio_postgres::Client> {
    let mut config: tokio_postgres::Config = server.url.parse().map_err(|e| server_error(server, e))?;
    config.connect_timeout(Duration::from_secs(10));
    let tls = crate::tls::connector(config.get_ssl_mode())
        .map_err(|e| StoreError::backend(server.error("TLS could not be set up", e)))?;
    let (client, connection) = config.connect(tls).await.map_err(|e| server_error(server, e))?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; its error, if any, shows in
        // the client's calls.
        let _ = connection.await;
    });
    Ok(client)
}

/// `url` with `search_path` set to `schema` on every connection opened through it.
fn with_search_path(url: &str, schema: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-c%20search_path%3D{schema}")
    } else {
        format!("{url} options='-c search_path={schema}'")
    }
}

/// Drops the test schemas left behind by tests killed before they could.
async fn drop_stale_schemas(client: &tokio_postgres::Client) {
    let Ok(rows) =
        client.query("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'casetrail\\_t\\_%'", &[]).await
    else {
        return;
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    for row in rows {
        let name: String = row.get(0);
        let made =
            name.strip_prefix("casetrail_t_").and_then(|id| Uuid::parse_str(id).ok()).and_then(|id| id.get_timestamp());
        let Some((secs, _)) = made.map(|t| t.to_unix()) else { continue };
        if now.saturating_sub(Duration::from_secs(secs)) > STALE_AFTER {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await;
        }
    }
}

/// The schema of a test store; dropping it drops the schema.
pub(crate) struct TemporarySchema {
    server_url: String,
    schema: String,
}

impl Drop for TemporarySchema {
    /// Drops the schema from a plain thread with its own runtime and connection, and
    /// waits for it (at most a few seconds) so that a test process does not exit
    /// first; on a multi-threaded runtime the wait moves this worker's tasks elsewhere.
    fn drop(&mut self) {
        let server = Target::new(&self.server_url);
        let schema = self.schema.clone();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let spawned = std::thread::Builder::new().name("casetrail-drop-schema".into()).spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                runtime.block_on(async {
                    let sql = format!("SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {schema} CASCADE");
                    for attempt in 1..=3 {
                        let dropped = match plain_client(&server).await {
                            Ok(client) => client.batch_execute(&sql).await.map_err(|e| server_error(&server, e)),
                            Err(err) => Err(err),
                        };
                        match dropped {
                            Ok(()) => break,
                            // Test-only code: said where a test shows it, as no log may be set up.
                            Err(err) => eprintln!("could not drop test schema {schema} (attempt {attempt}): {err:?}"),
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                });
            }
            let _ = done.send(());
        });
        if spawned.is_err() {
            return;
        }
        let wait = || {
            let _ = finished.recv_timeout(Duration::from_secs(25));
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }
}
