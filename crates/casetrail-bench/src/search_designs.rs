//! `--profile search`: designs of the SQLite search index side by side, on one raw
//! database of `--events` events (see [`crate::raw`]).
//!
//! For each design, `events_fts` is dropped and filled again from the stored bodies as
//! the store's migration does, in transactions of 1000 events as ingest writes it; its
//! size is read from `dbstat`, then the keyword queries run with both plans for common
//! words (the whole match set as an `IN`, and the walk of the log beside the index's
//! matches). Every page is compared with the first design's, so a design or plan that
//! answers differently shows up as a count of differing pages.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use casetrail_core::query::BrowseQuery;
use casetrail_store_sqlite::CommonWords;
use rusqlite::{Connection, OpenFlags};

use crate::data::{Dataset, Rng, SearchWords};
use crate::ingest::{self, Body};
use crate::raw::RawDb;
use crate::report;
use crate::stats::Samples;

/// Untimed requests before each kind's timed ones.
const WARMUP: usize = 5;
/// A kind stops early once it has taken this long and has at least [`MIN_TIMED`]
/// timed requests (a slow design's short prefixes would otherwise take minutes).
const BUDGET: Duration = Duration::from_secs(10);
const MIN_TIMED: usize = 20;

/// One design: a name and the options of its `events_fts` beside the store's own
/// (`text, content='', contentless_delete=1`).
struct Design {
    name: &'static str,
    options: &'static str,
}

const DESIGNS: &[Design] = &[
    Design {
        name: "positions, unicode61, prefix 1 2 3 (the schema)",
        options: "tokenize='unicode61 remove_diacritics 0', prefix='1 2 3'",
    },
    Design { name: "detail=none, ascii, prefix 1 2 3", options: "detail=none, tokenize='ascii', prefix='1 2 3'" },
    Design { name: "detail=none, ascii, prefix 2 3", options: "detail=none, tokenize='ascii', prefix='2 3'" },
    Design { name: "detail=none, ascii, prefix 3", options: "detail=none, tokenize='ascii', prefix='3'" },
    Design { name: "detail=none, ascii, no prefix index", options: "detail=none, tokenize='ascii'" },
];

/// The kinds of keyword query timed: the benchmark's own, and short prefixes (what a
/// user typing gets), which prefix indexes exist for.
fn kinds(data: &Dataset, words: &SearchWords, requests: usize, rng: &mut Rng) -> Vec<(String, Vec<BrowseQuery>)> {
    let actors = data.actor_ids();
    let common: Vec<&str> = words.common.iter().map(|(w, _)| w.as_str()).collect();
    let rare: Vec<&str> = words.rare.iter().map(|(w, _)| w.as_str()).collect();
    let n = requests + WARMUP;
    let query = |params: &[(&str, &str)]| {
        let params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        BrowseQuery::from_params(&params, &jiff::tz::TimeZone::UTC, &[]).expect("the profile's queries are valid")
    };
    let mut out = Vec::new();
    if !common.is_empty() {
        out.push(("common (~1 %)".into(), (0..n).map(|i| query(&[("q", common[i % common.len()])])).collect()));
        let with_actor = (0..n).map(|i| query(&[("q", common[i % common.len()]), ("actor", rng.pick(&actors))]));
        out.push(("common + actor".into(), with_actor.collect()));
        for (name, len) in [("2 letters", 2), ("1 letter", 1)] {
            let head = |i: usize| common[i % common.len()].chars().take(len).collect::<String>();
            out.push((name.into(), (0..n).map(|i| query(&[("q", &head(i))])).collect()));
        }
    }
    if !rare.is_empty() {
        out.push(("rare".into(), (0..n).map(|i| query(&[("q", rare[i % rare.len()])])).collect()));
    }
    if !words.phrases.is_empty() {
        let two =
            |i: usize| words.phrases[i % words.phrases.len()].splitn(3, ' ').take(2).collect::<Vec<_>>().join(" ");
        out.push(("2 words".into(), (0..n).map(|i| query(&[("q", &two(i))])).collect()));
        let phrases = (0..n).map(|i| query(&[("q", &words.phrases[i % words.phrases.len()])]));
        out.push(("3 words".into(), phrases.collect()));
    }
    out
}

/// Bytes of the pages of the tables and indexes named like `pattern` (`dbstat`).
fn bytes(conn: &Connection, pattern: &str) -> rusqlite::Result<u64> {
    let sum: i64 =
        conn.query_row("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE ?1", [pattern], |r| r.get(0))?;
    Ok(sum as u64)
}

/// The database the designs are measured on: made afresh and removed afterwards, or,
/// with `CASETRAIL_BENCH_SEARCH_KEEP` set, kept under the temporary directory by event
/// count and seed and reused by the next run (building 1M events takes minutes; a
/// kept database holds the schema's index, so only the schema's design runs).
struct Db {
    conn: Connection,
    path: PathBuf,
    pk: i64,
    events: u64,
    _made: Option<RawDb>,
}

