//! The PostgreSQL backend of casetrail: several servers may share one database, and
//! every guarantee of [`casetrail_store::Store`] holds across them because it rests
//! on PostgreSQL's row locks, never on a lock inside one process.
//!
//! - **Appends** (`append.rs`) run every batch of a group commit in one transaction.
//!   It first locks the head row of every account it touches with one
//!   `SELECT … ORDER BY pk FOR NO KEY UPDATE`: one ordered statement, so two servers
//!   locking overlapping accounts take them in the same order and never deadlock. The
//!   `NO KEY` strength is the one an `UPDATE` of non-key columns takes anyway; it
//!   still excludes every other appender, and does not conflict with the key-share
//!   locks that inserts referencing the account (users, keys) take. Under the lock the
//!   head and the idempotency keys are read, events are sealed exactly as in every
//!   backend (`ChainedEvent::seal`), and all rows are written with one multi-row
//!   `INSERT … SELECT FROM unnest(…)` per table. The unique index on
//!   `(acct, idem_key)` is the last line of defence.
//! - **Changes that record themselves** (`changes.rs`) lock the account's row first,
//!   then read, change and append their audit event through the same append code, in
//!   one transaction. So rules counted inside them (the last admin) cannot be passed by
//!   two concurrent changes, and a recorded "before" is never stale.
//! - **Purge batches** (`retention.rs`) lock the account's row too, so batches of two
//!   runs on two servers serialize and never purge one event twice; the legal hold
//!   and holds are read by the deleting statement itself. Finishing a run locks its
//!   tally row (`purge_runs.rs`), so it is recorded once.
//! - **Keyword search** (`search.rs`) uses a stored `tsvector` fed with the words of
//!   casetrail-core's tokenizer, never PostgreSQL's parser (which would stem, drop
//!   stop words and split differently from the other backends), and a `tsquery` of
//!   quoted prefix terms. `page.rs` first walks a bounded number of the newest
//!   candidates with the match as a plain filter (`ts_match_vq`, which the planner
//!   cannot turn into a bitmap scan): a dense word's page is full there. Else
//!   `search_plan.rs` weighs walking on (at the density the probe saw) against
//!   fetching every match of the rarest word through the GIN index (the planner's
//!   estimate of each word), and nothing is counted. Plans measured at 1M events are
//!   in `page.rs` and `search_plan.rs`.
//! - **Migrations** (`schema.rs`) run step by step, each in its own transaction after
//!   an advisory lock keyed by the schema, so servers starting together on a new
//!   database apply each step once.
//! - **Connections** come from a small `deadpool-postgres` pool; each gets a
//!   `lock_timeout` (a lock not granted in time is `Busy`, as are deadlocks and
//!   serialization failures) and a `statement_timeout` that appends lift. A database
//!   out of reach (refused, lost or shutting-down connections, or a pool that hands out
//!   no connection within its few seconds) is `Unavailable` (`db.rs`), and the pool
//!   opens new connections by itself once it is back. TLS follows the URL's `sslmode`
//!   (`tls.rs`). No error or `Debug` output ever holds the URL's password
//!   (`connect.rs`).
//! - **Planner statistics** (`statistics.rs`): each store runs `ANALYZE` on the log's
//!   tables in the background once its appends reach a tenth of the table, so plans
//!   never rest on autovacuum alone.
//! - PostgreSQL's `text` cannot hold U+0000. Ingest must refuse it in every string
//!   stored in a column of its own (actor id and name, record ids and names,
//!   idempotency keys): here such an event fails its whole append.
//!
//! ```no_run
//! # async fn demo() -> Result<(), casetrail_store::StoreError> {
//! let store = casetrail_store_postgres::PostgresStore::connect("postgres://casetrail@127.0.0.1/casetrail").await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod append;
mod browse;
mod changes;
mod connect;
mod credentials;
mod db;
mod derived;
mod history;
mod integrity;
mod log_impl;
mod page;
mod purge_runs;
mod records;
mod retention;
mod schema;
mod search;
mod search_plan;
mod service;
mod statistics;
mod store_impl;
mod streams;
#[cfg(feature = "testing")]
mod testing;
mod tls;
mod tree;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use casetrail_store::{AccountId, StoreError, StoreResult};
use deadpool_postgres::Pool;

pub use connect::ConnectError;
use db::Db;

/// How long [`PostgresStore::connect`] may take, migrations included.
const OPEN_WITHIN: Duration = Duration::from_secs(60);

