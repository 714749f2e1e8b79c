//! `casetrail-bench`: the benchmark command, which measures casetrail against its
//! performance goals ([`goals`]) and writes `BENCHMARKS.md`.
//!
//! ```sh
//! cargo run --release -p casetrail-bench -- --events 100000
//! cargo run --release -p casetrail-bench -- --smoke        # 2000 events, seconds, writes nothing
//! ```
//!
//! One run, in this order:
//!
//! 1. **Data** ([`data`]): the demo firm's events for a seed and a count, serialized as
//!    ingest bodies before any clock starts; search words picked from a sample.
//! 2. **Raw engine and store** ([`raw`], [`ingest::side_by_side`]): the same batches of
//!    1000, batch after batch, into plain rusqlite (the store's own schema (its migrations)) and
//!    through `Store::append`, each on a fresh database; then on the raw engine the
//!    browse SELECTs before and after `ANALYZE`, the chain walk, the export writer fed
//!    from a SELECT ([`export::raw`]) and one transaction per event.
//! 3. **HTTP** ([`server`]): the real server as a child process ([`child`]) on one
//!    database file, restarted between groups of phases: batches of 1000 from 4
//!    clients; every browse/filter/search query through HTTP (the server's memory read
//!    meanwhile) and through the store; CSV and XLSX exports of every event
//!    ([`export`]); full and incremental verification ([`verify`]); single events from
//!    32 clients; the purge of 10 % of N old events with ingest running ([`purge`]).
//!    Then stream delivery on a store of its own, ingest through `casetrail-client` ([`streams`]).
//!    Then where each database's bytes go, table by table and index by index ([`storage`]).
//! 4. **Report** ([`report`], [`tables`], [`goals`], [`finish`]): Markdown tables, printed and
//!    written to `BENCHMARKS.md` (newest run first, older runs kept, hand-written
//!    notes kept, goals rebuilt on top).
//!
//! Correctness is checked on the way, at any size: every status, every export's row
//! count, the incremental verification's event count, the purge's count, and the
//! chain verifying after the purge. `--smoke` runs all of it at 2000 events for CI.
//! With `--serve-child` the executable is the server child instead ([`child::serve`]).
//!
//! With `--database-url postgres://…` every phase runs on PostgreSQL instead, beside a
//! raw tokio-postgres engine, and adds two servers on one database and a purge by
//! partitions ([`pg`]); each database is a throwaway schema, dropped at the end.
//!
//! With `--soak-secs N` the command is a soak instead ([`soak`], [`soak_report`]): N
//! seconds of ingest, browse, export and purge at once on one server child, its
//! memory sampled; any error fails it. CI runs `--smoke --soak-secs 15`.
#![forbid(unsafe_code)]

mod child;
mod cpu;
mod data;
mod evidence;
mod export;
mod finish;
mod goals;
mod history;
mod ingest;
mod machine;
mod pg;
mod pg_purge;
mod pg_report;
mod pg_spread;
mod purge;
mod queries;
mod raw;
mod raw_pg;
mod report;
mod search_designs;
mod server;
mod soak;
mod soak_report;
mod stats;
mod storage;
mod streams;
mod tables;
mod verify;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use casetrail_core::Timestamp;
use clap::Parser;

/// The product's allocator (see `casetrail`'s `main.rs`), so the server child
/// measures what `casetrail serve` would.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use casetrail_export::Format;

use crate::data::{Dataset, Rng, SearchWords};
use crate::finish::{command_line, finish, finish_soak, workspace_root};
use crate::machine::{Machine, Phases};
use crate::queries::Timing;
use crate::report::{Engine, IngestRow, QueryRow, Run, VerifyRow};
use crate::server::{BATCH_CLIENTS, HttpInput, SINGLE_CLIENTS};