impl Db {
    fn open(batches: &[Body], tmp: &Path, count: usize, seed: u64, keep: bool) -> anyhow::Result<Db> {
        let kept = tmp.join(format!("casetrail-search-{count}-{seed}"));
        if !keep || !kept.join("raw.db").exists() {
            let mut made = RawDb::create(tmp)?;
            let ingested = ingest::raw(&mut made, batches)?;
            made.analyze()?;
            eprintln!("raw database: {} events in {:.1} s", ingested.events, ingested.elapsed.as_secs_f64());
            if !keep {
                let conn = Connection::open(made.path())?;
                let (path, pk) = (made.path().to_path_buf(), made.account_pk());
                return Ok(Db { conn, path, pk, events: ingested.events as u64, _made: Some(made) });
            }
            made.conn_mut().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
            made.keep = true;
            let dir = made.path().parent().expect("the raw database is in its own directory").to_path_buf();
            drop(made);
            std::fs::rename(dir, &kept)?;
        }
        let path = kept.join("raw.db");
        let conn = Connection::open(&path)?;
        let pk: i64 = conn.query_row("SELECT pk FROM accounts WHERE name = 'raw'", [], |r| r.get(0))?;
        let events: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        eprintln!("reusing {} ({events} events)", path.display());
        Ok(Db { conn, path, pk, events: events as u64, _made: None })
    }

    /// A read-only connection with the raw engine's reader settings.
    fn reader(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.pragma_update(None, "cache_size", -16_000)?;
        Ok(conn)
    }
}

pub fn profile(data: &Dataset, batches: &[Body], tmp: &Path, requests: usize, seed: u64) -> anyhow::Result<()> {
    let keep = std::env::var_os("CASETRAIL_BENCH_SEARCH_KEEP").is_some();
    let mut db = Db::open(batches, tmp, data.count, seed, keep)?;
    let events = db.events as f64;
    let mut rng = Rng::new(seed);
    let words = SearchWords::pick(data, &mut rng);
    let kinds = kinds(data, &words, requests, &mut rng);
    let pk = db.pk;
    let all = bytes(&db.conn, "%")? - bytes(&db.conn, "events_fts%")?;

    let mut lines = vec![
        format!(
            "{} events; up to {requests} timed requests per kind (fewer past {} s); p50 / p95 in ms of one page \
             of 50, SQL only",
            db.events,
            BUDGET.as_secs()
        ),
        String::new(),
        format!(
            "| design | plan for common words | rebuild s | index B/event | docsize B/event | file B/event | {} | pages differing |",
            kinds.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(" | ")
        ),
        format!("|---|---|---|---|---|---|{}---|", "---|".repeat(kinds.len())),
    ];
    let mut reference: Option<Vec<Vec<Vec<u64>>>> = None;
    let designs = if keep { &DESIGNS[..1] } else { DESIGNS };
    for design in designs {
        let started = Instant::now();
        let create = format!(
            "CREATE VIRTUAL TABLE events_fts USING fts5(text, content='', contentless_delete=1, {})",
            design.options
        );
        if !keep {
            casetrail_store_sqlite::rebuild_search_index(&mut db.conn, &create, 1000)?;
        }
        let rebuild = started.elapsed();
        let conn = &db.conn;
        let index = bytes(conn, "events_fts_data")? + bytes(conn, "events_fts_idx")?;
        let docsize = bytes(conn, "events_fts_docsize")?;
        let fts = bytes(conn, "events_fts%")?;
        let reader = db.reader()?;
        for common in [CommonWords::MatchSet, CommonWords::Walk] {
            let mut cells = Vec::new();
            let mut pages: Vec<Vec<Vec<u64>>> = Vec::new();
            for (name, queries) in &kinds {
                let (samples, seqs) = time_kind(&reader, pk, queries, common)?;
                eprintln!("  {} / {common:?} / {name}: p95 {} ms", design.name, report::ms(samples.p95()));
                cells.push(format!("{} / {}", report::ms(samples.p50()), report::ms(samples.p95())));
                pages.push(seqs);
            }
            let differing = match &reference {
                None => {
                    reference = Some(pages);
                    0
                }
                Some(first) => {
                    first.iter().zip(&pages).map(|(a, b)| a.iter().zip(b).filter(|(a, b)| a != b).count()).sum()
                }
            };
            lines.push(format!(
                "| {} | {common:?} | {:.1} | {:.0} | {:.1} | {:.0} | {} | {differing} |",
                design.name,
                rebuild.as_secs_f64(),
                index as f64 / events,
                docsize as f64 / events,
                (all + fts) as f64 / events,
                cells.join(" | "),
            ));
        }
    }
    println!("{}", lines.join("\n"));
    Ok(())
}

/// Times the queries of one kind (after [`WARMUP`] untimed ones, within [`BUDGET`]);
/// answers the samples and each page's seqs.
fn time_kind(
    conn: &Connection,
    pk: i64,
    queries: &[BrowseQuery],
    common: CommonWords,
) -> anyhow::Result<(Samples, Vec<Vec<u64>>)> {
    let mut samples = Samples::default();
    let mut pages = Vec::new();
    let begun = Instant::now();
    for (i, query) in queries.iter().enumerate() {
        if samples.len() >= MIN_TIMED && begun.elapsed() > BUDGET {
            break;
        }
        let started = Instant::now();
        let page = casetrail_store_sqlite::browse_page_with(conn, pk, query, common)
            .map_err(|e| anyhow::anyhow!("search page: {e}"))?;
        let took: Duration = started.elapsed();
        if i >= WARMUP {
            samples.push(took);
            pages.push(page.events.iter().map(|e| e.seq).collect());
        }
    }
    Ok((samples, pages))
}
