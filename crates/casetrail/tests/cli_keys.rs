//! The signing key on the command line (docs/API.md §12): `keys generate`, `keys
//! rotate` with a key file or the data dir, and `verify`, which never creates a key
//! and takes the ring from the database — whichever backend `CASETRAIL_TEST_DATABASE_URL` picks.

mod cli_support;

use std::path::Path;

use casetrail_app::signing::Keys;
use casetrail_app::signing::file::read_key_file;
use casetrail_core::integrity::{ChainKey, Checkpoint};
use cli_support::{TestDb, casetrail};

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A fresh database with one account in it.
fn with_account() -> (TestDb, String) {
    let db = TestDb::new();
    let account = db.create_account_id("Firm", "a@firm.example");
    (db, account)
}

/// `(key_id, current)` of the database's ring, oldest first.
fn ring(db: &TestDb) -> Vec<(String, bool)> {
    let keys = db.block_on(db.store().public_keys()).unwrap();
    keys.into_iter().map(|k| (k.key_id, k.retired_at.is_none())).collect()
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
    let (db, _) = with_account();
    let dir = db.dir();
    let file = dir.join("signing.pem");
    stdout(&casetrail(dir).args(["keys", "generate", "--output"]).arg(&file).output().unwrap());
    let rotate = || {
        let out = db.cmd(&["keys", "rotate"]).env("CASETRAIL_SIGNING_KEY_FILE", &file).output().unwrap();
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
    assert_eq!(ring(&db), [(first, false), (second, true)]);
    assert!(!dir.join("data/keys").exists(), "with a key file, the data dir holds no key");
    let names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "no temporary file is left: {names:?}");
}

#[test]
fn keys_rotate_without_a_key_file_rotates_the_data_dir_and_records_it() {
    let (db, _) = with_account();
    let said = stdout(&db.run(&["keys", "rotate"], &[]));
    let current = std::fs::read_to_string(db.dir().join("data/keys/current")).unwrap();
    assert!(said.contains(&format!("now signing with key {current}")), "{said}");
    assert_eq!(ring(&db), [(current, true)]);
}

#[test]
fn verify_creates_no_key_and_checks_signatures_with_the_databases_ring() {
    let (db, account) = with_account();
    let verify = || db.run(&["verify"], &[]);
    assert_eq!(verify().status.code(), Some(0));
    assert!(!db.dir().join("data/keys").exists(), "verify created no key directory");

    // A checkpoint signed by a key that only the database knows (a server's key
    // file, elsewhere) verifies; one signed by a key nobody registered does not.
    let known = Keys::ephemeral().current();
    let unknown = Keys::ephemeral().current();
    let sign = |key: &ChainKey, register: bool| {
        db.block_on(async {
            let store = db.store();
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
    assert!(!db.dir().join("data/keys").exists(), "still no key directory");
}

#[test]
fn retention_run_signs_with_the_key_file_and_registers_it() {
    let (db, _) = with_account();
    let file = db.dir().join("signing.pem");
    let id = stdout(&casetrail(db.dir()).args(["keys", "generate", "--output"]).arg(&file).output().unwrap());
    let out = db.cmd(&["retention", "run"]).env("CASETRAIL_SIGNING_KEY_FILE", &file).output().unwrap();
    assert_eq!(stdout(&out), "purged 0 events\n");
    assert_eq!(ring(&db), [(id.trim().to_string(), true)]);
    assert!(!db.dir().join("data/keys").exists());
}
