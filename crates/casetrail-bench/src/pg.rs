//! A run on PostgreSQL (`--database-url postgres://…`): the same phases as on SQLite,
//! each on a throwaway schema of that database (`PostgresStore::open_temporary`,
//! dropped at the end), beside the raw PostgreSQL engine ([`crate::raw_pg`]):
//!
//! 1. raw engine and `Store::append` side by side, batch after batch; the raw engine
//!    writes odd batches by binary COPY and even ones by the store's `unnest`
//!    statements, into the same tables, so both ways meet the same table sizes and the
//!    same noise;
//! 2. on the raw engine: the query plan before and after `ANALYZE`, the chain walk, the
//!    export writer fed from a plain SELECT, one transaction per event, then the purge
//!    of the old events by `DELETE` beside a partitioned copy's `DETACH`/`DROP`
//!    ([`crate::pg_purge`]);
//! 3. the server children on the product's schema (`--database-url`): every HTTP phase
//!    of [`crate::server::http_phase`];
//! 4. ingest through one server and through two servers on one database, for one
//!    account and for several, with where the CPU time went ([`crate::pg_spread`]).

use std::sync::Arc;
use std::time::Instant;

use casetrail_export::{ExportWriter, Format};
use casetrail_store::{AccountId, AccountStore, Store};
use casetrail_store_postgres::PostgresStore;
use serde_json::{Value, json};

use crate::child::ServerDir;
use crate::ingest::{self, Body, IngestResult, Meter};
use crate::machine::Phases;
use crate::queries;
use crate::raw_pg::{RawPg, Write, plain_client};
use crate::report::{IngestRow, QueryRow, VerifyRow, int};
use crate::server::{self, BATCH_CLIENTS, HttpInput, SINGLE_CLIENTS};
use crate::stats::Samples;
use crate::{export, pg_purge, pg_report, pg_spread, verify};

/// Everything a PostgreSQL run measured, for the report.
#[derive(Debug, Default)]
pub struct PgOutput {
    pub ingest: Vec<IngestRow>,
    pub queries: Vec<QueryRow>,
    pub verify: Option<VerifyRow>,
    pub exports: Vec<export::ExportFigures>,
    pub purge: Option<crate::purge::PurgeFigures>,
    pub memory: Option<server::ServerMemory>,
    pub notes: Vec<String>,
    pub stats_fresh: bool,
    pub summary: serde_json::Map<String, Value>,
    pub markdown: String,
}

/// One body into the raw engine, one transaction; parsing and preparing untimed.
async fn raw_step(db: &mut RawPg, body: &Body, how: Write, meter: &mut Meter) -> anyhow::Result<()> {
    let value: Value = serde_json::from_slice(&body.bytes)?;
    let events = match value.get("events").and_then(Value::as_array) {
        Some(list) => list.clone(),
        None => vec![value],
    };
    let rows = db.prepare(events)?;
    let took = db.insert(&rows, how).await?;
    meter.add(took, rows.len());
    Ok(())
}

/// Raw (COPY on odd batches, unnest on even ones) and `Store::append`, batch after batch.
async fn side_by_side(
    raw: &mut RawPg,
    store: &dyn Store,
    account: AccountId,
    bodies: &[Body],
) -> anyhow::Result<(IngestResult, IngestResult, IngestResult, IngestResult)> {
    let (mut unnest, mut copy, mut all, mut cased) =
        (Meter::default(), Meter::default(), Meter::default(), Meter::default());
    for (i, body) in bodies.iter().enumerate() {
        let how = if i % 2 == 1 { Write::Copy } else { Write::Unnest };
        let mut one = Meter::default();
        raw_step(raw, body, how, &mut one).await?;
        let step = one.finish();
        match how {
            Write::Copy => copy.add(step.elapsed, step.events),
            Write::Unnest => unnest.add(step.elapsed, step.events),
        }
        all.add(step.elapsed, step.events);
        ingest::store_step(store, account, body, &mut cased).await?;
    }
    Ok((unnest.finish(), copy.finish(), all.finish(), cased.finish()))
}

/// The raw engine's export of every stored event, `runs` times.
async fn raw_export(raw: &mut RawPg, format: Format, runs: usize) -> anyhow::Result<(Samples, u64)> {
    let (mut times, mut rows) = (Samples::default(), 0);
    for _ in 0..runs {
        let started = Instant::now();
        let mut writer = ExportWriter::new(format, std::io::sink())?;
        raw.bodies_newest_first(|body| Ok(writer.write_stored(body)?)).await?;
        rows = writer.finish()?.rows;
        times.push(started.elapsed());
    }
    Ok((times, rows))
}

