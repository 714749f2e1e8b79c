//! Measures the export writer: rows per second and peak memory.
//!
//! `cargo run --release -p casetrail-export --example throughput -- [ROWS] [csv|xlsx|both] [stored|parsed|both] [OUTPUT_DIR]`
//!
//! Events come from a pool of 1,000 varied ones, kept as the stores keep them (their
//! JSON bodies), so the memory measured is the writer's. `stored` writes each body
//! with `ExportWriter::write_stored`, as the export drivers do; `parsed` parses each
//! into an `Event` first (as `ChainedEvent::event` does) and writes that with
//! `write_event`, as the drivers did before. Bytes go to a counting sink that drops
//! them (as a response body would pass them on) unless OUTPUT_DIR is given.
//! Peak memory is the process's high-water mark (VmHWM), read before and after.

use std::io::{self, Write};
use std::time::Instant;

use casetrail_core::bounded::parse_bounded;
use casetrail_core::time::Timestamp;
use casetrail_core::validate::{IngestRules, parse_ingest};
use casetrail_export::{ExportWriter, Format};
use serde_json::json;

struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn pool() -> Vec<String> {
    let now = Timestamp::now();
    let rules = IngestRules { now, window_start: None, allow_reserved: true };
    let activities =
        ["case.updated", "client.updated", "communication.email_sent", "case.created", "team.user_logged_in"];
    (0..1_000u64)
        .map(|i| {
            let body = json!({
                "occurred_at": now.plus_millis(-(i as i64) * 997).to_string(),
                "actor": {"id": format!("u_{}", i % 40), "name": format!("Jane Doe {}", i % 40), "email": format!("jane{}@smithlaw.com", i % 40)},
                "activity": activities[(i % 5) as usize],
                "description": format!("Changed case status from Intake to Active, matter #{i}, with a note of some length"),
                "related": [
                    {"type": "case", "id": format!("c_{i}"), "name": format!("Smith v. Jones ({i})")},
                    {"type": "client", "id": format!("cl_{}", i % 97), "name": if i % 7 == 0 { None } else { Some(format!("John Smith {i}")) }}
                ],
                "changes": [
                    {"field": "status", "before": "Intake", "after": "Active"},
                    {"field": "assigned_to", "before": null, "after": {"id": i, "name": "Bob"}},
                    {"field": "fee", "before": 1500, "after": if i % 3 == 0 { json!("=1+1") } else { json!(1750.5) }}
                ],
                "context": {"ip": format!("203.0.113.{}", i % 250), "user_agent": "Mozilla/5.0"}
            });
            let new = parse_ingest(&body, &rules).expect("valid").remove(0);
            new.into_event(casetrail_core::EventId::new_v7(), casetrail_core::AccountId::new_v7(), i + 1, now)
                .canonical_body()
        })
        .collect()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

#[derive(Clone, Copy, Debug)]
enum Path {
    Stored,
    Parsed,
}

fn run(format: Format, path: Path, rows: u64, bodies: &[String], out: Option<&str>) {
    let sink: Box<dyn Write + Send> = match out {
        Some(dir) => Box::new(io::BufWriter::new(
            std::fs::File::create(format!("{dir}/throughput.{}", format.extension())).expect("output file"),
        )),
        None => Box::new(io::sink()),
    };
    let before = peak_rss_kib();
    let start = Instant::now();
    let mut writer = ExportWriter::new(format, Counting { inner: sink, bytes: 0 }).expect("writer");
    for i in 0..rows {
        let body = &bodies[(i % bodies.len() as u64) as usize];
        match path {
            Path::Stored => writer.write_stored(body).expect("write"),
            Path::Parsed => {
                let event: casetrail_core::Event = parse_bounded(body).expect("an event");
                writer.write_event(&event).expect("write");
            }
        }
    }
    let rows_done = writer.rows();
    let written = Instant::now();
    let done = writer.finish().expect("finish");
    let secs = start.elapsed().as_secs_f64();
    let after = peak_rss_kib();
    println!(
        "{format} {path:?}: {rows_done} rows in {secs:.2} s = {:.0} rows/s (rows {:.2} s, finish {:.2} s); {:.1} MiB out; \
         {} sheet(s); peak RSS {:.1} MiB (before {:.1} MiB, growth {:.1} MiB)",
        rows_done as f64 / secs,
        (written - start).as_secs_f64(),
        written.elapsed().as_secs_f64(),
        done.sink.bytes as f64 / 1048576.0,
        done.sheets,
        after as f64 / 1024.0,
        before as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / 1024.0,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: u64 = args.first().map(|s| s.replace('_', "").parse().expect("ROWS")).unwrap_or(1_000_000);
    let formats = match args.get(1).map(String::as_str) {
        None | Some("both") => vec![Format::Csv, Format::Xlsx],
        Some(f) => vec![Format::from_param(f).expect("csv, xlsx or both")],
    };
    let paths = match args.get(2).map(String::as_str) {
        None | Some("stored") => vec![Path::Stored],
        Some("parsed") => vec![Path::Parsed],
        Some("both") => vec![Path::Stored, Path::Parsed],
        Some(other) => panic!("stored, parsed or both, not {other:?}"),
    };
    let out = args.get(3).map(String::as_str);
    let bodies = pool();
    for format in formats {
        for &path in &paths {
            run(format, path, rows, &bodies, out);
        }
    }
}
