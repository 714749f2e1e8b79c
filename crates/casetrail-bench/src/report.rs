//! The run as Markdown: one section per run, and `BENCHMARKS.md` with the performance
//! goals on top (rebuilt from every run's summary) and the runs below, newest first.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::ingest::IngestResult;
use crate::machine::{Machine, Noise};
use crate::queries::Timing;

/// Where older runs start in `BENCHMARKS.md`; everything after it is kept.
const RUNS_MARKER: &str = "<!-- casetrail-bench: runs below, newest first; each starts with its summary -->";
const SUMMARY_PREFIX: &str = "<!-- run-summary ";
/// Hand-written analysis between these markers survives every rewrite.
const NOTES_START: &str = "<!-- casetrail-bench: notes below are written by hand and kept by every run -->";
const NOTES_END: &str = "<!-- casetrail-bench: end of notes -->";

/// One ingest path, with the raw engine doing the same work beside it.
#[derive(Debug, Clone)]
pub struct IngestRow {
    pub name: String,
    pub result: IngestResult,
    pub raw: Option<(String, IngestResult)>,
}

/// One query kind through HTTP, the store and the raw engine.
#[derive(Debug, Clone)]
pub struct QueryRow {
    pub http: Timing,
    pub store: Option<Timing>,
    pub raw: Option<Timing>,
    pub raw_no_stats: Option<Timing>,
}

/// Verification through the API beside the raw engine's chain walk.
#[derive(Debug, Clone)]
pub struct VerifyRow {
    pub casetrail: crate::verify::VerifyFigures,
    pub raw: crate::stats::Samples,
    pub raw_events: u64,
}

/// The database a run measured, and the raw engine beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The raw engine, as the tables name it.
    pub fn raw(self) -> &'static str {
        match self {
            Engine::Sqlite => "raw SQLite",
            Engine::Postgres => "raw PostgreSQL",
        }
    }

    /// The raw engine's client, as the tables' captions name it.
    pub fn client(self) -> &'static str {
        match self {
            Engine::Sqlite => "rusqlite",
            Engine::Postgres => "tokio-postgres",
        }
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Run {
    pub engine: Engine,
    /// Figures of the engine's own phases, into the summary.
    pub extra_summary: serde_json::Map<String, Value>,
    /// Tables of the engine's own phases, after the others.
    pub extra_markdown: String,
    pub date: String,
    pub command: String,
    pub machine: Machine,
    pub events: usize,
    pub data: Vec<String>,
    pub ingest: Vec<IngestRow>,
    pub queries: Vec<QueryRow>,
    pub verify: Option<VerifyRow>,
    pub exports: Vec<crate::export::ExportFigures>,
    pub purge: Option<crate::purge::PurgeFigures>,
    pub memory: Option<crate::server::ServerMemory>,
    pub noise: Vec<(String, Noise)>,
    pub notes: Vec<String>,
    /// Whether the product's database had planner statistics after the run.
    pub stats_fresh: bool,
    pub took_secs: f64,
}

pub fn int(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "–".to_string(),
        Some(v) if v < 10.0 => format!("{v:.2}"),
        Some(v) if v < 1000.0 => format!("{v:.1}"),
        Some(v) => int(v),
    }
}

pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "–".to_string(),
    }
}

/// "100k", "1M": how runs are named by size.
pub fn scale(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1000 && n % 1000 == 0 => format!("{}k", n / 1000),
        n => int(n as f64),
    }
}

impl Run {
    fn query_p95(&self) -> Vec<(String, f64)> {
        self.queries.iter().filter_map(|q| Some((q.http.name.clone(), q.http.samples.p95()?))).collect()
    }

