//! The disk under an SQLite data dir fills up while `casetrail serve` ingests, and
//! space comes back, and the server is never restarted.
//!
//! The data dir is a tmpfs of 8 MiB of the test's own (`mount -t tmpfs`, so the test
//! must run as root: it fails, never skips, when it does not), and a filler file is
//! written into it first. Ingest goes on until it is refused: the refusal is the 503
//! of docs/API.md §2, with nothing of the cause in it. While the disk is full reads
//! still answer and the file passes `PRAGMA integrity_check`. Once the filler is
//! deleted the refused batch is taken (with its idempotency keys, stored once) and
//! ingest goes on. Every acknowledged event is stored exactly once and the chain
//! verifies. SQLite only, whatever `CASETRAIL_TEST_DATABASE_URL` says: PostgreSQL's
//! disk is its own server's.

mod cli_support;
mod crash_support;
mod multi_server_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use cli_support::casetrail;
use cli_support::tmpfs::Tmpfs;
use crash_support::try_ingest;
use multi_server_support::Server;
use serde_json::{Value, json};

const DISK_SIZE: &str = "8m";
/// Written before anything else and deleted to free space: a quarter of the disk.
const FILLER_BYTES: usize = 2 << 20;
const EVENTS_PER_BATCH: usize = 20;
/// The disk is full long before this many batches (each is over 20 KiB of text).
const MAX_BATCHES: usize = 1_000;
/// Refused this many times in a row, the disk counts as full.
const FULL_AFTER_REFUSALS: usize = 5;
const RECOVER_WITHIN: Duration = Duration::from_secs(15);

