//! The raw engine: the same events in plain rusqlite, without casetrail.
//!
//! The schema is the store's own, made by its migrations
//! (`casetrail_store_sqlite::create_schema`: same tables, same indexes, contentless FTS5
//! with the same options), with the same pragmas (WAL, `synchronous = FULL`) but none of
//! the store's machinery (no checkpoint thread, no statistics upkeep). Rows are prepared before the clock starts —
//! canonical body, hashes, search text, all computed by casetrail-core — so the timed
//! part is only what SQLite does: the inserts of `append.rs` and their commit. Reads run
//! the SQL that `browse.rs` builds (`casetrail_store_sqlite::browse_page`), on a read-only
//! connection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use casetrail_core::Timestamp;
use casetrail_core::chain::{ChainHash, ChainedEvent, link};
use casetrail_core::query::{BrowseQuery, Cursor, keywords, search_text};
use casetrail_core::validate::{IngestRules, parse_ingest};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use serde_json::{Value, json};

/// One event as rows, ready to insert.
#[derive(Debug)]
pub struct Row {
    seq: i64,
    id: [u8; 16],
    occurred: i64,
    actor_id: String,
    actor_name: String,
    actor_email: Option<String>,
    activity: &'static str,
    idem: Option<String>,
    body: String,
    prev: ChainHash,
    hash: ChainHash,
    related: Vec<(&'static str, String, Option<String>)>,
    fts: String,
}

/// A raw database in its own directory, removed on drop.
#[derive(Debug)]
pub struct RawDb {
    conn: Connection,
    dir: PathBuf,
    path: PathBuf,
    pk: i64,
    head_seq: u64,
    head_hash: ChainHash,
    /// Leave the database behind (for `--profile raw`, to look at it afterwards).
    pub keep: bool,
}

impl Drop for RawDb {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl RawDb {
    pub fn create(parent: &Path) -> anyhow::Result<RawDb> {
        let dir = parent.join(format!("casetrail-bench-raw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("raw.db");
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -32_000)?;
        // The store's own migrations: the same tables, indexes and search-index options,
        // with none of the store's connection settings beyond the pragmas above.
        casetrail_store_sqlite::create_schema(&mut conn).map_err(|e| anyhow::anyhow!("raw schema: {e}"))?;
        conn.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES (?1, 'raw', 0)",
            [casetrail_core::AccountId::new_v7().as_bytes().as_slice()],
        )?;
        let pk = conn.last_insert_rowid();
        Ok(RawDb { conn, dir, path, pk, head_seq: 0, head_hash: ChainHash::default(), keep: false })
    }

