//! The report's tables past ingest and queries: verification, export, purge and the
//! server's memory.

use std::fmt::Write as _;

use crate::export::ExportFigures;
use crate::purge::PurgeFigures;
use crate::report::{VerifyRow, int, ms, ratio};
use crate::server::ServerMemory;

const MIB: f64 = 1024.0 * 1024.0;

pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / MIB)
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or("–".to_string(), f)
}

pub fn verify_table(v: &VerifyRow, client: &str) -> String {
    let c = &v.casetrail;
    let eps = |events: f64, p50: Option<f64>| p50.map(|ms| events / (ms / 1000.0));
    let full = eps(c.full_events as f64, c.full.p50());
    let raw = eps(v.raw_events as f64, v.raw.p50());
    let counts: Vec<usize> = c.incremental_events.iter().map(|n| *n as usize).collect();
    let checked = format!("{} (max {})", crate::stats::median(&counts), counts.iter().max().unwrap_or(&0));
    let mut s = format!(
        "\n**Verification** — `GET /api/v1/integrity` (ms, p50 of the runs); raw = every row read in seq order \
         and SHA-256 chained on {client}, no canonicalization or signatures.\n\n",
    );
    s += "| what | runs | events checked | p50 | max | events/s | raw events/s | casetrail / raw |\n";
    s += "|---|--:|--:|--:|--:|--:|--:|--:|\n";
    let _ = writeln!(
        s,
        "| full chain | {} | {} | {} | {} | {} | {} | {} |",
        c.full.len(),
        int(c.full_events as f64),
        ms(c.full.p50()),
        ms(c.full.percentile_ms(100.0)),
        opt(full, int),
        opt(raw, int),
        ratio(full, raw)
    );
    let _ = writeln!(
        s,
        "| incremental (`?since=checkpoint`) after `POST /api/v1/integrity/checkpoints` and 1000 new events; events \
         checked: median (max) — on a server whose writer signs no checkpoint of its own meanwhile | {} | {} | {} | \
         {} | – | – | – |",
        c.incremental.len(),
        checked,
        ms(c.incremental.p50()),
        ms(c.incremental.percentile_ms(100.0)),
    );
    s
}

pub fn export_table(exports: &[ExportFigures], client: &str) -> String {
    let mut s = format!(
        "\n**Export** — `GET /api/v1/events/export?format=…` of every stored event (admin key, no filters) through \
         HTTP, streamed and counted by the bench (CSV rows parsed, XLSX rows as the server recorded them); time = \
         request to last byte, p50 of the runs. Peak RSS growth = the server process's VmHWM after the export minus \
         its VmRSS before (peak reset through `clear_refs`), the largest over the runs. Raw = \
         `casetrail_export::ExportWriter` alone, fed the same events from a plain {client} SELECT into \
         `std::io::sink()`.\n\n",
    );
    s += "| format | runs | rows | file MiB | p50 s | rows/s | peak RSS growth MiB | server VmHWM MiB | raw runs | raw \
          rows/s | casetrail / raw |\n";
    s += "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for e in exports {
        let hwm = e.peaks.iter().map(|p| p.hwm).max().unwrap_or(0);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.format.key().to_uppercase(),
            e.runs.len(),
            int(e.rows as f64),
            mib(e.bytes),
            opt(e.runs.p50(), |v| format!("{:.2}", v / 1000.0)),
            opt(e.rows_per_s(), int),
            e.max_growth().map_or("– (peak not resettable)".to_string(), mib),
            mib(hwm),
            e.raw.len(),
            opt(e.raw_rows_per_s(), int),
            ratio(e.rows_per_s(), e.raw_rows_per_s()),
        );
    }
    s
}

pub fn purge_table(p: &PurgeFigures) -> String {
    let mut s = String::from(
        "\n**Purge** — `POST /api/v1/retention/run` removing the old events (10 % of N unless `--purge-events` \
         says otherwise) dated 91–120 days ago (stored through `Store::append` just before: ingest refuses them), \
         while one client ingests batches of 100 back to back; acknowledgement latency in ms of the ingest \
         requests that overlapped the purge, beside those of the 2 s before it. Then `GET /api/v1/integrity` must verify the whole chain (it did, or the run would \
         have failed).\n\n",
    );
    s += "| old events | purged | purge s | purged/s | ingest requests during | events ingested during | p50 before \
          | p50 during | p99 during | longest (stall) | stall / p50 before | verified after: events, s |\n";
    s += "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    let secs = p.took.as_secs_f64();
    let stall = p.during.percentile_ms(100.0);
    let _ = writeln!(
        s,
        "| {} | {} | {secs:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {}, {:.1} |",
        int(p.old_events as f64),
        int(p.purged as f64),
        int(p.purged as f64 / secs.max(1e-9)),
        p.during.len(),
        int(p.events_during as f64),
        ms(p.before.p50()),
        ms(p.during.p50()),
        ms(p.during.p99()),
        ms(stall),
        ratio(stall, p.before.p50()),
        int(p.verified as f64),
        p.verify_took.as_secs_f64(),
    );
    s
}

pub fn memory_table(m: &ServerMemory) -> String {
    let mut s = String::from(
        "\n**Server memory** — the server child process's `/proc/<pid>/status`, MiB (the bench's own data is not \
         in it).\n\n",
    );
    s += "| when | stored events | VmRSS | VmHWM | VmHWM covers |\n|---|--:|--:|--:|---|\n";
    let stored = int(m.stored as f64);
    let a = &m.after_ingest;
    let _ = writeln!(s, "| after batch ingest | {stored} | {} | {} | the process so far |", mib(a.rss), mib(a.hwm));
    let r = &m.reads;
    let covers = if r.reset {
        format!("the query plan alone (from VmRSS {} at its start)", mib(r.baseline))
    } else {
        "the process so far (`clear_refs` failed)".to_string()
    };
    let _ = writeln!(s, "| serving the query plan over HTTP | {stored} | {} | {} | {covers} |", mib(r.rss), mib(r.hwm));
    s
}
