//! The raw PostgreSQL engine: the same events in plain tokio-postgres, without casetrail.
//!
//! Its schema is a throwaway one made by the store's own migrations
//! (`PostgresStore::open_temporary`, feature `testing`: same tables, indexes and
//! `tsvector` search column), dropped at the end of the run. Rows are prepared before
//! the clock starts — canonical body, hashes and the store's own search lexemes
//! (`casetrail_store_postgres::search_lexemes`) — so the timed part is only what
//! PostgreSQL does. Two ways of writing a batch, one transaction each:
//!
//! - **unnest**: the store's statements (`append.rs`): one `INSERT … SELECT FROM
//!   unnest(…)` per table, the pickers' upserts, the head's update;
//! - **COPY**: binary `COPY … FROM STDIN` for `events` and `event_records`
//!   (`BinaryCopyInWriter`, the `tsvector` sent in its binary form), the same upserts
//!   and update (COPY cannot upsert).
//!
//! Reads run the store's own browse SQL (`casetrail_store_postgres::browse_page`), the
//! chain walk and the export's SELECT through portals of 10,000 rows.

use std::collections::HashMap;
use std::pin::pin;
use std::time::{Duration, Instant};

use crate::raw::picker_search;
use casetrail_core::Timestamp;
use casetrail_core::chain::{ChainHash, ChainedEvent, link};
use casetrail_core::query::{BrowseQuery, Cursor};
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_store_postgres::PostgresStore;
use serde_json::{Value, json};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls};

/// Rows per round trip of the chain walk and the export.
const FETCH: i32 = 10_000;

/// One event as rows, ready to write.
#[derive(Debug)]
pub struct PgRow {
    seq: i64,
    id: uuid::Uuid,
    occurred: i64,
    actor_id: String,
    actor_name: String,
    actor_email: Option<String>,
    activity: &'static str,
    idem: Option<String>,
    body: String,
    prev: Vec<u8>,
    hash: Vec<u8>,
    related: Vec<(&'static str, String, Option<String>)>,
    words: String,
}

/// How a batch is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Unnest,
    Copy,
}

/// The raw engine's schema and connection; the schema is dropped with `_schema`.
#[derive(Debug)]
pub struct RawPg {
    pub client: Client,
    pub pk: i64,
    head_seq: u64,
    head_hash: ChainHash,
    /// Keeps the throwaway schema; dropped last.
    _schema: PostgresStore,
}

