//! Evidence (docs/API.md §15), after the exports: one evidence export of every stored
//! event through HTTP (a zip, streamed and counted without holding it, the server
//! child's peak RSS growth read over it), then inclusion proofs of events spread over
//! the window: `GET /api/v1/events/{id}/proof`, each checked against its checkpoint's
//! root, from one client (latency) and from [`PROOF_CLIENTS`] (proofs/s). Beside the
//! proofs, the same proofs made in this process by `casetrail_app::proofs::inclusion`
//! on the bench's own store handle: the work without HTTP, authentication and JSON.

use std::sync::Arc;
use std::time::{Duration, Instant};

use casetrail_core::ChainHash;
use casetrail_core::merkle::{leaf_hash, verify_inclusion};
use casetrail_store::{AccountId, EventId, Store};
use serde_json::Value;

use crate::child::{Peak, ServerChild};
use crate::stats::Samples;

/// Events proven per run, and the clients of the throughput run.
const PROOFS: usize = 400;
const PROOF_CLIENTS: usize = 4;

/// What the evidence phase measured.
#[derive(Debug, Clone, Default)]
pub struct EvidenceFigures {
    /// The export: request to last byte; its events (as recorded) and bytes.
    pub took: Duration,
    pub events: u64,
    pub bytes: u64,
    pub peak: Option<Peak>,
    /// One client, one proof at a time; and the proofs/s of [`PROOF_CLIENTS`].
    pub proofs: Samples,
    pub proofs_per_s: f64,
    /// The same proofs in this process, through the store handle.
    pub direct: Samples,
}

