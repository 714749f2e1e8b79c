//! The command line (docs/API.md §10): exit codes, messages, and `verify` on intact and
//! tampered stores, on the backend `CASETRAIL_TEST_DATABASE_URL` picks.

mod cli_support;

use cli_support::TestDb;

#[test]
fn account_create_json_prints_exactly_the_contracts_object() {
    let db = TestDb::new();
    let out = db.create_account("Smith & Jones LLP", "admin@smithjones.example");
    let mut keys: Vec<&str> = out.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["account_id", "admin_email", "admin_key", "admin_password", "ingest_key"]);
    assert_eq!(out["admin_email"], "admin@smithjones.example");
    assert!(out["admin_password"].as_str().unwrap().len() >= 12);
    assert!(out["ingest_key"].as_str().unwrap().starts_with("ctk_"));
    assert_ne!(out["ingest_key"], out["admin_key"]);
    let accounts = db.block_on(db.store().accounts()).unwrap();
    let stored: Vec<(String, &str)> = accounts.iter().map(|a| (a.id.to_string(), a.name.as_str())).collect();
    assert_eq!(stored, [(out["account_id"].as_str().unwrap().to_string(), "Smith & Jones LLP")]);
    match db.sqlite_file() {
        // Only the default SQLite database is a file that the command creates, in a
        // data dir it creates; both must be the owner's alone.
        Some(file) => {
            assert!(file.exists());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
                let modes = (mode(&db.dir().join("data")), mode(&file));
                assert_eq!(modes, (0o700, 0o600), "the data is its owner's alone");
            }
        }
        // With a database URL, the data dir holds no database of its own.
        None => assert!(!db.dir().join("data/casetrail.db").exists()),
    }
}

#[test]
fn errors_are_one_line_on_stderr_with_a_nonzero_exit() {
    let db = TestDb::new();
    db.create_account("First", "taken@firm.example");
    let cases: &[(&[&str], &[&str])] = &[
        (&["account", "create"], &["--name", "Second", "--admin-email", "taken@firm.example"]),
        (&["account", "create"], &["--name", "X", "--admin-email", "not-an-email"]),
        (&["account", "create"], &["--name", " ", "--admin-email", "a@b.example"]),
        (&["verify"], &["--account", "00000000-0000-0000-0000-000000000000"]),
        (&["serve"], &["--listen", "256.0.0.1:1"]),
    ];
    for (name, args) in cases {
        let out = db.run(name, args);
        assert!(!out.status.success(), "{name:?} {args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name:?} {args:?}: {stderr}");
        assert!(stderr.starts_with("casetrail: error: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = db.run(cases[0].0, cases[0].1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("email already used"));
    // A refused creation leaves nothing behind: no second firm without an admin.
    let store = db.store();
    let names: Vec<String> = db.block_on(store.accounts()).unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["First"]);
}

fn seed_events(db: &TestDb, account: &str) {
    let events = (0..5).map(|i| {
        serde_json::json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated",
            "description": format!("event {i}")})
    });
    db.append(account, events.collect());
}

#[test]
fn verify_passes_an_intact_store_and_names_each_tampered_event() {
    let db = TestDb::new();
    let account = db.create_account_id("Firm", "a@firm.example");
    seed_events(&db, &account);
    let out = db.run(&["verify"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    // A summary per account on stderr; no progress bar when stderr is not a terminal.
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.lines().any(|l| l == format!("account {account} (Firm): checked 5 events, 0 purged, up to seq 5")),
        "{stderr}"
    );
    assert!(!stderr.contains("verifying"), "{stderr}");

    // Behind the server's back: edit a description in event 3's body (the test's
    // database holds this one account).
    let sql = db.sql();
    assert_eq!(sql.execute("UPDATE events SET body = replace(body, 'event 2', 'event X') WHERE seq = 3"), 1);
    let out = db.run(&["verify"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [format!("account {account} seq 3: hash_mismatch: the stored hash does not match the event's content")]
    );

    // Delete event 4 as well.
    assert_eq!(sql.execute("DELETE FROM events WHERE seq = 4"), 1);
    let out = db.run(&["verify"], &["--account", &account]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let kinds: Vec<&str> = stdout.lines().map(|l| l.split(": ").nth(1).unwrap()).collect();
    assert_eq!(kinds, ["hash_mismatch", "missing"], "{stdout}");
    assert!(stdout.contains(&format!("account {account} seq 4: missing")));
}

#[test]
fn verify_names_an_event_whose_case_link_was_removed_behind_the_servers_back() {
    let db = TestDb::new();
    let account = db.create_account_id("Firm", "a@firm.example");
    let events = (0..3).map(|i| {
        serde_json::json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated",
            "description": format!("event {i}"), "related": [{"type": "case", "id": format!("c{i}"), "name": "Smith"}]})
    });
    db.append(&account, events.collect());
    assert_eq!(db.run(&["verify"], &[]).status.code(), Some(0));

    // The case filter no longer finds event 2, though its body still names the case.
    assert_eq!(db.sql().execute("DELETE FROM event_records WHERE seq = 2"), 1);
    let out = db.run(&["verify"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [format!(
            "account {account} seq 2: hash_mismatch: the stored case or client link differs from what the hashed content gives"
        )]
    );
}
