//! `GET /api/v1/events/export`: the filtered log as a streamed CSV or XLSX download,
//! recorded as a `system_log.exported` event when it ends (docs/API.md §6); and
//! `format=jsonl`, the whole chain for offline verification.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use casetrail_app::evidence::write_evidence;
use casetrail_app::export::{ExportOutcome, filters_json, record_export, write_chain, write_filtered};
use casetrail_core::Timestamp;
use casetrail_export::Format;
use tokio::sync::mpsc;

use super::QueryPairs;
use super::schema::{ErrorResponse, EvidenceZip, XlsxWorkbook};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// Chunks in flight between the writer thread and the response.
const CHANNEL_CHUNKS: usize = 16;
const CHUNK_BYTES: usize = 64 * 1024;
/// How long the answer's headers wait for the export's first chunk.
const FIRST_CHUNK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the response body receives: the file's bytes, or the news that writing it
/// failed, which aborts the download.
type Chunk = Result<Bytes, ExportFailed>;

/// An export that stopped before its end. Yielded by the body stream, it makes the
/// server cut the connection instead of ending the body, so the client sees a failed
/// download rather than a short file that looks whole.
#[derive(Debug)]
struct ExportFailed {
    unavailable: bool,
}

impl std::fmt::Display for ExportFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the export stopped before its end")
    }
}

impl std::error::Error for ExportFailed {}

/// A `Write` that hands its bytes to the response body in chunks; it fails once the
/// client has gone, which stops the export.
struct ChannelSink {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl Write for ChannelSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// The body: `head`, then whatever else comes.
fn body_of(head: Vec<Chunk>, rx: mpsc::Receiver<Chunk>) -> Body {
    let rest = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    Body::from_stream(futures_util::StreamExt::chain(futures_util::stream::iter(head), rest))
}

/// Whether an export failed only because the database was out of reach.
fn is_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<casetrail_store::StoreError>()
            .is_some_and(|e| matches!(e, casetrail_store::StoreError::Unavailable(_)))
            || cause.downcast_ref::<casetrail_app::AppError>().is_some_and(casetrail_app::AppError::is_unavailable)
    })
}

