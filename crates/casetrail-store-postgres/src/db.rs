//! One connection's statements: a pooled connection or a transaction on one, with its
//! cache of prepared statements, or (for the benchmark) a plain client without one.
//! Also the mapping of PostgreSQL errors to store errors.

use casetrail_core::Timestamp;
use casetrail_store::StoreError;
use casetrail_store::StoreResult;
use deadpool_postgres::StatementCache;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, Row, Statement};

/// Bound parameters of one statement.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Where statements run: every function of the crate takes one of these, so the same
/// code runs inside a transaction or on its own.
#[derive(Clone, Copy)]
pub(crate) struct Db<'a> {
    client: &'a Client,
    cache: Option<&'a StatementCache>,
}

impl<'a> Db<'a> {
    pub(crate) fn pooled(client: &'a deadpool_postgres::Client) -> Db<'a> {
        Db { client, cache: Some(&client.statement_cache) }
    }

    pub(crate) fn tx(tx: &'a deadpool_postgres::Transaction<'_>) -> Db<'a> {
        Db { client: tx.client(), cache: Some(&tx.statement_cache) }
    }

    /// A plain client: statements are prepared each time.
    #[cfg_attr(not(feature = "bench"), allow(dead_code))]
    pub(crate) fn plain(client: &'a Client) -> Db<'a> {
        Db { client, cache: None }
    }

    async fn statement(&self, sql: &str) -> StoreResult<Statement> {
        match self.cache {
            Some(cache) => cache.prepare(self.client, sql).await,
            None => self.client.prepare(sql).await,
        }
        .map_err(pg)
    }

    pub(crate) async fn query(&self, sql: &str, params: &Params<'_>) -> StoreResult<Vec<Row>> {
        let st = self.statement(sql).await?;
        self.client.query(&st, params).await.map_err(pg)
    }

    /// Like [`Db::query`], but prepared afresh (not from the cache), so PostgreSQL
    /// plans it for these parameters. A cached statement may be given one generic plan
    /// for all parameters after five runs; for a statement whose best plan depends on
    /// them (a rare or a common search word), that plan can be a sequential scan.
    pub(crate) async fn query_planned(&self, sql: &str, params: &Params<'_>) -> StoreResult<Vec<Row>> {
        self.client.query(sql, params).await.map_err(pg)
    }

    pub(crate) async fn query_opt(&self, sql: &str, params: &Params<'_>) -> StoreResult<Option<Row>> {
        let st = self.statement(sql).await?;
        self.client.query_opt(&st, params).await.map_err(pg)
    }

    pub(crate) async fn query_one(&self, sql: &str, params: &Params<'_>) -> StoreResult<Row> {
        let st = self.statement(sql).await?;
        self.client.query_one(&st, params).await.map_err(pg)
    }

    pub(crate) async fn execute(&self, sql: &str, params: &Params<'_>) -> StoreResult<u64> {
        let st = self.statement(sql).await?;
        self.client.execute(&st, params).await.map_err(pg)
    }

    /// Like [`Db::execute`], but the raw error, so a caller can tell a unique violation.
    pub(crate) async fn try_execute(&self, sql: &str, params: &Params<'_>) -> Result<u64, tokio_postgres::Error> {
        let st = match self.cache {
            Some(cache) => cache.prepare(self.client, sql).await?,
            None => self.client.prepare(sql).await?,
        };
        self.client.execute(&st, params).await
    }

    /// Runs statements without parameters, unprepared.
    pub(crate) async fn batch(&self, sql: &str) -> StoreResult<()> {
        self.client.batch_execute(sql).await.map_err(pg)
    }
}

/// A column of a row, or a `Corrupt` error naming it when it has another type.
pub(crate) fn get<'r, T: FromSql<'r>>(row: &'r Row, idx: usize) -> StoreResult<T> {
    row.try_get(idx).map_err(|e| StoreError::Corrupt(format!("column {idx}: {e}")))
}

/// A stored time in milliseconds since the epoch.
pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap_or(Timestamp::EPOCH)
}

/// Maps a PostgreSQL error to a store error: a serialization failure, a deadlock or a
/// lock not granted in time (`lock_timeout`) is `Busy`, so the caller may try again;
/// anything else is for logs only.
pub(crate) fn pg(err: tokio_postgres::Error) -> StoreError {
    if is_retryable(&err) { StoreError::Busy(Box::new(err)) } else { StoreError::backend(err) }
}

fn is_retryable(err: &tokio_postgres::Error) -> bool {
    let retryable =
        [SqlState::T_R_SERIALIZATION_FAILURE, SqlState::T_R_DEADLOCK_DETECTED, SqlState::LOCK_NOT_AVAILABLE];
    err.code().is_some_and(|code| retryable.contains(code))
}

/// Whether `err` broke the unique constraint or index named `constraint`.
pub(crate) fn violates(err: &tokio_postgres::Error, constraint: &str) -> bool {
    err.as_db_error()
        .is_some_and(|db| *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint().is_some_and(|c| c == constraint))
}

/// A pool that could not hand out a connection: waiting too long is `Busy`.
pub(crate) fn pool(err: deadpool_postgres::PoolError) -> StoreError {
    match err {
        deadpool_postgres::PoolError::Timeout(_) => StoreError::Busy(Box::new(err)),
        deadpool_postgres::PoolError::Backend(e) => pg(e),
        other => StoreError::backend(other),
    }
}