    /// A copy of a product database whose connections are all closed (`--build-direct`):
    /// the raw engine then writes into the very b-trees the product built, at the same
    /// size, as the product's account; the copy's head is that account's head.
    pub fn copy_of(parent: &Path, source: &Path, account: casetrail_core::AccountId) -> anyhow::Result<RawDb> {
        let dir = parent.join(format!("casetrail-bench-raw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("raw.db");
        std::fs::copy(source, &path)?;
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -32_000)?;
        let (pk, head_seq, head): (i64, i64, Vec<u8>) = conn.query_row(
            "SELECT pk, head_seq, head_hash FROM accounts WHERE id = ?1",
            [account.as_bytes().as_slice()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let head_hash = ChainHash::from_slice(&head).unwrap_or_default();
        Ok(RawDb { conn, dir, path, pk, head_seq: head_seq as u64, head_hash, keep: false })
    }

    /// Turns ingest event objects into rows: parsing, canonical JSON, hashing and search
    /// text, none of it timed.
    pub fn prepare(&mut self, events: Vec<Value>) -> anyhow::Result<Vec<Row>> {
        let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
        let parsed = parse_ingest(&json!({ "events": events }), &rules)
            .map_err(|e| anyhow::anyhow!("the generator made an invalid event: {e:?}"))?;
        let account = casetrail_core::AccountId::nil();
        let recorded_at = Timestamp::now();
        let mut rows = Vec::with_capacity(parsed.len());
        for new in parsed {
            let seq = self.head_seq + 1;
            let id = casetrail_core::EventId::new_v7();
            let event = new.into_event(id, account, seq, recorded_at);
            let sealed = ChainedEvent::seal(&event, self.head_hash);
            self.head_seq = seq;
            self.head_hash = sealed.hash;
            rows.push(Row {
                seq: seq as i64,
                id: *id.as_bytes(),
                occurred: event.occurred_at.as_millis(),
                fts: search_text(&event),
                actor_id: event.actor.id,
                actor_name: event.actor.name,
                actor_email: event.actor.email,
                activity: event.activity.key(),
                idem: event.idempotency_key,
                body: sealed.body,
                prev: sealed.prev_hash,
                hash: sealed.hash,
                related: event.related.into_iter().map(|r| (r.kind.key(), r.id, r.name)).collect(),
            });
        }
        Ok(rows)
    }

    /// Inserts the rows in one transaction, as `append.rs` does; returns how long the
    /// transaction took, commit included.
    pub fn insert(&mut self, rows: &[Row]) -> rusqlite::Result<Duration> {
        let started = Instant::now();
        let pk = self.pk;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO events (acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut link = tx.prepare_cached(
                "INSERT OR IGNORE INTO event_records (acct, kind, record_id, occurred_at, seq) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut fts = tx.prepare_cached("INSERT INTO events_fts (rowid, text) VALUES (?1, ?2)")?;
            let mut actors: HashMap<&str, (&str, Option<&str>, i64)> = HashMap::new();
            let mut records: HashMap<(&str, &str), (Option<&str>, i64)> = HashMap::new();
            for r in rows {
                ins.execute(params![
                    pk,
                    r.seq,
                    r.id.as_slice(),
                    r.occurred,
                    r.actor_id,
                    r.activity,
                    r.idem,
                    r.body,
                    r.prev.0.as_slice(),
                    r.hash.0.as_slice()
                ])?;
                let rid = tx.last_insert_rowid();
                for (kind, id, _) in r.related.iter().filter(|(k, ..)| matches!(*k, "case" | "client")) {
                    link.execute(params![pk, kind, id, r.occurred, r.seq])?;
                }
                fts.execute(params![rid, r.fts])?;
                actors.insert(&r.actor_id, (&r.actor_name, r.actor_email.as_deref(), r.occurred));
                for (kind, id, name) in &r.related {
                    records.insert((kind, id), (name.as_deref(), r.occurred));
                }
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO actors (acct, actor_id, name, email, search, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (acct, actor_id) DO UPDATE SET name = excluded.name, email = excluded.email,
                 search = excluded.search, last_seen = excluded.last_seen
                 WHERE excluded.last_seen >= actors.last_seen",
            )?;
            for (id, (name, email, at)) in actors {
                st.execute(params![pk, id, name, email, picker_search(&[Some(name), email, Some(id)]), at])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO records (acct, kind, record_id, name, search, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (acct, kind, record_id) DO UPDATE SET name = coalesce(excluded.name, records.name),
                 search = CASE WHEN excluded.name IS NULL THEN records.search ELSE excluded.search END,
                 last_seen = excluded.last_seen WHERE excluded.last_seen >= records.last_seen",
            )?;
            for ((kind, id), (name, at)) in records {
                st.execute(params![pk, kind, id, name, picker_search(&[name, Some(id)]), at])?;
            }
            let last = rows.last().map_or((0, [0u8; 32]), |r| (r.seq, r.hash.0));
            tx.execute(
                "UPDATE accounts SET head_seq = ?1, head_hash = ?2 WHERE pk = ?3",
                params![last.0, &last.1, pk],
            )?;
        }
        tx.commit()?;
        Ok(started.elapsed())
    }

    /// Refreshes the planner's statistics, as the goals' raw-engine figures assume.
    pub fn analyze(&self) -> rusqlite::Result<Duration> {
        let started = Instant::now();
        self.conn.execute_batch("ANALYZE")?;
        Ok(started.elapsed())
    }

    /// A read-only connection, like the store's readers.
    pub fn reader(&self) -> rusqlite::Result<RawReader> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.pragma_update(None, "cache_size", -16_000)?;
        Ok(RawReader { conn, pk: self.pk })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The writer connection, for `--profile search` to rebuild the search index.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn account_pk(&self) -> i64 {
        self.pk
    }

    pub fn size_bytes(&self) -> u64 {
        ["raw.db", "raw.db-wal"].iter().filter_map(|f| std::fs::metadata(self.dir.join(f)).ok()).map(|m| m.len()).sum()
    }
}

pub fn picker_search(parts: &[Option<&str>]) -> String {
    let mut out = String::new();
    for word in parts.iter().flatten().flat_map(|p| keywords(p)) {
        out.push(' ');
        out.push_str(&word);
    }
    out
}

/// A read-only connection to the raw database.
#[derive(Debug)]
pub struct RawReader {
    conn: Connection,
    pk: i64,
}

impl RawReader {
    /// Walks the chain in seq order and checks every link; answers the events checked.
    pub fn verify_chain(&self) -> anyhow::Result<u64> {
        let mut st =
            self.conn.prepare_cached("SELECT seq, body, prev_hash, hash FROM events WHERE acct = ?1 ORDER BY seq")?;
        let mut rows = st.query([self.pk])?;
        let (mut prev, mut checked) = (ChainHash::default(), 0u64);
        while let Some(row) = rows.next()? {
            let body = row.get_ref(1)?.as_str()?;
            let stored_prev = ChainHash::from_slice(row.get_ref(2)?.as_blob()?).unwrap_or_default();
            let hash = ChainHash::from_slice(row.get_ref(3)?.as_blob()?).unwrap_or_default();
            let seq: i64 = row.get(0)?;
            anyhow::ensure!(stored_prev == prev && link(&prev, body) == hash, "raw chain broken at seq {seq}");
            prev = hash;
            checked += 1;
        }
        Ok(checked)
    }

    /// Hands every stored body to `f`, newest first (the export's order); answers how
    /// many.
    pub fn bodies_newest_first(&self, mut f: impl FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        let mut st =
            self.conn.prepare_cached("SELECT body FROM events WHERE acct = ?1 ORDER BY occurred_at DESC, seq DESC")?;
        let mut rows = st.query([self.pk])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            f(row.get_ref(0)?.as_str()?)?;
            n += 1;
        }
        Ok(n)
    }

    /// One page, with the very statement the store builds for the same query
    /// (`casetrail_store_sqlite::browse_page`); answers the number of rows and the next
    /// cursor.
    pub fn page(&self, query: &BrowseQuery) -> anyhow::Result<(usize, Option<Cursor>)> {
        let page = casetrail_store_sqlite::browse_page(&self.conn, self.pk, query)
            .map_err(|e| anyhow::anyhow!("raw page: {e}"))?;
        Ok((page.events.len(), page.next_cursor))
    }
}
