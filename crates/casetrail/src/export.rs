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
    let file =
        std::fs::File::create(args.output).with_context(|| format!("cannot create {}", args.output.display()))?;
    let sink = BufWriter::new(file);
    let rt = tokio::runtime::Handle::current();
    let (format_key, outcome) = if args.format == "jsonl" {
        anyhow::ensure!(query.filter.is_empty(), "a jsonl export holds the whole chain; filters do not apply");
        let store = store.clone();
        let keys_list = casetrail_app::signing::ring(store.as_ref(), &local).await?.public_keys();
        let id = account.id;
        ("jsonl", tokio::task::spawn_blocking(move || write_chain(&rt, store.as_ref(), &keys_list, id, sink)).await?)
    } else {
        let format = Format::from_param(args.format)
            .with_context(|| format!("--format {:?}: must be csv, xlsx or jsonl", args.format))?;
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
    };
    record(store.clone(), account.id, format_key, &args.params, &outcome).await?;
    match outcome.error {
        Some(err) => Err(err.context(format!("the export stopped after {} events", outcome.rows))),
        None => Ok(outcome.rows),
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
