//! Where a SQLite database's bytes go: every table and index (SQLite's `dbstat`
//! table, one row per b-tree), per stored event, for the store and for the raw
//! engine in the same run, and how much of the events table is the bodies' text.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};

use crate::report::int;

/// The b-trees of one database file, largest first.
#[derive(Debug, Default, Clone)]
pub struct Storage {
    /// (b-tree name, bytes of its pages).
    pub trees: Vec<(String, u64)>,
    /// The bytes of `events.body` text.
    pub body_bytes: u64,
    /// The file and its WAL.
    pub file_bytes: u64,
}

impl Storage {
    fn total(&self) -> u64 {
        self.trees.iter().map(|(_, b)| b).sum()
    }

    fn bytes_of(&self, name: &str) -> Option<u64> {
        self.trees.iter().find(|(n, _)| n == name).map(|(_, b)| *b)
    }
}

/// Reads the b-tree sizes of the database at `path` (read-only; nothing else needs
/// to be open on it).
pub fn read(path: &Path) -> anyhow::Result<Storage> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut st = conn.prepare("SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE ORDER BY pgsize DESC")?;
    let trees = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?
        .collect::<Result<Vec<_>, _>>()?;
    let body_bytes: i64 =
        conn.query_row("SELECT coalesce(sum(length(CAST(body AS BLOB))), 0) FROM events", [], |r| r.get(0))?;
    let file_bytes = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    Ok(Storage { trees, body_bytes: body_bytes.max(0) as u64, file_bytes })
}

fn per_event(bytes: u64, events: usize) -> f64 {
    bytes as f64 / events.max(1) as f64
}

/// The summary's keys: bytes per event of the store's file.
pub fn summary(store: &Storage, events: usize) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    if store.trees.is_empty() {
        return out;
    }
    out.insert("db_bytes_per_event".into(), json!(per_event(store.total(), events).round()));
    out.insert("db_body_bytes_per_event".into(), json!(per_event(store.body_bytes, events).round()));
    out
}

/// A table of every b-tree of the store beside the raw engine's same-named one.
pub fn markdown(store: &Storage, raw: &Storage, events: usize) -> String {
    if store.trees.is_empty() {
        return String::new();
    }
    let cell = |bytes: Option<u64>| bytes.map_or("—".to_string(), |b| int(per_event(b, events)));
    let mut s = format!(
        "\n**Where the bytes go** — each table and index of the database (SQLite's `dbstat`: the pages of each \
         b-tree, free space in them included), in bytes per stored event ({} events), after the HTTP phase; the \
         raw engine's database beside it.\n\n| b-tree | casetrail, bytes/event | share | raw, bytes/event |\n\
         |---|--:|--:|--:|\n",
        int(events as f64)
    );
    let total = store.total().max(1);
    let share = |bytes: u64| format!("{:.1} %", 100.0 * bytes as f64 / total as f64);
    // The small tables (accounts, keys, settings) under a byte per event are one row.
    let small = |bytes: u64| bytes < events as u64;
    for (name, bytes) in store.trees.iter().filter(|(_, b)| !small(*b)) {
        s += &format!("| `{name}` | {} | {} | {} |\n", cell(Some(*bytes)), share(*bytes), cell(raw.bytes_of(name)));
    }
    let rest: Vec<&(String, u64)> = store.trees.iter().filter(|(_, b)| small(*b)).collect();
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|(_, b)| b).sum();
        let raw_bytes: u64 = rest.iter().filter_map(|(n, _)| raw.bytes_of(n)).sum();
        s += &format!(
            "| {} more, under a byte per event each | {} | {} | {} |\n",
            rest.len(),
            cell(Some(bytes)),
            share(bytes),
            cell(Some(raw_bytes))
        );
    }
    for (name, bytes) in raw.trees.iter().filter(|(n, b)| store.bytes_of(n).is_none() && !small(*b)) {
        s += &format!("| `{name}` (raw only) | — | — | {} |\n", cell(Some(*bytes)));
    }
    s += &format!(
        "| **all b-trees** | **{}** | 100 % | **{}** |\n| file + WAL | {} | | {} |\n\n\
         Of the `events` table, the bodies' JSON text is {} bytes per event.\n",
        cell(Some(store.total())),
        cell(Some(raw.total())),
        cell(Some(store.file_bytes)),
        cell(Some(raw.file_bytes)),
        int(per_event(store.body_bytes, events))
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_and_index_is_measured_and_the_bodies_counted() {
        let path = std::env::temp_dir().join(format!("casetrail-bench-storage-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE events (rid INTEGER PRIMARY KEY, body TEXT NOT NULL);
             CREATE INDEX events_body ON events(body);",
        )
        .unwrap();
        for i in 0..500 {
            conn.execute("INSERT INTO events (body) VALUES (?1)", [format!("{{\"n\":{i:04}}}")]).unwrap();
        }
        drop(conn);
        let storage = read(&path).unwrap();
        let names: Vec<&str> = storage.trees.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"events") && names.contains(&"events_body"), "{names:?}");
        assert_eq!(storage.body_bytes, 500 * 10, "each body is {{\"n\":NNNN}}");
        let page = 4096;
        assert!(storage.trees.iter().all(|(_, b)| b % page == 0 && *b > 0), "{:?}", storage.trees);
        assert_eq!(storage.total(), storage.trees.iter().map(|(_, b)| b).sum::<u64>());
        let table = markdown(&storage, &storage, 500);
        assert!(table.contains("| `events` |"), "{table}");
        // 500 events: every b-tree here is over a byte per event; at 10M none is.
        assert!(!table.contains("more, under a byte"), "{table}");
        let folded = markdown(&storage, &storage, 10_000_000);
        assert!(folded.contains(&format!("| {} more, under a byte per event each |", names.len())), "{folded}");
        assert_eq!(summary(&storage, 500)["db_body_bytes_per_event"], json!(10.0));
        std::fs::remove_file(&path).unwrap();
    }
}
