//! The signing key on the command line (docs/API.md §12): `keys generate`, `keys
//! rotate` with a key file or the data dir, and `verify`, which never creates a key
//! and takes the ring from the database.

use std::path::Path;

use assert_cmd::Command;
use casetrail_app::signing::Keys;
use casetrail_app::signing::file::read_key_file;
use casetrail_core::integrity::{ChainKey, Checkpoint};
use casetrail_store::{IntegrityStore, ServiceStore};
use casetrail_store_sqlite::SqliteStore;
use serde_json::Value;

fn casetrail(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("casetrail").unwrap();
    cmd.env_remove("CASETRAIL_CONFIG")
        .env_remove("CASETRAIL_DATABASE_URL")
        .env_remove("CASETRAIL_SIGNING_KEY_FILE")
        .current_dir(dir);
    cmd
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn account(dir: &Path) -> String {
    let out = casetrail(dir)
        .args([
            "account",
            "create",
            "--data-dir",
            "data",
            "--name",
            "Firm",
            "--admin-email",
            "a@firm.example",
            "--json",
        ])
        .output()
        .unwrap();
    serde_json::from_str::<Value>(&stdout(&out)).unwrap()["account_id"].as_str().unwrap().to_string()
}

/// `(key_id, current)` of the database's ring, oldest first.
fn ring(db: &Path) -> Vec<(String, bool)> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(db).unwrap();
        store.public_keys().await.unwrap().into_iter().map(|k| (k.key_id, k.retired_at.is_none())).collect()
    })
}

#[test]
fn keys_generate_writes_an_owner_only_key_prints_its_id_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = casetrail(dir.path()).args(["keys", "generate", "--output", "signing.pem"]).output().unwrap();
    let printed = stdout(&out);
    let key = read_key_file(&dir.path().join("signing.pem")).unwrap();
    assert_eq!(printed, format!("{}\n", key.key_id), "stdout is the key id alone");
    assert!(key.key_id.len() == 16 && key.key_id.bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    assert_eq!(mode(&dir.path().join("signing.pem")), 0o600);
    assert!(!dir.path().join("casetrail-data").exists(), "no data dir, no database");

    let before = std::fs::read(dir.path().join("signing.pem")).unwrap();
    let again = casetrail(dir.path()).args(["keys", "generate", "--output", "signing.pem"]).output().unwrap();
    assert!(!again.status.success());
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("signing.pem already exists"), "{stderr}");
    assert_eq!(std::fs::read(dir.path().join("signing.pem")).unwrap(), before, "the key is untouched");
    assert!(again.stdout.is_empty());
}

#[test]
fn keys_rotate_with_a_key_file_writes_a_new_key_and_makes_it_current() {
    let dir = tempfile::tempdir().unwrap();
    account(dir.path());
    let file = dir.path().join("signing.pem");
    stdout(&casetrail(dir.path()).args(["keys", "generate", "--output"]).arg(&file).output().unwrap());
    let rotate = || {
        let out = casetrail(dir.path())
            .args(["keys", "rotate", "--data-dir", "data"])
            .env("CASETRAIL_SIGNING_KEY_FILE", &file)
            .output()
            .unwrap();
        let said = stdout(&out);
        let key = read_key_file(&file).unwrap();
        assert!(said.contains(&format!("now signing with key {}", key.key_id)), "{said}");
        #[cfg(unix)]
        assert_eq!(mode(&file), 0o600);
        key.key_id
    };
    let first = rotate();
    let second = rotate();
    assert_ne!(first, second);
    assert_eq!(ring(&dir.path().join("data/casetrail.db")), [(first, false), (second, true)]);
    assert!(!dir.path().join("data/keys").exists(), "with a key file, the data dir holds no key");
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "no temporary file is left: {names:?}");
}

#[test]
fn keys_rotate_without_a_key_file_rotates_the_data_dir_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    account(dir.path());
    let out = casetrail(dir.path()).args(["keys", "rotate", "--data-dir", "data"]).output().unwrap();
    let said = stdout(&out);
    let current = std::fs::read_to_string(dir.path().join("data/keys/current")).unwrap();
    assert!(said.contains(&format!("now signing with key {current}")), "{said}");
    assert_eq!(ring(&dir.path().join("data/casetrail.db")), [(current, true)]);
}

#[test]
fn verify_creates_no_key_and_checks_signatures_with_the_databases_ring() {
    let dir = tempfile::tempdir().unwrap();
    let account = account(dir.path());
    let db = dir.path().join("data/casetrail.db");
    let verify = || casetrail(dir.path()).args(["verify", "--data-dir", "data"]).output().unwrap();
    assert_eq!(verify().status.code(), Some(0));
    assert!(!dir.path().join("data/keys").exists(), "verify created no key directory");

    // A checkpoint signed by a key that only the database knows (a server's key
    // file, elsewhere) verifies; one signed by a key nobody registered does not.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let known = Keys::ephemeral().current();
    let unknown = Keys::ephemeral().current();
    let sign = |key: &ChainKey, register: bool| {
        rt.block_on(async {
            let store = SqliteStore::open(&db).unwrap();
            if register {
                store
                    .register_signing_key(&key.key_id, key.verifying_key().to_bytes(), casetrail_core::Timestamp::now())
                    .await
                    .unwrap();
            }
            let cp = Checkpoint::sign(
                key,
                account.parse().unwrap(),
                0,
                Default::default(),
                casetrail_core::Timestamp::now(),
            );
            store.add_checkpoint(&cp).await.unwrap();
        })
    };
    sign(&known, true);
    let out = verify();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    sign(&unknown, false);
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains("bad_signature") && said.contains(&unknown.key_id), "{said}");
    assert!(!dir.path().join("data/keys").exists(), "still no key directory");
}

#[test]
fn retention_run_signs_with_the_key_file_and_registers_it() {
    let dir = tempfile::tempdir().unwrap();
    account(dir.path());
    let file = dir.path().join("signing.pem");
    let id = stdout(&casetrail(dir.path()).args(["keys", "generate", "--output"]).arg(&file).output().unwrap());
    let out = casetrail(dir.path())
        .args(["retention", "run", "--data-dir", "data"])
        .env("CASETRAIL_SIGNING_KEY_FILE", &file)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "purged 0 events\n");
    assert_eq!(ring(&dir.path().join("data/casetrail.db")), [(id.trim().to_string(), true)]);
    assert!(!dir.path().join("data/keys").exists());
}
