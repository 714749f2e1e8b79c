//! Exports: the filtered CSV/XLSX download (docs/API.md §6) and the verifiable JSONL of a
//! whole chain (docs/VERIFYING.md), written page by page into any `Write` sink.
//!
//! Both run on a blocking thread and fetch pages through the async store with
//! `Handle::block_on`, so memory stays flat: one page of events and the writer's
//! own small buffer. A sink that fails (a client that went away) stops the work.

use std::io::Write;

use casetrail_core::chain::ChainedEvent;
use casetrail_core::query::{BrowseQuery, FILTER_PARAMS};
use casetrail_core::{Actor, OwnActivity, Timestamp};
use casetrail_export::{ExportWriter, Format};
use casetrail_store::{AccountId, Store};
use serde_json::{Map, Value, json};

use crate::AuditEvent;
use tokio::runtime::Handle;

/// Events per page: enough that per-query costs vanish, few enough (about 2 MB) that
/// memory stays flat.
const PAGE: u32 = 2_000;
const CHAIN_PAGE: u32 = 5_000;

/// How an export ended.
#[derive(Debug)]
pub struct ExportOutcome {
    pub rows: u64,
    /// Why it stopped early, if it did.
    pub error: Option<anyhow::Error>,
}

/// Writes every event matching `query` (its filters; not its cursor or limit),
/// newest first, exactly as walking the browse pages returns them.
pub fn write_filtered<W: Write + Send>(
    rt: &Handle,
    store: &dyn Store,
    account: AccountId,
    query: &BrowseQuery,
    format: Format,
    sink: W,
    mut progress: impl FnMut(u64),
) -> ExportOutcome {
    let mut writer = match ExportWriter::new(format, sink) {
        Ok(w) => w,
        Err(e) => return ExportOutcome { rows: 0, error: Some(e.into()) },
    };
    let first = BrowseQuery { filter: query.filter.clone(), cursor: None, limit: PAGE };
    let mut page = match rt.block_on(store.events(account, &first)) {
        Ok(page) => page,
        Err(e) => return ExportOutcome { rows: 0, error: Some(e.into()) },
    };
    loop {
        // The next page is read on a thread of its own while this one is written:
        // reading and formatting each take about half the time, and there are two
        // cores. (Not inside `block_on`: the sink may block, and must not block a
        // runtime's thread.)
        let next = page.next_cursor.map(|c| BrowseQuery { cursor: Some(c), ..first.clone() });
        let (written, fetched) = std::thread::scope(|scope| {
            let fetch = next.as_ref().map(|q| scope.spawn(move || rt.block_on(store.events(account, q))));
            let written = write_page(&mut writer, &page.events);
            (written, fetch.map(|f| f.join()))
        });
        if let Err(e) = written {
            return ExportOutcome { rows: writer.rows(), error: Some(e) };
        }
        progress(writer.rows());
        match fetched {
            Some(Ok(Ok(p))) => page = p,
            Some(Ok(Err(e))) => return ExportOutcome { rows: writer.rows(), error: Some(e.into()) },
            Some(Err(_)) => {
                let e = anyhow::anyhow!("reading the next page panicked");
                return ExportOutcome { rows: writer.rows(), error: Some(e) };
            }
            None => break,
        }
    }
    match writer.finish() {
        Ok(done) => ExportOutcome { rows: done.rows, error: None },
        Err(e) => ExportOutcome { rows: 0, error: Some(e.into()) },
    }
}

/// Each event straight from its stored body: no `Event` is built per row.
fn write_page<W: Write + Send>(writer: &mut ExportWriter<W>, events: &[ChainedEvent]) -> anyhow::Result<()> {
    for chained in events {
        writer.write_stored(&chained.body)?;
    }
    Ok(())
}

/// Writes the whole chain of `account` as JSON lines: the public keys, every event as
/// the API returns it and every purge tombstone, in seq order, then every checkpoint.
/// Anyone can verify it offline (docs/VERIFYING.md).
pub fn write_chain<W: Write>(
    rt: &Handle,
    store: &dyn Store,
    keys: &[(String, String)],
    account: AccountId,
    mut sink: W,
) -> ExportOutcome {
    let mut rows = 0;
    let result = (|| -> anyhow::Result<()> {
        let header = json!({"record": "export", "format": "casetrail-chain", "version": 1, "account_id": account,
                            "exported_at": Timestamp::now()});
        writeln!(sink, "{header}")?;
        for (key_id, public_key) in keys {
            let line =
                json!({"record": "public_key", "algorithm": "ed25519", "key_id": key_id, "public_key": public_key});
            writeln!(sink, "{line}")?;
        }
        let tombstones = rt.block_on(store.tombstones(account))?;
        let mut pending = tombstones.iter().peekable();
        let mut after = 0;
        loop {
            let events = rt.block_on(store.chain(account, after, CHAIN_PAGE))?;
            let Some(last) = events.last() else { break };
            after = last.seq;
            for e in &events {
                while let Some(t) = pending.next_if(|t| t.first_seq < e.seq) {
                    writeln!(sink, "{}", json!({"record": "tombstone", "tombstone": t}))?;
                }
                writeln!(sink, "{{\"record\":\"event\",\"event\":{}}}", e.to_api_json()?)?;
                rows += 1;
            }
        }
        for t in pending {
            writeln!(sink, "{}", json!({"record": "tombstone", "tombstone": t}))?;
        }
        let mut checkpoints = rt.block_on(store.checkpoints(account, u32::MAX))?;
        checkpoints.reverse();
        for c in &checkpoints {
            writeln!(sink, "{}", json!({"record": "checkpoint", "checkpoint": c}))?;
        }
        sink.flush()?;
        Ok(())
    })();
    ExportOutcome { rows, error: result.err() }
}

/// The filter parameters given, as the export event's `metadata.filters`: a repeated
/// name becomes a list; paging and empty values are left out.
pub fn filters_json(params: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (key, value) in params.iter().filter(|(k, v)| FILTER_PARAMS.contains(&k.as_str()) && !v.trim().is_empty()) {
        match map.get_mut(key) {
            None => {
                map.insert(key.clone(), Value::from(value.clone()));
            }
            Some(Value::Array(list)) => list.push(Value::from(value.clone())),
            Some(first) => *first = Value::Array(vec![first.take(), Value::from(value.clone())]),
        }
    }
    Value::Object(map)
}

/// Records an export as `system_log.exported`: its format, filters, the rows written
/// and whether it completed. `origin` says where it was made ("" for the API, " from
/// the command line" for the CLI).
pub async fn record_export(
    app: &crate::App,
    actor: Actor,
    account: AccountId,
    format: &str,
    filters: Value,
    outcome: &ExportOutcome,
    origin: &str,
) -> crate::AppResult<()> {
    let complete = outcome.error.is_none();
    let format_name = format.to_uppercase();
    let description = if complete {
        format!("Exported {} events as {format_name}{origin}", outcome.rows)
    } else {
        format!("Export as {format_name} stopped after {} events{origin}", outcome.rows)
    };
    let event = AuditEvent::new(actor, OwnActivity::Exported, description)
        .metadata("format", format)
        .metadata("filters", filters)
        .metadata("rows", outcome.rows)
        .metadata("complete", complete)
        .build();
    app.record(account, event).await?;
    Ok(())
}
