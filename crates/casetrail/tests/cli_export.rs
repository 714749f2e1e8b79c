//! `casetrail export` and `verify --file`, and the independent Python verifier of
//! docs/VERIFYING.md run against real exports, intact and tampered.

mod cli_support;

use std::path::Path;
use std::process::Command as Std;

use cli_support::{TestDb, casetrail};
use serde_json::Value;

/// An account with 30 events, 10 of them old enough to purge.
fn firm(db: &TestDb) -> String {
    let account = db.create_account_id("Firm", "a@firm.example");
    let now = casetrail_core::Timestamp::now();
    let events: Vec<Value> = (0..30)
        .map(|i| {
            let age_days = if i < 10 { 200 } else { 1 };
            let at = now.minus_days(age_days).plus_millis(i * 1000);
            serde_json::json!({"actor": {"id": "u1", "name": "Jane Doe"}, "activity": "client.updated",
                "description": format!("=cmd event {i}"), "occurred_at": at.to_string(),
                "related": [{"type": "client", "id": format!("cl_{}", i % 4), "name": "José Álvarez"}],
                "changes": [{"field": "phone", "before": "555", "after": i}]})
        })
        .collect();
    db.append(&account, events);
    account
}

fn python_verify(file: &Path, key: Option<&str>) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verify_export.py");
    let mut cmd = Std::new("python3");
    cmd.arg(script).arg(file);
    if let Some(key) = key {
        cmd.args(["--public-key", key]);
    }
    let out = cmd.output().expect("python3 runs");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Traceback"), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_chain_export_verifies_with_casetrail_and_with_the_python_script() {
    let db = TestDb::new();
    let dir = db.dir();
    let account = firm(&db);
    // Purge the old ones so the export has a tombstone, then export.
    let out = db.run(&["retention", "run"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "purged 10 events");
    let out = db.run(&["export"], &["--account", &account, "--format", "jsonl", "--output", "chain.jsonl"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = dir.join("chain.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds = |k: &str| records.iter().filter(|r| r["record"] == k).count();
    assert_eq!((kinds("export"), kinds("public_key"), kinds("tombstone"), kinds("event")), (1, 1, 1, 21));
    let key = records.iter().find(|r| r["record"] == "public_key").unwrap()["public_key"].as_str().unwrap().to_string();

    let out = casetrail(dir).args(["verify", "--file", "chain.jsonl", "--public-key", &key]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(python_verify(&file, Some(&key)), (0, String::new()));

    // Tamper: change one event's description in the file.
    let tampered = text.replacen("=cmd event 15", "=cmd event XV", 1);
    std::fs::write(&file, tampered).unwrap();
    let out = casetrail(dir).args(["verify", "--file", "chain.jsonl", "--public-key", &key]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = format!("account {account} seq 16: hash_mismatch:");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&line), "{}", String::from_utf8_lossy(&out.stdout));
    let (code, stdout) = python_verify(&file, Some(&key));
    assert_eq!(code, 1);
    assert!(stdout.starts_with(&line), "{stdout}");

    // Drop an event and forge the tombstone's range: both verifiers refuse it.
    let forged: Vec<String> = text
        .lines()
        .filter(|l| !l.contains("\"seq\":12,"))
        .map(|l| l.replace("\"last_seq\":10,", "\"last_seq\":11,"))
        .collect();
    std::fs::write(&file, forged.join("\n")).unwrap();
    let out = casetrail(dir).args(["verify", "--file", "chain.jsonl", "--public-key", &key]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad_signature"));
    let (code, stdout) = python_verify(&file, Some(&key));
    assert_eq!(code, 1);
    assert!(stdout.contains("bad_signature"), "{stdout}");

    // The database itself still verifies, tombstone and all.
    let out = db.run(&["verify"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn csv_export_with_filters_guards_formulas_and_is_recorded() {
    let db = TestDb::new();
    let account = firm(&db);
    let filters = ["--format", "csv", "--client", "cl_1", "--q", "jose", "--output", "out.csv"];
    let out = db.cmd(&["export"]).args(["--account", &account]).args(filters).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(db.dir().join("out.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // cl_1 is every fourth event: 1, 5, ..., 29.
    assert_eq!(rows.len(), 8);
    assert_eq!(&rows[0][5], "'=cmd event 29");
    assert_eq!(&rows[0][7], "phone: 555 → 29");
    assert!(rows.iter().all(|r| &r[6] == "Client: José Álvarez"));
    // Recorded after its rows, as the next event of the chain.
    let after = db.block_on(db.store().chain(account.parse().unwrap(), 30, 10)).unwrap();
    let recorded: Vec<Value> = after.iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["activity"], "system_log.exported");
    assert_eq!(
        (&recorded[0]["metadata"]["format"], &recorded[0]["metadata"]["rows"], &recorded[0]["metadata"]["complete"]),
        (&Value::from("csv"), &Value::from(8), &Value::from(true))
    );

    let out = db.run(&["export"], &["--account", &account, "--format", "pdf", "--output", "x"]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim().lines().count(), 1);
    let out = db.run(&["export"], &["--account", &account, "--activity", "case.opened", "--output", "x"]);
    assert!(!out.status.success());
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_refused_export_creates_no_file_and_keeps_an_earlier_one() {
    let db = TestDb::new();
    let account = firm(&db);
    let out_dir = db.dir().join("exports");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("earlier.csv"), b"an earlier export").unwrap();
    for (format, output) in [("pdf", "exports/new.pdf"), ("pdf", "exports/earlier.csv")] {
        let out = db.run(&["export"], &["--account", &account, "--format", format, "--output", output]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--format \"pdf\""),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(names_in(&out_dir), ["earlier.csv"]);
    assert_eq!(std::fs::read(out_dir.join("earlier.csv")).unwrap(), b"an earlier export");
}

/// The disk fills up midway through the file: the command fails, the name asked for
/// keeps what it held, no temporary file is left, and the export is recorded as
/// incomplete. Mounts a tmpfs, so it needs root (it fails, never skips, without).
#[test]
fn an_export_that_fails_midway_leaves_no_partial_file() {
    let db = TestDb::new();
    let account = db.create_account_id("Big Firm", "a@big.example");
    let now = casetrail_core::Timestamp::now();
    let event = |i: i64| {
        serde_json::json!({"actor": {"id": "u1", "name": "Jane Doe"}, "activity": "case.updated",
            "description": format!("event {i} with a description long enough to take room"),
            "occurred_at": now.minus_days(1).plus_millis(i).to_string()})
    };
    db.append_batches(&account, vec![(0..1_000).map(event).collect(), (1_000..2_000).map(event).collect()]);
    let disk = cli_support::tmpfs::Tmpfs::mount(&db.dir().join("small"), "64k");
    std::fs::write(disk.dir.join("out.csv"), b"an earlier export").unwrap();

    let out = db.run(&["export"], &["--account", &account, "--format", "csv", "--output", "small/out.csv"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the export stopped after"), "{stderr}");
    assert_eq!(names_in(&disk.dir), ["out.csv"]);
    assert_eq!(std::fs::read(disk.dir.join("out.csv")).unwrap(), b"an earlier export");

    let recorded = db.block_on(db.store().chain(account.parse().unwrap(), 2_000, 10)).unwrap();
    let recorded: Vec<Value> = recorded.iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["activity"], "system_log.exported");
    assert_eq!(recorded[0]["metadata"]["complete"], Value::from(false), "{}", recorded[0]);

    // With room, the same command writes the whole file under the name.
    drop(disk);
    std::fs::remove_dir(db.dir().join("small")).unwrap();
    let out = db.run(&["export"], &["--account", &account, "--format", "csv", "--output", "whole.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(db.dir().join("whole.csv")).unwrap();
    // The 2,000 events and the record of the failed export.
    assert_eq!(csv::Reader::from_reader(&bytes[3..]).records().count(), 2_001);
}