#[test]
fn a_full_disk_refuses_ingest_with_503_loses_nothing_and_recovers_without_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // Declared before the server: it is unmounted after the server is gone.
    let disk = Tmpfs::mount(&data, DISK_SIZE);
    let filler = disk.dir.join("filler");
    std::fs::write(&filler, vec![0xA5u8; FILLER_BYTES]).unwrap();
    let created = casetrail(root.path())
        .args(["account", "create", "--data-dir", "data", "--name", "Full Disk LLP"])
        .args(["--admin-email", "admin@full.example", "--json"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let firm: Value = serde_json::from_slice(&created.stdout).unwrap();
    let (ingest_key, admin_key) = (firm["ingest_key"].as_str().unwrap(), firm["admin_key"].as_str().unwrap());
    let mut serve = casetrail(root.path());
    serve.args(["serve", "--data-dir", "data", "--listen", "127.0.0.1:0"]);
    let server = Server::spawn(serve);
    let db_file = data.join("casetrail.db");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let post = |body: &Value| runtime.block_on(try_ingest(&http, &server.url, ingest_key, body)).expect("an answer");
    let head = || {
        let (status, report) = runtime.block_on(crash_support::admin_get(&server.url, admin_key, "/api/v1/integrity"));
        assert_eq!((status, &report["ok"], &report["problems"]), (200, &json!(true), &json!([])), "{report}");
        // An empty log has no last seq.
        report["last_seq"].as_u64().unwrap_or_else(|| {
            assert!(report["last_seq"].is_null(), "{report}");
            0
        })
    };

    let start = head();

    // Ingest until the disk is full: refused several times in a row, with pauses
    // long enough for a checkpoint to make room in the WAL if it can. A refused batch
    // is kept, to be sent again with its keys.
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    let mut refused = Vec::new();
    let mut refused_in_a_row = 0;
    let mut next = 0;
    while refused_in_a_row < FULL_AFTER_REFUSALS {
        assert!(next < MAX_BATCHES, "the disk was not full after {MAX_BATCHES} batches");
        let (status, answer) = post(&batch(next));
        match status {
            201 => {
                note(&mut acknowledged, next, &answer);
                refused_in_a_row = 0;
            }
            503 => {
                assert_eq!(answer, unavailable(), "batch {next}");
                refused.push(next);
                refused_in_a_row += 1;
                std::thread::sleep(Duration::from_millis(300));
            }
            _ => panic!("batch {next} answered {status}: {answer}"),
        }
        next += 1;
    }
    assert!(!acknowledged.is_empty(), "the disk was full before the first batch");
    eprintln!("full after {next} batches, {} refused: {}", refused.len(), sizes(&disk.dir));
    let wal = data.join("casetrail.db-wal");
    let wal_when_full = std::fs::metadata(&wal).unwrap().len();
    // The whole answer: the §2 shape, a Retry-After, and nothing of the cause.
    let (status, retry_after, text) = runtime.block_on(async {
        let sent = http.post(format!("{}/api/v1/events", server.url)).bearer_auth(ingest_key).json(&batch(next));
        let response = sent.send().await.unwrap();
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (response.status(), retry_after, response.text().await.unwrap())
    });
    assert_eq!(status, 503, "still full: {text}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), unavailable());
    for internal in ["disk", "full", "sqlite", "SQLITE", "casetrail.db", "/tmp"] {
        assert!(!text.contains(internal), "the answer shows `{internal}`: {text}");
    }
    refused.push(next);

    // Full, it still reads: the chain verifies and holds every acknowledged event.
    assert_eq!(head(), start + acknowledged.len() as u64);
    assert_eq!(stored_keys(&db_file), counted_once(&acknowledged), "everything acknowledged, once");
    assert_eq!(integrity_check(&db_file), "ok");

    // Space comes back: the refused batches are taken, then new ones.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + RECOVER_WITHIN;
    for &b in &refused {
        loop {
            let (status, answer) = post(&batch(b));
            if status == 201 {
                note(&mut acknowledged, b, &answer);
                break;
            }
            assert_eq!((status, &answer), (503, &unavailable()), "batch {b} sent again");
            assert!(Instant::now() < deadline, "ingest did not resume within {RECOVER_WITHIN:?} of freeing space");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    eprintln!("recovered: {}", sizes(&disk.dir));
    // The log was folded in and given back, not left to grow into the freed space.
    let wal_now = std::fs::metadata(&wal).unwrap().len();
    assert!(wal_now < wal_when_full, "the WAL grew from {wal_when_full} to {wal_now} bytes");
    for b in next + 1..next + 4 {
        let (status, answer) = post(&batch(b));
        assert_eq!(status, 201, "batch {b} after space was freed: {answer}");
        note(&mut acknowledged, b, &answer);
    }
    assert_eq!(head(), start + acknowledged.len() as u64);
    assert_eq!(stored_keys(&db_file), counted_once(&acknowledged), "everything acknowledged, once");
    assert_eq!(integrity_check(&db_file), "ok");
    let verify = casetrail(root.path()).args(["verify", "--data-dir", "data"]).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    assert_eq!(verify.status.code(), Some(0), "{said}");
    drop(server);
}

/// The 503 of docs/API.md §2.
fn unavailable() -> Value {
    json!({"error": {"code": "unavailable",
        "message": "the service cannot use its database just now; try again shortly", "details": []}})
}

/// A batch of keyed events with long descriptions, drawn from a vocabulary of a few
/// hundred words as real notes are (all-distinct words would make the search index,
/// and the merges of its segments, far larger than the events).
fn batch(b: usize) -> Value {
    let events: Vec<Value> = (0..EVENTS_PER_BATCH)
        .map(|i| {
            let words: Vec<String> = (0..150).map(|w| format!("term{}", (b * 31 + i * 7 + w * 13) % 400)).collect();
            multi_server_support::keyed_event(&words.join(" "), &format!("full-{b}-{i}"))
        })
        .collect();
    json!({ "events": events })
}

/// The files of `dir` and their sizes, for the log of a failed run.
fn sizes(dir: &Path) -> String {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| format!("{} {} KiB", e.file_name().to_string_lossy(), e.metadata().map_or(0, |m| m.len()) >> 10))
        .collect();
    files.sort();
    files.join(", ")
}

/// Keeps the idempotency key and `id` of each event of batch `b`'s answer.
fn note(acknowledged: &mut BTreeMap<String, String>, b: usize, answer: &Value) {
    for (i, event) in answer["events"].as_array().unwrap().iter().enumerate() {
        acknowledged.insert(format!("full-{b}-{i}"), event["id"].as_str().unwrap().to_string());
    }
}

fn counted_once(acknowledged: &BTreeMap<String, String>) -> BTreeMap<String, i64> {
    acknowledged.keys().map(|key| (key.clone(), 1)).collect()
}

/// How many events each idempotency key has in the file, read beside the server.
fn stored_keys(db_file: &Path) -> BTreeMap<String, i64> {
    let db = read_only(db_file);
    let mut st =
        db.prepare("SELECT idem_key, count(*) FROM events WHERE idem_key IS NOT NULL GROUP BY idem_key").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

fn integrity_check(db_file: &Path) -> String {
    read_only(db_file).query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

fn read_only(db_file: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open_with_flags(db_file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db
}
