//! `GET /api/v1/events/export`: the filtered log as a streamed CSV or XLSX download,
//! recorded as a `system_log.exported` event when it ends (docs/API.md §6); and
//! `format=jsonl`, the whole chain for offline verification.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use casetrail_app::export::{ExportOutcome, filters_json, record_export, write_chain, write_filtered};
use casetrail_core::Timestamp;
use casetrail_export::Format;
use tokio::sync::mpsc;

use super::QueryPairs;
use super::schema::{ErrorResponse, XlsxWorkbook};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// Chunks in flight between the writer thread and the response.
const CHANNEL_CHUNKS: usize = 16;
const CHUNK_BYTES: usize = 64 * 1024;

/// A `Write` that hands its bytes to the response body in chunks; it fails once the
/// client has gone, which stops the export.
struct ChannelSink {
    tx: mpsc::Sender<Bytes>,
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
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

fn body_of(rx: mpsc::Receiver<Bytes>) -> Body {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), rx))
    });
    Body::from_stream(stream)
}

#[utoipa::path(get, path = "/api/v1/events/export", tag = "events",
    params(
        ("format" = Option<String>, Query, description = "csv (default), xlsx, or jsonl (the whole chain, no filters)"),
        ("from" = Option<String>, Query, description = "as for GET /api/v1/events; so are to, actor, activity, case, client, q"),
    ),
    responses(
        (status = 200, description = "The download, streamed: CSV, XLSX, or the whole chain as JSON lines",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"system-log-<YYYYMMDD-HHMMSS>.csv\" (or .xlsx, .jsonl)")),
            content(
                (String = "text/csv; charset=utf-8"),
                (XlsxWorkbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/x-ndjson"),
            )),
        (status = 400, description = "Bad format or filter", body = ErrorResponse),
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
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
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
        other => {
            let format =
                Format::from_param(other).ok_or_else(|| ApiError::bad_request("format: must be csv or xlsx"))?;
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
    // Tracked, so that shutdown waits for the export to end and be recorded.
    state.background.clone().spawn(async move {
        let outcome = tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| ExportOutcome { rows: 0, error: Some(e.into()) });
        if let Some(err) = &outcome.error {
            tracing::warn!(error = ?err, rows = outcome.rows, "an export stopped early");
        }
        if let Err(err) = record_export(&state, actor, account, &format_key, filters, &outcome, "").await {
            tracing::error!(error = ?err, "could not record an export");
        }
    });

    let mut response = (StatusCode::OK, body_of(rx)).into_response();
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
