//! WAL checkpoints on a thread of their own.
//!
//! By default SQLite copies the write-ahead log back into the database file inside
//! whichever commit pushes the log past 1000 pages, so that one commit (and every
//! request waiting on it) pays for copying and fsyncing megabytes: the benchmark saw
//! ingest stalls of 100 ms and more. Here the writer's automatic checkpoint only backs
//! this up (at [`BACKSTOP_PAGES`]), and this thread runs a `PASSIVE` checkpoint shortly
//! after writes, on its own connection. A passive checkpoint never blocks the writer or
//! readers; it copies what no reader still needs, and the writer starts the log over once
//! all of it has been copied. Durability is unchanged: a commit is durable once its log
//! frames are synced (`synchronous = FULL`), whoever copies them later.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// The writer's own automatic checkpoint, should this thread fall behind (4 KiB pages).
pub(crate) const BACKSTOP_PAGES: u32 = 10_000;
/// How long writes may gather before one checkpoint covers them all.
const GATHER: Duration = Duration::from_millis(200);

/// The checkpoint thread; stops (after a last checkpoint) when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // The database file is synced after each checkpoint, before the log may restart.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let (nudge, nudged) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("casetrail-wal".into())
            .spawn(move || run(&conn, &nudged))
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Checkpointer { nudge: Some(nudge), thread: Some(thread) })
    }

    /// Says the log has grown; cheap, never blocks.
    pub fn nudge(&self) {
        if let Some(nudge) = &self.nudge {
            // A full channel already holds a nudge that has not been acted on.
            let _ = nudge.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.nudge.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copies the whole WAL into the database and truncates it to nothing, on the
/// writer's connection; answers whether it did.
///
/// For a disk that filled up. Then each passive checkpoint fails, because the
/// database file cannot grow, so the log is never started over and keeps growing
/// into any space freed, until the disk is full again and stays so. Before the first
/// write after a refused one, the writer does this instead: once the database file
/// can take the log's pages, the log's own space is given back whole. While the disk
/// is still full it fails at once and the write is refused as before. (It waits for
/// readers still on old frames, at most the busy timeout; reads are short.)
pub(crate) fn truncate_wal(writer: &Connection) -> bool {
    // (busy, log frames, frames copied): busy is 1 when a reader kept it from finishing.
    match writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)) {
        Ok(0) => true,
        Ok(_) => false,
        Err(err) => {
            tracing::warn!(error = ?err, "could not fold in the WAL after a full disk");
            false
        }
    }
}

fn run(conn: &Connection, nudged: &Receiver<()>) {
    while nudged.recv().is_ok() {
        std::thread::sleep(GATHER);
        while nudged.try_recv().is_ok() {}
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = ?err, "WAL checkpoint failed; the writer's own will take over");
        }
    }
}
