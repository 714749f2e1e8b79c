//! `--database-url` on every command (docs/API.md §12): `sqlite://PATH` relative to
//! the working directory or absolute, the environment variable, and URLs that cannot
//! be opened — a non-zero exit whose last line on standard error says why and never
//! shows the password.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn casetrail(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("casetrail").unwrap();
    cmd.env_remove("CASETRAIL_CONFIG")
        .env_remove("CASETRAIL_DATABASE_URL")
        .env_remove("CASETRAIL_SIGNING_KEY_FILE")
        .current_dir(dir)
        .timeout(std::time::Duration::from_secs(60));
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