impl EvidenceFigures {
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// The phase: `stored` events before it (one more after, the export's own record);
/// `exports` counts the run's exports so far; `days` are the window's days, from
/// which the proven events are picked.
pub async fn http(
    client: &reqwest::Client,
    server: &ServerChild,
    (key, store, account): (&str, Arc<dyn Store>, AccountId),
    days: &[String],
    stored: &mut u64,
    exports: &mut usize,
) -> anyhow::Result<EvidenceFigures> {
    let mut out = EvidenceFigures::default();
    let begun = server.begin_peak()?;
    let started = Instant::now();
    out.bytes = download(client, &server.base, key).await?;
    out.took = started.elapsed();
    out.peak = Some(server.end_peak(begun)?);
    *exports += 1;
    let meta = crate::export::exported_event(client, &server.base, key, *exports).await?;
    anyhow::ensure!(
        meta["complete"] == Value::Bool(true) && meta["format"] == "evidence",
        "the evidence export was recorded as {meta}"
    );
    out.events = meta["rows"].as_u64().unwrap_or(0);
    anyhow::ensure!(out.events == *stored, "the evidence export held {} events, {} are stored", out.events, *stored);
    *stored += 1;

    let ids = spread_ids(client, &server.base, key, days).await?;
    for (id, hash) in &ids {
        let started = Instant::now();
        prove(client, &server.base, key, (id.as_str(), hash)).await?;
        out.proofs.push(started.elapsed());
    }
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for part in ids.chunks(ids.len().div_ceil(PROOF_CLIENTS).max(1)) {
        let (client, base, key, part) = (client.clone(), server.base.clone(), key.to_string(), part.to_vec());
        clients.spawn(async move {
            for (id, hash) in &part {
                prove(&client, &base, &key, (id.as_str(), hash)).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = clients.join_next().await {
        done??;
    }
    out.proofs_per_s = ids.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    for (id, _) in &ids {
        let id: EventId = id.parse().map_err(|_| anyhow::anyhow!("an event id the API gave does not parse: {id}"))?;
        let started = Instant::now();
        casetrail_app::proofs::inclusion(store.as_ref(), account, id, None)
            .await
            .map_err(|e| anyhow::anyhow!("proving {id} in process: {e}"))?;
        out.direct.push(started.elapsed());
    }
    Ok(out)
}

/// The evidence export of every event, streamed: its bytes, after checking the status,
/// the type and that it is a whole zip (a local header first, the end record last).
async fn download(client: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<u64> {
    let url = format!("{base}/api/v1/events/export?format=evidence");
    let mut response = client.get(url).bearer_auth(key).send().await?;
    let status = response.status();
    if status != 200 {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("the evidence export answered {status}: {}", &body[..body.len().min(500)]);
    }
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    anyhow::ensure!(content_type == "application/zip", "the evidence export came as {content_type:?}");
    let (mut bytes, mut head, mut tail) = (0u64, Vec::new(), Vec::new());
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
        if head.len() < 4 {
            head.extend_from_slice(&chunk[..chunk.len().min(4)]);
        }
        tail.extend_from_slice(&chunk);
        tail.drain(..tail.len().saturating_sub(1024));
    }
    anyhow::ensure!(head.starts_with(b"PK\x03\x04"), "the evidence export is not a zip");
    // A zip64 stream ends with the classic end record after the zip64 ones.
    anyhow::ensure!(tail.windows(4).any(|w| w == b"PK\x05\x06"), "the evidence export's zip has no end record");
    Ok(bytes)
}

/// [`PROOFS`] events spread over the window, by id and hash: the newest events of
/// evenly spaced days.
async fn spread_ids(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    days: &[String],
) -> anyhow::Result<Vec<(String, ChainHash)>> {
    let picked: Vec<&String> = days.iter().step_by((days.len() / 20).max(1)).collect();
    let per_day = PROOFS.div_ceil(picked.len().max(1)).min(500);
    let mut ids = Vec::new();
    for day in picked {
        let url = format!("{base}/api/v1/events?from={day}&to={day}&limit={per_day}");
        let response = client.get(url).bearer_auth(key).send().await?;
        let status = response.status();
        let page: Value = response.json().await?;
        anyhow::ensure!(status == 200, "browsing {day} answered {status}: {page}");
        let events = page["events"].as_array().map_or(&[][..], Vec::as_slice);
        for e in events {
            let hash = e["hash"].as_str().and_then(|h| h.parse().ok());
            let (Some(id), Some(hash)) = (e["id"].as_str(), hash) else {
                anyhow::bail!("an event without id or hash: {e}")
            };
            ids.push((id.to_string(), hash));
        }
    }
    ids.truncate(PROOFS);
    anyhow::ensure!(!ids.is_empty(), "no events to prove");
    Ok(ids)
}

/// One inclusion proof through HTTP, checked against its checkpoint's root with the
/// event's hash as the leaf.
async fn prove(client: &reqwest::Client, base: &str, key: &str, (id, event): (&str, &ChainHash)) -> anyhow::Result<()> {
    let response = client.get(format!("{base}/api/v1/events/{id}/proof")).bearer_auth(key).send().await?;
    let status = response.status();
    let proof: Value = response.json().await?;
    anyhow::ensure!(status == 200, "the proof of {id} answered {status}: {proof}");
    let hash = |v: &Value| -> anyhow::Result<ChainHash> {
        v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| anyhow::anyhow!("the proof of {id} has a bad hash: {v}"))
    };
    let path: Vec<ChainHash> =
        proof["inclusion_path"].as_array().into_iter().flatten().map(hash).collect::<Result<_, _>>()?;
    let root = hash(&proof["checkpoint"]["root_hash"])?;
    let (index, size) = (proof["leaf_index"].as_u64().unwrap_or(0), proof["tree_size"].as_u64().unwrap_or(0));
    let leaf = leaf_hash(event);
    anyhow::ensure!(verify_inclusion(&leaf, index, size, &path, &root), "the proof of {id} does not verify");
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// The report's table; `csv_rows_per_s` is the same run's CSV export, for the ratio.
pub fn markdown(e: &EvidenceFigures, csv_rows_per_s: Option<f64>) -> String {
    use crate::report::{int, ms, ratio};
    let mut s = format!(
        "\n**Evidence** — `GET /api/v1/events/export?format=evidence` of every stored event (one run: a zip of \
         the events and an inclusion proof each, against a checkpoint signed at its start), streamed and checked \
         as a whole zip; peak RSS growth as for the exports. Then {} inclusion proofs (`GET \
         /api/v1/events/{{id}}/proof`) of events spread over the window, each verified against the checkpoint's \
         root by the bench: one client for the latency, {PROOF_CLIENTS} clients for proofs/s; in process = \
         `casetrail_app::proofs::inclusion` on the bench's own store handle, the same proofs without HTTP.\n\n",
        e.proofs.len()
    );
    s += "| what | events | file MiB | s | events/s | peak RSS growth MiB | / CSV export rows/s |\n";
    s += "|---|--:|--:|--:|--:|--:|--:|\n";
    let growth = e.peak.as_ref().and_then(Peak::growth).map_or("– (peak not resettable)".to_string(), mib);
    let _ = std::fmt::Write::write_fmt(
        &mut s,
        format_args!(
            "| evidence export | {} | {} | {:.2} | {} | {growth} | {} |\n",
            int(e.events as f64),
            mib(e.bytes),
            e.took.as_secs_f64(),
            int(e.events_per_s()),
            ratio(Some(e.events_per_s()), csv_rows_per_s),
        ),
    );
    s += "\n| proofs | n | p50 ms | p95 ms | proofs/s | in process p50 ms | in process p95 ms | HTTP / in process p50 |\n";
    s += "|---|--:|--:|--:|--:|--:|--:|--:|\n";
    let _ = std::fmt::Write::write_fmt(
        &mut s,
        format_args!(
            "| inclusion proof | {} | {} | {} | {} | {} | {} | {} |\n",
            e.proofs.len(),
            ms(e.proofs.p50()),
            ms(e.proofs.p95()),
            int(e.proofs_per_s),
            ms(e.direct.p50()),
            ms(e.direct.p95()),
            ratio(e.proofs.p50(), e.direct.p50()),
        ),
    );
    s
}

/// The summary's figures, for the goals.
pub fn summary(e: &EvidenceFigures) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("evidence_events_per_s".into(), serde_json::json!(e.events_per_s()));
    let growth = e.peak.as_ref().and_then(Peak::growth).map(|b| b as f64 / (1024.0 * 1024.0));
    m.insert("evidence_growth_mib".into(), serde_json::json!(growth));
    m.insert("proofs_per_s".into(), serde_json::json!(e.proofs_per_s));
    m.insert("proof_p95_ms".into(), serde_json::json!(e.proofs.p95()));
    m
}

/// The goal of issue 17: an evidence export of 1M events with peak RSS growth under
/// 64 MiB; judged on the newest run of 1M events that measured it.
pub fn goal(runs: &[Value]) -> String {
    let goal = "Evidence export of 1M events with peak RSS growth < 64 MiB; proofs measured";
    let run = runs.iter().find(|r| r["events"].as_u64() == Some(1_000_000) && r["evidence_events_per_s"].is_number());
    let (met, status) = match run {
        None => (false, "no 1M run has measured it yet".to_string()),
        Some(r) => {
            let growth = r["evidence_growth_mib"].as_f64();
            let status = format!(
                "1M: {} events/s, peak RSS growth {}; {} proofs/s, p95 {} ms",
                crate::report::int(r["evidence_events_per_s"].as_f64().unwrap_or(0.0)),
                growth.map_or("not measurable".to_string(), |g| format!("{g:.1} MiB")),
                crate::report::int(r["proofs_per_s"].as_f64().unwrap_or(0.0)),
                crate::report::ms(r["proof_p95_ms"].as_f64()),
            );
            (growth.is_some_and(|g| g < 64.0), status)
        }
    };
    format!("- [{}] **{goal}** — {status}\n", if met { "x" } else { " " })
}