/// Measures casetrail beside the raw SQLite engine and writes BENCHMARKS.md.
#[derive(Debug, Parser)]
#[command(name = "casetrail-bench", version)]
pub struct Args {
    /// How many events to generate, ingest and query.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// A quick check that everything runs: 2000 events, 20 requests per query, and
    /// BENCHMARKS.md is left alone.
    #[arg(long)]
    smoke: bool,
    /// The demo generator's seed: same seed and count, same events.
    #[arg(long, default_value_t = casetrail_demo::DEFAULT_SEED)]
    seed: u64,
    /// Timed requests per kind of query.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Seconds one kind of query may take on one engine before it stops early (after at
    /// least 20 timed requests); the report shows each figure's request count.
    #[arg(long, default_value_t = 60)]
    budget_secs: u64,
    /// Single-event requests to send (default: N/5, at most 20,000).
    #[arg(long)]
    single_events: Option<usize>,
    /// Events older than the retention window to store and then purge (default: N/10).
    #[arg(long)]
    purge_events: Option<usize>,
    /// Where to write the report (default: BENCHMARKS.md at the workspace root).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the table only; leave BENCHMARKS.md alone.
    #[arg(long)]
    pub no_write: bool,
    /// Where the temporary databases go (default: the system's temporary directory).
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
    /// Before each phase, wait up to this many seconds for compilers on this shared
    /// machine to finish (the wait is reported).
    #[arg(long, default_value_t = 0)]
    quiet_wait_secs: u64,
    /// Runs only one ingest path and prints its rate, for `perf record`: raw, store, http
    /// (batches), single (20k single events from 32 clients), streams (the stream
    /// delivery phase alone, on either backend); search (the SQLite search index's
    /// designs side by side, `search_designs.rs`); or, with
    /// `--database-url`, `spread`: only the one-server / two-server comparison.
    #[arg(long, value_name = "PATH")]
    profile: Option<String>,
    /// Run on PostgreSQL (`postgres://…`): every database a throwaway schema of this
    /// server's database, dropped at the end; the raw engine is plain tokio-postgres.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Instead of the benchmark, a soak of this many seconds ([`soak`]): `--events`
    /// seeded, then ingest, browse, export and purge at once, the server's memory read
    /// all along; fails on any error. With `--smoke`, 2000 events seeded.
    #[arg(long, value_name = "SECS")]
    soak_secs: Option<u64>,
    /// The soak's ingest rate, events/s in all (0: back to back).
    #[arg(long, default_value_t = 1000)]
    soak_rate: u64,
    /// A soak at a fixed store size: ingested events age out and are purged.
    #[arg(long)]
    pub soak_steady: bool,
    /// Internal: be the server child on `--db` or `--database-url` (see `child.rs`).
    #[arg(long, hide = true)]
    serve_child: bool,
    #[arg(long, hide = true)]
    db: Option<PathBuf>,
    #[arg(long, hide = true)]
    keys_dir: Option<PathBuf>,
    #[arg(long, hide = true)]
    checkpoint_every: Option<u64>,
}