/// The PostgreSQL store. Cheap to clone; clones share one pool of connections.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    target: connect::Target,
    /// Account id → internal key. An account's key never changes and accounts are
    /// never deleted, so this can never be stale, whichever server created them.
    account_pks: Mutex<HashMap<AccountId, i64>>,
    /// Events appended since the last `ANALYZE` (`statistics.rs`).
    statistics: statistics::Statistics,
    /// Last: the schema a test store made is dropped after the pool has closed.
    #[cfg(feature = "testing")]
    _schema: Option<testing::TemporarySchema>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("url", &self.inner.target.redacted).finish_non_exhaustive()
    }
}

/// Runs `$body` (an expression using the [`Db`] named `$db`, already awaited) in one
/// transaction on a pooled connection and commits it; any error returns early,
/// and the transaction, dropped uncommitted, rolls back.
macro_rules! transact {
    ($store:expr, |$db:ident| $body:expr) => {{
        let mut client = $store.client().await?;
        let tx = client.transaction().await.map_err($crate::db::pg)?;
        let $db = $crate::db::Db::tx(&tx);
        let out = $body?;
        tx.commit().await.map_err($crate::db::pg)?;
        Ok(out)
    }};
}
pub(crate) use transact;

impl PostgresStore {
    /// Connects (a pool of up to 8 connections), creates or migrates the schema that
    /// the URL's `search_path` selects, and returns within 60 s or fails with an
    /// error that never contains the password.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let target = connect::Target::new(url);
        let pool = match tokio::time::timeout(OPEN_WITHIN, open(&target)).await {
            Ok(opened) => opened.map_err(StoreError::backend)?,
            Err(_) => return Err(StoreError::backend(target.message("timed out", format!("{OPEN_WITHIN:?} passed")))),
        };
        Ok(PostgresStore::from_parts(pool, target))
    }

    fn from_parts(pool: Pool, target: connect::Target) -> PostgresStore {
        PostgresStore {
            inner: Arc::new(Inner {
                pool,
                target,
                account_pks: Mutex::new(HashMap::new()),
                statistics: statistics::Statistics::default(),
                #[cfg(feature = "testing")]
                _schema: None,
            }),
        }
    }

    /// The URL this store was opened with, its password replaced by `***`.
    pub fn redacted_url(&self) -> String {
        self.inner.target.redacted.clone()
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        self.inner.pool.get().await.map_err(db::pool)
    }

    /// The internal key of an account, `None` when there is no such account.
    async fn account_pk(&self, db: Db<'_>, id: AccountId) -> StoreResult<Option<i64>> {
        if let Some(pk) = self.inner.account_pks.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(Some(*pk));
        }
        let row = db.query_opt("SELECT pk FROM accounts WHERE id = $1", &[&id.into_inner()]).await?;
        let Some(row) = row else { return Ok(None) };
        let pk: i64 = db::get(&row, 0)?;
        self.inner.account_pks.lock().unwrap_or_else(|p| p.into_inner()).insert(id, pk);
        Ok(Some(pk))
    }
}

async fn open(target: &connect::Target) -> Result<Pool, ConnectError> {
    let pool = connect::pool(target)?;
    let mut client = pool.get().await.map_err(|e| target.error("could not connect", e))?;
    let row = client.query_one("SHOW server_encoding", &[]).await.map_err(|e| target.error("could not connect", e))?;
    // Text columns hold whatever the events carry; only UTF-8 holds all of it.
    let encoding: String = row.get(0);
    if encoding != "UTF8" {
        return Err(target.message("unsupported database", format!("its encoding is {encoding}, not UTF8")));
    }
    schema::migrate(&mut client).await.map_err(|e| target.error("the schema could not be brought up to date", e))?;
    tree::build_missing(&mut client).await.map_err(|e| target.error("the Merkle tree could not be built", e))?;
    Ok(pool)
}

/// Creates (or brings up to date) this store's schema through any client, without the
/// store's pool: the benchmark's raw engine builds its database with it, so its tables,
/// indexes and search column are the store's own.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub async fn create_schema(client: &mut tokio_postgres::Client) -> StoreResult<()> {
    schema::migrate(client).await.map_err(db::pg)
}

/// One browse page with exactly the SQL the store runs, on any client connected to a
/// database of this schema: the benchmark's raw engine times these statements without
/// the store around them.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub async fn browse_page(
    client: &tokio_postgres::Client,
    account_pk: i64,
    query: &casetrail_core::query::BrowseQuery,
) -> StoreResult<casetrail_store::Page> {
    page::page(Db::plain(client), account_pk, query).await
}

/// The words an event is found by, as the store indexes them (space-separated, distinct,
/// cut to lexeme size): the benchmark's raw engine writes the same `search` column.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub fn search_lexemes(event: &casetrail_core::Event) -> String {
    search::lexemes(event)
}

/// An error of our own making, for logs.
pub(crate) fn failure(message: impl Into<String>) -> StoreError {
    StoreError::backend(std::io::Error::other(message.into()))
}
