//! Export: `GET /api/v1/events/export?format=csv|xlsx` of every stored event (admin key,
//! no filters), streamed and counted without holding the body, with the server child's
//! peak RSS growth; beside it the raw engine: `casetrail_export::ExportWriter` alone,
//! fed the same events from a plain rusqlite SELECT, into `std::io::sink()`.
//!
//! Every export is itself recorded as a `system_log.exported` event once it ends, so
//! each run waits for that event (it must say `complete` and the rows counted) before
//! the next starts: the next export then holds exactly one row more.

use std::time::{Duration, Instant};

use casetrail_export::{ExportWriter, Format};
use serde_json::Value;

use crate::child::{Peak, ServerChild};
use crate::raw::RawReader;
use crate::stats::Samples;

/// Runs of each export: one at 1M events and more (each takes long enough to be
/// steady), else three and the median.
pub fn runs_for(events: usize) -> usize {
    if events >= 1_000_000 { 1 } else { 3 }
}

/// What one format measured through HTTP and on the raw engine.
#[derive(Debug, Clone)]
pub struct ExportFigures {
    pub format: Format,
    /// Whole exchange per run: request sent to last byte received.
    pub runs: Samples,
    /// Data rows of the last run (the header not counted).
    pub rows: u64,
    /// Bytes of the last run's file.
    pub bytes: u64,
    /// The server's memory over each run.
    pub peaks: Vec<Peak>,
    pub raw: Samples,
    pub raw_rows: u64,
}

impl ExportFigures {
    pub fn rows_per_s(&self) -> Option<f64> {
        Some(self.rows as f64 / (self.runs.p50()? / 1000.0))
    }

    pub fn raw_rows_per_s(&self) -> Option<f64> {
        Some(self.raw_rows as f64 / (self.raw.p50()? / 1000.0))
    }

    /// The largest peak RSS growth over the runs; `None` when the peak could not be
    /// reset.
    pub fn max_growth(&self) -> Option<u64> {
        self.peaks.iter().map(Peak::growth).collect::<Option<Vec<u64>>>()?.into_iter().max()
    }
}

/// Counts CSV records as bytes stream by: a line end outside quotes ends a record.
#[derive(Debug, Default)]
struct CsvCounter {
    in_quotes: bool,
    records: u64,
    last: Option<u8>,
}

impl CsvCounter {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                // An escaped quote ("") toggles twice: no change, as it should be.
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => self.records += 1,
                _ => {}
            }
        }
        if let Some(&b) = bytes.last() {
            self.last = Some(b);
        }
    }

    /// Records, counting a last one without a line end.
    fn finish(&self) -> u64 {
        self.records + u64::from(self.last.is_some_and(|b| b != b'\n'))
    }
}

/// One export through HTTP: `(time, data rows counted (CSV only), bytes)`; checks the
/// status, the content type and the file's framing as it streams.
pub async fn fetch(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    format: Format,
) -> anyhow::Result<(Duration, u64, u64)> {
    let started = Instant::now();
    let mut response =
        client.get(format!("{base}/api/v1/events/export?format={}", format.key())).bearer_auth(key).send().await?;
    let status = response.status();
    if status != 200 {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("export {} answered {status}: {}", format.key(), &body[..body.len().min(500)]);
    }
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    anyhow::ensure!(
        content_type.starts_with(format.content_type().split(';').next().unwrap_or("")),
        "export {} came as {content_type:?}",
        format.key()
    );
    let (mut bytes, mut head, mut tail) = (0u64, Vec::new(), Vec::new());
    let mut csv = CsvCounter::default();
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
        if head.len() < 4 {
            head.extend_from_slice(&chunk[..chunk.len().min(4)]);
        }
        match format {
            Format::Csv => csv.feed(&chunk),
            // The zip's end record is within the last 22 bytes plus its comment.
            Format::Xlsx => {
                tail.extend_from_slice(&chunk);
                tail.drain(..tail.len().saturating_sub(1024));
            }
        }
    }
    let took = started.elapsed();
    let rows = match format {
        Format::Csv => {
            anyhow::ensure!(head.starts_with(casetrail_export::BOM), "the CSV export does not start with a BOM");
            csv.finish().saturating_sub(1)
        }
        Format::Xlsx => {
            anyhow::ensure!(head.starts_with(b"PK\x03\x04"), "the XLSX export is not a zip");
            anyhow::ensure!(tail.windows(4).any(|w| w == b"PK\x05\x06"), "the XLSX export's zip has no end record");
            0
        }
    };
    Ok((took, rows, bytes))
}

