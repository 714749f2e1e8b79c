//! The schema and its migrations, applied in order at open; `PRAGMA user_version`
//! records how far a file has come.

use rusqlite::Connection;

/// Each entry moves the schema one version forward. Never edit a shipped entry:
/// add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE accounts (
        pk INTEGER PRIMARY KEY,
        id BLOB NOT NULL UNIQUE,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        record_urls TEXT NOT NULL DEFAULT '{}',
        retention_days INTEGER DEFAULT 90,
        legal_hold INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        -- The chain head, read and moved inside every append transaction.
        head_seq INTEGER NOT NULL DEFAULT 0,
        head_hash BLOB NOT NULL DEFAULT (zeroblob(32))
    );

    CREATE TABLE users (
        id BLOB PRIMARY KEY,
        acct INTEGER NOT NULL REFERENCES accounts(pk),
        email TEXT NOT NULL,
        email_norm TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX users_acct ON users(acct);

    CREATE TABLE api_keys (
        id BLOB PRIMARY KEY,
        acct INTEGER NOT NULL REFERENCES accounts(pk),
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        secret_hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
    );
    CREATE INDEX api_keys_acct ON api_keys(acct);

    CREATE TABLE sessions (
        token_hash BLOB PRIMARY KEY,
        acct INTEGER NOT NULL,
        user_id BLOB NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);

    -- One row per event. `body` is the RFC 8785 text the chain hashes; the other
    -- columns are copies of body members that the indexes need.
    CREATE TABLE events (
        rid INTEGER PRIMARY KEY,
        acct INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        id BLOB NOT NULL,
        occurred_at INTEGER NOT NULL,
        actor_id TEXT NOT NULL,
        activity TEXT NOT NULL,
        idem_key TEXT,
        body TEXT NOT NULL,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL
    );
    CREATE UNIQUE INDEX events_seq ON events(acct, seq);
    CREATE UNIQUE INDEX events_id ON events(id);
    CREATE UNIQUE INDEX events_idem ON events(acct, idem_key) WHERE idem_key IS NOT NULL;
    CREATE INDEX events_time ON events(acct, occurred_at, seq);
    CREATE INDEX events_actor ON events(acct, actor_id, occurred_at, seq);
    CREATE INDEX events_activity ON events(acct, activity, occurred_at, seq);

    -- The cases and clients each event relates to, so those filters are index
    -- lookups rather than JSON scans.
    CREATE TABLE event_records (
        acct INTEGER NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (acct, kind, record_id, occurred_at, seq)
    ) WITHOUT ROWID;

    -- What the filter pickers offer: every actor and related record seen.
    CREATE TABLE actors (
        acct INTEGER NOT NULL,
        actor_id TEXT NOT NULL,
        name TEXT NOT NULL,
        email TEXT,
        -- Normalized words of id, name and email, each after a space, for prefix LIKE.
        search TEXT NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (acct, actor_id)
    ) WITHOUT ROWID;
    CREATE TABLE records (
        acct INTEGER NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        name TEXT,
        search TEXT NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (acct, kind, record_id)
    ) WITHOUT ROWID;

    -- Keyword search. Contentless: the text lives in `events.body`; rowid = events.rid.
    -- The indexed text is already normalized by casetrail-core (lowercase, no
    -- diacritics), so the tokenizer only splits on spaces.
    CREATE VIRTUAL TABLE events_fts USING fts5(
        text, content='', contentless_delete=1,
        tokenize='unicode61 remove_diacritics 0', prefix='1 2 3'
    );
    "#,
    // 2: integrity and retention.
    r#"
    -- Signed statements of a chain's head; never updated, only added.
    CREATE TABLE checkpoints (
        acct INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        hash BLOB NOT NULL,
        signed_at INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL
    );
    CREATE INDEX checkpoints_acct ON checkpoints(acct, seq, signed_at);

    -- One signed row per run of consecutive purged seqs, so the chain of what
    -- remains still verifies across the gap.
    CREATE TABLE tombstones (
        acct INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        first_prev_hash BLOB NOT NULL,
        last_hash BLOB NOT NULL,
        purged_at INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (acct, first_seq)
    ) WITHOUT ROWID;
    CREATE INDEX tombstones_last ON tombstones(acct, last_seq);

    -- Cases and clients whose events outlive the retention window.
    CREATE TABLE holds (
        acct INTEGER NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (acct, kind, record_id)
    ) WITHOUT ROWID;
    "#,
    // 3: purges must not trigger whole-segment rewrites of the search index. By
    // default FTS5 merges a segment once a tenth of it is deleted rows, in the
    // transaction that crosses the mark; on a large index that rewrite held the write
    // lock for seconds in the middle of a purge. Deleted rows' postings still go at
    // the ordinary merges that follow new events.
    r#"
    INSERT INTO events_fts (events_fts, rank) VALUES ('deletemerge', 0);
    "#,
    // 4: the tally of each retention run, kept in the transaction of each batch, so
    // that a run cut short is still recorded as `system_log.purged` when found.
    r#"
    CREATE TABLE purge_runs (
        run_id BLOB PRIMARY KEY,
        acct INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        cutoff INTEGER NOT NULL,
        retention_days INTEGER,
        actor TEXT NOT NULL,
        purged INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        last_batch_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 5: what several processes on one file must agree on (casetrail_store::service):
    // the public keys that verify signatures, failed sign-ins, background leases.
    r#"
    CREATE TABLE signing_keys (
        key_id TEXT PRIMARY KEY,
        public_key BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
    ) WITHOUT ROWID;

    CREATE TABLE login_attempts (
        subject BLOB NOT NULL,
        at INTEGER NOT NULL,
        attempt BLOB NOT NULL,
        PRIMARY KEY (subject, at, attempt)
    ) WITHOUT ROWID;
    CREATE INDEX login_attempts_attempt ON login_attempts(attempt);
    CREATE INDEX login_attempts_at ON login_attempts(at);

    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder BLOB NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 6: verification reads each page's case/client links by seq, to compare them with
    // what the bodies give (`derived.rs`). The index holds the whole key, so that read
    // never touches the table.
    r#"
    CREATE INDEX event_records_seq ON event_records(acct, seq);
    "#,
    // 7: the Merkle tree of docs/API.md §15, one row per full subtree (level 0: the
    // leaves), and each checkpoint's tree head. A purge never deletes a node. The
    // tree of events stored before this step is built at open (`tree.rs`).
    r#"
    CREATE TABLE merkle_nodes (
        acct INTEGER NOT NULL,
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (acct, level, idx)
    ) WITHOUT ROWID;
    ALTER TABLE checkpoints ADD COLUMN root_hash BLOB;
    ALTER TABLE checkpoints ADD COLUMN note TEXT;
    "#,
    // 8: streams (casetrail_store::streams): each is a position in its account's chain
    // and the lease of the one process that delivers it; no copy of any event.
    r#"
    CREATE TABLE streams (
        id BLOB PRIMARY KEY,
        acct INTEGER NOT NULL REFERENCES accounts(pk),
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        format TEXT NOT NULL,
        filters TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        secret TEXT,
        ca_cert TEXT,
        created_at INTEGER NOT NULL,
        delivered_seq INTEGER NOT NULL,
        last_delivery_at INTEGER,
        last_error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        lease_holder BLOB,
        lease_until INTEGER
    );
    CREATE INDEX streams_acct ON streams(acct);
    "#,
    // 9: masking and retention by category (docs/API.md §14). Accounts made before
    // masking existed get the default patterns too: a firm upgrading should not keep
    // logging passwords because it never opened a settings page. The fingerprint key
    // is made the first time it is needed (`fingerprint_key`).
    r#"
    ALTER TABLE accounts ADD COLUMN masking TEXT NOT NULL
        DEFAULT '["password","*.password","ssn","*.ssn","secret","*.secret","token","*.token"]';
    ALTER TABLE accounts ADD COLUMN masking_key BLOB;
    ALTER TABLE accounts ADD COLUMN retention_categories TEXT NOT NULL DEFAULT '{}';
    "#,
    // 10: the related-records index behind a record's history (`history.rs`), filled
    // from the stored bodies for the events already there.
    r#"
    CREATE TABLE record_events (
        acct INTEGER NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        first INTEGER NOT NULL,
        PRIMARY KEY (acct, kind, record_id, occurred_at, seq)
    ) WITHOUT ROWID;
    CREATE INDEX record_events_seq ON record_events(acct, seq);
    INSERT INTO record_events (acct, kind, record_id, occurred_at, seq, first)
        SELECT e.acct, json_extract(r.value, '$.type'), json_extract(r.value, '$.id'), e.occurred_at, e.seq,
               max(r.key = 0)
        FROM events e, json_each(e.body, '$.related') r
        GROUP BY e.acct, json_extract(r.value, '$.type'), json_extract(r.value, '$.id'), e.occurred_at, e.seq;
    "#,
    // 11: retention by category (docs/API.md §14). A run's tally keeps the cutoffs of
    // the categories with a retention of their own, and its default cutoff may be
    // none (the account keeps forever what has no retention of its own). SQLite
    // cannot drop a NOT NULL, so the small tally table is copied into a new one.
    r#"
    CREATE TABLE purge_runs_v11 (
        run_id BLOB PRIMARY KEY,
        acct INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        cutoff INTEGER,
        retention_days INTEGER,
        actor TEXT NOT NULL,
        purged INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        last_batch_at INTEGER NOT NULL,
        categories TEXT NOT NULL DEFAULT '{}'
    ) WITHOUT ROWID;
    INSERT INTO purge_runs_v11
        (run_id, acct, started_at, cutoff, retention_days, actor, purged, first_seq, last_seq, last_batch_at)
        SELECT run_id, acct, started_at, cutoff, retention_days, actor, purged, first_seq, last_seq, last_batch_at
        FROM purge_runs;
    DROP TABLE purge_runs;
    ALTER TABLE purge_runs_v11 RENAME TO purge_runs;
    "#,
    // 12: a record's field history reads only the events that lead it and changed
    // something (`casetrail_store::derived::history_links`), not every event it is
    // first in: a busy client's messages changed nothing.
    r#"
    ALTER TABLE record_events RENAME COLUMN first TO leads;
    UPDATE record_events SET leads = 0
    WHERE leads AND EXISTS (
        SELECT 1 FROM events e
        WHERE e.acct = record_events.acct AND e.seq = record_events.seq
          AND json_array_length(e.body, '$.changes') = 0
    );
    "#,
    // 13: the actor index carries the activity, so "this member's sign-ins this week"
    // filters by activity inside the index instead of reading each of the member's
    // events of the week from the table: at 1M events, 19k table reads for the
    // busiest actor (p95 58 ms → 9 ms on a copy of the benchmark's raw database).
    r#"
    DROP INDEX events_actor;
    CREATE INDEX events_actor ON events(acct, actor_id, occurred_at, seq, activity);
    "#,
];

/// Brings the file up to the newest schema, one transaction per step. The version is
/// read inside each step's `IMMEDIATE` transaction, so two processes opening a new
/// file at once apply each step once: the second waits for the write lock, then finds
/// the step done.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    for (version, sql) in (1i64..).zip(MIGRATIONS) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if current < version {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
        }
        tx.commit()?;
    }
    Ok(())
}

/// Settings every connection gets. `synchronous = FULL` because an acknowledged
/// event must survive a power cut; group commit keeps that affordable.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Only takes effect on a new, empty file: purged pages can then be given back to
    // the file system a little at a time instead of by a blocking full VACUUM.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "cache_size", -32_000)?;
    conn.pragma_update(None, "wal_autocheckpoint", crate::checkpointer::BACKSTOP_PAGES)?;
    Ok(())
}
