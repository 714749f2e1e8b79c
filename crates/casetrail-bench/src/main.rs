//! `casetrail-bench`: the benchmark command of issue 7.
//!
//! ```sh
//! cargo run --release -p casetrail-bench -- --events 100000
//! cargo run --release -p casetrail-bench -- --smoke        # 2000 events, seconds, writes nothing
//! ```
//!
//! One run, in this order, each phase on a fresh database:
//!
//! 1. **Data** ([`data`]): the demo firm's events for a seed and a count, serialized as
//!    ingest bodies before any clock starts; search words picked from a sample.
//! 2. **Raw engine** ([`raw`]): the same events in plain rusqlite, 1000 per transaction,
//!    into a copy of the store's schema; the browse SELECTs before and after `ANALYZE`;
//!    then one transaction per event.
//! 3. **Store** ([`ingest::store`]): `Store::append` with batches of 1000.
//! 4. **HTTP** ([`ingest::http`], [`queries`]): the real server on `127.0.0.1:0` in this
//!    process; batches of 1000 from 4 clients, then every browse/filter/search query
//!    (through HTTP and through the store), then single events from 32 clients.
//! 5. **Report** ([`report`], [`goals`]): a Markdown table, printed and written to
//!    `BENCHMARKS.md` (newest run first, older runs kept, goals rebuilt on top).
//!
//! Export, verification and purge are listed as not yet implemented until their
//! endpoints exist; [`report::NOT_YET`] is where they leave once measured.
#![forbid(unsafe_code)]

mod data;
mod goals;
mod ingest;
mod machine;
mod queries;
mod raw;
mod report;
mod server;
mod stats;
mod verify;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use casetrail_core::Timestamp;
use clap::Parser;

use crate::data::{Dataset, Rng, SearchWords};
use crate::machine::{Machine, NoiseWatch};
use crate::queries::Timing;
use crate::report::{IngestRow, QueryRow, Run, VerifyRow};
use crate::server::{BATCH_CLIENTS, HttpInput, SINGLE_CLIENTS};

/// Measures casetrail beside the raw SQLite engine and writes BENCHMARKS.md.
#[derive(Debug, Parser)]
#[command(name = "casetrail-bench", version)]
struct Args {
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
    /// Where to write the report (default: BENCHMARKS.md at the workspace root).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the table only; leave BENCHMARKS.md alone.
    #[arg(long)]
    no_write: bool,
    /// Where the temporary databases go (default: the system's temporary directory).
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
    /// Before each phase, wait up to this many seconds for compilers on this shared
    /// machine to finish (the wait is reported).
    #[arg(long, default_value_t = 0)]
    quiet_wait_secs: u64,
    /// Runs only one ingest path and prints its rate, for `perf record`: raw, store or http.
    #[arg(long, value_name = "PATH")]
    profile: Option<String>,
}

