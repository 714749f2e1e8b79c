//! The schema and its migrations, applied in order at connect; `schema_migrations`
//! records how far a database (or schema) has come.

use casetrail_core::Timestamp;
use tokio_postgres::Client;

/// Each entry moves the schema one version forward. Never edit a shipped entry:
/// add a new one.
///
/// Every key of the log's tables leads with the account (`acct`): every lookup is
/// scoped by account, and a distributed deployment (Citus, by `acct`) needs the
/// distribution column in every unique key. Times are milliseconds since the epoch,
/// as in the SQLite backend; ids are UUIDs; hashes are bytes.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE accounts (
        pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id UUID NOT NULL UNIQUE,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'UTC',
        record_urls TEXT NOT NULL DEFAULT '{}',
        retention_days INTEGER DEFAULT 90,
        legal_hold BOOLEAN NOT NULL DEFAULT false,
        created_at BIGINT NOT NULL,
        -- The chain head, locked (FOR NO KEY UPDATE) and moved inside every append.
        head_seq BIGINT NOT NULL DEFAULT 0,
        head_hash BYTEA NOT NULL DEFAULT decode(repeat('00', 32), 'hex')
    );

    CREATE TABLE users (
        id UUID PRIMARY KEY,
        acct BIGINT NOT NULL REFERENCES accounts (pk),
        email TEXT NOT NULL,
        email_norm TEXT NOT NULL CONSTRAINT users_email UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX users_acct ON users (acct);

    CREATE TABLE api_keys (
        id UUID PRIMARY KEY,
        acct BIGINT NOT NULL REFERENCES accounts (pk),
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        secret_hash BYTEA NOT NULL CONSTRAINT api_keys_secret UNIQUE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        revoked_at BIGINT
    );
    CREATE INDEX api_keys_acct ON api_keys (acct);

    CREATE TABLE sessions (
        token_hash BYTEA PRIMARY KEY,
        acct BIGINT NOT NULL,
        user_id UUID NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (acct, user_id);
    CREATE INDEX sessions_expiry ON sessions (expires_at);

    -- One row per event. `body` is the RFC 8785 text the chain hashes; the other
    -- columns are copies of body members that the indexes need. `search` holds the
    -- event's words as casetrail-core's tokenizer made them, one lexeme each.
    CREATE TABLE events (
        acct BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        id UUID NOT NULL,
        occurred_at BIGINT NOT NULL,
        actor_id TEXT NOT NULL,
        activity TEXT NOT NULL,
        idem_key TEXT,
        body TEXT NOT NULL,
        prev_hash BYTEA NOT NULL,
        hash BYTEA NOT NULL,
        search TSVECTOR NOT NULL,
        PRIMARY KEY (acct, seq),
        CONSTRAINT events_id UNIQUE (acct, id)
    );
    -- The last line of defence for idempotency across servers (appends look keys up
    -- under the head's row lock first).
    CREATE UNIQUE INDEX events_idem ON events (acct, idem_key) WHERE idem_key IS NOT NULL;
    CREATE INDEX events_time ON events (acct, occurred_at, seq);
    CREATE INDEX events_actor ON events (acct, actor_id, occurred_at, seq);
    CREATE INDEX events_activity ON events (acct, activity, occurred_at, seq);
    CREATE INDEX events_search ON events USING gin (search);

    -- The cases and clients each event relates to, so those filters are index
    -- lookups rather than JSON scans.
    CREATE TABLE event_records (
        acct BIGINT NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        occurred_at BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (acct, kind, record_id, occurred_at, seq)
    );

    -- What the filter pickers offer: every actor and related record seen.
    CREATE TABLE actors (
        acct BIGINT NOT NULL,
        actor_id TEXT NOT NULL,
        name TEXT NOT NULL,
        email TEXT,
        -- Normalized words of id, name and email, each after a space, for prefix LIKE.
        search TEXT NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (acct, actor_id)
    );
    CREATE TABLE records (
        acct BIGINT NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        name TEXT,
        search TEXT NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (acct, kind, record_id)
    );
    "#,
    // 2: integrity and retention.
    r#"
    -- Signed statements of a chain's head; never updated, only added.
    CREATE TABLE checkpoints (
        acct BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        signed_at BIGINT NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL
    );
    CREATE INDEX checkpoints_acct ON checkpoints (acct, seq, signed_at);

    -- One signed row per run of consecutive purged seqs, so the chain of what
    -- remains still verifies across the gap.
    CREATE TABLE tombstones (
        acct BIGINT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        first_prev_hash BYTEA NOT NULL,
        last_hash BYTEA NOT NULL,
        purged_at BIGINT NOT NULL,
        key_id TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (acct, first_seq)
    );
    CREATE INDEX tombstones_last ON tombstones (acct, last_seq);

    -- Cases and clients whose events outlive the retention window.
    CREATE TABLE holds (
        acct BIGINT NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        CONSTRAINT holds_record PRIMARY KEY (acct, kind, record_id)
    );

    -- The tally of each retention run, kept in the transaction of each batch, so
    -- that a run cut short is still recorded as `system_log.purged` when found.
    CREATE TABLE purge_runs (
        acct BIGINT NOT NULL,
        run_id UUID NOT NULL,
        started_at BIGINT NOT NULL,
        cutoff BIGINT NOT NULL,
        retention_days INTEGER,
        actor TEXT NOT NULL,
        purged BIGINT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        last_batch_at BIGINT NOT NULL,
        PRIMARY KEY (acct, run_id)
    );
    "#,
    // 3: what several servers agree on besides the log (casetrail_store::ServiceStore).
    r#"
    CREATE TABLE signing_keys (
        key_id TEXT PRIMARY KEY,
        public_key BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
    );
    CREATE TABLE login_attempts (
        subject BYTEA NOT NULL,
        at BIGINT NOT NULL,
        attempt UUID NOT NULL,
        PRIMARY KEY (subject, at, attempt)
    );
    CREATE INDEX login_attempts_attempt ON login_attempts (attempt);
    CREATE INDEX login_attempts_at ON login_attempts (at);
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder UUID NOT NULL,
        expires_at BIGINT NOT NULL
    );
    "#,
    // 4: verification reads each page's case/client links by seq, to compare them with
    // what the bodies give (`derived.rs`); the included columns make it an index-only
    // scan.
    r#"
    CREATE INDEX event_records_seq ON event_records (acct, seq) INCLUDE (kind, record_id, occurred_at);
    "#,
    // 5: the Merkle tree of docs/API.md §15, one row per full subtree (level 0: the
    // leaves), and each checkpoint's tree head. A purge never deletes a node. The
    // tree of events stored before this step is built at open (`tree.rs`).
    r#"
    CREATE TABLE merkle_nodes (
        acct BIGINT NOT NULL,
        level SMALLINT NOT NULL,
        idx BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        PRIMARY KEY (acct, level, idx)
    );
    ALTER TABLE checkpoints ADD COLUMN root_hash BYTEA, ADD COLUMN note TEXT;
    "#,
    // 6: streams (casetrail_store::streams): each is a position in its account's chain
    // and the lease of the one server that delivers it; no copy of any event.
    r#"
    CREATE TABLE streams (
        id UUID PRIMARY KEY,
        acct BIGINT NOT NULL REFERENCES accounts (pk),
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        format TEXT NOT NULL,
        filters TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        secret TEXT,
        ca_cert TEXT,
        created_at BIGINT NOT NULL,
        delivered_seq BIGINT NOT NULL,
        last_delivery_at BIGINT,
        last_error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        lease_holder UUID,
        lease_until BIGINT
    );
    CREATE INDEX streams_acct ON streams (acct);
    "#,
    // 7: masking and retention by category (docs/API.md §14). Accounts made before
    // masking existed get the default patterns too: a firm upgrading should not keep
    // logging passwords because it never opened a settings page. The fingerprint key
    // is made the first time it is needed (`fingerprint_key`).
    r#"
    ALTER TABLE accounts ADD COLUMN masking TEXT NOT NULL
        DEFAULT '["password","*.password","ssn","*.ssn","secret","*.secret","token","*.token"]';
    ALTER TABLE accounts ADD COLUMN masking_key BYTEA;
    ALTER TABLE accounts ADD COLUMN retention_categories TEXT NOT NULL DEFAULT '{}';
    "#,
    // 8: the related-records index behind a record's history (`history.rs`), filled
    // from the stored bodies for the events already there.
    r#"
    CREATE TABLE record_events (
        acct BIGINT NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        occurred_at BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        first BOOLEAN NOT NULL,
        PRIMARY KEY (acct, kind, record_id, occurred_at, seq)
    );
    CREATE INDEX record_events_seq ON record_events (acct, seq);
    INSERT INTO record_events (acct, kind, record_id, occurred_at, seq, first)
        SELECT e.acct, r.value ->> 'type', r.value ->> 'id', e.occurred_at, e.seq, bool_or(r.ord = 1)
        FROM events e, jsonb_array_elements(e.body::jsonb -> 'related') WITH ORDINALITY AS r (value, ord)
        GROUP BY 1, 2, 3, 4, 5;
    "#,
    // 9: retention by category (docs/API.md §14). A run's tally keeps the cutoffs of
    // the categories with a retention of their own, and its default cutoff may be
    // none (the account keeps forever what has no retention of its own).
    r#"
    ALTER TABLE purge_runs ALTER COLUMN cutoff DROP NOT NULL;
    ALTER TABLE purge_runs ADD COLUMN categories TEXT NOT NULL DEFAULT '{}';
    "#,
    // 10: a record's field history reads only the events that lead it and changed
    // something (`casetrail_store::derived::history_links`), not every event it is
    // first in: a busy client's messages changed nothing.
    r#"
    ALTER TABLE record_events RENAME COLUMN first TO leads;
    UPDATE record_events r SET leads = false
    FROM events e
    WHERE r.leads AND e.acct = r.acct AND e.seq = r.seq
      AND jsonb_array_length(e.body::jsonb -> 'changes') = 0;
    "#,
];

/// The first key of the migrations' advisory lock (the second is the schema's).
const LOCK_CLASS: i32 = 0x0CA5_E7A1;

/// Brings the schema the connection's `search_path` selects up to date, one
/// transaction per step. Each step first takes a transaction-scoped advisory lock
/// keyed by that schema, then reads the version: several servers starting at once on
/// a new database apply each step once (the others wait, then find it done), and
/// schemas of one database (tests) do not wait for each other.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let latest = MIGRATIONS.len() as i32;
    let exists: bool = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await?.get(0);
    if exists {
        let done: i32 = client.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await?.get(0);
        if done >= latest {
            return Ok(());
        }
    }
    for (version, sql) in (1..).zip(MIGRATIONS) {
        let tx = client.transaction().await?;
        // A step may take longer than the connection's statement timeout, and another
        // server's step longer than its lock timeout; both stay within the 60 s that
        // `connect` allows. (A step that rewrites a large table needs more than that:
        // make such a step online, or run it before the servers start.)
        // `client_min_messages`: the "already exists, skipping" notice of the next
        // statement is expected on every step but the first, and not worth a log line.
        tx.batch_execute(
            "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '50s'; SET LOCAL client_min_messages = warning",
        )
        .await?;
        tx.execute("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", &[&LOCK_CLASS]).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let current: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await?.get(0);
        if current < version {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[&version, &Timestamp::now().as_millis()],
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
