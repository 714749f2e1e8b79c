//! The phases that run casetrail itself: `Store::append` on a fresh store, and the real
//! server as a child process ([`crate::child`]) on one database file for everything
//! through HTTP; plus `--profile`, which runs one ingest path alone (the server then in
//! this process, so that `perf record` of the bench sees it).
//!
//! The database goes through three server processes in turn, each started on the file
//! the previous one left:
//!
//! 1. as shipped: batch ingest, the query plan (its memory read meanwhile), exports,
//!    the evidence export and proofs;
//! 2. with a writer that signs no checkpoint by itself: full and incremental
//!    verification (see [`crate::verify`]);
//! 3. as shipped: single events, then the purge with ingest running.
//!
//! The bench keeps a handle of its own on the file: it provisions the account before
//! the first server starts, times `Store::events` beside HTTP (WAL lets a second
//! process read), and appends the purge's old events between phases.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use casetrail_app::provision::{Provisioned, create_account};
use casetrail_export::Format;
use casetrail_server::ServerConfig;
use casetrail_store::{AccountStore, Store};
use casetrail_store_sqlite::SqliteStore;

use crate::child::{Memory, Peak, ServerChild, ServerDir};
use crate::data::Dataset;
use crate::export::{self, ExportFigures};
use crate::ingest::{self, Body, IngestResult};
use crate::machine::Phases;
use crate::purge::{self, PurgeFigures};
use crate::queries::{self, Plan, Timing};
use crate::stats::Samples;
use crate::verify::{self, VerifyFigures};
use crate::{raw, report};

/// HTTP batch ingest clients and single-event clients, as the goals name them.
pub const BATCH_CLIENTS: usize = 4;
pub const SINGLE_CLIENTS: usize = 32;

/// `Store::append` into a fresh store.
pub async fn store_phase(data: &Dataset, batches: &[Body]) -> anyhow::Result<IngestResult> {
    let store = SqliteStore::open_temporary()?;
    let account = store.create_account(&data.firm.name).await?;
    ingest::store(&store, account.id, batches).await
}

pub async fn provision(store: &dyn Store, data: &Dataset) -> anyhow::Result<Provisioned> {
    create_account(store, &data.firm.name, "bench-admin@example.com", "Bench Admin").await
}

pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(SINGLE_CLIENTS * 2)
        .build()
}

/// One ingest path alone, for a profiler.
pub fn profile(
    rt: &tokio::runtime::Runtime,
    path: &str,
    data: &Dataset,
    batches: Vec<Body>,
    tmp: &Path,
) -> anyhow::Result<()> {
    let result = match path {
        "raw" => {
            let mut db = raw::RawDb::create(tmp)?;
            db.keep = true;
            eprintln!("the raw database stays at {}", db.path().display());
            ingest::raw(&mut db, &batches)?
        }
        "store" => rt.block_on(store_phase(data, &batches))?,
        "http" => rt.block_on(in_process_ingest(data, batches, BATCH_CLIENTS))?,
        "single" => {
            rt.block_on(in_process_ingest(data, ingest::bodies(data.events().take(20_000), 1)?, SINGLE_CLIENTS))?
        }
        other => anyhow::bail!("--profile takes raw, store, http or single, not {other:?}"),
    };
    println!(
        "{path}: {} events in {:.2} s = {} events/s",
        result.events,
        result.elapsed.as_secs_f64(),
        report::int(result.eps())
    );
    Ok(())
}

/// HTTP ingest into a server in this process, on a fresh temporary store.
async fn in_process_ingest(data: &Dataset, bodies: Vec<Body>, clients: usize) -> anyhow::Result<IngestResult> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temporary()?);
    let firm = provision(store.as_ref(), data).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(casetrail_server::serve(listener, store, ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    let result = ingest::http(&http_client()?, &base, &firm.ingest_key, bodies, clients).await;
    let _ = stop.send(());
    server.await??;
    result
}

/// What the server phase sends.
#[derive(Debug)]
pub struct HttpInput<'a> {
    pub batches: Vec<Body>,
    pub singles: Vec<Body>,
    /// Batches of 1000 for the incremental verifications.
    pub verify_batches: Vec<Body>,
    pub plan: &'a Plan,
    /// Runs of each export format.
    pub export_runs: usize,
    /// Events older than the retention window to store, then purge.
    pub old_events: usize,
    /// Events the store already holds before the HTTP phase ingests `batches`.
    pub preloaded: u64,
}

/// The server's memory: after batch ingest (resident, and the peak since start), and
/// over the query plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerMemory {
    pub stored: u64,
    pub after_ingest: Memory,
    pub reads: Peak,
}