const BATCH: usize = 1000;
/// Incremental verifications, each after a checkpoint and 1000 new events.
const INCREMENTAL_RUNS: usize = 5;
/// One transaction per event is slow; the raw engine does this many of them.
const RAW_SINGLE_MAX: usize = 2000;

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
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
    let mut rng = Rng::new(args.seed);
    let words = SearchWords::pick(&data, &mut rng);
    let plan = queries::plan(&data, &words, args.requests, Duration::from_secs(args.budget_secs), &mut rng);
    let batches = ingest::bodies(data.events(), BATCH)?;
    let single_bodies = ingest::bodies(data.events_of(args.seed.wrapping_add(1), singles), 1)?;
    let verify_batches = ingest::bodies(data.events_of(args.seed.wrapping_add(2), INCREMENTAL_RUNS * BATCH), BATCH)?;
    let bytes: usize = batches.iter().map(|b| b.bytes.len()).sum();
    eprintln!("  data ready in {:.1} s ({} MiB of request bodies)", t.elapsed().as_secs_f64(), bytes >> 20);

    let mut noise = Vec::new();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if let Some(path) = &args.profile {
        return server::profile(&rt, path, &data, batches, &tmp);
    }
    let quiet = Duration::from_secs(args.quiet_wait_secs);
    let mut waited = Duration::ZERO;

    // The raw engine.
    waited += machine::wait_quiet(quiet);
    let watch = NoiseWatch::start();
    let mut raw = raw::RawDb::create(&tmp)?;
    let raw_batch = ingest::raw(&mut raw, &batches)?;
    eprintln!("  raw: {} events/s", report::int(raw_batch.eps()));
    let raw_no_stats = rt.block_on(queries::run(&mut queries::Raw(raw.reader()?), &plan))?;
    let analyze = raw.analyze()?;
    let raw_queries = rt.block_on(queries::run(&mut queries::Raw(raw.reader()?), &plan))?;
    let (raw_verify, raw_verified) = verify::raw(&raw.reader()?)?;
    let raw_single = ingest::raw(&mut raw, &single_bodies[..singles.min(RAW_SINGLE_MAX)])?;
    let raw_size = raw.size_bytes();
    drop(raw);
    noise.push(("raw".to_string(), watch.finish()));

    // The store, without HTTP.
    waited += machine::wait_quiet(quiet);
    let watch = NoiseWatch::start();
    let store_batch = rt.block_on(server::store_phase(&data, &batches))?;
    eprintln!("  store: {} events/s", report::int(store_batch.eps()));
    noise.push(("store".to_string(), watch.finish()));

    // The server.
    let input = HttpInput { batches, singles: single_bodies, verify_batches, plan: Some(&plan) };
    let http = rt.block_on(server::http_phase(&data, input, &mut noise, quiet))?;
    waited += http.waited;
    eprintln!("  http: {} events/s in batches", report::int(http.batch.eps()));

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
    let verify = http.verify.map(|casetrail| VerifyRow { casetrail, raw: raw_verify, raw_events: raw_verified });

    let mut data_lines = vec![format!(
        "Data: seed {}, {} (demo firm), {} events over {} days ({} to {}), {} single events more (seed + 1)",
        args.seed,
        data.firm.name,
        report::int(args.events as f64),
        data::SPAN_DAYS,
        &data.span().0.to_string()[..10],
        &data.span().1.to_string()[..10],
        report::int(singles as f64)
    )];
    let share = |w: &[(String, f64)]| w.iter().map(|(w, s)| format!("`{w}` {:.2} %", s * 100.0)).collect::<Vec<_>>();
    data_lines.push(format!(
        "Search words (share of a 20k-event sample they match): common {}; rare {} words such as {}",
        share(&words.common).join(", "),
        words.rare.len(),
        share(&words.rare[..words.rare.len().min(3)]).join(", ")
    ));
    let mut notes = vec![
        format!(
            "Database size: casetrail {} MiB, raw {} MiB (file + WAL); raw `ANALYZE` took {:.1} s",
            http.db_size >> 20,
            raw_size >> 20,
            analyze.as_secs_f64()
        ),
        "Raw ingest times only the SQLite transactions (rows prepared beforehand); store ingest times only \
         `Store::append` (parsing beforehand); HTTP times the whole exchange."
            .to_string(),
    ];
    if !waited.is_zero() {
        notes.push(format!("Waited {:.0} s in all for compilers to finish before phases", waited.as_secs_f64()));
    }
    if noise.iter().any(|(_, n)| n.max_compilers > 0) {
        notes.push("⚠ compilers ran during this run: its figures are noisier than usual".to_string());
    }
    let run = Run {
        date: jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC").to_string(),
        command: command_line(),
        machine,
        events: args.events,
        data: data_lines,
        ingest,
        queries,
        verify,
        noise,
        notes,
        stats_fresh: http.stats_fresh,
        took_secs: started.elapsed().as_secs_f64(),
    };
    let markdown = run.markdown();
    println!("{markdown}");
    if !args.no_write {
        let path = args.out.unwrap_or_else(|| repo.join("BENCHMARKS.md"));
        report::write(&path, &run).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("casetrail-bench: wrote {}", path.display());
    }
    Ok(())
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

/// The checkout the command runs in: the git top level of the current directory (what
/// `cargo run` at the workspace root gives), else this crate's workspace.
fn workspace_root() -> PathBuf {
    std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The command as typed, in its cargo form.
fn command_line() -> String {
    let args: Vec<String> =
        std::env::args().skip(1).map(|a| if a.contains(' ') { format!("'{a}'") } else { a }).collect();
    format!("cargo run --release -p casetrail-bench -- {}", args.join(" ")).trim_end().to_string()
}