/// Connects a plain client (no pool, no statement cache) to `url`.
pub async fn plain_client(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

impl RawPg {
    pub async fn create(server_url: &str) -> anyhow::Result<RawPg> {
        let schema = PostgresStore::open_temporary(server_url).await?;
        let client = plain_client(schema.url()).await?;
        let row = client
            .query_one(
                "INSERT INTO accounts (id, name, created_at) VALUES ($1, 'raw', 0) RETURNING pk",
                &[&casetrail_core::AccountId::new_v7().into_inner()],
            )
            .await?;
        Ok(RawPg { client, pk: row.get(0), head_seq: 0, head_hash: ChainHash::default(), _schema: schema })
    }

    /// Turns ingest event objects into rows, none of it timed.
    pub fn prepare(&mut self, events: Vec<Value>) -> anyhow::Result<Vec<PgRow>> {
        let rules = IngestRules { now: Timestamp::now(), window_start: None, allow_reserved: false };
        let parsed = parse_ingest(&json!({ "events": events }), &rules)
            .map_err(|e| anyhow::anyhow!("the generator made an invalid event: {e:?}"))?;
        let recorded_at = Timestamp::now();
        let mut rows = Vec::with_capacity(parsed.len());
        for new in parsed {
            let seq = self.head_seq + 1;
            let id = casetrail_core::EventId::new_v7();
            let event = new.into_event(id, casetrail_core::AccountId::nil(), seq, recorded_at);
            let sealed = ChainedEvent::seal(&event, self.head_hash);
            (self.head_seq, self.head_hash) = (seq, sealed.hash);
            rows.push(PgRow {
                seq: seq as i64,
                id: id.into_inner(),
                occurred: event.occurred_at.as_millis(),
                words: casetrail_store_postgres::search_lexemes(&event),
                actor_id: event.actor.id,
                actor_name: event.actor.name,
                actor_email: event.actor.email,
                activity: event.activity.key(),
                idem: event.idempotency_key,
                body: sealed.body,
                prev: sealed.prev_hash.0.to_vec(),
                hash: sealed.hash.0.to_vec(),
                related: event.related.into_iter().map(|r| (r.kind.key(), r.id, r.name)).collect(),
            });
        }
        Ok(rows)
    }

    /// Writes the rows in one transaction; answers how long it took, commit included.
    pub async fn insert(&mut self, rows: &[PgRow], how: Write) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let pk = self.pk;
        let tx = self.client.transaction().await?;
        let links: Vec<(&str, &str, i64, i64)> = rows
            .iter()
            .flat_map(|r| {
                r.related
                    .iter()
                    .filter(|(k, ..)| matches!(*k, "case" | "client"))
                    .map(move |(k, id, _)| (*k, id.as_str(), r.occurred, r.seq))
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        match how {
            Write::Unnest => {
                let acct = vec![pk; rows.len()];
                let seq: Vec<i64> = rows.iter().map(|r| r.seq).collect();
                let id: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
                let occurred: Vec<i64> = rows.iter().map(|r| r.occurred).collect();
                let actor: Vec<&str> = rows.iter().map(|r| r.actor_id.as_str()).collect();
                let activity: Vec<&str> = rows.iter().map(|r| r.activity).collect();
                let idem: Vec<Option<&str>> = rows.iter().map(|r| r.idem.as_deref()).collect();
                let body: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
                let prev: Vec<&[u8]> = rows.iter().map(|r| r.prev.as_slice()).collect();
                let hash: Vec<&[u8]> = rows.iter().map(|r| r.hash.as_slice()).collect();
                let words: Vec<&str> = rows.iter().map(|r| r.words.as_str()).collect();
                tx.execute(
                    "INSERT INTO events (acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash, search)
                     SELECT acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash,
                            array_to_tsvector(string_to_array(words, ' '))
                     FROM unnest($1::bigint[], $2::bigint[], $3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                                 $8::text[], $9::bytea[], $10::bytea[], $11::text[])
                          AS u (acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash, words)",
                    &[&acct, &seq, &id, &occurred, &actor, &activity, &idem, &body, &prev, &hash, &words],
                )
                .await?;
                if !links.is_empty() {
                    let acct = vec![pk; links.len()];
                    let kind: Vec<&str> = links.iter().map(|l| l.0).collect();
                    let rid: Vec<&str> = links.iter().map(|l| l.1).collect();
                    let at: Vec<i64> = links.iter().map(|l| l.2).collect();
                    let seq: Vec<i64> = links.iter().map(|l| l.3).collect();
                    tx.execute(
                        "INSERT INTO event_records (acct, kind, record_id, occurred_at, seq)
                         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])",
                        &[&acct, &kind, &rid, &at, &seq],
                    )
                    .await?;
                }
            }
            Write::Copy => {
                let sink = tx
                    .copy_in(
                        "COPY events (acct, seq, id, occurred_at, actor_id, activity, idem_key, body, prev_hash, hash, \
                         search) FROM STDIN (FORMAT binary)",
                    )
                    .await?;
                let types = [
                    Type::INT8,
                    Type::INT8,
                    Type::UUID,
                    Type::INT8,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::BYTEA,
                    Type::BYTEA,
                    Type::TS_VECTOR,
                ];
                let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
                for r in rows {
                    let words = TsVector(&r.words);
                    writer
                        .as_mut()
                        .write(&[
                            &pk,
                            &r.seq,
                            &r.id,
                            &r.occurred,
                            &r.actor_id,
                            &r.activity,
                            &r.idem,
                            &r.body,
                            &r.prev,
                            &r.hash,
                            &words,
                        ])
                        .await?;
                }
                writer.finish().await?;
                if !links.is_empty() {
                    let sink = tx
                        .copy_in(
                            "COPY event_records (acct, kind, record_id, occurred_at, seq) FROM STDIN (FORMAT binary)",
                        )
                        .await?;
                    let types = [Type::INT8, Type::TEXT, Type::TEXT, Type::INT8, Type::INT8];
                    let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
                    for (kind, rid, at, seq) in &links {
                        writer.as_mut().write(&[&pk, kind, rid, at, seq]).await?;
                    }
                    writer.finish().await?;
                }
            }
        }
        pickers(&tx, pk, rows).await?;
        let last = rows.last().map_or((0, vec![0u8; 32]), |r| (r.seq, r.hash.clone()));
        tx.execute("UPDATE accounts SET head_seq = $1, head_hash = $2 WHERE pk = $3", &[&last.0, &last.1, &pk]).await?;
        tx.commit().await?;
        Ok(started.elapsed())
    }

    /// Refreshes the planner's statistics of the raw schema.
    pub async fn analyze(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.client.batch_execute("ANALYZE").await?;
        Ok(started.elapsed())
    }

    /// Walks the chain in seq order and checks every link; answers the events checked.
    pub async fn verify_chain(&mut self) -> anyhow::Result<u64> {
        let (mut prev, mut checked) = (ChainHash::default(), 0u64);
        let pk = self.pk;
        let tx = self.client.transaction().await?;
        let st = tx.prepare("SELECT seq, body, prev_hash, hash FROM events WHERE acct = $1 ORDER BY seq").await?;
        let portal = tx.bind(&st, &[&pk]).await?;
        loop {
            let rows = tx.query_portal(&portal, FETCH).await?;
            for row in &rows {
                let body: &str = row.get(1);
                let stored_prev = ChainHash::from_slice(row.get(2)).unwrap_or_default();
                let hash = ChainHash::from_slice(row.get(3)).unwrap_or_default();
                let seq: i64 = row.get(0);
                anyhow::ensure!(stored_prev == prev && link(&prev, body) == hash, "raw chain broken at seq {seq}");
                prev = hash;
                checked += 1;
            }
            if rows.len() < FETCH as usize {
                break;
            }
        }
        tx.commit().await?;
        Ok(checked)
    }

    /// Hands every stored body to `f`, newest first (the export's order); answers how
    /// many.
    pub async fn bodies_newest_first(&mut self, mut f: impl FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        let pk = self.pk;
        let tx = self.client.transaction().await?;
        let st = tx.prepare("SELECT body FROM events WHERE acct = $1 ORDER BY occurred_at DESC, seq DESC").await?;
        let portal = tx.bind(&st, &[&pk]).await?;
        let mut n = 0;
        loop {
            let rows = tx.query_portal(&portal, FETCH).await?;
            for row in &rows {
                f(row.get(0))?;
                n += 1;
            }
            if rows.len() < FETCH as usize {
                break;
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    /// One page, with the very statements the store runs for the same query.
    pub async fn page(&self, query: &BrowseQuery) -> anyhow::Result<(usize, Option<Cursor>)> {
        let page = casetrail_store_postgres::browse_page(&self.client, self.pk, query)
            .await
            .map_err(|e| anyhow::anyhow!("raw page: {e}"))?;
        Ok((page.events.len(), page.next_cursor))
    }
}

/// The pickers' upserts, as the store makes them (the newest name wins).
async fn pickers(tx: &tokio_postgres::Transaction<'_>, pk: i64, rows: &[PgRow]) -> anyhow::Result<()> {
    let mut actors: HashMap<&str, (&str, Option<&str>, i64)> = HashMap::new();
    let mut records: HashMap<(&str, &str), (Option<&str>, i64)> = HashMap::new();
    for r in rows {
        actors.insert(&r.actor_id, (&r.actor_name, r.actor_email.as_deref(), r.occurred));
        for (kind, id, name) in &r.related {
            records.insert((kind, id), (name.as_deref(), r.occurred));
        }
    }
    let (ids, rest): (Vec<&str>, Vec<_>) = actors.into_iter().unzip();
    let names: Vec<&str> = rest.iter().map(|a| a.0).collect();
    let emails: Vec<Option<&str>> = rest.iter().map(|a| a.1).collect();
    let search: Vec<String> =
        (0..ids.len()).map(|i| picker_search(&[Some(names[i]), emails[i], Some(ids[i])])).collect();
    let seen: Vec<i64> = rest.iter().map(|a| a.2).collect();
    tx.execute(
        "INSERT INTO actors (acct, actor_id, name, email, search, last_seen)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
         ON CONFLICT (acct, actor_id) DO UPDATE SET name = excluded.name, email = excluded.email,
            search = excluded.search, last_seen = excluded.last_seen
         WHERE excluded.last_seen >= actors.last_seen",
        &[&pk, &ids, &names, &emails, &search, &seen],
    )
    .await?;
    let (keys, rest): (Vec<(&str, &str)>, Vec<_>) = records.into_iter().unzip();
    let kinds: Vec<&str> = keys.iter().map(|k| k.0).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.1).collect();
    let names: Vec<Option<&str>> = rest.iter().map(|r| r.0).collect();
    let search: Vec<String> = (0..ids.len()).map(|i| picker_search(&[names[i], Some(ids[i])])).collect();
    let seen: Vec<i64> = rest.iter().map(|r| r.1).collect();
    tx.execute(
        "INSERT INTO records (acct, kind, record_id, name, search, last_seen)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
         ON CONFLICT (acct, kind, record_id) DO UPDATE SET name = coalesce(excluded.name, records.name),
            search = CASE WHEN excluded.name IS NULL THEN records.search ELSE excluded.search END,
            last_seen = excluded.last_seen
         WHERE excluded.last_seen >= records.last_seen",
        &[&pk, &kinds, &ids, &names, &search, &seen],
    )
    .await?;
    Ok(())
}

/// A `tsvector` in PostgreSQL's binary form, from our space-separated distinct words:
/// the count, then each lexeme as a C string with no positions. The server sorts the
/// lexemes itself when they come unsorted.
#[derive(Debug)]
struct TsVector<'a>(&'a str);

impl ToSql for TsVector<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let words: Vec<&str> = self.0.split(' ').filter(|w| !w.is_empty()).collect();
        out.extend_from_slice(&(words.len() as i32).to_be_bytes());
        for w in words {
            out.extend_from_slice(w.as_bytes());
            out.extend_from_slice(&[0, 0, 0]);
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "tsvector"
    }

    to_sql_checked!();
}