/// What the server phase measured.
#[derive(Debug, Default)]
pub struct HttpFigures {
    pub batch: IngestResult,
    pub single: IngestResult,
    pub queries: Vec<Timing>,
    pub store_queries: Vec<Timing>,
    pub memory: ServerMemory,
    /// Without the raw engine's figures, which the raw phase adds.
    pub exports: Vec<ExportFigures>,
    pub evidence: crate::evidence::EvidenceFigures,
    pub verify: VerifyFigures,
    pub purge: PurgeFigures,
    pub history: crate::history::HistoryFigures,
    pub stats_fresh: bool,
    pub db_size: u64,
    /// SQLite only: where the database's bytes go.
    pub storage: crate::storage::Storage,
}

/// Starts a server child without blocking the runtime's other tasks.
pub fn start(dir: &ServerDir, checkpoint_every: Option<u64>) -> anyhow::Result<ServerChild> {
    let server = tokio::task::block_in_place(|| ServerChild::start(dir, checkpoint_every))?;
    eprintln!("  server child {} on {}", server.pid(), server.base);
    Ok(server)
}

pub fn stop(server: ServerChild) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| server.stop())
}

/// The HTTP phase on SQLite: a database file of its own, then its statistics and size.
pub async fn sqlite_http_phase(
    data: &Dataset,
    input: HttpInput<'_>,
    tmp: &Path,
    phases: &mut Phases,
) -> anyhow::Result<HttpFigures> {
    let dir = ServerDir::create(tmp)?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.db())?);
    let firm = provision(store.as_ref(), data).await?;
    let mut out = http_phase(data, input, &dir, store, firm, phases).await?;
    let path = dir.db();
    out.stats_fresh = has_statistics(&path);
    out.storage = crate::storage::read(&path)?;
    out.db_size = out.storage.file_bytes;
    Ok(out)
}

/// Every HTTP phase on the database `dir` names, `store` being the bench's own handle
/// on it (dropped at the end) and `firm` the account provisioned in it.
pub async fn http_phase(
    data: &Dataset,
    input: HttpInput<'_>,
    dir: &ServerDir,
    store: Arc<dyn Store>,
    firm: Provisioned,
    phases: &mut Phases,
) -> anyhow::Result<HttpFigures> {
    let mut out = HttpFigures::default();
    let (admin, ingest_key) = (firm.admin_key.as_str(), firm.ingest_key.as_str());
    let client = http_client()?;

    let server = start(dir, None)?;
    let watch = phases.begin();
    out.batch = ingest::http(&client, &server.base, ingest_key, input.batches, BATCH_CLIENTS).await?;
    phases.end("HTTP ingest", watch);
    eprintln!("  http: {} events/s in batches", report::int(out.batch.eps()));
    out.memory.stored = input.preloaded + out.batch.events as u64;
    out.memory.after_ingest = server.memory()?;

    let watch = phases.begin();
    let begun = server.begin_peak()?;
    let mut http = queries::Http { client: client.clone(), base: server.base.clone(), key: firm.admin_key.clone() };
    out.queries = queries::run(&mut http, input.plan).await?;
    out.memory.reads = server.end_peak(begun)?;
    let mut direct = queries::Direct { store: store.clone(), account: firm.account.id };
    out.store_queries = queries::run(&mut direct, input.plan).await?;
    out.history = crate::history::http(&client, &server.base, admin, data, input.plan.deep_requests).await?;
    phases.end("queries", watch);

    let watch = phases.begin();
    let (mut stored, mut exports) = (input.preloaded + out.batch.events as u64, 0);
    for format in Format::ALL {
        let (runs, rows, bytes, peaks) =
            export::http(&client, &server, admin, format, input.export_runs, &mut stored, &mut exports).await?;
        out.exports.push(ExportFigures { format, runs, rows, bytes, peaks, raw: Samples::default(), raw_rows: 0 });
    }
    let held = (admin, store.clone(), firm.account.id);
    out.evidence = crate::evidence::http(&client, &server, held, &data.days(), &mut stored, &mut exports).await?;
    phases.end("export", watch);
    stop(server)?;

    let server = start(dir, Some(u64::MAX))?;
    let watch = phases.begin();
    let full_runs = verify::full_runs(out.batch.events.max(data.count));
    out.verify = verify::http(&client, &server.base, admin, ingest_key, input.verify_batches, full_runs).await?;
    phases.end("verification", watch);
    stop(server)?;

    let server = start(dir, None)?;
    let watch = phases.begin();
    out.single = ingest::http(&client, &server.base, ingest_key, input.singles, SINGLE_CLIENTS).await?;
    phases.end("single events", watch);

    purge::append_old(store.as_ref(), firm.account.id, data, input.old_events).await?;
    let watch = phases.begin();
    out.purge = purge::run(&client, &server.base, admin, ingest_key, data, input.old_events).await?;
    phases.end("purge", watch);
    stop(server)?;

    drop(store);
    Ok(out)
}

/// Whether SQLite's planner statistics exist in the product's database.
pub fn has_statistics(path: &Path) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    rusqlite::Connection::open_with_flags(path, flags)
        .and_then(|c| c.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'", [], |r| r.get(0)))
        .is_ok_and(|n: i64| n > 0)
}
