//! The embedded SQLite backend of casetrail: one file in the data dir.
//!
//! - One writer connection behind a mutex: every write, above all the group-commit
//!   [`EventStore::append`](casetrail_store::EventStore::append), runs on it inside a
//!   blocking task, in a `BEGIN IMMEDIATE` transaction that takes the file's write
//!   lock before it reads the chain head, so a head is moved by one transaction at a
//!   time even with other processes on the same file.
//! - Changes that record themselves (`changes.rs`) apply the change and append its
//!   audit event in one such transaction; purge batches keep their run's tally
//!   (`purge_runs.rs`) in theirs.
//! - A small pool of reader connections; WAL lets them read while the writer commits.
//! - WAL checkpoints on a thread of their own, so no commit pays for one
//!   (`checkpointer.rs`).
//! - Events keep their canonical body text (what the chain hashes) beside indexed
//!   copies of the filtered members; case/client links live in `event_records`,
//!   keywords in a contentless FTS5 table (`schema.rs`, `search.rs`).
//! - Planner statistics refreshed by the store as the log grows or shrinks (`stats.rs`),
//!   and the plans that matter pinned in the SQL (`browse.rs`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), casetrail_store::StoreError> {
//! let store = casetrail_store_sqlite::SqliteStore::open("casetrail-data/casetrail.db")?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod append;
mod browse;
mod changes;
mod checkpointer;
mod credentials;
mod derived;
mod history;
mod integrity;
mod log_impl;
mod purge_runs;
mod records;
mod retention;
mod schema;
mod search;
mod service;
mod stats;
mod store_impl;
mod streams;
mod tree;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use casetrail_store::{AccountId, StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

/// How many reads run at once, each on a reader connection of its own that is kept
/// for the next read. Each may cache up to [`READER_CACHE_KIB`], so this bounds the
/// server's memory as much as its parallelism (two cores here; a busier machine can
/// raise it). A read beyond them waits for one to finish: opening a connection for
/// it instead (and closing it after) parses the schema each time, which took a third
/// of the CPU of 32 clients sending single events (`casetrail-bench --profile
/// single`, perf).
const READERS: usize = 6;
/// The page cache of one reader connection.
const READER_CACHE_KIB: i64 = 8_000;

/// The SQLite store. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// One permit per read in flight, [`READERS`] in all.
    reading: Arc<tokio::sync::Semaphore>,
    stats: stats::Freshness,
    /// Set when a write failed for want of space (or a failed file write); the next
    /// write first folds the WAL back in and truncates it (`checkpointer.rs`).
    out_of_space: AtomicBool,
    /// After `writer` so that it closes last and the log is folded in at close.
    checkpointer: checkpointer::Checkpointer,
    /// Anything that must live as long as the store, such as a test's temporary dir.
    _guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path).map_err(StoreError::backend)?;
        owner_only(&path);
        schema::configure(&writer).map_err(StoreError::backend)?;
        schema::migrate(&mut writer).map_err(StoreError::backend)?;
        tree::build_missing(&mut writer)?;
        let stats = stats::Freshness::load(&writer).map_err(StoreError::backend)?;
        let checkpointer = checkpointer::Checkpointer::start(&path).map_err(StoreError::backend)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                reading: Arc::new(tokio::sync::Semaphore::new(READERS)),
                stats,
                out_of_space: AtomicBool::new(false),
                checkpointer,
                _guard: None,
            }),
        })
    }

    #[cfg(feature = "testing")]
    /// Opens a fresh store in a new temporary directory that is removed when the
    /// last clone of the store is dropped: for tests and benchmarks.
    pub fn open_temporary() -> StoreResult<SqliteStore> {
        let dir = tempfile::TempDir::new().map_err(StoreError::backend)?;
        let store = SqliteStore::open(dir.path().join("casetrail.db"))?;
        let inner =
            Arc::into_inner(store.inner).ok_or_else(|| StoreError::Corrupt("store shared while opening".into()))?;
        Ok(SqliteStore { inner: Arc::new(Inner { _guard: Some(Box::new(dir)), ..inner }) })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the writer connection in a blocking task.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // A panic in another write leaves the connection usable (SQLite rolls back an
            // unfinished transaction when it is dropped), so a poisoned lock is taken over.
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let out_of_space = &inner.out_of_space;
            if out_of_space.load(Ordering::Relaxed) && checkpointer::truncate_wal(&conn) {
                out_of_space.store(false, Ordering::Relaxed);
            }
            let out = f(&mut conn);
            if matches!(out, Err(StoreError::Unavailable(_))) {
                out_of_space.store(true, Ordering::Relaxed);
            }
            inner.checkpointer.nudge();
            out
        })
        .await
        .map_err(StoreError::backend)?
    }

    /// Runs `f` inside an `IMMEDIATE` transaction on the writer and commits it; an
    /// error rolls everything back.
    async fn transact<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
            let out = f(&tx)?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
    }

    /// Counts `n` appended or purged events and refreshes the planner's statistics
    /// when they are due. A failure only leaves older statistics, so it is logged,
    /// never returned: the events it follows are committed.
    async fn changed(&self, n: u64) {
        if !self.inner.stats.note(n) {
            return;
        }
        let inner = self.inner.clone();
        let outcome = self.write(move |conn| inner.stats.refresh(conn).map_err(StoreError::backend)).await;
        if let Err(err) = outcome {
            tracing::warn!(error = ?err, "could not refresh the planner statistics");
        }
    }

    /// Runs `f` on a reader connection in a blocking task.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        // Never closed while the store lives.
        let permit = inner.reading.clone().acquire_owned().await.map_err(StoreError::backend)?;
        tokio::task::spawn_blocking(move || {
            let idle = inner.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match idle {
                Some(conn) => conn,
                None => open_reader(&inner.path)?,
            };
            let result = f(&conn);
            // With the permit still held, so the pool never holds more than READERS.
            inner.readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            drop(permit);
            result
        })
        .await
        .map_err(StoreError::backend)?
    }
}