const BATCH: usize = 1000;
/// Incremental verifications, each after a checkpoint and 1000 new events.
const INCREMENTAL_RUNS: usize = 5;
/// One transaction per event is slow; the raw engine does this many of them.
const RAW_SINGLE_MAX: usize = 2000;

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.serve_child {
        let db = match (args.database_url, args.db) {
            (Some(url), _) => child::ChildDb::Postgres(url),
            (None, Some(path)) => child::ChildDb::Sqlite(path),
            (None, None) => anyhow::bail!("--serve-child needs --db or --database-url"),
        };
        let keys = args.keys_dir.context("--serve-child needs --keys-dir")?;
        return child::serve(&db, &keys, args.checkpoint_every);
    }
    if args.smoke {
        args.events = args.events.min(2000);
        args.requests = args.requests.min(20);
        args.no_write = true;
    }
    anyhow::ensure!(args.events >= BATCH, "--events must be at least {BATCH}");
    let started = Instant::now();
    let repo = workspace_root();
    let machine = Machine::detect(&repo);
    let tmp = args.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
    let singles = args.single_events.unwrap_or((args.events / 5).min(20_000)).max(1);

    eprintln!("casetrail-bench: {} events, seed {}, commit {}", args.events, args.seed, machine.commit);
    let t = Instant::now();
    let data = Dataset::new(args.seed, args.events, Timestamp::now());
    let batches = ingest::bodies(data.events(), BATCH)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if let (Some("spread"), Some(url)) = (args.profile.as_deref(), &args.database_url) {
        let bodies = pg_spread::batches(&batches, data.count);
        rt.block_on(pg_spread::compare(url, &tmp, &data, &bodies))?;
        return Ok(());
    }
    if let Some(path) = &args.profile {
        if path == "search" {
            return search_designs::profile(&data, &batches, &tmp, args.requests, args.seed);
        }
        if path == "verify" {
            // Fresh extra events each run: the store is kept between runs.
            let runs = std::env::var("CASETRAIL_PROFILE_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
            let seed = args.seed.wrapping_add(Timestamp::now().as_millis() as u64);
            let extra = ingest::bodies(data.events_of(seed, runs * BATCH), BATCH)?;
            return verify::profile(&rt, &batches, &extra, &tmp);
        }
        if path == "streams" {
            return streams::profile(&rt, &data, args.database_url.as_deref(), &tmp);
        }
        return server::profile(&rt, path, &data, batches, &tmp);
    }
    let mut rng = Rng::new(args.seed);
    let words = SearchWords::pick(&data, &mut rng);
    let plan = queries::plan(&data, &words, args.requests, Duration::from_secs(args.budget_secs), &mut rng);
    if let Some(secs) = args.soak_secs {
        let input = soak::SoakInput {
            secs,
            rate: args.soak_rate,
            seed_batches: batches,
            plan: &plan,
            old_per_purge: args.purge_events.unwrap_or(args.events / 10).clamp(1, 10_000),
            steady: args.soak_steady,
        };
        let figures = rt.block_on(soak::run(&data, input, args.database_url.as_deref(), &tmp))?;
        return finish_soak(&figures, &args, &repo, &machine, secs);
    }
    let single_bodies = ingest::bodies(data.events_of(args.seed.wrapping_add(1), singles), 1)?;
    let verify_batches = ingest::bodies(data.events_of(args.seed.wrapping_add(2), INCREMENTAL_RUNS * BATCH), BATCH)?;
    let bytes: usize = batches.iter().map(|b| b.bytes.len()).sum();
    eprintln!("  data ready in {:.1} s ({} MiB of request bodies)", t.elapsed().as_secs_f64(), bytes >> 20);

    let mut phases = Phases { quiet: Duration::from_secs(args.quiet_wait_secs), ..Phases::default() };
    let export_runs = export::runs_for(args.events);
    let old_events = args.purge_events.unwrap_or(args.events / 10).max(1);

    if let Some(url) = &args.database_url {
        anyhow::ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "--database-url takes postgres://…"
        );
        let input = HttpInput { batches, singles: single_bodies, verify_batches, plan: &plan, export_runs, old_events };
        let pg = rt.block_on(pg::run(url, &data, input, &tmp, &mut phases))?;
        let mut notes = pg.notes;
        notes.extend(noise_notes(&phases));
        let mut run = Run {
            engine: Engine::Postgres,
            extra_summary: pg.summary,
            extra_markdown: pg.markdown,
            date: jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
            command: command_line(),
            machine,
            events: args.events,
            data: data::describe(&data, &words, singles),
            ingest: pg.ingest,
            queries: pg.queries,
            verify: pg.verify,
            exports: pg.exports,
            purge: pg.purge,
            memory: pg.memory,
            noise: phases.noise,
            notes,
            stats_fresh: pg.stats_fresh,
            took_secs: started.elapsed().as_secs_f64(),
        };
        streams::measure(&rt, &mut run, &data, Some(url), &tmp)?;
        return finish(&run, &args, &repo);
    }

    // The raw engine and the store without HTTP, batch after batch.
    let watch = phases.begin();
    let mut raw = raw::RawDb::create(&tmp)?;
    let (raw_batch, store_batch) = rt.block_on(async {
        let store = casetrail_store_sqlite::SqliteStore::open_temporary()?;
        let account = casetrail_store::AccountStore::create_account(&store, &data.firm.name).await?;
        ingest::side_by_side(&mut raw, &store, account.id, &batches).await
    })?;
    let (raw_eps, store_eps) = (report::int(raw_batch.eps()), report::int(store_batch.eps()));
    eprintln!("  raw: {raw_eps} events/s, store: {store_eps} events/s");
    phases.end("raw + store ingest", watch);

    let watch = phases.begin();
    let raw_no_stats = rt.block_on(queries::run(&mut queries::Raw(raw.reader()?), &plan))?;
    let analyze = raw.analyze()?;
    let raw_queries = rt.block_on(queries::run(&mut queries::Raw(raw.reader()?), &plan))?;
    let (raw_verify, raw_verified) = verify::raw(&raw.reader()?)?;
    let raw_exports: Vec<_> =
        Format::ALL.iter().map(|f| export::raw(&raw.reader()?, *f, export_runs)).collect::<anyhow::Result<_>>()?;
    let raw_single = ingest::raw(&mut raw, &single_bodies[..singles.min(RAW_SINGLE_MAX)])?;
    let raw_size = raw.size_bytes();
    let raw_storage = storage::read(raw.path())?;
    drop(raw);
    phases.end("raw queries and export", watch);

    // The server, as a child process.
    let input = HttpInput { batches, singles: single_bodies, verify_batches, plan: &plan, export_runs, old_events };
    let mut http = rt.block_on(server::sqlite_http_phase(&data, input, &tmp, &mut phases))?;
    for (figures, raw) in http.exports.iter_mut().zip(raw_exports) {
        (figures.raw, figures.raw_rows) = raw;
    }

    let raw_name = |what: &str| format!("rusqlite, {what}");
    let ingest = vec![
        IngestRow {
            name: format!("HTTP, batches of {BATCH}, {BATCH_CLIENTS} clients"),
            result: http.batch,
            raw: Some((raw_name("1000 per transaction"), raw_batch.clone())),
        },
        IngestRow {
            name: format!("HTTP, single events, {SINGLE_CLIENTS} clients"),
            result: http.single,
            raw: Some((raw_name("1 transaction per event (sequential)"), raw_single)),
        },
        IngestRow {
            name: format!("Store::append, batches of {BATCH}"),
            result: store_batch,
            raw: Some((raw_name("1000 per transaction"), raw_batch)),
        },
    ];
    let queries = join_queries(http.queries, http.store_queries, raw_queries, raw_no_stats);
    let verify = VerifyRow { casetrail: http.verify, raw: raw_verify, raw_events: raw_verified };

    let mut notes = vec![
        format!(
            "Database size: casetrail {} MiB, raw {} MiB (file + WAL); raw `ANALYZE` took {:.1} s",
            http.db_size >> 20,
            raw_size >> 20,
            analyze.as_secs_f64()
        ),
        "Raw and store ingest run side by side, batch after batch, into fresh databases; raw times only the \
         SQLite transactions (rows prepared beforehand), store only `Store::append` (parsing beforehand); HTTP \
         times the whole exchange, on a third fresh database, served by a child process (`--serve-child`)."
            .to_string(),
    ];
    notes.extend(noise_notes(&phases));
    let csv_rows_per_s = http.exports.iter().find(|e| e.format == Format::Csv).and_then(|e| e.rows_per_s());
    let mut run = Run {
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
        data: data::describe(&data, &words, singles),
        ingest,
        queries,
        verify: Some(verify),
        exports: http.exports,
        purge: Some(http.purge),
        memory: Some(http.memory),
        noise: phases.noise,
        notes,
        stats_fresh: http.stats_fresh,
        took_secs: started.elapsed().as_secs_f64(),
    };
    streams::measure(&rt, &mut run, &data, None, &tmp)?;
    finish(&run, &args, &repo)
}

/// What the report says of the machine's noise during the run.
fn noise_notes(phases: &Phases) -> Vec<String> {
    let mut notes = Vec::new();
    if phases.waited >= Duration::from_secs(1) {
        notes.push(format!("Waited {:.0} s in all for compilers to finish before phases", phases.waited.as_secs_f64()));
    }
    if phases.noise.iter().any(|(_, n)| n.max_compilers > 0) {
        notes.push("⚠ compilers ran during this run: its figures are noisier than usual".to_string());
    }
    notes
}

fn join_queries(http: Vec<Timing>, store: Vec<Timing>, raw: Vec<Timing>, raw_no_stats: Vec<Timing>) -> Vec<QueryRow> {
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
