//! `--database-url` on every command (docs/API.md §12): the test database's URL in
//! the flag or the environment, `sqlite://PATH` relative to the working directory or
//! absolute, and URLs that cannot be opened — a non-zero exit whose last line on
//! standard error says why and never shows the password, on a real PostgreSQL server
//! too.

mod cli_support;

use std::path::Path;

use casetrail_core::Timestamp;
use cli_support::{TestDb, postgres_server_url};
use serde_json::Value;

/// The binary in `dir`, naming no database; a guard against a command that hangs on
/// a server that does not answer.
fn casetrail(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::from_std(cli_support::casetrail(dir));
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

/// Every command that opens the database, with what it needs besides.
fn commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["serve", "--listen", "127.0.0.1:0"],
        vec!["account", "create", "--name", "Firm", "--admin-email", "a@firm.example"],
        vec!["verify"],
        vec!["export", "--account", "00000000-0000-0000-0000-000000000000", "--output", "out.csv"],
        vec!["retention", "run"],
        vec!["keys", "rotate"],
    ]
}

fn insert_after_command(args: &[&'static str], extra: &[&str]) -> Vec<String> {
    // The flags come after the command's name (`account create`, `keys rotate`, ...).
    let name_len = if ["account", "retention", "keys"].contains(&args[0]) { 2 } else { 1 };
    let mut out: Vec<String> = args[..name_len].iter().map(|s| s.to_string()).collect();
    out.extend(extra.iter().map(|s| s.to_string()));
    out.extend(args[name_len..].iter().map(|s| s.to_string()));
    out
}

#[test]
fn a_url_that_cannot_be_opened_fails_every_command_without_showing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let urls = [
        ("mysql://ada:hunter2@127.0.0.1/casetrail", "\"mysql\" scheme is not supported"),
        ("ada:hunter2@127.0.0.1/casetrail", "not a URL"),
        // Not a database that answers (nothing listens on port 1), or not built in.
        ("postgres://ada:hunter2@127.0.0.1:1/casetrail", ""),
        ("postgresql://ada@127.0.0.1:1/casetrail?password=hunter2", ""),
    ];
    for (url, says) in urls {
        for args in commands() {
            let args = insert_after_command(&args, &["--database-url", url]);
            let out = casetrail(dir.path()).args(&args).output().unwrap();
            assert!(!out.status.success(), "{args:?}");
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert!(!stderr.contains("hunter2"), "{args:?}: {stderr}");
            let last = stderr.trim_end().lines().last().unwrap_or_default();
            assert!(last.starts_with("casetrail: error: ") && last.contains(says), "{args:?}: {stderr}");
        }
        // The same through the environment.
        let out = casetrail(dir.path()).args(["verify"]).env("CASETRAIL_DATABASE_URL", url).output().unwrap();
        assert!(!out.status.success());
        assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
    }
    assert!(!dir.path().join("casetrail-data").exists(), "nothing was created in the default data dir");
}

// About `sqlite://` URLs themselves, which work whatever the test backend is.
#[test]
fn sqlite_urls_name_a_file_relative_to_the_working_directory_or_absolute() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dbs")).unwrap();
    let relative = "sqlite://dbs/firm.db";
    let out = casetrail(dir.path())
        .args(["account", "create", "--database-url", relative, "--name", "Firm", "--admin-email", "a@firm.example"])
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let account = serde_json::from_slice::<Value>(&out.stdout).unwrap()["account_id"].as_str().unwrap().to_string();
    assert!(dir.path().join("dbs/firm.db").exists());
    assert!(!dir.path().join("casetrail-data").exists(), "the data dir's database was not used");

    // The same file, named absolutely and through the environment.
    let absolute = format!("sqlite://{}", dir.path().join("dbs/firm.db").display());
    assert!(absolute.starts_with("sqlite:///"));
    let out = casetrail(dir.path())
        .args(["verify", "--data-dir", "elsewhere"])
        .env("CASETRAIL_DATABASE_URL", &absolute)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(&format!("account {account} (Firm): checked 0 events")), "{stderr}");
    // The flag wins over the environment.
    let out = casetrail(dir.path())
        .args(["verify", "--database-url", relative])
        .env("CASETRAIL_DATABASE_URL", "mysql://x:hunter2@h/db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // A file in a directory that does not exist is an error, not a new directory.
    let out = casetrail(dir.path()).args(["verify", "--database-url", "sqlite://missing/firm.db"]).output().unwrap();
    assert!(!out.status.success());
    assert!(!dir.path().join("missing").exists());
}

/// How a test hands the command its database.
#[derive(Clone, Copy, Debug)]
enum Given {
    Flag,
    Environment,
}

