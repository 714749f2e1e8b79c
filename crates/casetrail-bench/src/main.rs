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
//! With `--build-direct` (for 10M events) the store is built through `Store::append` in
//! transactions of 10,000 instead, only the newest 100k events go through HTTP at N
//! stored, and the raw engine works on a copy of the built file ([`direct`]).
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
mod direct;
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
mod sqlite_run;
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

use crate::data::{Dataset, Rng, SearchWords};
use crate::finish::{command_line, finish, finish_soak, workspace_root};
use crate::machine::{Machine, Phases};
use crate::report::{Engine, Run};
use crate::server::HttpInput;

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
    /// Build the store through `Store::append` in large transactions instead of through
    /// HTTP, and give the raw engine a copy of it ([`direct`]): for 10M events. Only the
    /// newest 100k events (at most a tenth) then go through HTTP, at N stored.
    #[arg(long)]
    build_direct: bool,
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
/// Events the stream phase holds in memory at most.
const STREAM_EVENTS_MAX: usize = 1_000_000;
/// Incremental verifications, each after a checkpoint and 1000 new events.
const INCREMENTAL_RUNS: usize = 5;
/// One transaction per event is slow; the raw engine does this many of them.
pub(crate) const RAW_SINGLE_MAX: usize = 2000;

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
    anyhow::ensure!(
        !args.build_direct || (args.database_url.is_none() && args.soak_secs.is_none() && args.profile.is_none()),
        "--build-direct is for a benchmark run on SQLite, without --database-url, --soak-secs or --profile"
    );
    // A direct build generates its events as it goes; only the HTTP path needs them all up front.
    let batches = if args.build_direct { Vec::new() } else { ingest::bodies(data.events(), BATCH)? };
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
    // A direct build's purge is bounded: what it measures grows with the events purged,
    // not with those kept.
    let default_old = if args.build_direct { (args.events / 10).min(direct::TAIL_MAX) } else { args.events / 10 };
    let old_events = args.purge_events.unwrap_or(default_old).max(1);
    let input = HttpInput {
        batches,
        singles: single_bodies,
        verify_batches,
        plan: &plan,
        export_runs,
        old_events,
        preloaded: 0,
    };

    if let Some(url) = &args.database_url {
        anyhow::ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "--database-url takes postgres://…"
        );
        let pg = rt.block_on(pg::run(url, &data, input, &tmp, &mut phases))?;
        let mut notes = pg.notes;
        notes.extend(sqlite_run::noise_notes(&phases));
        let mut run = Run {
            engine: Engine::Postgres,
            extra_summary: pg.summary,
            extra_markdown: pg.markdown,
            date: jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
            command: command_line(),
            machine,
            events: args.events,
            data: data::describe(&data, &words, singles, old_events),
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
        streams::measure(&rt, &mut run, &data.capped(STREAM_EVENTS_MAX), Some(url), &tmp)?;
        return finish(&run, &args, &repo);
    }

    let figures = if args.build_direct {
        rt.block_on(direct::run(&data, input, &tmp, &mut phases))?
    } else {
        sqlite_run::side_by_side(&rt, &data, input, &tmp, &mut phases)?
    };
    let described = data::describe(&data, &words, singles, old_events);
    let mut run = sqlite_run::assemble(figures, &args, described, machine, phases, started);
    // The stream phase holds its events in memory: at most a million, on a store of its own.
    let stream_data = data.capped(STREAM_EVENTS_MAX);
    if stream_data.count < data.count {
        run.notes
            .push(format!("The stream phase ran on {} events of its own store", report::int(stream_data.count as f64)));
    }
    streams::measure(&rt, &mut run, &stream_data, None, &tmp)?;
    finish(&run, &args, &repo)
}
