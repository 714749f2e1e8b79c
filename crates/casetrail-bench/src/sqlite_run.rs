//! A run on SQLite: the raw engine and `Store::append` side by side on fresh
//! databases, then the HTTP phase ([`side_by_side`]); or the store built directly
//! ([`crate::direct`]). Either way the figures become one [`Run`] ([`assemble`]).

use std::path::Path;
use std::time::{Duration, Instant};

use casetrail_export::Format;

use crate::data::Dataset;
use crate::finish::command_line;
use crate::ingest::{self, IngestResult};
use crate::machine::{Machine, Phases};
use crate::queries::{self, Timing};
use crate::report::{Engine, IngestRow, QueryRow, Run, VerifyRow};
use crate::server::{self, BATCH_CLIENTS, HttpFigures, HttpInput, SINGLE_CLIENTS};
use crate::stats::Samples;
use crate::{Args, BATCH, RAW_SINGLE_MAX, evidence, export, history, raw, report, storage, verify};

/// Everything a SQLite run measured, before it becomes a report.
#[derive(Debug)]
pub struct SqliteFigures {
    /// The store without HTTP: its row's name, its figures, and the raw engine's beside it.
    pub store: (String, IngestResult, Option<IngestResult>),
    /// Batches of 1000 into the raw engine, beside HTTP batch ingest.
    pub raw_batch: IngestResult,
    /// Empty when the raw engine's queries ran only once, after `ANALYZE`.
    pub raw_no_stats: Vec<Timing>,
    pub raw_queries: Vec<Timing>,
    pub raw_rest: RawRest,
    pub analyze: Duration,
    pub http: HttpFigures,
    /// What the way the store was built says of the figures.
    pub notes: Vec<String>,
}

/// What the raw engine measured after its queries, the same way whichever way the
/// store was built.
#[derive(Debug)]
pub struct RawRest {
    pub verify: (Samples, u64),
    pub exports: Vec<(Samples, u64)>,
    pub single: IngestResult,
    pub size: u64,
    pub storage: storage::Storage,
}

/// The raw engine's chain walk, exports of every event, single-event transactions and
/// sizes, on `raw` as its queries left it.
pub fn raw_rest(raw: &mut raw::RawDb, data: &Dataset, input: &HttpInput<'_>) -> anyhow::Result<RawRest> {
    let verify = verify::raw(&raw.reader()?, verify::full_runs(data.count))?;
    let exports = Format::ALL
        .iter()
        .map(|f| export::raw(&raw.reader()?, *f, input.export_runs))
        .collect::<anyhow::Result<_>>()?;
    let single = ingest::raw(raw, &input.singles[..input.singles.len().min(RAW_SINGLE_MAX)])?;
    Ok(RawRest { verify, exports, single, size: raw.size_bytes(), storage: storage::read(raw.path())? })
}

/// The raw engine and the store batch after batch on fresh databases, the raw engine's
/// reads, then the HTTP phase on a third database.
pub fn side_by_side(
    rt: &tokio::runtime::Runtime,
    data: &Dataset,
    input: HttpInput<'_>,
    tmp: &Path,
    phases: &mut Phases,
) -> anyhow::Result<SqliteFigures> {
    let watch = phases.begin();
    let mut raw = raw::RawDb::create(tmp)?;
    let (raw_batch, store_batch) = rt.block_on(async {
        let store = casetrail_store_sqlite::SqliteStore::open_temporary()?;
        let account = casetrail_store::AccountStore::create_account(&store, &data.firm.name).await?;
        ingest::side_by_side(&mut raw, &store, account.id, &input.batches).await
    })?;
    let (raw_eps, store_eps) = (report::int(raw_batch.eps()), report::int(store_batch.eps()));
    eprintln!("  raw: {raw_eps} events/s, store: {store_eps} events/s");
    phases.end("raw + store ingest", watch);

    let watch = phases.begin();
    let raw_no_stats = rt.block_on(queries::run(&mut queries::Raw(raw.reader()?), input.plan))?;
    let analyze = raw.analyze()?;
    let raw_queries = rt.block_on(queries::run(&mut queries::Raw(raw.reader()?), input.plan))?;
    let raw_rest = raw_rest(&mut raw, data, &input)?;
    drop(raw);
    phases.end("raw queries and export", watch);

    let http = rt.block_on(server::sqlite_http_phase(data, input, tmp, phases))?;
    Ok(SqliteFigures {
        store: (format!("Store::append, batches of {BATCH}"), store_batch, Some(raw_batch.clone())),
        raw_batch,
        raw_no_stats,
        raw_queries,
        raw_rest,
        analyze,
        http,
        notes: vec![
            "Raw and store ingest run side by side, batch after batch, into fresh databases; raw times only the \
             SQLite transactions (rows prepared beforehand), store only `Store::append` (parsing beforehand); \
             HTTP times the whole exchange, on a third fresh database, served by a child process \
             (`--serve-child`)."
                .to_string(),
        ],
    })
}

