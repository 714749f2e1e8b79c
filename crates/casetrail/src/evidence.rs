//! `casetrail verify --evidence FILE [--public-key KEY]`: checks an evidence zip
//! (docs/API.md §15) offline. Each event's hash from its body and `prev_hash`, each
//! inclusion proof against the checkpoint's root, and the checkpoint's signature and
//! signed note. The events and their proofs are read side by side, one line of each
//! at a time, so memory stays flat whatever the size of the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use casetrail_core::chain::{ChainHash, ChainedEvent};
use casetrail_core::integrity::{Checkpoint, KeyRing};
use casetrail_core::merkle::{leaf_hash, verify_inclusion};
use serde::Deserialize;
use serde_json::Value;
use zip::ZipArchive;

/// One line of `proofs.jsonl`.
#[derive(Deserialize)]
struct Proof {
    id: String,
    seq: u64,
    leaf_index: u64,
    inclusion_path: Vec<ChainHash>,
}

#[derive(Deserialize)]
struct PublicKeyEntry {
    public_key: String,
}

fn archive(path: &Path) -> anyhow::Result<ZipArchive<File>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    ZipArchive::new(file).with_context(|| format!("{} is not a zip file", path.display()))
}

fn read_whole(zip: &mut ZipArchive<File>, name: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    zip.by_name(name).with_context(|| format!("the evidence has no {name}"))?.read_to_end(&mut out)?;
    Ok(out)
}

pub fn run(path: &Path, pinned_key: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut zip = archive(path)?;
    let checkpoint: Checkpoint = serde_json::from_slice(&read_whole(&mut zip, "checkpoint.json")?)
        .context("checkpoint.json is not a checkpoint")?;
    let mut ring = KeyRing::default();
    match pinned_key {
        Some(key) => {
            ring.add_base64(key).map_err(|e| anyhow::anyhow!("--public-key: {e}"))?;
        }
        None => {
            let keys: Vec<PublicKeyEntry> = serde_json::from_slice(&read_whole(&mut zip, "public-keys.json")?)
                .context("public-keys.json is not a list of keys")?;
            for k in keys {
                ring.add_base64(&k.public_key).map_err(|e| anyhow::anyhow!("public-keys.json: {e}"))?;
            }
            eprintln!(
                "casetrail: note: trusting the public keys inside the file; pass --public-key to pin the one the firm publishes"
            );
        }
    }

    let mut problems = 0usize;
    let mut report = |line: String| {
        println!("{line}");
        problems += 1;
    };
    if let Err(message) = checkpoint.verify(&ring) {
        report(format!("checkpoint: bad_signature: {message}"));
    }
    let root = checkpoint.root_hash.unwrap_or_default();
    if checkpoint.root_hash.is_none() {
        report("checkpoint: missing: the checkpoint has no Merkle root".into());
    }

    // Two handles on the file, one per entry, so both are read a line at a time.
    let (mut events_zip, mut proofs_zip) = (archive(path)?, archive(path)?);
    let mut events =
        BufReader::new(events_zip.by_name("events.jsonl").context("the evidence has no events.jsonl")?).lines();
    let mut proofs =
        BufReader::new(proofs_zip.by_name("proofs.jsonl").context("the evidence has no proofs.jsonl")?).lines();
    let mut checked = 0u64;
    loop {
        let (event, proof) = (events.next().transpose()?, proofs.next().transpose()?);
        let (event, proof) = match (event, proof) {
            (None, None) => break,
            (Some(event), proof) => (event, proof),
            (None, Some(proof)) => {
                let id = serde_json::from_str::<Proof>(&proof).map_or_else(|_| "?".into(), |p| p.id);
                report(format!("event {id}: missing: a proof without its event"));
                continue;
            }
        };
        checked += 1;
        let line = checked;
        let value: Value =
            serde_json::from_str(&event).with_context(|| format!("events.jsonl line {line} is not JSON"))?;
        let id = value["id"].as_str().unwrap_or("?").to_string();
        let chained = match ChainedEvent::from_api_json(&value) {
            Ok(c) => c,
            Err(message) => {
                report(format!("event {id}: hash_mismatch: {message}"));
                continue;
            }
        };
        if value["account_id"].as_str() != Some(checkpoint.account_id.to_string().as_str()) {
            report(format!("event {id}: hash_mismatch: the event belongs to another account than the checkpoint"));
        }
        if !chained.hash_is_consistent() {
            report(format!(
                "event {id}: hash_mismatch: the hash does not follow from the event's content and prev_hash"
            ));
        }
        let Some(proof) = proof else {
            report(format!("event {id}: missing: no inclusion proof"));
            continue;
        };
        let proof: Proof = match serde_json::from_str(&proof) {
            Ok(p) => p,
            Err(e) => {
                report(format!("event {id}: bad_proof: proofs.jsonl line {line} is not a proof: {e}"));
                continue;
            }
        };
        if proof.id != id || proof.seq != chained.seq || proof.leaf_index + 1 != chained.seq {
            report(format!("event {id}: bad_proof: proofs.jsonl line {line} is for another event"));
            continue;
        }
        let leaf = leaf_hash(&chained.hash);
        if !verify_inclusion(&leaf, proof.leaf_index, checkpoint.tree_size, &proof.inclusion_path, &root) {
            report(format!(
                "event {id}: bad_proof: the inclusion path does not lead to the checkpoint's root of tree size {}",
                checkpoint.tree_size
            ));
        }
    }
    if problems > 0 {
        return Ok(ExitCode::from(1));
    }
    println!(
        "evidence intact: {checked} events, each included in the tree of size {} with root {root}, signed by key {}",
        checkpoint.tree_size, checkpoint.key_id
    );
    Ok(ExitCode::SUCCESS)
}
