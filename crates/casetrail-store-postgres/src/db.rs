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
/// a database that cannot be reached is `Unavailable`; anything else is for logs only.
pub(crate) fn pg(err: tokio_postgres::Error) -> StoreError {
    if is_retryable(&err) {
        StoreError::Busy(Box::new(err))
    } else if is_unreachable(&err) {
        StoreError::unavailable(err)
    } else {
        StoreError::backend(err)
    }
}

fn is_retryable(err: &tokio_postgres::Error) -> bool {
    let retryable =
        [SqlState::T_R_SERIALIZATION_FAILURE, SqlState::T_R_DEADLOCK_DETECTED, SqlState::LOCK_NOT_AVAILABLE];
    err.code().is_some_and(|code| retryable.contains(code))
}

/// Whether `err` says the database is out of reach rather than that a statement
/// failed: the connection is closed, or its socket failed (refused, reset, timed out:
/// tokio-postgres keeps the `io::Error` as the source, for connecting and for a live
/// connection alike), or the server reported a lost connection (class 08) or that it
/// is shutting down or not yet accepting connections (57P01, 57P02, 57P03).
pub(crate) fn is_unreachable(err: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    let shutting_down = [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW];
    if let Some(code) = err.code() {
        return shutting_down.contains(code) || code.code().starts_with("08");
    }
    err.is_closed() || err.source().is_some_and(|source| source.is::<std::io::Error>())
}

/// Whether `err` broke the unique constraint or index named `constraint`.
pub(crate) fn violates(err: &tokio_postgres::Error, constraint: &str) -> bool {
    err.as_db_error()
        .is_some_and(|db| *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint().is_some_and(|c| c == constraint))
}

/// A pool that could not hand out a connection. Every way of failing to get one
/// means the database is out of reach for now: no free connection within the wait
/// (all of them stuck on a server that stopped answering), a new one not opened in
/// time, or a connection refused.
pub(crate) fn pool(err: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::{HookError, PoolError};
    match err {
        PoolError::Timeout(_) => StoreError::unavailable(err),
        PoolError::Backend(e) | PoolError::PostCreateHook(HookError::Backend(e)) => match pg(e) {
            // Whatever refuses a new connection (a wrong password, a missing
            // database) leaves the server without one: unavailable too, and logged.
            StoreError::Backend(e) => StoreError::Unavailable(e),
            other => other,
        },
        other => StoreError::backend(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port on 127.0.0.1 that nothing listens on (bound, then let go).
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn a_refused_connection_is_unavailable_not_a_backend_failure() {
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres?connect_timeout=2", closed_port());
        let err = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.err().expect("nothing listens there");
        assert!(is_unreachable(&err), "{err:?}");
        let mapped = pg(err);
        assert!(matches!(mapped, StoreError::Unavailable(_)), "{mapped:?}");
        assert!(mapped.is_retryable());
    }

    #[tokio::test]
    async fn a_pool_that_cannot_connect_answers_unavailable_within_its_timeouts() {
        let target = crate::connect::Target::new(&format!("postgres://postgres@127.0.0.1:{}/postgres", closed_port()));
        let pool = crate::connect::pool(&target).unwrap();
        let started = std::time::Instant::now();
        let err = pool.get().await.expect_err("nothing listens there");
        assert!(matches!(self::pool(err), StoreError::Unavailable(_)));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        let timed_out = deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Wait);
        assert!(matches!(self::pool(timed_out), StoreError::Unavailable(_)));
    }
}
