use std::sync::Arc;

use base64::Engine as _;
use casetrail_core::integrity::Checkpoint;
use casetrail_store::{AccountId, KeyStanding, Store};
use casetrail_store_sqlite::SqliteStore;

use super::file::{generate_key_file, parse_pem, pem, read_key_file, replace_key_file};
use super::*;

/// What `openssl genpkey -algorithm ed25519` wrote (OpenSSL 3.0): PKCS#8 v1, the
/// private key alone. Its key id and public key as openssl itself derives them:
/// `openssl pkey -pubout -outform DER | tail -c 32 | sha256sum | head -c16`.
const OPENSSL_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINk6KY3xHQ+Kt4EwyUYoWvaS0pG0Me4EDU5Wg3QVNhui
-----END PRIVATE KEY-----
";
const OPENSSL_KEY_ID: &str = "df5c6e49176e32f6";
const OPENSSL_PUBLIC_KEY: &str = "cTAV3YSMWLPqDX0OCocaMR5Xa8VV2RbPkX0mLDCVg+c=";

/// The DER inside a PEM.
fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_key_is_created_once_kept_private_and_rotation_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::load_or_create(dir.path()).unwrap();
    let again = Keys::load_or_create(dir.path()).unwrap();
    let first = keys.current();
    assert_eq!(first.key_id, again.current().key_id);
    #[cfg(unix)]
    assert_eq!(mode(&dir.path().join(format!("{}.pem", first.key_id))), 0o600);
    let new = Keys::rotate(dir.path()).unwrap();
    let rotated = Keys::load_or_create(dir.path()).unwrap();
    assert_eq!(rotated.current().key_id, new.key_id);
    assert_ne!(new.key_id, first.key_id);
    assert_eq!(KeySource::Dir(dir.path().to_path_buf()).read().unwrap().key_id, new.key_id);
    // Something signed by the retired key still verifies.
    let cp = Checkpoint::sign(&first, AccountId::nil(), 1, Default::default(), casetrail_core::Timestamp::EPOCH);
    assert!(cp.verify(&rotated.local_ring()).is_ok());
    assert_eq!(rotated.known().len(), 2);
}

#[test]
fn an_openssl_v1_key_reads_with_the_id_openssl_derives() {
    assert_eq!(der(OPENSSL_PEM)[2..5], [0x02, 0x01, 0x00], "the fixture is PKCS#8 v1 (version 0)");
    let key = parse_pem(OPENSSL_PEM).unwrap();
    assert_eq!(key.key_id, OPENSSL_KEY_ID);
    assert_eq!(key.public_key_base64(), OPENSSL_PUBLIC_KEY);
}

#[test]
fn casetrail_writes_v2_and_reads_it_back_and_a_mismatched_public_key_is_refused() {
    let key = parse_pem(OPENSSL_PEM).unwrap();
    let written = pem(&key).unwrap();
    let der = der(&written);
    assert_eq!(der[2..5], [0x02, 0x01, 0x01], "PKCS#8 v2 (version 1, OneAsymmetricKey)");
    let public = base64::engine::general_purpose::STANDARD.decode(OPENSSL_PUBLIC_KEY).unwrap();
    assert_eq!(der[der.len() - 32..], public[..], "the v2 document ends with the public key");
    assert_eq!(parse_pem(&written).unwrap().key_id, OPENSSL_KEY_ID);

    // The same document with another public key: not this key.
    let other = Keys::ephemeral().current().verifying_key().to_bytes();
    let mut forged = der.clone();
    let at = forged.len() - 32;
    forged[at..].copy_from_slice(&other);
    let forged_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&forged)
    );
    assert!(parse_pem(&forged_pem).is_err());
    assert!(parse_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err());
}

#[test]
fn generating_writes_an_owner_only_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing.pem");
    let key = generate_key_file(&path).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    assert_eq!(read_key_file(&path).unwrap().key_id, key.key_id);
    let before = std::fs::read(&path).unwrap();
    let err = generate_key_file(&path).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the key is untouched");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left behind");
}