    /// The figures the goals are judged on, kept in the file as JSON.
    pub fn summary(&self) -> Value {
        let find = |prefix: &str| self.ingest.iter().find(|r| r.name.starts_with(prefix));
        let eps = |prefix: &str| find(prefix).map(|r| r.result.eps());
        let raw_ratio = |prefix: &str| find(prefix).and_then(|r| Some(r.result.eps() / r.raw.as_ref()?.1.eps()));
        // The walk is a sum of 100 requests, not one query: it is not judged.
        let p95: Vec<(String, f64)> = self.query_p95().into_iter().filter(|(n, _)| !n.starts_with("walk")).collect();
        let worst = p95.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        let v = self.verify.as_ref();
        let full_eps = v.and_then(|v| Some(v.casetrail.full_events as f64 / (v.casetrail.full.p50()? / 1000.0)));
        let mut summary = json!({
            "date": self.date, "events": self.events, "commit": self.machine.commit,
            "http_batch_eps": eps("HTTP, batches"), "http_batch_ratio": raw_ratio("HTTP, batches"),
            "http_batch_tail_eps": find("HTTP, batches").and_then(|r| r.result.tail_eps),
            "single_eps": eps("HTTP, single"), "store_eps": eps("Store::append"),
            "queries": p95.len(), "over_10ms": p95.iter().filter(|q| q.1 > 10.0).count(),
            "over_25ms": p95.iter().filter(|q| q.1 > 25.0).count(),
            "worst_query": worst.map(|w| w.0.clone()), "worst_p95_ms": worst.map(|w| w.1),
            "stats_fresh": self.stats_fresh,
            "verify_eps": full_eps, "incremental_p50_ms": v.and_then(|v| v.casetrail.incremental.p50()),
            "incremental_max_ms": v.and_then(|v| v.casetrail.incremental.percentile_ms(100.0)),
        });
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        for e in &self.exports {
            let key = e.format.key();
            summary[format!("{key}_rows_per_s")] = json!(e.rows_per_s());
            summary[format!("{key}_ratio")] = json!(e.rows_per_s().zip(e.raw_rows_per_s()).map(|(a, b)| a / b));
            summary[format!("{key}_growth_mib")] = json!(e.max_growth().map(mib));
        }
        if let Some(p) = &self.purge {
            summary["purge_secs"] = json!(p.took.as_secs_f64());
            summary["purged"] = json!(p.purged);
            summary["purge_requests"] = json!(p.during.len());
            summary["purge_stall_ms"] = json!(p.during.percentile_ms(100.0));
            summary["purge_p50_ms"] = json!(p.during.p50());
            summary["purge_before_p50_ms"] = json!(p.before.p50());
        }
        for (key, value) in &self.extra_summary {
            summary[key] = value.clone();
        }
        if let Some(m) = &self.memory {
            summary["reads_stored"] = json!(m.stored);
            summary["reads_hwm_mib"] = json!(mib(m.reads.hwm));
            summary["reads_rss_mib"] = json!(mib(m.reads.rss));
            summary["reads_peak_reset"] = json!(m.reads.reset);
        }
        summary
    }

    /// The run's section of `BENCHMARKS.md`; also what is printed.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let on = if self.engine == Engine::Postgres { " · PostgreSQL" } else { "" };
        let _ = writeln!(s, "### {} · {} events · {}{on}\n", self.date, int(self.events as f64), m.commit);
        let _ = writeln!(s, "{SUMMARY_PREFIX}{} -->\n", self.summary());
        let _ = writeln!(s, "- Command: `{}`", self.command);
        let _ = writeln!(s, "- Commit: `{}`", m.commit);
        let _ = writeln!(
            s,
            "- Machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}",
            m.cpus, m.cpu_model, m.memory_gib, m.kernel
        );
        for line in &self.data {
            let _ = writeln!(s, "- {line}");
        }
        let noise: Vec<String> =
            self.noise.iter().map(|(phase, n)| format!("{phase} {:.1}/{}", n.max_load, n.max_compilers)).collect();
        let _ = writeln!(s, "- Noise (highest load average / most compiler processes at once): {}", noise.join(", "));
        let _ = writeln!(s, "- Whole run: {:.0} s", self.took_secs);
        for note in &self.notes {
            let _ = writeln!(s, "- {note}");
        }