/// Creates (or brings up to date) this store's schema on any connection, without the
/// store's connection settings: the benchmark's raw engine builds its file with it, so
/// its tables, indexes and search index are the store's own.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub fn create_schema(conn: &mut Connection) -> StoreResult<()> {
    schema::migrate(conn).map_err(StoreError::backend)
}

/// One browse page, with exactly the SQL the store runs, on any connection to a file
/// of this schema: the benchmark's raw engine times these statements without the
/// store around them.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub fn browse_page(
    conn: &Connection,
    account_pk: i64,
    query: &casetrail_core::query::BrowseQuery,
) -> StoreResult<casetrail_store::Page> {
    browse::page(conn, account_pk, query)
}

#[cfg(feature = "bench")]
#[doc(hidden)]
pub use browse::CommonWords;

/// [`browse_page`] with either plan for common search words, for the benchmark's
/// comparison of the two.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub fn browse_page_with(
    conn: &Connection,
    account_pk: i64,
    query: &casetrail_core::query::BrowseQuery,
    common: CommonWords,
) -> StoreResult<casetrail_store::Page> {
    browse::page_with(conn, account_pk, query, common)
}

/// Makes the search index anew with `create` (a `CREATE VIRTUAL TABLE events_fts …`)
/// and fills it from the stored bodies as the migration does, `batch` events per
/// transaction; answers how many events it read. For the benchmark's comparison of
/// index designs.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub fn rebuild_search_index(conn: &mut Connection, create: &str, batch: i64) -> StoreResult<u64> {
    let tx = conn.transaction().map_err(db)?;
    search::recreate(&tx, create).map_err(db)?;
    tx.commit().map_err(db)?;
    let mut after = 0;
    loop {
        let tx = conn.transaction().map_err(db)?;
        let last = search::index_stored(&tx, after, batch).map_err(db)?;
        tx.commit().map_err(db)?;
        let Some(last) = last else { break };
        after = last;
    }
    conn.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(db)
}

/// The file holds the whole log, password hashes and token hashes: only its owner
/// may read it. SQLite gives the `-wal` and `-shm` files the database's own mode, and
/// existing ones (from before this rule) are restricted too. Someone who may open the
/// file but does not own it (an auditor running `verify`) cannot change its mode:
/// that is logged, not refused.
fn owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(PathBuf::from(name));
        }
        for file in files.iter().filter(|f| f.exists()) {
            if let Err(err) = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)) {
                tracing::warn!(file = %file.display(), error = %err, "could not make the database file private");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn open_reader(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(StoreError::backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(StoreError::backend)?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB).map_err(StoreError::backend)?;
    Ok(conn)
}

/// Maps an SQLite error to a store error: a lock still held by another connection
/// after the busy timeout is `Busy` (worth retrying); a full disk (`SQLITE_FULL`) or a
/// failed read or write of the files (`SQLITE_IOERR`, e.g. the `-shm` file that cannot
/// grow on a full disk) is `Unavailable`, since SQLite rolled the transaction back and
/// the same call succeeds once space is freed, with no restart; anything else is for
/// logs only.
pub(crate) fn db(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Busy(Box::new(err))
        }
        Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure) => {
            StoreError::Unavailable(Box::new(err))
        }
        _ => StoreError::backend(err),
    }
}

/// The internal key of an account, or `UnknownAccount`.
pub(crate) fn account_pk(conn: &Connection, id: AccountId) -> StoreResult<i64> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached("SELECT pk FROM accounts WHERE id = ?1")
        .and_then(|mut st| st.query_row([id.as_bytes().as_slice()], |r| r.get(0)).optional())
        .map_err(db)?
        .ok_or(StoreError::UnknownAccount)
}

/// Like [`account_pk`], but an unknown account is simply empty for reads.
pub(crate) fn account_pk_opt(conn: &Connection, id: AccountId) -> StoreResult<Option<i64>> {
    match account_pk(conn, id) {
        Ok(pk) => Ok(Some(pk)),
        Err(StoreError::UnknownAccount) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    /// A full disk and a failed file write are worth trying again (the server answers
    /// 503); a lock is `Busy`; a broken constraint is not retryable.
    #[test]
    fn sqlite_errors_map_to_what_a_caller_can_do_about_them() {
        assert!(matches!(db(failure(rusqlite::ffi::SQLITE_FULL)), StoreError::Unavailable(_)));
        assert!(matches!(db(failure(rusqlite::ffi::SQLITE_IOERR_WRITE)), StoreError::Unavailable(_)));
        assert!(matches!(db(failure(rusqlite::ffi::SQLITE_IOERR_SHMSIZE)), StoreError::Unavailable(_)));
        assert!(matches!(db(failure(rusqlite::ffi::SQLITE_BUSY)), StoreError::Busy(_)));
        assert!(matches!(db(failure(rusqlite::ffi::SQLITE_CONSTRAINT)), StoreError::Backend(_)));
    }
}
