//! The command line (docs/API.md §10): exit codes, messages, and `verify` on intact and
//! tampered stores.

use assert_cmd::Command;
use serde_json::Value;

fn casetrail(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("casetrail").unwrap();
    cmd.env_remove("CASETRAIL_CONFIG")
        .env_remove("CASETRAIL_DATABASE_URL")
        .env_remove("CASETRAIL_SIGNING_KEY_FILE")
        .current_dir(dir);
    cmd
}

fn create(dir: &std::path::Path, name: &str, email: &str) -> Value {
    let out = casetrail(dir)
        .args(["account", "create", "--data-dir", "data", "--name", name, "--admin-email", email, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim_end().lines().count(), 1, "exactly one JSON object: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn account_create_json_prints_exactly_the_contracts_object() {
    let dir = tempfile::tempdir().unwrap();
    let out = create(dir.path(), "Smith & Jones LLP", "admin@smithjones.example");
    let mut keys: Vec<&str> = out.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["account_id", "admin_email", "admin_key", "admin_password", "ingest_key"]);
    assert_eq!(out["admin_email"], "admin@smithjones.example");
    assert!(out["admin_password"].as_str().unwrap().len() >= 12);
    assert!(out["ingest_key"].as_str().unwrap().starts_with("ctk_"));
    assert_ne!(out["ingest_key"], out["admin_key"]);
    assert!(dir.path().join("data/casetrail.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(dir.path().join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode("data"), mode("data/casetrail.db")), (0o700, 0o600), "the data is its owner's alone");
    }
}

#[test]
fn errors_are_one_line_on_stderr_with_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    create(dir.path(), "First", "taken@firm.example");
    let cases: &[&[&str]] = &[
        &["account", "create", "--data-dir", "data", "--name", "Second", "--admin-email", "taken@firm.example"],
        &["account", "create", "--data-dir", "data", "--name", "X", "--admin-email", "not-an-email"],
        &["account", "create", "--data-dir", "data", "--name", " ", "--admin-email", "a@b.example"],
        &["verify", "--data-dir", "data", "--account", "00000000-0000-0000-0000-000000000000"],
        &["serve", "--data-dir", "data", "--listen", "256.0.0.1:1"],
    ];
    for args in cases {
        let out = casetrail(dir.path()).args(*args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = casetrail(dir.path()).args(cases[0]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("email already used"));
}

fn seed_events(dir: &std::path::Path, account: &str) {
    // Appends through the library, as the server would.
    let db = dir.join("data/casetrail.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use casetrail_core::validate::{IngestRules, parse_ingest};
        use casetrail_store::{AppendBatch, EventStore};
        let store = casetrail_store_sqlite::SqliteStore::open(&db).unwrap();
        let rules = IngestRules { now: casetrail_core::Timestamp::now(), window_start: None, allow_reserved: false };
        let body = serde_json::json!({"events": (0..5).map(|i| serde_json::json!({
            "actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated", "description": format!("event {i}")
        })).collect::<Vec<_>>()});
        let events = parse_ingest(&body, &rules).unwrap();
        store.append(vec![AppendBatch { account_id: account.parse().unwrap(), events }]).await.unwrap();
    });
}

#[test]
fn verify_passes_an_intact_store_and_names_each_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    let account = create(dir.path(), "Firm", "a@firm.example")["account_id"].as_str().unwrap().to_string();
    seed_events(dir.path(), &account);
    let out = casetrail(dir.path()).args(["verify", "--data-dir", "data"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    // A summary per account on stderr; no progress bar when stderr is not a terminal.
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.lines().any(|l| l == format!("account {account} (Firm): checked 5 events, 0 purged, up to seq 5")),
        "{stderr}"
    );
    assert!(!stderr.contains("verifying"), "{stderr}");

    // Behind the server's back: edit a description in event 3's body.
    let conn = rusqlite::Connection::open(dir.path().join("data/casetrail.db")).unwrap();
    conn.execute("UPDATE events SET body = replace(body, 'event 2', 'event X') WHERE seq = 3", []).unwrap();
    let out = casetrail(dir.path()).args(["verify", "--data-dir", "data"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [format!("account {account} seq 3: hash_mismatch: the stored hash does not match the event's content")]
    );

    // Delete event 4 as well.
    conn.execute("DELETE FROM events WHERE seq = 4", []).unwrap();
    let out = casetrail(dir.path()).args(["verify", "--data-dir", "data", "--account", &account]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let kinds: Vec<&str> = stdout.lines().map(|l| l.split(": ").nth(1).unwrap()).collect();
    assert_eq!(kinds, ["hash_mismatch", "missing"], "{stdout}");
    assert!(stdout.contains(&format!("account {account} seq 4: missing")));
}