#[test]
fn replacing_a_key_file_writes_a_new_owner_only_key_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing.pem");
    std::fs::write(&path, OPENSSL_PEM).unwrap();
    let new = replace_key_file(&path).unwrap();
    assert_ne!(new.key_id, OPENSSL_KEY_ID);
    assert_eq!(KeySource::File(path.clone()).read().unwrap().key_id, new.key_id);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600, "even where the old file was not");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left behind");
}

#[test]
fn reading_a_data_dir_read_only_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    assert!(dir_public_keys(&keys_dir).unwrap().is_empty());
    assert!(KeySource::Dir(keys_dir.clone()).read().is_err());
    assert!(!keys_dir.exists(), "no key directory was created");
    let keys = Keys::load_or_create(&keys_dir).unwrap();
    assert_eq!(dir_public_keys(&keys_dir).unwrap(), keys.known());
}

#[test]
fn a_replaced_key_signs_and_the_old_one_stays_known() {
    let keys = Keys::ephemeral();
    let old = keys.current();
    let new = parse_pem(OPENSSL_PEM).unwrap();
    keys.replace(new);
    assert_eq!(keys.current().key_id, OPENSSL_KEY_ID);
    let ring = keys.local_ring();
    let ids: Vec<String> = ring.public_keys().into_iter().map(|(id, _)| id).collect();
    assert!(ids.contains(&old.key_id) && ids.contains(&OPENSSL_KEY_ID.to_string()), "{ids:?}");
}

#[tokio::test]
async fn registering_makes_a_key_current_retires_the_last_and_the_ring_joins_the_database() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temporary().unwrap());
    let first = Keys::ephemeral();
    let retired_local = Keys::ephemeral().current().verifying_key();
    let first = Keys::new(ChainKey::from_signing_key(first.current().signing_key().clone()), [retired_local]);
    assert_eq!(register(store.as_ref(), &first).await.unwrap(), KeyStanding::Current);
    let second = Keys::ephemeral();
    assert_eq!(register(store.as_ref(), &second).await.unwrap(), KeyStanding::Current);
    // A server still configured with the first key is told it was retired.
    assert_eq!(register(store.as_ref(), &first).await.unwrap(), KeyStanding::Retired);

    let entries = store.public_keys().await.unwrap();
    let standing: Vec<(String, bool)> = entries.iter().map(|e| (e.key_id.clone(), e.retired_at.is_none())).collect();
    let id = |k: &Keys| k.current().key_id.clone();
    let local_id = casetrail_core::integrity::key_id(&retired_local);
    for (key_id, current) in [(id(&first), false), (local_id.clone(), false), (id(&second), true)] {
        assert!(standing.contains(&(key_id.clone(), current)), "{key_id} current={current}: {standing:?}");
    }
    assert_eq!(entries.len(), 3);

    // A server that knows only its own key verifies what the first one signed.
    let cp =
        Checkpoint::sign(&first.current(), AccountId::nil(), 1, Default::default(), casetrail_core::Timestamp::EPOCH);
    assert!(cp.verify(&second.local_ring()).is_err());
    let ring = ring(store.as_ref(), &second.local_ring()).await.unwrap();
    assert!(cp.verify(&ring).is_ok());
    assert_eq!(ring.public_keys().len(), 3);
}

#[tokio::test]
async fn a_one_off_signer_joins_the_ring_without_displacing_the_current_key() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temporary().unwrap());
    let first = Keys::ephemeral();
    make_known(store.as_ref(), &first).await.unwrap();
    let id = |k: &Keys| k.current().key_id.clone();
    let standing = |entries: Vec<casetrail_store::PublicKeyEntry>| {
        entries.into_iter().map(|e| (e.key_id, e.retired_at.is_none())).collect::<Vec<_>>()
    };
    assert_eq!(standing(store.public_keys().await.unwrap()), [(id(&first), true)], "an empty ring: it becomes current");
    let server = Keys::ephemeral();
    register(store.as_ref(), &server).await.unwrap();
    let workstation = Keys::ephemeral();
    make_known(store.as_ref(), &workstation).await.unwrap();
    make_known(store.as_ref(), &server).await.unwrap();
    let mut got = standing(store.public_keys().await.unwrap());
    got.sort();
    let mut expected = vec![(id(&first), false), (id(&server), true), (id(&workstation), false)];
    expected.sort();
    assert_eq!(got, expected, "the server's key stays current");
}