/// The whole PostgreSQL run.
pub async fn run(
    url: &str,
    data: &crate::data::Dataset,
    input: HttpInput<'_>,
    tmp: &std::path::Path,
    phases: &mut Phases,
) -> anyhow::Result<PgOutput> {
    let mut out = PgOutput::default();
    let watch = phases.begin();
    let mut raw = RawPg::create(url).await?;
    let (unnest, copy, raw_all, store_batch) = {
        let store = PostgresStore::open_temporary(url).await?;
        let account = store.create_account(&data.firm.name).await?;
        side_by_side(&mut raw, &store, account.id, &input.batches).await?
    };
    eprintln!(
        "  raw unnest: {} events/s, raw COPY: {} events/s, store: {} events/s",
        int(unnest.eps()),
        int(copy.eps()),
        int(store_batch.eps())
    );
    phases.end("raw + store ingest", watch);

    let watch = phases.begin();
    let raw_no_stats = queries::run(&mut queries::RawPgPager(&raw), input.plan).await?;
    let analyze = raw.analyze().await?;
    let raw_queries = queries::run(&mut queries::RawPgPager(&raw), input.plan).await?;
    let (mut raw_verify, mut raw_verified) = (Samples::default(), 0);
    for _ in 0..verify::full_runs(data.count) {
        let started = Instant::now();
        raw_verified = raw.verify_chain().await?;
        raw_verify.push(started.elapsed());
    }
    let mut raw_exports = Vec::new();
    for format in Format::ALL {
        raw_exports.push(raw_export(&mut raw, format, input.export_runs).await?);
    }
    let mut single = Meter::default();
    for body in input.singles.iter().take(crate::RAW_SINGLE_MAX) {
        raw_step(&mut raw, body, Write::Unnest, &mut single).await?;
    }
    let raw_single = single.finish();
    let raw_purge = pg_purge::raw(&mut raw, data, input.old_events).await?;
    let raw_size = schema_size(&raw.client).await?;
    drop(raw);
    phases.end("raw queries, export, purge", watch);

    let batches_for_spread = pg_spread::batches(&input.batches, data.count);

    let product = PostgresStore::open_temporary(url).await?;
    let dir = ServerDir::postgres(tmp, "pg-server", product.url())?;
    let store: Arc<dyn Store> = Arc::new(product.clone());
    let firm = server::provision(store.as_ref(), data).await?;
    let mut http = server::http_phase(data, input, &dir, store, firm, phases).await?;
    for (figures, raw) in http.exports.iter_mut().zip(raw_exports) {
        (figures.raw, figures.raw_rows) = raw;
    }
    let client = plain_client(product.url()).await?;
    out.stats_fresh = has_statistics(&client).await?;
    let db_size = schema_size(&client).await?;
    drop(client);
    drop(product);

    let watch = phases.begin();
    let spreads = pg_spread::compare(url, tmp, data, &batches_for_spread).await?;
    phases.end("one vs two servers", watch);

    let raw_name = |what: &str| format!("tokio-postgres, {what}");
    let best = if copy.eps() >= unnest.eps() { ("binary COPY", &copy) } else { ("unnest", &unnest) };
    out.ingest = vec![
        IngestRow {
            name: format!("HTTP, batches of {}, {BATCH_CLIENTS} clients", crate::BATCH),
            result: http.batch.clone(),
            raw: Some((raw_name(&format!("1000 per transaction, {} (the faster way)", best.0)), best.1.clone())),
        },
        IngestRow {
            name: format!("HTTP, single events, {SINGLE_CLIENTS} clients"),
            result: http.single,
            raw: Some((raw_name("1 transaction per event (sequential)"), raw_single)),
        },
        IngestRow {
            name: format!("Store::append, batches of {}", crate::BATCH),
            result: store_batch.clone(),
            raw: Some((raw_name("1000 per transaction, unnest (the store's statements)"), unnest.clone())),
        },
        IngestRow {
            name: format!("Store::append, batches of {}", crate::BATCH),
            result: store_batch,
            raw: Some((raw_name("1000 per transaction, binary COPY"), copy.clone())),
        },
    ];
    out.queries = crate::sqlite_run::join_queries(http.queries, http.store_queries, raw_queries, raw_no_stats);
    out.verify = Some(VerifyRow { casetrail: http.verify, raw: raw_verify, raw_events: raw_verified });
    let csv_rows_per_s = http.exports.iter().find(|e| e.format == Format::Csv).and_then(|e| e.rows_per_s());
    let evidence_markdown = crate::evidence::markdown(&http.evidence, csv_rows_per_s);
    out.summary.extend(crate::evidence::summary(&http.evidence));
    out.exports = http.exports;
    out.purge = Some(http.purge);
    out.memory = Some(http.memory);
    out.notes = vec![
        format!(
            "Database size (tables and indexes of the schema): casetrail {} MiB, raw {} MiB; raw `ANALYZE` took {:.1} s",
            db_size >> 20,
            raw_size >> 20,
            analyze.as_secs_f64()
        ),
        format!(
            "Raw ingest, all batches: {} events/s (COPY and unnest alternating); each way alone in the table",
            int(raw_all.eps())
        ),
    ];
    out.summary.insert("engine".into(), json!("postgres"));
    out.summary.insert("raw_unnest_eps".into(), json!(unnest.eps()));
    out.summary.insert("raw_copy_eps".into(), json!(copy.eps()));
    out.summary.insert("raw_best_eps".into(), json!(best.1.eps()));
    out.markdown = pg_report::markdown(&spreads, &raw_purge, &copy, &unnest, &mut out.summary);
    out.markdown += &evidence_markdown;
    out.summary.extend(crate::history::summary(&http.history));
    out.markdown += &crate::history::markdown(&http.history);
    Ok(out)
}

/// Whether PostgreSQL's planner statistics exist for `events` in the schema the
/// client's `search_path` selects (an `ANALYZE`, by hand or by autovacuum).
async fn has_statistics(client: &tokio_postgres::Client) -> anyhow::Result<bool> {
    let row = client
        .query_one(
            "SELECT coalesce(bool_or(coalesce(last_analyze, last_autoanalyze) IS NOT NULL), false)
             FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'events'",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// Bytes of every table of the client's schema, indexes and TOAST included.
async fn schema_size(client: &tokio_postgres::Client) -> anyhow::Result<u64> {
    let row = client
        .query_one(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            &[],
        )
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}