/// The report of a SQLite run.
pub fn assemble(
    figures: SqliteFigures,
    args: &Args,
    described: Vec<String>,
    machine: Machine,
    phases: Phases,
    started: Instant,
) -> Run {
    let SqliteFigures { mut http, raw_batch, raw_rest, .. } = figures;
    let RawRest { verify: raw_verify, exports: raw_exports, single: raw_single, size: raw_size, storage: raw_storage } =
        raw_rest;
    for (figures, raw) in http.exports.iter_mut().zip(raw_exports) {
        (figures.raw, figures.raw_rows) = raw;
    }
    let raw_name = |what: &str| format!("rusqlite, {what}");
    let (store_name, store_result, store_raw) = figures.store;
    let ingest = vec![
        IngestRow {
            name: format!("HTTP, batches of {BATCH}, {BATCH_CLIENTS} clients"),
            result: http.batch.clone(),
            raw: Some((raw_name("1000 per transaction"), raw_batch)),
        },
        IngestRow {
            name: format!("HTTP, single events, {SINGLE_CLIENTS} clients"),
            result: http.single.clone(),
            raw: Some((raw_name("1 transaction per event (sequential)"), raw_single)),
        },
        IngestRow {
            name: store_name,
            result: store_result,
            raw: store_raw.map(|r| (raw_name("1000 per transaction"), r)),
        },
    ];
    let queries = join_queries(
        std::mem::take(&mut http.queries),
        std::mem::take(&mut http.store_queries),
        figures.raw_queries,
        figures.raw_no_stats,
    );
    let verify = VerifyRow { casetrail: http.verify.clone(), raw: raw_verify.0, raw_events: raw_verify.1 };

    let mut notes = vec![format!(
        "Database size: casetrail {} MiB, raw {} MiB (file + WAL); raw `ANALYZE` took {:.1} s",
        http.db_size >> 20,
        raw_size >> 20,
        figures.analyze.as_secs_f64()
    )];
    notes.extend(figures.notes);
    notes.extend(noise_notes(&phases));
    let csv_rows_per_s = http.exports.iter().find(|e| e.format == Format::Csv).and_then(|e| e.rows_per_s());
    Run {
        engine: Engine::Sqlite,
        extra_summary: {
            let mut summary = evidence::summary(&http.evidence);
            summary.extend(history::summary(&http.history));
            summary.extend(storage::summary(&http.storage, args.events));
            summary
        },
        extra_markdown: evidence::markdown(&http.evidence, csv_rows_per_s)
            + &history::markdown(&http.history)
            + &storage::markdown(&http.storage, &raw_storage, args.events),
        date: jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
        command: command_line(),
        machine,
        events: args.events,
        data: described,
        ingest,
        queries,
        verify: Some(verify),
        exports: std::mem::take(&mut http.exports),
        purge: Some(http.purge.clone()),
        memory: Some(http.memory),
        noise: phases.noise,
        notes,
        stats_fresh: http.stats_fresh,
        took_secs: started.elapsed().as_secs_f64(),
    }
}

/// What the report says of the machine's noise during the run.
pub fn noise_notes(phases: &Phases) -> Vec<String> {
    let mut notes = Vec::new();
    if phases.waited >= Duration::from_secs(1) {
        notes.push(format!("Waited {:.0} s in all for compilers to finish before phases", phases.waited.as_secs_f64()));
    }
    if phases.noise.iter().any(|(_, n)| n.max_compilers > 0) {
        notes.push("⚠ compilers ran during this run: its figures are noisier than usual".to_string());
    }
    notes
}

pub fn join_queries(
    http: Vec<Timing>,
    store: Vec<Timing>,
    raw: Vec<Timing>,
    raw_no_stats: Vec<Timing>,
) -> Vec<QueryRow> {
    let find = |list: &[Timing], name: &str| list.iter().find(|t| t.name == name).cloned();
    http.into_iter()
        .map(|h| QueryRow {
            store: find(&store, &h.name),
            raw: find(&raw, &h.name),
            raw_no_stats: find(&raw_no_stats, &h.name),
            http: h,
        })
        .collect()
}