/// Waits for the `system_log.exported` event of export number `exports` (counting
/// every export of the run) and answers its `metadata`.
pub async fn exported_event(client: &reqwest::Client, base: &str, key: &str, exports: usize) -> anyhow::Result<Value> {
    let url = format!("{base}/api/v1/events?activity=system_log.exported&limit=500");
    let started = Instant::now();
    loop {
        let response = client.get(&url).bearer_auth(key).send().await?;
        let status = response.status();
        let page: Value = response.json().await?;
        anyhow::ensure!(status == 200, "browsing exports answered {status}: {page}");
        let events = page["events"].as_array().map_or(&[][..], Vec::as_slice);
        if events.len() >= exports {
            return Ok(events[0]["metadata"].clone());
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "export {exports} was never recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `runs` exports of `format`, each of every stored event: `stored` before the first,
/// one more after each (its own record). `done` counts the run's exports so far.
pub async fn http(
    client: &reqwest::Client,
    server: &ServerChild,
    key: &str,
    format: Format,
    runs: usize,
    stored: &mut u64,
    done: &mut usize,
) -> anyhow::Result<(Samples, u64, u64, Vec<Peak>)> {
    let (mut times, mut rows, mut bytes, mut peaks) = (Samples::default(), 0, 0, Vec::new());
    for _ in 0..runs {
        let begun = server.begin_peak()?;
        let (took, counted, size) = fetch(client, &server.base, key, format).await?;
        peaks.push(server.end_peak(begun)?);
        *done += 1;
        let meta = exported_event(client, &server.base, key, *done).await?;
        let recorded = meta["rows"].as_u64().unwrap_or(0);
        anyhow::ensure!(
            meta["complete"] == Value::Bool(true) && meta["format"] == format.key(),
            "export {} was recorded as {meta}",
            format.key()
        );
        anyhow::ensure!(recorded == *stored, "export {} held {recorded} rows, {} are stored", format.key(), *stored);
        if format == Format::Csv {
            anyhow::ensure!(counted == recorded, "the CSV export has {counted} rows, the server says {recorded}");
        }
        times.push(took);
        (rows, bytes) = (recorded, size);
        *stored += 1;
    }
    Ok((times, rows, bytes, peaks))
}

/// The raw engine's export: every body newest first from rusqlite, written by the
/// same `ExportWriter::write_stored` as the server's into a sink; answers the times
/// and the rows.
pub fn raw(reader: &RawReader, format: Format, runs: usize) -> anyhow::Result<(Samples, u64)> {
    let (mut times, mut rows) = (Samples::default(), 0);
    for _ in 0..runs {
        let started = Instant::now();
        let mut writer = ExportWriter::new(format, std::io::sink())?;
        reader.bodies_newest_first(|body| Ok(writer.write_stored(body)?))?;
        rows = writer.finish()?.rows;
        times.push(started.elapsed());
    }
    Ok((times, rows))
}

#[cfg(test)]
mod tests {
    use super::CsvCounter;

    #[test]
    fn counts_records_not_quoted_line_ends() {
        let mut c = CsvCounter::default();
        c.feed(b"a,b\r\n\"x\r\ny\",\"say \"\"hi\"\"\"\r");
        c.feed(b"\n3,\"4\"");
        assert_eq!(c.finish(), 3);
    }
}
