//! The evidence export (docs/API.md §15): the events matching a filter, each with its
//! inclusion proof against one checkpoint signed for the export, as a zip streamed
//! into any `Write` sink.
//!
//! A zip's entries follow one another, and `proofs.jsonl` comes after
//! `events.jsonl`; so that both come from one walk of the filter (no event can slip
//! in or out between two walks) and memory stays flat, the proofs are spooled to a
//! temporary file while the events stream, then copied in. Proofs are made a page
//! at a time: the page's plans are merged and their nodes read in one call, and
//! neighbouring events share most of their nodes.

use std::collections::BTreeSet;
use std::io::{Seek, Write};

use casetrail_core::chain::ChainedEvent;
use casetrail_core::integrity::Checkpoint;
use casetrail_core::merkle::ProofPlan;
use casetrail_core::query::BrowseQuery;
use casetrail_store::{AccountId, Store};
use serde_json::json;
use tokio::runtime::Handle;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::export::ExportOutcome;

/// Events per page (and per read of tree nodes).
const PAGE: u32 = 2_000;

/// What the zip's README.txt says.
const README: &str = include_str!("evidence_readme.txt");

/// Writes the evidence zip of the events matching `query` (newest first) that
/// `checkpoint` covers; `keys` are `(key_id, base64 public key)`.
pub fn write_evidence<W: Write + Send>(
    rt: &Handle,
    store: &dyn Store,
    account: AccountId,
    query: &BrowseQuery,
    (checkpoint, keys): (&Checkpoint, &[(String, String)]),
    sink: W,
) -> ExportOutcome {
    let mut rows = 0;
    let result = (|| -> anyhow::Result<()> {
        anyhow::ensure!(checkpoint.root_hash.is_some(), "the account has no Merkle tree to prove events against");
        let mut zip = ZipWriter::new_stream(sink);
        let small = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        // Entries of unknown size in a stream: zip64 from the start, so past 4 GiB
        // they stay readable.
        let large = small.large_file(true);

        zip.start_file("README.txt", small)?;
        zip.write_all(README.as_bytes())?;
        zip.start_file("checkpoint.json", small)?;
        serde_json::to_writer_pretty(&mut zip, checkpoint)?;
        zip.start_file("public-keys.json", small)?;
        let listed: Vec<_> = keys.iter().map(|(id, key)| json!({"key_id": id, "public_key": key})).collect();
        serde_json::to_writer_pretty(&mut zip, &listed)?;

        zip.start_file("events.jsonl", large)?;
        let mut proofs = std::io::BufWriter::new(tempfile::tempfile()?);
        let first = BrowseQuery { filter: query.filter.clone(), cursor: None, limit: PAGE };
        let mut next = Some(first.clone());
        while let Some(q) = next.take() {
            let page = rt.block_on(store.events(account, &q))?;
            // Events appended after the checkpoint are not under its root.
            let covered: Vec<&ChainedEvent> = page.events.iter().filter(|e| e.seq <= checkpoint.tree_size).collect();
            write_page(rt, store, account, checkpoint.tree_size, &covered, (&mut zip, &mut proofs))?;
            rows += covered.len() as u64;
            next = page.next_cursor.map(|c| BrowseQuery { cursor: Some(c), ..first.clone() });
        }

        zip.start_file("proofs.jsonl", large)?;
        let mut spooled = proofs.into_inner().map_err(|e| e.into_error())?;
        spooled.rewind()?;
        std::io::copy(&mut spooled, &mut zip)?;
        zip.finish()?.flush()?;
        Ok(())
    })();
    ExportOutcome { rows, error: result.err() }
}

/// One page: its events into the zip, their proofs into the spool.
fn write_page(
    rt: &Handle,
    store: &dyn Store,
    account: AccountId,
    tree_size: u64,
    events: &[&ChainedEvent],
    (zip, proofs): (&mut impl Write, &mut impl Write),
) -> anyhow::Result<()> {
    let plans: Vec<ProofPlan> =
        events.iter().map(|e| ProofPlan::inclusion(e.seq - 1, tree_size)).collect::<Result<_, _>>()?;
    let wanted: BTreeSet<_> = plans.iter().flat_map(ProofPlan::nodes).collect();
    let nodes = rt.block_on(store.tree_nodes(account, &wanted.into_iter().collect::<Vec<_>>()))?;
    for (event, plan) in events.iter().zip(&plans) {
        let path =
            plan.hashes(&nodes).ok_or_else(|| anyhow::anyhow!("the Merkle tree lacks a node of seq {}", event.seq))?;
        let id = event.event()?.id;
        writeln!(zip, "{}", event.to_api_json()?)?;
        let line = json!({"id": id, "seq": event.seq, "leaf_index": event.seq - 1, "inclusion_path": path});
        writeln!(proofs, "{line}")?;
    }
    Ok(())
}
