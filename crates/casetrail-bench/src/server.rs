//! The phases that run casetrail itself: `Store::append` on a fresh store, and the real
//! server on `127.0.0.1:0` in this process (ingest, queries, verification, single
//! events), plus `--profile`, which runs one ingest path alone.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use casetrail_server::ServerConfig;
use casetrail_store::Store;
use casetrail_store_sqlite::SqliteStore;

use crate::data::Dataset;
use crate::ingest::{self, Body, IngestResult};
use crate::machine::{self, Noise, NoiseWatch};
use crate::queries::{self, Plan, Timing};
use crate::verify::{self, VerifyFigures};
use crate::{raw, report};

/// HTTP batch ingest clients and single-event clients (issue 7).
pub const BATCH_CLIENTS: usize = 4;
pub const SINGLE_CLIENTS: usize = 32;

/// `Store::append` into a fresh store.
pub async fn store_phase(data: &Dataset, batches: &[Body]) -> anyhow::Result<IngestResult> {
    let store = SqliteStore::open_temporary()?;
    let account = store.create_account(&data.firm.name).await?;
    ingest::store(&store, account.id, batches).await
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
        "http" => {
            let input = HttpInput { batches, singles: Vec::new(), verify_batches: Vec::new(), plan: None };
            rt.block_on(http_phase(data, input, &mut Vec::new(), Duration::ZERO))?.batch
        }
        other => anyhow::bail!("--profile takes raw, store or http, not {other:?}"),
    };
    println!(
        "{path}: {} events in {:.2} s = {} events/s",
        result.events,
        result.elapsed.as_secs_f64(),
        report::int(result.eps())
    );
    Ok(())
}

/// What the server phase sends.
#[derive(Debug)]
pub struct HttpInput<'a> {
    pub batches: Vec<Body>,
    pub singles: Vec<Body>,
    /// Batches of 1000 for the incremental verifications.
    pub verify_batches: Vec<Body>,
    /// `None`: batch ingest only (`--profile http`).
    pub plan: Option<&'a Plan>,
}

/// What the server phase measured.
#[derive(Debug, Default)]
pub struct HttpFigures {
    pub waited: Duration,
    pub batch: IngestResult,
    pub single: IngestResult,
    pub queries: Vec<Timing>,
    pub store_queries: Vec<Timing>,
    pub verify: Option<VerifyFigures>,
    pub stats_fresh: bool,
    pub db_size: u64,
}

pub async fn http_phase(
    data: &Dataset,
    input: HttpInput<'_>,
    noise: &mut Vec<(String, Noise)>,
    quiet: Duration,
) -> anyhow::Result<HttpFigures> {
    let mut out = HttpFigures::default();
    let sqlite = SqliteStore::open_temporary()?;
    let path = sqlite.path().to_path_buf();
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let firm = casetrail_server::provision::create_account(
        store.as_ref(),
        &data.firm.name,
        "bench-admin@example.com",
        "Bench Admin",
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(casetrail_server::serve(listener, store.clone(), ServerConfig::default(), async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(SINGLE_CLIENTS * 2)
        .build()?;

    out.waited += machine::wait_quiet(quiet);
    let watch = NoiseWatch::start();
    out.batch = ingest::http(&client, &base, &firm.ingest_key, input.batches, BATCH_CLIENTS).await?;
    noise.push(("HTTP ingest".to_string(), watch.finish()));

    if let Some(plan) = input.plan {
        out.waited += machine::wait_quiet(quiet);
        let watch = NoiseWatch::start();
        let mut http = queries::Http { client: client.clone(), base: base.clone(), key: firm.admin_key.clone() };
        out.queries = queries::run(&mut http, plan).await?;
        let mut direct = queries::Direct { store: store.clone(), account: firm.account.id };
        out.store_queries = queries::run(&mut direct, plan).await?;
        noise.push(("queries".to_string(), watch.finish()));

        out.waited += machine::wait_quiet(quiet);
        let watch = NoiseWatch::start();
        let (admin, ingest_key) = (&firm.admin_key, &firm.ingest_key);
        out.verify = Some(verify::http(&client, &base, admin, ingest_key, input.verify_batches).await?);
        noise.push(("verification".to_string(), watch.finish()));

        out.waited += machine::wait_quiet(quiet);
        let watch = NoiseWatch::start();
        out.single = ingest::http(&client, &base, &firm.ingest_key, input.singles, SINGLE_CLIENTS).await?;
        noise.push(("single events".to_string(), watch.finish()));
    }

    let _ = stop.send(());
    server.await??;
    out.stats_fresh = has_statistics(&path);
    out.db_size = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    Ok(out)
}

/// Whether SQLite's planner statistics exist in the product's database.
fn has_statistics(path: &Path) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    rusqlite::Connection::open_with_flags(path, flags)
        .and_then(|c| c.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'", [], |r| r.get(0)))
        .is_ok_and(|n: i64| n > 0)
}
