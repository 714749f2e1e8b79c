//! Retention on the raw PostgreSQL engine: would time partitions pay?
//!
//! The same old events as the product's purge (10 % of N, dated 91–120 days ago) go
//! into the raw engine by COPY. Then a partitioned copy of `events` and
//! `event_records` is made (range on `occurred_at`: one partition before the retention
//! cutoff, one after; a real layout would cut by month and purge up to a month late),
//! and two ways of removing the old events are timed:
//!
//! - `DELETE` of every event (and link) older than the cutoff, one transaction, as a
//!   purge without partitions must (the store's purge does it in batches, with
//!   tombstones and a tally on top);
//! - on the partitioned copy, what a purge by partitions must do when legal holds keep
//!   single events of old periods: copy the held events (1 % here) into a new table,
//!   `DETACH` and `DROP` the old partition, `ATTACH` the held events' table in its
//!   place.

use std::time::{Duration, Instant};

use casetrail_core::Timestamp;
use serde_json::Value;

use crate::data::Dataset;
use crate::raw_pg::{RawPg, Write};

const DAY_MS: i64 = 86_400_000;
/// One event in this many is "held" in the partition experiment.
const HELD_EVERY: i64 = 100;

/// What the raw purge experiment measured.
#[derive(Debug, Clone, Default)]
pub struct RawPurge {
    pub old: usize,
    /// Rows in `events` when the purge ran.
    pub total: u64,
    pub deleted: u64,
    pub delete: Duration,
    /// Building the partitioned copy (not part of either purge).
    pub partition_build: Duration,
    pub held: u64,
    pub copy_held: Duration,
    pub detach_drop: Duration,
    pub attach: Duration,
}

impl RawPurge {
    pub fn partition_total(&self) -> Duration {
        self.copy_held + self.detach_drop + self.attach
    }
}

/// Stores the old events, builds the partitioned copy, then times both purges.
pub async fn raw(raw: &mut RawPg, data: &Dataset, old: usize) -> anyhow::Result<RawPurge> {
    let now = Timestamp::now();
    let mut events = crate::purge::old_events(data, data.seed.wrapping_add(3), old, now);
    loop {
        let chunk: Vec<Value> = events.by_ref().take(crate::BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        let rows = raw.prepare(chunk)?;
        raw.insert(&rows, Write::Copy).await?;
    }
    let cutoff = now.as_millis() - 90 * DAY_MS;
    let mut out = RawPurge { old, ..RawPurge::default() };
    let c = &raw.client;
    out.total = c.query_one("SELECT count(*) FROM events", &[]).await?.get::<_, i64>(0) as u64;

    // Bounds are literals in DDL; `cutoff` is a number we computed.
    let started = Instant::now();
    c.batch_execute(&format!(
        "CREATE TABLE events_p (LIKE events INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
         CREATE TABLE events_p_old PARTITION OF events_p FOR VALUES FROM (MINVALUE) TO ({cutoff});
         CREATE TABLE events_p_new PARTITION OF events_p FOR VALUES FROM ({cutoff}) TO (MAXVALUE);
         INSERT INTO events_p SELECT * FROM events;
         ALTER TABLE events_p ADD PRIMARY KEY (acct, occurred_at, seq);
         CREATE INDEX ON events_p (acct, occurred_at, seq);
         CREATE INDEX ON events_p (acct, actor_id, occurred_at, seq);
         CREATE INDEX ON events_p (acct, activity, occurred_at, seq);
         CREATE INDEX ON events_p USING gin (search);
         CREATE TABLE records_p (LIKE event_records INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
         CREATE TABLE records_p_old PARTITION OF records_p FOR VALUES FROM (MINVALUE) TO ({cutoff});
         CREATE TABLE records_p_new PARTITION OF records_p FOR VALUES FROM ({cutoff}) TO (MAXVALUE);
         INSERT INTO records_p SELECT * FROM event_records;
         ALTER TABLE records_p ADD PRIMARY KEY (acct, kind, record_id, occurred_at, seq);
         ANALYZE events_p; ANALYZE records_p;"
    ))
    .await?;
    out.partition_build = started.elapsed();

    let pk = raw.pk;
    let tx = raw.client.transaction().await?;
    let started = Instant::now();
    tx.execute("DELETE FROM event_records WHERE acct = $1 AND occurred_at < $2", &[&pk, &cutoff]).await?;
    out.deleted = tx.execute("DELETE FROM events WHERE acct = $1 AND occurred_at < $2", &[&pk, &cutoff]).await?;
    tx.commit().await?;
    out.delete = started.elapsed();
    anyhow::ensure!(out.deleted == old as u64, "the raw DELETE removed {} events; {old} were old", out.deleted);

    let tx = raw.client.transaction().await?;
    let started = Instant::now();
    tx.batch_execute(&format!(
        "CREATE TABLE events_p_held (LIKE events_p INCLUDING DEFAULTS);
         INSERT INTO events_p_held SELECT * FROM events_p_old WHERE seq % {HELD_EVERY} = 0;
         CREATE TABLE records_p_held (LIKE records_p INCLUDING DEFAULTS);
         INSERT INTO records_p_held SELECT r.* FROM records_p_old r WHERE r.seq % {HELD_EVERY} = 0;"
    ))
    .await?;
    out.copy_held = started.elapsed();
    let started = Instant::now();
    tx.batch_execute(
        "ALTER TABLE events_p DETACH PARTITION events_p_old; DROP TABLE events_p_old;
         ALTER TABLE records_p DETACH PARTITION records_p_old; DROP TABLE records_p_old;",
    )
    .await?;
    out.detach_drop = started.elapsed();
    let started = Instant::now();
    tx.batch_execute(&format!(
        "ALTER TABLE events_p ATTACH PARTITION events_p_held FOR VALUES FROM (MINVALUE) TO ({cutoff});
         ALTER TABLE records_p ATTACH PARTITION records_p_held FOR VALUES FROM (MINVALUE) TO ({cutoff});"
    ))
    .await?;
    out.attach = started.elapsed();
    tx.commit().await?;
    out.held = raw.client.query_one("SELECT count(*) FROM events_p_held", &[]).await?.get::<_, i64>(0) as u64;
    let left: i64 = raw.client.query_one("SELECT count(*) FROM events_p", &[]).await?.get(0);
    anyhow::ensure!(
        left as u64 == out.total - old as u64 + out.held,
        "the partitioned copy holds {left} events after the swap, expected {}",
        out.total - old as u64 + out.held
    );
    // The copy is no longer needed; the raw schema goes at the end anyway.
    raw.client.batch_execute("DROP TABLE events_p; DROP TABLE records_p").await?;
    Ok(out)
}
