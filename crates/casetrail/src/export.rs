//! `casetrail export`: the same bytes as the API for the same filters, into a file;
//! `--format jsonl` writes the whole chain for offline verification.

use std::io::{BufWriter, IsTerminal};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use casetrail_app::export::{ExportOutcome, filters_json, record_export, write_chain, write_filtered};
use casetrail_app::signing::Keys;
use casetrail_core::integrity::KeyRing;
use casetrail_core::query::BrowseQuery;
use casetrail_core::{Actor, ActorType};
use casetrail_export::Format;
use casetrail_store::{AccountId, Store};

pub struct ExportArgs<'a> {
    pub account: AccountId,
    pub format: &'a str,
    pub params: Vec<(String, String)>,
    pub output: &'a Path,
}

/// `local`: the keys known beside the database's ring (the data dir's), listed in a
/// jsonl export with the database's.
pub async fn run(store: Arc<dyn Store>, local: KeyRing, args: ExportArgs<'_>) -> anyhow::Result<u64> {
    let account = store.account(args.account).await?.with_context(|| format!("no account {}", args.account))?;
    let tz = account.time_zone();
    let query = BrowseQuery::from_params(&args.params, tz, &[]).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let format = match args.format {
        "jsonl" => None,
        other => {
            Some(Format::from_param(other).with_context(|| format!("--format {other:?}: must be csv, xlsx or jsonl"))?)
        }
    };
    let mut output = Output::create(args.output)?;
    let sink = BufWriter::new(output.file()?);
    let rt = tokio::runtime::Handle::current();
    let (format_key, outcome) = if let Some(format) = format {
        let store = store.clone();
        let id = account.id;
        let bar = progress_bar();
        let done = bar.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            write_filtered(&rt, store.as_ref(), id, &query, format, sink, |rows| {
                if let Some(bar) = &bar {
                    bar.set_position(rows);
                }
            })
        })
        .await?;
        if let Some(bar) = done {
            bar.finish_and_clear();
        }
        (format.key(), outcome)
    } else {
        anyhow::ensure!(query.filter.is_empty(), "a jsonl export holds the whole chain; filters do not apply");
        let store = store.clone();
        let keys_list = casetrail_app::signing::ring(store.as_ref(), &local).await?.public_keys();
        let id = account.id;
        ("jsonl", tokio::task::spawn_blocking(move || write_chain(&rt, store.as_ref(), &keys_list, id, sink)).await?)
    };
    // Only a complete file takes the output's name; a failed one is removed.
    let outcome = match (&outcome.error, output.finish_if_whole(outcome.error.is_none())) {
        (None, Err(err)) => ExportOutcome { rows: outcome.rows, error: Some(err) },
        _ => outcome,
    };
    record(store.clone(), account.id, format_key, &args.params, &outcome).await?;
    match outcome.error {
        Some(err) => Err(err.context(format!("the export stopped after {} events", outcome.rows))),
        None => Ok(outcome.rows),
    }
}

/// Where an export is written. A path to a regular file (or to nothing yet) gets a
/// temporary file beside it, renamed over it once the export is whole, so that a
/// failure midway never leaves a truncated file under the name asked for, nor
/// clobbers an earlier export there. Anything else (`/dev/stdout`, a pipe) is
/// written in place.
enum Output {
    Staged { file: tempfile::NamedTempFile, target: std::path::PathBuf },
    Direct(Option<std::fs::File>),
}

impl Output {
    fn create(path: &Path) -> anyhow::Result<Output> {
        let cannot = || format!("cannot create {}", path.display());
        let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
        if special {
            return Ok(Output::Direct(Some(std::fs::File::create(path).with_context(cannot)?)));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // The temporary file is 0600, as an export of the log should be.
        let file = tempfile::Builder::new().prefix(".casetrail-export-").tempfile_in(dir).with_context(cannot)?;
        Ok(Output::Staged { file, target: path.to_path_buf() })
    }

    fn file(&mut self) -> anyhow::Result<std::fs::File> {
        match self {
            Output::Staged { file, .. } => Ok(file.as_file().try_clone()?),
            Output::Direct(file) => file.take().context("the output is already taken"),
        }
    }

    /// Makes a whole export durable under its name; a partial one is removed.
    fn finish_if_whole(self, whole: bool) -> anyhow::Result<()> {
        if !whole {
            return Ok(());
        }
        match self {
            Output::Staged { file, target } => {
                file.as_file().sync_all().context("flushing the export to disk")?;
                file.persist(&target).with_context(|| format!("cannot write {}", target.display()))?;
                Ok(())
            }
            Output::Direct(_) => Ok(()),
        }
    }
}

/// A spinner with the row count, only on a terminal.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {pos} events exported ({per_sec})").ok()?);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// Records the export as `system_log.exported`, through a writer of its own. That
/// writer signs no checkpoints (the servers do), so it needs no key of the
/// deployment's: it is given a throwaway one that never signs.
async fn record(
    store: Arc<dyn Store>,
    account: AccountId,
    format: &str,
    params: &[(String, String)],
    outcome: &ExportOutcome,
) -> anyhow::Result<()> {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let actor = Actor {
        id: format!("cli:{user}"),
        name: format!("casetrail CLI ({user})"),
        email: None,
        kind: ActorType::System,
    };
    let (app, task) = casetrail_app::App::start(store, Arc::new(Keys::ephemeral()), u64::MAX);
    let filters = filters_json(params);
    record_export(&app, actor, account, format, filters, outcome, " from the command line").await?;
    drop(app);
    task.await?;
    Ok(())
}
