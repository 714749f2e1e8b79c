//! The server as a child process of its own, so that its memory can be read from
//! `/proc/<pid>/status` without the bench's own data (request bodies, samples) in it.
//!
//! The bench runs its own executable again with `--serve-child`: the child opens a
//! `SqliteStore` on the given file (or, with `--database-url`, a `PostgresStore` on
//! the URL: the same store `casetrail serve --database-url` opens), serves it with `casetrail_server::serve` on
//! `127.0.0.1:0`, prints the address on stdout and serves until its stdin closes (so
//! it also ends when the bench dies). The parent provisions the account on the file
//! beforehand and keeps the signing keys in a directory both sides share, so that a
//! second child started on the same file verifies the first one's checkpoints.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use casetrail_app::signing::Keys;
use casetrail_server::ServerConfig;
use casetrail_store::Store;
use casetrail_store_sqlite::SqliteStore;

/// The child's first line on stdout, before its address.
const LISTENING: &str = "casetrail-bench child listening on ";
/// How long a child may take to open the store and bind, and to drain when stopped.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the child's store is.
#[derive(Debug, Clone)]
pub enum ChildDb {
    Sqlite(PathBuf),
    Postgres(String),
}

/// The child's side: serves `db` until stdin closes.
pub fn serve(db: &ChildDb, keys_dir: &Path, checkpoint_every: Option<u64>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let store: Arc<dyn Store> = match db {
            ChildDb::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            ChildDb::Postgres(url) => Arc::new(casetrail_store_postgres::PostgresStore::connect(url).await?),
        };
        let keys = Arc::new(Keys::load_or_create(keys_dir)?);
        let checkpoint_every = checkpoint_every.unwrap_or(casetrail_app::writer::CHECKPOINT_EVERY);
        // Streams deliver to the bench's own receiver on 127.0.0.1 (src/streams.rs).
        let allow_private_stream_destinations = true;
        let config =
            ServerConfig { keys, checkpoint_every, allow_private_stream_destinations, ..ServerConfig::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{LISTENING}{}", listener.local_addr()?);
        let (closed, stdin_closed) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            // EOF (or an error) on stdin is the parent saying stop, or the parent gone.
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = closed.send(());
        });
        casetrail_server::serve(listener, store, config, async {
            let _ = stdin_closed.await;
        })
        .await?;
        anyhow::Ok(())
    })
}

/// Where the server's database (or its URL) and signing keys live; removed on drop.
#[derive(Debug)]
pub struct ServerDir {
    dir: PathBuf,
    /// A PostgreSQL database instead of the file in `dir`.
    pub database_url: Option<String>,
}

impl ServerDir {
    pub fn create(parent: &Path) -> anyhow::Result<ServerDir> {
        ServerDir::named(parent, "server")
    }

    /// A directory of its own for the keys of servers on a PostgreSQL database.
    pub fn postgres(parent: &Path, name: &str, url: &str) -> anyhow::Result<ServerDir> {
        let mut dir = ServerDir::named(parent, name)?;
        dir.database_url = Some(url.to_string());
        Ok(dir)
    }

    fn named(parent: &Path, name: &str) -> anyhow::Result<ServerDir> {
        let dir = parent.join(format!("casetrail-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("keys"))?;
        Ok(ServerDir { dir, database_url: None })
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("casetrail.db")
    }

    fn keys(&self) -> PathBuf {
        self.dir.join("keys")
    }
}

impl Drop for ServerDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `VmRSS` and `VmHWM` of a process, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub hwm: u64,
}

/// The server's memory over one phase: resident at its start, peak during it, and
/// resident at its end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Peak {
    pub baseline: u64,
    pub hwm: u64,
    pub rss: u64,
    /// Whether the peak was reset at the start (`clear_refs`); when not, `hwm` is the
    /// process's lifetime peak and says nothing of this phase alone.
    pub reset: bool,
}

impl Peak {
    /// Peak RSS growth over the phase, when the peak could be reset.
    pub fn growth(&self) -> Option<u64> {
        self.reset.then(|| self.hwm.saturating_sub(self.baseline))
    }
}

/// A running child server; killed on drop, so that no error path leaves it behind.
#[derive(Debug)]
pub struct ServerChild {
    child: Child,
    stdin: Option<ChildStdin>,
    pub base: String,
}

impl ServerChild {
    /// Starts a child on `dir`'s database; `checkpoint_every` overrides how often its
    /// writer signs checkpoints by itself.
    pub fn start(dir: &ServerDir, checkpoint_every: Option<u64>) -> anyhow::Result<ServerChild> {
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("--serve-child").arg("--keys-dir").arg(dir.keys());
        match &dir.database_url {
            Some(url) => command.arg("--database-url").arg(url),
            None => command.arg("--db").arg(dir.db()),
        };
        if let Some(events) = checkpoint_every {
            command.arg("--checkpoint-every").arg(events.to_string());
        }
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()?;
        let stdout = child.stdout.take();
        let stdin = child.stdin.take();
        let mut server = ServerChild { child, stdin, base: String::new() };
        // Read the address on a thread so that a child stuck before binding cannot hang
        // the bench; the guard above kills it on the error path.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = stdout.map(|out| BufReader::new(out).read_line(&mut line));
            let _ = tx.send((read, line));
        });
        let (read, line) = rx.recv_timeout(START_TIMEOUT).context("the server child did not start in time")?;
        read.transpose()?;
        let addr = line
            .trim()
            .strip_prefix(LISTENING)
            .ok_or_else(|| anyhow::anyhow!("the server child did not start (its stdout said {line:?})"))?;
        server.base = format!("http://{addr}");
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's `VmRSS` and `VmHWM` now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kib| kib.parse::<u64>().ok())
                .map(|kib| kib * 1024)
                .ok_or_else(|| anyhow::anyhow!("no {name} in /proc/{}/status", self.pid()))
        };
        Ok(Memory { rss: field("VmRSS:")?, hwm: field("VmHWM:")? })
    }

    /// Starts a phase: resets the peak to the current RSS (writing 5 to `clear_refs`,
    /// which needs root on Linux) and reads the baseline.
    pub fn begin_peak(&self) -> anyhow::Result<Peak> {
        let reset = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok();
        let now = self.memory()?;
        Ok(Peak { baseline: now.rss, hwm: now.hwm, rss: now.rss, reset })
    }

    /// Ends a phase begun with [`begin_peak`](Self::begin_peak).
    pub fn end_peak(&self, begun: Peak) -> anyhow::Result<Peak> {
        let now = self.memory()?;
        Ok(Peak { hwm: now.hwm, rss: now.rss, ..begun })
    }

    /// Closes the child's stdin, so that it stops accepting, finishes what is in flight
    /// and commits what its writer holds; kills it if that takes too long.
    pub fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                anyhow::ensure!(status.success(), "the server child ended with {status}");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        anyhow::bail!("the server child did not stop within {} s; killed", STOP_TIMEOUT.as_secs())
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        // Only this child, by its own handle; a no-op when it has already ended.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