/// `casetrail <name…> <args…>` in the test's directory with the test database's URL
/// given as `how` says, and no data dir: the default one holds the keys.
fn with_url(db: &TestDb, how: Given, name: &[&str], args: &[&str]) -> std::process::Output {
    let mut cmd = cli_support::casetrail(db.dir());
    cmd.args(name);
    match how {
        Given::Flag => cmd.args(["--database-url", &db.url()]),
        Given::Environment => cmd.env("CASETRAIL_DATABASE_URL", db.url()),
    };
    let out = cmd.args(args).output().unwrap();
    assert!(out.status.success(), "{name:?} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `account create`, `retention run`, `keys rotate`, `verify` and `export`, each on
/// the test database named only by its URL, and each seeing what the last did.
fn every_command_works_on_the_url(how: Given) {
    let db = TestDb::new();
    // The SQLite file the URL names must be in a directory that exists.
    std::fs::create_dir(db.dir().join(cli_support::DATA_DIR)).unwrap();
    let args = ["--name", "Firm", "--admin-email", "a@firm.example", "--json"];
    let created: Value = serde_json::from_slice(&with_url(&db, how, &["account", "create"], &args).stdout).unwrap();
    let account = created["account_id"].as_str().unwrap().to_string();
    let now = Timestamp::now();
    let events = (0..5).map(|i| {
        let at = now.minus_days(if i < 3 { 200 } else { 1 });
        serde_json::json!({"actor": {"id": "u1", "name": "Jane"}, "activity": "case.updated",
            "description": format!("event {i}"), "occurred_at": at.to_string()})
    });
    db.append(&account, events.collect());

    let out = with_url(&db, how, &["retention", "run"], &[]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "purged 3 events\n");
    let said = String::from_utf8(with_url(&db, how, &["keys", "rotate"], &[]).stdout).unwrap();
    let keys = db.block_on(db.store().public_keys()).unwrap();
    let current: Vec<&str> = keys.iter().filter(|k| k.retired_at.is_none()).map(|k| k.key_id.as_str()).collect();
    assert_eq!(current.len(), 1, "{keys:?}");
    assert!(said.starts_with(&format!("now signing with key {}", current[0])), "{said}");

    let out = with_url(&db, how, &["verify"], &[]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    // The two young events and the purge's record; the three old ones are purged.
    let summary = format!("account {account} (Firm): checked 3 events, 3 purged, up to seq 6");
    assert!(stderr.lines().any(|l| l == summary), "{stderr}");

    with_url(&db, how, &["export"], &["--account", &account, "--format", "jsonl", "--output", "chain.jsonl"]);
    let text = std::fs::read_to_string(db.dir().join("chain.jsonl")).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let seqs: Vec<u64> =
        records.iter().filter(|r| r["record"] == "event").map(|r| r["event"]["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [4, 5, 6]);
    let tombstones: Vec<&Value> = records.iter().filter(|r| r["record"] == "tombstone").collect();
    let spans: Vec<(&Value, &Value)> =
        tombstones.iter().map(|t| (&t["tombstone"]["first_seq"], &t["tombstone"]["last_seq"])).collect();
    assert_eq!(spans, [(&Value::from(1), &Value::from(3))]);
    let out = casetrail(db.dir()).args(["verify", "--file", "chain.jsonl"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn every_command_works_on_the_test_database_named_by_the_flag() {
    every_command_works_on_the_url(Given::Flag);
}

#[test]
fn every_command_works_on_the_test_database_named_by_the_environment() {
    every_command_works_on_the_url(Given::Environment);
}

/// `url` with `password` as its user's password (`postgres://user@…` only, the shape
/// the test servers are named in).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user, host) = rest.split_once('@').expect("the test server's URL names its user");
    assert!(!user.contains(':'), "the test server's URL has no password of its own");
    format!("{scheme}://{user}:{password}@{host}")
}

/// A real server that trusts its clients takes any password, so commands succeed
/// with one and fail on the server's word (a database that is not there); either way
/// the password is in nothing they print, with the most verbose logging asked for.
#[test]
fn a_password_given_to_a_real_server_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let server = postgres_server_url();
    let runtime = runtime();
    let schema = runtime.block_on(casetrail_store_postgres::PostgresStore::open_temporary(&server)).unwrap();
    let url = with_password(schema.url(), "hunter2");
    let in_query = format!("{}&password=hunter2", schema.url());
    let commands: [&[&str]; 5] = [
        &["account", "create", "--name", "Firm", "--admin-email", "a@firm.example"],
        &["verify"],
        &["retention", "run"],
        &["keys", "rotate"],
        &["verify", "--account", "00000000-0000-0000-0000-000000000000"],
    ];
    for url in [&url, &in_query] {
        for (i, args) in commands.iter().enumerate() {
            let mut cmd = casetrail(dir.path());
            cmd.args(*args).env("CASETRAIL_DATABASE_URL", url).env("CASETRAIL_LOG", "trace");
            let out = cmd.output().unwrap();
            let shown = String::from_utf8_lossy(&[&out.stdout[..], &out.stderr[..]].concat()).into_owned();
            assert!(!shown.contains("hunter2"), "{args:?}: {shown}");
            // The account exists from the first URL on; the unknown account fails.
            let expect_ok = i < 4 && !(i == 0 && url == &in_query);
            assert_eq!(out.status.success(), expect_ok, "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }

    let missing = with_password(&server, "hunter2");
    let (base, _) = missing.rsplit_once('/').unwrap();
    let missing = format!("{base}/casetrail_no_such_database_{}", uuid::Uuid::now_v7().simple());
    for args in commands {
        let out = casetrail(dir.path()).args(args).env("CASETRAIL_DATABASE_URL", &missing).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stderr.contains("hunter2"), "{args:?}: {stderr}");
        let last = stderr.trim_end().lines().last().unwrap_or_default();
        assert!(last.starts_with("casetrail: error: cannot open the database "), "{args:?}: {stderr}");
        assert!(last.contains("does not exist"), "the server's own reason: {stderr}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}