#[utoipa::path(get, path = "/api/v1/events/export", tag = "events",
    params(
        ("format" = Option<String>, Query, description = "csv (default), xlsx, jsonl (the whole chain, no filters), or evidence (a zip of the matching events with their Merkle proofs)"),
        ("from" = Option<String>, Query, description = "as for GET /api/v1/events; so are to, actor, activity, case, client, q"),
    ),
    responses(
        (status = 200, description = "The download, streamed: CSV, XLSX, or the whole chain as JSON lines",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"system-log-<YYYYMMDD-HHMMSS>.csv\" (or .xlsx, .jsonl)")),
            content(
                (String = "text/csv; charset=utf-8"),
                (XlsxWorkbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/x-ndjson"),
                (EvidenceZip = "application/zip"),
            )),
        (status = 400, description = "Bad format or filter", body = ErrorResponse),
        (status = 409, description = "An evidence export of an account that has no Merkle tree", body = ErrorResponse),
    ))]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    QueryPairs(params): QueryPairs,
) -> ApiResult<Response> {
    principal.require_admin()?;
    let format_param = params.iter().rev().find(|(k, _)| k == "format").map(|(_, v)| v.as_str()).unwrap_or("csv");
    // Paging does not apply to an export: it always holds every matching event.
    let params: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "cursor" && k != "limit").cloned().collect();
    let query = super::browse_query(&state, &principal, &params, &["format"]).await?;
    let now = Timestamp::now();
    let (tx, mut rx) = mpsc::channel(CHANNEL_CHUNKS);
    // Held until the export's outcome is known, so that the body ends only when the
    // file is whole, and is aborted otherwise.
    let outcome_tx = tx.clone();
    let sink = ChannelSink { tx, buf: Vec::with_capacity(CHUNK_BYTES) };
    let rt = tokio::runtime::Handle::current();
    let store = state.store.clone();
    let account = principal.account_id;

    let (content_type, file_name, work): (&str, String, Box<dyn FnOnce() -> ExportOutcome + Send>) = match format_param
    {
        "jsonl" => {
            if !query.filter.is_empty() {
                return Err(ApiError::bad_request(
                    "format: a jsonl export holds the whole chain; filters do not apply",
                ));
            }
            // Every key that verifies: the database's ring, whichever server signed.
            let keys = state.ring().await?.public_keys();
            let name = Format::Csv.file_name(now).replace(".csv", ".jsonl");
            ("application/x-ndjson", name, Box::new(move || write_chain(&rt, store.as_ref(), &keys, account, sink)))
        }
        "evidence" => {
            if !casetrail_app::proofs::has_tree(state.store.as_ref(), account).await? {
                return Err(ApiError::conflict(casetrail_app::proofs::NO_TREE));
            }
            // A checkpoint signed now covers every event the export can find.
            let checkpoint =
                casetrail_app::integrity::checkpoint_now(state.store.as_ref(), &state.keys, account).await?;
            let keys = state.ring().await?.public_keys();
            let name =
                Format::Csv.file_name(now).replace("system-log-", "system-log-evidence-").replace(".csv", ".zip");
            let q = query.clone();
            (
                "application/zip",
                name,
                Box::new(move || write_evidence(&rt, store.as_ref(), account, &q, (&checkpoint, &keys), sink)),
            )
        }
        other => {
            let format = Format::from_param(other)
                .ok_or_else(|| ApiError::bad_request("format: must be csv, xlsx, jsonl or evidence"))?;
            let q = query.clone();
            (
                format.content_type(),
                format.file_name(now),
                Box::new(move || write_filtered(&rt, store.as_ref(), account, &q, format, sink, |_| {})),
            )
        }
    };

    let format_key = format_param.to_string();
    let filters = filters_json(&params);
    let actor = principal.actor();
    let wait = FIRST_CHUNK_WAIT.min(state.config.timeouts.handler / 2);
    // Tracked, so that shutdown waits for the export to end and be recorded.
    state.background.clone().spawn(async move {
        let outcome = tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| ExportOutcome { rows: 0, error: Some(e.into()) });
        if let Some(err) = &outcome.error {
            tracing::warn!(error = ?err, rows = outcome.rows, "an export stopped early");
            // The client may have gone already; then there is no one to tell.
            let _ = outcome_tx.send(Err(ExportFailed { unavailable: is_unavailable(err) })).await;
        }
        drop(outcome_tx);
        if let Err(err) = record_export(&state, actor, account, &format_key, filters, &outcome, "").await {
            tracing::error!(error = ?err, "could not record an export");
        }
    });

    // The headers wait for the first chunk, for a while: an export that fails before
    // it (an unreadable first page, a database out of reach, a small export failing
    // anywhere) is answered with an error, not a 200 over a broken file. An XLSX
    // sends nothing until its rows are all written, so a large one goes out without
    // that check; any later failure aborts the download.
    let mut head = Vec::new();
    if let Some(chunk) = tokio::time::timeout(wait, rx.recv()).await.unwrap_or_default() {
        // A chunk shorter than the rest is the file's last (the sink's final flush,
        // which also comes when the writer is dropped after a failure): the outcome
        // follows at once, so it is waited for too.
        let last = matches!(&chunk, Ok(bytes) if bytes.len() < CHUNK_BYTES);
        head.push(chunk);
        if last && let Some(outcome) = tokio::time::timeout(wait, rx.recv()).await.unwrap_or_default() {
            head.push(outcome);
        }
    }
    if let Some(Err(failed)) = head.iter().find(|chunk| chunk.is_err()) {
        return Err(if failed.unavailable {
            ApiError::unavailable(anyhow::anyhow!("the export could not read the database"))
        } else {
            ApiError::internal(anyhow::anyhow!("the export could not be written"))
        });
    }
    let mut response = (StatusCode::OK, body_of(head, rx)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let disposition = format!("attachment; filename=\"{file_name}\"");
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