        let _ = writeln!(
            s,
            "\n**Ingest** — events/s; acknowledgement latency per request (HTTP) or per commit \
             (store, raw), ms; casetrail / raw > 1 means faster than the raw engine.\n"
        );
        let _ = writeln!(
            s,
            "| path | events | events/s | last 10 % events/s | p50 | p99 | {} doing the same | raw events/s | \
             casetrail / raw |",
            self.engine.raw()
        );
        s += "|---|--:|--:|--:|--:|--:|---|--:|--:|\n";
        for r in &self.ingest {
            let x = &r.result;
            let (raw_name, raw_eps) =
                r.raw.as_ref().map_or(("–".to_string(), None), |(n, raw)| (n.clone(), Some(raw.eps())));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.name,
                int(x.events as f64),
                int(x.eps()),
                x.tail_eps.map_or("–".to_string(), int),
                ms(x.latencies.p50()),
                ms(x.latencies.p99()),
                raw_name,
                raw_eps.map_or("–".to_string(), int),
                ratio(Some(x.eps()), raw_eps),
            );
        }

        let _ = writeln!(
            s,
            "\n**Browse, filter, search** — ms; n = timed HTTP requests (after 3 warm-up; a kind stops early \
             once it has run for the time budget), rows = median rows per page (limit 50). \
             HTTP = `GET /api/v1/events` end to end with the admin key; store = `Store::events` without HTTP; \
             raw = the same SQL on {} after `ANALYZE` (and before it, as casetrail runs today).\n",
            self.engine.client()
        );
        s += "| query | n | rows | HTTP p50 | HTTP p95 | HTTP p99 | store p50 | store p95 | raw p50 | raw p95 | raw p95 no ANALYZE | HTTP / raw p50 | HTTP / raw p95 |\n";
        s += "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
        for q in &self.queries {
            let h = &q.http;
            let name = match h.page {
                Some(page) if page < crate::queries::DEEP_PAGE => format!("{} — data ends at page {page}", h.name),
                _ => h.name.clone(),
            };
            let get = |t: &Option<Timing>, p: f64| t.as_ref().and_then(|t| t.samples.percentile_ms(p));
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                h.samples.len(),
                crate::stats::median(&h.rows),
                ms(h.samples.p50()),
                ms(h.samples.p95()),
                ms(h.samples.p99()),
                ms(get(&q.store, 50.0)),
                ms(get(&q.store, 95.0)),
                ms(get(&q.raw, 50.0)),
                ms(get(&q.raw, 95.0)),
                ms(get(&q.raw_no_stats, 95.0)),
                ratio(h.samples.p50(), get(&q.raw, 50.0)),
                ratio(h.samples.p95(), get(&q.raw, 95.0)),
            );
        }

        if let Some(v) = &self.verify {
            s += &crate::tables::verify_table(v, self.engine.client());
        }
        if !self.exports.is_empty() {
            s += &crate::tables::export_table(&self.exports, self.engine.client());
        }
        if let Some(p) = &self.purge {
            s += &crate::tables::purge_table(p);
        }
        if let Some(m) = &self.memory {
            s += &crate::tables::memory_table(m);
        }
        s += &self.extra_markdown;
        s
    }
}

/// Writes `BENCHMARKS.md`: the header and goals (from every run's summary), then this
/// run, then the older runs as they were.
pub fn write(path: &Path, run: &Run) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, compose(&old, &run.markdown(), Some(run.summary())))?;
    Ok(())
}

/// Writes a section that is not a run of the goals (a soak) at the top of the runs:
/// it has no summary line, so the goals ignore it and later runs keep it as it is.
pub fn write_section(path: &Path, section: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, with_section(&old, section))?;
    Ok(())
}

/// `old` with `section` on top of its runs, everything else as it was (the goals too:
/// nothing new to judge them on); a new file when `old` has no runs yet.
fn with_section(old: &str, section: &str) -> String {
    match old.split_once(RUNS_MARKER) {
        Some((head, runs)) => format!("{head}{RUNS_MARKER}\n\n{section}\n{}\n", runs.trim()),
        None => compose(old, section, None),
    }
}

/// The file: header, goals from `summary` and the older runs' summaries, the kept
/// notes, then `section` and the older runs.
fn compose(old: &str, section: &str, summary: Option<Value>) -> String {
    let older = old.split_once(RUNS_MARKER).map_or("", |(_, runs)| runs).trim();
    let mut summaries: Vec<Value> = summary.into_iter().collect();
    summaries.extend(
        older
            .lines()
            .filter_map(|l| l.strip_prefix(SUMMARY_PREFIX)?.strip_suffix(" -->"))
            .filter_map(|json| serde_json::from_str::<Value>(json).ok()),
    );
    let notes = old
        .split_once(NOTES_START)
        .and_then(|(_, rest)| rest.split_once(NOTES_END))
        .map_or("\n## Notes\n\n(Profiles, what limits each missed goal, and what to try next.)\n\n", |(n, _)| n);
    let mut out = String::from(HEADER);
    out += &crate::goals::markdown(&summaries);
    out += "\n";
    out += NOTES_START;
    out += notes;
    out += NOTES_END;
    out += "\n\n## Runs\n\n";
    out += RUNS_MARKER;
    out += "\n\n";
    out += section;
    if !older.is_empty() {
        out += "\n";
        out += older;
        out += "\n";
    }
    out
}

const HEADER: &str = "# Benchmarks

Written by the benchmark command (`crates/casetrail-bench`):

```sh
cargo run --release -p casetrail-bench -- --events 100000     # under ten minutes here
cargo run --release -p casetrail-bench -- --events 1000000    # within the hour
cargo run --release -p casetrail-bench -- --smoke             # 2000 events, seconds; writes nothing
cargo run --release -p casetrail-bench -- --events 100000 --database-url postgres://postgres@127.0.0.1:5432/postgres
cargo run --release -p casetrail-bench -- --events 100000 --soak-secs 1800   # a 30-minute soak
```

With `--database-url` the run is on PostgreSQL: every database a throwaway schema of
that server, dropped at the end; the raw engine is then plain tokio-postgres (the
store's statements, and binary COPY) into the store's own schema, and the run adds
ingest through two servers on one database and a purge by partitions.

Each run generates the demo firm's log deterministically (same seed and count, same
events; only their dates move, by whole weeks, to lie inside the 90-day retention),
then measures ingest through the real HTTP API (the server on `127.0.0.1:0` as a child
process of its own, so that its memory can be read) and through the store;
browse/filter/search, CSV and XLSX export, verification and a purge at N stored events;
the server's memory — and, in the same run, the raw engine: the same events in plain
batched rusqlite statements into the store's own schema (its migrations) (same tables and indexes,
contentless FTS5, WAL, `synchronous = FULL`), the same SELECTs, the same chain walk and
the export writer fed from a plain SELECT. Every run also checks what it measures
(statuses, exported row counts, the chain verifying after the purge). This machine is shared and noisy (2 cores,
others compiling): compare the medians and the **casetrail / raw** ratios, not single
absolute figures. A run appends its section below; older runs are kept.

";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_goes_on_top_of_the_runs_and_keeps_notes_and_older_runs() {
        let old = format!(
            "{HEADER}goals\n{NOTES_START}\nmy notes\n{NOTES_END}\n\n## Runs\n\n{RUNS_MARKER}\n\n### old run\n\n\
             {SUMMARY_PREFIX}{{\"events\": 7}} -->\n"
        );
        let out = with_section(&old, "### soak\n");
        assert!(out.starts_with(&format!("{HEADER}goals\n")), "{out}");
        assert!(out.contains(&format!("{NOTES_START}\nmy notes\n{NOTES_END}")), "{out}");
        let runs = out.split_once(RUNS_MARKER).unwrap().1;
        assert!(runs.trim_start().starts_with("### soak\n\n### old run"), "{runs}");
        // A later run keeps the soak (it has no summary line) below itself.
        let later = compose(&out, "### new run\n", Some(json!({"events": 9})));
        let runs = later.split_once(RUNS_MARKER).unwrap().1;
        let order: Vec<&str> = runs.lines().filter(|l| l.starts_with("### ")).collect();
        assert_eq!(order, ["### new run", "### soak", "### old run"]);
        assert_eq!(later.matches("my notes").count(), 1);
    }
}
